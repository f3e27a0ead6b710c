"""The table of operations: one row per op, holding its calculus.

A row is an `Op`: its name, its forward (floats to a float, raising its domain errors), its
rule of local derivatives and the same derivatives as formula text for the diagrams. `register`
puts it in the table (``OPS``) and says where else it appears: a ``Value`` method, a name of
``graph --expr``, a neuron activation. Backward, ``grad(create_graph=True)``, the edge labels,
``explain`` and ``micrograd_nn.testing.check_op`` all read the row; none keeps its own copy of
the calculus. How each backend writes an op as code (Python and numpy for ``compile``,
JavaScript for the explorable page, torch for the bridge and the differential tests) lives with
that backend, in a table keyed by the op's name.

* ``forward(x, ...)`` takes floats and returns a float. Outside the domain it raises ValueError
  (or ZeroDivisionError, OverflowError) naming the op and the operand. NaN in gives NaN out.
* ``rule(x, ..., out)`` returns the tuple d out / d operand_i. It is called with floats at
  forward time (the numbers are stored on the node) and with Values by
  ``grad(create_graph=True)`` (the result is a graph, differentiated again for higher orders).
  So it may use only arithmetic and op calls: an op called on floats is its forward, on a
  Value it records a node. A rule that must read numbers (``math.cos``) says so with
  ``float_only=True``: then ``create_graph`` through it raises instead of giving a silently
  wrong second derivative (``check_op`` catches a rule that reads numbers without saying so).
  A step or a convention at a point (relu, abs, pow at 0) reads the number with ``value_of``
  and returns a constant there, which is exact.
* ``formulas`` gives the same derivatives as text templates: ``{0}``, ``{1}`` stand for the
  operands, ``{out}`` for the result.
* An op takes one operand or two (``arity=1`` or ``2``); an n-ary op (``arity=None``) takes
  its operands as one sequence: ``forward(xs)``, ``rule(xs, out)``, ``formulas(i, n)`` a
  function.

Adding an op (``sin`` as the example; docs/ops.md has the same recipe)
------------------------------------------------------------------------

A user's op needs only steps 1 and 2, anywhere; a built-in one all five, each in the file named.

1. The row (here, in micrograd_nn/ops.py)::

       SIN = Op("sin", math.sin, lambda x, out: (COS(x),), ("cos({0})",),
                doc="sin(x); derivative cos(x).")
       COS = Op("cos", math.cos, lambda x, out: (-SIN(x),), ("-sin({0})",),
                doc="cos(x); derivative -sin(x).")

2. Register it (a built-in: below, with the others)::

       register(SIN)                  # x.sin(), graph --expr 'x.sin()'
       register(COS, activation=True) # also MLP(2, [4, 1], activation="cos")

3. Its test domain: ``ROWS`` in tests/test_ops.py, ``ops.SIN: [reals(-10, 10)]`` (and COS).
4. Its code for each backend, one entry per table (the tests name the missing ones):
   ``PYTHON`` in micrograd_nn/compiler/python_backend.py, ``NUMPY`` in
   micrograd_nn/compiler/numpy_backend.py, ``JAVASCRIPT`` in micrograd_nn/viz/explore.py,
   ``TORCH`` in micrograd_nn/pytorch.py: ``"sin": ("{f}({0})", ("_op_cos({0})",))``,
   ``"sin": ("_np.sin({0})", ("_np.cos({0})",))``, ``"sin": ("Math.sin({0})",
   "[Math.cos({0})]")``, ``"sin": "sin"``.
5. Run ``python -m pytest tests/test_ops.py tests/test_backends.py``.

Without step 4 a user's op still works everywhere it can: ``compile`` calls its forward and
rule (python) or runs them element by element (numpy); the explorable page and ``to_torch``
refuse it with an error naming it.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import sys
from typing import Callable, Sequence

__all__ = ["Op", "OPS", "register", "on_register", "activations", "value_of", "add_in_order",
           "ADD", "SUB", "MUL", "DIV", "NEG", "POW", "EXP", "LOG", "RELU", "ABS", "SIGMOID",
           "TANH", "SOFTPLUS", "SQRT", "SUM", "LINEAR", "LOGSUMEXP", "TAKE", "powc"]


class Op:
    """One operation: name, forward, rule of local derivatives, formula text.

    ``op(*operands)`` applies it: with a Value among the operands the result is a Value recorded
    in the graph (a leaf under ``no_grad()``); with plain numbers only it is the forward, a
    float, which is what lets a rule call ops on floats and Values alike. An n-ary op is called
    with one sequence, ``op(values)``.
    Another number-like type takes over the call by defining ``__apply_op__(op, operands)``
    (``Value`` does; a symbolic tracer can too).

    ``float_only=True`` says the rule works on floats only (it reads numbers, like PyTorch's
    ``once_differentiable``): first derivatives are right, and ``grad(create_graph=True)``
    through the op raises instead of returning a wrong second derivative.

    Where the op appears besides (a ``Value`` method, ``graph --expr``, a neuron activation) is
    said by `register`, which sets ``method``, ``expr`` and ``activation``.
    """

    __slots__ = ("name", "forward", "rule", "formulas", "arity", "float_only", "doc", "method",
                 "expr", "activation", "constant")

    def __init__(self, name: str, forward: Callable, rule: Callable,
                 formulas: Sequence[str] | Callable = (), *, arity: int | None = 1,
                 float_only: bool = False, doc: str = "", **moved):
        if moved:
            raise TypeError(
                f"Op {name!r}: {', '.join(sorted(moved))} {'is' if len(moved) == 1 else 'are'} "
                f"not an Op argument: method, expr and activation are given to "
                f"register(op, method=..., expr=..., activation=...), and each backend keeps "
                f"its own code templates (see docs/ops.md)")
        if not isinstance(name, str) or not name:
            raise TypeError(f"Op name must be a non-empty str, got {name!r}")
        for what, f in (("forward", forward), ("rule", rule)):
            if not callable(f):
                raise TypeError(f"Op {name!r}: {what} must be callable, got {type(f).__name__}")
        if arity not in (1, 2, None) or type(arity) is bool:
            raise ValueError(f"Op {name!r}: arity must be 1, 2 or None (n-ary: the operands as "
                             f"one sequence), got {arity!r}")
        if arity is not None and not callable(formulas) and len(formulas) not in (0, arity):
            raise ValueError(f"Op {name!r}: {arity} operand(s) need {arity} formulas, "
                             f"got {len(formulas)}")
        self.name = name
        self.forward = forward
        self.rule = rule
        self.formulas = formulas
        self.arity = arity
        self.float_only = bool(float_only)
        self.doc = doc
        self.method = None       # set by register
        self.expr = False
        self.activation = False
        self.constant = None     # the number an op family is made with (powc's exponent)

    @property
    def local(self) -> Callable:
        """The rule (the name the diagrams use: local derivatives)."""
        return self.rule

    @property
    def key(self) -> str:
        """The name backends look the op up by: its name, or ``"**n"`` for ``powc(n)``'s."""
        return "**n" if self.constant is not None else self.name

    def formula(self, i: int, n: int) -> str:
        """The template of d out / d operand ``i`` of ``n`` ("?" when the row gives none)."""
        f = self.formulas
        if callable(f):
            return f(i, n)
        return f[i] if i < len(f) else "?"

    def __call__(self, *operands):
        if self.arity is None:
            if len(operands) != 1:
                raise TypeError(f"{self.name} takes one sequence of operands, "
                                f"got {len(operands)} arguments")
            items = operands[0]
            if type(items) is not list and type(items) is not tuple:
                try:
                    items = tuple(items)
                except TypeError:
                    raise TypeError(f"{self.name} takes one sequence of operands, got "
                                    f"{type(items).__name__}") from None
            if all(type(x) is float for x in items):
                return self.forward(items)
            return _dispatch(self, (items,), items)
        if len(operands) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} operand"
                            f"{'s' if self.arity != 1 else ''}, got {len(operands)}")
        for x in operands:
            if type(x) is not float:
                return _dispatch(self, operands, operands)
        return self.forward(*operands)  # plain floats: the forward alone (as in a rule)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# -------------------------------------------------------------------------------------------------
# The table: every op registered, built-ins first

OPS: list = []              # every registered op, in order (a list, so importers see new ones)
_LISTENERS: list = []       # told of every op registered (the engine makes its Value methods)


def register(op: Op, *, method: bool | str = True, expr: bool = True,
             activation: bool = False) -> Op:
    """Add ``op`` to the table, the one door for built-ins and user ops alike.

    ``method=True`` makes it ``Value.<name>()`` (a str names the method otherwise; False: no
    method); ``expr=True`` admits that method to ``graph --expr``; ``activation=True`` makes it
    a neuron activation for Neuron, Layer and MLP (``activation="<name>"``) and the diagrams.
    Registering the same op again changes nothing; another op of a taken name, a method name
    that is not an identifier, or an activation that is not unary, is a ValueError.
    """
    if not isinstance(op, Op):
        raise TypeError(f"register needs an Op, got {type(op).__name__}")
    if op in OPS:
        return op
    if any(other.name == op.name for other in OPS):
        raise ValueError(f"register: an op named {op.name!r} is already in the table")
    name = op.name if method is True else (method or None)
    if name is not None and (not isinstance(name, str) or not name.isidentifier()
                             or name.startswith("_")):
        raise ValueError(f"register({op.name!r}): the method name {name!r} is not a public "
                         f"identifier; pass method='some_name' or method=False")
    if activation and op.arity != 1:
        raise ValueError(f"register({op.name!r}): an activation takes one operand, this op "
                         f"takes {op.arity or 'many'}")
    op.method, op.expr, op.activation = name, bool(expr) and name is not None, bool(activation)
    OPS.append(op)
    try:
        for listener in _LISTENERS:
            listener(op)
    except Exception:    # refused (a method name Value already has): the table stays as it was
        OPS.remove(op)
        op.method, op.expr, op.activation = None, False, False
        raise
    return op


def on_register(listener: Callable[[Op], None]) -> None:
    """Call ``listener(op)`` for every op in the table, now and whenever one is registered."""
    _LISTENERS.append(listener)
    for op in list(OPS):
        listener(op)


def activations() -> dict:
    """Every activation of the table, name -> op."""
    return {op.name: op for op in OPS if op.activation}


def _dispatch(op: Op, args: tuple, operands: tuple):
    for x in operands:
        apply = getattr(type(x), "__apply_op__", None)
        if apply is not None:
            return apply(op, args)
    floats = []
    for i, x in enumerate(operands):
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{op.name}: operand {i} must be a Value or a real number, "
                            f"got {type(x).__name__}: {x!r}")
        try:
            floats.append(float(x))
        except OverflowError:
            raise OverflowError(f"{op.name}: operand {i} ({len(str(x))} digits) is too large "
                                f"for a float") from None
    return op.forward(floats) if op.arity is None else op.forward(*floats)


def value_of(x) -> float:
    """The number inside x: ``x.data`` for a Value, x itself for a float."""
    return x if type(x) is float else getattr(x, "data", x)


# -------------------------------------------------------------------------------------------------
# forwards with their domain errors (floats in, float out; NaN in, NaN out)


def _divide(x: float, y: float) -> float:
    if y == 0:
        raise ZeroDivisionError(f"division by zero: {x!r} / {y!r}")
    return x / y


def _power(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise ZeroDivisionError(f"power: 0.0 ** {y!r} divides by zero (negative exponent)")
    if x < 0 and math.isfinite(y) and not y.is_integer():
        raise ValueError(
            f"power: {x!r} ** {y!r} is not a real number (negative base, fractional exponent)")
    try:
        return x ** y
    except OverflowError:
        raise OverflowError(f"power: {x!r} ** {y!r} overflows a float") from None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(
            f"exp({x!r}) overflows a float (exp is finite only for inputs up to about 709.78)"
        ) from None


def _log(x: float) -> float:
    if x <= 0:   # written so that nan passes (to nan), as in PyTorch
        raise ValueError(f"log({x!r}): log is defined only for positive numbers")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt({x!r}): sqrt is defined only for numbers >= 0")
    return math.sqrt(x)


def _relu(x: float) -> float:
    return 0.0 if x <= 0 else x   # nan <= 0 is False: nan passes through, as in PyTorch


def _sigmoid(x: float) -> float:
    # exp of a non-positive number never overflows; this branch keeps sigmoid finite at +-1000
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): never overflows
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _reduce_add(terms, start: float = 0.0) -> float:
    return functools.reduce(operator.add, terms, start)


# start + t_1 + t_2 + ...: one rounding per addition, left to right, on every Python, which is
# what the compiled code, the pages' JavaScript and a hand-written loop compute. sum() does
# exactly that up to Python 3.11 (and fastest); from 3.12 on, sum() of floats carries each
# rounding error along (more accurate, other last bits), so there the additions are made one by one.
add_in_order = sum if sys.version_info < (3, 12) else _reduce_add


def _linear(xs: Sequence[float]) -> float:
    # operands w_1..w_n, x_1..x_n, b
    n = len(xs) // 2
    return add_in_order(map(operator.mul, xs[:n], xs[n:-1]), xs[-1])


def _logsumexp(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("logsumexp needs at least one value")
    if any(x != x for x in xs):
        return math.nan   # NaN anywhere gives NaN, whatever the order (as in PyTorch)
    m = max(xs)
    if math.isinf(m):
        return m
    return m + math.log(add_in_order([math.exp(x - m) for x in xs], 0.0))


# -------------------------------------------------------------------------------------------------
# rules that need a convention at a point


def _step(x) -> float:
    """relu'(x): 1 for x > 0, 0 for x <= 0 (0 at the kink); 1 for nan, as PyTorch."""
    return 0.0 if (x if type(x) is float else value_of(x)) <= 0 else 1.0


def _sign(x) -> float:
    """|x|'(x) = sign(x), 0 at 0 and at nan as in PyTorch (a step, so a constant for Values too)."""
    v = value_of(x)
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def _pow_dbase(x, y):
    """d/dx x**y = y * x**(y-1); at x = 0 it is 0 when y == 0 and inf when 0 < y < 1."""
    if type(y) is float and y == 0:
        return 0.0  # x**0 is the constant 1, also at x = 0
    if value_of(x) == 0:
        if value_of(y) == 0:
            return 0.0
        if value_of(y) < 1:
            return math.inf  # a vertical tangent (0 < y < 1) or a pole; torch says inf too
    # an expression in y even where y == 0 (a Value exponent), so d/dy of it stays right
    return y * _pow_or_inf(x, y - 1)


def _pow_or_inf(x, y):
    """x ** y; for floats an overflow gives a signed inf (a derivative may overflow where the
    value did not: d/dx x**-1 at x = 1e-170)."""
    if type(x) is not float or type(y) is not float:
        return x ** y
    try:
        return x ** y
    except OverflowError:
        return -math.inf if x < 0 and y % 2 == 1 else math.inf


def _pow_dexp(x, out):
    """d/dy x**y = x**y * log(x), with 0 at x == 0 and nan for x < 0 (the real log is undefined)."""
    v = value_of(x)
    if v > 0:
        return out * LOG(x)
    return 0.0 if v == 0 else math.nan


def _linear_rule(v, out):
    # dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1
    n = len(v) // 2
    return (*v[n:-1], *v[:n], 1.0)


def _linear_formula(i: int, n: int) -> str:
    k = (n - 1) // 2
    if i == n - 1:
        return "1"
    return "{%d}" % (i + k) if i < k else "{%d}" % (i - k)


# -------------------------------------------------------------------------------------------------
# The table

_ADD_LOCAL, _SUB_LOCAL, _NEG_LOCAL = (1.0, 1.0), (1.0, -1.0), (-1.0,)

ADD = Op("+", operator.add, lambda x, y, out: _ADD_LOCAL, ("1", "1"), arity=2)
SUB = Op("-", operator.sub, lambda x, y, out: _SUB_LOCAL, ("1", "-1"), arity=2)
MUL = Op("*", operator.mul, lambda x, y, out: (y, x), ("{1}", "{0}"), arity=2)
DIV = Op("/", _divide, lambda x, y, out: (1 / y, -out / y), ("1/{1}", "-{out}/{1}"), arity=2)
NEG = Op("neg", operator.neg, lambda x, out: _NEG_LOCAL, ("-1",))
POW = Op("**", _power, lambda x, y, out: (_pow_dbase(x, y), _pow_dexp(x, out)),
         ("{1}*{0}**({1}-1)", "{out}*log({0})"), arity=2)
EXP = Op("exp", _exp, lambda x, out: (out,), ("exp({0}) = {out}",),
         doc="exp(x); derivative exp(x). OverflowError past x of about 709.78.")
LOG = Op("log", _log, lambda x, out: (1 / x,), ("1/{0}",),
         doc="Natural log; derivative 1/x. ValueError for x <= 0.")
RELU = Op("relu", _relu, lambda x, out: (_step(x),), ("1 if {0} > 0 else 0",),
          doc="max(0, x); derivative 1 for x > 0, else 0 (0 at the kink x = 0).")
ABS = Op("abs", abs, lambda x, out: (_sign(x),), ("sign({0})",),
         doc="|x|; derivative sign(x), 0 at x = 0.")
SIGMOID = Op("sigmoid", _sigmoid, lambda x, out: (out * (1 - out),), ("{out}*(1-{out})",),
             doc="1 / (1 + exp(-x)), computed without overflow; derivative s * (1 - s).")
TANH = Op("tanh", math.tanh, lambda x, out: (1 - out * out,), ("1-{out}**2",),
          doc="tanh(x) (finite for every x); derivative 1 - tanh(x)**2.")
SOFTPLUS = Op("softplus", _softplus, lambda x, out: (SIGMOID(x),), ("sigmoid({0})",),
              doc="log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)); "
                  "derivative sigmoid(x).")
SQRT = Op("sqrt", _sqrt, lambda x, out: (_pow_dbase(x, 0.5),), ("0.5*{0}**-0.5",),
          doc="sqrt(x); ValueError for x < 0, derivative inf at 0.")
SUM = Op("sum", lambda xs: add_in_order(xs, 0.0), lambda xs, out: (1.0,) * len(xs),
         lambda i, n: "1", arity=None)
LINEAR = Op("linear", _linear, _linear_rule, _linear_formula, arity=None)
LOGSUMEXP = Op("logsumexp", _logsumexp,
               lambda xs, out: tuple([EXP(x - out) for x in xs]),  # the softmax
               lambda i, n: "exp({%d} - {out})" % i, arity=None)

# The built-ins go through the same door as a user's op. Operators and n-ary ops are reached
# by + - * / ** and Value.sum / linear / logsumexp, so they make no method.
register(ADD, method=False, expr=False)
register(SUB, method=False, expr=False)
register(MUL, method=False, expr=False)
register(DIV, method=False, expr=False)
register(NEG, method=False, expr=False)
register(POW, method=False, expr=False)
register(EXP)
register(LOG)
register(RELU, activation=True)
register(SIGMOID, activation=True)
register(TANH, activation=True)
register(ABS)
register(SQRT)
register(SOFTPLUS)
register(SUM, method=False, expr=False)
register(LINEAR, method=False, expr=False)
register(LOGSUMEXP, method=False, expr=False)


def _take(xs: Sequence[float]) -> float:
    index, size = xs[0], len(xs) - 1
    if not (index == index and float(index).is_integer() and 0 <= index < size):
        raise ValueError(f"take: the index must be a whole number from 0 to {size - 1}, "
                         f"got {index!r}")
    return xs[1 + int(index)]


# take([i, x_0, ..., x_{n-1}]) = x_i: a lookup by an index that is itself a value (a token id
# that compiled code reads per sample). d/dx_i = 1 for the selected entry, 0 for the others and
# for the index (a step function). Not registered, so not in OPS: the diagrams and the explorable
# page have no form for it; the compiler's backends write it themselves, like sum and linear.
TAKE = Op("take", _take,
          lambda xs, out: (0.0, *[1.0 if k == value_of(xs[0]) else 0.0
                                  for k in range(len(xs) - 1)]),
          lambda i, n: "0" if i == 0 else "1 if i = %d else 0" % (i - 1), arity=None)

_POWC: dict[float, Op] = {}


def powc(n: float) -> Op:
    """The op x ** n for a constant exponent n (one Op per exponent, kept for reuse; not in the
    table: a family of ops, looked up by backends as ``"**n"`` with ``op.constant`` = n)."""
    op = _POWC.get(n)
    if op is None:
        whole = n.is_integer()  # False for nan and inf too
        shown = repr(int(n)) if whole else repr(n)
        op = Op(f"**{shown}", lambda x: _power(x, n), lambda x, out: (_pow_dbase(x, n),),
                (f"{shown}*{{0}}**{int(n) - 1 if whole else n - 1}",))
        op.constant = n
        if len(_POWC) < 1024:
            _POWC[n] = op
    return op
