"""fit, predict and evaluate: the loop is the documented one, checks come before training."""

import io
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_nn.datasets import make_blobs, make_moons
from micrograd_nn.engine import Value, is_grad_enabled
from micrograd_nn.losses import hinge, l2
from micrograd_nn.nn import MLP
from micrograd_nn.optim import SGD, LinearDecay
from micrograd_nn.train import (
    LOSSES, History, TrainingDiverged, accuracy, default_loss, evaluate, fit, output_width,
    predict, predict_proba, scores,
)


@pytest.fixture
def moons():
    return make_moons(24, noise=0.1, seed=0)


@pytest.fixture
def blobs():
    return make_blobs(30, centers=3, noise=0.3, seed=0)


def snapshot(model):
    return [p.data for p in model.parameters()]


# -------------------------------------------------------------------------------------------------
# Training works


@pytest.mark.parametrize("loss, width, data", [
    ("hinge", 1, "moons"), ("bce", 1, "moons"), ("bce_with_logits", 1, "moons"),
    ("mse", 1, "moons"), ("mse", 3, "blobs"), ("cross_entropy", 3, "blobs"),
    ("cross_entropy", 2, "moons"),
])
def test_every_loss_trains(loss, width, data, request):
    X, y = request.getfixturevalue(data)
    model = MLP(2, [8, width], seed=1)
    history = fit(model, X, y, loss=loss, optimizer="adam", lr=0.05, epochs=25, progress=False)
    assert isinstance(history, History) and history.loss_name == loss
    assert len(history) == history.epochs == 25
    assert len(history.accuracy) == len(history.lr) == 25
    assert all(math.isfinite(v) for v in history.loss)
    assert history.loss[-1] < 0.8 * history.loss[0]
    assert all(0.0 <= a <= 1.0 for a in history.accuracy)
    assert history.accuracy[-1] >= 0.75
    assert accuracy(model, X, y, loss=loss) >= 0.75


def test_bce_on_sigmoid_equals_bce_with_logits(moons):
    """"bce" applies the sigmoid, then the cross-entropy: the same as the fused, stable form."""
    a, b = MLP(2, [6, 1], seed=4), MLP(2, [6, 1], seed=4)
    ha = fit(a, *moons, loss="bce", epochs=10, progress=False)
    hb = fit(b, *moons, loss="bce_with_logits", epochs=10, progress=False)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-9)
    assert snapshot(a) == pytest.approx(snapshot(b), rel=1e-9, abs=1e-12)


def test_default_loss_follows_the_output_width(moons, blobs):
    assert default_loss(1) == "hinge" and default_loss(3) == "cross_entropy"
    assert fit(MLP(2, [4, 1], seed=0), *moons, epochs=1, progress=False).loss_name == "hinge"
    assert fit(MLP(2, [4, 3], seed=0), *blobs, epochs=1,
               progress=False).loss_name == "cross_entropy"


def test_fit_is_the_documented_loop(moons):
    """fit(hinge, sgd, linear schedule, l2) gives exactly the parameters of the loop by hand."""
    X, y = moons
    by_fit = MLP(2, [6, 6, 1], seed=3)
    history = fit(by_fit, X, y, loss="hinge", optimizer="sgd", lr=0.5, l2=1e-3,
                  schedule="linear", epochs=8, progress=False)

    by_hand = MLP(2, [6, 6, 1], seed=3)
    opt = SGD(by_hand.parameters(), lr=0.5)
    schedule = LinearDecay(opt, 0.5, 0.05, 8)
    losses, lrs = [], []
    for _ in range(8):
        out = [by_hand(x) for x in X.tolist()]
        loss = hinge(out, (2.0 * y - 1).tolist()) + 1e-3 * l2(by_hand.parameters())
        opt.zero_grad()
        loss.backward()
        lrs.append(opt.lr)
        opt.step()
        schedule.step()
        losses.append(loss.data)
    assert snapshot(by_fit) == pytest.approx(snapshot(by_hand), rel=1e-12, abs=1e-15)
    assert history.loss == pytest.approx(losses, rel=1e-12)
    assert history.lr == pytest.approx(lrs)
    assert history.lr[0] == 0.5 and history.lr[-1] == pytest.approx(0.05 + 0.45 / 8)


class CountingSGD(SGD):
    def __init__(self, params, lr):
        super().__init__(params, lr)
        self.steps = 0

    def step(self):
        self.steps += 1
        super().step()


def test_minibatches_steps_and_seeded_shuffling(moons):
    X, y = moons  # 24 samples
    model = MLP(2, [4, 1], seed=0)
    opt = CountingSGD(model.parameters(), lr=0.1)
    fit(model, X, y, optimizer=opt, epochs=3, batch_size=10, progress=False, seed=0)
    assert opt.steps == 3 * 3  # batches of 10, 10 and 4

    def train(seed):
        m = MLP(2, [4, 1], seed=0)
        fit(m, X, y, epochs=3, batch_size=5, progress=False, seed=seed)
        return snapshot(m)

    assert train(7) == train(7)
    assert train(7) != train(8)


def test_batch_larger_than_data_is_full_batch(moons):
    X, y = moons
    a, b = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=0)
    fit(a, X, y, epochs=2, batch_size=1000, progress=False)
    fit(b, X, y, epochs=2, progress=False)
    assert snapshot(a) == snapshot(b)


def test_accepts_lists_and_float_labels():
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    y = [1.0, 1.0, 0.0, 0.0]
    history = fit(MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)
    assert history.epochs == 2


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_shows_loss_and_accuracy(moons, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    history = fit(MLP(2, [4, 1], seed=0), *moons, epochs=3, progress=True)
    last = terminal.getvalue().replace("\n", "\r").split("\r")
    shown = [line for line in last if "3/3" in line]
    assert shown, terminal.getvalue()
    assert f"loss {history.loss[-1]:.4f}" in shown[-1]
    assert f"accuracy {history.accuracy[-1]:.1%}" in shown[-1]

    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    fit(MLP(2, [4, 1], seed=0), *moons, epochs=3, progress=False)
    assert quiet.getvalue() == ""


def test_progress_bar_is_off_when_not_a_terminal(moons, capsys):
    fit(MLP(2, [4, 1], seed=0), *moons, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "training" not in captured.err


# -------------------------------------------------------------------------------------------------
# Bad arguments: ValueError before the first step, the model untouched


def bad_fit_cases():
    X, y = make_moons(12, seed=0)
    X3, y3 = make_blobs(12, centers=3, seed=0)
    nan_X = X.copy()
    nan_X[4, 1] = np.nan
    return [
        (dict(X=X, y=y, loss="squared"), "unknown loss 'squared'"),
        (dict(X=X3, y=y3, loss="hinge"), "'hinge' is for two classes"),
        (dict(X=X3, y=y3, loss="bce"), "'bce' is for two classes"),
        (dict(X=X3, y=y3, width=3, loss="hinge"), "'hinge' needs a model with one output"),
        (dict(X=X3, y=y3, width=2, loss="cross_entropy"),
         r"y has labels up to 2 but the model has 2 outputs \(classes 0..1\)"),
        (dict(X=X3, y=y3, width=1, loss="cross_entropy"), "one output per class"),
        (dict(X=X3, y=y3, width=2, loss="mse"), "y has labels up to 2 .* 2 outputs"),
        (dict(X=X, y=y[:-1]), "X has 12 samples but y has 11 labels"),
        (dict(X=X[:, 0], y=y), r"X must be 2-D.*reshape\(-1, 1\)"),
        (dict(X=np.hstack([X, X]), y=y), "4 features per sample but the model expects 2"),
        (dict(X=nan_X, y=y), "NaN or infinite .* row 4, column 1"),
        (dict(X=X[:0], y=y[:0]), "X has no samples"),
        (dict(X=X, y=y + 0.5), "whole numbers"),
        (dict(X=X, y=y - 1), "y contains -1"),
        (dict(X=X, y=y.reshape(-1, 1)), "y must be 1-D"),
        (dict(X=X, y=y, epochs=0), "epochs must be a positive int, got 0"),
        (dict(X=X, y=y, batch_size=0), "batch_size must be a positive int, got 0"),
        (dict(X=X, y=y, seed=-1), "seed must be an int >= 0, .* got -1"),
        (dict(X=X, y=y, lr=-0.1), "lr must be a finite number >= 0"),
        (dict(X=X, y=y, lr=float("nan")), "lr must be a finite number >= 0"),
        (dict(X=X, y=y, l2=-1.0), "l2 must be a finite number >= 0"),
        (dict(X=X, y=y, optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
        (dict(X=X, y=y, optimizer="adam", momentum=0.9), "momentum applies to 'sgd'"),
        (dict(X=X, y=y, schedule="cosine"), "schedule must be None, 'linear'"),
    ]


@pytest.mark.parametrize("case, message", bad_fit_cases())
def test_bad_arguments_raise_before_training(case, message):
    case = dict(case)
    model = MLP(2, [3, case.pop("width", 1)], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match=message):
        fit(model, case.pop("X"), case.pop("y"), progress=False, **case)
    assert snapshot(model) == before
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize("case, message", [
    (dict(epochs=2.5), "epochs must be a positive int, got float: 2.5"),
    (dict(epochs=True), "epochs must be a positive int, got bool"),
    (dict(batch_size="8"), "batch_size must be a positive int, got str"),
    (dict(lr="0.1"), "lr must be a finite number >= 0, got str"),
    (dict(l2=None), "l2 must be a finite number >= 0, got NoneType"),
    (dict(seed="abc"), "seed must be an int >= 0, a numpy Generator or None, got str: 'abc'"),
    (dict(seed=1.0), "seed must be an int >= 0, .* got float"),
    (dict(progress="no"), "progress must be True or False, got str: 'no'"),
    (dict(progress=0), "progress must be True or False, got int"),
])
def test_arguments_of_the_wrong_type_raise_type_error_before_training(moons, case, message):
    model = MLP(2, [3, 1], seed=0)
    before = snapshot(model)
    case = dict({"progress": False}, **case)
    with pytest.raises(TypeError, match=message):
        fit(model, *moons, **case)
    assert snapshot(model) == before


def test_numpy_ints_and_generators_are_accepted(moons):
    X, y = moons
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=0)
    fit(a, X, y, epochs=np.int64(2), batch_size=np.int32(8), seed=np.int64(5), progress=False)
    fit(b, X, y, epochs=2, batch_size=8, seed=np.random.default_rng(5), progress=False)
    assert snapshot(a) == snapshot(b)


def test_names_are_case_insensitive(moons):
    X, y = moons
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=0)
    history = fit(a, X, y, loss="MSE", optimizer="SGD", schedule="Linear", epochs=3,
                  progress=False)
    assert history.loss_name == "mse"
    fit(b, X, y, loss="mse", optimizer="sgd", schedule="linear", epochs=3, progress=False)
    assert snapshot(a) == snapshot(b)
    np.testing.assert_array_equal(predict(a, X, loss="MSE"), predict(a, X, loss="mse"))
    assert evaluate(a, X, y, loss="Hinge") == evaluate(a, X, y, loss="hinge")


class BareSGD:
    """An optimizer by duck typing: step() and zero_grad(), no lr attribute."""

    def __init__(self, params, rate):
        self.params, self.rate = params, rate

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        for p in self.params:
            p.data -= self.rate * p.grad


def test_an_optimizer_without_lr_trains(moons):
    X, y = moons
    a, b = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=0)
    history = fit(a, X, y, optimizer=BareSGD(a.parameters(), 0.1), epochs=3, progress=False)
    assert len(history) == 3 and all(math.isnan(lr) for lr in history.lr)
    reference = fit(b, X, y, optimizer="sgd", lr=0.1, epochs=3, progress=False)
    assert snapshot(a) == snapshot(b)
    assert history.loss == reference.loss


def test_an_optimizer_without_lr_reports_divergence_without_one(moons):
    X, y = moons
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(TrainingDiverged, match="a smaller learning rate$"):
        fit(model, X, y, optimizer=BareSGD(model.parameters(), 1e300), epochs=5, progress=False)


def test_linear_schedule_needs_an_optimizer_it_can_set(moons):
    model = MLP(2, [4, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match="schedule='linear' sets the learning rate of an "
                                         "optim.Optimizer .* BareSGD"):
        fit(model, *moons, optimizer=BareSGD(model.parameters(), 0.1), schedule="linear",
            progress=False)
    assert snapshot(model) == before


def test_lr_goes_on_the_optimizer_object(moons):
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="lr is set on the optimizer"):
        fit(model, *moons, optimizer=SGD(model.parameters(), lr=0.1), lr=0.2, progress=False)
    with pytest.raises(ValueError, match="object with step"):
        fit(model, *moons, optimizer=object(), progress=False)


def test_model_must_be_callable(moons):
    with pytest.raises(TypeError, match="model must be callable"):
        fit("not a model", *moons, progress=False)


# -------------------------------------------------------------------------------------------------
# Divergence


class PoisoningSGD(SGD):
    """An SGD that sets a first-layer weight to NaN at its step number ``after``."""

    def __init__(self, params, lr, after):
        super().__init__(params, lr)
        self.after = after
        self.steps = 0

    def step(self):
        super().step()
        self.steps += 1
        if self.steps == self.after:
            self.params[0].data = math.nan


def test_nan_loss_stops_and_names_the_epoch(moons):
    model = MLP(2, [4, 1], seed=0)
    opt = PoisoningSGD(model.parameters(), lr=0.1, after=2)
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch 2 .*a parameter became NaN"):
        fit(model, *moons, optimizer=opt, loss="mse", epochs=10, progress=False)


@pytest.mark.parametrize("loss", ["bce_with_logits", "bce", "hinge", "mse"])
def test_nan_output_names_the_epoch_when_the_parameters_look_fine(moons, loss):
    """A NaN that enters through the data path (not the parameters) is caught at the output,
    before a loss can refuse it (bce: NaN is not a probability)."""
    model = MLP(2, [4, 1], seed=0)
    calls = {"n": 0}
    real_forward = model.forward

    def forward(x):  # from the third epoch on, every output is NaN
        calls["n"] += 1
        out = real_forward(x)
        # fit calls the model once first, to read its output width; then 24 calls per epoch
        return out * math.nan if calls["n"] > 1 + 2 * 24 else out

    model.forward = forward
    with pytest.raises(TrainingDiverged,
                       match=r"diverged at epoch 3 .*the model's output is nan") as info:
        fit(model, *moons, loss=loss, epochs=10, progress=False)
    assert info.value.epoch == 3
    assert info.value.history.epochs == 2
    assert isinstance(info.value, FloatingPointError)


def test_nan_hidden_by_relu_is_still_caught(moons):
    """relu(nan) is 0, so a NaN weight can leave the hinge loss finite: the parameters tell."""
    model = MLP(2, [4, 1], seed=0)
    opt = PoisoningSGD(model.parameters(), lr=0.1, after=3)
    with pytest.raises(TrainingDiverged, match="epoch 3 .*a parameter became NaN") as info:
        fit(model, *moons, optimizer=opt, loss="hinge", epochs=10, progress=False)
    assert info.value.epoch == 3 and opt.steps == 3


def test_overflow_stops_and_names_the_epoch(moons):
    X, y = moons
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d+: .*overflow") as info:
        fit(MLP(2, [8, 1], seed=0), X * 100, y, loss="mse", lr=1e3, epochs=50, progress=False)
    assert info.value.epoch >= 1
    assert isinstance(info.value.__cause__, OverflowError)


# -------------------------------------------------------------------------------------------------
# Reading the model


def test_scores_predict_and_proba_agree(moons, blobs):
    X, y = moons
    model = MLP(2, [4, 1], seed=0)
    s = scores(model, X)
    assert s.shape == (24,)
    np.testing.assert_array_equal(predict(model, X), (s > 0).astype(int))
    np.testing.assert_array_equal(predict(model, X, loss="mse"), (s > 0.5).astype(int))
    p = predict_proba(model, X, loss="bce_with_logits")
    assert p.shape == (24, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-s)))
    with pytest.raises(ValueError, match="does not give probabilities"):
        predict_proba(model, X, loss="hinge")

    X3, y3 = blobs
    model3 = MLP(2, [4, 3], seed=0)
    s3 = scores(model3, X3)
    assert s3.shape == (30, 3)
    np.testing.assert_array_equal(predict(model3, X3), s3.argmax(axis=1))
    p3 = predict_proba(model3, X3)
    np.testing.assert_allclose(p3.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p3.argmax(axis=1), s3.argmax(axis=1))
    assert accuracy(model3, X3, y3) == pytest.approx(np.mean(s3.argmax(axis=1) == y3))


def test_a_subset_may_lack_the_highest_classes(blobs):
    """A 3-output model is evaluated (and even trained) on a slice holding only labels 0, 1."""
    X, y = blobs
    keep = y < 2
    model = MLP(2, [4, 3], seed=0)
    for loss in ("cross_entropy", "mse"):
        result = evaluate(model, X[keep], y[keep], loss=loss)
        assert math.isfinite(result.loss)
        assert result.accuracy == accuracy(model, X[keep], y[keep])
    history = fit(model, X[keep], y[keep], epochs=2, progress=False)
    assert history.loss_name == "cross_entropy" and len(history) == 2
    with pytest.raises(ValueError, match="y has labels up to 2 but the model has 2 outputs"):
        evaluate(MLP(2, [4, 2], seed=0), X, y)


def test_predict_checks_the_loss_name_for_any_width(moons, blobs):
    with pytest.raises(ValueError, match="unknown loss 'zzz'"):
        predict(MLP(2, [4, 3], seed=0), blobs[0], loss="zzz")
    with pytest.raises(ValueError, match="unknown loss 'zzz'"):
        predict(MLP(2, [4, 1], seed=0), moons[0], loss="zzz")
    with pytest.raises(ValueError, match="unknown loss 'zzz'"):
        predict_proba(MLP(2, [4, 3], seed=0), blobs[0], loss="zzz")


@pytest.mark.parametrize("loss, k, width", [
    (None, 2, 1), (None, 3, 3), (None, 1, 1), ("hinge", 2, 1), ("bce", 1, 1),
    ("bce_with_logits", 2, 1), ("mse", 2, 1), ("mse", 4, 4), ("cross_entropy", 2, 2),
    ("cross_entropy", 1, 2), ("cross_entropy", 5, 5), ("Cross_Entropy", 3, 3),
])
def test_output_width(loss, k, width):
    assert output_width(loss, k) == width
    # the width it names is one fit accepts
    name = default_loss(width) if loss is None else loss
    y = np.arange(8) % k
    X = np.column_stack([y, -y]).astype(float)
    fit(MLP(2, [width], seed=0), X, y, loss=name, epochs=1, progress=False)


def test_output_width_refuses_a_binary_loss_on_three_classes():
    with pytest.raises(ValueError, match="'hinge' is for two classes .*not 3"):
        output_width("hinge", 3)
    with pytest.raises(ValueError, match="unknown loss"):
        output_width("zzz", 2)
    with pytest.raises(ValueError, match="n_classes must be a positive int, got 0"):
        output_width(None, 0)


def test_predict_proba_matches_numpy_even_far_out(blobs):
    X, _ = blobs
    model = MLP(2, [3], seed=0)  # linear outputs: scale the weights to reach huge logits
    for p in model.parameters():
        p.data *= 300.0
    s = scores(model, X)
    p3 = predict_proba(model, X, loss="cross_entropy")
    e = np.exp(s - s.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p3, e / e.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-300)
    binary = MLP(2, [1], seed=0)
    for p in binary.parameters():
        p.data *= 1000.0
    z = scores(binary, X)
    p2 = predict_proba(binary, X, loss="bce")
    assert np.all(np.isfinite(p2))
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(p2[:, 1], expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p2.sum(axis=1), 1.0)


def test_evaluation_records_no_graph(moons):
    X, _ = moons
    model = MLP(2, [4, 1], seed=0)
    captured = []
    real_forward = model.forward

    def spy(x):
        out = real_forward(x)
        captured.append(out)
        return out

    model.forward = spy
    scores(model, X)
    assert is_grad_enabled()
    assert captured and all(out.is_leaf() for out in captured)


def test_evaluate_matches_the_loss_by_hand(moons):
    X, y = moons
    model = MLP(2, [5, 1], seed=2)
    result = evaluate(model, X, y, loss="hinge", l2=1e-2)
    by_hand = hinge([model(x) for x in X.tolist()], (2.0 * y - 1).tolist()) \
        + 1e-2 * l2(model.parameters())
    assert result.loss == pytest.approx(by_hand.data, rel=1e-12)
    assert result.accuracy == accuracy(model, X, y)


def test_history_loss_is_the_objective_before_each_step(moons):
    X, y = moons
    model = MLP(2, [5, 1], seed=2)
    start = evaluate(model, X, y, loss="bce_with_logits")
    history = fit(model, X, y, loss="bce_with_logits", epochs=3, progress=False)
    assert history.loss[0] == pytest.approx(start.loss, rel=1e-12)
    assert history.accuracy[0] == start.accuracy


@given(st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_predict_is_argmax_of_scores(first_row_bias):
    model = MLP(2, [3], seed=0)  # one linear layer of 3 outputs
    for neuron, bias in zip(model.layers[0].neurons, first_row_bias):
        neuron.b.data = bias
    X = np.array([[0.1, -0.2], [1.0, 2.0], [-3.0, 0.5]])
    np.testing.assert_array_equal(predict(model, X), scores(model, X).argmax(axis=1))


def test_losses_table_is_consistent():
    assert set(LOSSES) == {"mse", "bce", "bce_with_logits", "cross_entropy", "hinge"}
    assert {name for name, spec in LOSSES.items() if spec.binary} == {
        "bce", "bce_with_logits", "hinge"}
    assert isinstance(LOSSES["hinge"].batch([Value(0.5)], [1.0]), Value)


# ---- wrong types and outcomes, refused with the right error --------------------------------


def test_complex_inputs_are_a_type_error_not_truncated():
    model = MLP(2, [1], seed=0)
    for X in ([[1 + 2j, 0.0], [0.0, 1.0]], np.array([[1, 0], [0, 1]], dtype=complex)):
        with pytest.raises(TypeError, match="X must hold real numbers, got complex"):
            fit(model, X, [0, 1], epochs=1, progress=False)
        with pytest.raises(TypeError, match="real numbers"):
            predict(model, X)


@pytest.mark.parametrize("y, shown", [([0, 1e20], "1e+20"), ([0, -1], "-1"),
                                      (np.array([0, 2**64 - 1], dtype=np.uint64),
                                       "18446744073709551615")])
def test_out_of_range_labels_are_reported_as_given(y, shown):
    with pytest.raises(ValueError, match=f"y contains {re.escape(shown)}$"):
        fit(MLP(2, [1], seed=0), [[0.0, 1.0], [1.0, 0.0]], y, epochs=1, progress=False)


def test_a_callable_without_parameters_is_a_type_error(moons):
    model = MLP(2, [1], seed=0)
    with pytest.raises(TypeError, match="model must have a parameters\\(\\) method"):
        fit(lambda x: model(x), *moons, epochs=1, progress=False)


def test_an_optimizer_over_another_models_parameters_is_refused(moons):
    model, other = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    before = snapshot(model)
    with pytest.raises(ValueError, match="updates 17 parameter\\(s\\) that are not the model's"):
        fit(model, *moons, optimizer=SGD(other.parameters(), lr=0.1), epochs=1, progress=False)
    mixed = model.parameters()[:3] + other.parameters()[:1]
    with pytest.raises(ValueError, match="updates 1 parameter\\(s\\)"):
        fit(model, *moons, optimizer=SGD(mixed, lr=0.1), epochs=1, progress=False)
    assert snapshot(model) == before
    # a subset of the model's own parameters (a frozen layer) is fine
    fit(model, *moons, optimizer=SGD(model.parameters()[:12], lr=0.1), epochs=1, progress=False)
    assert snapshot(model)[12:] == before[12:]


def test_fit_trains_while_another_thread_evaluates_under_no_grad():
    import threading

    from micrograd_nn import MLP, evaluate, fit
    from micrograd_nn.datasets import make_moons

    X, y = make_moons(40, noise=0.1, seed=3)

    def train():
        model = MLP(2, [8, 1], seed=5)
        return fit(model, X, y, epochs=15, lr=0.5, progress=False, seed=0).loss

    alone = train()
    stop = threading.Event()
    other = MLP(2, [8, 1], seed=6)

    def keep_evaluating():
        while not stop.is_set():
            evaluate(other, X, y)      # enters and leaves no_grad() over and over

    t = threading.Thread(target=keep_evaluating)
    t.start()
    try:
        beside = train()
    finally:
        stop.set()
        t.join()
    assert beside == alone and alone[-1] < alone[0]


def test_rows_without_features_are_refused_before_the_model_is_called():
    calls = []

    def model(row):
        calls.append(row)
        return Value.sum(row)

    for read in (scores, predict):
        with pytest.raises(ValueError, match="X has no features"):
            read(model, np.zeros((3, 0)))
    assert calls == []
    assert scores(model, [[1.0, 2.0]]).tolist() == [3.0]


def test_a_step_whose_graph_would_not_fit_in_memory_is_refused_before_it_starts(monkeypatch):
    from micrograd_nn import train

    def no_step(*args):
        raise AssertionError("a training step ran")

    monkeypatch.setattr(train, "_epoch", no_step)
    X, y = make_moons(300, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)   # 738 values and links per sample
    monkeypatch.setattr(train, "MAX_STEP_GRAPH", 738 * 100)
    with pytest.raises(ValueError, match=r"a step over a batch of 300 samples would build a "
                                         r"graph of 221,400 values and links \(738 per sample\), "
                                         r"more than micrograd_nn.train.MAX_STEP_GRAPH = 73,800 "
                                         r".*batches of at most 100 "):
        fit(model, X, y, loss="hinge", epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch of 101 samples"):
        fit(model, X, y, loss="hinge", epochs=1, batch_size=101, progress=False)
    with pytest.raises(AssertionError, match="a training step ran"):   # within the limit
        fit(model, X, y, loss="hinge", epochs=1, batch_size=100, progress=False)
    with pytest.raises(AssertionError, match="a training step ran"):   # compiled: no graph
        fit(model, X, y, loss="hinge", epochs=1, compile=True, progress=False)
