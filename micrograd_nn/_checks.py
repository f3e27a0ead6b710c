"""Argument checks shared by the modules, so that every function answers bad input alike.

One rule everywhere: a value of the wrong type raises TypeError, a value of the right type
outside the accepted range raises ValueError; both messages say what was given and what is
accepted. Integers are ``numbers.Integral`` (Python and numpy ints; bools and floats such as
3.0 are refused), numbers are ``numbers.Real`` (bools refused).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .engine import Value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_float(value: Any, name: str, what: str) -> float:
    """float(value), with an int too large for a float refused as a ValueError that says so."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be {what}, got an int too large for a float "
                         f"({int(value).bit_length()} bits)") from None


def positive_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int >= ``minimum`` (default 1), and <= ``maximum`` when given: a count,
    a size, a number of steps."""
    if maximum is not None:
        what = f"an int in [{minimum}, {maximum}]"
    else:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if not _is_int(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}: {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {what}, got {int(value)}")
    return int(value)


def optional_text(value: Any, name: str) -> str | None:
    """``value`` as a str or None: a title, a caption."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, got {type(value).__name__}: "
                        f"{value!r:.80}")
    return value


def nonnegative(value: Any, name: str, below: float | None = None) -> float:
    """``value`` as a finite float >= 0 (and < ``below`` when given): a rate, a weight, noise."""
    what = "a finite number >= 0" if below is None else f"a number in [0, {below:g})"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}: {value!r}")
    x = _as_float(value, name, what)
    if not math.isfinite(x) or x < 0 or (below is not None and x >= below):
        raise ValueError(f"{name} must be {what}, got {x!r}")
    return x


def positive_number(value: Any, name: str) -> float:
    """``value`` as a finite float > 0: a learning rate that must move the parameters."""
    what = "a finite number > 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}: {value!r}")
    x = _as_float(value, name, what)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be {what}, got {x!r}")
    return x


def seed(value: Any, name: str = "seed",
         generator: bool = True) -> int | np.random.Generator | None:
    """A random seed: an int >= 0, None (fresh entropy) or, when ``generator`` is true, a numpy
    Generator (returned as is)."""
    if value is None or (generator and isinstance(value, np.random.Generator)):
        return value
    what = "an int >= 0, a numpy Generator or None" if generator else "an int >= 0 or None"
    if not _is_int(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}: {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be {what}, got {int(value)}")
    return int(value)


def value_list(items: Any, name: str, hint: str = "") -> list:
    """``items`` as a list of Values (``model.parameters()`` and the like).

    A single Value, a non-iterable, or an item that is not a Value raises TypeError; ``hint``
    is added to the single-Value message (e.g. "for one Value v use l2([v])").
    """
    if isinstance(items, Value):
        raise TypeError(f"{name} must be a list of Values (e.g. model.parameters()), got a "
                        f"single Value" + (f"; {hint}" if hint else ""))
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{name} must be a list of Values (e.g. model.parameters()), "
                        f"got {type(items).__name__}") from None
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"{name} must be Values; item {i} is {type(p).__name__}: {p!r}")
    return items
