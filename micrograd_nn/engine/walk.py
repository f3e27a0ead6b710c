"""Walking a graph backwards: ``backward_walk`` (the one chain-rule walk), ``grad`` and ``hessian``.

The walk reads a node only through ``operands`` and ``local_grads`` (value.py's decoder), and
``grad(create_graph=True)`` calls the op's rule on Values, so a gradient is itself a graph.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

from ..ops import value_of
from .modes import enable_grad
from .value import Value, chain_term, decode, leaf, to_float, topological_order

__all__ = ["backward_walk", "grad", "hessian"]


def backward_walk(root: Value, seed=1.0, create_graph: bool = False,
                  grads: dict | None = None) -> Iterator[tuple]:
    """The backward walk: yield ``(node, g, grads)`` for each interior node, output first.

    ``g`` is d root/d node, complete when the node is reached (reverse topological order);
    the node then adds ``chain_term(g, d node/d operand)`` to ``grads[operand]`` for each operand
    (``grads`` maps every value reached so far to its gradient so far) and the step is yielded.
    Floats by default, from the local derivatives stored at forward time; with
    ``create_graph`` Values, from the op's rule called on Values. A node that nothing reached
    (gradient 0) passes 0 to its operands. ``grad()`` and ``trace_backward`` are this walk;
    ``backward()`` has its own copy on the ``.grad`` fields (``_backward_order`` and
    ``_propagate_into_grad_fields``, written out for speed), which tests/test_engine.py holds
    equal to it. Pass ``grads`` to read the final gradients afterwards.
    """
    if grads is None:
        grads = {}
    grads[root] = seed
    zero = leaf(0.0) if create_graph else 0.0
    for node in reversed(topological_order(root)):
        if node.op is None:
            continue
        g = grads.get(node, zero)
        operands, local = decode(node)
        if create_graph or g - g:   # Values, or an inf or nan gradient: the zero rule per term
            if create_graph:
                local = _rule_on_values(node, operands)
            for p, d in zip(operands, local):
                term = chain_term(g, d)
                prev = grads.get(p)
                grads[p] = term if prev is None else prev + term
        elif g == 0.0:              # passes nothing (but its operands are reached, with 0)
            for p in operands:
                grads.setdefault(p, 0.0)
        else:                       # the common case, written out: a finite, non-zero g
            get = grads.get
            for p, d in zip(operands, local):
                grads[p] = get(p, 0.0) + d * g
        yield node, g, grads


def _rule_on_values(node: Value, operands: tuple) -> tuple:
    """The op's rule called on the Values themselves: the local derivatives as graphs.

    The stored numbers came from the same rule at forward time; if ``.data`` of a value was
    written since, the two would disagree, so that is refused (ValueError naming the value).
    """
    op = node.op
    if op.float_only:
        raise ValueError(f"grad(create_graph=True) cannot go through {node!r}: the rule of op "
                         f"{op.name!r} works on floats only (float_only=True), so it gives no "
                         f"graph to differentiate again; take first derivatives only, or write "
                         f"the rule with arithmetic and op calls")
    datas = [p.data for p in operands]
    now = op.forward(datas) if op.arity is None else op.forward(*datas)
    if now != node.data and not (now != now and node.data != node.data):
        raise ValueError(
            f"{node!r} (op {op.name!r}) no longer equals {op.name} of its operands' data "
            f"({now!r}): a .data was written after the forward pass; recompute the forward pass "
            f"before grad(create_graph=True)")
    return op.rule(operands, node) if op.arity is None else op.rule(*operands, node)



# -------------------------------------------------------------------------------------------------
# Gradients as values (higher order)


def grad(output: Value, inputs: Sequence[Value], grad_output=1.0,
         create_graph: bool = False) -> list:
    """d output / d input for each input, in order, without touching any ``.grad``.

    Without ``create_graph`` the gradients are floats, read from the local derivatives stored at
    forward time. With ``create_graph=True`` each gradient is a Value built by calling the same
    derivative rules on Values, so it can be differentiated again (to any order); a ``.data``
    written after the forward pass is then refused with a ValueError naming the value. An input
    that ``output`` does not depend on gets 0.0 (``Value(0.0)`` with create_graph). Inside
    ``no_grad()`` nothing is recorded, create_graph included. Zero terms follow ``backward()``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad() needs a Value as output, got {type(output).__name__}")
    if isinstance(inputs, Value):
        raise TypeError("grad() takes a list of inputs, got a single Value: write grad(y, [x])")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad() inputs must be Values; input {i} is {type(x).__name__}")
    if create_graph:
        seed = grad_output if isinstance(grad_output, Value) else leaf(
            to_float(grad_output, "grad_output"))
    else:
        seed = to_float(value_of(grad_output), "grad_output")
    grads: dict = {}
    for _ in backward_walk(output, seed, create_graph, grads):
        pass
    zero = (lambda: leaf(0.0)) if create_graph else (lambda: 0.0)
    result = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            g = zero()
        elif create_graph and type(g) is not Value:
            g = leaf(g)
        result.append(g)
    return result


def hessian(f: Callable, inputs: Sequence) -> list:
    """The matrix of second derivatives d2 f / dx_i dx_j at ``inputs`` (numbers or Values).

    ``f`` takes one Value per input and returns a Value. Each row is the gradient of one
    first derivative (computed with create_graph); the result is symmetrised by averaging the
    two mixed partials, which agree up to rounding.
    """
    xs = [leaf(to_float(value_of(x), f"hessian input {i}")) for i, x in enumerate(inputs)]
    with enable_grad():
        out = f(*xs)
        if not isinstance(out, Value):
            raise TypeError(f"hessian(f, ...): f must return a Value, got {type(out).__name__}")
        first = grad(out, xs, create_graph=True)
    rows = [grad(g, xs) for g in first]
    n = len(xs)
    return [[(rows[i][j] + rows[j][i]) / 2 for j in range(n)] for i in range(n)]
