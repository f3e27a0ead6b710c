"""The benchmark workloads, written once and run on either engine.

An engine is described by an `Engine`: its `Value` class and its `MLP`. Every workload that runs
on both micrograd_nn and micrograd is one function taking an `Engine`, so both engines execute
the same code text. The baselines of W1 (plain Python floats with a hand-written backward pass,
and numpy) compute the same loss and gradients without any graph.

Nothing here times anything: `run.py` does the timing.
"""

from __future__ import annotations

import importlib
import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

# -------------------------------------------------------------------------------------------------
# Engines


@dataclass
class Engine:
    """One autograd engine: its name, its Value class, its MLP and how to list a node's operands."""

    name: str
    Value: type
    MLP: Callable[..., Any]
    operands: Callable[[Any], Sequence[Any]]
    mlp_source: str  # where MLP comes from, printed in the report


def micrograd_nn_engine() -> Engine:
    """micrograd_nn with its own MLP (micrograd_nn.nn.MLP)."""
    from micrograd_nn import Value
    from micrograd_nn.nn import MLP
    return Engine("micrograd_nn", Value, MLP, lambda v: v.operands, "micrograd_nn.nn.MLP")


def micrograd_engine() -> Engine | None:
    """micrograd 0.1.0 (the optional extra `bench`), or None when it is not installed."""
    try:
        engine = importlib.import_module("micrograd.engine")
        nn = importlib.import_module("micrograd.nn")
    except ImportError:
        return None
    return Engine("micrograd", engine.Value, nn.MLP, lambda v: tuple(v._prev), "micrograd.nn.MLP")


# -------------------------------------------------------------------------------------------------
# Data and parameters shared by every engine


def make_moons(n: int, noise: float = 0.1, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles, labels -1.0 (outer) and +1.0 (inner), as in micrograd's demo.

    Outer moon: (cos t, sin t); inner moon: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi],
    plus Gaussian noise of standard deviation ``noise``. Plain Python floats, deterministic.
    """
    if n < 2:
        raise ValueError(f"make_moons needs at least 2 points, got {n}")
    rng = random.Random(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    X: list[list[float]] = []
    y: list[float] = []
    for count, label in ((n_outer, -1.0), (n_inner, 1.0)):
        for k in range(count):
            t = math.pi * k / max(count - 1, 1)
            if label < 0:
                point = [math.cos(t), math.sin(t)]
            else:
                point = [1.0 - math.cos(t), 0.5 - math.sin(t)]
            X.append([c + rng.gauss(0.0, noise) for c in point])
            y.append(label)
    return X, y


def layer_sizes(nin: int, nouts: Sequence[int]) -> list[tuple[int, int]]:
    """(fan-in, width) of each layer of MLP(nin, nouts)."""
    sizes = [nin, *nouts]
    return [(sizes[i], sizes[i + 1]) for i in range(len(nouts))]


def initial_parameters(nin: int, nouts: Sequence[int], seed: int = 1) -> list[float]:
    """Deterministic parameters in ``parameters()`` order: layer by layer, neuron by neuron,
    the neuron's weights then its bias. Every engine and baseline starts from these numbers."""
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0)
            for fan_in, width in layer_sizes(nin, nouts) for _ in range(width * (fan_in + 1))]


def build_model(engine: Engine, nin: int, nouts: Sequence[int], seed: int = 1):
    """engine.MLP(nin, nouts) with its parameters set to `initial_parameters`."""
    model = engine.MLP(nin, list(nouts))
    params = model.parameters()
    values = initial_parameters(nin, nouts, seed)
    if len(params) != len(values):
        raise ValueError(f"{engine.name}'s MLP{(nin, list(nouts))} has {len(params)} parameters, "
                         f"expected {len(values)}")
    for p, v in zip(params, values):
        p.data = v
    return model


# -------------------------------------------------------------------------------------------------
# W1: micrograd's demo step, the same code text for every engine


def w1_loss_and_backward(engine: Engine, model, X: Sequence[Sequence[float]],
                         y: Sequence[float], alpha: float = 1e-4):
    """Forward and backward of micrograd's demo loss, written the way its notebook writes it.

    loss = mean_i relu(1 - y_i * score_i) + alpha * sum_p p**2 (SVM hinge loss + L2). Returns
    (total_loss Value, accuracy); afterwards every parameter's .grad holds d loss / d p.
    """
    Value = engine.Value
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    model.zero_grad()
    total_loss.backward()
    return total_loss, sum(accuracy) / len(accuracy)


def w1_step(engine: Engine, model, X, y, alpha: float = 1e-4,
            learning_rate: float = 0.1) -> tuple[float, float]:
    """One SGD step of the demo: loss, backward, p.data -= learning_rate * p.grad."""
    total_loss, accuracy = w1_loss_and_backward(engine, model, X, y, alpha)
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data, accuracy


# -------------------------------------------------------------------------------------------------
# W1 compiled: the same step, traced once by micrograd_nn.compile and replayed


def w1_compile(model, X, y, backend: str, alpha: float = 1e-4):
    """Compile the demo's loss for ``model`` (micrograd_nn.compile).

    Per sample the function returns the objective hinge_i + alpha * sum_p p**2 (whose mean over
    the batch is the demo's loss) and the score (for the accuracy). The L2 term depends on the
    parameters only, so both backends compute it once per batch, not once per sample.
    """
    from micrograd_nn import compile
    params = model.parameters()

    def sample(x, yi):
        score = model(x)
        reg_loss = alpha * sum((p * p for p in params))
        return [(1 + -yi * score).relu() + reg_loss, score]

    return compile(sample, X[0], y[0], backend=backend)


def w1_seeds(n: int):
    """d loss / d (objective_i, score_i) for the compiled demo: the loss is the mean of the
    objectives, the scores only ride along."""
    import numpy as np
    return np.array([[1.0 / n, 0.0]] * n)


def w1_compiled_step(params, program, X, y, seeds, learning_rate: float = 0.1):
    """One SGD step of the demo with a compiled program: ``params`` is the model's
    ``parameters()`` list (kept, as an optimizer keeps it) or an `ArraySGD` of them, X, y
    numpy arrays, seeds from `w1_seeds`. The same loss, gradients and update as `w1_step`:
    p.data -= learning_rate * dL/dp. Returns (loss, accuracy)."""
    if isinstance(params, ArraySGD):
        outs = params.step(program, X, y, seeds, learning_rate)
    else:
        for p in params:
            p.grad = 0.0
        outs = program.backward(X, y, grad=seeds)
        for p in params:
            p.data -= learning_rate * p.grad
    accuracy = float(((y > 0) == (outs[:, 1] > 0)).mean())
    return float(outs[:, 0].mean()), accuracy


class ArraySGD:
    """SGD on one array of the parameters' numbers, as numpy by hand updates its arrays: the
    compiled program reads that array (``Program.gradients(..., data=)``, numpy backend) and
    returns the gradient as one array; the new numbers are written into the Values after
    each step, so every ``.data`` holds its number (nothing else may write them meanwhile:
    the array is the copy that counts)."""

    def __init__(self, params):
        import numpy as np
        self.params = tuple(params)
        self.data = np.array([p.data for p in self.params])

    def step(self, program, X, y, seeds, learning_rate: float):
        outs, g = program.gradients(X, y, grad=seeds, params=self.params, data=self.data)
        self.data = self.data - learning_rate * g
        for p, x in zip(self.params, self.data.tolist()):
            p.data = x
        return outs


# -------------------------------------------------------------------------------------------------
# W1 limits: the same step without a graph


def split_layers(flat: Sequence[float], nin: int, nouts: Sequence[int]) -> list:
    """Flat parameters (``parameters()`` order) as [(W, b), ...]: W[j][i] weight of input i in
    neuron j, b[j] its bias; plain Python lists."""
    expected = sum(width * (fan_in + 1) for fan_in, width in layer_sizes(nin, nouts))
    if len(flat) != expected:
        raise ValueError(f"expected {expected} parameters for MLP({nin}, {list(nouts)}), "
                         f"got {len(flat)}")
    layers = []
    k = 0
    for fan_in, width in layer_sizes(nin, nouts):
        W, b = [], []
        for _ in range(width):
            W.append(list(flat[k:k + fan_in]))
            b.append(flat[k + fan_in])
            k += fan_in + 1
        layers.append((W, b))
    return layers


def join_layers(layers) -> list[float]:
    """The inverse of `split_layers`: a flat list in ``parameters()`` order."""
    flat: list[float] = []
    for W, b in layers:
        for row, bj in zip(W, b):
            flat.extend(row)
            flat.append(bj)
    return flat


def float_loss_and_grads(layers, X, y, alpha: float = 1e-4) -> tuple[float, list, float]:
    """The demo loss and its gradients with plain floats: a forward pass keeping each layer's
    pre-activations z and activations h, then the chain rule by hand, layer by layer:

    d loss / d score_i = -y_i / n where 1 - y_i score_i > 0, else 0;
    dW[j][i] += dz_j * h_i,  db_j += dz_j,  dh_i = sum_j W[j][i] dz_j,  dz_i = dh_i [z_i > 0];
    plus the L2 term: d(alpha p**2)/dp = 2 alpha p.
    Returns (loss, grads shaped like layers, accuracy).
    """
    n = len(X)
    last = len(layers) - 1
    grads = [([[0.0] * len(W[0]) for _ in W], [0.0] * len(b)) for W, b in layers]
    data_loss = 0.0
    correct = 0
    for xrow, yi in zip(X, y):
        hs = [xrow]  # inputs of each layer
        zs = []
        h = xrow
        for depth, (W, b) in enumerate(layers):
            z = [bj + sum([wji * hi for wji, hi in zip(row, h)]) for row, bj in zip(W, b)]
            zs.append(z)
            h = z if depth == last else [zj if zj > 0 else 0.0 for zj in z]
            hs.append(h)
        score = h[0]
        margin = 1.0 - yi * score
        correct += (yi > 0) == (score > 0)
        if margin > 0:
            data_loss += margin
            dz = [-yi / n]
        else:
            continue  # relu'(margin) = 0: this point sends no gradient back
        for depth in range(last, -1, -1):
            W, _ = layers[depth]
            dW, db = grads[depth]
            h_in = hs[depth]
            for j, dzj in enumerate(dz):
                row = dW[j]
                for i, hi in enumerate(h_in):
                    row[i] += dzj * hi
                db[j] += dzj
            if depth:
                z_in = zs[depth - 1]
                dz = [sum([W[j][i] * dz[j] for j in range(len(dz))]) if z_in[i] > 0 else 0.0
                      for i in range(len(h_in))]
    reg = 0.0
    for (W, b), (dW, db) in zip(layers, grads):
        for row, drow in zip(W, dW):
            for i, w in enumerate(row):
                reg += w * w
                drow[i] += 2.0 * alpha * w
        for j, bj in enumerate(b):
            reg += bj * bj
            db[j] += 2.0 * alpha * bj
    return data_loss / n + alpha * reg, grads, correct / n


def float_step(layers, X, y, alpha: float = 1e-4, learning_rate: float = 0.1):
    """One SGD step with plain floats; updates ``layers`` in place. Returns (loss, accuracy)."""
    loss, grads, accuracy = float_loss_and_grads(layers, X, y, alpha)
    for (W, b), (dW, db) in zip(layers, grads):
        for row, drow in zip(W, dW):
            for i, d in enumerate(drow):
                row[i] -= learning_rate * d
        for j, d in enumerate(db):
            b[j] -= learning_rate * d
    return loss, accuracy


def numpy_layers(layers):
    """[(W, b), ...] as numpy arrays (W of shape (width, fan_in))."""
    import numpy as np
    return [(np.array(W, dtype=float), np.array(b, dtype=float)) for W, b in layers]


def numpy_loss_and_grads(layers, X, y, alpha: float = 1e-4):
    """The demo loss and its gradients, vectorised over the batch with numpy.

    X is an (n, nin) array, y an (n,) array of +-1. Same formulas as `float_loss_and_grads`.
    Returns (loss, [(dW, db), ...], accuracy).
    """
    import numpy as np
    n = X.shape[0]
    last = len(layers) - 1
    hs, zs = [X], []
    h = X
    for depth, (W, b) in enumerate(layers):
        z = h @ W.T + b
        zs.append(z)
        h = z if depth == last else np.maximum(z, 0.0)
        hs.append(h)
    score = h[:, 0]
    margin = 1.0 - y * score
    active = margin > 0
    data_loss = margin[active].sum() / n
    reg = sum(float((W * W).sum() + (b * b).sum()) for W, b in layers)
    dz = np.where(active, -y / n, 0.0)[:, None]
    grads = [None] * len(layers)
    for depth in range(last, -1, -1):
        W, b = layers[depth]
        grads[depth] = (dz.T @ hs[depth] + 2.0 * alpha * W, dz.sum(axis=0) + 2.0 * alpha * b)
        if depth:
            dz = (dz @ W) * (zs[depth - 1] > 0)
    accuracy = float(((y > 0) == (score > 0)).mean())
    return float(data_loss + alpha * reg), grads, accuracy


def numpy_step(layers, X, y, alpha: float = 1e-4, learning_rate: float = 0.1):
    """One SGD step with numpy; updates the arrays in place. Returns (loss, accuracy)."""
    loss, grads, accuracy = numpy_loss_and_grads(layers, X, y, alpha)
    for (W, b), (dW, db) in zip(layers, grads):
        W -= learning_rate * dW
        b -= learning_rate * db
    return loss, accuracy


# -------------------------------------------------------------------------------------------------
# W2, W3: graph shapes


def w2_chain(engine: Engine, n_ops: int):
    """x = x*a + b repeated until the graph has ``n_ops`` operation nodes (n_ops // 2 times).

    Returns (x, a, b): a and b are the two leaves every step reuses, so the graph is one chain of
    depth n_ops; `w2_expected_grads` gives d x / d a and d x / d b in closed form.
    """
    Value = engine.Value
    a = Value(0.999)
    b = Value(0.001)
    x = Value(1.0)
    for _ in range(n_ops // 2):
        x = x * a + b
    return x, a, b


def w2_chain_constants(engine: Engine, n_ops: int):
    """y = y * 1.0000001 + 0.0000001, n_ops // 2 times: the chain as users write it, with
    plain-number constants (each operation meets a new number). Returns the last y."""
    y = engine.Value(1.0)
    for _ in range(n_ops // 2):
        y = y * 1.0000001 + 0.0000001
    return y


def w2_expected_grads(n_ops: int, a: float = 0.999, b: float = 1e-3,
                      x0: float = 1.0) -> tuple[float, float]:
    """d x_m / d a and d x_m / d b for x_{k+1} = a x_k + b, m = n_ops // 2 steps from x0.

    x_m = a^m x0 + b (1 + a + ... + a^(m-1)), so d/db = sum_{k<m} a^k and
    d/da = m a^(m-1) x0 + b sum_{k<m} k a^(k-1).
    """
    m = n_ops // 2
    d_db = sum(a ** k for k in range(m))
    d_da = m * a ** (m - 1) * x0 + b * sum(k * a ** (k - 1) for k in range(1, m))
    return d_da, d_db


def w3_products(engine: Engine, n: int, seed: int = 2):
    """n pairs of leaves (w_i, x_i) with data in [-1, 1]."""
    rng = random.Random(seed)
    Value = engine.Value
    ws = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    xs = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    return ws, xs


def w3_python_sum(ws, xs):
    """sum_i w_i * x_i with Python's ``sum``: a chain of n additions (depth n)."""
    return sum(w * x for w, x in zip(ws, xs))


def w3_fused_sum(ws, xs):
    """The same with micrograd_nn's ``Value.sum``: n products and one n-ary sum node."""
    return ws[0].__class__.sum([w * x for w, x in zip(ws, xs)])


def w3_linear(ws, xs):
    """The same as a single ``Value.linear`` node (micrograd_nn only)."""
    return ws[0].__class__.linear(ws, xs)


# -------------------------------------------------------------------------------------------------
# W4 helpers


def reachable(engine: Engine, root) -> list:
    """Every node ``root`` depends on (itself included), found without recursion."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        node = stack.pop()
        for p in engine.operands(node):
            if id(p) not in seen:
                seen[id(p)] = p
                stack.append(p)
    return list(seen.values())
