"""The bridge to PyTorch: an MLP as a ``torch.nn.Sequential`` and back, same weights.

``MLP(2, [16, 16, 1])`` becomes

    Sequential(Linear(2, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 1))

with neuron j of layer i as row j of ``Linear_i.weight`` and entry j of ``Linear_i.bias``; a
"linear" activation is no module at all, "relu", "sigmoid" and "tanh" are ``nn.ReLU``,
``nn.Sigmoid`` and ``nn.Tanh``. The tensors are float64 by default, so both sides compute the
same numbers up to rounding. torch is optional (the ``torch`` extra) and is imported only when
one of these functions runs.

This module knows nothing of ``nn``: `to_torch` reads a model through its public attributes
(``layers``, each with ``neurons`` holding ``w``, ``b``, and an ``activation``), and
`read_module` gives a torch module's layers as plain numbers, which ``MLP.from_torch`` builds
into an MLP.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["to_torch", "read_module", "TorchLayer", "import_torch", "TORCH", "ACTIVATION_MODULES"]

# How each op of the table reads on torch tensors, keyed by the op's name: a function of the
# torch module and the operands (one sequence for an n-ary op; "**n" takes the exponent last).
# The differential tests hold every op to it, in float64.
TORCH = {
    "+": lambda torch, x, y: x + y,
    "-": lambda torch, x, y: x - y,
    "*": lambda torch, x, y: x * y,
    "/": lambda torch, x, y: x / y,
    "neg": lambda torch, x: -x,
    "**": lambda torch, x, y: x ** y,
    "**n": lambda torch, x, n: x ** n,
    "exp": lambda torch, x: torch.exp(x),
    "log": lambda torch, x: torch.log(x),
    "relu": lambda torch, x: torch.relu(x),
    "sigmoid": lambda torch, x: torch.sigmoid(x),
    "tanh": lambda torch, x: torch.tanh(x),
    "abs": lambda torch, x: torch.abs(x),
    "sqrt": lambda torch, x: torch.sqrt(x),
    # log(1 + exp(x)) exactly: nn.functional.softplus switches to the identity above 20
    "softplus": lambda torch, x: torch.logaddexp(x, torch.zeros_like(x)),
    "sum": lambda torch, xs: torch.stack(list(xs)).sum(),
    "linear": lambda torch, xs: _torch_linear(torch, list(xs)),
    "logsumexp": lambda torch, xs: torch.logsumexp(torch.stack(list(xs)), 0),
}

# The torch module class (in torch.nn) of each activation the bridge carries over
ACTIVATION_MODULES = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _torch_linear(torch, xs: list):
    n = len(xs) // 2   # operands w_1..w_n, x_1..x_n, b
    return (torch.stack(xs[:n]) * torch.stack(xs[n:-1])).sum() + xs[-1] if n else xs[-1]

_INSTALL = "pip install 'micrograd_nn[torch]' (or pip install torch)"


def import_torch():
    """The ``torch`` module, or ImportError saying how to install it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"the PyTorch bridge needs PyTorch, which is not installed: "
                          f"{_INSTALL}") from error
    return torch


def _activation_modules(torch) -> dict:
    """activation name -> its torch module class ("linear" has none)."""
    return {name: getattr(torch.nn, module) for name, module in ACTIVATION_MODULES.items()}


def to_torch(model: Any, dtype: Any = None):
    """``model`` as a ``torch.nn.Sequential`` with the same weights and activations.

    ``model`` is an MLP, or anything with its public shape: ``layers``, each with ``nin``,
    ``nout``, ``activation`` and ``neurons`` holding ``w`` (Values) and ``b``. ``dtype``
    defaults to ``torch.float64``. The module is new: training it leaves ``model`` alone (and
    the other way round). ValueError naming an activation torch has no module for here, or a
    neuron whose activation differs from its layer's (set alone through ``neuron.nonlin``).
    """
    if not hasattr(model, "layers") or isinstance(model, (str, bytes)):
        raise TypeError(f"to_torch needs an MLP (a model with .layers), got {type(model).__name__}")
    for i, layer in enumerate(model.layers):   # torch applies one activation to a whole layer
        for j, neuron in enumerate(layer.neurons):
            if neuron.activation != layer.activation:
                raise ValueError(f"to_torch: neuron L{i + 1}.N{j + 1} has activation "
                                 f"{neuron.activation!r}, but its layer {layer.activation!r}; "
                                 f"a torch layer applies one activation to all its neurons")
    torch = import_torch()
    dtype = torch.float64 if dtype is None else dtype
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, "
                        f"got {dtype!r}")
    activations = _activation_modules(torch)
    modules = []
    for layer in model.layers:
        if layer.activation != "linear" and layer.activation not in activations:
            raise ValueError(f"to_torch: the activation {layer.activation!r} has no torch "
                             f"module here (known: {', '.join(sorted(activations))}, "
                             f"'linear'); add it to ACTIVATION_MODULES in micrograd_nn/pytorch.py")
        linear = torch.nn.Linear(layer.nin, layer.nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons],
                                             dtype=dtype))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=dtype))
        modules.append(linear)
        if layer.activation != "linear":
            modules.append(activations[layer.activation]())
    return torch.nn.Sequential(*modules)


_ACCEPTED = ("a torch.nn.Sequential of nn.Linear layers (with bias), each optionally followed "
             "by one of nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Identity, the same activation after "
             "every hidden layer; or a single nn.Linear")


def _layers(module, torch) -> list:
    """[(linear, activation name), ...] read from ``module``, or ValueError saying why not."""
    nn = torch.nn
    children = [module] if isinstance(module, nn.Linear) else list(module.children())
    names = {cls: name for name, cls in _activation_modules(torch).items()}
    layers: list = []
    open_linear = False  # the last child is an nn.Linear still without its activation
    for k, child in enumerate(children):
        if isinstance(child, nn.Linear):
            if child.bias is None:
                raise ValueError(f"layer {k} ({child}) has no bias; every MLP neuron has one")
            if layers and layers[-1][0].out_features != child.in_features:
                raise ValueError(f"layer {k} ({child}) takes {child.in_features} inputs but the "
                                 f"layer before it gives {layers[-1][0].out_features}")
            layers.append([child, "linear"])
            open_linear = True
            continue
        name = "linear" if type(child) is nn.Identity else names.get(type(child))
        if name is None:
            raise ValueError(f"cannot convert layer {k} ({child}); MLP.from_torch takes "
                             f"{_ACCEPTED}")
        if not open_linear:
            raise ValueError(f"layer {k} ({child}) does not follow an nn.Linear; "
                             f"MLP.from_torch takes {_ACCEPTED}")
        layers[-1][1] = name
        open_linear = False
    if not layers:
        raise ValueError(f"the module has no nn.Linear layer; MLP.from_torch takes {_ACCEPTED}")
    return layers


class TorchLayer(NamedTuple):
    """One ``nn.Linear`` of a module and the activation after it, as plain numbers."""
    nin: int
    weight: list        # nout rows of nin floats: row j is neuron j's weights
    bias: list          # nout floats
    activation: str     # "linear" when no activation follows


def read_module(module) -> list:
    """The layers of ``module`` (see ``_ACCEPTED``) as `TorchLayer`s, numbers copied as Python
    floats (a float32 module gives its float32 numbers exactly). TypeError for something that
    is not a torch module, ValueError (naming the layer) for one that is not such a stack.
    """
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(module, (torch.nn.Sequential, torch.nn.Linear)):
        raise ValueError(f"cannot convert a {type(module).__name__}; MLP.from_torch takes "
                         f"{_ACCEPTED}")
    return [TorchLayer(linear.in_features, [[float(w) for w in row]
                                            for row in linear.weight.detach().tolist()],
                       [float(b) for b in linear.bias.detach().tolist()], activation)
            for linear, activation in _layers(module, torch)]
