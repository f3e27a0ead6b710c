"""Differential tests: values and gradients agree with PyTorch in float64 to 1e-9 relative."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_nn import Value, ops
from micrograd_nn.pytorch import TORCH

from strategies import BINARY, UNARY, reals
from test_ops import ROWS

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed; .ci/run installs torch==2.13.0 for these tests")

RTOL = 1e-9
ATOL = 1e-12

# How each op reads on tensors where the method name differs from the engine's.
def exact_softplus(t):
    # torch.nn.functional.softplus switches to the identity above 20; logaddexp is exact
    return torch.logaddexp(t, torch.zeros_like(t))


TORCH_UNARY = {
    "softplus": exact_softplus,
    "sqrt": lambda t: t.sqrt(),
}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def both(f, xs, torch_f=None):
    """Run f on Values and on float64 tensors; return (value, grads) of each."""
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tout = (torch_f or f)(*ts)
    tout.backward()
    return (out.data, [v.grad for v in vs]), (tout.item(), [t.grad.item() for t in ts])


def assert_agree(ours, theirs):
    (v, g), (tv, tg) = ours, theirs
    assert close(v, tv), (v, tv)
    for a, b in zip(g, tg):
        assert close(a, b), (g, tg)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_agree_with_torch(name):
    f, domain = UNARY[name]

    @given(domain)
    def check(x):
        assert_agree(*both(f, [x], TORCH_UNARY.get(name)))

    check()


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_agree_with_torch(name):
    f, dx, dy = BINARY[name]

    @given(dx, dy)
    def check(x, y):
        assert_agree(*both(f, [x, y]))

    check()


@pytest.mark.parametrize("op", ops.OPS, ids=lambda op: op.name)
def test_every_op_of_the_table_agrees_with_torch(op):
    """Drawn from the table, not a hand list: a row without a torch mapping fails here."""
    assert op.name in TORCH, (f"the op {op.name!r} has no torch mapping: add it to TORCH in "
                              f"micrograd_nn/pytorch.py")
    to_torch = TORCH[op.name]
    domains = ROWS[op]
    if op.arity is None:   # n-ary: three operands (linear: w, x, b)
        width = 3
        ours, theirs = (lambda *v: op(list(v))), (lambda *t: to_torch(torch, t))
    else:
        width = op.arity
        ours, theirs = op, (lambda *t: to_torch(torch, *t))

    @given(st.tuples(*(domains * width)[:width]))
    def check(xs):
        assert_agree(*both(ours, list(xs), theirs))

    check()


@pytest.mark.parametrize("n", [-1.0, 0.5, 2.0, 3.0])
def test_constant_powers_agree_with_torch(n):
    @given(reals(0.05, 5))
    def check(x):
        assert_agree(*both(ops.powc(n), [x], lambda t: TORCH["**n"](torch, t, n)))

    check()


@given(st.lists(reals(-50, 50), min_size=1, max_size=8))
def test_logsumexp_agrees_with_torch(xs):
    assert_agree(*both(lambda *v: Value.logsumexp(v), xs,
                       lambda *t: torch.logsumexp(torch.stack(t), 0)))


@given(st.integers(1, 6).flatmap(lambda n: st.lists(reals(-3, 3), min_size=2 * n + 1,
                                                     max_size=2 * n + 1)))
def test_linear_node_agrees_with_torch(xs):
    n = (len(xs) - 1) // 2
    assert_agree(*both(lambda *v: Value.linear(v[:n], v[n:2 * n], v[-1]).sigmoid(), xs,
                       lambda *t: (torch.stack(t[:n]) @ torch.stack(t[n:2 * n]) + t[-1]).sigmoid()))


@given(st.integers(1, 3).flatmap(lambda n: st.lists(reals(-3, 3), min_size=3 * n + 2,
                                                     max_size=3 * n + 2)))
def test_matvec_agrees_with_torch(xs):
    n = (len(xs) - 2) // 3   # W: 2 x n, x: n, b: 2

    def ours(*v):
        z1, z2 = Value.matvec([v[:n], v[n:2 * n]], v[2 * n:3 * n], v[3 * n:])
        return z1.tanh() * z2

    def theirs(*t):
        z = torch.stack([torch.stack(t[:n]), torch.stack(t[n:2 * n])]) @ torch.stack(
            t[2 * n:3 * n]) + torch.stack(t[3 * n:])
        return z[0].tanh() * z[1]

    assert_agree(*both(ours, xs, theirs))


@given(st.lists(reals(-3, 3), min_size=3, max_size=3))
def test_composed_expression_agrees_with_torch(xs):
    def f(a, b, c):
        h = (a * b + c).tanh()
        return (h * h + (b - c).sigmoid() / (a * a + 1)).log() + (h * 0.5).exp() - c ** 3

    assert_agree(*both(f, xs))


def test_relu_at_zero_agrees_with_torch():
    assert_agree(*both(lambda x: x.relu(), [0.0]))


@pytest.mark.parametrize("x", [-1000.0, -50.0, 50.0, 1000.0])
def test_extreme_inputs_agree_with_torch(x):
    assert_agree(*both(lambda v: v.sigmoid(), [x]))
    assert_agree(*both(lambda v: v.tanh(), [x]))
    assert_agree(*both(lambda v: v.softplus(), [x], exact_softplus))


def test_reuse_and_repeated_backward_agree_with_torch():
    x = Value(0.3)
    y = (x * x).exp() + x
    y.backward()
    y.backward()
    t = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    ty = (t * t).exp() + t
    ty.backward(retain_graph=True)
    ty.backward()
    assert close(x.grad, t.grad.item())
