"""A safe reader of expressions over named Values, for the command line.

    --expr "(x*w + b).sigmoid()" --set x=1.5 w=0.25 b=0.1

The text is parsed with ``ast`` and only this is evaluated: names given by ``--set``, numeric
constants, ``+ - * / **``, unary ``-`` and ``+``, parentheses, and calls without arguments of
the Value methods the op table admits (``expr=True`` in ``micrograd_nn.ops``: ``.exp() .log()
.relu() .sigmoid() .tanh() .abs() .sqrt() .softplus()``). Anything else is a ValueError that
says what is allowed. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Iterable, Mapping

from ..engine import Value
from .. import ops as _ops

__all__ = ["parse_expr", "parse_assignments", "methods", "ExpressionError"]

MAX_LENGTH = 2000   # longer text is not an expression anyone types; refuse before parsing


def methods() -> tuple:
    """The methods an expression may call: those the op table registers with ``expr=True``
    (read at each call, so an op registered later counts)."""
    return tuple(op.method for op in _ops.OPS if op.expr and op.method)


def _allowed() -> str:
    return ("names given with --set, numbers, + - * / **, unary -, parentheses and the methods "
            + ", ".join(f".{m}()" for m in methods()))
_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}
_NAME = re.compile(r"[A-Za-z_]\w*\Z")


class ExpressionError(ValueError):
    """Text that is not an allowed expression: bad syntax, something refused, an unknown name.

    Errors of the arithmetic itself (log of a negative number) are plain ValueErrors.
    """


def parse_assignments(items: Iterable[str]) -> dict:
    """``["x=1.5", "w=0.25"]`` -> ``{"x": 1.5, "w": 0.25}``; a bad item is a ValueError."""
    values: dict = {}
    for item in items:
        name, sep, number = item.partition("=")
        name, number = name.strip(), number.strip()
        if not sep or not name or not number:
            raise ValueError(f"--set expects NAME=NUMBER items such as x=1.5, got {item!r}")
        if not _NAME.match(name):
            raise ValueError(f"--set {item!r}: {name!r} is not a valid name (letters, digits and "
                             f"_, not starting with a digit)")
        if name in methods():
            raise ValueError(f"--set {item!r}: {name!r} is a method name; choose another name")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"--set {item!r}: {number!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"--set {item!r}: the value must be finite")
        if name in values:
            raise ValueError(f"--set gives {name!r} twice")
        values[name] = value
    return values


def parse_expr(text: str, names: Mapping[str, Value]) -> Value | float:
    """Evaluate ``text`` over ``names`` (name -> Value), allowing only what the module says.

    Returns the Value built (a plain float if the text uses no name). Raises ExpressionError (a
    ValueError) for any other syntax or an unknown name, and a plain ValueError for an operation
    the engine refuses (log of a negative number, division by zero, overflow).
    """
    if not isinstance(text, str):
        raise TypeError(f"the expression must be a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; "
                              f"at most {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError(f"the expression is empty; write one using {_allowed()}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"cannot parse the expression {text!r}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    try:
        return _evaluate(tree.body, names)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    except (ZeroDivisionError, OverflowError) as error:
        raise ValueError(f"cannot compute {text!r}: {error}") from None
    except ExpressionError:
        raise
    except ValueError as error:   # the engine refused an operation (log of a negative number)
        raise ValueError(f"cannot compute {text!r}: {error}") from None


def _refuse(node: ast.AST, what: str) -> ExpressionError:
    return ExpressionError(f"not allowed in an expression: {what} (at column "
                           f"{node.col_offset + 1}); allowed are {_allowed()}")


def _evaluate(node: ast.AST, names: Mapping[str, Value]):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(node, f"the constant {node.value!r} (only numbers)")
        return float(node.value)  # floats: 9**9**9 overflows at once instead of running forever
    if isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names)) or "none"
            raise ExpressionError(f"unknown name {node.id!r} in the expression; give it a value "
                                  f"with --set {node.id}=NUMBER (names set: {known})")
        return names[node.id]
    if isinstance(node, ast.BinOp):
        rule = _BINARY.get(type(node.op))
        if rule is None:
            raise _refuse(node, f"the operator {type(node.op).__name__}")
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        result = rule(left, right)
        if isinstance(result, complex):  # (-8.0) ** (1/3) between two plain numbers
            raise ValueError(f"{left!r} ** {right!r} is not a real number")
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, names)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise _refuse(node, f"the unary operator {type(node.op).__name__}")
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in methods():
            raise _refuse(node, f"the function call {func.id}(...); write it as a method: "
                                f"(...).{func.id}()")
        if not isinstance(func, ast.Attribute) or func.attr not in methods():
            raise _refuse(node, "a call other than the Value methods")
        if node.args or node.keywords:
            raise _refuse(node, f"arguments to .{func.attr}() (it takes none)")
        target = _evaluate(func.value, names)
        if not isinstance(target, Value):
            target = Value(target)
        return getattr(target, func.attr)()
    if isinstance(node, ast.Attribute):
        raise _refuse(node, f"the attribute .{node.attr} (only method calls such as .tanh())")
    raise _refuse(node, type(node).__name__)
