"""Regenerate the pictures in docs/ with micrograd_nn.viz: ``python docs/make_pictures.py``.

Needs a renderer (``graphviz-pure``, installed with the package, or a system ``dot``).
``--png DIR`` also writes a PNG of each picture into DIR (to look at them in an image viewer;
they are not kept in docs/), and prints each PNG's size in pixels.
"""

import argparse
import pathlib
import struct

from micrograd_nn import Value
from micrograd_nn.nn import MLP
from micrograd_nn.viz import (SEED_PARAMETERS, draw_graph, draw_network, render, seed_neuron,
                              trace_html)

HERE = pathlib.Path(__file__).resolve().parent

# four samples of two features with targets +-1, for MLP(2, [4, 4, 1])
SAMPLES = (([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0))


def network(samples: int):
    """MLP(2, [4, 4, 1]) (ReLU hidden layers) after one backward of the squared error summed
    over the first ``samples`` samples."""
    model = MLP(2, [4, 4, 1], seed=1)
    loss = Value.sum([(model(x) - y) ** 2 for x, y in SAMPLES[:samples]])
    loss.label = "loss"
    loss.backward()
    return model, loss


def pictures() -> dict:
    loss = seed_neuron()
    unfused = seed_neuron(fused=False)
    model, batch_loss = network(4)
    _, one_loss = network(1)
    _, two_loss = network(2)
    return {
        # top to bottom: narrow enough to stay legible at the width of a README
        "seed_neuron": draw_graph(loss, rankdir="TB"),
        "seed_neuron_flow": draw_graph(loss, edge_labels="flow", rankdir="TB"),
        "seed_neuron_lr": draw_graph(loss, edge_labels="both"),
        "seed_neuron_slide": draw_graph(loss, edge_labels="flow", preset="slide"),
        "seed_neuron_highlight_w1": draw_graph(unfused, highlight="w1", params=SEED_PARAMETERS),
        # laid out for a printed page (top to bottom, 11 pt type at 6.5 in wide)
        "seed_neuron_exercise": draw_graph(loss, exercise="grads"),
        "seed_neuron_exercise_key": draw_graph(loss, exercise="grads", answer_key=True),
        "seed_neuron_expanded": draw_graph(loss, expand_linear=True),
        "mlp_one_sample": draw_graph(one_loss, edge_labels="flow"),
        # several samples in the full view: each sample's block, the shared weights between
        "mlp_two_samples": draw_graph(two_loss, edge_labels="flow", max_edges=400),
        # the path view: every path from the loss to one weight, its product, their sum
        "mlp_paths_w1": draw_graph(one_loss, highlight="L1.N2.w1", paths_only=True),
        "mlp_collapsed": draw_graph(batch_loss, collapse=True, focus="L1.N2.w1",
                                    edge_labels="flow"),
        "mlp_network": draw_network(model),
    }


def png_size(path: pathlib.Path) -> tuple:
    """(width, height) in pixels, read from the PNG header."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--png", metavar="DIR", type=pathlib.Path,
                        help="also write PNGs into DIR and print their sizes")
    args = parser.parse_args()
    for name, graph in pictures().items():
        print(render(graph, HERE / f"{name}.svg"))
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            png = render(graph, args.png / f"{name}.png")
            print(f"  {png}: {'x'.join(map(str, png_size(png)))} px")
    print(trace_html(seed_neuron(), HERE / "seed_neuron_backward.html", edge_labels="flow",
                     rankdir="TB"))


if __name__ == "__main__":
    main()
