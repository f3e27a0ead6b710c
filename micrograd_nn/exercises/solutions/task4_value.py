"""Task 4: your own Value, with backward().

A Value keeps its number (data), its gradient (grad), the Values it was computed from (_prev)
and a function _backward that hands out.grad to those operands: each operand's grad grows by
out.grad * (d out / d operand), the local derivatives of tasks 1 and 3.

backward() sets the output's grad to 1.0 and calls every node's _backward, each node only
after every node that uses it has added its share (reverse topological order).

The checker builds random expressions from +, * and tanh, with values used more than once
(a + a, e = a*b; d = e + e*c), and a chain 2,000 nodes deep.

Check your work: python -m micrograd_nn exercises check DIR --task 4
"""

import math


class Value:
    """A scalar that remembers how it was computed."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None   # replaced by each operation
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        """out = self + other (both Values), with out._backward set."""
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # += : a value used twice (a + a) receives both shares
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        """out = self * other (both Values), with out._backward set."""
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        """out = tanh(self), with out._backward set."""
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        """Fill .grad of every Value this one depends on with d self / d value."""
        # Topological order with an explicit stack: a recursive sort would go one Python call
        # deeper per node and stop at the recursion limit (about 1,000).
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            v, operands_done = stack.pop()
            if operands_done:
                topo.append(v)          # every operand of v is already in topo
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
        self.grad = 1.0
        for v in reversed(topo):        # each node after every node that uses it
            v._backward()
