"""Checking gradients against central differences, to any order."""

from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence

from .engine import Value, enable_grad, grad, leaf, no_grad, to_float

__all__ = ["gradcheck", "numerical_grad"]


def _evaluate(f: Callable, xs: Sequence[float]) -> float:
    with no_grad():
        out = f(*[leaf(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, got {type(out).__name__}")
    return out.data


def _floats(inputs: Sequence, what: str) -> list[float]:
    return [to_float(x.data if isinstance(x, Value) else x, f"{what} {i}")
            for i, x in enumerate(inputs)]


def numerical_grad(f: Callable, inputs: Sequence, eps: float = 1e-6) -> list[float]:
    """Central differences (f(x + eps) - f(x - eps)) / (2 eps), one input at a time, in float64."""
    if not (to_float(eps, "eps") > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    xs = _floats(inputs, "input")
    grads = []
    for i, x in enumerate(xs):
        up = xs[:i] + [x + eps] + xs[i + 1:]
        down = xs[:i] + [x - eps] + xs[i + 1:]
        grads.append((_evaluate(f, up) - _evaluate(f, down)) / (2 * eps))
    return grads


def derivatives(f: Callable, inputs: Sequence, order: int) -> dict:
    """Every partial derivative of ``f`` of the given order at ``inputs``, as floats.

    ``{(i, j): d2 f / dx_i dx_j, ...}`` for order 2 (``{(): f}`` for order 0): each order is
    ``grad(..., create_graph=True)`` of the one below, the last one without a graph.
    """
    leaves = [leaf(x) for x in _floats(inputs, "input")]
    with enable_grad():
        out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(f"f must return a Value, got {type(out).__name__}")
        level: dict = {(): out}
        for k in range(order):
            below = {}
            for index, v in level.items():
                gs = (grad(v, leaves, create_graph=k < order - 1) if isinstance(v, Value)
                      else [0.0] * len(leaves))
                for j, g in enumerate(gs):
                    below[index + (j,)] = g
            level = below
    return {index: (v.data if isinstance(v, Value) else float(v)) for index, v in level.items()}


def gradcheck(f: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, order: int = 1) -> bool:
    """Compare the derivatives of the scalar function ``f(*inputs)`` with central differences.

    ``order=1`` checks ``backward()`` against differences of ``f``; ``order=2`` checks the
    second derivatives from ``grad(..., create_graph=True)`` against differences of the first
    derivatives, and so on. ``inputs`` are numbers or Values (only their data is used; fresh
    leaves are made, so no ``.grad`` of yours is touched); it records even inside ``no_grad()``.
    A derivative passes when ``|analytic - numerical| <= atol + rtol * |numerical|`` (PyTorch's
    gradcheck tolerances by default). Returns True, or raises AssertionError naming the
    input, both values and the difference.
    """
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not to_float(tol, name) >= 0:
            raise ValueError(f"gradcheck: {name} must be a number >= 0, got {tol!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"gradcheck: order must be an int >= 1, got {order!r}")
    xs = _floats(inputs, "gradcheck input")
    if order == 1:
        leaves = [leaf(x) for x in xs]
        with enable_grad():
            out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        out.backward()
        numerical = numerical_grad(f, xs, eps)
        for i, (x, num) in enumerate(zip(leaves, numerical)):
            _compare(x.grad, num, atol, rtol, f"input {i} (x = {xs[i]!r}): backward() gives")
        return True
    analytic = derivatives(f, xs, order)
    for j in range(len(xs)):
        up = derivatives(f, xs[:j] + [xs[j] + eps] + xs[j + 1:], order - 1)
        down = derivatives(f, xs[:j] + [xs[j] - eps] + xs[j + 1:], order - 1)
        for index in itertools.product(range(len(xs)), repeat=order - 1):
            num = (up[index] - down[index]) / (2 * eps)
            name = f"d^{order} f / " + " ".join(f"dx{i}" for i in index + (j,))
            _compare(analytic[index + (j,)], num, atol, rtol,
                     f"input {j} (inputs = {xs!r}), {name}: create_graph gives")
    return True


def _compare(analytic: float, numerical: float, atol: float, rtol: float, what: str) -> None:
    diff = abs(analytic - numerical)
    if not diff <= atol + rtol * abs(numerical):
        raise AssertionError(
            f"gradcheck failed for {what} {analytic!r}, central differences give {numerical!r}; "
            f"difference {diff:.3g} exceeds atol + rtol*|numerical| = "
            f"{atol + rtol * abs(numerical):.3g}")
