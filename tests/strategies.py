"""The composite operations the engine tests walk through (the strategies are the package's own,
``micrograd_nn.testing``; each op of the table has its row in tests/test_ops.py).

Each entry of ``UNARY``/``BINARY`` names an operation, how to apply it to Values (the same
callable works on torch tensors where the method names agree) and the domain its inputs are drawn
from: kinks and poles are kept a safe distance away, so central differences are meaningful.
"""

from __future__ import annotations

from micrograd_nn.testing import reals

# name -> (function of one Value, domain)
UNARY = {
    "neg": (lambda x: -x, reals(-10, 10)),
    "exp": (lambda x: x.exp(), reals(-20, 20)),
    "log": (lambda x: x.log(), reals(1e-2, 1e3)),
    "relu": (lambda x: x.relu(), reals(-10, 10, away_from_zero=1e-3)),
    "abs": (lambda x: x.abs(), reals(-10, 10, away_from_zero=1e-3)),
    "sigmoid": (lambda x: x.sigmoid(), reals(-30, 30)),
    "tanh": (lambda x: x.tanh(), reals(-10, 10)),
    "softplus": (lambda x: x.softplus(), reals(-30, 30)),
    "sqrt": (lambda x: x.sqrt(), reals(1e-2, 1e3)),
    "square": (lambda x: x ** 2, reals(-10, 10)),
    "cube": (lambda x: x ** 3, reals(-5, 5)),
    "reciprocal_pow": (lambda x: x ** -1, reals(-10, 10, away_from_zero=0.1)),
    "fractional_pow": (lambda x: x ** 1.7, reals(1e-2, 10)),
    "add_const": (lambda x: x + 2.5, reals(-10, 10)),
    "radd_const": (lambda x: 2.5 + x, reals(-10, 10)),
    "rsub_const": (lambda x: 1 - x, reals(-10, 10)),
    "rmul_const": (lambda x: 3 * x, reals(-10, 10)),
    "rdiv_const": (lambda x: 2 / x, reals(-10, 10, away_from_zero=0.1)),
    "rpow_const": (lambda x: 2 ** x, reals(-10, 10)),
}

# name -> (function of two Values, domain of the first, domain of the second)
BINARY = {
    "add": (lambda x, y: x + y, reals(-10, 10), reals(-10, 10)),
    "sub": (lambda x, y: x - y, reals(-10, 10), reals(-10, 10)),
    "mul": (lambda x, y: x * y, reals(-10, 10), reals(-10, 10)),
    "div": (lambda x, y: x / y, reals(-10, 10), reals(-10, 10, away_from_zero=0.1)),
    "pow": (lambda x, y: x ** y, reals(0.05, 5), reals(-3, 3)),
}
