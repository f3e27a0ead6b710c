"""Training a classifier: ``fit`` runs the loop, ``predict`` and friends read the result.

One training step on a batch B is the whole of backpropagation in four lines::

    loss = (1/|B|) sum_{i in B} loss_i(model(x_i), y_i)  [+ l2 * sum_p p**2]
    optimizer.zero_grad()   # leaves accumulate, so clear last step's gradients
    loss.backward()         # dloss/dp for every parameter p, by the chain rule
    optimizer.step()        # p <- p - lr * dloss/dp (SGD; Adam rescales per parameter)

Labels are classes 0..k-1. How the model's outputs meet the labels depends on the loss:

================  ============  ================================  ==========================
loss              output width  per-sample loss                   predicted class
================  ============  ================================  ==========================
mse               1             (yhat - y)**2                     yhat > 0.5
mse               k             mean_c (yhat_c - onehot(y)_c)**2  argmax_c yhat_c
bce               1             BCE(sigmoid(z), y)                z > 0
bce_with_logits   1             BCE(sigmoid(z), y), stable        z > 0
cross_entropy     k >= 2        -log softmax(z)_y                 argmax_c z_c
hinge             1             max(0, 1 - t z), t = 2y - 1       z > 0
================  ============  ================================  ==========================
"""

from __future__ import annotations

import math
import numbers
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from . import _checks
from . import compiler as _compiler
from . import losses as _losses
from . import optim as _optim
from .engine import Value, no_grad

__all__ = [
    "LOSSES", "OPTIMIZERS", "DEFAULT_LR", "History", "Evaluation", "TrainingDiverged",
    "default_loss", "output_width", "fit", "scores", "predict", "predict_proba", "accuracy",
    "evaluate", "as_inputs", "as_labels", "loss_spec", "MAX_STEP_GRAPH",
]

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
DEFAULT_LR: dict[str, float] = {"sgd": 0.1, "adam": 0.01}
"""The learning rate ``fit`` uses when ``lr`` is not given, per optimizer name."""

MAX_STEP_GRAPH = 20_000_000
"""The largest graph one step of ``fit`` may build through the engine, counted as values plus
links from a value to its operands (each costs about 25 bytes: this is about 500 MB). ``fit``
measures one sample's graph and refuses a batch whose graph would be larger with ValueError,
before the first step: give a smaller ``batch_size``, or ``compile=``, which builds no graph
per sample. Set ``micrograd_nn.train.MAX_STEP_GRAPH`` higher to go past it."""


# -------------------------------------------------------------------------------------------------
# The losses ``fit`` knows, and how each one reads outputs and labels


class _Loss(NamedTuple):
    name: str
    binary: bool  # True: one output (a Value), labels 0/1; False: one output per class (a list)
    target: Callable[[int, int], Any]  # (label, width) -> what the loss compares an output to
    batch: Callable[[list, list], Value]  # (outputs, targets) -> the mean loss over the batch
    threshold: float  # binary losses: predicted class is 1 when the output exceeds this


def _mse_target(label: int, width: int):
    """One output: the label itself as a number; k outputs: the one-hot vector of the label."""
    if width == 1:
        return float(label)
    return [1.0 if c == label else 0.0 for c in range(width)]


def _label(label: int, width: int) -> float:
    return float(label)


def _bce_of_sigmoid(outs: list, targets: list) -> Value:
    return _losses.binary_cross_entropy([z.sigmoid() for z in outs], targets)


LOSSES: dict[str, _Loss] = {
    "mse": _Loss("mse", False, _mse_target, _losses.mse, 0.5),
    "bce": _Loss("bce", True, _label, _bce_of_sigmoid, 0.0),
    "bce_with_logits": _Loss("bce_with_logits", True, _label, _losses.bce_with_logits, 0.0),
    "cross_entropy": _Loss("cross_entropy", False, lambda label, width: label,
                           _losses.cross_entropy, 0.0),
    "hinge": _Loss("hinge", True, lambda label, width: 2.0 * label - 1.0, _losses.hinge, 0.0),
}
"""The loss names ``fit`` accepts (in any case: "MSE" is "mse"). "mse" works with one output
(labels 0/1, read as numbers) or with one output per class (one-hot targets)."""


def default_loss(n_outputs: int) -> str:
    """The loss ``fit`` uses when none is named: "hinge" for one output, else "cross_entropy"."""
    return "hinge" if n_outputs == 1 else "cross_entropy"


def output_width(loss: str | None, n_classes: int) -> int:
    """The output width of a model trained with ``loss`` on the classes 0..n_classes-1.

    1 for the binary losses ("bce", "bce_with_logits", "hinge": one score for class 1) and for
    "mse" on two classes (one output aiming at the label 0 or 1); ``n_classes`` for "mse" on
    more (one-hot targets) and for "cross_entropy" (at least 2). ``loss=None`` is the default
    setup: one output for two classes, else one per class; its loss is
    ``default_loss(output_width(None, k))``. A binary loss on more than two classes raises
    ValueError.
    """
    k = _checks.positive_int(n_classes, "n_classes")
    if loss is None:
        return 1 if k <= 2 else k
    spec = loss_spec(loss)
    if spec.binary:
        if k > 2:
            raise ValueError(
                f"loss {spec.name!r} is for two classes (labels 0 and 1), not {k}; use "
                "'cross_entropy' with one output per class"
            )
        return 1
    if spec.name == "mse":
        return 1 if k <= 2 else k
    return max(k, 2)


def loss_spec(loss: Any) -> _Loss:
    """The loss called ``loss``, whatever its case."""
    if not isinstance(loss, str) or loss.lower() not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[loss.lower()]


# -------------------------------------------------------------------------------------------------
# Results


@dataclass
class History:
    """What happened during ``fit``, one entry per epoch.

    ``loss`` is the mean training objective over the epoch's batches (the data loss plus the L2
    penalty), ``accuracy`` the fraction of training samples classified correctly, both read off
    the forward passes of the epoch itself (before each batch's update, so no extra pass is
    spent); ``lr`` is the learning rate at the epoch's last step (nan when the optimizer is an
    object without a numeric ``lr`` attribute).
    """

    loss_name: str
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """The number of epochs completed."""
        return len(self.loss)

    def __len__(self) -> int:
        return len(self.loss)


class Evaluation(NamedTuple):
    """``evaluate``'s result: the mean loss (with the L2 penalty if asked) and the accuracy."""

    loss: float
    accuracy: float


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite (or an operation overflowed) during ``fit``.

    ``epoch`` is the 1-based epoch where it happened and ``history`` holds the epochs completed
    before it.
    """

    def __init__(self, message: str, epoch: int, history: History):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


# -------------------------------------------------------------------------------------------------
# Checking arguments before anything runs


def as_inputs(X: Any, nin: int | None) -> np.ndarray:
    """X as a 2-D float64 array of samples (``nin`` features each, when given); ValueError
    saying what was wrong for anything else (ragged, complex, not numbers, NaN...)."""
    shape = "X must be a 2-D array of numbers of shape (n_samples, n_features)"
    try:
        X = np.asarray(X)
    except (TypeError, ValueError):
        raise ValueError(shape) from None
    if np.iscomplexobj(X):      # float64 would drop the imaginary parts without a word
        raise TypeError(f"X must hold real numbers, got {X.dtype} values")
    try:
        X = X.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise ValueError(shape) from None
    if X.ndim != 2:
        hint = " (for one feature use X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(
            f"X must be 2-D, of shape (n_samples, n_features); got shape {X.shape}{hint}"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no samples")
    if X.shape[1] == 0:
        raise ValueError("X has no features: each sample needs at least one number")
    if nin is not None and X.shape[1] != nin:
        raise ValueError(f"X has {X.shape[1]} features per sample but the model expects {nin}")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"X contains {np.count_nonzero(bad)} NaN or infinite value(s), the first at "
            f"row {row}, column {col}: {X[row, col]!r}"
        )
    return X


_MAX_LABEL = 2**31 - 1   # far more classes than any model here can have outputs


def as_labels(y: Any, n: int) -> np.ndarray:
    """y as a 1-D array of ``n`` class labels; ValueError saying what was wrong otherwise."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one class label per sample), got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)} labels")
    if y.dtype == bool:
        y = y.astype(np.int64)
    elif not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) \
                or not np.all(y == np.round(y)):
            raise ValueError(
                "y must hold class labels: whole numbers 0, 1, ..., k-1 "
                f"(got values like {y[:3].tolist()!r})"
            )
    # checked before the conversion to int64, which would wrap 1e20 to a negative number
    if y.min() < 0 or y.max() > _MAX_LABEL:
        bad = y.min() if y.min() < 0 else y.max()
        raise ValueError(f"class labels must be 0, 1, ..., k-1 (at most {_MAX_LABEL:,}); "
                         f"y contains {bad.item()!r}")
    return y.astype(np.int64)


def _model_sizes(model: Any, X: np.ndarray, graph: bool = False) -> tuple[int, int, int]:
    """(inputs, outputs, graph) of ``model``, read from one forward pass of the first sample;
    with ``graph``, the pass records its graph and ``graph`` is its size (``_graph_size``),
    else 0 (the pass runs under no_grad)."""
    if not callable(model):
        raise TypeError(f"model must be callable (an MLP or Module), got {type(model).__name__}")
    nin = getattr(model, "nin", None)
    as_inputs(X[:1], nin)
    with nullcontext() if graph else no_grad():
        out = model(X[0].tolist())
    if isinstance(out, Value):
        return X.shape[1], 1, _graph_size([out]) if graph else 0
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return X.shape[1], len(out), _graph_size(list(out)) if graph else 0
    raise TypeError(f"model must return a Value or a list of Values, got {type(out).__name__}")


def _check_fit(spec: _Loss, width: int, y: np.ndarray) -> None:
    """Does a model of output ``width`` trained with ``spec`` fit the labels ``y``?"""
    k = int(y.max()) + 1
    if spec.binary or (spec.name == "mse" and width == 1):
        if width != 1:
            raise ValueError(
                f"loss {spec.name!r} needs a model with one output (a score for class 1), "
                f"but the model has {width}; use 'cross_entropy' for one output per class"
            )
        if k > 2:
            raise ValueError(
                f"loss {spec.name!r} is for two classes (labels 0 and 1) but y has labels up "
                f"to {k - 1}; use 'cross_entropy' with one output per class"
            )
        return
    if spec.name == "cross_entropy" and width < 2:
        raise ValueError(
            "loss 'cross_entropy' needs one output per class (at least 2), but the model has "
            "1; use a last layer of width k, or a binary loss ('bce_with_logits', 'hinge')"
        )
    # More outputs than classes is fine (a subset of the data may lack the highest classes);
    # a label without an output is not
    if k > width:
        raise ValueError(
            f"loss {spec.name!r} needs one output per class: y has labels up to {k - 1} "
            f"but the model has {width} outputs (classes 0..{width - 1})"
        )


def _current_lr(opt: Any) -> float:
    """The optimizer's learning rate; nan for an optimizer object without a numeric ``lr``."""
    lr = getattr(opt, "lr", None)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        return math.nan
    return float(lr)


def _lr_advice(lr: float) -> str:
    if math.isnan(lr):
        return "try a smaller learning rate"
    return f"try a smaller learning rate (lr was {lr})"


def _parameters(model: Any) -> list:
    """The model's parameters: a non-empty list of Values from ``model.parameters()``."""
    if not callable(getattr(model, "parameters", None)):
        raise TypeError(f"model must have a parameters() method (an MLP or Module), got "
                        f"{type(model).__name__}")
    params = _checks.value_list(model.parameters(), "model.parameters()")
    if not params:
        raise ValueError("the model has no parameters to train")
    return params


def _make_optimizer(optimizer: Any, params: list, lr: Any, momentum: float):
    """The optimizer ``fit`` steps: a named one built over ``params`` (its constructor checks
    ``lr`` by ``optim.check_lr``, the one rule for learning rates), or the object given, which
    must update only ``params``."""
    if isinstance(optimizer, str):
        name = optimizer.lower()
        if name not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)} "
                "or pass an optimizer object"
            )
        lr = DEFAULT_LR[name] if lr is None else lr
        if name == "sgd":
            return _optim.SGD(params, lr=lr, momentum=momentum)
        if momentum:
            raise ValueError("momentum applies to 'sgd'; Adam has betas instead")
        return _optim.Adam(params, lr=lr)
    if not (callable(getattr(optimizer, "step", None))
            and callable(getattr(optimizer, "zero_grad", None))):
        raise ValueError(
            f"optimizer must be 'sgd', 'adam' or an object with step() and zero_grad(), "
            f"got {optimizer!r}"
        )
    if lr is not None:
        raise ValueError("lr is set on the optimizer object you pass; do not give lr to fit too")
    if isinstance(optimizer, _optim.Optimizer):
        own = set(map(id, params))
        foreign = [p for p in optimizer.params if id(p) not in own]
        if foreign:
            raise ValueError(
                f"the optimizer updates {len(foreign)} parameter(s) that are not the model's "
                f"(the first: {foreign[0]!r}); build it over model.parameters()")
    return optimizer


def _make_scheduler(schedule: Any, opt: Any, steps: int):
    """None, micrograd's linear decay from lr to lr/10 over ``steps``, or the object given."""
    if schedule is None:
        return None
    if isinstance(schedule, str) and schedule.lower() == "linear":
        if not isinstance(opt, _optim.Optimizer):
            raise ValueError(
                "schedule='linear' sets the learning rate of an optim.Optimizer (SGD, Adam or "
                f"a subclass); the optimizer given is a {type(opt).__name__}. Pass a schedule "
                "object with step() instead, or no schedule"
            )
        return _optim.LinearDecay(opt, start=opt.lr, end=opt.lr / 10, steps=steps)
    if callable(getattr(schedule, "step", None)):
        return schedule
    raise ValueError(f"schedule must be None, 'linear' or an object with step(), "
                     f"got {schedule!r}")


# -------------------------------------------------------------------------------------------------
# The loop


@dataclass
class _Run:
    """Everything one ``fit`` needs, checked: the data, the loss, the optimizer, the schedule."""

    model: Any
    rows: list            # samples as lists of Python floats (far cheaper than numpy scalars)
    labels: list
    targets: list         # what the loss compares each sample's output to
    spec: _Loss
    width: int
    params: list
    opt: Any
    scheduler: Any
    l2: float
    batch: int
    epochs: int
    history: History
    forward: Any = None   # the model over a batch (_Forward): the engine's graph, or compiled

    def diverged(self, epoch: int, what: str, lr: float | None = None) -> TrainingDiverged:
        advice = _lr_advice(_current_lr(self.opt) if lr is None else lr)
        return TrainingDiverged(f"training diverged at epoch {epoch}{what}; {advice}", epoch,
                                self.history)


def fit(model: Any, X: Any, y: Any, loss: str | None = None, optimizer: Any = "sgd",
        epochs: int = 100, batch_size: int | None = None, lr: float | None = None,
        l2: float = 0.0, schedule: Any = None, momentum: float = 0.0, progress: bool = True,
        seed: int | None = None, compile: bool | str = False) -> History:
    """Train ``model`` on the samples ``X`` (n, d) with class labels ``y`` (n,), return a History.

    ``loss``: a name from ``LOSSES`` (None: ``default_loss`` of the model's output width).
    ``optimizer``: "sgd", "adam" or an optimizer object (with ``step`` and ``zero_grad``; an
    ``optim.Optimizer`` must update only the model's parameters);
    ``lr`` (default ``DEFAULT_LR[name]``; ``optim.check_lr`` decides what is valid: a finite
    number >= 0) and ``momentum`` (SGD) configure the named ones.
    Names of losses, optimizers and schedules are case-insensitive ("MSE", "SGD" work).
    ``epochs`` passes over the data in batches of ``batch_size`` samples (None: the whole set,
    one step per epoch), shuffled each epoch with ``seed`` when there are several batches.
    ``l2`` adds ``l2 * sum_p p**2`` to the loss. ``schedule="linear"`` decays the learning rate
    linearly from lr to lr/10 over all steps (micrograd's demo: 1.0 -> 0.1; it needs an
    ``optim.Optimizer``, whose ``lr`` it sets); an object with a ``step()`` method is stepped
    after each optimizer step instead. ``seed`` (an int >= 0, a numpy Generator or None) drives
    the shuffling. ``progress`` (True or False) shows a tqdm bar with the loss and accuracy
    (only on a terminal). ``compile=True`` (or "python", or "numpy") runs the model through
    ``micrograd_nn.compile``: traced once, replayed for every batch, the loss still built by
    the engine on its outputs. The History equals the engine's to rounding (the python
    backend adds the samples' shares in another order, numpy adds in its own order).

    Every argument is checked before the first step: one of the wrong type raises TypeError
    (a model that is not callable or has no ``parameters()``, epochs=2.5, progress="no"), a bad
    value ValueError. If an output, the loss or a parameter becomes NaN or infinite, or an
    operation overflows, training stops with ``TrainingDiverged`` naming the epoch.
    """
    backend = _compile_backend(compile)
    run = _prepare(model, X, y, loss, optimizer, epochs, batch_size, lr, l2, schedule,
                   momentum, progress, graph=backend is None)
    seed = _checks.seed(seed)
    run.forward = _Forward(model, run.rows, backend)
    rng = np.random.default_rng(seed)
    n = len(run.rows)
    order = list(range(n))
    bar = _progress_bar(run.epochs, progress)
    try:
        for epoch in range(1, run.epochs + 1):
            if run.batch < n:
                order = rng.permutation(n).tolist()
            total, correct, last_lr = _epoch(run, epoch, order)
            run.history.loss.append(total / n)
            run.history.accuracy.append(correct / n)
            run.history.lr.append(last_lr)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"loss {total / n:.4f}, accuracy {correct / n:.1%}",
                                    refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return run.history


def _prepare(model, X, y, loss, optimizer, epochs, batch_size, lr, l2, schedule, momentum,
             progress, graph: bool) -> _Run:
    """Check every argument of ``fit`` (TypeError/ValueError before any step) into a _Run."""
    X = as_inputs(X, None)
    y = as_labels(y, X.shape[0])
    epochs = _checks.positive_int(epochs, "epochs")
    n = X.shape[0]
    batch = n if batch_size is None else min(_checks.positive_int(batch_size, "batch_size"), n)
    l2 = _checks.nonnegative(l2, "l2")
    momentum = _checks.nonnegative(momentum, "momentum")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True or False, got {type(progress).__name__}: "
                        f"{progress!r}")
    nin, width, per_sample = _model_sizes(model, X, graph)
    if graph:   # the engine builds the graph of every sample of a batch at once
        _check_step_graph(per_sample, batch)
    spec = loss_spec(default_loss(width) if loss is None else loss)
    _check_fit(spec, width, y)
    params = _parameters(model)
    opt = _make_optimizer(optimizer, params, lr, momentum)
    scheduler = _make_scheduler(schedule, opt, epochs * -(-n // batch))
    labels = y.tolist()
    return _Run(model, X.tolist(), labels, [spec.target(label, width) for label in labels],
                spec, width, params, opt, scheduler, l2, batch, epochs, History(spec.name))


def _graph_size(outputs: list) -> int:
    """Values plus operand links of the graph behind ``outputs``, leaves not counted."""
    seen, stack, size = set(), list(outputs), 0
    while stack:
        v = stack.pop()
        if v in seen or v.is_leaf():
            continue
        seen.add(v)
        size += 1 + len(v.operands)
        stack.extend(v.operands)
    return size


def _check_step_graph(per_sample: int, batch: int) -> None:
    """Refuse a batch whose graph would pass ``MAX_STEP_GRAPH``: one sample's graph, times
    the batch. (A model's graph per sample does not depend on the sample's values.)"""
    if per_sample * batch > MAX_STEP_GRAPH:
        fits = max(1, MAX_STEP_GRAPH // max(per_sample, 1))
        raise ValueError(f"a step over a batch of {batch:,} samples would build a graph of "
                         f"{per_sample * batch:,} values and links ({per_sample:,} per sample), "
                         f"more than micrograd_nn.train.MAX_STEP_GRAPH = {MAX_STEP_GRAPH:,} "
                         f"(about 25 bytes each); train in batches of at most {fits:,} "
                         f"(batch_size, --batch-size), or compile the model")


def _epoch(run: _Run, epoch: int, order: list) -> tuple:
    """One pass over the data in batches: (summed loss, samples classified right, last lr)."""
    total = 0.0
    correct = 0
    last_lr = math.nan
    steps = -(-len(order) // run.batch)
    for start in range(0, len(order), run.batch):
        idx = order[start:start + run.batch]
        where = f" (batch {start // run.batch + 1} of {steps})"
        outs, value = _forward_backward(run, idx, epoch, where)
        last_lr = _current_lr(run.opt)
        run.opt.step()
        # A NaN can hide from the loss (relu and max return 0 for it), not from the sum
        if not math.isfinite(sum([p.data for p in run.params])):
            raise run.diverged(epoch, f"{where}: a parameter became NaN or infinite", last_lr)
        if run.scheduler is not None:
            run.scheduler.step()
        total += value * len(idx)
        correct += _count_correct(run.spec, outs, [run.labels[i] for i in idx])
    return total, correct, last_lr


def _forward_backward(run: _Run, idx: list, epoch: int, where: str) -> tuple:
    """The batch's outputs and loss, with every parameter's gradient filled in."""
    try:
        outs = run.forward(idx)
        flat = [v.data for o in outs for v in o] if isinstance(outs[0], (list, tuple)) else \
            [o.data for o in outs]
        bad = next((x for x in flat if not math.isfinite(x)), None)
        if bad is not None:    # before the loss, which may refuse it (nan is no probability)
            raise run.diverged(epoch, f"{where}: the model's output is {bad}")
        objective = run.spec.batch(outs, [run.targets[i] for i in idx])
        if run.l2:
            objective = objective + run.l2 * _losses.l2(run.params)
        value = objective.data
        if not math.isfinite(value):
            raise run.diverged(epoch, f"{where}: the loss is {value}")
        run.opt.zero_grad()
        objective.backward()
        run.forward.backward()
    except (OverflowError, ZeroDivisionError) as e:
        raise run.diverged(epoch, f": {e}") from e
    return outs, value


def _compile_backend(compile: Any) -> str | None:
    """fit's ``compile`` argument as a backend name, or None for the engine."""
    if compile is False or compile is None:
        return None
    if compile is True:
        return "python"
    if not isinstance(compile, str):
        raise TypeError(f"compile must be True, False, 'python' or 'numpy', "
                        f"got {type(compile).__name__}: {compile!r}")
    if compile.lower() not in ("python", "numpy"):
        raise ValueError(f"compile must be True, False, 'python' or 'numpy', got {compile!r}")
    return compile.lower()


class _Forward:
    """The model over a batch. With a backend, through ``micrograd_nn.compile``: the outputs
    come back as leaf Values for the loss, and ``backward()``, after the loss's backward, sends
    their gradients through the compiled program into the parameters. Without, the model's
    own graph, which the loss's backward already walks."""

    def __init__(self, model: Any, rows: list, backend: str | None):
        self.model, self.rows = model, rows
        self.program = None if backend is None else _compiler.compile(model, rows[0],
                                                                        backend=backend)
        self.leaves: list = []

    def __call__(self, idx: list) -> list:
        if self.program is None:
            return [self.model(self.rows[i]) for i in idx]
        self.batch = [self.rows[i] for i in idx]
        out = self.program(self.batch).tolist()
        self.leaves = [Value(o) if type(o) is float else [Value(v) for v in o] for o in out]
        return self.leaves

    def backward(self) -> None:
        if self.program is not None:
            grads = [o.grad if type(o) is Value else [v.grad for v in o] for o in self.leaves]
            self.program.backward(self.batch, grad=grads)


def _progress_bar(epochs: int, progress: bool):
    if not progress:
        return None
    from tqdm.auto import tqdm

    # disable=None: tqdm switches itself off when stderr is not a terminal
    return tqdm(total=epochs, desc="training", unit="epoch", disable=None, leave=True)


def _count_correct(spec: _Loss, outs: Sequence, labels: Sequence[int]) -> int:
    if spec.binary or not isinstance(outs[0], (list, tuple)):
        t = spec.threshold
        return sum((o.data > t) == (label == 1) for o, label in zip(outs, labels))
    correct = 0
    for o, label in zip(outs, labels):
        data = [v.data for v in o]
        correct += data.index(max(data)) == label
    return correct


# -------------------------------------------------------------------------------------------------
# Reading a trained model


def scores(model: Any, X: Any) -> np.ndarray:
    """The model's raw outputs for every row of X, without recording a graph.

    Shape (n,) for a model with one output, (n, k) for k outputs.
    """
    X = as_inputs(X, getattr(model, "nin", None))
    with no_grad():
        outs = [model(row) for row in X.tolist()]
    if isinstance(outs[0], Value):
        return np.array([o.data for o in outs], dtype=np.float64)
    return np.array([[v.data for v in o] for o in outs], dtype=np.float64)


def predict(model: Any, X: Any, loss: str | None = None) -> np.ndarray:
    """Predicted classes (int64, shape (n,)) for the rows of X.

    One output: class 1 where the output exceeds the threshold of ``loss`` (0 for scores and
    logits, 0.5 for "mse", whose outputs aim at 0 and 1; None means 0). Several outputs: the
    index of the largest. An unknown ``loss`` name raises ValueError whatever the width.
    """
    threshold = 0.0 if loss is None else loss_spec(loss).threshold
    s = scores(model, X)
    if s.ndim == 1:
        return (s > threshold).astype(np.int64)
    return np.argmax(s, axis=1).astype(np.int64)


def predict_proba(model: Any, X: Any, loss: str | None = None) -> np.ndarray:
    """Class probabilities, shape (n, k), each row summing to 1.

    For models trained with "bce", "bce_with_logits" (p = sigmoid(z), columns [1 - p, p]) or
    "cross_entropy" (softmax of the outputs). Hinge scores and MSE outputs are not
    probabilities: ValueError. The probabilities come from the engine's own ``Value.sigmoid``
    and ``losses.softmax`` (under ``no_grad``, so no graph is kept): the same functions the
    losses differentiate, at a few nodes per row next to the hundreds of the forward pass.
    """
    spec = None if loss is None else loss_spec(loss)
    X = as_inputs(X, getattr(model, "nin", None))
    with no_grad():
        outs = [model(row) for row in X.tolist()]
        width = 1 if isinstance(outs[0], Value) else len(outs[0])
        name = default_loss(width) if spec is None else spec.name
        if name in ("bce", "bce_with_logits") and isinstance(outs[0], Value):
            p = np.array([z.sigmoid().data for z in outs], dtype=np.float64)
            return np.column_stack([1.0 - p, p])
        if name == "cross_entropy" and width >= 2:
            return np.array([[q.data for q in _losses.softmax(z)] for z in outs],
                            dtype=np.float64)
    raise ValueError(
        f"a model trained with {name!r} on {width} output(s) does "
        "not give probabilities; use 'bce'/'bce_with_logits' (1 output) or 'cross_entropy' "
        "(one output per class), or read raw outputs with scores()"
    )


def accuracy(model: Any, X: Any, y: Any, loss: str | None = None) -> float:
    """The fraction of rows of X whose predicted class equals y."""
    X = as_inputs(X, getattr(model, "nin", None))
    y = as_labels(y, X.shape[0])
    return float(np.mean(predict(model, X, loss) == y))


def evaluate(model: Any, X: Any, y: Any, loss: str | None = None, l2: float = 0.0) -> Evaluation:
    """The mean ``loss`` over all of X (plus ``l2 * sum_p p**2``) and the accuracy, no graph.

    The model may have more outputs than y has classes (a slice of the data without the last
    classes); a label with no output of its own raises ValueError.
    """
    X = as_inputs(X, None)
    y = as_labels(y, X.shape[0])
    nin, width, _ = _model_sizes(model, X)
    spec = loss_spec(default_loss(width) if loss is None else loss)
    _check_fit(spec, width, y)
    l2 = _checks.nonnegative(l2, "l2")
    labels = y.tolist()
    with no_grad():
        outs = [model(row) for row in X.tolist()]
        total = spec.batch(outs, [spec.target(label, width) for label in labels]).data
        if l2:
            total += l2 * _losses.l2(model.parameters()).data
    return Evaluation(total, _count_correct(spec, outs, labels) / len(labels))
