"""The scalar autograd engine: `Value`, its operations, `backward`, `grad` and `no_grad`.

Every operation is an `Op`: a name and one rule giving the local derivatives
d out / d operand. A rule is written with arithmetic that works on floats and on Values alike:

* at forward time it is called with floats, and the numbers are kept on the new node
  (``backward()`` multiplies them along the graph, the diagrams print them on edges);
* ``grad(..., create_graph=True)`` calls the same rule with Values, so the gradient is itself a
  graph that can be differentiated again.

So the calculus of each operation lives in one place.

How a node is stored (this is what makes the engine fast and small):
a node keeps up to two operands in slots ``_a`` and ``_b`` with their local derivatives in
``_da`` and ``_db``; an n-ary node (``Value.sum``, ``Value.linear``, ``Value.logsumexp``) keeps
tuples in ``_a``/``_da`` and the marker ``_MANY`` in ``_b``. A leaf has ``_a = None``. No node
holds a closure or any reference back to itself, so a finished graph is freed by reference
counting alone, without the cyclic garbage collector.
"""

from __future__ import annotations

import contextlib
from itertools import filterfalse
import math
import numbers
from operator import mul as _mul
from typing import Callable, Iterable, Sequence

__all__ = [
    "Value", "Op", "no_grad", "enable_grad", "is_grad_enabled", "grad", "hessian",
    "topological_order",
]

# -------------------------------------------------------------------------------------------------
# Recording switch (no_grad)

_recording = True  # a module global rather than thread-local: read on every op, it must be cheap


def is_grad_enabled() -> bool:
    """True when operations record the graph (outside every ``no_grad()``)."""
    return _recording


class _GradMode(contextlib.ContextDecorator):
    """Set recording on or off inside a ``with`` block or a decorated function.

    The previous state is restored on exit, exceptions included, so blocks nest.
    """

    def __init__(self, enabled: bool):
        self._enabled = enabled
        self._saved: list[bool] = []  # a stack, so one instance may be entered re-entrantly

    def __enter__(self):
        global _recording
        self._saved.append(_recording)
        _recording = self._enabled
        return self

    def __exit__(self, *exc):
        global _recording
        _recording = self._saved.pop()
        return False


def no_grad() -> _GradMode:
    """Context manager (and decorator) inside which operations record no graph.

    Results are plain leaves: they have data but no operands, so nothing flows back through them.
    ``grad(..., create_graph=True)`` records nothing inside it either. It nests, and the previous
    state comes back when the block ends, also through an exception. The switch is global to the
    process (not per thread).
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """The opposite of ``no_grad()``: record the graph inside the block, even within no_grad."""
    return _GradMode(True)


# -------------------------------------------------------------------------------------------------
# Operations: one rule of local derivatives each


class Op:
    """A primitive operation: its name and the rule of its local derivatives.

    ``local(*operands, out)`` returns the tuple d out / d operand_i; an n-ary op (sum, linear,
    logsumexp) takes its operands as one sequence instead, ``local(operands, out)``. It must
    work when the operands and ``out`` are floats (forward time) and when they are Values
    (create_graph).
    ``formulas`` gives the same derivatives as text for the diagrams: templates in which
    ``{0}``, ``{1}``, ... stand for the operands and ``{out}`` for the result.
    """

    __slots__ = ("name", "local", "formulas")

    def __init__(self, name: str, local: Callable, formulas: Sequence[str] | Callable = ()):
        self.name = name
        self.local = local
        self.formulas = formulas

    def formula(self, i: int, n: int) -> str:
        """The template of d out / d operand ``i`` of ``n``."""
        f = self.formulas
        return f(i, n) if callable(f) else f[i]

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def _data(x):
    """The float inside x, whether x is a Value or already a float."""
    return x.data if type(x) is Value else x


def _exp(x):
    return x.exp() if type(x) is Value else _checked_exp(x)


def _log(x):
    return x.log() if type(x) is Value else _checked_log(x)


def _sign(x) -> float:
    """sign(x) as a float, 0 at 0: the derivative of |x| (a step, so it is a float for Values too)."""
    v = _data(x)
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def _checked_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(
            f"exp({x!r}) overflows a float (exp is finite only for inputs up to about 709.78)"
        ) from None


def _checked_log(x: float) -> float:
    if not x > 0:
        raise ValueError(f"log({x!r}): log is defined only for positive numbers")
    return math.log(x)


def _pow_dbase(x, y):
    """d/dx x**y = y * x**(y-1); at x = 0 it is 0 when y == 0 and inf when 0 < y < 1."""
    if type(y) is not Value and y == 0:
        return 0.0  # x**0 is the constant 1, also at x = 0
    if _data(x) == 0:
        if _data(y) == 0:
            return 0.0
        if _data(y) < 1:
            return math.inf  # a vertical tangent (0 < y < 1) or a pole; torch says inf too
    # an expression in y even where y == 0 (a Value exponent), so d/dy of it stays right
    return y * _power(x, y - 1)


def _power(x, y):
    """x ** y; for floats an overflow gives a signed inf (a derivative may overflow where the
    value did not: d/dx x**-1 at x = 1e-170)."""
    if type(x) is Value or type(y) is Value:
        return x ** y
    try:
        return x ** y
    except OverflowError:
        return -math.inf if x < 0 and y % 2 == 1 else math.inf


def _pow_dexp(x, out):
    """d/dy x**y = x**y * log(x), with 0 at x == 0 and nan for x < 0 (the real log is undefined)."""
    v = _data(x)
    if v > 0:
        return out * _log(x)
    return 0.0 if v == 0 else math.nan


# constant local derivatives: the forward methods read these same tuples
_ADD_LOCAL, _SUB_LOCAL, _NEG_LOCAL = (1.0, 1.0), (1.0, -1.0), (-1.0,)
ADD = Op("+", lambda x, y, out: _ADD_LOCAL, ("1", "1"))
SUB = Op("-", lambda x, y, out: _SUB_LOCAL, ("1", "-1"))
MUL = Op("*", lambda x, y, out: (y, x), ("{1}", "{0}"))
DIV = Op("/", lambda x, y, out: (1 / y, -out / y), ("1/{1}", "-{out}/{1}"))
NEG = Op("neg", lambda x, out: _NEG_LOCAL, ("-1",))
POW = Op("**", lambda x, y, out: (_pow_dbase(x, y), _pow_dexp(x, out)),
         ("{1}*{0}**({1}-1)", "{out}*log({0})"))
EXP = Op("exp", lambda x, out: (out,), ("exp({0}) = {out}",))
LOG = Op("log", lambda x, out: (1 / x,), ("1/{0}",))
RELU = Op("relu", lambda x, out: (1.0 if _data(x) > 0 else 0.0,), ("1 if {0} > 0 else 0",))
ABS = Op("abs", lambda x, out: (_sign(x),), ("sign({0})",))
SIGMOID = Op("sigmoid", lambda x, out: (out * (1 - out),), ("{out}*(1-{out})",))
TANH = Op("tanh", lambda x, out: (1 - out * out,), ("1-{out}**2",))
SOFTPLUS = Op("softplus", lambda x, out: (_sigmoid_of(x),), ("sigmoid({0})",))
SUM = Op("sum", lambda xs, out: (1.0,) * len(xs), lambda i, n: "1")


def _linear_local(v, out):
    # operands w_1..w_n, x_1..x_n, b: dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1
    n = len(v) // 2
    return (*v[n:-1], *v[:n], 1.0)


def _linear_formula(i: int, n: int) -> str:
    k = (n - 1) // 2
    if i == n - 1:
        return "1"
    return "{%d}" % (i + k) if i < k else "{%d}" % (i - k)


def _logsumexp_local(xs, out):
    # d/dx_i log(sum_j exp(x_j)) = exp(x_i - out), the softmax
    return tuple([_exp(x - out) for x in xs])


LINEAR = Op("linear", _linear_local, _linear_formula)
LOGSUMEXP = Op("logsumexp", _logsumexp_local, lambda i, n: "exp({%d} - {out})" % i)

_POWC_OPS: dict[float, Op] = {}


def _powc_op(n: float) -> Op:
    """The op x ** n for a constant exponent n (one Op per exponent, kept for reuse)."""
    op = _POWC_OPS.get(n)
    if op is None:
        whole = n.is_integer()  # False for nan and inf too
        shown = repr(int(n)) if whole else repr(n)
        op = Op(f"**{shown}", lambda x, out: (_pow_dbase(x, n),),
                (f"{shown}*{{0}}**{int(n) - 1 if whole else n - 1}",))
        if len(_POWC_OPS) < 1024:
            _POWC_OPS[n] = op
    return op


def _sigmoid_of(x):
    return x.sigmoid() if type(x) is Value else _stable_sigmoid(x)


def _stable_sigmoid(x: float) -> float:
    # exp of a non-positive number never overflows; this branch keeps sigmoid finite at +-1000
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# -------------------------------------------------------------------------------------------------
# Values

_MANY = object()  # in _b: the node is n-ary, _a and _da hold tuples
_new = object.__new__
_ACCEPTED = "an int, a float or a real numpy scalar"


def _to_float(x, what: str) -> float:
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):  # int, bool, numpy integer and floating scalars, Fraction
        return float(x)
    raise TypeError(f"{what} must be {_ACCEPTED}, got {type(x).__name__}: {x!r}")


def _operand(x, op: str) -> "Value":
    """x as a Value: a Value as it is, a plain number as a constant leaf."""
    t = type(x)
    if t is float or t is int:  # before the slower abstract check below
        return _leaf(float(x))
    if t is Value or isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real):
        return _leaf(float(x))
    raise TypeError(
        f"unsupported operand for {op}: {type(x).__name__} ({x!r}); "
        f"expected a Value or {_ACCEPTED}"
    )


def _leaf(data: float, label: str = "") -> "Value":
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = label
    out._op = None
    out._a = out._b = out._da = out._db = None
    return out


def _node1(data: float, op: Op, a: "Value", da) -> "Value":
    """A new node with one operand (a leaf instead when recording is off)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._b = out._db = None
    if _recording:
        out._op = op
        out._a = a
        out._da = da
    else:
        out._op = out._a = out._da = None
    return out


def _node2(data: float, op: Op, a: "Value", da, b: "Value", db) -> "Value":
    """A new node with two operands (a leaf instead when recording is off)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _recording:
        out._op = op
        out._a = a
        out._da = da
        out._b = b
        out._db = db
    else:
        out._op = out._a = out._da = out._b = out._db = None
    return out


def _node_n(data: float, op: Op, operands: tuple, locals_: tuple) -> "Value":
    """A new n-ary node (a leaf instead when recording is off)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._db = None
    if _recording:
        out._op = op
        out._a = operands
        out._da = locals_
        out._b = _MANY
    else:
        out._op = out._a = out._da = out._b = None
    return out


def _values(items, what: str) -> tuple:
    """items as a tuple of Values (plain numbers become constant leaves)."""
    if type(items) is not tuple:
        try:
            items = tuple(items)
        except TypeError:
            raise TypeError(f"{what} expects an iterable of Values or numbers, "
                            f"got {type(items).__name__}") from None
    if set(map(type, items)) <= _JUST_VALUE:  # the common case, in one C-level pass
        return items
    return tuple([_operand(v, what) for v in items])


def _linear_node(operands: tuple, n: int) -> "Value":
    """The fused node z = sum_i w_i x_i + b of operands (w_1..w_n, x_1..x_n, b), all Values.

    Checks nothing: ``Value.linear`` checks first, and ``nn`` calls this directly on the
    Values it already holds (a neuron's forward pass is the innermost loop of training).
    """
    data = [v.data for v in operands]
    z = sum(map(_mul, data[:n], data[n:-1]), data[-1])
    return _node_n(z, LINEAR, operands, LINEAR.local(data, z))


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    ``Value(data, label="")``: ``data`` is an int, a float or a real numpy scalar and is kept as a
    Python float; anything else raises TypeError. ``grad`` starts at 0.0 and is filled by
    ``backward()``; ``label`` names the value in diagrams.

    Operators ``+ - * / **`` and unary ``-`` work between Values and with plain numbers on either
    side. Methods: ``exp log relu sigmoid tanh abs sqrt softplus detach backward``; n-ary nodes:
    ``Value.sum``, ``Value.linear``, ``Value.logsumexp``.

    Conventions: relu'(0) = 0, |x|'(0) = 0; d/dx x**0 = 0 everywhere (x = 0 too); d/dy b**y = 0
    at b = 0 and nan for b < 0; d/dx x**n = inf at x = 0 when n < 1. Domain errors follow Python:
    ``log`` of x <= 0 and a negative base to a fractional power raise ValueError, division by zero
    ZeroDivisionError, overflow OverflowError, each naming the operation and operand.

    Unlike PyTorch, every node keeps its ``grad`` after ``backward()`` (not only leaves), so the
    diagrams can print it.
    """

    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_da", "_db", "__weakref__")

    def __init__(self, data: float, label: str = ""):
        if isinstance(data, Value):
            raise TypeError(
                f"Value() takes {_ACCEPTED}, got a Value; use .detach() for a copy without history"
            )
        self.data = _to_float(data, "Value data")
        self.grad = 0.0
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.label = label
        self._op = None
        self._a = self._b = self._da = self._db = None

    # ---- reading the graph -----------------------------------------------------------------

    @property
    def op(self) -> Op | None:
        """The operation that produced this value, or None for a leaf."""
        return self._op

    @property
    def operands(self) -> tuple:
        """The Values this one was computed from, in the operation's order (empty for a leaf)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is _MANY:
            return a
        return (a,) if b is None else (a, b)

    @property
    def local_grads(self) -> tuple:
        """d self / d operand for each operand, as floats computed at forward time."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is _MANY:
            return self._da
        return (self._da,) if b is None else (self._da, self._db)

    def is_leaf(self) -> bool:
        """True for a value with no operands: an input, a parameter or a constant."""
        return self._a is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Jupyter shows a Value as its chain-rule diagram (micrograd_nn.viz)."""
        from .viz.jupyter import repr_mimebundle
        return repr_mimebundle(self, include, exclude)

    # numpy defers to Value's reflected operators (np.float64(2) * v is a Value, not an array)
    __array_ufunc__ = None

    # ---- arithmetic ------------------------------------------------------------------------

    def __add__(self, other) -> "Value":
        other = other if type(other) is Value else _operand(other, "+")
        da, db = _ADD_LOCAL
        return _node2(self.data + other.data, ADD, self, da, other, db)

    def __radd__(self, other) -> "Value":
        return _operand(other, "+") + self

    def __sub__(self, other) -> "Value":
        other = other if type(other) is Value else _operand(other, "-")
        da, db = _SUB_LOCAL
        return _node2(self.data - other.data, SUB, self, da, other, db)

    def __rsub__(self, other) -> "Value":
        return _operand(other, "-") - self

    def __mul__(self, other) -> "Value":
        other = other if type(other) is Value else _operand(other, "*")
        x, y = self.data, other.data
        dx, dy = MUL.local(x, y, None)
        return _node2(x * y, MUL, self, dx, other, dy)

    def __rmul__(self, other) -> "Value":
        return _operand(other, "*") * self

    def __truediv__(self, other) -> "Value":
        other = other if type(other) is Value else _operand(other, "/")
        x, y = self.data, other.data
        if y == 0:
            raise ZeroDivisionError(f"division by zero: {x!r} / {y!r}")
        out = x / y
        dx, dy = DIV.local(x, y, out)
        return _node2(out, DIV, self, dx, other, dy)

    def __rtruediv__(self, other) -> "Value":
        return _operand(other, "/") / self

    def __neg__(self) -> "Value":
        return _node1(-self.data, NEG, self, _NEG_LOCAL[0])

    def __pos__(self) -> "Value":
        return self

    def __pow__(self, exponent) -> "Value":
        x = self.data
        if type(exponent) is Value or isinstance(exponent, Value):
            y = exponent.data
            out = _checked_pow(x, y)
            dx, dy = POW.local(x, y, out)
            return _node2(out, POW, self, dx, exponent, dy)
        n = _operand(exponent, "**").data  # validates the type
        op = _powc_op(n)
        out = _checked_pow(x, n)
        (dx,) = op.local(x, out)
        return _node1(out, op, self, dx)

    def __rpow__(self, base) -> "Value":
        return _operand(base, "**") ** self

    # ---- functions -------------------------------------------------------------------------

    def exp(self) -> "Value":
        """exp(x); derivative exp(x). OverflowError past x of about 709.78."""
        out = _checked_exp(self.data)
        return _node1(out, EXP, self, EXP.local(self.data, out)[0])

    def log(self) -> "Value":
        """Natural log; derivative 1/x. ValueError for x <= 0."""
        x = self.data
        out = _checked_log(x)
        return _node1(out, LOG, self, LOG.local(x, out)[0])

    def relu(self) -> "Value":
        """max(0, x); derivative 1 for x > 0, else 0 (0 at the kink x = 0)."""
        x = self.data
        # written so that nan passes through (nan <= 0 is False), as in PyTorch
        return _node1(0.0 if x <= 0 else x, RELU, self, RELU.local(x, None)[0])

    def abs(self) -> "Value":
        """|x|; derivative sign(x), 0 at x = 0."""
        x = self.data
        return _node1(abs(x), ABS, self, ABS.local(x, None)[0])

    __abs__ = abs

    def sigmoid(self) -> "Value":
        """1 / (1 + exp(-x)), computed without overflow; derivative s * (1 - s)."""
        out = _stable_sigmoid(self.data)
        return _node1(out, SIGMOID, self, SIGMOID.local(self.data, out)[0])

    def tanh(self) -> "Value":
        """tanh(x) (finite for every x); derivative 1 - tanh(x)**2."""
        out = math.tanh(self.data)
        return _node1(out, TANH, self, TANH.local(self.data, out)[0])

    def softplus(self) -> "Value":
        """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)); derivative sigmoid(x)."""
        x = self.data
        out = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
        return _node1(out, SOFTPLUS, self, SOFTPLUS.local(x, out)[0])

    def sqrt(self) -> "Value":
        """x ** 0.5; ValueError for x < 0, derivative inf at 0."""
        return self ** 0.5

    def detach(self) -> "Value":
        """A new leaf with the same data and label: no history, so no gradient flows through it."""
        return _leaf(self.data, self.label)

    # ---- n-ary nodes: one node instead of a chain --------------------------------------------

    @staticmethod
    def sum(values: Iterable) -> "Value":
        """sum of values as one node (derivative 1 for each); Values and plain numbers mixed."""
        operands = _values(values, "Value.sum")
        if not operands:
            return _leaf(0.0)
        return _node_n(sum([v.data for v in operands]), SUM, operands, SUM.local(operands, None))

    @staticmethod
    def linear(weights: Sequence, inputs: Sequence, bias=0.0) -> "Value":
        """z = sum_i w_i * x_i + b as one node: what a neuron computes before its activation.

        The local derivatives are dz/dw_i = x_i, dz/dx_i = w_i and dz/db = 1. One fused node
        costs far less than the 2n nodes of products and sums it stands for.
        """
        w = _values(weights, "Value.linear (weights)")
        x = _values(inputs, "Value.linear (inputs)")
        n = len(w)
        if n != len(x):
            raise ValueError(f"Value.linear needs as many weights as inputs, got {n} and {len(x)}")
        return _linear_node(w + x + (_operand(bias, "Value.linear (bias)"),), n)

    @staticmethod
    def logsumexp(values: Iterable) -> "Value":
        """log(sum_i exp(x_i)), shifted by the maximum so it never overflows; d/dx_i = softmax_i."""
        operands = _values(values, "Value.logsumexp")
        if not operands:
            raise ValueError("Value.logsumexp needs at least one value")
        xs = [v.data for v in operands]
        m = max(xs)
        if math.isinf(m):
            out = m
        else:
            out = m + math.log(sum(math.exp(x - m) for x in xs))
        return _node_n(out, LOGSUMEXP, operands, LOGSUMEXP.local(xs, out))

    # ---- backpropagation -------------------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every value this one depends on with d self / d value, times grad.

        Like PyTorch with retain_graph=True: leaves (values with no operands) accumulate across
        calls, while every interior node's grad is recomputed from zero on each call, so calling
        backward twice on the same graph exactly doubles the leaf gradients. A value reached
        along several paths receives the sum of its contributions. The order is topological and
        computed without recursion, so graphs of any depth work. A node whose gradient is exactly
        0 passes nothing back, so 0 times an infinite local derivative (sqrt at 0) gives 0
        where PyTorch gives nan.
        """
        grad = _to_float(grad, "backward(grad)")
        topo = topological_order(self)
        for node in topo:
            if node._a is not None:
                node.grad = 0.0
        self.grad += grad
        many = _MANY
        for node in reversed(topo):
            a = node._a
            g = node.grad
            if a is None or g == 0.0:  # a leaf, or nothing to pass back (e.g. a dead relu)
                continue
            b = node._b
            if b is None:
                a.grad += node._da * g
            elif b is many:
                for p, d in zip(a, node._da):
                    p.grad += d * g
            else:
                a.grad += node._da * g
                b.grad += node._db * g


_JUST_VALUE = frozenset({Value})  # read by _values: "every item is exactly a Value"


def _checked_pow(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise ZeroDivisionError(f"power: 0.0 ** {y!r} divides by zero (negative exponent)")
    if x < 0 and math.isfinite(y) and not y.is_integer():
        raise ValueError(
            f"power: {x!r} ** {y!r} is not a real number (negative base, fractional exponent)"
        )
    try:
        return x ** y
    except OverflowError:
        raise OverflowError(f"power: {x!r} ** {y!r} overflows a float") from None


def topological_order(root: Value) -> list:
    """Every value ``root`` depends on, operands before results, ``root`` last.

    An explicit stack instead of recursion, so depth is unlimited.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order() needs a Value, got {type(root).__name__}")
    order: list = []
    seen: set = set()
    stack: list = [root]
    push, pop, extend = stack.append, stack.pop, stack.extend
    seen_contains = seen.__contains__
    many = _MANY
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its operands in order
            order.append(pop())
            continue
        if node in seen:
            continue
        seen.add(node)
        a = node._a
        if a is None:
            order.append(node)
            continue
        push(node)
        push(None)
        b = node._b
        if b is many:
            extend(filterfalse(seen_contains, a))  # C-level: n-ary nodes have many operands
        else:
            if b is not None and b not in seen:
                push(b)
            if a not in seen:
                push(a)
    return order


# -------------------------------------------------------------------------------------------------
# Gradients as values (higher order)


def grad(output: Value, inputs: Sequence[Value], grad_output=1.0,
         create_graph: bool = False) -> list:
    """d output / d input for each input, in order, without touching any ``.grad``.

    Without ``create_graph`` the gradients are floats, read from the local derivatives stored at
    forward time. With ``create_graph=True`` each gradient is a Value built by calling the same
    derivative rules on Values, so it can be differentiated again (to any order). An input that
    ``output`` does not depend on gets 0.0 (``Value(0.0)`` with create_graph). Inside
    ``no_grad()`` nothing is recorded, create_graph included. Zero gradients follow
    ``backward()``: 0 times an infinite local derivative contributes 0.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad() needs a Value as output, got {type(output).__name__}")
    if isinstance(inputs, Value):
        raise TypeError("grad() takes a list of inputs, got a single Value: write grad(y, [x])")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad() inputs must be Values; input {i} is {type(x).__name__}")
    topo = topological_order(output)
    if create_graph:
        seed = grad_output if isinstance(grad_output, Value) else _leaf(
            _to_float(grad_output, "grad_output"))
    else:
        seed = _to_float(_data(grad_output), "grad_output")
    grads = {output: seed}
    for node in reversed(topo):
        g = grads.get(node)
        if g is None or node._a is None or (not create_graph and g == 0.0):
            continue  # as in backward(): a zero gradient passes nothing back
        operands = node.operands
        if create_graph:
            op = node._op
            local = op.local(operands, node) if node._b is _MANY else op.local(*operands, node)
        else:
            local = node.local_grads
        for p, d in zip(operands, local):
            if create_graph and _data(g) == 0.0 and not math.isfinite(_data(d)):
                continue  # 0 * inf counts as 0, as in backward(); finite terms keep their graph
            contribution = g * d
            prev = grads.get(p)
            grads[p] = contribution if prev is None else prev + contribution
    zero = (lambda: _leaf(0.0)) if create_graph else (lambda: 0.0)
    result = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            g = zero()
        elif create_graph and type(g) is not Value:
            g = _leaf(g)
        result.append(g)
    return result


def hessian(f: Callable, inputs: Sequence) -> list:
    """The matrix of second derivatives d2 f / dx_i dx_j at ``inputs`` (numbers or Values).

    ``f`` takes one Value per input and returns a Value. Each row is the gradient of one
    first derivative (computed with create_graph); the result is symmetrised by averaging the
    two mixed partials, which agree up to rounding.
    """
    xs = [_leaf(_to_float(_data(x), f"hessian input {i}")) for i, x in enumerate(inputs)]
    with enable_grad():
        out = f(*xs)
        if not isinstance(out, Value):
            raise TypeError(f"hessian(f, ...): f must return a Value, got {type(out).__name__}")
        first = grad(out, xs, create_graph=True)
    rows = [grad(g, xs) for g in first]
    n = len(xs)
    return [[(rows[i][j] + rows[j][i]) / 2 for j in range(n)] for i in range(n)]
