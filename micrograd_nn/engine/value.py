"""The fast `Value`: applying an op, the sort, and backward() into the ``.grad`` fields.

The operations themselves are rows of the table in ``micrograd_nn/ops.py``: each `Op` holds
its forward and one rule of local derivatives d out / d operand, written with arithmetic that
works on floats and on Values alike:

* at forward time the rule is called with floats, and the numbers are kept on the new node
  (``backward()`` multiplies them along the graph, the diagrams print them on edges);
* ``grad(..., create_graph=True)`` (walk.py) calls the same rule with Values, so the gradient
  is itself a graph that can be differentiated again.

This is the only file that knows how a node is stored; everything else reads a node through
`decode` (``Value.operands``, ``Value.local_grads``). reference.py computes the same numbers
in under 100 lines, without the tricks below; read it first.

How a node is stored (this is what makes the engine fast and small, see `decode` for the
table): a node keeps up to two operands in slots ``_a`` and ``_b`` with their local
derivatives in ``_da`` and ``_db``; an n-ary node (``Value.sum``, ``Value.linear``,
``Value.logsumexp``) keeps tuples in ``_a``/``_da`` and the marker ``_MANY`` in ``_b``. The
linear nodes of a neuron, a layer or ``Value.matvec`` keep in ``_a`` the tuple
(w_1, ..., w_n, b) (a neuron's `_Parameters`, the same for every node it makes), in ``_da``
the weights' data and then the bias's, and in ``_db`` an `_Inputs` (the inputs and their
data, one for the whole layer); see `linear_nodes`. A leaf has ``_a = None``. A plain-number
operand (``x * 2.0``, ``1 - x``) is kept as a number in ``_db`` with ``_b = None``: one object
per node instead of two, and the one the cyclic collector tracks (at Python's gc defaults it
costs more than the node itself on long chains); `decode` shows it as a leaf Value, so
diagrams and ``grad(create_graph=True)`` see it as any other operand. No node holds a closure
or any reference back to itself, so a finished graph is freed by reference counting alone,
without the cyclic garbage collector.
"""

from __future__ import annotations

import math
import operator
import numbers
import weakref
from itertools import chain, filterfalse
from operator import mul as _mul
from typing import Callable, Iterable, Iterator, Sequence

from ..ops import (ADD, DIV, LINEAR, LOGSUMEXP, MUL, NEG, POW, RELU, SUB, SUM, TAKE, Op,
                   add_in_order, on_register, powc, value_of)
from . import modes as _modes

__all__ = ["Value", "decode", "topological_order", "chain_term", "leaf", "to_float", "linear_nodes",
           "neuron_parameters"]


# -------------------------------------------------------------------------------------------------
# Numbers in, Values out

_MANY = object()  # in _b: the node is n-ary (_a and _da tuples, or a layer's linear node)


class _Inputs:
    """The inputs of a layer's linear nodes and their data at forward time (dz/dw_i = x_i),
    kept once for all of them. Hashed by identity, so the sort remembers it as seen."""
    __slots__ = ("values", "data")


class _Parameters(tuple):
    """A neuron's (w_1, ..., w_n, b) when they are all leaves, as parameters are: the one tuple
    every node the neuron makes keeps. Hashed by identity, so the sort remembers it as seen (a
    leaf needs no place in the order; weights computed by the graph stay a plain tuple)."""
    __slots__ = ()
    __hash__ = object.__hash__
    __eq__ = object.__eq__


def neuron_parameters(w: Sequence, b: "Value") -> tuple:
    """The tuple (w_1, ..., w_n, b) a neuron keeps for its linear nodes (see `_Parameters`)."""
    wb = (*w, b)
    return _Parameters(wb) if all(v._a is None for v in wb) else wb


_new = object.__new__
_ACCEPTED = "an int, a float or a real numpy scalar"


def to_float(x, what: str) -> float:
    """x as a float, for an int, a float or a real numpy scalar; TypeError (naming ``what``) for
    anything else, OverflowError for an int too large for a float."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):  # int, bool, numpy integer and floating scalars, Fraction
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{what}: {_short(x)} is too large for a float "
                                f"(the largest is about 1.8e308)") from None
    raise TypeError(f"{what} must be {_ACCEPTED}, got {type(x).__name__}: {x!r}")


def _short(x) -> str:
    """A huge number shown without its thousand digits."""
    text = repr(x)
    return text if len(text) <= 40 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"


def _operand(x, op: str) -> "Value":
    """x as a Value: a Value as it is, a plain number as a constant leaf."""
    if type(x) is Value or isinstance(x, Value):
        return x
    return leaf(_number(x, op))


def _number(x, op: str) -> float:
    """A plain number operand of ``op`` as a float; TypeError for anything else."""
    t = type(x)
    if t is float:
        return x
    if t is int:
        try:
            return float(x)
        except OverflowError:
            return to_float(x, f"operand of {op}")  # raises, naming the number
    if isinstance(x, numbers.Real):
        return to_float(x, f"operand of {op}")
    raise TypeError(
        f"unsupported operand for {op}: {type(x).__name__} ({x!r}); "
        f"expected a Value or {_ACCEPTED}"
    )


def _with_number(op: Op, v: "Value", other, first: bool = False) -> "Value":
    """op(v, other), or op(other, v) when ``first``, where ``other`` is not exactly a Value:
    a plain number is kept in the node (`_apply_constant`), a Value subclass applied as usual,
    anything else refused with a TypeError by `_operand`."""
    if isinstance(other, Value):  # an instance of a subclass: an operand like any other
        return _apply2(op, other, v) if first else _apply2(op, v, other)
    return _apply_constant(op, v, _number(other, op.name), first)


class _First(float):
    """A constant kept in a node that was the op's first operand (``2.0 - x``): a float that
    remembers its side. No slots, so it is not tracked by the cyclic collector."""
    __slots__ = ()


def _apply_constant(op: Op, v: "Value", c: float, first: bool = False) -> "Value":
    """op(v, c), or op(c, v) when ``first``, for a Value v and a plain number c.

    The number stays a number: the node keeps one operand (v, with d out / d v in ``_da``)
    and the constant in ``_db``, so it costs one object instead of two (the collector tracks
    half as many on a chain like ``y = y * 1.0000001 + 1e-7``). ``operands`` gives the
    constant its leaf Value when someone asks (see `decode`).
    """
    x = v.data
    out = _new(Value)
    out.grad = 0.0
    out.label = ""
    out._b = None
    if first:
        out.data = z = op.forward(c, x)
        dx = op.rule(c, x, z)[1]
        c = _First(c)
    else:
        out.data = z = op.forward(x, c)
        dx = op.rule(x, c, z)[0]
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = out._db = None
    else:
        out.op = op
        out._a = v
        out._da = dx
        out._db = c
    return out


def leaf(data: float, label: str = "") -> "Value":
    """A leaf Value holding ``data``, which must already be a float (unchecked: the fast
    ``Value(data, label)`` for callers that have checked it, such as a layer's inputs)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = label
    out.op = out._a = out._b = out._da = out._db = None
    return out


# -------------------------------------------------------------------------------------------------
# The one decoder of the slot layout


def decode(node: "Value") -> tuple[tuple, tuple]:
    """``(operands, local_grads)`` of a node: the Values it was computed from, in the op's order,
    and d node / d operand for each, as floats. Every reader of a graph goes through here
    (``Value.operands``, ``Value.local_grads``, the sort, the walk, the diagrams); only the fast
    paths of this file (`_backward_order`, `_propagate_into_grad_fields`, the ops) touch the
    slots themselves. The layout, by what the slots hold::

        leaf                 _a None
        one operand          _a v,  _da dv,          _b None,  _db None
        two operands         _a v,  _da dv,         _b w,     _db dw
        a kept constant c    _a v,  _da dv,         _b None,  _db c (a float; `_First` if c
                             came first, as in 2.0 - v)
        n-ary                _a (v_1..v_n), _da (d_1..d_n),  _b _MANY, _db None
        a layer's linear     _a (w_1..w_n, b), _da (w_1..w_n, b data),  _b _MANY,
                             _db an `_Inputs` shared by the layer (x_1..x_n and their data)

    Reading never changes the node. A kept constant is shown as a leaf Value made on the first
    read and remembered (weakly, for as long as the node lives), so every reader sees the same
    leaf; its ``grad`` is what the last ``backward()`` gives it: the node's grad times
    d node / d constant, under the zero rule.
    """
    a = node._a
    if a is None:
        return (), ()
    b = node._b
    if b is _MANY:
        shared = node._db
        if shared is None:
            return a, node._da
        return (*a[:-1], *shared.values, a[-1]), (*shared.data, *node._da[:-1], 1.0)
    if b is not None:
        return (a, b), (node._da, node._db)
    c = node._db
    if c is None:
        return (a,), (node._da,)
    k = _CONSTANT_LEAVES.get(node)
    if k is None:
        k = _CONSTANT_LEAVES[node] = leaf(float(c))
    op = node.op
    if type(c) is _First:
        dc = op.rule(k.data, a.data, node.data)[0]
        operands, local = (k, a), (dc, node._da)
    else:
        dc = op.rule(a.data, k.data, node.data)[1]
        operands, local = (a, k), (node._da, dc)
    k.grad = chain_term(node.grad, dc)
    return operands, local


_CONSTANT_LEAVES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # node -> its leaf


# -------------------------------------------------------------------------------------------------
# Applying an op: forward on the floats, the rule on the floats, one new node


def _apply1(op: Op, a: "Value") -> "Value":
    """op(a) for a Value a: a node with one operand (a leaf when recording is off)."""
    x = a.data
    out = _new(Value)
    out.data = y = op.forward(x)
    out.grad = 0.0
    out.label = ""
    out._b = out._db = None
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = None
    else:
        out.op = op
        out._a = a
        (out._da,) = op.rule(x, y)
    return out


def _apply2(op: Op, a: "Value", b: "Value") -> "Value":
    """op(a, b) for Values a, b: a node with two operands (a leaf when recording is off)."""
    x, y = a.data, b.data
    out = _new(Value)
    out.data = z = op.forward(x, y)
    out.grad = 0.0
    out.label = ""
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = out._b = out._db = None
    else:
        out.op = op
        out._a = a
        out._b = b
        out._da, out._db = op.rule(x, y, z)
    return out


def _apply_n(op: Op, operands: tuple) -> "Value":
    """op(operands) for an n-ary op on a tuple of Values (a leaf when recording is off)."""
    xs = [v.data for v in operands]
    out = _new(Value)
    out.data = z = op.forward(xs)
    out.grad = 0.0
    out.label = ""
    out._db = None
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = out._b = None
    else:
        out.op = op
        out._a = operands
        out._da = op.rule(xs, z)
        out._b = _MANY
    return out


def _constant_node(data: float, op: Op, a: "Value", da: float, b: "Value", db: float) -> "Value":
    """_apply2 for an op whose local derivatives are the constants da, db (+ and -)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = out._b = out._db = None
    else:
        out.op = op
        out._a = a
        out._da = da
        out._b = b
        out._db = db
    return out


def _apply(op: Op, args: tuple) -> "Value":
    """``op(*args)`` when a Value is among the operands (``Op.__call__`` lands here)."""
    if op.arity is None:
        return _apply_n(op, _values(args[0], op.name))
    operands = [_operand(x, op.name) for x in args]
    if op.arity == 1:
        return _apply1(op, operands[0])
    return _apply2(op, operands[0], operands[1])


def _values(items, what: str) -> tuple:
    """items as a tuple of Values (plain numbers become constant leaves)."""
    if type(items) is not tuple:
        try:
            items = tuple(items)
        except TypeError:
            raise TypeError(f"{what} expects an iterable of Values or numbers, "
                            f"got {type(items).__name__}") from None
    if _JUST_VALUE.issuperset(map(type, items)):  # the common case, in one C-level pass
        return items
    return tuple([_operand(v, what) for v in items])


def _all_values(matrix: list, biases: list, n: int) -> bool:
    """True when every row of ``matrix`` has n entries and they and ``biases`` are all exactly
    Values (anything else takes Value.matvec's checks row by row)."""
    try:
        return ({n}.issuperset(map(len, matrix))
                and _JUST_VALUE.issuperset(map(type, chain.from_iterable(matrix)))
                and _JUST_VALUE.issuperset(map(type, biases)))
    except TypeError:  # a row without a length
        return False


def _rows(items, what: str) -> list:
    """Value.matvec's matrix (or biases) as a list; TypeError for a string or a non-iterable."""
    if not isinstance(items, (str, bytes)):
        try:
            return list(items)
        except TypeError:
            pass
    raise TypeError(f"Value.matvec expects {what} as a sequence (a list, a tuple or a numpy "
                    f"array), got {type(items).__name__}")


def linear_nodes(rows: Sequence, inputs: Sequence) -> list:
    """One fused node z_j = sum_i w_ji x_i + b_j per tuple (w_j1, ..., w_jn, b_j) of ``rows``, all
    reading the same ``inputs``: a layer's pre-activations (one row: ``Value.linear``). Each
    node's operands are (w_1..w_n, x_1..x_n, b).

    Checks nothing: ``Value.linear`` checks first, and ``nn`` calls it on the Values it holds.
    Hand-fused, because it is the innermost loop of training: LINEAR's forward and rule are
    written inline (the same arithmetic, the sum in the same order). The inputs' ``.data`` is
    read once for the whole layer (W1's forward 7.1 -> 5.2 ms, gc off, in ``benchmarks/run.py
    --phases``), and when there is something to share (several rows, or a neuron's
    parameters) the inputs and their data are kept once, in an `_Inputs` all the nodes share:
    no node copies them, and ``backward()``'s sort visits them
    once per layer instead of once per neuron (W1's step a further 13.4 -> 12.2 ms at gc
    defaults, 10.6 -> 10.0 ms with gc off). A neuron's `_Parameters`, the same for every
    sample, saves a tuple per node and lets the sort visit its parameters once per step (W1
    about 12% faster again). A lone node of ``Value.linear`` keeps tuples of its own: nothing
    to share.
    """
    xd = [v.data for v in inputs]
    x = tuple(inputs)
    shared = None
    if len(rows) > 1 or (rows and type(rows[0]) is _Parameters):   # anything to share
        shared = _new(_Inputs)
        shared.values, shared.data = x, xd
    recording = not (_modes.open_blocks and not _modes.is_grad_enabled())
    nodes = []
    for wb in rows:
        wd = [v.data for v in wb]    # the weights' data, then the bias's
        out = _new(Value)
        out.data = add_in_order(map(_mul, wd, xd), wd[-1])   # map stops at the n inputs
        out.grad = 0.0
        out.label = ""
        if recording:
            out.op = LINEAR
            out._b = _MANY
            out._db = shared
            if shared is None:  # one node alone: operands and local derivatives of its own
                out._a = (*wb[:-1], *x, wb[-1])
                out._da = (*xd, *wd[:-1], 1.0)   # dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1
            else:
                out._a = wb
                # dz/dx_i = w_i (the bias's data last); dz/dw_i is in shared.data. A tuple of
                # floats, which the cyclic collector stops tracking at its first pass, where a
                # list stays tracked (W1's step about 6% faster at gc defaults)
                out._da = tuple(wd)
        else:
            out.op = out._a = out._da = out._b = out._db = None
        nodes.append(out)
    return nodes


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back to its inputs.

    ``Value(data, label="")``: ``data`` is an int, a float or a real numpy scalar and is kept as a
    Python float; anything else raises TypeError (an int too large for a float, OverflowError).
    ``grad`` starts at 0.0 and is filled by ``backward()``; ``label`` names the value in diagrams.

    Operators ``+ - * / **`` and unary ``-`` work between Values and with plain numbers on either
    side. The methods ``exp log relu sigmoid tanh abs sqrt softplus`` are the rows of the op
    table (``micrograd_nn.ops``) that name a method; n-ary nodes: ``Value.sum``,
    ``Value.linear`` (by rows: ``Value.matvec``), ``Value.logsumexp``; and ``detach``,
    ``backward``.

    Conventions: see docs/conventions.md (kinks, poles, NaN and inf, ``.data`` written after the
    forward pass). Domain errors follow Python: ``log`` of x <= 0, ``sqrt`` of x < 0 and a
    negative base to a fractional power raise ValueError, division by zero ZeroDivisionError,
    overflow OverflowError, each naming the operation and operand.

    Reading the graph: ``op`` (the `Op`, None for a leaf), ``operands``, ``local_grads``; for
    code written for micrograd, ``_prev`` (the operands as a set) and ``_op`` (the op's name,
    "" for a leaf).

    Unlike PyTorch, every node keeps its ``grad`` after ``backward()`` (not only leaves), so the
    diagrams can print it.
    """

    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_da", "_db", "__weakref__")

    def __init__(self, data: float, label: str = ""):
        if isinstance(data, Value):
            raise TypeError(
                f"Value() takes {_ACCEPTED}, got a Value; use .detach() for a copy without history"
            )
        self.data = to_float(data, "Value data")
        self.grad = 0.0
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.label = label
        self.op = self._a = self._b = self._da = self._db = None

    __apply_op__ = staticmethod(_apply)  # Op.__call__ hands calls with a Value operand to _apply

    # ---- reading the graph -----------------------------------------------------------------

    @property
    def operands(self) -> tuple:
        """The Values this one was computed from, in the operation's order (empty for a leaf)."""
        return decode(self)[0]

    @property
    def local_grads(self) -> tuple:
        """d self / d operand for each operand, as floats computed at forward time."""
        return decode(self)[1]

    @property
    def _prev(self) -> set:
        """The operands as a set, as micrograd names them (``operands`` keeps order and repeats)."""
        return set(self.operands)

    @property
    def _op(self) -> str:
        """The op's name as a string, "" for a leaf, as micrograd names it (``op`` is the Op)."""
        op = self.op
        return "" if op is None else op.name

    def is_leaf(self) -> bool:
        """True for a value with no operands: an input, a parameter or a constant."""
        return self._a is None

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # numpy defers to Value's reflected operators (np.float64(2) * v is a Value, not an array)
    __array_ufunc__ = None

    # ---- arithmetic: one line each ---------------------------------------------------------

    # + and - are hand-fused: their local derivatives are constants, so no forward or rule call
    # (v + w: about 290 -> 230 ns per node in benchmarks/run.py --ops; W2 is half additions)
    def __add__(self, other) -> "Value":
        if type(other) is not Value:
            return _with_number(ADD, self, other)
        return _constant_node(self.data + other.data, ADD, self, 1.0, other, 1.0)

    def __radd__(self, other) -> "Value":
        return _with_number(ADD, self, other, first=True)

    def __sub__(self, other) -> "Value":
        if type(other) is not Value:
            return _with_number(SUB, self, other)
        return _constant_node(self.data - other.data, SUB, self, 1.0, other, -1.0)

    def __rsub__(self, other) -> "Value":
        return _with_number(SUB, self, other, first=True)

    def __mul__(self, other) -> "Value":
        if type(other) is not Value:
            return _with_number(MUL, self, other)
        x, y = self.data, other.data  # MUL's forward and rule inline: d(xy)/dx = y, d/dy = x
        return _constant_node(x * y, MUL, self, y, other, x)

    def __rmul__(self, other) -> "Value":
        return _with_number(MUL, self, other, first=True)

    def __truediv__(self, other) -> "Value":
        if type(other) is not Value:
            return _with_number(DIV, self, other)
        return _apply2(DIV, self, other)

    def __rtruediv__(self, other) -> "Value":
        return _with_number(DIV, self, other, first=True)

    def __neg__(self) -> "Value":
        return _apply1(NEG, self)

    def __pos__(self) -> "Value":
        return self

    def __pow__(self, exponent) -> "Value":
        if type(exponent) is Value or isinstance(exponent, Value):
            return _apply2(POW, self, exponent)
        return _apply1(powc(_operand(exponent, "**").data), self)  # a constant exponent

    def __rpow__(self, base) -> "Value":
        return _with_number(POW, self, base, first=True)

    def __abs__(self) -> "Value":
        return self.abs()

    def detach(self) -> "Value":
        """A new leaf with the same data and label: no history, so no gradient flows through it."""
        return leaf(self.data, self.label)

    # ---- n-ary nodes: one node instead of a chain --------------------------------------------

    @staticmethod
    def sum(values: Iterable) -> "Value":
        """sum of values as one node (derivative 1 for each); Values and plain numbers mixed."""
        operands = _values(values, "Value.sum")
        return _apply_n(SUM, operands) if operands else leaf(0.0)

    @staticmethod
    def linear(weights: Sequence, inputs: Sequence, bias=0.0) -> "Value":
        """z = sum_i w_i * x_i + b as one node: what a neuron computes before its activation.

        The local derivatives are dz/dw_i = x_i, dz/dx_i = w_i and dz/db = 1. One fused node
        costs far less than the 2n nodes of products and sums it stands for.
        """
        w = _values(weights, "Value.linear (weights)")
        x = _values(inputs, "Value.linear (inputs)")
        if len(w) != len(x):
            raise ValueError(
                f"Value.linear needs as many weights as inputs, got {len(w)} and {len(x)}")
        b = bias if type(bias) is Value else _operand(bias, "Value.linear (bias)")
        return linear_nodes(((*w, b),), x)[0]

    @staticmethod
    def matvec(matrix: Sequence, inputs: Sequence, biases: Sequence | None = None) -> list:
        """z = W x + b: one ``Value.linear`` node per row of ``matrix``, a list of Values.

        ``matrix`` is a sequence of rows, each with one weight per input; ``biases`` one per
        row (None: a constant 0 for each). Every node is the one ``Value.linear(row, inputs,
        bias)`` builds, but the rows share one record of the inputs instead of each copying
        them, which is what a layer of neurons does too (a dense layer of a GPT step about 25%
        faster than one ``Value.linear`` per row). Values and plain numbers mix as in
        ``Value.linear``.
        """
        x = _values(inputs, "Value.matvec (inputs)")
        matrix = _rows(matrix, "matrix")
        biases = [leaf(0.0) for _ in matrix] if biases is None else _rows(biases, "biases")
        if len(biases) != len(matrix):
            raise ValueError(f"Value.matvec needs one bias per row: {len(matrix)} rows, "
                             f"{len(biases)} biases")
        if _all_values(matrix, biases, len(x)):  # the common case, checked at C level
            return linear_nodes([(*w, b) for w, b in zip(matrix, biases)], x)
        rows = []
        for i, (row, b) in enumerate(zip(matrix, biases)):
            w = _values(row, f"Value.matvec (row {i})")
            if len(w) != len(x):
                raise ValueError(f"Value.matvec: row {i} has {len(w)} entries, expected "
                                 f"{len(x)} (one weight per input)")
            b = b if type(b) is Value else _operand(b, "Value.matvec (bias)")
            rows.append((*w, b))
        return linear_nodes(rows, x)

    @staticmethod
    def logsumexp(values: Iterable) -> "Value":
        """log(sum_i exp(x_i)), shifted by the maximum so it never overflows; d/dx_i = softmax_i.

        NaN among the values gives NaN, in any order (as PyTorch).
        """
        operands = _values(values, "Value.logsumexp")
        if not operands:
            raise ValueError("Value.logsumexp needs at least one value")
        return _apply_n(LOGSUMEXP, operands)

    @staticmethod
    def take(table: Sequence, index) -> "Value | list":
        """``table[index]`` where the index may be a Value holding a whole number (a token id
        read from the data): for an int, plain indexing; for a Value, one ``take`` node per
        entry (a list of Values for a table of rows), whose gradient flows to the selected
        entry only. What lets ``compile`` replay an embedding lookup for any token id."""
        if type(index) is not Value:
            return table[operator.index(index)]
        rows = list(table)
        if rows and isinstance(rows[0], (list, tuple)):  # a matrix: a row of take nodes
            return [_apply_n(TAKE, (index, *_values([row[j] for row in rows], "Value.take")))
                    for j in range(len(rows[0]))]
        return _apply_n(TAKE, (index, *_values(rows, "Value.take")))

    # ---- backpropagation -------------------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every value this one depends on with d self / d value, times grad.

        Like PyTorch with retain_graph=True: leaves (values with no operands) accumulate across
        calls, while every interior node's grad is recomputed from zero on each call, so calling
        backward twice on the same graph exactly doubles the leaf gradients. A value reached
        along several paths receives the sum of its contributions. The order is topological and
        computed without recursion, so graphs of any depth work. Zero wins: a term
        d self/d node * d node/d operand with a factor exactly 0 contributes 0, even when the
        other is inf or nan (where PyTorch gives nan for 0 * inf).
        """
        grad = to_float(grad, "backward(grad)")
        if self._a is None:
            self.grad += grad
            return
        order = _backward_order(self)
        self.grad = grad
        _propagate_into_grad_fields(order)


def _method(op: Op) -> Callable:
    """The Value method of a unary row: ``_apply1(op, self)`` with op's functions bound in.

    Inlined rather than calling _apply1: one call fewer on every activation (relu about 380 ->
    290 ns per node in ``benchmarks/run.py --ops``).
    """
    forward, rule = op.forward, op.rule

    def method(self: Value) -> Value:
        x = self.data
        out = _new(Value)
        out.data = y = forward(x)
        out.grad = 0.0
        out.label = ""
        out._b = out._db = None
        if _modes.open_blocks and not _modes.is_grad_enabled():
            out.op = out._a = out._da = None
        else:
            out.op = op
            out._a = self
            (out._da,) = rule(x, y)
        return out

    method.__name__ = op.method
    method.__qualname__ = f"Value.{op.method}"  # where pickle finds it (a model keeps one)
    method.__doc__ = op.doc or f"{op.name}(x), the op {op.name!r} of micrograd_nn.ops."
    return method


_OWN_NAMES = frozenset(dir(Value))   # what Value is before any op adds a method


def _add_method(op: Op) -> None:
    """Every registered op that names a method becomes one (Value.exp, Value.relu, ...)."""
    if op.method is None:
        return
    if op.method in _OWN_NAMES:
        raise ValueError(f"register({op.name!r}): Value.{op.method} is already Value's own; "
                         f"name the method otherwise (method='...') or pass method=False")
    setattr(Value, op.method, _method(op))


on_register(_add_method)


def _relu(self: Value) -> Value:
    # RELU's forward and rule written inline, as + - * are: relu is the activation of every
    # hidden neuron, so this saves two calls on each (tests/test_engine.py checks the row agrees)
    x = self.data
    out = _new(Value)
    out.grad = 0.0
    out.label = ""
    out._b = out._db = None
    if x <= 0:        # nan <= 0 is False: nan passes through, with derivative 1 (as PyTorch)
        out.data = d = 0.0
    else:
        out.data = x
        d = 1.0
    if _modes.open_blocks and not _modes.is_grad_enabled():
        out.op = out._a = out._da = None
    else:
        out.op = RELU
        out._a = self
        out._da = d
    return out


_relu.__name__, _relu.__qualname__, _relu.__doc__ = "relu", "Value.relu", Value.relu.__doc__
Value.relu = _relu

_JUST_VALUE = frozenset({Value})  # read by _values: "every item is exactly a Value"


def topological_order(root: Value) -> list:
    """Every value ``root`` depends on, operands before results, ``root`` last.

    Depth first on an explicit stack, so depth is unlimited: a binary node's operands are walked
    first to last, an n-ary node's last to first, so that backward, which runs this order
    backwards, adds an n-ary node's terms first to last (a batch's samples in order) and walks
    a chain of sums in the order it was built. reference.py's sort does the same, node for
    node, which is why the two engines agree bit for bit. A constant kept in its node is in
    the order as the leaf `decode` shows; ``backward()`` walks its own order.
    A graph with a cycle (made by writing private fields) raises ValueError naming a value on it.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order() needs a Value, got {type(root).__name__}")
    order: list = []
    seen: set = set()
    stack: list = [root]
    push, pop, extend = stack.append, stack.pop, stack.extend
    seen_contains = seen.__contains__
    many = _MANY
    finished: set = set()   # order[:len(finished)], filled only when a check needs it
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
        if b is many:  # C-level: n-ary nodes have many operands
            operands = a if node._db is None else decode(node)[0]
            before = len(stack)
            extend(filterfalse(seen_contains, operands))
            if len(stack) - before != len(operands):   # some were reached before
                for p in filter(seen_contains, operands):
                    _check_finished(p, order, finished)
        else:
            if b is None and node._db is not None:  # a kept constant: its leaf, from decode
                a, b = decode(node)[0]
            if b is not None:
                if b not in seen:
                    push(b)
                else:
                    _check_finished(b, order, finished)
            if a not in seen:
                push(a)
            else:
                _check_finished(a, order, finished)
    return order


def _backward_order(root: Value) -> list:
    """The interior nodes ``root`` depends on, each before its operands (``topological_order``
    reversed, without the leaves), their grads set to 0 on the way: one pass instead of a sort
    and a second pass to zero them (the sort plus zeroing of a step 5-11% faster: W1 3.3 ->
    3.0 ms, W5 n-ary 2.4 -> 2.2 ms). Leaves still enter ``seen``, so a parameter read by many
    n-ary nodes is dropped by the C-level filter after its first visit.

    A layer's `_Inputs` enters ``seen`` too: the first of its nodes that is reached pushes the
    inputs, and the others push nothing for them. That keeps the order: the layer's nodes were
    made in one call, so none of them depends on another, and a second one is reached only after
    the first has finished, its inputs with it. A neuron's `_Parameters` enters ``seen`` too:
    they are all leaves, which need no place in the order (weights computed by the graph, for
    a neuron reused on its own output, are a plain tuple pushed by every node that reads them).

    A cycle (a node that depends on itself, made by writing private fields) closed by a unary
    or binary node raises ValueError: a node's grad is None from the moment it is reached until
    its operands are finished (then 0.0), so an operand reached before whose grad is None is on
    the path that led here. Only operands reached before are looked at: W1's backward and W5's
    n-ary one cost the same as without the check (alternating runs), W5's drop-in (many shared
    operands) about 4% more. A cycle closed by an n-ary node is left to ``topological_order``
    (``grad()``, the diagrams): looking through every n-ary node's operands made W5's n-ary
    backward about 20% slower."""
    order: list = []
    seen: set = set()
    stack: list = [root]
    push, pop, extend, add = stack.append, stack.pop, stack.extend, seen.add
    seen_contains = seen.__contains__
    many = _MANY
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its operands in order
            node = pop()
            node.grad = 0.0   # finished
            order.append(node)
            continue
        if node in seen:
            continue
        add(node)
        a = node._a
        if a is None:
            continue
        node.grad = None      # on the path being explored (see below: a cycle)
        push(node)
        push(None)
        b = node._b
        if b is many:
            shared = node._db
            if type(a) is not _Parameters:
                extend(filterfalse(seen_contains, a))
            elif a not in seen:  # a neuron's parameters, once per step
                add(a)
                extend(filterfalse(seen_contains, a))
            if shared is not None and shared not in seen:  # a layer's inputs, once per layer
                add(shared)
                extend(filterfalse(seen_contains, shared.values))
                bias = a[-1]   # explored before the inputs, as topological_order does
                if bias._a is not None and bias not in seen:
                    push(bias)
        else:
            if b is not None:
                if b not in seen:
                    push(b)
                elif b.grad is None:
                    raise _cycle_error(b, seen)
            if a not in seen:
                push(a)
            elif a.grad is None:
                raise _cycle_error(a, seen)
    order.reverse()
    return order


def _cycle_error(value: Value, explored: set) -> ValueError:
    """The error for a cycle through ``value`` found by ``_backward_order``; the grads it had
    set to None among ``explored`` go back to 0.0 first, so none is left behind."""
    for v in explored:
        if isinstance(v, Value) and v.grad is None:
            v.grad = 0.0
    return ValueError(_cycle_message(value))


def _cycle_message(value: Value) -> str:
    return (f"the graph has a cycle: {value!r} depends on itself. Operations only read values "
            f"that already exist, so a cycle comes from a private field (_a, _b) written by "
            f"hand; backward() and topological_order() need a graph without cycles")


def _check_finished(value: Value, order: list, finished: set) -> None:
    """For an operand reached before: ValueError if it is not finished (not yet in ``order``),
    which means it is on the path that led here, so the graph has a cycle through it.

    ``finished`` holds ``order[:len(finished)]`` and catches up only here, so a graph in which
    no operand is reached twice pays nothing, and one that is pays once per node at most.
    """
    if value in finished:
        return
    finished.update(order[len(finished):])
    if value not in finished:
        raise ValueError(_cycle_message(value))


# -------------------------------------------------------------------------------------------------
# Propagating into the .grad fields


def chain_term(g, d):
    """d root/d node * d node/d operand under the zero rule: a factor exactly 0 gives 0.

    So 0 * inf and 0 * nan are 0 (a path through a dead relu or a zero gradient carries
    nothing). With Values (create_graph) a term whose factors are finite stays a graph even when
    it is 0, so higher derivatives still flow through it.
    """
    gd, dd = value_of(g), value_of(d)
    if (gd == 0.0 or dd == 0.0) and not (math.isfinite(gd) and math.isfinite(dd)):
        return 0.0
    return g * d


def _propagate_into_grad_fields(order: list) -> None:
    """``backward_walk`` specialised to floats accumulated in the ``.grad`` fields, over the
    interior nodes of ``_backward_order``.

    Same order, same sums, same zero rule (tests/test_engine.py checks they agree); written out
    because it is the inner loop of training: on W1's graph (8,300 nodes) it propagates in
    2.7 ms, where the walk's dict and generator take 8.5 ms.
    """
    many = _MANY
    for node in order:
        a = node._a
        g = node.grad
        if g == 0.0:  # nothing to pass back (e.g. a dead relu)
            continue
        if g - g:   # not 0.0: g is inf or nan, where zero wins needs the one rule
            for p, d in zip(*decode(node)):
                p.grad += chain_term(g, d)
            continue
        b = node._b
        if b is None:
            a.grad += node._da * g
        elif b is many:
            shared = node._db
            if shared is None:
                for p, d in zip(a, node._da):
                    p.grad += d * g
            else:  # a layer's linear node: weights (zip stops before the bias), inputs, bias
                for p, d in zip(a, shared.data):
                    p.grad += d * g
                for p, d in zip(shared.values, node._da):
                    p.grad += d * g
                a[-1].grad += g
        else:
            a.grad += node._da * g
            b.grad += node._db * g
