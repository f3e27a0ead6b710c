"""The op table: every row checked by check_op, user-defined ops, and what is derived from it."""

import math
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_nn import MLP, SGD, Op, Value, fit, grad, no_grad, ops
from micrograd_nn.ops import OPS, value_of
from micrograd_nn.testing import check_op, expressions, gradcheck, mlps, reals

# One row per op of the table: the domain its operands are drawn from, kinks and poles kept a
# safe distance away. Adding an op to micrograd_nn/ops.py means adding its row here.
ROWS = {
    ops.ADD: [reals(-10, 10)],
    ops.SUB: [reals(-10, 10)],
    ops.MUL: [reals(-10, 10)],
    ops.DIV: [reals(-10, 10), reals(-10, 10, away_from_zero=0.1)],
    ops.NEG: [reals(-10, 10)],
    ops.POW: [reals(0.05, 5), reals(-3, 3)],
    ops.EXP: [reals(-20, 20)],
    ops.LOG: [reals(1e-2, 1e3)],
    ops.RELU: [reals(-10, 10, away_from_zero=1e-3)],
    ops.SIGMOID: [reals(-30, 30)],
    ops.TANH: [reals(-10, 10)],
    ops.ABS: [reals(-10, 10, away_from_zero=1e-3)],
    ops.SQRT: [reals(1e-2, 1e3)],
    ops.SOFTPLUS: [reals(-30, 30)],
    ops.SUM: [reals(-10, 10)],
    ops.LINEAR: [reals(-5, 5)],
    ops.LOGSUMEXP: [reals(-30, 30)],
}


def test_every_op_of_the_table_has_a_test_row():
    assert set(ROWS) == set(OPS), "add a row to ROWS for each op of micrograd_nn/ops.py"


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_every_op_passes_check_op(op):
    check_op(op, *ROWS[op], n_operands=5 if op is ops.LINEAR else 3)


@pytest.mark.parametrize("n", [-1.0, 0.5, 2.0, 3.0])
def test_constant_powers_pass_check_op(n):
    check_op(ops.powc(n), reals(0.05, 5), order=3)


# ---- user-defined ops ----------------------------------------------------------------------------

SIN = Op("sin", math.sin, lambda x, out: (COS(x),), ("cos({0})",))
COS = Op("cos", math.cos, lambda x, out: (-SIN(x),), ("-sin({0})",))


def test_a_user_op_whose_rule_calls_another_op_passes_check_op_to_third_order():
    check_op(SIN, reals(-4, 4), order=3)


@pytest.mark.parametrize("rule, message", [
    (lambda x, out: (math.cos(value_of(x)),), "create_graph gives 0.0"),   # reads the float
    (lambda x, out: (math.cos(x),), "the rule fails on Values"),           # floats only
])
def test_check_op_catches_a_rule_written_for_floats_only(rule, message):
    bad = Op("sin", math.sin, rule)
    with pytest.raises(AssertionError, match=r"check_op\(sin\) at \[.*\]") as error:
        check_op(bad, reals(-3, 3))
    assert message in str(error.value)


@pytest.mark.parametrize("rule, message", [
    (lambda x, out: math.cos(x), "the rule returns float"),           # no tuple
    (lambda x, out: None, "the rule returns NoneType None, not a tuple of 1 derivative"),
    (lambda x, out: (1.0, 2.0), "the rule gives 2 derivative(s) for 1 operand(s)"),
    (lambda x, out: (), "the rule gives 0 derivative(s) for 1 operand(s)"),
    (lambda x, out: 1 / 0, "the rule raises ZeroDivisionError: division by zero"),
])
def test_check_op_names_the_op_when_its_rule_is_broken(rule, message):
    """Not the engine's unpacking error ("too many values to unpack"): an AssertionError that
    names the op and the input."""
    with pytest.raises(AssertionError, match=r"check_op\(sin\) at \[.*\]") as error:
        check_op(Op("sin", math.sin, rule), reals(-3, 3))
    assert message in str(error.value)


def test_check_op_catches_a_wrong_first_derivative_and_a_non_finite_forward():
    with pytest.raises(AssertionError, match="order 1: gradcheck failed .* backward"):
        check_op(Op("sq", lambda x: x * x, lambda x, out: (x,)), reals(-3, 3))
    with pytest.raises(AssertionError, match="the forward gives inf"):
        check_op(Op("inv", lambda x: math.inf, lambda x, out: (0.0,)), reals(-3, 3))


def test_a_user_op_differentiated_twice_and_trained():
    x = Value(0.5)
    y = SIN(x * x)
    (dy,) = grad(y, [x], create_graph=True)          # 2x cos(x^2)
    (d2y,) = grad(dy, [x])                           # 2 cos(x^2) - 4x^2 sin(x^2)
    assert math.isclose(dy.data, 2 * 0.5 * math.cos(0.25), rel_tol=1e-12)
    assert math.isclose(d2y, 2 * math.cos(0.25) - 4 * 0.25 * math.sin(0.25), rel_tol=1e-12)
    w = Value(0.1)   # fit sin(w * t) to sin(1.3 t)
    data = [(t / 4, math.sin(1.3 * t / 4)) for t in range(-8, 9)]
    opt = SGD([w], lr=0.5)
    for _ in range(100):
        loss = Value.sum([(SIN(w * t) - target) ** 2 for t, target in data]) / len(data)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(w.data - 1.3) < 1e-3


def test_calling_an_op_on_values_numbers_and_under_no_grad():
    x = Value(2.0)
    assert ops.EXP(0.0) == 1.0 and type(ops.EXP(0.0)) is float   # numbers only: the forward
    assert ops.MUL(3, 2.5) == 7.5
    y = ops.MUL(x, 3)
    assert isinstance(y, Value) and y.op is ops.MUL and y.local_grads == (3.0, 2.0)
    assert ops.SUM([x, 1.0, x]).data == 5.0 and ops.SUM(v for v in (x, x)).data == 4.0
    assert ops.LOGSUMEXP((0.0, 0.0)) == math.log(2.0)
    with no_grad():
        assert SIN(x).is_leaf()
    with pytest.raises(TypeError, match="sin takes 1 operand, got 2"):
        SIN(x, x)
    with pytest.raises(TypeError, match="operand 0 must be a Value or a real number, got str"):
        SIN("1")
    with pytest.raises(TypeError, match="sum takes one sequence"):
        ops.SUM(x, x)
    with pytest.raises(ValueError, match="arity must be 1, 2 or None"):
        Op("bad", abs, lambda x, out: (1.0,), arity=3)
    with pytest.raises(OverflowError, match="sin: operand 0 .603 digits. is too large"):
        SIN(2 ** 2000)


def test_domain_errors_name_the_op_and_operand():
    with pytest.raises(ValueError, match=r"sqrt\(-1.0\): sqrt is defined only for numbers >= 0"):
        Value(-1.0).sqrt()
    with pytest.raises(ValueError, match=r"log\(-1.0\)"):
        ops.LOG(-1.0)


# ---- what is derived from the table ------------------------------------------------------------

def test_table_methods_are_value_methods_with_the_rows_docstrings():
    for op in OPS:
        if op.method:
            method = getattr(Value, op.method)
            assert method.__name__ == op.method and method.__doc__ == op.doc
            assert getattr(Value(0.5), op.method)().op is op


def test_the_readme_names_only_methods_of_the_table_and_how_to_list_them():
    readme = (pathlib.Path(__file__).parent.parent / "docs" / "conventions.md").read_text(
        encoding="utf-8")
    start = readme.index("- Methods from the op table")
    item = readme[start:readme.index("\n- ", start)]
    listed = re.findall(r"`(\w+)\(\)`", item)
    assert listed and set(listed) <= {op.method for op in OPS if op.method}
    # the listing the README gives runs and names every method of the table
    expression = re.search(r"`(\[op\.method for op in .*? if op\.method\])`", item).group(1)
    import micrograd_nn
    assert eval(expression, {"micrograd_nn": micrograd_nn}) == [op.method for op in OPS if op.method]


def test_expr_whitelist_and_activations_come_from_the_table():
    from micrograd_nn.nn import ACTIVATIONS
    from micrograd_nn.viz import expr

    assert expr.methods() == tuple(op.method for op in OPS if op.expr)
    assert set(ACTIVATIONS) == {op.name for op in OPS if op.activation} | {"linear"}
    for method in expr.methods():
        got = expr.parse_expr(f"(x*x + 0.5).{method}()", {"x": Value(0.75, "x")})
        assert got.data == getattr(Value(0.75 * 0.75 + 0.5), method)().data


# ---- the strategies ------------------------------------------------------------------------------

@given(expressions(3), st.lists(reals(-2, 2), min_size=3, max_size=3))
def test_random_expressions_pass_gradcheck_to_second_order(f, xs):
    assert gradcheck(f, xs, order=2)


@settings(max_examples=20)
@given(mlps(activations=("tanh", "sigmoid")))   # smooth: no kink next to a drawn input
def test_random_mlps_pass_gradcheck_in_their_inputs(case):
    model, x = case
    assert gradcheck(lambda *xs: Value.sum([v * v for v in _outputs(model, xs)]), x)


def _outputs(model, xs):
    out = model(list(xs))
    return out if isinstance(out, list) else [out]


def test_gradcheck_order_two_reports_a_wrong_second_derivative():
    wrong = Op("sq", lambda x: x * x, lambda x, out: (2 * value_of(x),))  # 2x as a constant
    assert gradcheck(wrong, [1.5])   # the first derivative is right
    with pytest.raises(AssertionError, match=r"d\^2 f / dx0 dx0: create_graph gives 0.0, "
                                             r"central differences give 1.99999"):
        gradcheck(wrong, [1.5], order=2)


def test_gradcheck_works_inside_no_grad():
    with no_grad():
        assert gradcheck(lambda a: a * a.exp(), [0.3], order=2)


def test_hypothesis_is_imported_only_with_micrograd_nn_testing():
    import subprocess
    import sys

    code = "import sys, micrograd_nn; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
