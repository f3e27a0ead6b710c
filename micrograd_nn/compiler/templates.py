"""Reading a backend's table of templates: how an operation writes itself as code.

Each backend keeps a table beside its code (``PYTHON`` in python_backend.py, ``NUMPY`` in
numpy_backend.py), keyed by the op's name (``"**n"`` for ``powc(n)``, a function of n there):
``(forward, local derivatives)``, templates in which ``{0}``, ``{1}`` ... are the operands,
``{out}`` the result, ``{f}`` the op's own forward, ``{rule}`` its rule and ``_op_<name>``
another row's forward. This module fills in ``{f}`` and ``{rule}`` and supplies the names the
templates call. The n-ary ops the table holds (sum, linear, logsumexp) are written by the
backends, which group their operands.

An op without an entry still compiles: the python backend calls its forward and its rule on
floats (the engine's own numbers, at the cost of a call), the numpy backend runs them element by
element (see numpy_backend.py).
"""

from __future__ import annotations

import math
import re

from .. import ops as _ops
from .trace import CompileError

__all__ = ["code_for", "entry", "check_table", "python_names", "numpy_names", "may_be_infinite",
           "selected", "Binder"]


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


def entry(table: dict, op) -> tuple | None:
    """``op``'s (forward, local derivatives) in a backend's ``table``, or None without one.
    An entry is a pair of templates, or (for an op family such as ``"**n"``) a function of the
    op's ``constant`` giving the pair."""
    found = table.get(op.key)
    if callable(found):
        found = found(op.constant)
    if found is None:
        return None
    forward, locals_ = found
    return forward, tuple(locals_)


def check_table(table: dict, where: str) -> None:
    """ValueError unless every key of ``table`` names an op of the table (or ``"**n"``) and
    every entry of a fixed op has one local-derivative template per operand."""
    known = {op.name: op for op in _ops.OPS}
    for key, value in table.items():
        if key == "**n":
            continue
        if key not in known:
            raise ValueError(f"{where}: {key!r} is not the name of an op of the table "
                             f"(micrograd_nn.ops.OPS)")
        op = known[key]
        if op.arity is not None and not callable(value) and len(value[1]) != op.arity:
            raise ValueError(f"{where}[{key!r}]: {op.arity} operand(s) need {op.arity} "
                             f"local-derivative templates, got {len(value[1])}")


def code_for(op, table: dict, binder: Binder | None = None) -> tuple[str, tuple]:
    """(forward template, local-derivative templates) of ``op`` from a backend's ``table``,
    with ``{f}`` and ``{rule}`` replaced by names the binder will supply; without an entry,
    calls of the op's own forward and rule."""
    found = entry(table, op)
    if found is None:
        n = op.arity
        operands = ", ".join("{%d}" % k for k in range(n))
        found = (f"{{f}}({operands})", tuple(f"{{rule}}({operands}, {{out}})[{k}]"
                                            for k in range(n)))
    forward, locals_ = found
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
