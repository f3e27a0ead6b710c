"""gradcheck gives the same verdict inside and outside no_grad."""

import pytest

from micrograd_nn.engine import is_grad_enabled, no_grad
from micrograd_nn.gradcheck import gradcheck


def test_gradcheck_inside_no_grad_accepts_a_correct_function_and_restores_the_mode():
    def f(a, b):
        return (a * b).tanh() / b

    with no_grad():
        assert gradcheck(f, [0.3, 1.7])
        assert not is_grad_enabled()
    assert gradcheck(f, [0.3, 1.7])


def test_gradcheck_inside_no_grad_still_rejects_a_wrong_rule():
    from micrograd_nn.engine import Value

    def wrong(a):   # detach hides a's use from backward: d/da is reported as 1, truly 2a + 1
        return a.detach() * a + a

    with no_grad():
        with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
            gradcheck(wrong, [1.5])
    assert isinstance(wrong(Value(1.0)), Value)
