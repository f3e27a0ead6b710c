"""Task 2: the local derivatives of x**n, exp(x) and log(x).

Each function returns one number: d out / dx at the point x (n is a plain number, a constant).
You may use the math module.

Check your work: python -m micrograd_nn exercises check DIR --task 2
"""

import math


def pow_local(x, n):
    """d(x**n)/dx at x, for a constant exponent n (x > 0 here)."""
    raise NotImplementedError("task 2: pow_local")


def exp_local(x):
    """d exp(x)/dx at x."""
    raise NotImplementedError("task 2: exp_local")


def log_local(x):
    """d log(x)/dx at x (natural log, x > 0)."""
    raise NotImplementedError("task 2: log_local")
