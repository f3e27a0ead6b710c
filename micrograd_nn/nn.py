"""Neurons, layers and multi-layer perceptrons built on `Value`.

A neuron computes ``z = sum_i w_i * x_i + b`` and then ``a = activation(z)``. The sum is one
fused ``Value.linear`` node (local derivatives dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1), so a
network's graph has two nodes per neuron instead of 2n + 1, and the chain rule still reads
straight off the diagram: dloss/dw_i = dloss/da * da/dz * x_i.

``MLP(2, [16, 16, 1])`` keeps micrograd's conventions, so code written for micrograd runs
unchanged: ReLU hidden layers, a linear output, weights uniform in [-1, 1], zero biases, and
``parameters()`` ordered layer by layer, neuron by neuron, each neuron's weights in input order
and then its bias. With ``seed=None`` the weights come from Python's global ``random`` module
in the same order as micrograd draws them, so ``random.seed(1337)`` gives micrograd's network.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import stat
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import _checks
from ._files import write_atomically
from .engine import Value, leaf, linear_nodes, neuron_parameters
from .ops import activations
from .pytorch import read_module, to_torch

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "INITS", "MAX_PARAMETERS",
           "NEURON_COST", "LAYER_COST", "parameter_count", "model_size"]



def _activation_functions() -> dict[str, Callable[[Value], Value] | None]:
    """name -> the function a neuron applies to z: each op the table registers as an
    activation (its Value method, or the op itself), read at each call so that an op registered
    later counts; "linear" is None: the neuron returns z itself."""
    return {**{name: getattr(Value, op.method) if op.method else op
               for name, op in activations().items()}, "linear": None}


ACTIVATIONS: tuple[str, ...] = tuple(_activation_functions())  # the built-in ones
INITS: tuple[str, ...] = ("uniform", "xavier", "he")

_FORMAT = "micrograd_nn.MLP"
_FORMAT_VERSION = 1

MAX_PARAMETERS = 1_000_000
"""The largest model a Neuron, Layer or MLP may be, built or loaded, counted in parameters:
each parameter counts 1, each neuron and each layer ``NEURON_COST`` = ``LAYER_COST`` = 4 more
(see ``model_size``). A parameter is a Python object of about 150 bytes with its share of the
lists; a neuron or a layer is several objects and a node or two per sample in every graph, and
building one takes about as long as 4 parameters. A model this size is already slow in pure
Python. Larger sizes raise ValueError before anything is allocated; to go past it, set
``micrograd_nn.nn.MAX_PARAMETERS`` higher (it is read at each call)."""

NEURON_COST = 4
LAYER_COST = 4


def parameter_count(nin: int, nouts: Sequence[int]) -> int:
    """The number of parameters of ``MLP(nin, nouts)``: sum over layers of (inputs + 1) * width."""
    sizes = [nin, *nouts]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def model_size(nin: int, nouts: Sequence[int]) -> int:
    """What ``MLP(nin, nouts)`` costs, counted in parameters (the measure ``MAX_PARAMETERS``
    bounds): parameters + NEURON_COST * neurons + LAYER_COST * layers.

    ``MLP(1, [1] * 499998)`` has 999,996 parameters but 499,998 layers: size 4,999,980.
    """
    return parameter_count(nin, nouts) + NEURON_COST * sum(nouts) + LAYER_COST * len(nouts)


def _architecture(nin: int, nouts: Sequence[int]) -> str:
    """``nin -> [w1, w2, ...]``, the widths cut short past 8 layers (an error must stay short)."""
    widths = ", ".join(str(n) for n in nouts[:8])
    if len(nouts) > 8:
        widths += f", ... ({len(nouts):,} layers)"
    return f"{nin}, [{widths}]"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _check_model_size(what: str, parameters: int, neurons: int, layers: int) -> None:
    size = parameters + NEURON_COST * neurons + LAYER_COST * layers
    if size > MAX_PARAMETERS:
        raise ValueError(f"{what} would have {_plural(parameters, 'parameter')} in "
                         f"{_plural(neurons, 'neuron')} and {_plural(layers, 'layer')}, a size "
                         f"of {size:,} (each neuron and each layer counts as {NEURON_COST} "
                         f"parameters), more than "
                         f"micrograd_nn.nn.MAX_PARAMETERS = {MAX_PARAMETERS:,}; build a smaller "
                         f"model, or raise that limit to build it anyway")


def _check_activation(activation: Any, what: str = "activation") -> Callable | None:
    functions = _activation_functions()
    if not isinstance(activation, str) or activation not in functions:
        raise ValueError(
            f"unknown {what} {activation!r}; valid: {', '.join(repr(a) for a in functions)} "
            f"(an op becomes one with micrograd_nn.register(op, activation=True))"
        )
    return functions[activation]


def _micrograd_nonlin(activation: Any, nonlin: Any) -> Any:
    """micrograd's ``nonlin=True/False`` (also given in the activation's place) as an activation:
    True is "relu", False is "linear"."""
    if isinstance(activation, bool):
        activation, nonlin = "relu", activation
    if nonlin is None:
        return activation
    if not isinstance(nonlin, bool):
        raise TypeError(f"nonlin must be True or False, got {type(nonlin).__name__}: {nonlin!r}")
    if activation != "relu":
        raise ValueError(f"give either nonlin (micrograd's spelling) or activation, not both "
                         f"(got nonlin={nonlin!r}, activation={activation!r})")
    return "relu" if nonlin else "linear"


def _check_init(init: Any) -> str:
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"unknown init {init!r}; valid: {', '.join(repr(i) for i in INITS)}")
    return init


_check_size = _checks.positive_int


def _check_rng(rng: Any):
    """None means Python's global ``random`` module (micrograd's source of weights)."""
    if rng is None:
        return random
    if not (callable(getattr(rng, "uniform", None)) and callable(getattr(rng, "gauss", None))):
        raise TypeError(
            f"rng must be a random.Random (anything with uniform() and gauss()) or None, "
            f"got {type(rng).__name__}"
        )
    return rng


def _initial_weights(init: str, nin: int, fan_out: int, rng) -> list[float]:
    """``nin`` starting weights drawn by the scheme ``init`` (biases always start at 0).

    uniform: w ~ U(-1, 1)                                  (micrograd's choice)
    xavier:  w ~ U(-a, a), a = sqrt(6 / (nin + fan_out))   (Glorot: keeps Var(z) near Var(x),
                                                            suits tanh and sigmoid)
    he:      w ~ N(0, sqrt(2 / nin))                       (Kaiming: suits ReLU, which zeroes
                                                            half of its inputs)
    """
    if init == "uniform":
        return [rng.uniform(-1, 1) for _ in range(nin)]
    if init == "xavier":
        a = math.sqrt(6.0 / (nin + fan_out))
        return [rng.uniform(-a, a) for _ in range(nin)]
    sigma = math.sqrt(2.0 / nin)
    return [rng.gauss(0.0, sigma) for _ in range(nin)]


_INPUT_KINDS = "a list, tuple or 1-D numpy array of numbers or Values"


def _as_input_values(x: Any, nin: int, who: str) -> list:
    """Check an input vector and return it as a list of Values (numbers become leaves x1, x2...).

    Done once per call of the outermost module, so the layers inside work on Values only.
    """
    if type(x) is not list and type(x) is not tuple:
        if isinstance(x, np.ndarray):
            if x.ndim != 1:
                raise ValueError(f"{who} expects a 1-D input, got an array of shape {x.shape}")
            x = x.tolist()
        elif not isinstance(x, (list, tuple)):
            raise TypeError(f"{who} expects {_INPUT_KINDS}, got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who} expects {nin} inputs, got {len(x)}")
    out = []
    for i, v in enumerate(x):
        if type(v) is Value or isinstance(v, Value):
            out.append(v)
        elif type(v) is float:
            out.append(leaf(v, f"x{i + 1}"))
        elif isinstance(v, numbers.Real):  # int, bool, numpy scalars, Fraction
            out.append(leaf(float(v), f"x{i + 1}"))
        else:
            raise TypeError(
                f"{who} input {i + 1} must be a number or a Value, got {type(v).__name__}: {v!r}"
            )
    return out


# How many times a module's attribute was assigned, or a module's list of modules changed, in
# this process: a compiled program re-checks its parameters when it moves (micrograd_nn.compile)
CHANGES = [0]
_MIXED = object()   # Layer._plan: the neurons' activations differ


class _Modules(list):
    """A module's list of modules (``mlp.layers``, ``layer.neurons``): a list whose changes in
    place count as changes of the module, so that compiled programs notice them."""

    def __reduce__(self):
        return type(self), (list(self),)


def _counted(method):
    def changed(self, *args, **kwargs):
        CHANGES[0] += 1
        return method(self, *args, **kwargs)
    changed.__name__ = method.__name__
    return changed


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(_Modules, _name, _counted(getattr(list, _name)))
del _name


class Module:
    """Base of every network piece, mirroring PyTorch: ``parameters()``, ``zero_grad()``, call.

    ``module(x)`` runs ``module.forward(x)``. Assigning an attribute counts as a change of the
    module (`CHANGES`); a list of modules is kept as a list that counts its changes too.
    """

    # attributes that hold a list of modules even while it is empty (its appends must count)
    _module_lists: tuple = ()

    def __setattr__(self, name: str, value) -> None:
        if type(value) is list and (name in self._module_lists
                                    or value and all(isinstance(m, Module) for m in value)):
            value = _Modules(value)
        object.__setattr__(self, name, value)
        CHANGES[0] += 1

    def parameters(self) -> list[Value]:
        """The trainable Values, in a fixed order."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0 (grads of leaves accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def num_parameters(self) -> int:
        return len(self.parameters())

    def forward(self, x):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)


class _Weights(list):
    """A neuron's weights: a list (``neuron.w + [neuron.b]`` works as in micrograd) that refuses
    changes in place, since the neuron's record of its parameters would not see them."""

    def __reduce__(self):  # copy and pickle rebuild it whole, not by appending
        return type(self), (list(self),)

    def _refuse(self, *args, **kwargs):
        raise TypeError("a neuron's weights cannot be changed in place; assign a new list "
                        "(neuron.w = [...]) or set a weight's .data")


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(_Weights, _name, _Weights._refuse)
del _name


class Neuron(Module):
    """``a = activation(sum_i w_i * x_i + b)`` with ``nin`` weights and one bias.

    ``activation`` is one of "relu", "sigmoid", "tanh", "linear"; ``init`` one of "uniform",
    "xavier", "he" (see `_initial_weights`); ``rng`` a ``random.Random`` (None: the global
    ``random`` module). ``fan_out`` is the width of the layer the neuron sits in, used only by
    xavier. Parameters are labelled "w1", ..., "wn", "b". micrograd's ``Neuron(nin,
    nonlin=False)`` works too (``nonlin=True`` is relu, False linear); ``.nonlin`` reads it, and
    setting it (or ``.activation``) changes the neuron, as in micrograd. A subclass written for
    micrograd, whose ``__init__`` sets ``self.w``, ``self.b`` and ``self.nonlin`` without calling
    ``Neuron.__init__``, works as it did there (``nin`` is ``len(w)``; relu until told otherwise).

    ``w`` is a list of ``nin`` Values that cannot be changed in place, and ``b`` a Value;
    assigning either replaces them (``neuron.w = [...]``). The neuron keeps one tuple of its
    parameters, which its linear nodes share (see ``engine.linear_nodes``).
    """

    def __init__(self, nin: int, activation: str = "relu", init: str = "uniform",
                 rng: random.Random | None = None, *, fan_out: int = 1,
                 nonlin: bool | None = None):
        activation = _micrograd_nonlin(activation, nonlin)
        nin = _check_size(nin, "nin")
        _check_model_size(f"Neuron({nin})", nin + 1, 1, 0)
        self.activation = activation
        self.init = _check_init(init)
        weights = _initial_weights(init, nin, _check_size(fan_out, "fan_out"), _check_rng(rng))
        self._b = Value(0.0, "b")
        self.w = [Value(w, f"w{i + 1}") for i, w in enumerate(weights)]

    # micrograd's default (nonlin=True), for a subclass that never says otherwise
    _activation = "relu"
    _act = staticmethod(_activation_functions()["relu"])

    @property
    def nin(self) -> int:
        """The number of inputs: ``len(w)`` (before ``w`` is set, what was assigned)."""
        weights = getattr(self, "_w", None)   # not self.__dict__: reading it slows every attribute
        return self._nin if weights is None else len(weights)

    @nin.setter
    def nin(self, n: int) -> None:   # for subclasses that set it before w, as micrograd's may
        n = _check_size(n, "nin")
        if hasattr(self, "_w") and n != len(self._w):
            raise ValueError(f"a neuron's nin is len(w) = {len(self._w)}; assign w to change it")
        self._nin = n

    @property
    def w(self) -> list:
        """The weights w_1..w_n, a list of Values that cannot be changed in place."""
        return self._w

    @w.setter
    def w(self, weights) -> None:
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
            raise TypeError(f"Neuron.w takes a list of Values, got {type(weights).__name__}")
        weights = _Weights(weights)
        wrong = [type(v).__name__ for v in weights if not isinstance(v, Value)]
        if wrong:
            raise TypeError(f"Neuron.w takes Values, got {len(wrong)} other objects "
                            f"({', '.join(sorted(set(wrong)))})")
        nin = getattr(self, "nin", len(weights))  # a subclass may set w before nin
        if len(weights) != nin:
            raise ValueError(f"Neuron({nin}).w takes {nin} Values, got {len(weights)}")
        self._w = weights
        self._update_parameters()

    @property
    def b(self) -> Value:
        """The bias, a Value."""
        return self._b

    @b.setter
    def b(self, bias) -> None:
        if not isinstance(bias, Value):
            raise TypeError(f"Neuron.b takes a Value, got {type(bias).__name__}")
        self._b = bias
        self._update_parameters()

    def _update_parameters(self) -> None:
        # the tuple (w_1, ..., w_n, b) the linear nodes share; a subclass written for
        # micrograd may assign w and b in either order, so the tuple waits for both
        if hasattr(self, "_w") and hasattr(self, "_b"):
            self._wb = neuron_parameters(self._w, self._b)

    @property
    def activation(self) -> str:
        """The activation's name, one of ``ACTIVATIONS``; assigning one changes the neuron."""
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        self._act = _check_activation(name)
        self._activation = name

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: True unless the activation is "linear". Setting it False makes the
        neuron linear; True makes a linear neuron relu (micrograd's only non-linearity) and
        keeps any other activation."""
        return self.activation != "linear"

    @nonlin.setter
    def nonlin(self, flag: bool) -> None:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"nonlin must be True or False, got {type(flag).__name__}: {flag!r}")
        if not flag:
            self.activation = "linear"
        elif self.activation == "linear":
            self.activation = "relu"

    def _forward(self, x: list) -> Value:
        # x is already a list of Values of the right length: the hot path checks nothing
        (z,) = linear_nodes((self._wb,), x)
        act = self._act
        return z if act is None else act(z)

    def forward(self, x) -> Value:
        return self._forward(_as_input_values(x, self.nin, "Neuron"))

    def parameters(self) -> list[Value]:
        return [*self._w, self._b]

    def _prefix_labels(self, prefix: str) -> None:
        for p in self.parameters():
            p.label = prefix + p.label

    def __repr__(self) -> str:
        return f"Neuron({self.nin} inputs, {self.activation})"


def _computes_as(m, base: type) -> bool:
    """Does m compute as ``base`` does (its class overrides none of the ways to call it), so
    that its ``_forward`` may be called in its place?"""
    kind = type(m)
    return kind is base or isinstance(m, base) and (kind.__call__ is base.__call__
                                                    and kind.forward is base.forward
                                                    and kind._forward is base._forward)


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; calling it always returns a list.

    Parameters are labelled "N1.w1", ..., "N1.b", "N2.w1", ... (neurons numbered from 1).
    micrograd's ``Layer(nin, nout, nonlin=False)`` works too, and ``.nonlin`` reads it. Each
    neuron applies its own activation, so one changed through ``neuron.nonlin`` is obeyed;
    setting ``layer.activation`` or ``layer.nonlin`` sets every neuron's.
    """

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: str = "uniform",
                 rng: random.Random | None = None, *, nonlin: bool | None = None):
        activation = _micrograd_nonlin(activation, nonlin)
        self.nin = _check_size(nin, "nin")
        self.nout = _check_size(nout, "nout")
        _check_model_size(f"Layer({self.nin}, {self.nout})",
                          parameter_count(self.nin, [self.nout]), self.nout, 1)
        _check_activation(activation)
        _check_init(init)
        rng = _check_rng(rng)
        self._activation = activation
        self.init = init
        self.neurons = [Neuron(self.nin, activation, init, rng, fan_out=self.nout)
                        for _ in range(self.nout)]
        for j, neuron in enumerate(self.neurons):
            neuron._prefix_labels(f"N{j + 1}.")

    @property
    def activation(self) -> str:
        """The activation the layer was built with, or last given to all its neurons."""
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        _check_activation(name)
        for neuron in self.neurons:
            neuron.activation = name
        self._activation = name

    nonlin = Neuron.nonlin
    _module_lists = ("neurons",)

    def _forward(self, x: list) -> list:
        # all neurons at once: the engine reads the inputs' data once for the whole layer (this
        # runs once per layer per sample, the innermost loop of training); then each neuron's
        # own activation, one function for all when they share it
        plan = self._plan
        if plan[0] != CHANGES[0]:
            plan = self._make_plan()
        _, parameters, act, acts = plan
        if parameters is None:      # a neuron computes in its own way: call each, as micrograd
            return [n(x) for n in acts]
        zs = linear_nodes(parameters, x)
        if act is not _MIXED:
            return zs if act is None else [act(z) for z in zs]
        return [z if a is None else a(z) for a, z in zip(acts, zs)]

    # What _forward reads of the neurons, made again whenever any module has changed since
    # (`CHANGES`): each neuron's parameter tuple, their activation if they all have the same
    # one (else _MIXED), and each neuron's; or (None, the neurons) when one is not a plain
    # Neuron (a subclass with its own __call__ or forward). Reading it from the neurons on
    # every call made the W1 step about 2% slower (alternating runs).
    _plan: tuple = (-1, (), _MIXED, ())

    def _make_plan(self) -> tuple:
        # the count first: a change made while the neurons are read (another thread) is
        # then newer than the plan, which the next call remakes
        count = CHANGES[0]
        neurons = self.neurons
        if all(_computes_as(n, Neuron) for n in neurons):
            acts = tuple(n._act for n in neurons)
            act = acts[0] if acts and all(a is acts[0] for a in acts) else _MIXED
            plan = (count, [n._wb for n in neurons], act, acts)
        else:
            plan = (count, None, _MIXED, tuple(neurons))
        object.__setattr__(self, "_plan", plan)   # a cache, not a change of the module
        return plan

    def __getstate__(self) -> dict:   # a copy or a pickle makes its own plan
        state = dict(self.__dict__)
        state.pop("_plan", None)
        return state

    def forward(self, x) -> list:
        return self._forward(_as_input_values(x, self.nin, "Layer"))

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def _prefix_labels(self, prefix: str) -> None:
        for n in self.neurons:
            n._prefix_labels(prefix)

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout} {self.activation})"


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then one layer per entry of ``nouts``.

    ``nouts`` is a list (or tuple, or 1-D integer numpy array) of layer widths. Hidden layers
    use ``activation``, the last one ``output_activation``. Calling it returns a bare Value
    when the last layer has width 1, else a list of Values: a deliberate choice, so that
    micrograd code (``loss = (1 - y * model(x)).relu()``) runs unchanged; ``Layer`` itself
    always returns a list, so a width-1 hidden layer feeds the next layer like any other.
    ``seed`` (an int >= 0) makes the initialisation reproducible with a private
    ``random.Random(seed)``; with ``seed=None`` the global ``random`` module is used, drawing
    in micrograd's order. Parameters are labelled
    "L1.N1.w1", ..., "L1.N1.b", ... (layers, neurons and weights numbered from 1).
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", init: str = "uniform",
                 seed: int | None = None):
        self.nin = _check_size(nin, "nin")
        if isinstance(nouts, np.ndarray) and nouts.ndim == 1:
            nouts = nouts.tolist()  # numpy ints become Python ints; floats stay floats (refused)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths, got {nouts!r}")
        self.nouts = [_check_size(n, f"layer width nouts[{i}]") for i, n in enumerate(nouts)]
        _check_model_size(f"MLP({_architecture(self.nin, self.nouts)})",
                          parameter_count(self.nin, self.nouts), sum(self.nouts), len(self.nouts))
        _check_activation(activation)
        _check_activation(output_activation, "output_activation")
        _check_init(init)
        seed = _checks.seed(seed, generator=False)
        self.activation = activation
        self.output_activation = output_activation
        self.init = init
        self.seed = seed
        rng = random if seed is None else random.Random(seed)
        sizes = [self.nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation,
                  init, rng)
            for i in range(len(self.nouts))
        ]
        for i, layer in enumerate(self.layers):
            layer._prefix_labels(f"L{i + 1}.")

    _module_lists = ("layers",)

    def forward(self, x) -> Value | list:
        x = _as_input_values(x, self.nin, "MLP")
        for layer in self.layers:
            # a layer of a class of its own (micrograd style) is called as micrograd would
            x = layer._forward(x) if _computes_as(layer, Layer) else layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        widths = ", ".join(f"{layer.nout} {layer.activation}" for layer in self.layers)
        return f"MLP({self.nin} -> [{widths}], {self.num_parameters()} parameters)"

    def _check_one_activation_per_layer(self, doing: str) -> None:
        """A saved file holds one activation for the hidden layers and one for the output:
        ValueError for a neuron or layer changed alone (``neuron.nonlin = False``), which it
        would silently lose."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            kind, want = (("output", self.output_activation) if i == last
                          else ("hidden", self.activation))
            for j, neuron in enumerate(layer.neurons):
                if neuron.activation != want:
                    raise ValueError(
                        f"cannot {doing}: neuron L{i + 1}.N{j + 1} has activation "
                        f"{neuron.activation!r}, but this MLP's {kind} neurons have {want!r}; "
                        f"only a model with one activation for the hidden layers and one for "
                        f"the output can be saved")

    # ---- PyTorch (optional: the ``torch`` extra) ---------------------------------------------

    def to_torch(self, dtype=None):
        """This network as a ``torch.nn.Sequential`` (float64 unless ``dtype`` says otherwise).

        Same weights and activations: ``Linear`` layers whose row j is neuron j, with
        ``nn.ReLU``/``nn.Sigmoid``/``nn.Tanh`` after them (nothing for "linear"). ImportError
        with the install command when torch is missing. See ``micrograd_nn.pytorch``.
        """
        return to_torch(self, dtype)

    @classmethod
    def from_torch(cls, module) -> "MLP":
        """The MLP with the weights and activations of a ``torch.nn.Sequential`` of ``Linear``
        layers and activations (the shape ``to_torch`` makes). Hidden layers must share one
        activation (the MLP's ``activation``); the last layer's becomes ``output_activation``.
        TypeError for a non-module, ValueError naming the layer that an MLP cannot hold."""
        layers = read_module(module)
        hidden = {layer.activation for layer in layers[:-1]}
        if len(hidden) > 1:
            raise ValueError(f"the hidden layers use different activations "
                             f"({', '.join(sorted(hidden))}); an MLP has one activation for "
                             f"all of them")
        model = cls(layers[0].nin, [len(layer.bias) for layer in layers],
                    activation=hidden.pop() if hidden else "relu",
                    output_activation=layers[-1].activation, seed=0)
        for ours, theirs in zip(model.layers, layers):
            for neuron, row, b in zip(ours.neurons, theirs.weight, theirs.bias):
                for w, number in zip(neuron.w, row):
                    w.data = number
                neuron.b.data = b
        model.seed = None  # the weights came from the module, not from a seed
        return model

    # ---- persistence -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the architecture and parameters to ``path`` as JSON, atomically.

        Through ``micrograd_nn._files.write_atomically``: the file is replaced whole or not at
        all (a failed or killed save never leaves it half-written, and the next save removes
        the one temporary file a kill can leave), an existing file keeps its permission bits,
        and a symlink is written through to the file it points to. NaN or infinite parameters
        raise ValueError (JSON cannot hold them) and nothing is written.
        """
        self._check_one_activation_per_layer(f"save {os.fspath(path)}")
        params = self.parameters()
        for p in params:
            if not math.isfinite(p.data):
                raise ValueError(f"cannot save {os.fspath(path)}: parameter {p.label} is {p.data!r}")
        state = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "nin": self.nin,
            "nouts": list(self.nouts),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "init": self.init,
            "parameters": [p.data for p in params],
        }
        write_atomically(path, json.dumps(state, indent=1, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MLP":
        """Rebuild a network saved by ``save``. ValueError names the file and what is wrong.

        A missing file raises FileNotFoundError; a path that is not a regular file (a directory,
        a named pipe, a device) ValueError, before it is opened, since a pipe would block the
        read forever. Anything else wrong with the content raises
        ValueError, and is found before the network is built, in time proportional to the
        file's size: invalid or truncated JSON, nesting, an integer of more than 20 digits, an
        unknown format or version, a file larger than a model of ``MAX_PARAMETERS`` could be,
        an architecture over ``MAX_PARAMETERS`` or not matching the number of parameters, a
        parameter that is not a finite number. Loading does not touch the global random state.
        """
        path = os.fspath(path)
        state = _read_state(path)
        data = _checked_parameters(state, path)
        try:
            model = cls(state["nin"], state["nouts"], activation=state["activation"],
                        output_activation=state["output_activation"], init=state["init"],
                        seed=0)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: invalid architecture: {e}") from None
        for p, v in zip(model.parameters(), data):
            p.data = float(v)
        model.seed = None
        return model


_BYTES_PER_PARAMETER = 40   # a saved float takes at most about 28 characters with its line


def _integer(text: str) -> int:
    """JSON integers, refusing the absurdly long (a 400-digit weight is not a model's)."""
    if len(text.lstrip("-")) > 20:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits ({text[:12]}...)")
    return int(text)


def _constant(text: str):
    raise ValueError(f"{text} (JSON has no NaN or Infinity; parameters must be finite)")


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "named pipe (FIFO)"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
             (stat.S_ISSOCK, "socket")]
    return next((name for test, name in kinds if test(mode)), "special file")


def _read_state(path: str) -> dict:
    """The JSON object in ``path``, read with bounded size, digits and nesting."""
    limit = _BYTES_PER_PARAMETER * MAX_PARAMETERS + 4096
    kind = os.stat(path).st_mode    # FileNotFoundError for a missing file, as open() gives
    if not stat.S_ISREG(kind):      # a FIFO or a terminal would block open() or read() forever
        raise ValueError(f"{path}: not a saved MLP: a {_file_kind(kind)}, not a regular file")
    with open(path, "rb") as f:
        raw = f.read(limit + 1)
    if len(raw) > limit:
        raise ValueError(f"{path}: not a saved MLP of at most micrograd_nn.nn.MAX_PARAMETERS = "
                         f"{MAX_PARAMETERS:,} parameters: the file is larger than {limit:,} bytes")
    try:
        state = json.loads(raw.decode("utf-8"), parse_int=_integer, parse_constant=_constant)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a saved MLP (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a saved MLP (invalid or truncated JSON: {e})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a saved MLP (JSON nested too deeply)") from None
    except ValueError as e:
        raise ValueError(f"{path}: not a saved MLP: {e}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(state).__name__}")
    return state


def _checked_parameters(state: dict, path: str) -> list:
    """The parameter list of a saved state, after checking the architecture's size against it
    and against ``MAX_PARAMETERS``: nothing is built from a file that fails."""
    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    if state.get("format") != _FORMAT:
        raise bad(f"unknown format {state.get('format')!r} (expected {_FORMAT!r})")
    if state.get("version") != _FORMAT_VERSION:
        raise bad(f"unsupported version {state.get('version')!r} "
                  f"(this micrograd_nn reads version {_FORMAT_VERSION})")
    missing = [k for k in ("nin", "nouts", "activation", "output_activation", "init",
                           "parameters") if k not in state]
    if missing:
        raise bad(f"missing field(s) {', '.join(missing)}")
    nin, nouts, data = state["nin"], state["nouts"], state["parameters"]
    if not isinstance(nouts, list) or not nouts:
        raise bad(f"invalid architecture: nouts must be a non-empty list of layer widths, "
                  f"got {nouts!r:.80}")
    for name, size in [("nin", nin)] + [(f"nouts[{i}]", n) for i, n in enumerate(nouts)]:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise bad(f"invalid architecture: {name} must be a positive int, got {size!r:.80}")
    count = parameter_count(nin, nouts)
    if model_size(nin, nouts) > MAX_PARAMETERS:
        raise bad(f"the architecture {_architecture(nin, nouts)} has "
                  f"{_plural(count, 'parameter')} in {_plural(sum(nouts), 'neuron')} and "
                  f"{_plural(len(nouts), 'layer')}, a size of "
                  f"{model_size(nin, nouts):,} (each neuron and each layer counts as "
                  f"{NEURON_COST} parameters), more than micrograd_nn.nn.MAX_PARAMETERS = "
                  f"{MAX_PARAMETERS:,}")
    if not isinstance(data, list):
        raise bad(f"'parameters' must be a list of numbers, got {type(data).__name__}")
    if len(data) != count:
        raise bad(f"architecture {_architecture(nin, nouts)} has {count} parameters, "
                  f"the file holds {len(data)}")
    for i, v in enumerate(data):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad(f"parameter {i} must be a finite number, got {v!r:.80}")
    return data
