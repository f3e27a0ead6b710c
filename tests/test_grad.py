"""grad() and hessian(): gradients as values, to any order, from the same derivative rules."""

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_nn import Value, grad, hessian, no_grad

from strategies import BINARY, UNARY, reals

H = 1e-5  # step of the central difference of a derivative


def derivative(f, k):
    """The k-th derivative of the one-input function f, as a function of a float."""
    def d(x):
        xv = Value(x)
        out = f(xv)
        for _ in range(k):
            (out,) = grad(out, [xv], create_graph=True)
        return out.data
    return d


def assert_close(a, b, rtol=1e-4, atol=1e-6):
    assert abs(a - b) <= atol + rtol * abs(b), (a, b)


# ---- first order: the same numbers as backward, without touching .grad ---------------------------

def test_grad_matches_backward_and_leaves_grad_fields_alone():
    x, y = Value(0.5), Value(-1.5)
    out = (x * y).tanh() + x.exp() / (y * y)
    gx, gy = grad(out, [x, y])
    assert type(gx) is float and (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)
    out.backward()
    assert (gx, gy) == (x.grad, y.grad)


def test_grad_of_an_unrelated_input_is_zero():
    x, other = Value(2.0), Value(7.0)
    assert grad(x * x, [other, x]) == [0.0, 4.0]
    g_other, g_x = grad(x * x, [other, x], create_graph=True)
    assert isinstance(g_other, Value) and g_other.data == 0.0 and g_x.data == 4.0


def test_grad_output_scales_and_may_be_a_value():
    x = Value(3.0)
    assert grad(x * x, [x], grad_output=0.5) == [3.0]
    s = Value(2.0)
    (g,) = grad(x * x, [x], grad_output=s, create_graph=True)
    assert g.data == 12.0
    assert grad(g, [s]) == [6.0]


def test_grad_rejects_non_values():
    with pytest.raises(TypeError, match="grad\\(\\) needs a Value as output, got float"):
        grad(1.0, [Value(1.0)])
    with pytest.raises(TypeError, match="input 1 is float"):
        grad(Value(1.0), [Value(1.0), 2.0])


# ---- second and third derivatives of every op --------------------------------------------------

@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_higher_derivatives_match_differences_of_the_lower(name, order):
    f, domain = UNARY[name]
    lower, upper = derivative(f, order - 1), derivative(f, order)

    @given(domain)
    def check(x):
        numeric = (lower(x + H) - lower(x - H)) / (2 * H)
        assert_close(upper(x), numeric, rtol=1e-4, atol=1e-4)

    check()


@pytest.mark.parametrize("name", sorted(BINARY))
def test_mixed_partials_are_symmetric_and_match_differences(name):
    f, dx, dy = BINARY[name]

    @given(dx, dy)
    def check(x, y):
        xv, yv = Value(x), Value(y)
        gx, gy = grad(f(xv, yv), [xv, yv], create_graph=True)
        (dxy,) = grad(gx, [yv])
        (dyx,) = grad(gy, [xv])
        assert_close(dxy, dyx, rtol=1e-9, atol=1e-12)

        def first_x(y_):
            a, b = Value(x), Value(y_)
            return grad(f(a, b), [a])[0]

        numeric = (first_x(y + H) - first_x(y - H)) / (2 * H)
        assert_close(dxy, numeric, rtol=1e-4, atol=1e-4)

    check()


@given(st.lists(reals(-5, 5), min_size=2, max_size=5))
def test_second_derivatives_of_n_ary_nodes(xs):
    vs = [Value(x) for x in xs]
    out = Value.logsumexp(vs) + Value.sum(v * v for v in vs) * Value.linear(vs, vs[::-1])
    (g0,) = grad(out, [vs[0]], create_graph=True)
    row = grad(g0, vs)

    def first(x0):
        ws = [Value(x0)] + [Value(x) for x in xs[1:]]
        o = Value.logsumexp(ws) + Value.sum(w * w for w in ws) * Value.linear(ws, ws[::-1])
        return grad(o, [ws[0]])[0]

    assert_close(row[0], (first(xs[0] + H) - first(xs[0] - H)) / (2 * H), atol=1e-3)


def test_known_derivatives_to_fourth_order():
    x = Value(0.3)
    out = x.exp() * x ** 3  # e^x x^3: the k-th derivative is e^x (x^3 + 3k x^2 + 3k(k-1) x + k(k-1)(k-2))
    for k in range(1, 5):
        (out,) = grad(out, [x], create_graph=True)
        expected = math.exp(0.3) * (0.027 + 3 * k * 0.09 + 3 * k * (k - 1) * 0.3
                                    + k * (k - 1) * (k - 2))
        assert math.isclose(out.data, expected, rel_tol=1e-12)


def test_create_graph_records_nothing_under_no_grad():
    x = Value(2.0)
    y = x ** 3
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)
    assert g.data == 12.0 and g.is_leaf()


def test_gradient_graph_is_an_ordinary_graph():
    x = Value(1.5, label="x")
    (g,) = grad(x.sigmoid(), [x], create_graph=True)
    assert not g.is_leaf()
    g.backward()
    s = 1 / (1 + math.exp(-1.5))
    assert math.isclose(x.grad, s * (1 - s) * (1 - 2 * s), rel_tol=1e-12)


# ---- hessian -----------------------------------------------------------------------------------

def test_hessian_of_a_known_function():
    h = hessian(lambda x, y: x * x * y + y.exp(), [1.0, 2.0])
    assert h == [[4.0, 2.0], [2.0, pytest.approx(math.exp(2.0))]]


def test_hessian_is_symmetric_and_leaves_inputs_alone():
    a, b, c = Value(0.2), Value(-0.7), Value(1.1)
    h = hessian(lambda x, y, z: (x * y * z).tanh() + (x / (z * z + 1)).exp(), [a, b, c])
    assert all(h[i][j] == h[j][i] for i in range(3) for j in range(3))
    assert (a.grad, b.grad, c.grad) == (0.0, 0.0, 0.0)


def test_hessian_rejects_a_function_that_returns_a_number():
    with pytest.raises(TypeError, match="f must return a Value, got float"):
        hessian(lambda x: 1.0, [1.0])


def test_hessian_of_a_small_mlp_loss_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from micrograd_nn.nn import MLP

    model = MLP(2, [3, 2, 1], activation="tanh", seed=7)
    X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
    Y = [1.0, -0.5, 0.2]
    params = model.parameters()

    loss = Value.sum((model(x) - y) ** 2 for x, y in zip(X, Y)) / len(X)
    first = grad(loss, params, create_graph=True)
    ours = [grad(g, params) for g in first]

    sizes = [(3, 2), (2, 3), (1, 2)]  # (neurons, inputs) per layer, in parameters() order

    def torch_loss(flat):
        xs = torch.tensor(X, dtype=torch.float64)
        at = 0
        h = xs
        for i, (nout, nin) in enumerate(sizes):
            block = flat[at:at + nout * (nin + 1)].reshape(nout, nin + 1)
            at += nout * (nin + 1)
            h = h @ block[:, :nin].T + block[:, nin]
            if i < len(sizes) - 1:
                h = torch.tanh(h)
        return ((h[:, 0] - torch.tensor(Y, dtype=torch.float64)) ** 2).mean()

    flat = torch.tensor([p.data for p in params], dtype=torch.float64)
    assert math.isclose(torch_loss(flat).item(), loss.data, rel_tol=1e-12)
    theirs = torch.autograd.functional.hessian(torch_loss, flat).tolist()
    for i in range(len(params)):
        for j in range(len(params)):
            assert math.isclose(ours[i][j], theirs[i][j], rel_tol=1e-9, abs_tol=1e-12), (i, j)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_second_and_third_derivatives_agree_with_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    f, domain = UNARY[name]
    torch_f = {"softplus": lambda t: torch.logaddexp(t, torch.zeros_like(t))}.get(name, f)

    @given(domain)
    def check(x):
        xv = Value(x)
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        ours, theirs = f(xv), torch_f(t)
        for _ in range(3):
            (ours,) = grad(ours, [xv], create_graph=True)
            (theirs,) = torch.autograd.grad(theirs, [t], create_graph=True, allow_unused=True)
            if theirs is None or not theirs.requires_grad:  # torch's graph ended: a constant
                theirs = torch.zeros((), dtype=torch.float64, requires_grad=True) + (
                    0.0 if theirs is None else theirs.detach())
            assert math.isclose(ours.data, theirs.item(), rel_tol=1e-9, abs_tol=1e-9)

    check()


def test_newton_example_converges(capsys, monkeypatch):
    import runpy
    from pathlib import Path

    monkeypatch.setattr(sys, "argv", ["examples/newton.py"])   # run as a script, no options
    runpy.run_path(str(Path(__file__).parent.parent / "examples" / "newton.py"),
                   run_name="__main__")
    out = capsys.readouterr().out
    assert "minimum at x = 1.130901122630" in out
    assert "minimum at (x, y) = (1.000000000000, 1.000000000000)" in out


def test_zero_times_infinity_agrees_between_grad_and_backward():
    x, c = Value(0.0), Value(0.0)
    y = (x ** 0.5) * c  # d(x**0.5)/dx is inf at 0, but dy/d(x**0.5) = c = 0
    assert grad(y, [x]) == [0.0]
    (g,) = grad(y, [x], create_graph=True)
    assert g.data == 0.0
    y.backward()
    assert x.grad == 0.0


def test_create_graph_keeps_zero_valued_gradients_differentiable():
    x = Value(0.0)
    u = x * x
    y = u * u  # dy/du = 2u is 0 at x = 0, but its graph carries the higher derivatives
    g = y
    for _ in range(4):
        (g,) = grad(g, [x], create_graph=True)
    assert g.data == 24.0  # d4/dx4 x**4


def test_grad_wants_a_list_of_inputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"write grad\(y, \[x\]\)"):
        grad(x * x, x)


def test_a_gradient_graph_draws_with_its_local_derivatives():
    from micrograd_nn.viz import draw_graph

    x, w = Value(1.5, "x"), Value(0.25, "w")
    (g,) = grad((x * w).sigmoid(), [x], create_graph=True)  # dy/dx = y(1-y) w, as a graph
    g.label = "dy/dx"
    g.backward()
    dot = draw_graph(g).source
    assert "dy/dx" in dot
    # every interior node of the gradient's graph has its local derivatives on edges
    from micrograd_nn.engine import topological_order
    interior = [v for v in topological_order(g) if not v.is_leaf()]
    assert sum(len(v.operands) for v in interior) <= dot.count("->")
    s = 1 / (1 + math.exp(-0.375))
    assert math.isclose(x.grad, 0.25 ** 2 * s * (1 - s) * (1 - 2 * s), rel_tol=1e-12)
