"""micrograd_nn: a scalar autograd engine for learning, teaching and checking backpropagation.

The engine (``Value``, ``grad``, ``no_grad``), the networks built on it (``MLP`` and friends,
``losses``, ``optim``, ``datasets``, ``fit``) and the chain-rule diagrams (``draw_graph``,
``explain``) are all importable from here. The diagram functions load on first use, so
``import micrograd_nn`` stays quick.
"""

import sys

from . import datasets, losses, ops, optim
from .engine import (Op, Value, collector_paused, enable_grad, grad, hessian, is_grad_enabled,
                     no_grad, register)
from .gradcheck import gradcheck, numerical_grad
from .compiler import compile, source_of
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, ExponentialDecay, LinearDecay, StepDecay
from .datasets import make_blobs, make_circles, make_moons, make_spiral, make_xor
from .train import (Evaluation, History, TrainingDiverged, accuracy, default_loss, evaluate, fit,
                    output_width, predict, predict_proba, scores)

__version__ = "0.1.0"

_VIZ = ("draw_graph", "explain", "explore_html", "render", "trace_backward", "trace_html",
        "seed_neuron", "RendererNotFoundError")
_PLOTS = ("plot_loss", "plot_decision_boundary")  # matplotlib is slow to import: loaded on use
_PAGES = ("playground_html",)

# ``compile`` is imported by name (``from micrograd_nn import compile``) and is left out of
# __all__, so that ``from micrograd_nn import *`` keeps Python's builtin compile.
__all__ = [
    "Value", "Op", "register", "no_grad", "enable_grad", "is_grad_enabled", "grad", "hessian",
    "collector_paused", "gradcheck", "numerical_grad", "source_of",
    "Module", "Neuron", "Layer", "MLP", "losses", "ops", "optim", "datasets", "SGD", "Adam",
    "LinearDecay", "StepDecay", "ExponentialDecay", "History", "Evaluation", "TrainingDiverged",
    "fit", "predict", "predict_proba", "scores", "accuracy", "evaluate", "default_loss",
    "output_width",
    "make_moons", "make_circles", "make_xor", "make_blobs", "make_spiral",
    *_VIZ, *_PLOTS, *_PAGES,
]


if "IPython" in sys.modules:  # in a notebook: a Value displays as its diagram
    from .viz import jupyter as _jupyter
    _jupyter.register()


def __getattr__(name: str):
    if name in _VIZ:
        from . import viz
        return getattr(viz, name)
    if name in _PLOTS:
        from . import plots
        return getattr(plots, name)
    if name in _PAGES:
        from . import playground
        return getattr(playground, name)
    raise AttributeError(f"module 'micrograd_nn' has no attribute {name!r}")
