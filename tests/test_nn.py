"""Tests of micrograd_nn.nn: structure, conventions, gradients (vs PyTorch), persistence."""

import json
import math
import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_nn.engine import Value, topological_order
from micrograd_nn.gradcheck import gradcheck
from micrograd_nn.losses import binary_cross_entropy, cross_entropy, hinge, l2, mse
from micrograd_nn.nn import MLP, Layer, Module, Neuron
from micrograd_nn.optim import SGD, LinearDecay


def datas(values):
    return [v.data for v in values]


# ---- structure and micrograd's conventions --------------------------------------------------


def test_default_mlp_has_micrograds_337_parameters_in_layer_neuron_weight_order():
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    assert len(params) == 337 == model.num_parameters()
    assert [p.label for p in params[:4]] == ["L1.N1.w1", "L1.N1.w2", "L1.N1.b", "L1.N2.w1"]
    assert params[3 * 16].label == "L2.N1.w1"
    assert params[3 * 16 + 15].label == "L2.N1.w16"
    assert params[3 * 16 + 16].label == "L2.N1.b"
    assert [p.label for p in params[-2:]] == ["L3.N1.w16", "L3.N1.b"]
    # exactly the layer -> neuron -> (weights, bias) order
    expected = [p for layer in model.layers for n in layer.neurons for p in n.w + [n.b]]
    assert all(a is b for a, b in zip(params, expected)) and len(expected) == len(params)


def test_default_init_is_uniform_weights_and_zero_biases():
    model = MLP(2, [16, 16, 1], seed=3)
    for layer in model.layers:
        for n in layer.neurons:
            assert n.b.data == 0.0
            assert all(-1.0 <= w.data <= 1.0 for w in n.w)
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    assert min(weights) < -0.9 and max(weights) > 0.9  # spread over the whole interval


def test_default_activations_are_relu_hidden_and_linear_output():
    model = MLP(2, [16, 16, 1])
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]
    assert repr(model) == "MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)"
    assert repr(model.layers[0]) == "Layer(2 -> 16 relu)"
    assert repr(model.layers[0].neurons[0]) == "Neuron(2 inputs, relu)"


def test_same_weights_and_outputs_as_micrograd_after_random_seed():
    micrograd_nn_ = pytest.importorskip("micrograd.nn", reason="micrograd (bench extra) not installed")
    random.seed(1337)
    theirs = micrograd_nn_.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert datas(ours.parameters()) == datas(theirs.parameters())
    for x in ([0.3, -0.5], [1.5, 0.25], [-2.0, 2.0]):
        assert ours(x).data == pytest.approx(theirs(x).data, rel=1e-12, abs=1e-12)


def test_seed_is_reproducible_and_leaves_global_random_state_alone():
    random.seed(123)
    state = random.getstate()
    a = MLP(3, [4, 2], seed=7)
    assert random.getstate() == state
    b = MLP(3, [4, 2], seed=7)
    c = MLP(3, [4, 2], seed=8)
    assert datas(a.parameters()) == datas(b.parameters())
    assert datas(a.parameters()) != datas(c.parameters())
    for init in ("xavier", "he"):
        assert datas(MLP(3, [4, 2], init=init, seed=1).parameters()) == \
            datas(MLP(3, [4, 2], init=init, seed=1).parameters())
    assert random.getstate() == state


def test_seed_none_draws_from_the_global_random_module():
    random.seed(5)
    a = MLP(2, [3, 1])
    random.seed(5)
    b = MLP(2, [3, 1])
    assert datas(a.parameters()) == datas(b.parameters())


def test_xavier_and_he_scales():
    rng = random.Random(0)
    xavier = Layer(200, 100, init="xavier", rng=rng)
    bound = math.sqrt(6 / 300)
    w = np.array([p.data for n in xavier.neurons for p in n.w])
    assert np.all(np.abs(w) <= bound) and np.abs(w).max() > 0.95 * bound
    assert all(n.b.data == 0.0 for n in xavier.neurons)
    he = Layer(200, 100, init="he", rng=rng)
    w = np.array([p.data for n in he.neurons for p in n.w])
    assert w.std() == pytest.approx(math.sqrt(2 / 200), rel=0.03)  # 20000 draws: +-1% sampling
    assert abs(w.mean()) < 0.005
    assert all(n.b.data == 0.0 for n in he.neurons)


@pytest.mark.parametrize("activation, f", [
    ("relu", lambda z: max(z, 0.0)),
    ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
    ("tanh", math.tanh),
    ("linear", lambda z: z),
])
def test_neuron_computes_activation_of_weighted_sum(activation, f):
    n = Neuron(3, activation=activation, rng=random.Random(0))
    for w, v in zip(n.w, (0.5, -1.0, 2.0)):
        w.data = v
    n.b.data = 0.25
    for x in ([1.0, 2.0, 3.0], [-1.0, 0.5, -0.75]):
        z = 0.5 * x[0] - 1.0 * x[1] + 2.0 * x[2] + 0.25
        assert n(x).data == pytest.approx(f(z), rel=1e-15)
    # one fused node for z, then the activation (linear: z itself)
    out = n([1.0, 2.0, 3.0])
    z_node = out if activation == "linear" else out.operands[0]
    assert z_node.op.name == "linear"
    assert activation == "linear" or out.op.name == activation


def test_unknown_activation_or_init_lists_the_valid_names():
    with pytest.raises(ValueError, match="'relu', 'sigmoid', 'tanh', 'linear'"):
        MLP(2, [3, 1], activation="gelu")
    with pytest.raises(ValueError, match="output_activation 'softmax'"):
        MLP(2, [3, 1], output_activation="softmax")
    with pytest.raises(ValueError, match="'uniform', 'xavier', 'he'"):
        Neuron(2, init="normal")
    with pytest.raises(ValueError, match="valid"):
        Layer(2, 2, activation="RELU")


def test_bad_sizes_and_seed():
    with pytest.raises(ValueError, match="nin must be a positive int, got 0"):
        MLP(0, [1])
    with pytest.raises(TypeError, match="nin must be a positive int"):
        MLP(2.0, [1])
    with pytest.raises(ValueError, match="non-empty list"):
        MLP(2, [])
    with pytest.raises(ValueError, match=r"nouts\[1\]"):
        MLP(2, [3, -1])
    with pytest.raises(TypeError, match="seed"):
        MLP(2, [1], seed="abc")
    with pytest.raises(TypeError, match="rng"):
        Layer(2, 2, rng=42)
    with pytest.raises(ValueError, match="seed must be an int >= 0 or None, got -1"):
        MLP(2, [1], seed=-1)
    with pytest.raises(TypeError, match="seed must be an int >= 0 or None, got float"):
        MLP(2, [1], seed=3.0)
    with pytest.raises(TypeError, match="seed .* got bool"):
        MLP(2, [1], seed=True)


def test_numpy_integers_are_ints():
    """numpy ints (e.g. read from an array of widths or seeds) work like Python ints."""
    model = MLP(np.int64(2), np.array([3, 1]), seed=np.int64(3))
    same = MLP(2, [3, 1], seed=3)
    assert model.nin == 2 and model.nouts == [3, 1] and model.seed == 3
    assert datas(model.parameters()) == datas(same.parameters())
    with pytest.raises(TypeError, match=r"nouts\[0\] must be a positive int, got float"):
        MLP(2, np.array([3.0, 1.0]))
    with pytest.raises(ValueError, match="non-empty list"):
        MLP(2, np.array([[3, 1]]))


# ---- calling ---------------------------------------------------------------------------------


def test_layer_always_returns_a_list_and_mlp_unwraps_width_one():
    layer = Layer(2, 1, rng=random.Random(0))
    out = layer([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    out = MLP(2, [3, 2], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2


@pytest.mark.parametrize("nouts", [[1, 1], [4, 1, 3], [1], [1, 1, 1, 1]])
def test_width_one_layers_anywhere(nouts):
    model = MLP(3, nouts, activation="tanh", seed=2)
    x = [Value(0.5), Value(-0.3), Value(0.8)]
    out = model(x)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == nouts[-1]
    Value.sum(outs).backward()
    params = model.parameters()
    assert len(params) == sum((a + 1) * b for a, b in zip([3] + nouts, nouts))
    assert any(p.grad != 0.0 for p in params)
    assert any(v.grad != 0.0 for v in x)


def test_accepts_lists_tuples_numpy_arrays_and_values():
    model = MLP(2, [4, 1], seed=0)
    expected = model([0.5, -1.0]).data
    assert model((0.5, -1.0)).data == expected
    assert model(np.array([0.5, -1.0])).data == expected
    assert model(np.array([0.5, -1.0], dtype=np.float32)).data == expected
    assert model([np.float64(0.5), -1]).data == expected
    assert model([Value(0.5), -1.0]).data == expected


def test_plain_number_inputs_become_labelled_leaves_values_are_used_as_given():
    n = Neuron(2, activation="linear", rng=random.Random(0))
    x = Value(3.0, "mine")
    z = n([x, 4.0])
    inputs = z.operands[2:4]
    assert inputs[0] is x and x.label == "mine"
    assert inputs[1].label == "x2" and inputs[1].data == 4.0
    z.backward()
    assert x.grad == n.w[0].data


def test_the_numbers_are_converted_once_per_mlp_call():
    model = MLP(2, [3, 3, 1], seed=0)
    out = model([1.0, 2.0])
    layer1 = [node for node in topological_order(out)
              if node.op is not None and node.op.name == "linear"
              and node.operands[0].label.startswith("L1.")]
    assert len(layer1) == 3
    # every first-layer neuron reads the very same two input leaves
    assert len({id(x) for node in layer1 for x in node.operands[2:4]}) == 2


def test_wrong_input_size_and_type_messages():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="^MLP expects 2 inputs, got 3$"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 1"):
        model(np.array([1.0]))
    with pytest.raises(ValueError, match=r"1-D input.*\(1, 2\)"):
        model(np.array([[1.0, 2.0]]))
    with pytest.raises(TypeError, match="list, tuple or 1-D numpy array"):
        model(1.0)
    with pytest.raises(TypeError, match="list, tuple or 1-D numpy array"):
        model("12")
    with pytest.raises(TypeError, match="input 2 must be a number or a Value, got str"):
        model([1.0, "2"])
    with pytest.raises(TypeError, match="input 1 must be a number or a Value, got NoneType"):
        model([None, 2.0])
    with pytest.raises(ValueError, match="Layer expects 2 inputs, got 3"):
        model.layers[0]([1, 2, 3])
    with pytest.raises(ValueError, match="Neuron expects 2 inputs, got 0"):
        model.layers[0].neurons[0]([])


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_module_call_runs_forward():
    class Double(Module):
        def forward(self, x):
            return 2 * x

    assert Double()(Value(3.0)).data == 6.0
    assert Double().parameters() == []


# ---- gradients -------------------------------------------------------------------------------


@settings(max_examples=25)
@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3), st.integers(0, 10_000))
def test_mlp_gradient_matches_central_differences(x, seed):
    """For a smooth network, d output / d (parameters, inputs) agrees with finite differences."""
    model = MLP(3, [4, 3, 1], activation="tanh", seed=seed)
    n_params = model.num_parameters()

    def run_model_on(*values):
        # put gradcheck's fresh leaves into the model as its parameters, then call it
        params = iter(values[:n_params])
        for layer in model.layers:
            for neuron in layer.neurons:
                neuron.w = [next(params) for _ in range(layer.nin)]
                neuron.b = next(params)
        return model(list(values[n_params:]))

    assert gradcheck(run_model_on, datas(model.parameters()) + x)


def _torch_grads(model, X, loss_name, targets):
    """Run the same network in torch float64 and return (loss, grads in our parameter order)."""
    torch = pytest.importorskip("torch", reason="torch is the reference for the gradient tests")
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "linear": lambda t: t}
    h = torch.tensor(np.asarray(X), dtype=torch.float64)
    tensors = []
    for layer in model.layers:
        W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64,
                         requires_grad=True)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64,
                         requires_grad=True)
        tensors.append((W, b))
        h = acts[layer.activation](h @ W.T + b)
    F = torch.nn.functional
    if loss_name == "mse":
        loss = F.mse_loss(h[:, 0], torch.tensor(targets, dtype=torch.float64))
    elif loss_name == "bce":
        loss = F.binary_cross_entropy(h[:, 0], torch.tensor(targets, dtype=torch.float64))
    else:
        loss = F.cross_entropy(h, torch.tensor(targets, dtype=torch.long))
    loss.backward()
    grads = []
    for W, b in tensors:
        for j in range(W.shape[0]):
            grads += W.grad[j].tolist() + [b.grad[j].item()]
    return loss.item(), grads


def _data(seed, n=8, nin=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, nin)), rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mse_gradients_match_torch(seed):
    X, rng = _data(seed)
    y = rng.normal(size=len(X)).tolist()
    model = MLP(3, [5, 4, 1], seed=seed)
    loss = mse([model(x) for x in X], y)
    loss.backward()
    ref_loss, ref_grads = _torch_grads(model, X, "mse", y)
    assert loss.data == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose([p.grad for p in model.parameters()], ref_grads,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bce_gradients_match_torch(seed):
    X, rng = _data(seed)
    y = rng.integers(0, 2, size=len(X)).astype(float).tolist()
    model = MLP(3, [5, 4, 1], activation="tanh", output_activation="sigmoid", seed=seed)
    loss = binary_cross_entropy([model(x) for x in X], y)
    loss.backward()
    ref_loss, ref_grads = _torch_grads(model, X, "bce", y)
    assert loss.data == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose([p.grad for p in model.parameters()], ref_grads,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_gradients_match_torch(seed):
    X, rng = _data(seed)
    y = rng.integers(0, 3, size=len(X)).tolist()
    model = MLP(3, [5, 3], init="he", seed=seed)
    loss = cross_entropy([model(x) for x in X], y)
    loss.backward()
    ref_loss, ref_grads = _torch_grads(model, X, "ce", y)
    assert loss.data == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose([p.grad for p in model.parameters()], ref_grads,
                               rtol=1e-9, atol=1e-12)


def _moons(n=100, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, np.pi, n // 2)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(0, noise, size=(n, 2))
    y = np.concatenate([np.ones(n // 2), -np.ones(n // 2)])
    return X, y


def test_micrograd_demo_recipe_fits_two_moons():
    """MLP(2, [16, 16, 1]), hinge + 1e-4 * l2, SGD with lr 1.0 -> 0.1 over 100 full-batch steps."""
    X, y = _moons()
    model = MLP(2, [16, 16, 1], seed=1337)
    opt = SGD(model.parameters(), lr=1.0)
    schedule = LinearDecay(opt, 1.0, 0.1, 100)
    inputs, labels = X.tolist(), y.tolist()
    for _ in range(100):
        scores = [model(x) for x in inputs]
        loss = hinge(scores, labels) + 1e-4 * l2(model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    accuracy = np.mean([(model(x).data > 0) == (t > 0) for x, t in zip(inputs, labels)])
    assert accuracy >= 0.97


# ---- persistence -----------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    model = MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", init="xavier", seed=4)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = MLP.load(path)
    assert (loaded.nin, loaded.nouts, loaded.activation, loaded.output_activation, loaded.init) \
        == (3, [4, 2], "tanh", "sigmoid", "xavier")
    assert datas(loaded.parameters()) == datas(model.parameters())
    assert [p.label for p in loaded.parameters()] == [p.label for p in model.parameters()]
    for x in ([0.1, 0.2, 0.3], [-3.0, 1.0, 2.5]):
        assert datas(loaded(x)) == datas(model(x))
    assert repr(loaded) == repr(model)
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind
    saved = json.loads(path.read_text())
    assert saved["format"] == "micrograd_nn.MLP" and saved["version"] == 1


def test_save_accepts_str_paths_and_overwrites(tmp_path):
    path = str(tmp_path / "m.json")
    MLP(2, [2, 1], seed=0).save(path)
    second = MLP(2, [2, 1], seed=1)
    second.save(path)
    assert datas(MLP.load(path).parameters()) == datas(second.parameters())


def test_load_leaves_global_random_state_alone(tmp_path):
    MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    state = random.getstate()
    MLP.load(tmp_path / "m.json")
    assert random.getstate() == state


@settings(max_examples=20)
@given(nin=st.integers(1, 4), nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seed=st.integers(0, 2**32), init=st.sampled_from(["uniform", "xavier", "he"]))
def test_save_load_round_trip_is_exact(tmp_path_factory, nin, nouts, seed, init):
    model = MLP(nin, nouts, init=init, seed=seed)
    path = tmp_path_factory.mktemp("rt") / "m.json"
    model.save(path)
    assert datas(MLP.load(path).parameters()) == datas(model.parameters())  # floats survive JSON


def test_failed_save_never_clobbers_an_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    before = path.read_bytes()

    broken = MLP(2, [3, 1], seed=1)
    broken.parameters()[2].data = math.nan
    with pytest.raises(ValueError, match=r"L1\.N1\.b is nan"):
        broken.save(path)
    assert path.read_bytes() == before

    def failing_fsync(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        MLP(2, [3, 1], seed=2).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_interrupted_save_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    before = path.read_bytes()

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        MLP(2, [3, 1], seed=2).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def _saved(tmp_path, **changes):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    state = json.loads(path.read_text())
    state.update(changes)
    path.write_text(json.dumps(state))
    return path


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP.load(tmp_path / "nope.json")


def test_load_truncated_file(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="model.json.*truncated"):
        MLP.load(path)
    path.write_text("")
    with pytest.raises(ValueError, match="model.json"):
        MLP.load(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="model.json"):
        MLP.load(path)


@pytest.mark.parametrize("changes, message", [
    ({"format": "something.else"}, "unknown format 'something.else'"),
    ({"version": 99}, "unsupported version 99"),
    ({"parameters": list(range(12))}, "has 13 parameters, the file holds 12"),
    ({"parameters": [0.5] * 14}, "has 13 parameters, the file holds 14"),
    ({"nouts": [3, 2]}, "has 17 parameters, the file holds 13"),
    ({"parameters": [0.5] * 12 + ["x"]}, "parameter 12 must be a finite number, got 'x'"),
    ({"parameters": [True] + [0.5] * 12}, "parameter 0 must be a finite number, got True"),
    ({"parameters": "0.5"}, "'parameters' must be a list"),
    ({"activation": "swish"}, "invalid architecture: unknown activation 'swish'"),
    ({"nin": "2"}, "invalid architecture: nin must be a positive int"),
    ({"nouts": []}, "invalid architecture: nouts must be a non-empty list"),
])
def test_load_mismatched_or_corrupt_content(tmp_path, changes, message):
    path = _saved(tmp_path, **changes)
    with pytest.raises(ValueError) as info:
        MLP.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_load_non_object_and_missing_fields(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        MLP.load(path)
    path = _saved(tmp_path)
    state = json.loads(path.read_text())
    del state["init"], state["nin"]
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="missing field.*nin.*init"):
        MLP.load(path)


# ---- bounded sizes and hostile files ---------------------------------------------------------


@pytest.mark.parametrize("build", [lambda: MLP(2, [10**30]), lambda: MLP(10**9, [1]),
                                   lambda: Layer(10**9, 1), lambda: Layer(1000, 10**6),
                                   lambda: Neuron(10**9)])
def test_sizes_over_max_parameters_are_refused_before_allocating(build):
    with pytest.raises(ValueError, match="MAX_PARAMETERS = 1,000,000"):
        build()


def test_max_parameters_can_be_raised_or_lowered(monkeypatch, tmp_path):
    from micrograd_nn import nn
    assert nn.parameter_count(2, [3, 1]) == 13
    assert nn.model_size(2, [3, 1]) == 13 + 4 * 4 + 4 * 2 == 37
    monkeypatch.setattr(nn, "MAX_PARAMETERS", 36)
    with pytest.raises(ValueError, match=r"MLP\(2, \[3, 1\]\) would have 13 parameters in 4 "
                                         r"neurons and 2 layers, a size of 37"):
        MLP(2, [3, 1])
    assert MLP(2, [2, 1]).num_parameters() == 9
    monkeypatch.setattr(nn, "MAX_PARAMETERS", 37)
    MLP(2, [3, 1], seed=0).save(tmp_path / "m.json")
    monkeypatch.setattr(nn, "MAX_PARAMETERS", 36)
    with pytest.raises(ValueError, match="m.json"):
        MLP.load(tmp_path / "m.json")


@pytest.mark.parametrize("build, message", [
    (lambda: MLP(1, [1] * 499998), r"MLP\(1, \[1, 1, 1, 1, 1, 1, 1, 1, \.\.\. \(499,998 layers\)\]\) "
                                   r"would have 999,996 parameters in 499,998 neurons and 499,998 "
                                   r"layers, a size of 4,999,980"),
    (lambda: Layer(1, 300_000), r"600,000 parameters in 300,000 neurons and 1 layer, a size of "
                                r"1,800,004"),
])
def test_neurons_and_layers_count_towards_max_parameters(build, message):
    """Half a million width-1 layers are only a million parameters, but building them took
    15 s and 0.5 GB: the size counts each neuron and layer too, and refuses it at once."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            build()
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert allocated < 20_000_000   # the widths' list, not a model


def test_a_saved_architecture_is_sized_like_a_built_one(tmp_path):
    path = _hostile(tmp_path, HEADER + '"nin": 1, "nouts": [' + "1, " * 199_999 +
                    '1], "parameters": [' + "0.5, " * 399_999 + '0.5]}')
    with pytest.raises(ValueError, match=r"has 400,000 parameters in 200,000 neurons and "
                                         r"200,000 layers, a size of 2,000,000"):
        MLP.load(path)


def _hostile(tmp_path, text: str):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    return path


HEADER = ('{"format": "micrograd_nn.MLP", "version": 1, "activation": "relu", '
          '"output_activation": "linear", "init": "uniform", ')


@pytest.mark.parametrize("text, message", [
    (HEADER + '"nin": 1000000000, "nouts": [1], "parameters": [0.5]}',
     "has 1,000,000,001 parameters in 1 neuron and 1 layer, a size of 1,000,000,009 (each "
     "neuron and each layer counts as 4 parameters), more than micrograd_nn.nn.MAX_PARAMETERS"),
    (HEADER + '"nin": 1, "nouts": [1000000000000000000000000000000], "parameters": []}',
     "an integer of 31 digits"),
    (HEADER + '"nin": 1, "nouts": [1], "parameters": [' + "9" * 400 + ', 0.5]}',
     "an integer of 400 digits"),
    (HEADER + '"nin": 1, "nouts": [1], "parameters": [1e999, 0.5]}',
     "parameter 0 must be a finite number, got inf"),
    (HEADER + '"nin": 1, "nouts": [1], "parameters": [NaN, 0.5]}', "NaN"),
    (HEADER + '"nin": 1, "nouts": [1], "parameters": [-Infinity, 0.5]}', "Infinity"),
    ("[" * 100_000, "nested too deeply"),
    ('{"a": ' * 100_000, "nested too deeply"),
    (HEADER + '"nin": 1, "nouts": [[[1]]], "parameters": [0.5]}', "nouts[0] must be a positive"),
    (HEADER + '"nin": 0, "nouts": [1], "parameters": [0.5]}', "nin must be a positive int"),
    (HEADER + '"nin": 1.0, "nouts": [1], "parameters": [0.5]}', "nin must be a positive int"),
])
def test_hostile_files_raise_a_value_error_naming_the_file(tmp_path, text, message):
    path = _hostile(tmp_path, text)
    with pytest.raises(ValueError) as info:
        MLP.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_a_file_larger_than_any_allowed_model_is_refused_unread(tmp_path, monkeypatch):
    from micrograd_nn import nn
    monkeypatch.setattr(nn, "MAX_PARAMETERS", 10)
    path = _hostile(tmp_path, HEADER + '"nin": 1, "nouts": [1], "parameters": [' +
                    "0.5, " * 2000 + "0.5]}")
    with pytest.raises(ValueError, match="hostile.json.*larger than 4,496 bytes"):
        MLP.load(path)


# ---- any damage to a saved file: a model, or a ValueError naming the file -------------------

_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=10)
_FIELDS = ["format", "version", "nin", "nouts", "activation", "output_activation", "init",
           "parameters"]


def _loads_or_names_the_file(path):
    try:
        model = MLP.load(path)
    except ValueError as e:
        assert str(path) in str(e)
    else:
        assert isinstance(model, MLP)


@settings(max_examples=150)
@given(st.dictionaries(st.sampled_from(_FIELDS), _json_values, max_size=3),
       st.lists(st.sampled_from(_FIELDS), max_size=2))
def test_any_changed_field_loads_or_raises_a_value_error_naming_the_file(tmp_path_factory,
                                                                          changes, dropped):
    path = tmp_path_factory.mktemp("fuzz") / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    state = json.loads(path.read_text())
    state.update(changes)
    for name in dropped:
        state.pop(name, None)
    path.write_text(json.dumps(state))
    _loads_or_names_the_file(path)


@settings(max_examples=150)
@given(st.data())
def test_any_damaged_bytes_load_or_raise_a_value_error_naming_the_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    raw = bytearray(path.read_bytes())
    cut = data.draw(st.integers(0, len(raw)))
    insert = data.draw(st.binary(max_size=8))
    raw[cut:cut + data.draw(st.integers(0, 8))] = insert
    path.write_bytes(bytes(raw))
    _loads_or_names_the_file(path)


# ---- a neuron's parameters: one record shared by the nodes it makes ---------------------------

def test_weights_are_a_list_that_refuses_changes_in_place():
    neuron = Neuron(2, activation="linear")
    assert isinstance(neuron.w, list) and neuron.w + [neuron.b] == neuron.parameters()
    for change in (lambda w: w.__setitem__(0, Value(1.0)), lambda w: w.append(Value(1.0)),
                   lambda w: w.extend([Value(1.0)]), lambda w: w.pop(), lambda w: w.sort()):
        with pytest.raises(TypeError, match=r"cannot be changed in place; assign a new list"):
            change(neuron.w)
    with pytest.raises(TypeError, match="cannot be changed in place"):
        neuron.w += [Value(1.0)]
    assert len(neuron.w) == 2


def test_assigning_weights_or_bias_replaces_them_in_the_forward_pass():
    neuron = Neuron(2, activation="linear")
    neuron.w = [Value(1.0), Value(2.0)]
    neuron.b = Value(0.5)
    assert neuron([3.0, 4.0]).data == 11.5
    layer = Layer(2, 2, activation="linear")
    layer.neurons[1].w = (Value(-1.0), Value(1.0))
    assert layer([3.0, 4.0])[1].data == 1.0 + layer.neurons[1].b.data
    with pytest.raises(TypeError, match=r"Neuron\.w takes Values, got 2 other objects \(float\)"):
        neuron.w = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"Neuron\.w takes a list of Values, got int"):
        neuron.w = 5
    with pytest.raises(ValueError, match=r"Neuron\(2\)\.w takes 2 Values, got 1$"):
        neuron.w = [Value(1.0)]
    with pytest.raises(TypeError, match=r"Neuron\.b takes a Value, got float"):
        neuron.b = 0.0
    assert neuron([3.0, 4.0]).data == 11.5     # a refused assignment changed nothing


def test_a_subclass_written_for_micrograd_may_set_w_and_b_itself():
    class MyNeuron(Neuron):
        def __init__(self, nin):   # no call to Neuron.__init__, as micrograd's Neuron does it
            self.nin, self._act = nin, None
            self.w = [Value(0.5 * (i + 1)) for i in range(nin)]
            self.b = Value(1.0)

    assert MyNeuron(2)([2.0, 2.0]).data == 0.5 * 2 + 1.0 * 2 + 1.0
    layer = Layer(2, 2, activation="linear")
    layer.neurons = [MyNeuron(2), MyNeuron(2)]
    assert [z.data for z in layer([2.0, 2.0])] == [4.0, 4.0]


def test_copies_and_pickles_of_a_model_compute_the_same():
    import copy
    import pickle
    model = MLP(2, [3, 1], activation="tanh", seed=3)
    x = [0.25, -1.5]
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert twin(x).data == model(x).data
        twin.layers[0].neurons[0].w[0].data += 1.0   # its own parameters, used by its forward
        assert twin(x).data != model(x).data


def test_a_layer_obeys_every_change_of_its_neurons_made_after_it_ran():
    """A layer keeps what its forward reads of the neurons (their parameters, their
    activations) between calls; each way of changing a neuron is seen on the next call."""
    import copy
    import pickle
    layer = Layer(2, 3, activation="relu", rng=random.Random(2))
    x = [0.5, -2.0]
    layer(x)
    first = layer.neurons[0]
    first.w = [Value(1.0), Value(1.0)]                      # z = -1.5: relu gives 0
    assert layer(x)[0].data == 0.0
    first.activation = "linear"
    assert layer(x)[0].data == -1.5
    first.b = Value(4.0)
    assert layer(x)[0].data == 2.5
    layer.neurons[2] = Neuron(2, activation="linear")       # replaced in place
    layer.neurons[2].w = [Value(2.0), Value(0.0)]
    assert layer(x)[2].data == 1.0
    layer.activation = "tanh"                               # every neuron, through the layer
    linear = [sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data for n in layer.neurons]
    assert [z.data for z in layer(x)] == pytest.approx([math.tanh(z) for z in linear],
                                                       rel=1e-12)
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert "_plan" not in vars(twin)                    # each copy makes its own
        assert [z.data for z in twin(x)] == [z.data for z in layer(x)]
        twin.neurons[1].activation = "linear"
        assert twin(x)[1].data != layer(x)[1].data


def test_a_layer_given_an_empty_list_of_neurons_sees_what_is_appended():
    """An empty list assigned to ``neurons`` (or ``layers``) counts its changes like any
    list of modules: the layer's kept plan is remade when a neuron is appended."""
    layer = Layer(2, 2, rng=random.Random(0))
    x = [0.5, -2.0]
    kept = list(layer.neurons)
    layer.neurons = []
    assert layer(x) == []
    layer.neurons.append(kept[0])
    assert [z.data for z in layer(x)] == [kept[0](x).data]
    layer.neurons.extend(kept[1:])
    assert len(layer(x)) == 2
    model = MLP(2, [2, 1], seed=0)
    layers = list(model.layers)
    model.layers = []
    model.layers.extend(layers)
    assert type(model.layers) is type(layer.neurons)


def test_a_change_made_while_a_layer_reads_its_neurons_is_seen_on_the_next_call():
    """Another thread may change a neuron while a layer makes its plan: the plan is stamped
    with the count of changes from before it read anything, so the next call remakes it."""
    class Busy(Neuron):
        # reading this neuron's activation stands for another thread changing the first
        # neuron at that moment
        @property
        def _act(self):
            if self.meddle is not None:
                other, self.meddle = self.meddle, None
                other.activation = "linear"
            return vars(self)["_act_now"]

        @_act.setter
        def _act(self, f):
            vars(self)["_act_now"] = f

    layer = Layer(2, 2, rng=random.Random(0))
    first = layer.neurons[0]
    first.w = [Value(1.0), Value(1.0)]                      # z = -1.5: relu gives 0
    busy = Busy(2)
    busy.meddle = None
    layer.neurons[1] = busy
    x = [0.5, -2.0]
    assert layer(x)[0].data == 0.0
    busy.meddle = first
    layer(x)                                 # first made linear while the plan is being made
    assert layer(x)[0].data == -1.5


def test_a_layer_calls_a_neuron_that_computes_in_its_own_way():
    """A neuron subclass written micrograd-style, with its own ``__call__`` (or ``forward``),
    is called by the layer, as micrograd's Layer calls each neuron; the others keep the fast
    path."""
    class TanhNeuron(Neuron):
        def __call__(self, x):
            return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()

    class Doubled(Neuron):
        def forward(self, x):
            return 2 * super().forward(x)

    layer = Layer(2, 3, activation="linear", rng=random.Random(0))
    x = [0.5, -2.0]
    plain = layer(x)[2].data
    layer.neurons[0] = TanhNeuron(2)
    layer.neurons[0].w = [Value(1.0), Value(1.0)]
    layer.neurons[1] = Doubled(2, activation="linear")
    out = layer(x)
    assert out[0].data == pytest.approx(math.tanh(-1.5), rel=1e-15)
    assert out[1].data == layer.neurons[1](x).data
    assert out[1].data == pytest.approx(2 * sum(w.data * xi for w, xi in zip(
        layer.neurons[1].w, x)) + 2 * layer.neurons[1].b.data)
    assert out[2].data == plain


def test_a_model_calls_a_layer_that_computes_in_its_own_way():
    """A layer subclass with its own ``__call__`` put in a model is called by it."""
    class Scaled(Layer):
        def __call__(self, x):
            return [2 * z for z in super().__call__(x)]

    model = MLP(2, [2, 1], seed=0)
    x = [0.5, -2.0]
    model.layers[1] = Scaled(2, 1, activation="linear")
    hidden = model.layers[0](x)
    assert model(x).data == 2 * Layer.__call__(model.layers[1], hidden)[0].data != 0.0


def test_weights_computed_by_the_graph_and_a_layer_reused_on_its_own_output():
    """Parameters that are not leaves are sorted at every node that reads them, so a layer
    applied to its own output (its weights reached again below) still gets grad()'s answer."""
    from micrograd_nn.engine import grad
    a = Value(0.7)
    layer = Layer(2, 2, activation="tanh", rng=random.Random(5))
    for j, neuron in enumerate(layer.neurons):
        neuron.w = [a * (j + 1), a - 0.3 * j]      # interior nodes, shared by both calls
    out = layer(layer([Value(0.5), Value(-1.0)]))
    loss = out[0] * out[1] + out[1]
    leaves = [a] + [n.b for n in layer.neurons]
    expected = grad(loss, leaves)
    loss.backward()
    assert [v.grad for v in leaves] == pytest.approx(expected, rel=1e-12)
    assert gradcheck(lambda v: _reused_layer_loss(v), [0.7])


def _reused_layer_loss(a):
    layer = Layer(2, 2, activation="tanh", rng=random.Random(5))
    for j, neuron in enumerate(layer.neurons):
        neuron.w = [a * (j + 1), a - 0.3 * j]
    out = layer(layer([Value(0.5), Value(-1.0)]))
    return out[0] * out[1] + out[1]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_loading_a_named_pipe_is_refused_before_opening_it(tmp_path):
    """open() of a FIFO blocks until something writes to it: load refuses it unopened. A
    writer thread stands by, so that a load that did open it gets bad JSON, not a hang."""
    import threading
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "w") as f:   # blocks until a reader opens the pipe
            f.write("not a model")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(ValueError, match=r"model.json: not a saved MLP: a named pipe "
                                             r"\(FIFO\), not a regular file"):
            MLP.load(fifo)
        with pytest.raises(ValueError, match="a directory, not a regular file"):
            MLP.load(tmp_path)
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # lets the writer finish
        thread.join()
        os.close(reader)
