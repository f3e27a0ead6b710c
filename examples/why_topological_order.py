"""Why backward() sorts the graph first, and why each gradient is added (+=), never assigned (=).

Two small graphs in which a value is used twice:

    shared:  e = a * b;  d = e + e * c     (e, an intermediate value, feeds d along two paths)
    twice:   b = a + a                     (micrograd's example: a feeds b twice)

and two broken backwards, each next to the engine's:

* a naive recursive backward, which passes a node's gradient on as soon as it receives a share,
  before every node that uses it has added its own (no topological order);
* a backward in the right order that writes ``operand.grad = ...`` where it should add ``+=``.

For each, the wrong gradients are printed beside the right ones, with one sentence on the path
that was counted twice or lost, and a picture of the wrong and the right gradients side by side
(the diagrams of micrograd_nn.viz: each arrow carries its local derivative, each box its grad).
Last, a graph with a cycle, made by hand through a private field: backward() refuses it and
names a value on the cycle.

Run: python examples/why_topological_order.py [--out DIR]    (pictures in DIR, default ./why_order)
"""

import argparse
from pathlib import Path

from micrograd_nn import Value, draw_graph, render
from micrograd_nn.engine import topological_order

# -------------------------------------------------------------------------------------------------
# The two graphs


def shared():
    """e = a * b; d = e + e * c with a = 2, b = -3, c = 10: the root and its values by name."""
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    e = a * b
    e.label = "e"
    f = e * c
    f.label = "f"
    d = e + f
    d.label = "d"
    return d, {"a": a, "b": b, "c": c, "e": e, "f": f}


def twice():
    """b = a + a with a = 3 (micrograd's issue): the root and its values by name."""
    a = Value(3.0, "a")
    b = a + a
    b.label = "b"
    return b, {"a": a}


# -------------------------------------------------------------------------------------------------
# Two broken backwards (written on the graph's public reading API: operands, local_grads)


def naive_recursive_backward(root: Value) -> None:
    """Each node passes on its gradient the moment it receives a share, then recurses.

    A node used twice (e in d = e + e*c) passes on its first share, then its total again when
    the second share arrives: what went through the first time is counted twice.
    """
    def receive(node: Value, share: float) -> None:
        node.grad += share
        for operand, local in zip(node.operands, node.local_grads):
            receive(operand, local * node.grad)   # node.grad: everything received so far

    receive(root, 1.0)


def assigning_backward(root: Value) -> None:
    """The right order (reversed topological), but ``=`` where the chain rule needs ``+=``.

    A value used twice keeps only the share written last: the other path is lost.
    """
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        for operand, local in zip(node.operands, node.local_grads):
            operand.grad = local * node.grad       # should be +=


def engine_backward(root: Value) -> None:
    """The engine's backward(): reversed topological order, every share added."""
    root.backward()


BACKWARDS = {"naive recursive": naive_recursive_backward, "= instead of +=": assigning_backward}


def gradients(make, backward) -> tuple:
    """A fresh graph from ``make`` after ``backward``: (root, values by name, grads by name)."""
    root, values = make()
    backward(root)
    return root, values, {name: v.grad for name, v in values.items()}


# What went wrong, one sentence per case (the numbers are the script's own, printed beside)
WHY = {
    ("shared", "naive recursive"):
        "e.grad ends right (11), but e passed on 1 after d's share and 11 after f's, 12 in all: "
        "the path d -> e -> a (and -> b) is counted twice.",
    ("shared", "= instead of +="):
        "f's share (c = 10) overwrote d's (1) in e.grad, so the direct path d -> e is lost and "
        "with it that path's part of a.grad and b.grad.",
    ("twice", "naive recursive"):
        "right here: a is a leaf with nothing to pass on, so receiving its two shares one at a "
        "time does no harm (it does in the shared graph, where e is not a leaf).",
    ("twice", "= instead of +="):
        "the second share overwrote the first, so one of the two paths from b to a is lost: "
        "a.grad is 1, not 2.",
}


def compare(graph: str, bug: str) -> tuple:
    """Print the wrong and the right gradients side by side; return both graphs' roots."""
    make = {"shared": shared, "twice": twice}[graph]
    wrong_root, _, wrong = gradients(make, BACKWARDS[bug])
    right_root, _, right = gradients(make, engine_backward)
    print(f"\n{graph} graph, {bug} backward:")
    print(f"  {'value':<6}{'broken':>8}{'engine':>8}")
    for name in right:
        flag = "   <- differs" if wrong[name] != right[name] else ""
        print(f"  {name + '.grad':<6}{wrong[name]:>8g}{right[name]:>8g}{flag}")
    print("  " + WHY[graph, bug])
    return wrong_root, right_root


# -------------------------------------------------------------------------------------------------
# Pictures


def side_by_side(wrong: Value, right: Value, title: str, path: Path) -> Path:
    """The diagrams of the wrong and the right gradients, left and right, in one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = []
    for root in (wrong, right):
        png = path.with_name(f".{path.stem}_{len(images)}.png")
        # top to bottom, so two fit side by side; a's paths to the root drawn bold
        render(draw_graph(root, rankdir="TB", highlight="a", legend=False), png)
        images.append(plt.imread(png))
        png.unlink()
    height = max(im.shape[0] for im in images)
    width = sum(im.shape[1] for im in images)
    fig, axes = plt.subplots(1, 2, figsize=(width / 100 + 0.5, height / 100 + 0.9), dpi=100,
                             gridspec_kw={"width_ratios": [im.shape[1] for im in images]})
    for ax, im, caption in zip(axes, images, ("broken: " + title, "engine: backward()")):
        ax.imshow(im)
        ax.set_title(caption, fontsize=11)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# -------------------------------------------------------------------------------------------------
# A cycle


def cycle_error() -> str:
    """backward() on a graph whose value y was made to depend on its own result z."""
    x, one = Value(2.0, "x"), Value(1.0, "one")
    y = x * one
    y.label = "y"
    z = y + x
    z.label = "z"
    y._b = z   # by hand, through a private field: now y = x * z and z = y + x
    try:
        z.backward()
    except ValueError as e:
        return str(e)
    raise AssertionError("backward() accepted a graph with a cycle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="why_order", help="folder for the pictures")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for graph in ("shared", "twice"):
        for bug in BACKWARDS:
            wrong, right = compare(graph, bug)
            name = f"why_{graph}_{'naive' if bug == 'naive recursive' else 'assign'}.png"
            print(f"  picture: {side_by_side(wrong, right, bug + ' backward', out / name)}")
    print("\nA cycle, made by hand (y._b = z, so y = x * z and z = y + x):")
    print(f"  z.backward() raises ValueError: {cycle_error()}")


if __name__ == "__main__":
    main()
