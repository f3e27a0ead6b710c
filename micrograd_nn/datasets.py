"""Small 2-D classification datasets, made with numpy alone (no scikit-learn), and a list of
English first names for character-level language models (``names()``).

Every generator returns ``(X, y)``: ``X`` a float64 array of shape (n_samples, n_features) and
``y`` an int64 array of shape (n_samples,) holding the classes 0..k-1. The classes are as
balanced as ``n_samples`` allows (their counts differ by at most one) and the rows are shuffled,
so any slice is a fair minibatch. The same ``seed`` always gives the same arrays: all randomness
comes from one ``np.random.default_rng(seed)``.

``noise`` is the standard deviation of Gaussian noise added to each coordinate, except for
``make_spiral``, where it jitters the angle (in radians) so that the arms stay arms.
"""

from __future__ import annotations

import math
import numbers
from importlib import resources
from typing import Callable

import numpy as np

from . import _checks

__all__ = [
    "make_moons", "make_circles", "make_xor", "make_blobs", "make_spiral",
    "DATASETS", "make_dataset", "names",
]

SeedLike = int | np.random.Generator | None
"""What ``seed`` accepts: an int >= 0, a numpy Generator (used as is) or None (fresh entropy)."""

MAX_VALUES = 2_000_000
"""The most numbers a generated X may hold (n_samples * n_features), and likewise blobs'
centers. At the limit X takes 16 MB of float64; making it takes about 6 times that at its
peak (the arrays X is built from, its noise, its shuffled copy) and well under a second, for
every generator and any number of classes. Larger requests raise ValueError before anything
is allocated; set ``micrograd_nn.datasets.MAX_VALUES`` higher to go past it (time and memory
grow in proportion). A million 2-D samples is already far more than a scalar engine can
train on: one epoch through an MLP(2, [16, 16, 1]) takes minutes."""


# -------------------------------------------------------------------------------------------------
# Argument checks shared by the generators


_check_count = _checks.positive_int  # (value, name, minimum)


def _check_noise(noise) -> float:
    return _checks.nonnegative(noise, "noise")


def _rng(seed: SeedLike) -> np.random.Generator:
    # default_rng returns a Generator unchanged and draws fresh entropy for None
    return np.random.default_rng(_checks.seed(seed))


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """Split n_samples into n_classes counts that differ by at most one."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if c < extra else 0) for c in range(n_classes)]


def _check_values(count: int, what: str) -> None:
    if count > MAX_VALUES:
        raise ValueError(f"{what} would hold {count:,} numbers, more than "
                         f"micrograd_nn.datasets.MAX_VALUES = {MAX_VALUES:,}; ask for less, or "
                         f"raise that limit")


def _check_samples(n_samples, n_classes: int, n_features: int = 2) -> int:
    n = _check_count(n_samples, "n_samples", 1)
    _check_values(n * n_features, f"X of {n:,} samples of {n_features} features")
    if n < n_classes:
        raise ValueError(
            f"n_samples must be at least the number of classes ({n_classes}), so that every "
            f"class has a point; got {n}"
        )
    return n


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator):
    """Add coordinate noise, then shuffle the rows (one permutation for X and y)."""
    if noise > 0:
        X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order].astype(np.int64)


# -------------------------------------------------------------------------------------------------
# Generators


def make_moons(n_samples: int = 100, noise: float = 0.1,
               seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles in 2-D.

    Class 0 is the upper arc (cos t, sin t), class 1 the lower arc (1 - cos t, 0.5 - sin t),
    for t evenly spaced in [0, pi]; then Gaussian noise of standard deviation ``noise``.
    """
    n = _check_samples(n_samples, 2)
    noise = _check_noise(noise)
    rng = _rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0 = np.linspace(0.0, math.pi, n0)
    t1 = np.linspace(0.0, math.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower])
    y = np.repeat([0, 1], [n0, n1])
    return _finish(X, y, noise, rng)


def make_circles(n_samples: int = 100, noise: float = 0.05, factor: float = 0.5,
                 seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles in 2-D: class 0 on the unit circle, class 1 on radius ``factor``.

    ``factor`` must lie strictly between 0 and 1. The points are evenly spaced in angle, then
    Gaussian noise of standard deviation ``noise`` is added.
    """
    n = _check_samples(n_samples, 2)
    noise = _check_noise(noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
        raise TypeError(f"factor must be a number, got {type(factor).__name__}: {factor!r}")
    if not 0 < factor < 1:
        raise ValueError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor}")
    rng = _rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0 = np.linspace(0.0, 2 * math.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * math.pi, n1, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = float(factor) * np.column_stack([np.cos(t1), np.sin(t1)])
    X = np.vstack([outer, inner])
    y = np.repeat([0, 1], [n0, n1])
    return _finish(X, y, noise, rng)


def make_xor(n_samples: int = 100, noise: float = 0.1,
             seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points in the four quadrants of [-1, 1]^2, class = sign(x0) != sign(x1).

    Points go to the quadrants in turn, so the classes are balanced; within its quadrant a point
    is uniform on [0.1, 1] in each coordinate (a margin of 0.2 around the axes), then Gaussian
    noise of standard deviation ``noise`` is added. No single line separates the classes.
    """
    n = _check_samples(n_samples, 2)
    noise = _check_noise(noise)
    rng = _rng(seed)
    # quadrant signs in the order (+,+) (+,-) (-,-) (-,+): classes alternate 0, 1, 0, 1
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)
    quadrant = np.arange(n) % 4
    X = signs[quadrant] * rng.uniform(0.1, 1.0, size=(n, 2))
    y = (quadrant % 2).astype(np.int64)
    return _finish(X, y, noise, rng)


def make_blobs(n_samples: int = 150, centers=3, noise: float = 0.5, seed: SeedLike = None,
               n_features: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, one class per center.

    ``centers`` is either the number of classes k >= 2 (the centers are then spread evenly on a
    circle of radius 2 in the first two coordinates, the other coordinates 0) or an array of
    shape (k, n_features) giving the centers. ``noise`` is the standard deviation of each blob.
    """
    noise = _check_noise(noise)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _check_count(centers, "centers", 2)
        d = _check_count(n_features, "n_features", 2)
        _check_values(k * d, f"the centers of {k:,} blobs in {d:,} dimensions")
        angle = 2 * math.pi * np.arange(k) / k
        points = np.zeros((k, d))
        points[:, 0] = 2.0 * np.cos(angle)
        points[:, 1] = 2.0 * np.sin(angle)
    else:
        try:
            raw = np.asarray(centers)
            if raw.dtype.kind not in "biuf":   # complex, strings, objects: no silent cast
                raise TypeError
            points = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                "centers must be an int (the number of classes) or an array of shape "
                f"(k, n_features), got {type(centers).__name__}"
            ) from None
        if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] < 1:
            raise ValueError(
                f"centers as an array must have shape (k, n_features) with k >= 2, "
                f"got shape {points.shape}"
            )
        if not np.all(np.isfinite(points)):
            raise ValueError("centers must be finite numbers")
        k, d = points.shape
    n = _check_samples(n_samples, k, d)
    rng = _rng(seed)
    y = np.repeat(np.arange(k), _class_sizes(n, k))
    X = points[y]
    return _finish(X, y, noise, rng)


def make_spiral(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms in 2-D, one class per arm.

    Point i of arm c sits at radius r = i / (m - 1) (0 to 1 along the arm) and angle
    theta = 4 r + 2 pi c / k + noise * N(0, 1): the angle, not the position, is jittered.
    """
    k = _check_count(n_classes, "n_classes", 2)
    n = _check_samples(n_samples, k)
    noise = _check_noise(noise)
    rng = _rng(seed)
    # every arm at once (no loop over the arms, which may be as many as the points):
    # point i of arm c, of m points, has r = i * (1 / (m - 1)) as np.linspace(0, 1, m) makes
    # it, the last point (and the only point of a one-point arm) r = 1 exactly
    sizes = np.array(_class_sizes(n, k))
    y = np.repeat(np.arange(k), sizes)
    m = sizes[y]
    i = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    r = np.where(i == m - 1, 1.0, i * (1.0 / np.maximum(m - 1, 1)))
    theta = 4.0 * r + 2 * math.pi * y / k + noise * rng.normal(size=n)
    X = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return _finish(X, y, 0.0, rng)


DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "moons": make_moons,
    "circles": make_circles,
    "xor": make_xor,
    "blobs": make_blobs,
    "spiral": make_spiral,
}


def make_dataset(name: str, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The generator called ``name`` (one of ``DATASETS``) applied to ``kwargs``."""
    try:
        maker = DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}"
        ) from None
    return maker(**kwargs)


# -------------------------------------------------------------------------------------------------
# Text


def names() -> list[str]:
    """About 5,000 English first names (5,163), lower case a-z, each once, in alphabetical order.

    The names of the 1990 US Census first-name lists (male and female, public domain), shipped
    with the package as ``micrograd_nn/data/names.txt`` (its header gives the source), so no
    network is needed. Each call returns a new list: shuffle or slice it freely.
    """
    text = resources.files(__package__).joinpath("data", "names.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]
