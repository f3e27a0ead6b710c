"""Code written for micrograd runs unchanged: its graph attributes, its nn spellings, its demo."""

import math
import random

import pytest

from micrograd_nn import MLP, Value
from micrograd_nn.datasets import make_moons
from micrograd_nn.nn import Layer, Neuron


def test_prev_and_op_read_the_graph_as_micrograd_does():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    e = a * a
    assert c._prev == {a, b} and c._op == "*"
    assert d._prev == {c, a} and d._op == "+"
    assert e._prev == {a} and e.operands == (a, a)   # a set: one entry for a value used twice
    assert a._prev == set() and a._op == ""
    assert (a ** 2)._op == "**2" and a.relu()._op == "relu" and d.op.name == "+"


def _trace(root):
    """Every value and every (operand, result) edge below root, found through _prev."""
    nodes, edges, todo = set(), set(), [root]
    while todo:
        v = todo.pop()
        if v in nodes:
            continue
        nodes.add(v)
        for child in v._prev:
            edges.add((child, v))
            todo.append(child)
    return nodes, edges


def test_a_diagram_built_from_prev_and_op_as_in_micrographs_trace_graph_notebook():
    graphviz = pytest.importorskip("graphviz")
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    n = x1 * w1 + x2 * w2 + Value(6.8813735870195432, label="b")
    o = n.tanh()
    o.backward()
    nodes, edges = _trace(o)
    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    for v in nodes:
        dot.node(str(id(v)), label=f"{{ {v.label} | data {v.data:.4f} | grad {v.grad:.4f} }}",
                 shape="record")
        if v._op:   # an op node in front of every computed value, named by its op
            dot.node(str(id(v)) + v._op, label=v._op)
            dot.edge(str(id(v)) + v._op, str(id(v)))
    for child, v in edges:
        dot.edge(str(id(child)), str(id(v)) + v._op)
    source = dot.source
    assert len(nodes) == 10 and len(edges) == 9
    assert source.count("label=tanh") == 1 and source.count("label=\"*\"") == 2
    assert "grad -1.5000" in source and "grad 0.5000" in source   # dO/dx1 = w1 * (1 - o^2)
    assert math.isclose(x1.grad, -3.0 * (1 - o.data ** 2))


def test_neuron_and_layer_take_micrographs_nonlin():
    random.seed(0)
    assert Neuron(2).nonlin and Neuron(2).activation == "relu"
    assert not Neuron(2, nonlin=False).nonlin and Neuron(2, nonlin=False).activation == "linear"
    assert Neuron(2, False).activation == "linear"    # micrograd's positional form
    layer = Layer(2, 3, nonlin=False)
    assert not layer.nonlin and all(not n.nonlin for n in layer.neurons)
    assert Layer(2, 3, nonlin=True).nonlin
    out = Neuron(2, nonlin=False)([-5.0, -5.0])
    assert out.op.name == "linear"        # no relu after it
    with pytest.raises(TypeError, match="nonlin must be True or False, got str"):
        Neuron(2, nonlin="yes")
    with pytest.raises(ValueError, match="either nonlin .* or activation"):
        Layer(2, 3, "tanh", nonlin=True)


def test_setting_nonlin_changes_the_neuron_as_in_micrograd():
    """micrograd's Neuron reads self.nonlin in __call__: setting it changes what it computes."""
    neuron = Neuron(2)
    neuron.w = [Value(1.0), Value(1.0)]
    assert neuron([-3.0, 1.0]).data == 0.0                  # relu(-2)
    neuron.nonlin = False
    assert not neuron.nonlin and neuron.activation == "linear"
    assert neuron([-3.0, 1.0]).data == -2.0
    neuron.nonlin = True
    assert neuron.activation == "relu" and neuron([-3.0, 1.0]).data == 0.0
    tanh = Neuron(2, "tanh")
    tanh.nonlin = True                                      # already non-linear: kept
    assert tanh.activation == "tanh"
    with pytest.raises(TypeError, match="nonlin must be True or False, got str"):
        neuron.nonlin = "no"


def test_a_neuron_made_linear_inside_a_model_is_obeyed_and_not_lost_on_save(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    hidden = model.layers[0].neurons[1]
    hidden.w = [Value(1.0), Value(1.0)]
    x = [0.5, -2.0]                                         # z = -1.5 for that neuron
    assert model.layers[0](x)[1].data == 0.0                # relu(-1.5)
    hidden.nonlin = False
    assert model.layers[0](x)[1].data == -1.5               # the layer obeys the neuron
    h = [v.data for v in model.layers[0](x)]
    assert model(x).data == pytest.approx(model.layers[1](h)[0].data)
    with pytest.raises(ValueError, match=r"cannot save .*m.json: neuron L1.N2 has activation "
                                         r"'linear', but this MLP's hidden neurons have 'relu'"):
        model.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(ValueError, match="to_torch: neuron L1.N2 has activation 'linear', "
                                         "but its layer 'relu'"):
        model.to_torch()      # refused before torch is imported
    model.layers[0].nonlin = False                           # the whole layer, through the layer
    assert all(n.activation == "linear" for n in model.layers[0].neurons)


class MicrogradNeuron(Neuron):
    """Written as micrograd's Neuron is: its own __init__, no call to Neuron.__init__."""

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin


def test_a_micrograd_style_neuron_subclass_runs_backprops_and_trains():
    random.seed(3)
    linear, relu = MicrogradNeuron(3, nonlin=False), MicrogradNeuron(3)
    assert linear.nin == 3 and not linear.nonlin and relu.nonlin
    assert linear.parameters() == [*linear.w, linear.b] and len(relu.parameters()) == 4
    x = [1.0, -2.0, 0.5]
    out = linear(x)
    assert out.data == pytest.approx(sum(w.data * xi for w, xi in zip(linear.w, x)))
    out.backward()
    assert [w.grad for w in linear.w] == x and linear.b.grad == 1.0
    assert relu(x).data == max(0.0, sum(w.data * xi for w, xi in zip(relu.w, x)))
    data = [([1.0, 2.0, 3.0], 4.0), ([-1.0, 0.5, 2.0], -1.0), ([0.0, -3.0, 1.0], 2.5)]

    def loss():
        return sum((linear(xs) - target) ** 2 for xs, target in data)

    first = loss().data
    for _ in range(50):
        total = loss()
        linear.zero_grad()
        total.backward()
        for p in linear.parameters():
            p.data -= 0.01 * p.grad
    assert loss().data < 0.1 * first


def test_micrographs_demo_loop_runs_and_learns():
    X, y = make_moons(n_samples=40, noise=0.1, seed=1)
    y = y * 2 - 1    # micrograd's demo uses labels -1 and 1 (numpy arrays, as here)
    random.seed(1337)
    model = MLP(2, [16, 16, 1])

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    first, _ = loss()
    for k in range(30):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    final, acc = loss()
    assert final.data < 0.5 * first.data and acc >= 0.85


def test_a_layer_made_linear_whole_converts_to_torch_with_the_same_outputs():
    torch = pytest.importorskip("torch")
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].nonlin = False
    x = [0.5, -2.0]
    module = model.to_torch()
    assert [type(m).__name__ for m in module] == ["Linear", "Linear"]   # no ReLU left
    got = module(torch.tensor([x], dtype=torch.float64)).item()
    assert got == pytest.approx(model(x).data, rel=1e-12)
