"""Tests of micrograd_nn.losses: closed forms, derivatives, extremes, validation."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from micrograd_nn.engine import Value
from micrograd_nn.gradcheck import gradcheck
from micrograd_nn.losses import (bce_with_logits, binary_cross_entropy, cross_entropy, hinge, l2,
                                 mse, softmax)

finite = st.floats(-5, 5, allow_nan=False)


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# ---- mse -------------------------------------------------------------------------------------


def test_mse_single_value_and_gradient():
    yhat = Value(2.5)
    loss = mse(yhat, 1.0)
    assert loss.data == 2.25
    loss.backward()
    assert yhat.grad == 2 * (2.5 - 1.0)


def test_mse_mean_and_sum_over_a_list():
    preds = [Value(1.0), Value(-2.0), Value(0.5)]
    targets = [0.0, 1.0, 0.5]
    loss = mse(preds, targets)
    assert loss.data == pytest.approx((1 + 9 + 0) / 3)
    loss.backward()
    assert [p.grad for p in preds] == pytest.approx([2 * 1 / 3, 2 * -3 / 3, 0.0])
    for p in preds:
        p.grad = 0.0
    total = mse(preds, targets, reduction="sum")
    assert total.data == pytest.approx(10.0)
    total.backward()
    assert [p.grad for p in preds] == pytest.approx([2.0, -6.0, 0.0])


def test_mse_accepts_numpy_targets_value_targets_and_nested_outputs():
    preds = [Value(1.0), Value(2.0)]
    assert mse(preds, np.array([0.0, 0.0])).data == 2.5
    assert mse(preds, [Value(1.0), Value(1.0)]).data == 0.5
    nested = mse([[Value(1.0), Value(2.0)], [Value(0.0), Value(0.0)]], [[1.0, 0.0], [0.0, 2.0]])
    assert nested.data == pytest.approx((0 + 4 + 0 + 4) / 4)


def test_mse_validation():
    with pytest.raises(ValueError, match="unknown reduction 'avg'; valid: 'mean', 'sum'"):
        mse(Value(1.0), 0.0, reduction="avg")
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        mse([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="needs a list of targets"):
        mse([Value(1.0)], 1.0)
    with pytest.raises(TypeError, match="single target"):
        mse(Value(1.0), [1.0])
    with pytest.raises(TypeError, match=r"target\[1\] must be a number, got str"):
        mse([Value(1.0), Value(1.0)], [1.0, "2"])
    with pytest.raises(TypeError, match=r"pred\[0\] must be a Value or a number"):
        mse([None], [1.0])
    with pytest.raises(ValueError, match="empty"):
        mse([], [])
    with pytest.raises(ValueError, match="mse: target must be a finite number, got nan"):
        mse(Value(1.0), float("nan"))
    with pytest.raises(ValueError, match=r"mse: target\[1\] must be a finite number, got inf"):
        mse([Value(1.0), Value(1.0)], [0.0, math.inf])


# ---- binary cross-entropy --------------------------------------------------------------------


@pytest.mark.parametrize("p, y", [(0.3, 1.0), (0.3, 0.0), (0.8, 0.25), (0.5, 0.5)])
def test_bce_closed_form_and_derivative(p, y):
    prob = Value(p)
    loss = binary_cross_entropy(prob, y)
    assert loss.data == pytest.approx(-(y * math.log(p) + (1 - y) * math.log(1 - p)), rel=1e-14)
    loss.backward()
    assert prob.grad == pytest.approx((p - y) / (p * (1 - p)), rel=1e-12)


def test_bce_clamps_saturated_probabilities():
    for p, y in [(0.0, 1.0), (1.0, 0.0)]:
        prob = Value(p)
        loss = binary_cross_entropy(prob, y)
        assert loss.data == pytest.approx(-math.log(1e-12), rel=1e-6)  # 27.63
        loss.backward()
        assert prob.grad == 0.0  # a clamped probability is a constant, as with torch.clamp
    assert binary_cross_entropy(Value(1.0), 1.0).data == pytest.approx(1e-12, abs=1e-15)
    assert binary_cross_entropy(Value(0.0), 0.0, eps=1e-3).data == pytest.approx(-math.log(1 - 1e-3))


def test_bce_mean_over_a_list():
    probs = [Value(0.9), Value(0.2)]
    loss = binary_cross_entropy(probs, [1, 0])
    assert loss.data == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)


def test_bce_validation():
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\], got -1.0"):
        binary_cross_entropy(Value(0.5), -1)
    with pytest.raises(ValueError, match="probability in .0, 1.*bce_with_logits"):
        binary_cross_entropy(Value(1.5), 1)
    with pytest.raises(ValueError, match="eps"):
        binary_cross_entropy(Value(0.5), 1, eps=0.0)
    with pytest.raises(TypeError, match="target must be a number"):
        binary_cross_entropy(Value(0.5), "1")


# ---- bce with logits -------------------------------------------------------------------------


@pytest.mark.parametrize("z", [-30.0, -2.0, -0.1, 0.0, 0.7, 3.0, 30.0])
@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_bce_with_logits_closed_form_and_derivative(z, y):
    logit = Value(z)
    loss = bce_with_logits(logit, y)
    expected = max(z, 0) - z * y + math.log1p(math.exp(-abs(z)))
    assert loss.data == pytest.approx(expected, rel=1e-14, abs=1e-300)
    loss.backward()
    # sigmoid(z) - y, written without cancellation when z > 0 (sigmoid(z) = 1 - sigmoid(-z))
    expected_grad = sigmoid(z) - y if z <= 0 else (1 - y) - sigmoid(-z)
    assert logit.grad == pytest.approx(expected_grad, rel=1e-12)
    if abs(z) < 5:  # where the probability is not saturated it equals BCE of sigmoid(z)
        assert loss.data == pytest.approx(binary_cross_entropy(Value(sigmoid(z)), y).data,
                                          rel=1e-12)


@pytest.mark.parametrize("z, y, value, grad", [
    (1000.0, 1.0, 0.0, 0.0), (1000.0, 0.0, 1000.0, 1.0),
    (-1000.0, 0.0, 0.0, 0.0), (-1000.0, 1.0, 1000.0, -1.0),
])
def test_bce_with_logits_is_finite_at_extremes(z, y, value, grad):
    logit = Value(z)
    loss = bce_with_logits(logit, y)
    loss.backward()
    assert loss.data == value and logit.grad == grad


def test_bce_with_logits_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference implementation")
    zs = [-1000.0, -20.0, -1.5, 0.0, 0.25, 7.0, 1000.0]
    ys = [0.0, 1.0, 0.5, 1.0, 0.0, 0.2, 1.0]
    logits = [Value(z) for z in zs]
    loss = bce_with_logits(logits, ys)
    loss.backward()
    t = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        t, torch.tensor(ys, dtype=torch.float64))
    ref.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose([v.grad for v in logits], t.grad.tolist(), rtol=1e-12, atol=1e-300)


# ---- softmax and cross-entropy ---------------------------------------------------------------


def numpy_softmax(x):
    e = np.exp(np.asarray(x) - np.max(x))
    return e / e.sum()


def test_softmax_matches_numpy_and_sums_to_one():
    x = [1.0, -2.0, 0.5, 3.0]
    probs = softmax([Value(v) for v in x])
    np.testing.assert_allclose([p.data for p in probs], numpy_softmax(x), rtol=1e-14)
    assert sum(p.data for p in probs) == pytest.approx(1.0, abs=1e-15)


def test_softmax_is_stable_and_its_jacobian_is_right():
    probs = softmax([Value(1000.0), Value(-1000.0), Value(999.0)])
    assert [p.data for p in probs] == pytest.approx([1 / (1 + math.exp(-1)), 0.0,
                                                    math.exp(-1) / (1 + math.exp(-1))])
    x = [Value(0.2), Value(-0.4), Value(1.1)]
    s = numpy_softmax([v.data for v in x])
    softmax(x)[0].backward()  # d s_0 / d x_j = s_0 (delta_0j - s_j)
    np.testing.assert_allclose([v.grad for v in x], s[0] * (np.eye(3)[0] - s), rtol=1e-12)


def test_cross_entropy_closed_form_and_gradient():
    x = [0.5, -1.0, 2.0]
    logits = [Value(v) for v in x]
    loss = cross_entropy(logits, 1)
    s = numpy_softmax(x)
    assert loss.data == pytest.approx(-math.log(s[1]), rel=1e-14)
    loss.backward()
    np.testing.assert_allclose([v.grad for v in logits], s - np.eye(3)[1], rtol=1e-12)


def test_cross_entropy_is_finite_at_extremes():
    logits = [Value(1000.0), Value(-1000.0)]
    wrong = cross_entropy(logits, 1)
    wrong.backward()
    assert wrong.data == 2000.0
    assert [v.grad for v in logits] == [1.0, -1.0]
    right = cross_entropy([Value(1000.0), Value(-1000.0)], 0)
    assert right.data == 0.0


def test_cross_entropy_batch_is_the_mean_and_matches_torch():
    rows = [[0.5, -1.0, 2.0], [1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]
    targets = [2, 1, 0]
    logits = [[Value(v) for v in row] for row in rows]
    loss = cross_entropy(logits, targets)
    each = [cross_entropy([Value(v) for v in row], t).data for row, t in zip(rows, targets)]
    assert loss.data == pytest.approx(sum(each) / 3, rel=1e-14)
    torch = pytest.importorskip("torch", reason="torch is the reference implementation")
    t = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(targets))
    ref.backward()
    loss.backward()
    assert loss.data == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose([[v.grad for v in row] for row in logits], t.grad.numpy(),
                               rtol=1e-12, atol=1e-300)


def test_cross_entropy_validation():
    logits = [Value(0.0), Value(1.0)]
    with pytest.raises(ValueError, match="target 2 is out of range for 2 classes"):
        cross_entropy(logits, 2)
    with pytest.raises(ValueError, match="out of range"):
        cross_entropy(logits, -1)
    with pytest.raises(TypeError, match="int class index"):
        cross_entropy(logits, 1.0)
    with pytest.raises(TypeError, match="int class index"):
        cross_entropy(logits, True)
    with pytest.raises(ValueError, match="empty"):
        cross_entropy([], 0)
    with pytest.raises(ValueError, match="2 samples but 1 targets"):
        cross_entropy([logits, logits], [0])
    assert cross_entropy(logits, np.int64(1)).data == pytest.approx(math.log1p(math.exp(-1)))


# ---- hinge and l2 ----------------------------------------------------------------------------


@pytest.mark.parametrize("s, y, value, grad", [
    (0.3, 1, 0.7, -1.0), (2.0, 1, 0.0, 0.0), (0.3, -1, 1.3, 1.0), (-4.0, -1.0, 0.0, 0.0),
])
def test_hinge_value_and_gradient(s, y, value, grad):
    score = Value(s)
    loss = hinge(score, y)
    assert loss.data == pytest.approx(value)
    loss.backward()
    assert score.grad == grad


def test_hinge_batch_is_micrograds_demo_loss():
    scores = [Value(0.3), Value(-2.0), Value(0.5)]
    labels = [1, -1, -1]
    expected = sum(max(0.0, 1 - y * s.data) for s, y in zip(scores, labels)) / 3
    assert hinge(scores, np.array(labels)).data == pytest.approx(expected)


def test_hinge_rejects_labels_other_than_plus_minus_one():
    with pytest.raises(ValueError, match="must be -1 or \\+1, got 0.0"):
        hinge(Value(1.0), 0)
    with pytest.raises(ValueError, match=r"target\[1\]"):
        hinge([Value(1.0), Value(1.0)], [1, 2])


def test_l2_is_the_sum_of_squares_with_gradient_2p():
    params = [Value(1.0), Value(-2.0), Value(0.5)]
    reg = l2(params)
    assert reg.data == 5.25
    reg.backward()
    assert [p.grad for p in params] == [2.0, -4.0, 1.0]
    assert l2([]).data == 0.0
    with pytest.raises(TypeError, match="item 1 is float"):
        l2([Value(1.0), 2.0])
    with pytest.raises(TypeError, match=r"got a single Value; for one Value v use l2\(\[v\]\)"):
        l2(Value(3.0))
    with pytest.raises(TypeError, match="must be a list of Values .* got float"):
        l2(3.0)


# ---- laws: every loss's gradient agrees with central differences -----------------------------


@given(st.lists(finite, min_size=1, max_size=4), st.data())
def test_mse_gradcheck(preds, data):
    targets = data.draw(st.lists(finite, min_size=len(preds), max_size=len(preds)))
    assert gradcheck(lambda *p: mse(list(p), targets), preds)


@given(st.lists(st.floats(0.01, 0.99), min_size=1, max_size=4), st.data())
def test_bce_gradcheck(probs, data):
    targets = data.draw(st.lists(st.floats(0, 1), min_size=len(probs), max_size=len(probs)))
    assert gradcheck(lambda *p: binary_cross_entropy(list(p), targets), probs)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=4), st.data())
def test_bce_with_logits_gradcheck(logits, data):
    targets = data.draw(st.lists(st.floats(0, 1), min_size=len(logits), max_size=len(logits)))
    assert gradcheck(lambda *z: bce_with_logits(list(z), targets), logits)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=5), st.data())
def test_cross_entropy_gradcheck(logits, data):
    target = data.draw(st.integers(0, len(logits) - 1))
    assert gradcheck(lambda *x: cross_entropy(list(x), target), logits)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=5))
def test_cross_entropy_is_minus_log_softmax(logits):
    xs = [Value(v) for v in logits]
    probs = softmax(xs)
    assert sum(p.data for p in probs) == pytest.approx(1.0)
    for t, p in enumerate(probs):
        if p.data > 1e-300:
            assert cross_entropy(xs, t).data == pytest.approx(-math.log(p.data), rel=1e-9,
                                                              abs=1e-12)


@given(st.lists(finite, min_size=1, max_size=4), st.data())
def test_hinge_gradcheck_away_from_the_kink(scores, data):
    labels = data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(scores),
                                max_size=len(scores)))
    assume(all(abs(1 - y * s) > 1e-3 for s, y in zip(scores, labels)))
    assert gradcheck(lambda *s: hinge(list(s), labels), scores)


@given(st.lists(finite, max_size=5))
def test_l2_gradcheck(params):
    assume(params)
    assert gradcheck(lambda *p: l2(p), params)
