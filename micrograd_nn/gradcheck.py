"""Checking gradients against central differences."""

from __future__ import annotations

import math
from typing import Callable, Sequence

from .engine import Value, _leaf, _to_float, no_grad

__all__ = ["gradcheck", "numerical_grad"]


def _evaluate(f: Callable, xs: Sequence[float]) -> float:
    with no_grad():
        out = f(*[_leaf(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, got {type(out).__name__}")
    return out.data


def numerical_grad(f: Callable, inputs: Sequence, eps: float = 1e-6) -> list[float]:
    """Central differences (f(x + eps) - f(x - eps)) / (2 eps), one input at a time, in float64."""
    if not (_to_float(eps, "eps") > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    xs = [_to_float(x.data if isinstance(x, Value) else x, f"input {i}")
          for i, x in enumerate(inputs)]
    grads = []
    for i, x in enumerate(xs):
        up = xs[:i] + [x + eps] + xs[i + 1:]
        down = xs[:i] + [x - eps] + xs[i + 1:]
        grads.append((_evaluate(f, up) - _evaluate(f, down)) / (2 * eps))
    return grads


def gradcheck(f: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Compare ``backward()`` of the scalar function ``f(*inputs)`` with central differences.

    ``inputs`` are numbers or Values (only their data is used; fresh leaves are made, so no
    ``.grad`` of yours is touched). Input i passes when
    ``|analytic - numerical| <= atol + rtol * |numerical|`` (PyTorch's gradcheck tolerances by
    default). Returns True, or raises AssertionError naming the input, both values and the
    difference.
    """
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not _to_float(tol, name) >= 0:
            raise ValueError(f"gradcheck: {name} must be a number >= 0, got {tol!r}")
    xs = [_to_float(x.data if isinstance(x, Value) else x, f"gradcheck input {i}")
          for i, x in enumerate(inputs)]
    leaves = [_leaf(x) for x in xs]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
    out.backward()
    numerical = numerical_grad(f, xs, eps)
    for i, (leaf, num) in enumerate(zip(leaves, numerical)):
        diff = abs(leaf.grad - num)
        if not diff <= atol + rtol * abs(num):
            raise AssertionError(
                f"gradcheck failed for input {i} (x = {xs[i]!r}): backward() gives {leaf.grad!r}, "
                f"central differences give {num!r}; difference {diff:.3g} exceeds "
                f"atol + rtol*|numerical| = {atol + rtol * abs(num):.3g}"
            )
    return True
