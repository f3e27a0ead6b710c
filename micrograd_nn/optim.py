"""Optimizers that update parameters from their ``.grad``, and learning-rate schedules.

The update formulas are PyTorch's (``torch.optim.SGD`` without dampening or Nesterov, and
``torch.optim.Adam`` without amsgrad), so results can be checked against it. A training step::

    opt = SGD(model.parameters(), lr=1.0)
    schedule = LinearDecay(opt, start=1.0, end=0.1, steps=100)
    for k in range(100):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()   # sets opt.lr for the next step
"""

from __future__ import annotations

import math
from typing import Iterable

from . import _checks
from .engine import Value

__all__ = [
    "Optimizer", "SGD", "Adam", "LRSchedule", "LinearDecay", "StepDecay", "ExponentialDecay",
    "check_lr",
]


_check_number = _checks.nonnegative
_check_positive_int = _checks.positive_int


def check_lr(value, name: str = "lr") -> float:
    """The one rule for a learning rate, wherever it is given (an optimizer, a schedule, ``fit``,
    the command line): a finite number >= 0, returned as a float.

    0 is allowed: a schedule may decay to it, and it leaves the parameters where they are.
    A bool or a non-number raises TypeError; NaN, an infinity or a negative number ValueError.
    """
    return _checks.nonnegative(value, name)


def _check_decay(value, name: str) -> float:
    """A decay factor in [0, 1]: larger ones would grow the rate until it overflows."""
    x = _check_number(value, name)
    if x > 1:
        raise ValueError(f"{name} must be a number in [0, 1] (a decay), got {x!r}; a factor "
                         f"above 1 grows the learning rate until it overflows")
    return x


class Optimizer:
    """Holds the parameters and the learning rate ``lr`` (writable, e.g. by a schedule; any
    value must pass ``check_lr``: a finite number >= 0).

    ``params`` is a non-empty iterable of Values, each at most once. ``step()`` updates every
    parameter's ``data`` from its ``grad``; ``zero_grad()`` sets the grads back to 0.0.
    """

    def __init__(self, params: Iterable[Value], lr: float):
        params = _checks.value_list(params, "params")
        if not params:
            raise ValueError("params is empty: the optimizer has nothing to update")
        seen: set[int] = set()
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"params: item {i} ({p!r}) appears more than once; "
                                 "it would be updated twice per step")
            seen.add(id(p))
        self.params: list[Value] = params
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate used by the next ``step()``."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_lr(value)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0 before the next backward()."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and weight decay.

    g = grad + weight_decay * p
    v = g on the first step, then v = momentum * v + g      (only when momentum > 0; else v = g)
    p = p - lr * v
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _check_number(momentum, "momentum")
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        self.velocity: list[float | None] = [None] * len(self.params)  # per parameter

    def step(self) -> None:
        lr, momentum, wd = self.lr, self.momentum, self.weight_decay
        velocity = self.velocity
        for i, p in enumerate(self.params):
            g = p.grad
            if wd:
                g = g + wd * p.data
            if momentum:
                v = velocity[i]
                v = g if v is None else momentum * v + g
                velocity[i] = v
                g = v
            p.data -= lr * g


class Adam(Optimizer):
    """Adam: steps scaled by running estimates of the gradient's mean and square.

    t = t + 1;  g = grad + weight_decay * p
    m = beta1 * m + (1 - beta1) * g            v = beta2 * v + (1 - beta2) * g**2
    p = p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    i.e. p - lr * m_hat / (sqrt(v_hat) + eps) with the bias-corrected m_hat, v_hat.
    m and v start at 0 for each parameter.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number(betas[0], "betas[0]", below=1.0),
                      _check_number(betas[1], "betas[1]", below=1.0))
        self.eps = _checks.positive_number(eps, "eps")   # 0 divides 0 by 0 on a zero gradient
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        self.t = 0
        self.m = [0.0] * len(self.params)  # first moment, per parameter
        self.v = [0.0] * len(self.params)  # second moment, per parameter

    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        wd, eps = self.weight_decay, self.eps
        step_size = self.lr / (1 - beta1 ** self.t)
        correction2_sqrt = math.sqrt(1 - beta2 ** self.t)
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            if wd:
                g = g + wd * p.data
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            p.data -= step_size * m[i] / (math.sqrt(v[i]) / correction2_sqrt + eps)


# -------------------------------------------------------------------------------------------------
# Learning-rate schedules


class LRSchedule:
    """Sets ``optimizer.lr`` from the number of steps taken: lr_k = ``lr_at(k)``.

    Construction sets the rate for step 0; each ``step()`` (call it after ``optimizer.step()``)
    advances k and sets the rate for the next step. ``lr`` is the current rate.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a schedule needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.steps_taken = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, k: int) -> float:
        raise NotImplementedError

    @property
    def lr(self) -> float:
        return self.lr_at(self.steps_taken)

    def step(self) -> None:
        self.steps_taken += 1
        self.optimizer.lr = self.lr_at(self.steps_taken)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(step {self.steps_taken}, lr={self.lr:g})"


class LinearDecay(LRSchedule):
    """lr_k = start + (end - start) * k / steps for k < steps, then ``end``.

    ``LinearDecay(opt, 1.0, 0.1, 100)`` is micrograd's demo schedule lr = 1.0 - 0.9 * k / 100.
    """

    def __init__(self, optimizer: Optimizer, start: float, end: float, steps: int):
        self.start = check_lr(start, "start")
        self.end = check_lr(end, "end")
        self.steps = _check_positive_int(steps, "steps")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        if k >= self.steps:
            return self.end
        return self.start + (self.end - self.start) * k / self.steps


class StepDecay(LRSchedule):
    """lr_k = start * factor ** (k // every): multiply by ``factor`` (in [0, 1]) every ``every``
    steps."""

    def __init__(self, optimizer: Optimizer, start: float, factor: float, every: int):
        self.start = check_lr(start, "start")
        self.factor = _check_decay(factor, "factor")
        self.every = _check_positive_int(every, "every")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        return self.start * self.factor ** (k // self.every)


class ExponentialDecay(LRSchedule):
    """lr_k = start * gamma ** k, with ``gamma`` in [0, 1]."""

    def __init__(self, optimizer: Optimizer, start: float, gamma: float):
        self.start = check_lr(start, "start")
        self.gamma = _check_decay(gamma, "gamma")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        return self.start * self.gamma ** k
