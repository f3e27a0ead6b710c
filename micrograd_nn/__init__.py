"""micrograd_nn: a scalar autograd engine for learning, teaching and checking backpropagation.

The engine (``Value``, ``grad``, ``no_grad``), the networks built on it (``MLP`` and friends,
``losses``, ``optim``, ``datasets``, ``fit``) and the chain-rule diagrams (``draw_graph``,
``explain``) are all importable from here. The diagram functions load on first use, so
``import micrograd_nn`` stays quick.
"""

from . import datasets, losses, optim
from .engine import Op, Value, enable_grad, grad, hessian, is_grad_enabled, no_grad
from .gradcheck import gradcheck, numerical_grad
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, ExponentialDecay, LinearDecay, StepDecay
from .train import History, accuracy, evaluate, fit, predict, predict_proba

__version__ = "0.1.0"

_VIZ = ("draw_graph", "explain", "render", "trace_backward", "trace_html", "seed_neuron",
        "RendererNotFoundError")

__all__ = [
    "Value", "Op", "no_grad", "enable_grad", "is_grad_enabled", "grad", "hessian",
    "gradcheck", "numerical_grad",
    "Module", "Neuron", "Layer", "MLP", "losses", "optim", "datasets", "SGD", "Adam",
    "LinearDecay", "StepDecay", "ExponentialDecay", "History", "fit", "predict", "predict_proba", "accuracy", "evaluate",
    *_VIZ,
]


def __getattr__(name: str):
    if name in _VIZ:
        from . import viz
        return getattr(viz, name)
    raise AttributeError(f"module 'micrograd_nn' has no attribute {name!r}")
