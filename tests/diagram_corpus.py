"""The pictures every diagram must draw cleanly: name -> a graphviz Digraph.

Used by tests/test_diagram_geometry.py (no collisions, text in its cells) and by the table of
pictures in docs/diagrams.md.
"""

from __future__ import annotations

import importlib.util
import pathlib
import random

from micrograd_nn.engine import Value
from micrograd_nn.nn import MLP
from micrograd_nn.viz import draw_graph, draw_network, seed_neuron

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = (([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0))


def tutorial_expression() -> Value:
    """The tutorial's first graph: L = d*f with d = a*b + c, after backward."""
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    L.backward()
    return L


def tanh_neuron() -> Value:
    """The tutorial's tanh neuron: o = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2, b = Value(-3.0, "w1"), Value(1.0, "w2"), Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def square_plus() -> Value:
    """x*x + x at x = 3: one value reached along three arrows."""
    x = Value(3.0, "x")
    out = x * x + x
    out.label = "out"
    out.backward()
    return out


def mlp_loss(samples: int):
    """MLP(2, [4, 4, 1]) and its squared error summed over ``samples`` samples, after backward."""
    model = MLP(2, [4, 4, 1], seed=1)
    loss = Value.sum([(model(x) - y) ** 2 for x, y in SAMPLES[:samples]])
    loss.label = "loss"
    loss.backward()
    return model, loss


def trained_network(steps: int = 20):
    """MLP(2, [16, 16, 1]) after ``steps`` of gradient descent on four samples, with the
    gradients of the last step."""
    model = MLP(2, [16, 16, 1], seed=2)
    for _ in range(steps):
        model.zero_grad()
        loss = Value.sum([(model(x) - y) ** 2 for x, y in SAMPLES])
        loss.backward()
        for p in model.parameters():
            p.data -= 0.02 * p.grad
    return model


def gpt_attention():
    """``examples/gpt.py --attention``'s graph, of an untrained model (the same shape)."""
    spec = importlib.util.spec_from_file_location("gpt_example", ROOT / "examples" / "gpt.py")
    gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpt)
    return gpt.attention_graph(gpt.GPT(random.Random(42)), "emma")


def corpus() -> dict:
    pictures = {}
    for fused in (True, False):
        loss = seed_neuron(fused=fused)
        for labels in ("local", "flow", "both"):
            for rankdir in ("LR", "TB"):
                name = f"seed {labels} {rankdir}{'' if fused else ' unfused'}"
                pictures[name] = draw_graph(loss, edge_labels=labels, rankdir=rankdir)
    pictures["L = d*f"] = draw_graph(tutorial_expression())
    pictures["tanh neuron"] = draw_graph(tanh_neuron())
    pictures["x*x + x"] = draw_graph(square_plus(), edge_labels="flow")
    one = mlp_loss(1)[1]
    pictures["MLP one sample local"] = draw_graph(one)
    pictures["MLP one sample flow"] = draw_graph(one, edge_labels="flow")
    four = mlp_loss(4)[1]
    pictures["MLP 4 samples collapsed"] = draw_graph(four, collapse=True, edge_labels="flow")
    pictures["MLP 4 samples focus"] = draw_graph(four, collapse=True, focus="L1.N2.w1",
                                                 edge_labels="flow")
    pictures["GPT attention"] = gpt_attention()
    pictures["network 16x16"] = draw_network(trained_network())
    return pictures
