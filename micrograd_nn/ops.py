"""The table of operations: one row per op, holding everything about it.

A row is an `Op`: its name, its forward (floats to a float, raising its domain errors), its
rule of local derivatives, the same derivatives as formula text for the diagrams, and flags
the rest of the package reads (the ``Value`` method it becomes, whether it is a neuron
activation, whether ``graph --expr`` may call it). Backward, ``grad(create_graph=True)``, the
edge labels, ``explain`` and ``micrograd_nn.testing.check_op`` all read the row; none keeps its
own copy of the calculus, and no other module lists the ops by hand.

How a row is written (``sin``, not built in, as the example)::

    SIN = Op("sin", math.sin,
             lambda x, out: (COS(x),),      # d sin(x)/dx = cos(x): call the cos op, not math.cos
             ("cos({0})",), method="sin", expr=True)
    COS = Op("cos", math.cos, lambda x, out: (-SIN(x),), ("-sin({0})",), method="cos")

* ``forward(x, ...)`` takes floats and returns a float. Outside the domain it raises ValueError
  (or ZeroDivisionError, OverflowError) naming the op and the operand. NaN in gives NaN out.
* ``rule(x, ..., out)`` returns the tuple d out / d operand_i. It is called with floats at
  forward time (the numbers are stored on the node) and with Values by
  ``grad(create_graph=True)`` (the result is a graph, differentiated again for higher orders).
  So it may use only arithmetic and op calls: an op called on floats is its forward, on a
  Value it records a node. A rule written with ``math.cos`` gives a right first derivative and
  a silently wrong second one; ``check_op`` catches that. A step or a convention at a point
  (relu, abs, pow at 0) reads the number with ``value_of`` and returns a constant there.
* ``formulas`` gives the same derivatives as text templates: ``{0}``, ``{1}`` stand for the
  operands, ``{out}`` for the result.
* An op takes one operand or two (``arity=1`` or ``2``); an n-ary op (``arity=None``) takes
  its operands as one sequence: ``forward(xs)``, ``rule(xs, out)``, ``formulas(i, n)`` a
  function.
* ``code`` maps a backend name to a forward expression template (``{0}``, ``{1}`` ... for the
  operands), for code generation; a backend lists only the ops it can express. ``"js"`` is
  the JavaScript of the explorable page (``viz.explore_html``), with ``"js_local"`` beside it:
  the local derivatives as a JavaScript array, ``{out}`` standing for the result, ``{xs}`` for
  the operand array of an n-ary op, ``M.*`` for the helpers the page defines (the engine's
  conventions: ``M.sigmoid``, ``M.powDbase``...). ``"python"`` and ``"numpy"`` are the code of
  ``micrograd_nn.compile``, with ``"python_local"`` / ``"numpy_local"`` beside them: a tuple
  of local-derivative templates, ``{out}`` the result, ``{f}`` the op's own forward, ``{rule}``
  its rule (on floats), ``_op_<name>`` another row's forward; without a "python" entry
  ``compile`` calls ``{f}`` and ``{rule}``, so a user's op compiles too. The n-ary ops' python
  and numpy are written by the backends, which group their operands.

Adding an op is one row here (and one row in tests/test_ops.py): its ``method`` becomes a
``Value`` method, ``expr=True`` admits it to ``graph --expr``, ``activation=True`` makes it a
neuron activation in ``nn`` and the diagrams. A user-defined op needs no row: ``Op(...)`` anywhere,
then call it on Values.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Callable, Sequence

__all__ = ["Op", "OPS", "value_of", "ADD", "SUB", "MUL", "DIV", "NEG", "POW", "EXP", "LOG",
           "RELU", "ABS", "SIGMOID", "TANH", "SOFTPLUS", "SQRT", "SUM", "LINEAR", "LOGSUMEXP",
           "TAKE", "powc"]


class Op:
    """One operation: name, forward, rule of local derivatives, formula text and flags.

    ``op(*operands)`` applies it: with a Value among the operands the result is a Value recorded
    in the graph (a leaf under ``no_grad()``); with plain numbers only it is the forward, a
    float, which is what lets a rule call ops on floats and Values alike. An n-ary op is called
    with one sequence, ``op(values)``.
    Another number-like type takes over the call by defining ``__apply_op__(op, operands)``
    (``Value`` does; a symbolic tracer can too).
    """

    __slots__ = ("name", "forward", "rule", "formulas", "arity", "method", "activation", "expr",
                 "code", "doc")

    def __init__(self, name: str, forward: Callable, rule: Callable,
                 formulas: Sequence[str] | Callable = (), *, arity: int | None = 1,
                 method: str | None = None, activation: bool = False, expr: bool = False,
                 code: dict | None = None, doc: str = ""):
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
        self.method = method
        self.activation = activation
        self.expr = expr
        self.code = dict(code or {})
        self.doc = doc

    @property
    def local(self) -> Callable:
        """The rule (the name the diagrams use: local derivatives)."""
        return self.rule

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


def _linear(xs: Sequence[float]) -> float:
    # operands w_1..w_n, x_1..x_n, b
    n = len(xs) // 2
    return sum(map(operator.mul, xs[:n], xs[n:-1]), xs[-1])


def _logsumexp(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("logsumexp needs at least one value")
    if any(x != x for x in xs):
        return math.nan   # NaN anywhere gives NaN, whatever the order (as in PyTorch)
    m = max(xs)
    if math.isinf(m):
        return m
    return m + math.log(sum([math.exp(x - m) for x in xs]))


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

ADD = Op("+", operator.add, lambda x, y, out: _ADD_LOCAL, ("1", "1"), arity=2,
         code={"js": "{0} + {1}", "js_local": "[1, 1]",
               "python": "{0} + {1}",
               "python_local": ("1.0", "1.0"),
               "numpy": "{0} + {1}",
               "numpy_local": ("1.0", "1.0")})
SUB = Op("-", operator.sub, lambda x, y, out: _SUB_LOCAL, ("1", "-1"), arity=2,
         code={"js": "{0} - {1}", "js_local": "[1, -1]",
               "python": "{0} - {1}",
               "python_local": ("1.0", "-1.0"),
               "numpy": "{0} - {1}",
               "numpy_local": ("1.0", "-1.0")})
MUL = Op("*", operator.mul, lambda x, y, out: (y, x), ("{1}", "{0}"), arity=2,
         code={"js": "{0} * {1}", "js_local": "[{1}, {0}]",
               "python": "{0} * {1}",
               "python_local": ("{1}", "{0}"),
               "numpy": "{0} * {1}",
               "numpy_local": ("{1}", "{0}")})
DIV = Op("/", _divide, lambda x, y, out: (1 / y, -out / y), ("1/{1}", "-{out}/{1}"), arity=2,
         code={"js": "{0} / {1}", "js_local": "[1 / {1}, -{out} / {1}]",
               "python": "{0} / {1}",
               "python_local": ("1 / {1}", "-{out} / {1}"),
               "numpy": "{0} / {1}",
               "numpy_local": ("1 / {1}", "-{out} / {1}")})
NEG = Op("neg", operator.neg, lambda x, out: _NEG_LOCAL, ("-1",),
         code={"js": "-{0}", "js_local": "[-1]",
               "python": "-{0}",
               "python_local": ("-1.0",),
               "numpy": "-{0}",
               "numpy_local": ("-1.0",)})
POW = Op("**", _power, lambda x, y, out: (_pow_dbase(x, y), _pow_dexp(x, out)),
         ("{1}*{0}**({1}-1)", "{out}*log({0})"), arity=2,
         code={"js": "Math.pow({0}, {1})",
               "js_local": "[M.powDbase({0}, {1}), M.powDexp({0}, {out})]",
               "python": "{f}({0}, {1})",
               "python_local": ("{rule}({0}, {1}, {out})[0]", "{rule}({0}, {1}, {out})[1]"),
               "numpy": "{0} ** {1}",
               "numpy_local": ("_np_pow_dbase({0}, {1})", "_np_pow_dexp({0}, {out})")})
EXP = Op("exp", _exp, lambda x, out: (out,), ("exp({0}) = {out}",), method="exp", expr=True,
         doc="exp(x); derivative exp(x). OverflowError past x of about 709.78.",
         code={"js": "Math.exp({0})", "js_local": "[{out}]",
               "python": "{f}({0})",
               "python_local": ("{out}",),
               "numpy": "_np.exp({0})",
               "numpy_local": ("{out}",)})
LOG = Op("log", _log, lambda x, out: (1 / x,), ("1/{0}",), method="log", expr=True,
         doc="Natural log; derivative 1/x. ValueError for x <= 0.",
         code={"js": "Math.log({0})", "js_local": "[1 / {0}]",
               "python": "{f}({0})",
               "python_local": ("1 / {0}",),
               "numpy": "_np.log({0})",
               "numpy_local": ("1 / {0}",)})
RELU = Op("relu", _relu, lambda x, out: (_step(x),), ("1 if {0} > 0 else 0",), method="relu",
          activation=True, expr=True,
          doc="max(0, x); derivative 1 for x > 0, else 0 (0 at the kink x = 0).",
          code={"js": "{0} <= 0 ? 0 : {0}", "js_local": "[{0} <= 0 ? 0 : 1]",
                # 0.0, not 0: a float compared with a float takes CPython's fast path
                "python": "(0.0 if {0} <= 0.0 else {0})",
                "python_local": ("(0.0 if {0} <= 0.0 else 1.0)",),
                "numpy": "_np.maximum({0}, 0.0)",
                # sign(relu(x)) is 1 or 0 like the step; a product with it is cheaper than
                # np.where (a nan or 0 * inf it makes sends the batch to the engine)
                "numpy_local": ("_np.sign({out})",)})
ABS = Op("abs", abs, lambda x, out: (_sign(x),), ("sign({0})",), method="abs", expr=True,
         doc="|x|; derivative sign(x), 0 at x = 0.",
         code={"js": "Math.abs({0})", "js_local": "[{0} > 0 ? 1 : ({0} < 0 ? -1 : 0)]",
               "python": "{f}({0})",
               "python_local": ("(1.0 if {0} > 0.0 else (-1.0 if {0} < 0.0 else 0.0))",),
               "numpy": "_np.abs({0})",
               "numpy_local": ("_np.where({0} > 0, 1.0, _np.where({0} < 0, -1.0, 0.0))",)})
SIGMOID = Op("sigmoid", _sigmoid, lambda x, out: (out * (1 - out),), ("{out}*(1-{out})",),
             method="sigmoid", activation=True, expr=True,
             doc="1 / (1 + exp(-x)), computed without overflow; derivative s * (1 - s).",
             code={"js": "M.sigmoid({0})", "js_local": "[{out} * (1 - {out})]",
                   "python": "{f}({0})",
                   "python_local": ("{out} * (1 - {out})",),
                   "numpy": "_np_sigmoid({0})",
                   "numpy_local": ("{out} * (1 - {out})",)})
TANH = Op("tanh", math.tanh, lambda x, out: (1 - out * out,), ("1-{out}**2",), method="tanh",
          activation=True, expr=True,
          doc="tanh(x) (finite for every x); derivative 1 - tanh(x)**2.",
          code={"js": "Math.tanh({0})", "js_local": "[1 - {out} * {out}]",
                "python": "{f}({0})",
                "python_local": ("1 - {out} * {out}",),
                "numpy": "_np.tanh({0})",
                "numpy_local": ("1 - {out} * {out}",)})
SOFTPLUS = Op("softplus", _softplus, lambda x, out: (SIGMOID(x),), ("sigmoid({0})",),
              method="softplus", expr=True,
              doc="log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)); "
                  "derivative sigmoid(x).",
              code={"js": "Math.max({0}, 0) + Math.log1p(Math.exp(-Math.abs({0})))",
                    "js_local": "[M.sigmoid({0})]",
                    "python": "{f}({0})",
                    "python_local": ("_op_sigmoid({0})",),
                    "numpy": "_np.maximum({0}, 0.0) + _np.log1p(_np.exp(-_np.abs({0})))",
                    "numpy_local": ("_np_sigmoid({0})",)})
SQRT = Op("sqrt", _sqrt, lambda x, out: (_pow_dbase(x, 0.5),), ("0.5*{0}**-0.5",),
          method="sqrt", expr=True, doc="sqrt(x); ValueError for x < 0, derivative inf at 0.",
          code={"js": "Math.sqrt({0})", "js_local": "[M.powDbase({0}, 0.5)]",
                "python": "{f}({0})",
                "python_local": ("{rule}({0}, {out})[0]",),
                "numpy": "_np.sqrt({0})",
                "numpy_local": ("_np_pow_dbase({0}, 0.5)",)})
SUM = Op("sum", lambda xs: sum(xs, 0.0), lambda xs, out: (1.0,) * len(xs),
         lambda i, n: "1", arity=None,
         code={"js": "M.sum({xs})", "js_local": "{xs}.map(function () { return 1; })"})
LINEAR = Op("linear", _linear, _linear_rule, _linear_formula, arity=None,
            code={"js": "M.linear({xs})", "js_local": "M.linearLocal({xs})"})
LOGSUMEXP = Op("logsumexp", _logsumexp,
               lambda xs, out: tuple([EXP(x - out) for x in xs]),  # the softmax
               lambda i, n: "exp({%d} - {out})" % i, arity=None,
               code={"js": "M.logsumexp({xs})",
                     "js_local": "{xs}.map(function (x) { return Math.exp(x - {out}); })"})



def _take(xs: Sequence[float]) -> float:
    index, size = xs[0], len(xs) - 1
    if not (index == index and float(index).is_integer() and 0 <= index < size):
        raise ValueError(f"take: the index must be a whole number from 0 to {size - 1}, "
                         f"got {index!r}")
    return xs[1 + int(index)]


# take([i, x_0, ..., x_{n-1}]) = x_i: a lookup by an index that is itself a value (a token id
# that compiled code reads per sample). d/dx_i = 1 for the selected entry, 0 for the others and
# for the index (a step function). Not in OPS: it has no code for diagrams or the explorable
# page; the compiler's backends write it themselves, like sum and linear.
TAKE = Op("take", _take,
          lambda xs, out: (0.0, *[1.0 if k == value_of(xs[0]) else 0.0
                                  for k in range(len(xs) - 1)]),
          lambda i, n: "0" if i == 0 else "1 if i = %d else 0" % (i - 1), arity=None)

OPS: tuple[Op, ...] = (ADD, SUB, MUL, DIV, NEG, POW, EXP, LOG, RELU, SIGMOID, TANH, ABS, SQRT,
                       SOFTPLUS, SUM, LINEAR, LOGSUMEXP)

_POWC: dict[float, Op] = {}


def powc(n: float) -> Op:
    """The op x ** n for a constant exponent n (one Op per exponent, kept for reuse)."""
    op = _POWC.get(n)
    if op is None:
        whole = n.is_integer()  # False for nan and inf too
        shown = repr(int(n)) if whole else repr(n)
        c = _js_number(n)
        op = Op(f"**{shown}", lambda x: _power(x, n), lambda x, out: (_pow_dbase(x, n),),
                (f"{shown}*{{0}}**{int(n) - 1 if whole else n - 1}",),
                code={"js": f"Math.pow({{0}}, {c})", "js_local": f"[M.powDbase({{0}}, {c})]",
                      **_powc_code(n)})
        if len(_POWC) < 1024:
            _POWC[n] = op
    return op


def _powc_code(n: float) -> dict:
    """The python and numpy code of x ** n (micrograd_nn.compile)."""
    k = repr(n) if math.isfinite(n) else f"float('{n}')"
    k = k if n >= 0 else f"({k})"
    if n == 2.0:  # the rule's 2.0 * x ** 1.0, exactly, without the calls
        python = {"python": "{0} ** 2.0", "python_local": ("2.0 * {0}",)}
    else:
        python = {"python": "{f}({0})", "python_local": ("{rule}({0}, {out})[0]",)}
    return {**python, "numpy": f"{{0}} ** {k}", "numpy_local": (f"_np_pow_dbase({{0}}, {k})",)}


def _js_number(x: float) -> str:
    """x as a JavaScript number literal (NaN and the infinities have names there)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)
