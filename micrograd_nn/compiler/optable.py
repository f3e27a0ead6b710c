"""How each operation of the engine writes itself as code, per backend.

For each op: a forward template and one template per local derivative d out / d operand, in
which ``{0}``, ``{1}``, ... stand for the operands and ``{out}`` for the result. The "python"
templates call the engine's own checked functions where it has them (``_pow``, ``_exp``, ...),
so the compiled code computes what the engine computes, number for number, and raises where it
raises. The n-ary ops (sum, linear, logsumexp) are written by the backends themselves.
"""

from __future__ import annotations

import math

from .. import engine as _engine
from .names import literal
from .trace import CompileError

__all__ = ["code_for", "PYTHON_HELPERS", "NUMPY_HELPERS", "NARY", "power_exponent"]

NARY = ("sum", "linear", "logsumexp")

_PYTHON = {
    "+": ("{0} + {1}", ("1.0", "1.0")),
    "-": ("{0} - {1}", ("1.0", "-1.0")),
    "*": ("{0} * {1}", ("{1}", "{0}")),
    "/": ("{0} / {1}", ("1 / {1}", "-{out} / {1}")),
    "neg": ("-{0}", ("-1.0",)),
    "**": ("_pow({0}, {1})", ("_pow_dbase({0}, {1})", "_pow_dexp({0}, {out})")),
    "exp": ("_exp({0})", ("{out}",)),
    "log": ("_log({0})", ("1 / {0}",)),
    "relu": ("(0.0 if {0} <= 0 else {0})", ("(1.0 if {0} > 0 else 0.0)",)),
    "abs": ("_abs({0})", ("_sign({0})",)),
    "sigmoid": ("_sigmoid({0})", ("{out} * (1 - {out})",)),
    "tanh": ("_tanh({0})", ("1 - {out} * {out}",)),
    "softplus": ("_softplus({0})", ("_sigmoid({0})",)),
}

_NUMPY = {
    "+": ("{0} + {1}", ("1.0", "1.0")),
    "-": ("{0} - {1}", ("1.0", "-1.0")),
    "*": ("{0} * {1}", ("{1}", "{0}")),
    "/": ("{0} / {1}", ("1 / {1}", "-{out} / {1}")),
    "neg": ("-{0}", ("-1.0",)),
    "**": ("{0} ** {1}", ("_np_pow_dbase({0}, {1})", "_np_pow_dexp({0}, {out})")),
    "exp": ("_np.exp({0})", ("{out}",)),
    "log": ("_np.log({0})", ("1 / {0}",)),
    "relu": ("_np.maximum({0}, 0.0)", ("({0} > 0)",)),
    "abs": ("_np.abs({0})", ("_np.sign({0})",)),
    "sigmoid": ("_np_sigmoid({0})", ("{out} * (1 - {out})",)),
    "tanh": ("_np.tanh({0})", ("1 - {out} * {out}",)),
    "softplus": ("_np.maximum({0}, 0.0) + _np.log1p(_np.exp(-_np.abs({0})))",
                 ("_np_sigmoid({0})",)),
}

# ops whose local derivatives can be infinite or nan for finite operands (0 ** -1, a pole): the
# numpy backend applies the zero-gradient rule to these explicitly (see numpy_backend)
MAY_BE_INFINITE = frozenset({"/", "**", "log"})


def power_exponent(name: str) -> float | None:
    """n for the op ``x ** n`` with a constant exponent (named "**2", "**0.5"), else None."""
    if name.startswith("**") and len(name) > 2:
        return float(name[2:])
    return None


def code_for(op, backend: str) -> tuple[str, tuple]:
    """(forward template, local-derivative templates) of ``op`` for ``backend``.

    Raises CompileError naming the op when the backend has no code for it.
    """
    table = _PYTHON if backend == "python" else _NUMPY
    entry = table.get(op.name)
    if entry is not None:
        return entry
    n = power_exponent(op.name)
    if n is not None:
        return _power_code(n, backend)
    raise CompileError(
        f"the operation {op.name!r} has no {backend!r} code, so it cannot be compiled with the "
        f"{backend} backend; run the function with the engine, or give the op its code")


def _power_code(n: float, backend: str) -> tuple[str, tuple]:
    k = literal(n)
    if backend == "numpy":
        return (f"{{0}} ** {k}", (f"_np_pow_dbase({{0}}, {k})",))
    if n == 2.0:  # the engine's x ** 2.0 and 2.0 * x ** 1.0, without the calls
        return ("{0} ** 2.0", ("2.0 * {0}",))
    return (f"_pow({{0}}, {k})", (f"_pow_dbase({{0}}, {k})",))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sign(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _logsumexp(*xs: float) -> float:
    m = max(xs)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(x - m) for x in xs))


PYTHON_HELPERS = {
    "_pow": _engine._checked_pow, "_pow_dbase": _engine._pow_dbase,
    "_pow_dexp": _engine._pow_dexp, "_exp": _engine._checked_exp, "_log": _engine._checked_log,
    "_sigmoid": _engine._stable_sigmoid, "_tanh": math.tanh, "_softplus": _softplus,
    "_sign": _sign, "_abs": abs, "_logsumexp": _logsumexp, "_INF": math.inf, "_NAN": math.nan,
}


def numpy_helpers() -> dict:
    """The names the numpy code calls (numpy is imported only when that backend is used)."""
    import numpy as np

    def sigmoid(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def pow_dbase(x, y):
        # y * x ** (y - 1), with the engine's conventions at x = 0: 0 for y == 0, inf for y < 1
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d = y * x ** (y - 1.0)
        d = np.where(x == 0, np.where(y == 0, 0.0, np.where(y < 1, np.inf, d)), d)
        return np.where(y == 0, 0.0, d)

    def pow_dexp(x, out):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, out * np.log(np.where(x > 0, x, 1.0)),
                            np.where(x == 0, 0.0, np.nan))

    return {"_np": np, "_np_sigmoid": sigmoid, "_np_pow_dbase": pow_dbase,
            "_np_pow_dexp": pow_dexp, "_INF": math.inf, "_NAN": math.nan}


NUMPY_HELPERS = numpy_helpers
