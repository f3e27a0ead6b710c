"""Regenerate the pictures in docs/ with micrograd_nn.viz: ``python docs/make_pictures.py``.

Needs a renderer (``graphviz-pure``, installed with the package, or a system ``dot``).
``--png`` also writes a PNG beside each SVG, to look at them in an image viewer.
"""

import argparse
import pathlib

from micrograd_nn import Value
from micrograd_nn.nn import MLP
from micrograd_nn.viz import (SEED_PARAMETERS, draw_graph, draw_network, render, seed_neuron,
                              trace_html)

HERE = pathlib.Path(__file__).resolve().parent


def small_network():
    """A 2-3-1 tanh network after one backward of the squared error on two samples."""
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    samples = (([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0))
    loss = Value.sum([(model(x) - y) ** 2 for x, y in samples])
    loss.label = "loss"
    loss.backward()
    return model, loss


def pictures() -> dict:
    loss = seed_neuron()
    unfused = seed_neuron(fused=False)
    model, mlp_loss = small_network()
    return {
        # top to bottom: narrow enough to stay legible at the width of a README
        "seed_neuron": draw_graph(loss, params=SEED_PARAMETERS, rankdir="TB"),
        "seed_neuron_lr": draw_graph(loss, params=SEED_PARAMETERS),
        "seed_neuron_highlight_w1": draw_graph(unfused, params=SEED_PARAMETERS, highlight="w1"),
        "seed_neuron_exercise": draw_graph(loss, params=SEED_PARAMETERS, exercise="grads",
                                           rankdir="TB"),
        "seed_neuron_expanded": draw_graph(loss, params=SEED_PARAMETERS, expand_linear=True),
        "mlp_collapsed": draw_graph(mlp_loss, params=model, collapse=True),
        "mlp_network": draw_network(model),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--png", action="store_true", help="also write PNGs")
    args = parser.parse_args()
    for name, graph in pictures().items():
        print(render(graph, HERE / f"{name}.svg"))
        if args.png:
            print(render(graph, HERE / f"{name}.png"))
    print(trace_html(seed_neuron(), HERE / "seed_neuron_backward.html", params=SEED_PARAMETERS,
                     rankdir="TB"))


if __name__ == "__main__":
    main()
