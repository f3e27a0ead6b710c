"""The chain rule written out: d root / d wrt as a sum over paths of products of local derivatives.

    d root / d wrt = sum over paths root -> ... -> wrt of  prod over the path's edges of d out/d in

Every factor is a number the engine stored on the graph (``Value.local_grads``) with its formula
(``Op.formula``); this module multiplies and adds them, and compares the total with the gradient
backward computed.

Like ``Value.backward``, a value whose own gradient d root / d v is exactly 0 passes nothing on,
so every path through it contributes 0, even when a later factor is infinite (sqrt at 0): the
sum then agrees with backward where the bare product 0 * inf would be nan. Along a path, too,
a factor exactly 0 makes the product 0 (backward's zero rule, ``engine._term``).
"""

from __future__ import annotations

import math
import re

from ..engine import Value, _term, grad
from .naming import Namer, drawing_order, find_by_label, fmt

__all__ = ["explain", "DEFAULT_MAX_PATHS"]

DEFAULT_MAX_PATHS = 8


_d = Namer.d


def explain(root: Value, wrt: Value | str, *, max_paths: int = DEFAULT_MAX_PATHS) -> str:
    """d root / d wrt by the chain rule, as text: every path, its factors, their product, the sum.

    ``wrt`` is a Value of the graph or the label of one.
    Lists at most ``max_paths`` paths (saying how many were left out) but always gives the total
    over all of them, and states it equal to ``wrt.grad`` when ``root.backward()`` has filled it,
    else to ``micrograd_nn.grad(root, [wrt])``. A path through a value whose gradient is exactly
    0 counts 0, as in backward (which passes nothing on from such a value).
    """
    if not isinstance(root, Value) or not isinstance(wrt, (Value, str)):
        raise TypeError(f"explain(root, wrt) needs a Value and a Value (or a label), got "
                        f"{type(root).__name__} and {type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"max_paths must be an int >= 0, got {max_paths!r}")
    if isinstance(wrt, str):
        wrt = find_by_label(root, wrt)
    order = drawing_order(root)
    namer = Namer(order)
    if wrt not in namer.index:
        raise ValueError(f"{wrt!r} is not in the graph of {root!r}: root does not depend on it "
                         f"(d root / d wrt = 0 trivially)")
    top, bottom = namer.named(root), namer.named(wrt)
    target = f"{_d(top)}/{_d(bottom)}"
    if wrt is root:
        return f"{target} = 1: every value changes one for one with itself (the seed of backward)"

    # d root / d v for every v, with backward's rule: paths through a v where it is 0 count 0
    gradients = dict(zip(order, grad(root, order)))
    # how many paths lead from each node down to wrt, and the sum over them of the products of
    # local derivatives (forward-mode chain rule), operands before results
    count: dict = {wrt: 1}
    total: dict = {wrt: 1.0}
    for v in order:
        if v is wrt or v.is_leaf():
            continue
        c, t = 0, 0.0
        for p, local in zip(v.operands, v.local_grads):
            if p in count:
                c += count[p]
                if p is wrt or gradients[p] != 0.0:
                    t += _term(local, total[p])
        if c:
            count[v] = c
            total[v] = t

    lines = [f"{target} by the chain rule: multiply the local derivatives d out/d in along each "
             f"path from {top[0]} down to {bottom[0]}, then add up the paths."]
    n_paths = count.get(root, 0)
    if n_paths == 0:
        lines.append(f"{top[0]} does not depend on {bottom[0]} through any path: {target} = 0")
        return "\n".join(lines)
    lines.append(f"There {'is 1 path' if n_paths == 1 else f'are {n_paths} paths'}.")

    for number, path in enumerate(_paths(root, wrt, count), start=1):
        if number > max_paths:
            break
        lines.append("")
        names = [namer.name(root)] + [namer.name(p) for _, p, _ in path]
        lines.append(f"path {number}: " + " -> ".join(names))
        rows = []
        product = 1.0
        for v, p, i in path:
            local = v.local_grads[i]
            product *= local
            number_text = fmt(local)
            formula = ""
            if Namer.has_symbols(v.op.formula(i, len(v.operands))):
                formula = namer.formula(v, i)
                if formula == number_text:
                    formula = ""
            factor = f"{_d(namer.named(v))}/{_d(namer.named(p))}"
            if v.operands.count(p) > 1:  # x*x: say which of the equal operands this path uses
                number_text += f"   (via operand {i + 1} of {namer.name(v)})"
            rows.append((factor, formula, number_text))
        # the first value on the path (below root, above wrt) whose gradient is 0, if any
        stop = next((p for _, p, _ in path[:-1] if gradients[p] == 0.0), None)
        product_text = fmt(product)
        if stop is not None and product != 0.0:
            product_text += (f", counted as 0: {_d(top)}/{_d(namer.named(stop))} = 0 and "
                             f"backward passes nothing on from {namer.name(stop)}")
        elif product != product and any(v.local_grads[i] == 0.0 for v, _, i in path):
            product_text += ", counted as 0: a factor is exactly 0 and zero wins, as in backward"
        rows.append(("= product", "", product_text))
        width = max(len(f) for f, _, _ in rows)
        fwidth = max(len(f) for _, f, _ in rows)
        for k, (factor, formula, number_text) in enumerate(rows):
            sign = "" if k == 0 or k == len(rows) - 1 else "* "
            lead = f"{sign + factor:<{width + 2}}" if k else f"  {factor:<{width}}"
            middle = f"{formula:<{fwidth}} = " if formula else " " * (fwidth + 3 if fwidth else 0)
            lines.append(f"    {lead} = {middle}{number_text}".rstrip())

    lines.append("")
    if n_paths > max_paths:
        omitted = n_paths - max_paths
        lines.append(f"... {omitted} more path{'s' if omitted != 1 else ''} not listed "
                     f"(max_paths={max_paths}); the sum below covers all {n_paths}.")
    path_sum = total[root]
    lines.append(f"{target} = sum over {n_paths} path{'s' if n_paths != 1 else ''} "
                 f"= {fmt(path_sum)}")
    pad = " " * (len(target) + 1)
    reference = gradients[wrt]
    if root.grad == 1.0 and _close(wrt.grad, reference):
        caller = top[0] if re.fullmatch(r"[\w.]+", top[0]) else f"({top[0]})"
        lines.append(f"{pad}= {bottom[0]}.grad = {fmt(wrt.grad)} "
                     f"(filled by {caller}.backward())")
    else:
        lines.append(f"{pad}= micrograd_nn.grad({top[0]}, [{bottom[0]}]) = {fmt(reference)}")
        if wrt.grad != 0.0:
            lines.append(f"{pad}  ({bottom[0]}.grad holds {fmt(wrt.grad)}: leaves add up the "
                         f"gradients of every backward() call)")
    return "\n".join(lines)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


def _paths(root: Value, wrt: Value, count: dict):
    """Every path from root down to wrt, as a list of (value, operand, operand index) edges.

    Depth first, operands in order, only through nodes that reach wrt (so never a dead end);
    an explicit stack, so deep graphs do not hit the recursion limit.
    """
    stack = [(root, 0)]
    path: list = []
    while stack:
        v, i = stack.pop()
        if v is wrt:
            yield list(path)
            if path:
                path.pop()
            continue
        operands = v.operands
        while i < len(operands) and operands[i] not in count:
            i += 1
        if i == len(operands):
            if path:
                path.pop()
            continue
        stack.append((v, i + 1))
        path.append((v, operands[i], i))
        stack.append((operands[i], 0))
