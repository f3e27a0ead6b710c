"""The playground: train an MLP on 2-D data in the browser and watch every number of backprop.

``playground_html(path)`` writes one self-contained HTML file (nothing fetched, opens from
``file://``): the data over the model's decision boundary, training controls, the loss curve,
the network with its weights, and the graph of a selected example with its data and grads.
It trains a model, so it sits above ``nn`` and ``train``; ``micrograd_nn.viz.playground_html``
is this function too. The page's files are ``viz/playground.{html,css,js}``.

The page trains exactly as ``train.fit`` does. It gets the model as graphs exported from the
engine, and evaluates them with the op table's JavaScript (the same op functions as
``explore_html``):

* the model's graph for one sample, x -> z (``topological_order``: the engine's own order);
* the loss's graph for one sample, z -> loss_i, one per label (and per branch, where a loss
  builds a different graph for some z: ``bce_with_logits`` on the sign of z, ``bce`` where
  sigmoid(z) is clamped).

A step on a batch B forwards and backwards each sample in turn, from loss_i with the seed
1/|B| (what the engine's mean passes to each loss_i, or 1 for one sample), adding each
parameter's share into its gradient as the engine's backward does, samples first to last. The
optimizers are ``optim.SGD`` and ``optim.Adam``'s formulas, and minibatches follow ``fit``:
each epoch shuffled by ``np.random.default_rng(seed).permutation(n)``, whose generator (PCG64
seeded by SeedSequence) the page reimplements. A change to the data ends the current epoch.
"""

from __future__ import annotations

import html
import json
import pathlib
import re

import numpy as np

from . import _checks
from .datasets import make_moons
from .engine import Value, no_grad, topological_order
from .nn import MLP
from .optim import check_lr
from .train import LOSSES, OPTIMIZERS, as_inputs, as_labels, default_loss
from .viz.explore import json_number, op_script
from .viz.naming import Namer
from ._files import write_atomically

__all__ = ["playground_html", "PLAYGROUND_LOSSES", "export_model", "export_heads"]

PLAYGROUND_LOSSES = ("hinge", "bce", "bce_with_logits", "mse")
"""The losses the page trains with: those of one output for two classes (``train.LOSSES``)."""

MAX_WIDTH = 32       # neurons per layer: the page draws every neuron and every weight
MAX_LAYERS = 5
MAX_POINTS = 2000

# Where a loss builds a different graph for some outputs z, one z on each side: the page picks
# the graph by the same test (playground.js, BRANCHES)
_BRANCH_PROBES = {
    "bce_with_logits": {"neg": -1.0, "pos": 1.0},   # losses.bce_with_logits: z > 0 or not
    "bce": {"low": -100.0, "mid": 0.0, "high": 100.0},   # p = sigmoid(z) clamped below / above
}


def _sample_input(x: tuple) -> list:
    return [Value(float(x[0]), "x1"), Value(float(x[1]), "x2")]


def _neuron_of(v: Value, owner: dict) -> list | None:
    """[layer, neuron] (from 1) of a linear node (read off its bias's label Lk.Nj.b) or of the
    activation applied to one."""
    if v.op is None:
        return None
    if v.op.name == "linear":
        return owner.get(id(v.operands[-1]))
    operand = v.operands[0]
    if operand.op is not None and operand.op.name == "linear":
        return owner.get(id(operand.operands[-1]))
    return None


def export_model(model: MLP, x: tuple = (0.0, 0.0)) -> dict:
    """The graph of ``model([x1, x2])`` as plain data, in the engine's topological order.

    ``nodes``: each has ``name``, ``op`` (None for a leaf), ``args`` (operand indices), and for
    leaves ``param`` (the index in ``model.parameters()``), ``input`` (0 or 1) or ``data`` (a
    constant); interior nodes have ``neuron`` ([layer, neuron] from 1) and ``role`` ("z", the
    linear node, or "a", its activation). ``output`` is the index of z, the model's output.
    """
    params = model.parameters()
    index_of_param = {id(p): j for j, p in enumerate(params)}
    owner = {}
    for li, layer in enumerate(model.layers):
        for ni, neuron in enumerate(layer.neurons):
            owner[id(neuron.b)] = [li + 1, ni + 1]
    inputs = _sample_input(x)
    z = model(inputs)
    topo = topological_order(z)
    index = {id(v): k for k, v in enumerate(topo)}
    nodes = []
    for v in topo:
        node = {"name": v.label, "op": None, "args": [index[id(p)] for p in v.operands]}
        if v.op is None:
            if id(v) in index_of_param:
                node["param"] = index_of_param[id(v)]
            elif v is inputs[0] or v is inputs[1]:
                node["input"] = 0 if v is inputs[0] else 1
            else:
                node["data"] = json_number(v.data)
                node["name"] = repr(v.data)
        else:
            node["op"] = v.op.name
            node["neuron"] = _neuron_of(v, owner)
            node["role"] = "z" if v.op.name == "linear" else "a"
            layer, j = node["neuron"] or ("?", "?")
            node["name"] = f"L{layer}.N{j}.{node['role']}"
        nodes.append(node)
    return {"nodes": nodes, "output": index[id(z)]}


def _head_nodes(loss: Value, z: Value) -> dict:
    """One loss graph z -> loss_i as plain data (``z``: the index of the leaf z, or -1 when the
    loss does not read it, as a clamped bce). Values are named as the diagrams name them
    (``relu(1 - 1*z)``), constants carry their ``data``."""
    topo = topological_order(loss)
    index = {id(v): k for k, v in enumerate(topo)}
    namer = Namer(topo)
    nodes = []
    for v in topo:
        node = {"name": namer.name(v), "op": None if v.op is None else v.op.name,
                "args": [index[id(p)] for p in v.operands]}
        if v.op is None and v is not z:
            node["data"] = json_number(v.data)
        nodes.append(node)
    return {"nodes": nodes, "z": index.get(id(z), -1)}


def export_heads(loss: str) -> dict:
    """The loss of one sample as graphs from its output z, keyed "<label>" or "<label>:<branch>".

    Each is what ``train.fit`` builds for a batch of one sample: ``LOSSES[loss].batch([z],
    [target])``, from a leaf z.
    """
    spec = LOSSES[loss]
    heads = {}
    for label in (0, 1):
        target = spec.target(label, 1)
        for branch, probe in _BRANCH_PROBES.get(loss, {"": 0.0}).items():
            z = Value(probe, "z")
            head = _head_nodes(spec.batch([z], [target]), z)
            heads[f"{label}:{branch}" if branch else str(label)] = head
    return heads


# -------------------------------------------------------------------------------------------------
# Checking the arguments


def _check_model(model) -> MLP:
    if not isinstance(model, MLP):
        raise TypeError(f"playground_html trains an MLP (micrograd_nn.MLP), got "
                        f"{type(model).__name__}")
    if model.nin != 2:
        raise ValueError(f"the playground's data is 2-D: the MLP must take 2 inputs, "
                         f"not {model.nin}")
    if model.nouts[-1] != 1:
        raise ValueError(f"the playground trains one output (a score for class 1): the MLP's "
                         f"last layer must have width 1, not {model.nouts[-1]}")
    if len(model.nouts) > MAX_LAYERS or max(model.nouts) > MAX_WIDTH:
        raise ValueError(f"the playground draws every neuron: at most {MAX_LAYERS} layers of "
                         f"at most {MAX_WIDTH} neurons, got {model.nouts}")
    return model


def _check_data(X, y) -> tuple:
    X = as_inputs(X, 2)
    y = as_labels(y, X.shape[0])
    if X.shape[0] > MAX_POINTS:
        raise ValueError(f"the playground trains in the page: at most {MAX_POINTS} points, "
                         f"got {X.shape[0]}")
    if y.max() > 1:
        raise ValueError(f"the playground is for two classes (labels 0 and 1), but y has "
                         f"labels up to {y.max()}")
    return X, y


def _check_loss(loss) -> str:
    name = default_loss(1) if loss is None else loss
    if not isinstance(name, str) or name.lower() not in PLAYGROUND_LOSSES:
        raise ValueError(f"unknown loss {loss!r} for the playground; choose one of "
                         f"{', '.join(PLAYGROUND_LOSSES)} (one output for two classes)")
    return name.lower()


def _check_optimizer(optimizer) -> str:
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)}")
    return optimizer.lower()


# -------------------------------------------------------------------------------------------------
# The page


def _noscript_picture(model: MLP, X: np.ndarray, y: np.ndarray, threshold: float) -> str:
    """An SVG of the data over the model's initial decision regions, computed by the engine."""
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    size, cells = 300, 30
    scale = size / max(hi - lo)
    parts = [f'<svg width="{size}" height="{size}" role="img" aria-label="the data and the '
             f'initial decision regions" xmlns="http://www.w3.org/2000/svg">']
    step = size / cells
    with no_grad():
        for j in range(cells):   # one rectangle per run of cells on the same side, row by row
            x2 = hi[1] - (j + 0.5) * step / scale
            sides = [model([float(lo[0] + (i + 0.5) * step / scale), float(x2)]).data > threshold
                     for i in range(cells)]
            start = 0
            for i in range(1, cells + 1):
                if i == cells or sides[i] != sides[start]:
                    fill = "#cfe3f3" if sides[start] else "#fbe3c0"
                    parts.append(f'<rect x="{start * step:.1f}" y="{j * step:.1f}" '
                                 f'width="{(i - start) * step + 0.5:.1f}" '
                                 f'height="{step + 0.5:.1f}" fill="{fill}"/>')
                    start = i
    for (x1, x2), label in zip(X.tolist(), y.tolist()):
        cx, cy = (x1 - lo[0]) * scale, (hi[1] - x2) * scale
        if label:
            parts.append(f'<rect x="{cx - 3.5:.1f}" y="{cy - 3.5:.1f}" width="7" height="7" '
                         f'fill="#0072B2" stroke="#fff"/>')
        else:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#E69F00" '
                         f'stroke="#fff"/>')
    return "".join(parts) + "</svg>"


def playground_html(path, model: MLP | None = None, X=None, y=None, *, loss: str | None = None,
                    optimizer: str = "sgd", lr: float = 0.1, batch_size: int | None = None,
                    seed: int = 0, momentum: float = 0.0) -> pathlib.Path:
    """Write the playground page to ``path``; returns the path written.

    ``model``: an MLP with 2 inputs and 1 output (default ``MLP(2, [8, 8, 1], seed=seed)``);
    ``X``, ``y``: 2-D points and labels 0/1 (default ``make_moons(100, noise=0.1,
    seed=seed)``). ``loss`` one of ``PLAYGROUND_LOSSES`` (None: hinge), ``optimizer`` "sgd"
    (with ``momentum``) or "adam", ``lr``, ``batch_size`` (None: every point each step) and
    ``seed`` (of the batches' shuffling) start the page's controls, which can change them.
    Training in the page gives the parameters ``train.fit`` gives with the same arguments (to
    rounding: 1e-12 relative after 20 steps). TypeError/ValueError for anything it cannot train.
    """
    seed = _checks.seed(seed, generator=False)
    if seed is None:
        raise TypeError("seed must be an int >= 0 (the page shuffles with it)")
    model = MLP(2, [8, 8, 1], seed=seed) if model is None else _check_model(model)
    if X is None and y is None:
        X, y = make_moons(100, noise=0.1, seed=seed)
    elif X is None or y is None:
        raise ValueError("give both X and y, or neither (the default two moons)")
    X, y = _check_data(X, y)
    loss = _check_loss(loss)
    optimizer = _check_optimizer(optimizer)
    lr = check_lr(lr)
    momentum = _checks.nonnegative(momentum, "momentum")
    if batch_size is not None:
        batch_size = _checks.positive_int(batch_size, "batch_size")
    params = model.parameters()
    state = {
        "layers": [model.nin] + list(model.nouts),
        "activations": [layer.activation for layer in model.layers],
        "params": [p.data for p in params], "labels": [p.label for p in params],
        "data": [[x1, x2, int(c)] for (x1, x2), c in zip(X.tolist(), y.tolist())],
        "loss": loss, "threshold": LOSSES[loss].threshold, "optimizer": optimizer, "lr": lr,
        "momentum": momentum, "batchSize": batch_size, "seed": seed,
        "model": export_model(model, tuple(X[0])), "heads": export_heads(loss),
    }
    ops = {v.op.name: v.op for v in _op_values(model, loss)}
    here = pathlib.Path(__file__).with_name("viz")   # the page's files, beside explore.js
    parts = {
        "STYLE": (here / "playground.css").read_text(encoding="utf-8"),
        "STATE": json.dumps(state).replace("<", "\\u003c"),
        "OPS": op_script(ops),
        "SCRIPT": (here / "playground.js").read_text(encoding="utf-8"),
        "NOSCRIPT": _noscript_picture(model, X, y, LOSSES[loss].threshold),
        "TITLE": html.escape(f"MLP(2, {list(model.nouts)}) on {len(y)} points, {loss} loss"),
    }
    template = (here / "playground.html").read_text(encoding="utf-8")
    page = re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], template)
    return write_atomically(pathlib.Path(path), page.encode("utf-8"))


def _op_values(model: MLP, loss: str) -> list:
    """Every interior node of one sample's graphs: model and each loss branch (for the ops)."""
    z = model(_sample_input((0.0, 0.0)))
    nodes = [v for v in topological_order(z) if v.op is not None]
    spec = LOSSES[loss]
    for label in (0, 1):
        for probe in _BRANCH_PROBES.get(loss, {"": 0.0}).values():
            zl = Value(probe, "z")
            nodes += [v for v in topological_order(spec.batch([zl], [spec.target(label, 1)]))
                      if v.op is not None]
    return nodes
