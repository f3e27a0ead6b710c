"""The PyTorch bridge: MLP.to_torch / MLP.from_torch keep weights and activations, and a network
trained on both sides follows the same losses (float64)."""

import contextlib
import io
import math
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_nn import MLP, SGD
from micrograd_nn.datasets import make_moons
from micrograd_nn.losses import hinge, l2

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (pip install -e '.[torch]'); .ci/run installs it")

README = Path(__file__).resolve().parents[1] / "docs" / "pytorch.md"
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")


def params_of(model):
    return [p.data for p in model.parameters()]


def torch_params(net):
    """The parameters of a to_torch network in MLP order: neuron by neuron, weights then bias."""
    out = []
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for linear in linears:
        for row, b in zip(linear.weight.tolist(), linear.bias.tolist()):
            out.extend(row + [b])
    return out


architectures = st.tuples(
    st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.sampled_from(ACTIVATIONS), st.sampled_from(ACTIVATIONS), st.integers(0, 10_000))


@settings(max_examples=25)
@given(architectures, st.lists(st.floats(-3, 3), min_size=4, max_size=4))
def test_to_torch_computes_what_the_mlp_computes(arch, xs):
    nin, nouts, activation, output_activation, seed = arch
    model = MLP(nin, nouts, activation=activation, output_activation=output_activation,
                seed=seed)
    net = model.to_torch()
    assert torch_params(net) == params_of(model)
    x = xs[:nin]
    out = model(x)
    outs = [out] if nouts[-1] == 1 else out
    expected = net(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert len(expected) == len(outs)
    for o, e in zip(outs, expected):
        assert math.isclose(o.data, e, rel_tol=1e-12, abs_tol=1e-14)


@settings(max_examples=25)
@given(architectures)
def test_from_torch_round_trip_keeps_everything(arch):
    nin, nouts, activation, output_activation, seed = arch
    model = MLP(nin, nouts, activation=activation, output_activation=output_activation,
                seed=seed)
    back = MLP.from_torch(model.to_torch())
    assert params_of(back) == params_of(model)
    assert [p.label for p in back.parameters()] == [p.label for p in model.parameters()]
    assert (back.nin, back.nouts, back.output_activation) == (nin, nouts, output_activation)
    if len(nouts) > 1:  # a one-layer network has no hidden activation to keep
        assert back.activation == activation


def test_to_torch_and_from_torch_copy_rather_than_share():
    model = MLP(2, [3, 1], seed=0)
    net = model.to_torch()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    assert torch_params(net) != params_of(model)
    back = MLP.from_torch(net)
    with torch.no_grad():
        net[0].weight.zero_()
    assert params_of(back)[0] != 0.0


def test_from_torch_builds_the_module_a_user_wrote():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2),
                              torch.nn.Identity())  # float32, as torch makes them by default
    model = MLP.from_torch(net)
    assert (model.nin, model.nouts, model.activation, model.output_activation) == \
        (3, [5, 2], "tanh", "linear")
    x = [0.5, -1.0, 2.0]
    expected = net.double()(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert [v.data for v in model(x)] == pytest.approx(expected, rel=1e-12)
    single = MLP.from_torch(torch.nn.Linear(2, 1, dtype=torch.float64))
    assert (single.nin, single.nouts, single.output_activation) == (2, [1], "linear")


def test_to_torch_dtype():
    net = MLP(2, [2, 1], seed=0).to_torch(dtype=torch.float32)
    assert net[0].weight.dtype == torch.float32
    with pytest.raises(TypeError, match="floating torch.dtype"):
        MLP(2, [1], seed=0).to_torch(dtype=torch.int64)
    with pytest.raises(TypeError, match="floating torch.dtype"):
        MLP(2, [1], seed=0).to_torch(dtype="float64")


@pytest.mark.parametrize("module, message", [
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False)), "no bias"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LeakyReLU(),
                                 torch.nn.Linear(3, 1)), r"cannot convert layer 1 \(LeakyReLU"),
    (lambda: torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 1)),
     "layer 0 .* does not follow an nn.Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.ReLU()),
     "layer 2 .* does not follow an nn.Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(4, 1)),
     "layer 1 .* takes 4 inputs but the layer before it gives 3"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3),
                                 torch.nn.Tanh(), torch.nn.Linear(3, 1)),
     "different activations"),
    (lambda: torch.nn.Sequential(), "no nn.Linear layer"),
    (lambda: torch.nn.ReLU(), "cannot convert a ReLU"),
    (lambda: torch.nn.Conv1d(1, 1, 1), "cannot convert a Conv1d"),
])
def test_from_torch_refuses_modules_an_mlp_cannot_hold(module, message):
    with pytest.raises(ValueError, match=message):
        MLP.from_torch(module())


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        MLP.from_torch([[1.0, 2.0]])
    from micrograd_nn.pytorch import to_torch
    with pytest.raises(TypeError, match="needs an MLP"):
        to_torch("model")


def test_without_torch_the_bridge_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'micrograd_nn\[torch\]'"):
        MLP(2, [1], seed=0).to_torch()
    with pytest.raises(ImportError, match="PyTorch"):
        MLP.from_torch(object())


def train_both(model, steps, lr, alpha):
    """Train ``model`` and its torch copy side by side with SGD; returns both loss lists."""
    X, y = make_moons(n_samples=40, noise=0.1, seed=3)
    signs = (2 * y - 1).tolist()
    net = model.to_torch()
    Xt, yt = torch.tensor(X), torch.tensor(2.0 * y - 1)
    optimizer, torch_optimizer = SGD(model.parameters(), lr=lr), \
        torch.optim.SGD(net.parameters(), lr=lr)
    ours, theirs = [], []
    for _ in range(steps):
        loss = hinge([model(x) for x in X.tolist()], signs) + alpha * l2(model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ours.append(loss.data)
        torch_loss = torch.relu(1 - yt * net(Xt).squeeze(1)).mean() \
            + alpha * sum((p * p).sum() for p in net.parameters())
        torch_optimizer.zero_grad()
        torch_loss.backward()
        torch_optimizer.step()
        theirs.append(torch_loss.item())
    return ours, theirs, net


def test_twenty_sgd_steps_follow_the_same_losses_as_torch():
    model = MLP(2, [8, 8, 1], seed=7)
    ours, theirs, net = train_both(model, steps=20, lr=0.2, alpha=1e-4)
    assert ours[-1] < ours[0]  # it trained, so the comparison covers moving weights
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert math.isclose(a, b, rel_tol=1e-10, abs_tol=1e-10), f"step {k}: {a!r} vs {b!r}"
    assert params_of(MLP.from_torch(net)) == pytest.approx(params_of(model), rel=1e-10,
                                                           abs=1e-10)


def readme_loops() -> list:
    """The first two code blocks of docs/pytorch.md: the same training, written both ways."""
    text = README.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)[:2]


def test_readme_training_loops_run_and_agree():
    ours, theirs = readme_loops()
    assert "to_torch()" in theirs
    printed = []
    for code in (ours, theirs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(README), "exec"), {"__name__": "readme"})
        printed.append(float(out.getvalue().split()[-1]))
    assert math.isclose(printed[0], printed[1], rel_tol=1e-10, abs_tol=1e-10), printed
