"""micrograd_nn: a scalar autograd engine for learning, teaching and checking backpropagation."""

from .engine import Op, Value, enable_grad, grad, hessian, is_grad_enabled, no_grad
from .gradcheck import gradcheck, numerical_grad

__version__ = "0.1.0"

__all__ = [
    "Value", "Op", "no_grad", "enable_grad", "is_grad_enabled", "grad", "hessian",
    "gradcheck", "numerical_grad",
]
