"""Loss functions on Values: each returns one Value to call ``backward()`` on.

Every loss takes one prediction or a list of them (with one target each); for a list it returns
the mean of the per-sample losses. Targets are plain numbers (ints or floats; ``mse`` also takes
Values). Each docstring gives the formula and its derivative with respect to the prediction.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

from ._checks import value_list
from .engine import Value

__all__ = [
    "mse", "binary_cross_entropy", "bce_with_logits", "cross_entropy", "softmax", "hinge", "l2",
]


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_sequence(x: Any) -> bool:
    """A list, a tuple or a numpy array of at least one dimension (not a numpy scalar)."""
    return isinstance(x, (list, tuple)) or (getattr(x, "ndim", 0) >= 1 and hasattr(x, "tolist"))


def _as_list(x: Any) -> list:
    """A list, tuple or numpy array as a list (numpy scalars become Python numbers)."""
    return x.tolist() if hasattr(x, "tolist") and not isinstance(x, Value) else list(x)


def _prediction(p: Any, name: str, i: int | None = None) -> Value:
    if isinstance(p, Value):
        return p
    if _is_number(p):
        return Value(float(p))
    where = name if i is None else f"{name}[{i}]"
    raise TypeError(f"{where} must be a Value or a number, got {type(p).__name__}: {p!r}")


def _pairs(pred: Any, target: Any, loss: str) -> tuple[list, list, bool]:
    """(predictions, targets, batched): one sample becomes lists of length 1."""
    if _is_sequence(pred):
        preds = _as_list(pred)
        if not _is_sequence(target):
            raise TypeError(f"{loss}: a list of predictions needs a list of targets, "
                            f"got {type(target).__name__}")
        targets = _as_list(target)
        if len(preds) != len(targets):
            raise ValueError(f"{loss}: {len(preds)} predictions but {len(targets)} targets")
        if not preds:
            raise ValueError(f"{loss}: no predictions (empty list)")
        return preds, targets, True
    if _is_sequence(target):
        raise TypeError(f"{loss}: a single prediction needs a single target, "
                        f"got {type(target).__name__}")
    return [pred], [target], False


def _mean(losses: list[Value]) -> Value:
    return losses[0] if len(losses) == 1 else Value.sum(losses) / len(losses)


def _float_target(y: Any, loss: str, i: int, batched: bool) -> float:
    if not _is_number(y):
        where = f"target[{i}]" if batched else "target"
        raise TypeError(f"{loss}: {where} must be a number, got {type(y).__name__}: {y!r}")
    return float(y)


def mse(pred: Value | Sequence, target: Any, reduction: str = "mean") -> Value:
    """Squared error: L = (1/n) sum_i (yhat_i - y_i)**2 ("mean") or sum_i (yhat_i - y_i)**2 ("sum").

    dL/dyhat_i = 2 (yhat_i - y_i) / n for "mean" (without the 1/n for "sum"). ``pred`` is a
    Value or a list of Values (a list of lists, e.g. one multi-output prediction per sample, is
    flattened); ``target`` has the same shape, numbers or Values. A NaN or infinite number
    as a target raises ValueError.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse: unknown reduction {reduction!r}; valid: 'mean', 'sum'")
    preds, targets, batched = _pairs(pred, target, "mse")
    if batched and _is_sequence(preds[0]):  # one list of outputs per sample
        flat_p, flat_t = [], []
        for i, (p, t) in enumerate(zip(preds, targets)):
            ps, ts, _ = _pairs(p, t, f"mse (sample {i})")
            flat_p += ps
            flat_t += ts
        preds, targets = flat_p, flat_t
    squares = []
    for i, (p, y) in enumerate(zip(preds, targets)):
        yhat = _prediction(p, "pred", i if batched else None)
        if not isinstance(y, Value):
            y = _float_target(y, "mse", i, batched)
            if not math.isfinite(y):  # the other losses refuse it by their range checks
                where = f"target[{i}]" if batched else "target"
                raise ValueError(f"mse: {where} must be a finite number, got {y!r}")
        squares.append((yhat - y) ** 2)
    total = squares[0] if len(squares) == 1 else Value.sum(squares)
    return total / len(squares) if reduction == "mean" and len(squares) > 1 else total


def _check_unit_target(y: Any, loss: str, i: int, batched: bool) -> float:
    y = _float_target(y, loss, i, batched)
    if not 0.0 <= y <= 1.0:
        where = f"target[{i}]" if batched else "target"
        raise ValueError(f"{loss}: {where} must lie in [0, 1], got {y!r}")
    return y


def binary_cross_entropy(prob: Value | Sequence, target: Any, eps: float = 1e-12) -> Value:
    """L = -(y log p + (1 - y) log(1 - p)) for a probability p and a target y in [0, 1].

    dL/dp = (p - y) / (p (1 - p)). ``p`` is first clamped to [eps, 1 - eps] so the logs stay
    finite: with the default eps = 1e-12 a saturated p costs at most -log(1e-12) = 27.6. Outside
    that interval the clamped value is a constant, so no gradient flows back (like
    ``torch.clamp``): a sigmoid that has saturated stops learning. Prefer ``bce_with_logits``
    on the pre-sigmoid value, which has neither problem. Lists give the mean over samples.
    """
    if not _is_number(eps) or not 0.0 < eps < 0.5:
        raise ValueError(f"binary_cross_entropy: eps must be a number in (0, 0.5), got {eps!r}")
    probs, targets, batched = _pairs(prob, target, "binary_cross_entropy")
    losses = []
    for i, (p, y) in enumerate(zip(probs, targets)):
        p = _prediction(p, "prob", i if batched else None)
        y = _check_unit_target(y, "binary_cross_entropy", i, batched)
        if not 0.0 <= p.data <= 1.0:
            where = f"prob[{i}]" if batched else "prob"
            raise ValueError(f"binary_cross_entropy: {where} must be a probability in [0, 1], "
                             f"got {p.data!r} (for raw scores use bce_with_logits)")
        if p.data < eps:
            p = Value(eps, "clamped p")
        elif p.data > 1.0 - eps:
            p = Value(1.0 - eps, "clamped p")
        if y == 1.0:  # skip the term multiplied by 0: a smaller graph, same value and gradient
            losses.append(-p.log())
        elif y == 0.0:
            losses.append(-(1 - p).log())
        else:
            losses.append(-(y * p.log() + (1 - y) * (1 - p).log()))
    return _mean(losses)


def bce_with_logits(logit: Value | Sequence, target: Any) -> Value:
    """Binary cross-entropy of p = sigmoid(z), computed from the logit z without ever forming p.

    L = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))) = softplus(z) - z y
      = max(z, 0) - z y + log(1 + exp(-|z|)),
    finite for every z (at z = +-1000 too); dL/dz = sigmoid(z) - y. Target y in [0, 1]; lists
    give the mean over samples.

    It is built as softplus(z) - y z for z <= 0 and as (1 - y) z + softplus(-z) for z > 0 (the
    same function, since softplus(z) = z + softplus(-z)): both terms are then >= 0, so a tiny
    loss such as z = 30, y = 1 is not lost to cancellation between two large numbers.
    """
    logits, targets, batched = _pairs(logit, target, "bce_with_logits")
    losses = []
    for i, (z, y) in enumerate(zip(logits, targets)):
        z = _prediction(z, "logit", i if batched else None)
        y = _check_unit_target(y, "bce_with_logits", i, batched)
        if z.data > 0:
            loss = (-z).softplus()
            if y != 1.0:
                loss = (1 - y) * z + loss
        else:
            loss = z.softplus()
            if y != 0.0:
                loss = loss - y * z
        losses.append(loss)
    return _mean(losses)


def softmax(logits: Sequence) -> list[Value]:
    """softmax_i = exp(x_i) / sum_j exp(x_j), computed as exp(x_i - logsumexp(x)).

    x_i - logsumexp(x) <= 0, so nothing overflows (logits of +-1000 are fine); the outputs sum
    to 1. d softmax_i / d x_j = softmax_i (delta_ij - softmax_j).
    """
    xs = [_prediction(x, "logits", i) for i, x in enumerate(_logit_list(logits, "softmax"))]
    lse = Value.logsumexp(xs)
    return [(x - lse).exp() for x in xs]


def _logit_list(logits: Any, who: str) -> list:
    if not _is_sequence(logits):
        raise TypeError(f"{who}: logits must be a list of Values, got {type(logits).__name__}")
    logits = _as_list(logits)
    if not logits:
        raise ValueError(f"{who}: logits must not be empty")
    return logits


def _one_cross_entropy(logits: Any, target: Any, where: str) -> Value:
    xs = [_prediction(x, "logits", i) for i, x in enumerate(_logit_list(logits, "cross_entropy"))]
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"cross_entropy: {where} must be an int class index, "
                        f"got {type(target).__name__}: {target!r}")
    if not 0 <= target < len(xs):
        raise ValueError(f"cross_entropy: {where} {target!r} is out of range for {len(xs)} "
                         f"classes (valid: 0 to {len(xs) - 1})")
    return Value.logsumexp(xs) - xs[int(target)]


def cross_entropy(logits: Sequence, target: Any) -> Value:
    """L = -log softmax(x)_t = logsumexp(x) - x_t for logits x and a class index t.

    Finite for logits of +-1000 (logsumexp subtracts the maximum). dL/dx_i = softmax_i - [i = t]:
    the predicted probabilities minus the one-hot target. For a batch pass a list of logit
    lists and a list of class indices: the mean over samples.
    """
    seq = _logit_list(logits, "cross_entropy")
    if _is_sequence(seq[0]):
        if not _is_sequence(target):
            raise TypeError("cross_entropy: a batch of logit lists needs a list of class "
                            f"indices, got {type(target).__name__}")
        targets = _as_list(target)
        if len(seq) != len(targets):
            raise ValueError(f"cross_entropy: {len(seq)} samples but {len(targets)} targets")
        return _mean([_one_cross_entropy(x, t, f"target[{i}]")
                      for i, (x, t) in enumerate(zip(seq, targets))])
    return _one_cross_entropy(seq, target, "target")


def hinge(score: Value | Sequence, target: Any) -> Value:
    """Max-margin loss L = max(0, 1 - y s) for a score s and a label y of -1 or +1.

    dL/ds = -y when y s < 1, else 0 (0 at the kink y s = 1). This is the loss of micrograd's
    two-moons demo; lists give the mean over samples.
    """
    scores, targets, batched = _pairs(score, target, "hinge")
    losses = []
    for i, (s, y) in enumerate(zip(scores, targets)):
        s = _prediction(s, "score", i if batched else None)
        y = _float_target(y, "hinge", i, batched)
        if y != 1.0 and y != -1.0:
            where = f"target[{i}]" if batched else "target"
            raise ValueError(f"hinge: {where} must be -1 or +1, got {y!r}")
        losses.append((1 - y * s).relu())
    return _mean(losses)


def l2(parameters: Iterable[Value]) -> Value:
    """The squared L2 norm sum_p p**2 (one sum node); d/dp = 2 p. Multiply by a small alpha.

    An empty list gives 0. Weight decay in the loss: ``loss = data_loss + 1e-4 * l2(params)``.
    """
    params = value_list(parameters, "l2: parameters", hint="for one Value v use l2([v])")
    return Value.sum([p * p for p in params])
