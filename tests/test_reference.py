"""The reference engine (engine/reference.py) and the fast one compute the same numbers.

Random expressions over every op of the table: data and gradients equal bit for bit, node for
node. MLPs: equal bit for bit as well (see the MLP test for why the sums agree).
"""

import math
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_nn import MLP, Value, ops
from micrograd_nn.engine import reference, topological_order
from micrograd_nn.testing import expressions, mlps


def bits(x: float) -> bytes:
    """x's 8 bytes: equal bits, so -0.0 differs from 0.0 and every nan of one kind is one."""
    return struct.pack("<d", x)


def same(a: float, b: float) -> bool:
    return bits(a) == bits(b) or (math.isnan(a) and math.isnan(b))


def numbers(root, topo) -> list:
    """(data, grad) of every interior node of root's graph, operands first."""
    return [(v.data, v.grad) for v in topo(root) if v.operands]


EVERY_OP = [op for op in ops.OPS if op is not ops.LINEAR]  # LINEAR: see the MLP test


@settings(max_examples=300, deadline=None)
@given(f=expressions(3, ops=EVERY_OP, max_steps=12),
       xs=st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3))
def test_random_expressions_equal_bit_for_bit(f, xs):
    fast_in, ref_in = [Value(x) for x in xs], [reference.Value(x) for x in xs]
    try:
        fast = f(*fast_in)
    except (ValueError, ZeroDivisionError, OverflowError) as error:   # a domain error: the same
        try:
            f(*ref_in)
        except type(error):
            return
        raise AssertionError(f"the fast engine raised {error!r}, the reference did not")
    ref = f(*ref_in)
    fast.backward()
    ref.backward()
    assert same(fast.data, ref.data)
    for a, b in zip(fast_in, ref_in):
        assert same(a.grad, b.grad), (a.grad, b.grad)
    fast_nodes = numbers(fast, topological_order)
    ref_nodes = numbers(ref, reference.topological_order)
    assert len(fast_nodes) == len(ref_nodes)
    for (d1, g1), (d2, g2) in zip(fast_nodes, ref_nodes):
        assert same(d1, d2) and same(g1, g2), (d1, g1, d2, g2)


def reference_mlp(model: MLP, x: list):
    """model's forward on reference Values: each neuron one LINEAR node (w_1..w_n, x_1..x_n, b),
    then its activation, exactly as the fast MLP builds it; its parameters in the same order."""
    params = [reference.Value(p.data) for p in model.parameters()]
    it = iter(params)
    h = [reference.Value(v) for v in x]
    for layer in model.layers:
        out = []
        for neuron in layer.neurons:
            w = [next(it) for _ in range(neuron.nin)]
            z = reference.Value.linear(w, h, next(it))
            out.append(z if neuron.activation == "linear" else getattr(z, neuron.activation)())
        h = out
    return h, params


@settings(max_examples=100, deadline=None)
@given(mlps(max_inputs=4, max_width=5, max_depth=3))
def test_mlps_equal_bit_for_bit(model_and_x):
    """Bit for bit, with no ulps to spare: the fast layer node computes z = b + w_1 x_1 + ...
    + w_n x_n in LINEAR's own order (Python's sum from the bias), and backward adds each
    neuron's share into an input in the same order as the reference's one loop, because the
    fast sort visits a layer's nodes in the order of the reference's depth-first walk
    (tests/test_engine.py holds backward's sort to topological_order)."""
    model, x = model_and_x
    fast = model(x)
    fast = fast if isinstance(fast, list) else [fast]
    ref, ref_params = reference_mlp(model, x)
    loss_fast = Value.sum([v * v for v in fast]) * 0.5
    loss_ref = reference.Value.sum([v * v for v in ref]) * 0.5
    loss_fast.backward()
    loss_ref.backward()
    assert same(loss_fast.data, loss_ref.data)
    for p, q in zip(model.parameters(), ref_params):
        assert same(p.grad, q.grad), (p.label, p.grad, q.grad)


def test_the_reference_engine_is_short_and_stands_on_the_table():
    """The teaching core stays under 100 lines and imports nothing but the op table."""
    import pathlib

    text = pathlib.Path(reference.__file__).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 100
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations",
                       "from ..ops import ADD, DIV, LINEAR, LOGSUMEXP, MUL, NEG, POW, SUB, SUM, "
                       "Op, on_register"]


def test_the_reference_engine_follows_the_rows_conventions():
    """Zero wins (a dead relu passes nothing, even times inf), leaves accumulate, interior nodes
    start afresh, and a deep chain needs no recursion."""
    x = reference.Value(-1.0)
    y = x.relu() * math.inf
    y.backward()
    assert x.grad == 0.0
    a = reference.Value(2.0)
    b = a * a
    b.backward()
    b.backward()
    assert a.grad == 8.0 and b.grad == 1.0
    v = reference.Value(1.0)
    w = v
    for _ in range(5000):
        w = w * 1.0
    w.backward()
    assert v.grad == 1.0
