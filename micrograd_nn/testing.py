"""Property-based checks of operations and gradients, and hypothesis strategies to build on.

Needs hypothesis (the ``test`` extra: ``pip install micrograd_nn[test]``); ``import
micrograd_nn`` does not import this module, so hypothesis is loaded only when it is used.

* ``check_op(op, domain)``: one op checked over a domain (its forward, its rule against central
  differences to order 2 or 3, the rule on floats against the rule on Values).
* ``gradcheck(f, inputs, order=1)``: derivatives of any function against central differences.
* strategies: ``reals`` (floats in a domain), ``expressions`` (random graphs over the table's
  ops, values reused), ``mlps`` (small networks with an input).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from . import ops as _table
from .engine import Value, enable_grad, leaf
from .gradcheck import gradcheck, numerical_grad
from .nn import ACTIVATIONS, MLP

__all__ = ["check_op", "gradcheck", "numerical_grad", "reals", "expressions", "mlps",
           "GUARDS"]


# -------------------------------------------------------------------------------------------------
# Strategies


def reals(lo: float, hi: float, away_from_zero: float = 0.0, avoid: Sequence[float] = (),
          margin: float = 1e-3) -> st.SearchStrategy:
    """Finite floats in [lo, hi]; at least ``away_from_zero`` from 0 when that is positive, and
    at least ``margin`` from each point of ``avoid`` (kinks and poles, where central differences
    mean nothing)."""
    xs = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if away_from_zero:
        xs = xs.filter(lambda x: abs(x) >= away_from_zero)
    if avoid:
        xs = xs.filter(lambda x: all(abs(x - a) >= margin for a in avoid))
    return xs


def _domain(strategy_or_bounds) -> st.SearchStrategy:
    if isinstance(strategy_or_bounds, st.SearchStrategy):
        return strategy_or_bounds
    try:
        lo, hi = strategy_or_bounds
    except (TypeError, ValueError):
        raise TypeError(f"a domain is a hypothesis strategy of floats or a (lo, hi) pair, "
                        f"got {strategy_or_bounds!r}") from None
    return reals(float(lo), float(hi))


# Each op's operands mapped smoothly into its domain, so that any Value can be an operand:
# log of softplus(x) + 0.1 is always defined, x / (y*y + 0.5) never divides by zero.
GUARDS: dict = {
    _table.LOG: lambda x: x.softplus() + 0.1,
    _table.SQRT: lambda x: x * x + 0.1,
    _table.EXP: lambda x: x.tanh() * 3,
    _table.DIV: (lambda x: x, lambda y: y * y + 0.5),
    _table.POW: (lambda x: x.sigmoid() + 0.5, lambda y: y.tanh()),
}
_KINKED = (_table.RELU, _table.ABS)   # central differences fail next to a kink
_SMOOTH = tuple(op for op in _table.OPS if op not in _KINKED and op is not _table.LINEAR)


def _guarded(op, k: int) -> Callable:
    guard = GUARDS.get(op)
    if guard is None:
        return lambda v: v
    return guard[k] if isinstance(guard, tuple) else guard


def _apply_step(op, operands: list):
    if op.arity is None:
        return op([_guarded(op, 0)(v) for v in operands])
    return op(*[_guarded(op, k)(v) for k, v in enumerate(operands)])


@st.composite
def expressions(draw, n_inputs: int, ops: Sequence | None = None,
                max_steps: int = 8) -> Callable:
    """A random graph over the table's ops, as a function of ``n_inputs`` Values.

    Each step applies an op to values picked from everything computed so far (inputs included),
    so values are reused and the graph is a DAG, not a tree. Operands pass through ``GUARDS``
    into the op's domain. ``ops`` defaults to the table's smooth ops (no kinks, so central
    differences hold); the function returns the last value (plus 0 * input 0, so it is a Value).
    """
    choices = list(ops or _SMOOTH)
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(choices))
        width = op.arity if op.arity is not None else draw(st.integers(1, 3))
        picks = draw(st.lists(st.integers(0, 10 ** 6), min_size=width, max_size=width))
        steps.append((op, picks))

    def f(*inputs):
        pool = list(inputs)
        for op, picks in steps:
            pool.append(_apply_step(op, [pool[i % len(pool)] for i in picks]))
        return pool[-1] + 0 * inputs[0]

    f.__qualname__ = "expression(" + ", ".join(op.name for op, _ in steps) + ")"
    return f


@st.composite
def mlps(draw, max_inputs: int = 3, max_width: int = 4, max_depth: int = 2,
         activations: Sequence[str] = ACTIVATIONS) -> tuple:
    """``(model, x)``: a small MLP (hidden layers of one of ``activations``, a seed) and one
    input vector for it, entries in [-2, 2]."""
    nin = draw(st.integers(1, max_inputs))
    nouts = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_depth))
    activation = draw(st.sampled_from(list(activations)))
    model = MLP(nin, nouts, activation=activation, seed=draw(st.integers(0, 2 ** 16)))
    x = draw(st.lists(reals(-2, 2), min_size=nin, max_size=nin))
    return model, x


# -------------------------------------------------------------------------------------------------
# check_op


def check_op(op: _table.Op, *domains, n_operands: int = 3, order: int = 2,
             max_examples: int | None = None, eps: float = 1e-6, atol: float = 1e-5,
             rtol: float = 1e-3) -> None:
    """Check one op by property-based testing over the domain the caller gives.

    ``domains`` are hypothesis strategies of floats or ``(lo, hi)`` pairs, one per operand (one
    for all). An n-ary op is checked with ``n_operands`` operands. For every drawn input:

    * the forward is a finite float;
    * the rule gives the same numbers on floats as on Values (a rule must use only arithmetic and
      op calls, so it builds a graph on Values);
    * the first derivatives (the rule on floats) match central differences of the forward;
    * order 2 (and 3 on request): ``grad(create_graph=True)`` of the rule matches central
      differences of the derivatives one order below. This is what catches a rule that reads
      floats (``math.cos(value_of(x))``): right first derivative, second derivative 0.

    An op declared ``float_only`` is checked to first order, its rule on floats only (it says
    it gives no graph). Raises AssertionError naming the op, the input and both numbers;
    returns None.
    """
    if not isinstance(op, _table.Op):
        raise TypeError(f"check_op needs an Op, got {type(op).__name__}")
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise ValueError(f"check_op: order must be 1, 2 or 3, got {order!r}")
    width = op.arity if op.arity is not None else n_operands
    if len(domains) not in (1, width):
        raise ValueError(f"check_op({op.name}): give one domain or {width}, got {len(domains)}")
    strategies = [_domain(d) for d in domains] * (width if len(domains) == 1 else 1)

    def call(*vs):
        return op(list(vs)) if op.arity is None else op(*vs)

    @settings(max_examples=max_examples) if max_examples else (lambda t: t)
    @given(st.tuples(*strategies))
    def check(xs):
        xs = list(xs)
        where = f"check_op({op.name}) at {xs!r}"
        _check_forward(op, call, xs, where)
        _check_rule_shape(op, call, xs, where)
        if not op.float_only:
            _check_rule_on_values(op, call, xs, where)
        for k in range(1, (1 if op.float_only else order) + 1):
            try:
                gradcheck(call, xs, eps=eps, atol=atol, rtol=rtol, order=k)
            except AssertionError as error:
                raise AssertionError(f"{where}, order {k}: {error}") from None

    check()


def _check_forward(op, call, xs: list, where: str) -> None:
    out = call(*xs)
    if type(out) is not float or not math.isfinite(out):
        raise AssertionError(f"{where}: the forward gives {out!r}, not a finite float")


def _check_rule_shape(op, call, xs: list, where: str) -> None:
    """The rule on floats returns one derivative per operand, as a tuple or list; checked
    before the engine calls it (whose unpacking error would not name the op)."""
    out = call(*xs)
    try:
        derivatives = op.rule(xs, out) if op.arity is None else op.rule(*xs, out)
    except Exception as error:
        raise AssertionError(f"{where}: the rule raises {type(error).__name__}: {error}") \
            from error
    if not isinstance(derivatives, (tuple, list)):
        raise AssertionError(f"{where}: the rule returns {type(derivatives).__name__} "
                             f"{derivatives!r:.80}, not a tuple of {len(xs)} derivative(s), "
                             f"one per operand")
    if len(derivatives) != len(xs):
        raise AssertionError(f"{where}: the rule gives {len(derivatives)} derivative(s) for "
                             f"{len(xs)} operand(s)")


def _check_rule_on_values(op, call, xs: list, where: str) -> None:
    out = call(*xs)
    on_floats = op.rule(xs, out) if op.arity is None else op.rule(*xs, out)
    leaves = [leaf(x) for x in xs]
    with enable_grad():
        node = call(*leaves)
        try:
            on_values = op.rule(leaves, node) if op.arity is None else op.rule(*leaves, node)
        except TypeError as error:
            raise AssertionError(f"{where}: the rule fails on Values ({error}); a rule may use "
                                 f"only arithmetic and op calls") from None
    if len(on_floats) != len(xs) or len(on_values) != len(xs):
        raise AssertionError(f"{where}: the rule gives {len(on_floats)} derivatives for "
                             f"{len(xs)} operands")
    for i, (f, v) in enumerate(zip(on_floats, on_values)):
        if type(f) not in (float, int):
            raise AssertionError(f"{where}: on floats the rule's derivative {i} is "
                                 f"{type(f).__name__} {f!r}, not a float")
        got = v.data if isinstance(v, Value) else v
        if not math.isclose(f, got, rel_tol=1e-12, abs_tol=1e-300) and not (f != f and got != got):
            raise AssertionError(f"{where}: derivative {i} is {f!r} from the rule on floats but "
                                 f"{got!r} on Values")
