"""The bridge to PyTorch: an MLP as a ``torch.nn.Sequential`` and back, same weights.

``MLP(2, [16, 16, 1])`` becomes

    Sequential(Linear(2, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 1))

with neuron j of layer i as row j of ``Linear_i.weight`` and entry j of ``Linear_i.bias``; a
"linear" activation is no module at all, "relu", "sigmoid" and "tanh" are ``nn.ReLU``,
``nn.Sigmoid`` and ``nn.Tanh``. The tensors are float64 by default, so both sides compute the
same numbers up to rounding. torch is optional (the ``torch`` extra) and is imported only when
one of these functions runs.
"""

from __future__ import annotations

from typing import Any

from .nn import MLP

__all__ = ["to_torch", "from_torch", "import_torch"]

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
    nn = torch.nn
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def to_torch(model: MLP, dtype: Any = None):
    """``model`` as a ``torch.nn.Sequential`` with the same weights and activations.

    ``dtype`` defaults to ``torch.float64``. The module is new: training it leaves ``model``
    alone (and the other way round).
    """
    if not isinstance(model, MLP):
        raise TypeError(f"to_torch needs an MLP, got {type(model).__name__}")
    torch = import_torch()
    dtype = torch.float64 if dtype is None else dtype
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, "
                        f"got {dtype!r}")
    activations = _activation_modules(torch)
    modules = []
    for layer in model.layers:
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


def from_torch(module) -> MLP:
    """The MLP with the weights and activations of ``module`` (see ``_ACCEPTED``).

    Hidden layers must share one activation (an MLP has one ``activation`` for them); the last
    layer's becomes ``output_activation``. Weights are copied as Python floats, so a float32
    module gives its float32 numbers exactly. TypeError for something that is not a torch
    module, ValueError (naming the layer) for one that is not such a stack.
    """
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(module, (torch.nn.Sequential, torch.nn.Linear)):
        raise ValueError(f"cannot convert a {type(module).__name__}; MLP.from_torch takes "
                         f"{_ACCEPTED}")
    layers = _layers(module, torch)
    hidden = {name for _, name in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"the hidden layers use different activations ({', '.join(sorted(hidden))}"
                         f"); an MLP has one activation for all of them")
    model = MLP(layers[0][0].in_features, [linear.out_features for linear, _ in layers],
                activation=hidden.pop() if hidden else "relu",
                output_activation=layers[-1][1], seed=0)
    for layer, (linear, _) in zip(model.layers, layers):
        weight = linear.weight.detach().tolist()
        bias = linear.bias.detach().tolist()
        for neuron, row, b in zip(layer.neurons, weight, bias):
            for w, number in zip(neuron.w, row):
                w.data = float(number)
            neuron.b.data = float(b)
    model.seed = None  # the weights came from the module, not from a seed
    return model
