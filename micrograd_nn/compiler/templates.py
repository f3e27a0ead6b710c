"""Reading the op table's code: how an operation writes itself for a backend.

Each row of ``micrograd_nn.ops`` may carry ``code[backend]`` (the forward) and
``code[backend + "_local"]`` (the local derivatives, one per operand): templates in which ``{0}``, ``{1}`` ... are the operands, ``{out}`` the result, ``{f}`` the op's
own forward, ``{rule}`` its rule and ``_op_<name>`` another row's forward. This module fills in
``{f}`` and ``{rule}`` and supplies the names the templates call. The n-ary rows (sum, linear,
logsumexp) are written by the backends, which group their operands.

An op without "python" code still compiles with the python backend: its forward and its rule
are called on floats (the engine's own numbers, at the cost of a call). An op without "numpy"
code cannot be vectorised: compiling it with the numpy backend raises CompileError naming it.
"""

from __future__ import annotations

import math
import re

from .. import ops as _ops
from .trace import CompileError

__all__ = ["code_for", "python_names", "numpy_names", "may_be_infinite", "selected", "Binder"]


class Binder:
    """Names for the Python objects generated code calls (an op's forward or rule)."""

    def __init__(self):
        self.namespace: dict = {}
        self._names: dict = {}

    def name(self, obj, hint: str) -> str:
        """``_hint`` (``_hint_2`` if taken by another object), the same name for the same object."""
        key = id(obj)
        if key not in self._names:
            name, k = f"_{hint}", 1
            while name in self.namespace:
                k += 1
                name = f"_{hint}_{k}"
            self._names[key] = name
            self.namespace[name] = obj
        return self._names[key]


def _hint(op) -> str:
    """An identifier for an op's name: "sigmoid", "pow" for "**", "pow3" for "**3"."""
    name = op.name
    if name.startswith("**"):
        name = "pow" + name[2:]
    return re.sub(r"\W+", "_", name).strip("_") or "op"


def code_for(op, backend: str, binder: Binder | None = None) -> tuple[str, tuple]:
    """(forward template, local-derivative templates) of ``op`` for ``backend``, with ``{f}``
    and ``{rule}`` replaced by names the binder will supply."""
    forward, locals_ = op.code.get(backend), op.code.get(backend + "_local")
    entry = None if forward is None or locals_ is None else (forward, tuple(locals_))
    if entry is None:
        if backend != "python":
            raise CompileError(
                f"the operation {op.name!r} has no {backend!r} code in its row of the op table "
                f"(Op.code), so the {backend} backend cannot vectorise it; compile with "
                "backend='python', which calls the op's own forward and rule")
        n = op.arity
        operands = ", ".join("{%d}" % k for k in range(n))
        entry = (f"{{f}}({operands})", tuple(f"{{rule}}({operands}, {{out}})[{k}]"
                                            for k in range(n)))
    forward, locals_ = entry
    if binder is not None:
        f, rule = binder.name(op.forward, _hint(op)), binder.name(op.rule, "d" + _hint(op))
        forward = forward.replace("{f}", f).replace("{rule}", rule)
        locals_ = tuple(t.replace("{f}", f).replace("{rule}", rule) for t in locals_)
    return forward, locals_


_PY_SELECT = re.compile(r"^\((-?[01]\.0) if (.+) else (-?[01]\.0)\)$")
_NP_SELECT = re.compile(r"^_np\.where\((.+), (-?[01]\.0), (-?[01]\.0)\)$")


def selected(local: str, g: str) -> str | None:
    """``local * g`` without the product when the local derivative picks one of 0, 1, -1 (a
    relu, an abs): ``(0.0 if z <= 0.0 else dh)``. The same numbers, except that 0 times an
    infinite gradient is 0 here, the engine's rule. None for any other derivative."""
    pick = {"0.0": "0.0", "1.0": g, "-1.0": f"-{g}"}
    m = _PY_SELECT.match(local)
    if m:
        return f"({pick[m.group(1)]} if {m.group(2)} else {pick[m.group(3)]})"
    m = _NP_SELECT.match(local)
    if m:
        return f"_np.where({m.group(1)}, {pick[m.group(2)]}, {pick[m.group(3)]})"
    return None


def may_be_infinite(templates) -> bool:
    """Whether local derivatives written so can be infinite or nan for finite operands (a
    division, a power, a call of a rule), so that the zero-gradient rule must be applied."""
    return any("/" in t or "pow" in t or "{rule}" in t or "_d" in t for t in templates)


def python_names() -> dict:
    """The names every piece of generated Python may call: ``_op_<name>`` for each row."""
    names = {f"_op_{op.name}": op.forward for op in _ops.OPS if op.name.isidentifier()}
    names.update(_INF=math.inf, _NAN=math.nan)
    return names


def numpy_names() -> dict:
    """The names the numpy code calls: numpy itself and the engine's conventions as arrays
    (numpy is imported only when that backend is used)."""
    import numpy as np

    def sigmoid(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def pow_dbase(x, y):
        # y * x ** (y - 1), with the engine's conventions at x = 0: 0 for y == 0, inf for y < 1
        d = y * x ** (y - 1.0)
        d = np.where(x == 0, np.where(y == 0, 0.0, np.where(y < 1, np.inf, d)), d)
        return np.where(y == 0, 0.0, d)

    def pow_dexp(x, out):
        return np.where(x > 0, out * np.log(np.where(x > 0, x, 1.0)),
                        np.where(x == 0, 0.0, np.nan))

    return {"_np": np, "_np_sigmoid": sigmoid, "_np_pow_dbase": pow_dbase,
            "_np_pow_dexp": pow_dexp, "_INF": math.inf, "_NAN": math.nan}
