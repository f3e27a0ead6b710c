"""Tests of micrograd_nn.optim: update rules by hand and against torch.optim, schedules."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_nn.engine import Value
from micrograd_nn.nn import MLP
from micrograd_nn.optim import (SGD, Adam, ExponentialDecay, LinearDecay, Optimizer, StepDecay)


def values(*xs, grads=None):
    out = [Value(x) for x in xs]
    for v, g in zip(out, grads or []):
        v.grad = g
    return out


# ---- SGD -------------------------------------------------------------------------------------


def test_sgd_step_is_p_minus_lr_grad():
    params = values(1.0, -2.0, grads=[0.5, -4.0])
    SGD(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([0.95, -1.6])


def test_sgd_momentum_by_hand():
    (p,) = values(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = 2.0
    opt.step()  # v = 2.0 (first step: the gradient itself)
    assert p.data == pytest.approx(1.0 - 0.1 * 2.0)
    p.grad = 1.0
    opt.step()  # v = 0.9 * 2.0 + 1.0 = 2.8
    assert p.data == pytest.approx(0.8 - 0.1 * 2.8)
    assert opt.velocity == [pytest.approx(2.8)]


def test_sgd_weight_decay_by_hand():
    (p,) = values(2.0, grads=[0.5])
    SGD([p], lr=0.1, weight_decay=0.01).step()  # g = 0.5 + 0.01 * 2.0
    assert p.data == pytest.approx(2.0 - 0.1 * 0.52)


def test_step_leaves_grads_and_zero_grad_clears_them():
    params = values(1.0, 2.0, grads=[3.0, 4.0])
    opt = SGD(params, lr=0.0)
    opt.step()
    assert [p.data for p in params] == [1.0, 2.0]
    assert [p.grad for p in params] == [3.0, 4.0]
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1, max_size=5),
       st.floats(0, 10))
def test_plain_sgd_law(pairs, lr):
    params = values(*[p for p, _ in pairs], grads=[g for _, g in pairs])
    SGD(params, lr=lr).step()
    assert [p.data for p in params] == [p - lr * g for p, g in pairs]


# ---- Adam ------------------------------------------------------------------------------------


def test_adam_first_step_moves_each_parameter_by_about_lr():
    # after one step m_hat = g and v_hat = g**2, so the update is lr * g / (|g| + eps)
    params = values(1.0, 1.0, 1.0, grads=[5.0, -0.001, 0.0])
    opt = Adam(params, lr=0.01)
    opt.step()
    assert params[0].data == pytest.approx(1.0 - 0.01 * 5.0 / (5.0 + 1e-8), rel=1e-14)
    assert params[1].data == pytest.approx(1.0 + 0.01 * 0.001 / (0.001 + 1e-8), rel=1e-14)
    assert params[2].data == 1.0
    assert opt.t == 1


def test_adam_two_steps_by_hand():
    (p,) = values(0.5)
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 1e-8
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=0.1)
    m = v = 0.0
    x = 0.5
    for t, grad in enumerate([1.0, -2.0], start=1):
        p.grad = grad
        opt.step()
        g = grad + 0.1 * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x -= lr * (m / (1 - b1 ** t)) / (math.sqrt(v / (1 - b2 ** t)) + eps)
        assert p.data == pytest.approx(x, rel=1e-13)


def _run_against_torch(make_ours, make_theirs, steps=12, seed=0):
    torch = pytest.importorskip("torch", reason="torch.optim is the reference implementation")
    rng = np.random.default_rng(seed)
    start = rng.normal(size=6)
    ours = [Value(x) for x in start]
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt, ref = make_ours(ours), make_theirs(torch, [theirs])
    for _ in range(steps):
        grads = rng.normal(size=6) * 3
        for p, g in zip(ours, grads):
            p.grad = float(g)
        theirs.grad = torch.tensor(grads, dtype=torch.float64)
        opt.step()
        ref.step()
    np.testing.assert_allclose([p.data for p in ours], theirs.detach().numpy(), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.01)])
def test_sgd_matches_torch(momentum, weight_decay):
    _run_against_torch(
        lambda ps: SGD(ps, lr=0.05, momentum=momentum, weight_decay=weight_decay),
        lambda torch, ts: torch.optim.SGD(ts, lr=0.05, momentum=momentum,
                                          weight_decay=weight_decay))


@pytest.mark.parametrize("lr, betas, eps, weight_decay", [
    (1e-3, (0.9, 0.999), 1e-8, 0.0), (0.1, (0.5, 0.9), 1e-6, 0.05), (0.01, (0.0, 0.0), 1e-8, 0.0),
])
def test_adam_matches_torch(lr, betas, eps, weight_decay):
    _run_against_torch(
        lambda ps: Adam(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay),
        lambda torch, ts: torch.optim.Adam(ts, lr=lr, betas=betas, eps=eps,
                                           weight_decay=weight_decay))


def test_adam_with_a_schedule_matches_torch_with_the_same_rates():
    rates = iter([0.1 - 0.009 * k for k in range(20)])

    def ours(ps):
        opt = Adam(ps, lr=0.1)
        original = opt.step

        def step():
            original()
            opt.lr = next(rates)  # what a schedule does between steps
        opt.step = step
        return opt

    torch_rates = iter([0.1 - 0.009 * k for k in range(20)])

    def theirs(torch, ts):
        opt = torch.optim.Adam(ts, lr=0.1)
        original = opt.step

        def step():
            original()
            opt.param_groups[0]["lr"] = next(torch_rates)
        opt.step = step
        return opt

    _run_against_torch(ours, theirs, steps=10)


# ---- validation ------------------------------------------------------------------------------


def test_optimizer_validation():
    (p,) = values(1.0)
    with pytest.raises(ValueError, match="params is empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="got a single Value"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="item 1 is float"):
        SGD([p, 1.0], lr=0.1)
    with pytest.raises(TypeError, match="params must be a list of Values"):
        SGD(3, lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got -0.1"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got nan"):
        Adam([p], lr=math.nan)
    with pytest.raises(TypeError, match="lr must be a finite number >= 0, got str"):
        SGD([p], lr="0.1")
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match=r"betas\[1\] must be a number in \[0, 1\), got 1.0"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"betas\[0\]"):
        Adam([p], betas=(-0.1, 0.9))
    with pytest.raises(TypeError, match="pair"):
        Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="weight_decay"):
        Adam([p], weight_decay=-1)


def test_lr_is_writable_and_validated():
    (p,) = values(1.0, grads=[1.0])
    opt = SGD([p], lr=0.1)
    opt.lr = 0.5
    opt.step()
    assert p.data == 0.5
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    assert opt.lr == 0.5
    assert repr(opt) == "SGD(1 parameters, lr=0.5)"


def test_base_optimizer_step_is_abstract():
    with pytest.raises(NotImplementedError):
        Optimizer(values(1.0), lr=0.1).step()


def test_optimizer_takes_model_parameters():
    model = MLP(2, [3, 1], seed=0)
    opt = Adam(model.parameters())
    assert len(opt.params) == 13


# ---- schedules -------------------------------------------------------------------------------


def test_linear_decay_is_micrograds_demo_schedule():
    opt = SGD(values(1.0), lr=123.0)
    schedule = LinearDecay(opt, 1.0, 0.1, 100)
    seen = []
    for k in range(100):
        seen.append(opt.lr)
        assert schedule.lr == opt.lr
        assert opt.lr == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-15)
        opt.step()
        schedule.step()
    assert seen[0] == 1.0
    assert opt.lr == pytest.approx(0.1)
    schedule.step()
    assert opt.lr == 0.1  # stays at the end value
    assert schedule.steps_taken == 101


def test_step_and_exponential_decay():
    opt = SGD(values(1.0), lr=1.0)
    schedule = StepDecay(opt, 0.8, 0.5, every=3)
    rates = []
    for _ in range(7):
        rates.append(opt.lr)
        schedule.step()
    assert rates == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2]
    schedule = ExponentialDecay(opt, 2.0, 0.9)
    rates = []
    for _ in range(4):
        rates.append(opt.lr)
        schedule.step()
    assert rates == pytest.approx([2.0, 1.8, 1.62, 1.458])


def test_schedule_drives_the_update():
    (p,) = values(0.0)
    opt = SGD([p], lr=5.0)
    schedule = LinearDecay(opt, 1.0, 0.0, 2)
    for _ in range(3):
        p.grad = -1.0
        opt.step()
        schedule.step()
    assert p.data == pytest.approx(1.0 + 0.5 + 0.0)


def test_schedule_validation():
    opt = SGD(values(1.0), lr=1.0)
    with pytest.raises(TypeError, match="needs an Optimizer"):
        LinearDecay("opt", 1.0, 0.1, 10)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        LinearDecay(opt, 1.0, 0.1, 0)
    with pytest.raises(TypeError, match="steps must be a positive int"):
        LinearDecay(opt, 1.0, 0.1, 10.5)
    with pytest.raises(ValueError, match="start must be a finite number >= 0, got -1.0"):
        LinearDecay(opt, -1.0, 0.1, 10)
    with pytest.raises(ValueError, match="every"):
        StepDecay(opt, 1.0, 0.5, every=0)
    with pytest.raises(ValueError, match="gamma"):
        ExponentialDecay(opt, 1.0, -0.5)


# ---- one rule for a learning rate; no division by zero; decays that decay -------------------


@pytest.mark.parametrize("lr", [0.0, 0, 1e-300, 5])
def test_one_learning_rate_rule_for_optimizers_schedules_and_fit(lr):
    from micrograd_nn.optim import check_lr
    from micrograd_nn.train import fit
    assert check_lr(lr) == float(lr)
    p = Value(1.5)
    p.grad = 2.0
    SGD([p], lr=lr).step()
    model = MLP(2, [1], seed=0)
    fit(model, [[0.0, 1.0], [1.0, 0.0]], [0, 1], lr=lr, epochs=1, progress=False)


@pytest.mark.parametrize("lr, error", [(-0.1, ValueError), (math.nan, ValueError),
                                       (math.inf, ValueError), (True, TypeError),
                                       ("0.1", TypeError)])
def test_a_bad_learning_rate_is_refused_alike_everywhere(lr, error):
    from micrograd_nn.train import fit
    message = "lr must be a finite number >= 0"
    with pytest.raises(error, match=message):
        SGD([Value(1.0)], lr=lr)
    with pytest.raises(error, match=message):
        Adam([Value(1.0)], lr=lr)
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(error, match=message):
        opt.lr = lr
    with pytest.raises(error, match=message):
        fit(MLP(2, [1], seed=0), [[0.0, 1.0], [1.0, 0.0]], [0, 1], lr=lr, epochs=1,
            progress=False)


def test_a_learning_rate_of_zero_leaves_the_parameters_alone():
    p = Value(1.5)
    p.grad = 2.0
    SGD([p], lr=0.0).step()
    assert p.data == 1.5


@pytest.mark.parametrize("eps", [0.0, 0, -1e-8])
def test_adam_refuses_eps_zero_which_divides_zero_by_zero(eps):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        Adam([Value(1.0)], eps=eps)


def test_adam_steps_through_a_zero_gradient():
    p = Value(1.0)
    opt = Adam([p], lr=0.1, eps=1e-300)
    opt.step()           # m = v = 0: 0 / (0 + eps)
    assert p.data == 1.0


@pytest.mark.parametrize("make", [lambda opt: ExponentialDecay(opt, start=0.1, gamma=10),
                                  lambda opt: StepDecay(opt, start=0.1, factor=1.5, every=2)])
def test_growing_factors_are_refused_before_they_overflow(make):
    with pytest.raises(ValueError, match=r"must be a number in \[0, 1\] \(a decay\)"):
        make(SGD([Value(1.0)], lr=0.1))


def test_a_decay_runs_any_number_of_steps():
    opt = SGD([Value(1.0)], lr=0.1)
    schedule = ExponentialDecay(opt, start=0.1, gamma=0.5)
    for _ in range(5000):
        schedule.step()
    assert opt.lr == 0.0


def test_an_int_too_large_for_a_float_is_a_value_error_saying_so():
    from micrograd_nn.optim import check_lr
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got an int too large "
                                         "for a float \\(2001 bits\\)"):
        check_lr(2**2000)
