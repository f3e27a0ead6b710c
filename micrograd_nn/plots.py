"""Pictures of training: the loss curve and a classifier's decision boundary, saved to files.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, so no GUI backend and
no global figure state) and written atomically (``_files.write_atomically``: a reader never
sees half a PNG, an existing file keeps its mode, a symlink is written through). The format follows the
file suffix (.png, .svg, .pdf).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, PercentFormatter

from . import _checks
from ._files import write_atomically
from .train import History, as_inputs, as_labels, loss_spec, predict, scores

__all__ = ["plot_loss", "plot_decision_boundary", "CLASS_COLORS", "MAX_RESOLUTION"]

MAX_RESOLUTION = 500
"""The finest grid ``plot_decision_boundary`` evaluates: 500 x 500 = 250,000 model calls."""

CLASS_COLORS: tuple[str, ...] = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
"""The colour of class c is ``CLASS_COLORS[c % 10]``, in both plots and legends."""


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` whole or not at all (``_files.write_atomically``); return the Path."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"{path}: give the file a suffix such as .png or .svg "
                         "(it sets the format)")
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValueError(f"{path}: unsupported image format {fmt!r}; use .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    image = io.BytesIO()
    fig.savefig(image, format=fmt, dpi=120, bbox_inches="tight")
    write_atomically(path, image.getvalue())
    return path


def plot_loss(history: History, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save the loss (left) and training accuracy (right) per epoch from a ``fit`` History."""
    if not isinstance(history, History):
        raise TypeError(
            f"plot_loss needs the History returned by fit, got {type(history).__name__}"
        )
    title = _checks.optional_text(title, "title")
    if not history.loss:
        raise ValueError("the history is empty: nothing was trained")
    epochs = np.arange(1, len(history.loss) + 1)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    marker = "o" if len(epochs) <= 30 else None
    ax_loss.plot(epochs, history.loss, color="#1f77b4", marker=marker, lw=1.8)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel(f"training loss ({history.loss_name})")
    ax_loss.set_title("Loss")
    if min(history.loss) > 0 and max(history.loss) / min(history.loss) > 50:
        ax_loss.set_yscale("log")  # a loss falling over decades is unreadable on a linear axis
        ax_loss.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax_loss.yaxis.set_minor_formatter(NullFormatter())
    ax_acc.plot(epochs, history.accuracy, color="#2ca02c", marker=marker, lw=1.8)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("training accuracy")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax_acc.set_title(f"Accuracy (final {history.accuracy[-1]:.1%})")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(1, max(len(epochs), 2))
    fig.suptitle(title or f"Training: {len(epochs)} epochs, final loss {history.loss[-1]:.4g}")
    return _save(fig, path)


def plot_decision_boundary(model: Any, X: Any, y: Any, path: str | os.PathLike,
                           loss: str | None = None, resolution: int = 100,
                           title: str | None = None, padding: float = 0.25) -> Path:
    """Save the model's predicted class over the plane, with the samples coloured by class.

    ``X`` has two features. The model is evaluated (without a graph) on a ``resolution`` x
    ``resolution`` grid covering the data plus ``padding`` times its range on each side. Each
    class's region is where its margin is positive, filled from the continuous scores so the
    boundary is smooth even on a coarse grid: one output s gives class 1 where
    s - threshold(loss) > 0 (threshold 0, or 0.5 for "mse"); k outputs give class c where
    s_c - max_{j != c} s_j > 0. The boundary itself is drawn as a black line.
    ``resolution`` is an int in [2, MAX_RESOLUTION] and ``padding`` a number in [0, 10)
    (ValueError outside, checked first).
    """
    resolution = _checks.positive_int(resolution, "resolution", minimum=2, maximum=MAX_RESOLUTION)
    title = _checks.optional_text(title, "title")
    padding = _checks.nonnegative(padding, "padding", below=10)
    X = as_inputs(X, getattr(model, "nin", None))
    if X.shape[1] != 2:
        raise ValueError(f"a decision boundary is drawn in 2-D: X needs 2 features, "
                         f"got {X.shape[1]}")
    y = as_labels(y, X.shape[0])
    threshold = 0.0 if loss is None else loss_spec(loss).threshold

    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - padding * span, hi + padding * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    s = scores(model, grid)
    if s.ndim == 1:
        margin = s - threshold
        margins = [-margin, margin]  # class 0, class 1
    else:
        margins = []
        for c in range(s.shape[1]):
            others = np.delete(s, c, axis=1).max(axis=1)
            margins.append(s[:, c] - others)
    acc = float(np.mean(predict(model, X, loss) == y))

    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    for c, m in enumerate(margins):
        field = m.reshape(gx.shape)
        top = float(np.max(field))
        if top <= 0:
            continue  # the class is predicted nowhere on the grid
        colour = CLASS_COLORS[c % len(CLASS_COLORS)]
        ax.contourf(gx, gy, field, levels=[0.0, top + 1.0], colors=[to_rgba(colour, 0.28)])
        if np.min(field) < 0:
            ax.contour(gx, gy, field, levels=[0.0], colors="black", linewidths=1.0)
    for c in range(max(int(y.max()) + 1, len(margins))):
        pts = X[y == c]
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], s=22, color=CLASS_COLORS[c % len(CLASS_COLORS)],
                       edgecolors="black", linewidths=0.5, label=f"class {c}", zorder=3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best", framealpha=0.9, title="training points")
    ax.set_title(title or f"Decision boundary ({acc:.1%} of the training points right)")
    return _save(fig, path)
