"""The chain rule written out: d root / d wrt as a sum over paths of products of local derivatives.

    d root / d wrt = sum over paths root -> ... -> wrt of  prod over the path's edges of d out/d in

Every factor is a number the engine stored on the graph (``Value.local_grads``) with its formula
(``Op.formula``); this module multiplies and adds them, and compares the total with the gradient
backward computed.

Like ``Value.backward``, a value whose own gradient d root / d v is exactly 0 passes nothing on,
so every path through it contributes 0, even when a later factor is infinite (sqrt at 0): the
sum then agrees with backward where the bare product 0 * inf would be nan. Along a path, too,
a factor exactly 0 makes the product 0 (backward's zero rule, ``engine.chain_term``).

Paths that contribute are listed first; on a graph of several samples (a loss summed over a
batch) each sample's subtotal is given too, so a weight shared by every sample reads as the sum
of what each sample asks of it.
"""

from __future__ import annotations

import math
import re

from ..engine import Value, chain_term, grad
from .naming import FACTOR_DIGITS, Namer, consistent_digits, drawing_order, find_by_label, fmt
from .structure import Structure

__all__ = ["explain", "DEFAULT_MAX_PATHS"]

DEFAULT_MAX_PATHS = 8
SCAN_LIMIT = 10_000   # paths looked at to find the contributing ones (the count is exact)

_d = Namer.d


class _Chain:
    """One explanation: the graph, its names, and d root / d v for every v."""

    def __init__(self, root: Value, wrt: Value):
        self.root, self.wrt = root, wrt
        self.order = drawing_order(root)
        self.structure = Structure(self.order, root)
        self.namer = Namer(self.order, structure=self.structure)
        # d root / d v for every v, with backward's rule: paths through a v where it is 0 count 0
        self.gradients = dict(zip(self.order, grad(root, self.order)))
        self.digits = consistent_digits(self.order, self.gradients, flows=False)
        self.count, self.total = self._forward_sums()

    def _forward_sums(self) -> tuple:
        """How many paths lead from each node down to wrt, and the sum over them of the
        products of local derivatives (forward-mode chain rule), operands before results."""
        wrt, gradients = self.wrt, self.gradients
        count: dict = {wrt: 1}
        total: dict = {wrt: 1.0}
        for v in self.order:
            if v is wrt or v.is_leaf():
                continue
            c, t = 0, 0.0
            for p, local in zip(v.operands, v.local_grads):
                if p in count:
                    c += count[p]
                    if p is wrt or gradients[p] != 0.0:
                        t += chain_term(local, total[p])
            if c:
                count[v] = c
                total[v] = t
        return count, total

    def through(self, p: Value) -> float:
        """d (part of root through p) / d wrt: 0 when backward passes nothing on from p."""
        return self.total[p] if p is self.wrt or self.gradients[p] != 0.0 else 0.0

    def name(self, v: Value) -> str:
        return self.namer.name(v)

    def factor(self, x: float) -> str:
        return fmt(x, self.digits + FACTOR_DIGITS)

    def result(self, x: float) -> str:
        return fmt(x, self.digits)


def explain(root: Value, wrt: Value | str, *, max_paths: int = DEFAULT_MAX_PATHS) -> str:
    """d root / d wrt by the chain rule, as text: paths, their factors, their products, the sum.

    ``wrt`` is a Value of the graph or the label of one.
    Lists at most ``max_paths`` paths, those that contribute first (saying how many were left
    out), but always gives the total over all of them, per sample when the graph holds several,
    and states it equal to ``wrt.grad`` when ``root.backward()`` has filled it, else to
    ``micrograd_nn.grad(root, [wrt])``. A path through a value whose gradient is exactly 0
    counts 0, as in backward (which passes nothing on from such a value).
    """
    if not isinstance(root, Value) or not isinstance(wrt, (Value, str)):
        raise TypeError(f"explain(root, wrt) needs a Value and a Value (or a label), got "
                        f"{type(root).__name__} and {type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 0:
        raise ValueError(f"max_paths must be an int >= 0, got {max_paths!r}")
    if isinstance(wrt, str):
        wrt = find_by_label(root, wrt)
    if wrt not in set(drawing_order(root)):
        raise ValueError(f"{wrt!r} is not in the graph of {root!r}: root does not depend on it "
                         f"(d root / d wrt = 0 trivially)")
    chain = _Chain(root, wrt)
    top, bottom = chain.namer.named(root), chain.namer.named(wrt)
    target = f"{_d(top)}/{_d(bottom)}"
    if wrt is root:
        return f"{target} = 1: every value changes one for one with itself (the seed of backward)"
    lines = [f"{target} by the chain rule: multiply the local derivatives d out/d in along each "
             f"path from {top[0]} down to {bottom[0]}, then add up the paths."]
    n_paths = chain.count.get(root, 0)
    if n_paths == 0:
        lines.append(f"{top[0]} does not depend on {bottom[0]} through any path: {target} = 0")
        return "\n".join(lines)
    lines.append(f"There {'is 1 path' if n_paths == 1 else f'are {n_paths} paths'}"
                 f"{'; those that contribute come first' if n_paths > 1 else ''}.")
    for number, path in enumerate(_listed_paths(chain, max_paths), start=1):
        lines.append("")
        lines.extend(_path_lines(chain, number, path, target))
    lines.append("")
    if n_paths > max_paths:
        omitted = n_paths - max_paths
        lines.append(f"... {omitted} more path{'s' if omitted != 1 else ''} not listed "
                     f"(max_paths={max_paths}); the sum below covers all {n_paths}.")
    lines.extend(_sample_lines(chain))
    lines.extend(_total_lines(chain, target, n_paths, top, bottom))
    return "\n".join(lines)


def _listed_paths(chain: _Chain, max_paths: int) -> list:
    """Up to ``max_paths`` paths, those whose product counts (is not 0) first, each group in
    depth-first order; at most ``SCAN_LIMIT`` paths are looked at."""
    counting, zero = [], []
    for scanned, path in enumerate(_paths(chain.root, chain.wrt, chain.count)):
        if scanned >= SCAN_LIMIT or len(counting) >= max_paths:
            break
        product = _product(path)
        (zero if _stop(chain, path) is not None or product == 0.0 or _zero_wins(path, product)
         else counting).append(path)
    return (counting + zero)[:max_paths]


def _product(path: list) -> float:
    product = 1.0
    for v, _, i in path:
        product *= v.local_grads[i]
    return product


def _zero_wins(path: list, product: float) -> bool:
    """A nan product with a factor exactly 0 (0 * inf): backward counts it 0."""
    return product != product and any(v.local_grads[i] == 0.0 for v, _, i in path)


def _stop(chain: _Chain, path: list):
    """The first value on the path (below root, above wrt) whose gradient is 0, if any."""
    return next((p for _, p, _ in path[:-1] if chain.gradients[p] == 0.0), None)


def _path_lines(chain: _Chain, number: int, path: list, target: str) -> list:
    """``path k: loss -> ... -> w1``, then a row per factor and the product."""
    namer = chain.namer
    names = [chain.name(chain.root)] + [chain.name(p) for _, p, _ in path]
    rows = []
    for v, p, i in path:
        local = v.local_grads[i]
        number_text = chain.factor(local)
        formula = ""
        if Namer.has_symbols(v.op.formula(i, len(v.operands))):
            formula = namer.formula(v, i)
            if formula == number_text:
                formula = ""
        factor = f"{_d(namer.named(v))}/{_d(namer.named(p))}"
        if v.operands.count(p) > 1:  # x*x: say which of the equal operands this path uses
            number_text += f"   (via operand {i + 1} of {chain.name(v)})"
        rows.append((factor, formula, number_text))
    product = _product(path)
    product_text = chain.result(product)
    stop = _stop(chain, path)
    if stop is not None and product != 0.0:
        product_text += (f", counted as 0: {target.split('/')[0]}/{_d(namer.named(stop))} = 0 "
                         f"and backward passes nothing on from {chain.name(stop)}")
    elif _zero_wins(path, product):
        product_text += ", counted as 0: a factor is exactly 0 and zero wins, as in backward"
    rows.append(("= product", "", product_text))
    return [f"path {number}: " + " -> ".join(names)] + _table(rows)


def _table(rows: list) -> list:
    width = max(len(f) for f, _, _ in rows)
    fwidth = max(len(f) for _, f, _ in rows)
    lines = []
    for k, (factor, formula, number_text) in enumerate(rows):
        sign = "" if k == 0 or k == len(rows) - 1 else "* "
        lead = f"{sign + factor:<{width + 2}}" if k else f"  {factor:<{width}}"
        middle = f"{formula:<{fwidth}} = " if formula else " " * (fwidth + 3 if fwidth else 0)
        lines.append(f"    {lead} = {middle}{number_text}".rstrip())
    return lines


def _sample_lines(chain: _Chain) -> list:
    """Per-sample subtotals: the paths that enter sample s at an edge u -> p (u outside every
    sample, p in sample s) add up to d root/d u * d u/d p * d p/d wrt."""
    structure = chain.structure
    if structure.n_samples < 2:
        return []
    subtotal: dict = {}
    for u in chain.order:
        if u.is_leaf() or structure.sample(u) is not None or chain.gradients[u] == 0.0:
            continue
        for p, local in zip(u.operands, u.local_grads):
            s = structure.sample(p)
            if s is not None and p in chain.count:
                subtotal[s] = subtotal.get(s, 0.0) + chain.gradients[u] * local * chain.through(p)
    if not subtotal:
        return []
    parts = ", ".join(f"sample {s}: {chain.factor(subtotal[s])}" for s in sorted(subtotal))
    return [f"per sample: {parts}"]


def _total_lines(chain: _Chain, target: str, n_paths: int, top: tuple, bottom: tuple) -> list:
    root, wrt = chain.root, chain.wrt
    lines = [f"{target} = sum over {n_paths} path{'s' if n_paths != 1 else ''} "
             f"= {chain.result(chain.total[root])}"]
    pad = " " * (len(target) + 1)
    reference = chain.gradients[wrt]
    if root.grad == 1.0 and _close(wrt.grad, reference):
        caller = top[0] if re.fullmatch(r"[\w.]+", top[0]) else f"({top[0]})"
        lines.append(f"{pad}= {bottom[0]}.grad = {chain.result(wrt.grad)} "
                     f"(filled by {caller}.backward())")
    else:
        lines.append(f"{pad}= micrograd_nn.grad({top[0]}, [{bottom[0]}]) = "
                     f"{chain.result(reference)}")
        if wrt.grad != 0.0:
            lines.append(f"{pad}  ({bottom[0]}.grad holds {chain.result(wrt.grad)}: leaves add "
                         f"up the gradients of every backward() call)")
    return lines


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
