"""The engine in 80 lines: backprop as micrograd writes it, on the package's table of ops.

A `Value` keeps its number (``data``), the op that made it, the Values it was made from
(``operands``) and, for each of them, the local derivative d self / d operand (``local_grads``),
computed once at forward time by the op's rule (``micrograd_nn/ops.py``). ``backward()`` sorts
the graph so that every value comes after its operands, then runs the chain rule once, output
first: d out / d operand += d out / d self * d self / d operand.

That is all of backprop. ``value.py`` is the Value the package uses: the same numbers, bit for
bit (tests/test_reference.py holds the two equal), with tricks that make it about 4x faster
(slots, fused nodes, no tuple per node). This one has no grad mode and checks no input.
"""

from __future__ import annotations

from ..ops import ADD, DIV, LINEAR, LOGSUMEXP, MUL, NEG, POW, SUB, SUM, Op, on_register

__all__ = ["Value", "topological_order"]


class Value:
    """A number that remembers how it was computed: ``Value(2.0)``; ``grad`` starts at 0."""

    __slots__ = ("data", "grad", "op", "operands", "local_grads")

    def __init__(self, data: float, op: Op | None = None, operands: tuple = (),
                 local_grads: tuple = ()):
        self.data, self.grad = float(data), 0.0
        self.op, self.operands, self.local_grads = op, operands, local_grads

    @staticmethod
    def __apply_op__(op: Op, args: tuple) -> "Value":
        """op(*args) when a Value is among them (``Op.__call__`` hands it here): the forward
        on the numbers, and the rule's local derivatives, kept beside the operands."""
        many = op.arity is None                      # an n-ary op takes one sequence
        operands = tuple(x if isinstance(x, Value) else Value(x) for x in
                         (args[0] if many else args))
        xs = [v.data for v in operands]
        out = op.forward(xs) if many else op.forward(*xs)
        local = op.rule(xs, out) if many else op.rule(*xs, out)
        return Value(out, op, operands, tuple(local))

    def __add__(self, other): return ADD(self, other)
    def __radd__(self, other): return ADD(other, self)
    def __sub__(self, other): return SUB(self, other)
    def __rsub__(self, other): return SUB(other, self)
    def __mul__(self, other): return MUL(self, other)
    def __rmul__(self, other): return MUL(other, self)
    def __truediv__(self, other): return DIV(self, other)
    def __rtruediv__(self, other): return DIV(other, self)
    def __pow__(self, other): return POW(self, other)
    def __rpow__(self, other): return POW(other, self)
    def __neg__(self): return NEG(self)

    @staticmethod
    def sum(values) -> "Value": return SUM(list(values))
    @staticmethod
    def linear(w, x, b) -> "Value": return LINEAR([*w, *x, b])     # sum_i w_i x_i + b
    @staticmethod
    def logsumexp(values) -> "Value": return LOGSUMEXP(list(values))

    def backward(self) -> None:
        """d self / d v into ``v.grad`` for every v this depends on (leaves accumulate)."""
        order = topological_order(self)
        for v in order:
            if v.operands:
                v.grad = 0.0                         # interior nodes start afresh each time
        self.grad = 1.0
        for v in reversed(order):                    # the chain rule, output first
            for operand, local in zip(v.operands, v.local_grads):
                # zero wins: a factor exactly 0 passes nothing, even times inf or nan
                operand.grad += 0.0 if local == 0 or v.grad == 0 else local * v.grad

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"


def topological_order(root: Value) -> list:
    """Every value root depends on, each after its operands (a depth-first walk, without
    recursion so that any depth works: a node is written down once its operands are)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, operands_done = stack.pop()
        if operands_done:
            order.append(v)
        elif v not in seen:
            seen.add(v)
            stack.append((v, True))
            # first operand walked first; an n-ary node's last, so backward adds its terms in order
            many = v.op is not None and v.op.arity is None           # (as value.py's sort does)
            stack.extend((p, False) for p in (v.operands if many else reversed(v.operands)))
    return order


def _method(op: Op) -> None:                         # x.exp(), x.relu(), ...: one per op
    if op.method:                                    # that the table registers with a method
        setattr(Value, op.method, lambda self: op(self))


on_register(_method)
