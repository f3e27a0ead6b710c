"""The scalar autograd engine: `Value`, ``backward()``, `grad` and the grad mode (`no_grad`).

Four files, one idea each:

* ``reference.py``: the engine in under 100 lines, as micrograd writes it (each node keeps its
  ``operands`` and ``local_grads``; one sort, one chain-rule loop). Read it first.
* ``value.py``: the fast `Value` the package uses, equal to the reference number for number;
  the only file that knows how a node is stored, with one decoder (`decode`) every reader uses.
* ``walk.py``: the backward walk as a generator (`backward_walk`), `grad` and `hessian`.
* ``modes.py``: `no_grad` / `enable_grad` and `collector_paused`.

The operations themselves are the rows of ``micrograd_nn/ops.py``.
"""

from ..ops import (ADD, DIV, LINEAR, LOGSUMEXP, MUL, NEG, OPS, POW, RELU, SUB, SUM, Op, powc,
                   register, value_of)
from .modes import collector_paused, enable_grad, is_grad_enabled, no_grad
from .value import (Value, chain_term, decode, leaf, linear_nodes, neuron_parameters, to_float,
                    topological_order)
from .walk import backward_walk, grad, hessian

__all__ = [
    "Value", "Op", "register", "no_grad", "enable_grad", "is_grad_enabled", "grad", "hessian",
    "collector_paused", "topological_order", "backward_walk", "decode", "chain_term", "leaf",
    "to_float", "linear_nodes", "neuron_parameters",
]
