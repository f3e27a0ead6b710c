"""Task 1: the local derivatives of + and *.

A node out = x + y (or out = x * y) hands its gradient back to each operand, multiplied by the
local derivative d out / d operand. Return both local derivatives as a tuple:
(d out / dx, d out / dy) at the point (x, y).

Check your work: python -m micrograd_nn exercises check DIR --task 1
"""


def add_local(x, y):
    """(d(x + y)/dx, d(x + y)/dy) at the point (x, y)."""
    return 1.0, 1.0


def mul_local(x, y):
    """(d(x * y)/dx, d(x * y)/dy) at the point (x, y)."""
    return y, x
