"""The "numpy" backend: a traced graph vectorised over the batch, nodes grouped into array ops.

The nodes of one sample's graph are put in groups: same operation, same depth in the graph,
same number of operands. A group computes all its nodes for the whole batch in one numpy call,
on an array of shape (batch, nodes in the group) (or (nodes,) for values that depend on
parameters only). The neurons of a layer are one group: their ``linear`` nodes share their inputs,
so the group is one matrix product ``h @ W.T + b``, and its backward pass two more
(``dh = dz @ W``, ``dW = dz.T @ h``). A layer applied at every position of a sequence is one
batched product too (`_tile`), and the n-ary nodes of one depth that differ only in their
number of operands (a softmax over the positions so far, at each position) share a group,
each padded with a number that changes nothing (`_may_pad`).

Where it differs from the engine: sums and matrix products add in numpy's order, so results
agree to rounding, not bit for bit. A domain error, an overflow or 0 times inf raises numpy's
FloatingPointError here (even where the inf or nan would vanish later, as in tanh(1 / 0)); the
program then recomputes that batch with the engine (`Program.backward`), so they never reach
the user as numbers.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass, field

from .. import ops as _ops
from .templates import entry, may_be_infinite, numpy_names, selected
from .trace import CONST, INPUT, OP, PARAM, CompileError, Graph, Node

__all__ = ["NumpyProgram", "numpy_source", "NUMPY"]


def _power_of(n: float) -> tuple:
    k = repr(n) if math.isfinite(n) else f"float('{n}')"
    k = k if n >= 0 else f"({k})"
    return f"{{0}} ** {k}", (f"_np_pow_dbase({{0}}, {k})",)


# How each op of the table reads as numpy over a batch: (forward, local derivatives), keyed by
# the op's name (templates.py says what the placeholders mean; ``_np_*`` are the engine's
# conventions as arrays, from templates.numpy_names). The n-ary ops (sum, linear, logsumexp)
# are written below, in _forward and _backward. An op without an entry runs element by element.
NUMPY = {
    "+": ("{0} + {1}", ("1.0", "1.0")),
    "-": ("{0} - {1}", ("1.0", "-1.0")),
    "*": ("{0} * {1}", ("{1}", "{0}")),
    "/": ("{0} / {1}", ("1 / {1}", "-{out} / {1}")),
    "neg": ("-{0}", ("-1.0",)),
    "**": ("{0} ** {1}", ("_np_pow_dbase({0}, {1})", "_np_pow_dexp({0}, {out})")),
    "**n": _power_of,
    "exp": ("_np.exp({0})", ("{out}",)),
    "log": ("_np.log({0})", ("1 / {0}",)),
    # sign(relu(x)) is 1 or 0 like the step; a product with it is cheaper than np.where (a nan
    # or 0 * inf it makes sends the batch to the engine)
    "relu": ("_np.maximum({0}, 0.0)", ("_np.sign({out})",)),
    "sigmoid": ("_np_sigmoid({0})", ("{out} * (1 - {out})",)),
    "tanh": ("_np.tanh({0})", ("1 - {out} * {out}",)),
    "abs": ("_np.abs({0})", ("_np.where({0} > 0, 1.0, _np.where({0} < 0, -1.0, 0.0))",)),
    "sqrt": ("_np.sqrt({0})", ("_np_pow_dbase({0}, 0.5)",)),
    "softplus": ("_np.maximum({0}, 0.0) + _np.log1p(_np.exp(-_np.abs({0})))",
                 ("_np_sigmoid({0})",)),
}
WRITTEN_HERE = ("sum", "linear", "logsumexp", "take")   # n-ary ops written below


def _code(em, op) -> tuple:
    """(forward, local derivatives) of ``op`` as numpy templates: its ``NUMPY`` entry, or else
    its own forward and rule applied element by element (``np.frompyfunc``), which gives the
    engine's numbers at the cost of a Python call per element."""
    found = entry(NUMPY, op)
    if found is not None:
        return found
    np, n = em.np, op.arity
    if n is None:
        raise CompileError(f"the numpy backend cannot run the n-ary op {op.name!r}: it has no "
                           f"entry in NUMPY (micrograd_nn/compiler/numpy_backend.py); compile "
                           f"with backend='python'")
    name = f"_each{id(op)}"   # the same name for the forward and the backward lines
    forward = np.frompyfunc(op.forward, n, 1)
    rule = np.frompyfunc(lambda *xs: tuple(op.rule(*xs)) if n > 1 else op.rule(*xs)[0], n + 1, n)
    em.namespace[name] = lambda *xs: np.asarray(forward(*xs), dtype=float)
    em.namespace[name + "_d"] = lambda *xs: (
        (np.asarray(rule(*xs), dtype=float),) if n == 1
        else tuple(np.asarray(d, dtype=float) for d in rule(*xs)))
    operands = ", ".join("{%d}" % k for k in range(n))
    return (f"{name}({operands})",
            tuple(f"{name}_d({operands}, {{out}})[{k}]" for k in range(n)))


@dataclass
class Group:
    """Nodes computed by one array operation; ``position[node]`` is its column."""

    kind: str
    members: list
    batched: bool
    op: object = None
    operands: list = field(default_factory=list)  # one Gather per operand slot
    matrix: bool = False  # a linear group with shared inputs: one matrix product
    tiles: int = 0  # a linear group of several input records sharing the weights (see _tile)
    padded: bool = False  # members of several numbers of operands (see _may_pad)


@dataclass
class Gather:
    """How a group reads one operand: columns ``idx`` of the concatenation of ``srcs``."""

    srcs: list
    idx: object  # numpy integer array, shape (members,) or (members, k)
    whole: bool  # idx is every column of the single source, in order


# -------------------------------------------------------------------------------------------------
# Rewriting: a chain of additions becomes one sum


def flatten_additions(graph: Graph) -> Graph:
    """The graph with every chain of binary additions (Python's ``sum(...)`` over Values builds
    one, a node deep per term) replaced by one n-ary sum node, which numpy adds in one call.
    Only additions used once, by the next addition of the chain, are folded in; the result
    differs from the chain by rounding only."""
    nodes = graph.nodes
    uses = [0] * len(nodes)
    for node in nodes:
        for a in node.args:
            uses[a] += 1
    for o in graph.outputs:
        uses[o] += 1

    def is_addition(a: int) -> bool:
        return nodes[a].kind == OP and nodes[a].op is _ops.ADD

    folded = [False] * len(nodes)  # an addition used once, by an addition: part of a chain
    for node in nodes:
        if node.kind == OP and node.op is _ops.ADD:
            for a in node.args:
                folded[a] = is_addition(a) and uses[a] == 1

    if not any(folded):
        return graph  # no chain to fold
    new = list(nodes)
    for i, node in enumerate(nodes):
        if not is_addition(i) or folded[i] or not any(folded[a] for a in node.args):
            continue
        terms, stack = [], list(reversed(node.args))
        while stack:  # depth-first, left to right: the terms in the order the chain adds them
            a = stack.pop()
            if folded[a]:
                stack.extend(reversed(nodes[a].args))
            elif not (nodes[a].kind == CONST and nodes[a].ref == 0.0):  # sum()'s start, 0
                terms.append(a)
        new[i] = Node(OP, op=_ops.SUM, args=tuple(terms), label=node.label)
    return _without_unused(Graph(new, graph.outputs, graph.params, graph.shape, graph.names,
                                 graph.single))


def _without_unused(graph: Graph) -> Graph:
    """Drop the nodes no output depends on, renumbering the rest (inputs, parameters kept)."""
    live = [False] * len(graph.nodes)
    stack = list(graph.outputs)
    while stack:
        i = stack.pop()
        if not live[i]:
            live[i] = True
            stack.extend(graph.nodes[i].args)
    position, nodes = {}, []
    for i, node in enumerate(graph.nodes):
        if live[i] or node.kind in (INPUT, PARAM):
            position[i] = len(nodes)
            nodes.append(Node(node.kind, node.ref, node.op,
                              tuple(position[a] for a in node.args), node.label))
    return Graph(nodes, [position[o] for o in graph.outputs], graph.params, graph.shape,
                 graph.names, graph.single)


# -------------------------------------------------------------------------------------------------
# Grouping


def _levels(graph: Graph) -> list:
    levels = []
    for node in graph.nodes:
        levels.append(1 + max((levels[a] for a in node.args), default=-1) if node.args else 0)
    return levels


def group_nodes(graph: Graph) -> tuple[list, dict]:
    """Groups in an order that computes operands first, and node -> (group, column).

    Groups 0 and 1 hold the parameters and the constants, then one group per argument of the
    function holds its inputs, then come the operation groups.
    """
    import numpy as np
    batched = []
    for node in graph.nodes:
        batched.append(node.kind == INPUT or (node.kind == OP and any(batched[a] for a in node.args)))
    sizes = [math.prod(shape) for shape in graph.shape]
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    groups = [Group(PARAM, [None] * len(graph.params), False), Group(CONST, [], False)]
    groups += [Group(INPUT, [None] * size, True) for size in sizes]
    for i, node in enumerate(graph.nodes):
        if node.kind == PARAM:
            groups[0].members[node.ref] = i
        elif node.kind == CONST:
            groups[1].members.append(i)
        elif node.kind == INPUT:
            arg = max(k for k in range(len(sizes)) if starts[k] <= node.ref)
            groups[2 + arg].members[node.ref - starts[arg]] = i
    by_key: dict = {}
    levels = _levels(graph)
    for i, node in enumerate(graph.nodes):
        if node.kind == OP:
            arity = -1 if _may_pad(node, batched) else len(node.args)
            key = (levels[i], node.op.name, arity, batched[i])
            by_key.setdefault(key, []).append(i)
    first_op = len(groups)
    for key in sorted(by_key):
        for members in _split_if_wasteful(graph, by_key[key]):
            group = Group(OP, members, key[3], graph.nodes[members[0]].op)
            group.padded = len({len(graph.nodes[i].args) for i in members}) > 1
            groups.append(group)
    pads = len(graph.nodes), len(graph.nodes) + 1  # no node's index: 0.0 and -inf
    if any(g.padded for g in groups[first_op:]):
        groups.insert(first_op, Group(CONST, list(pads), False))
        first_op += 1
    _order_like_consumers(graph, groups, first_op)
    for group in groups[first_op:]:
        _tile(graph, group, batched)
    _parameters_in_reading_order(graph, groups, first_op)
    where = {}
    for g, group in enumerate(groups):
        for column, i in enumerate(group.members):
            if i is not None:  # an input the function never read
                where[i] = (g, column)
    for group in groups[first_op:]:
        _plan_operands(graph, group, groups, where, np, pads)
    return groups, where


PADS = {"sum": 0, "linear": 0, "logsumexp": 1}  # the pad each n-ary op is padded with: 0.0, -inf
PAD_VALUES = (0.0, -math.inf)


def _may_pad(node: Node, batched: list) -> bool:
    """Whether a node may share a group with nodes of the same op and level but another
    number of operands, each padded to the longest with a number that changes nothing (0.0
    for a sum or a linear node, -inf for logsumexp): a softmax over the positions so far at
    each position of a sequence. Not a linear node whose weights are parameters (those
    become matrix products)."""
    if node.op.name not in PADS:
        return False
    if node.op is _ops.LINEAR:
        n = (len(node.args) - 1) // 2
        return any(batched[a] for a in node.args[:n])
    return True


def _split_if_wasteful(graph: Graph, members: list) -> list:
    """The members as one group, padded to the longest, unless the padding would more than
    double the numbers it reads: then one group per number of operands."""
    sizes = [len(graph.nodes[i].args) for i in members]
    if len(set(sizes)) == 1 or len(members) * max(sizes) <= 2 * sum(sizes) + 64:
        return [members]
    by_size: dict = {}
    for i, size in zip(members, sizes):
        by_size.setdefault(size, []).append(i)
    return [by_size[k] for k in sorted(by_size)]


def _padded_args(graph: Graph, group: "Group", pads: tuple) -> list:
    """Each member's operands, padded to the longest: a linear node's weights and inputs each
    with 0.0 (its bias stays last), a sum's terms with 0.0, logsumexp's with -inf."""
    rows = [graph.nodes[i].args for i in group.members]
    if not group.padded:
        return rows
    pad = pads[PADS[group.op.name]]
    if group.op is _ops.LINEAR:
        n = max((len(r) - 1) // 2 for r in rows)
        out = []
        for r in rows:
            k = (len(r) - 1) // 2
            out.append((*r[:k], *[pad] * (n - k), *r[k:2 * k], *[pad] * (n - k), r[-1]))
        return out
    n = max(len(r) for r in rows)
    return [(*r, *[pad] * (n - len(r))) for r in rows]


def _tile(graph: Graph, group: Group, batched: list) -> None:
    """Mark a group of linear nodes that is one weight matrix applied to several input
    records (``Value.matvec(W, x_p)`` at each position p of a sequence): P records, each read
    by the same R rows of weights, in the same order. Its members are put in (record, row)
    order, so the group is one batched matrix product ``X @ W.T + b`` of shape (P, R)."""
    if group.op is not _ops.LINEAR or not group.members:
        return
    if group.padded:
        return
    n = (len(graph.nodes[group.members[0]].args) - 1) // 2
    blocks: dict = {}
    for i in group.members:
        args = graph.nodes[i].args
        blocks.setdefault(args[n:2 * n], []).append(i)
    if len(blocks) < 2:
        return  # one record: the `matrix` case (or a group of one node)
    first = list(blocks.values())[0]
    rows = [graph.nodes[i].args[:n] for i in first]
    row_of = {w: r for r, w in enumerate(rows)}
    if len(row_of) != len(rows) or any(batched[a] for w in rows for a in w):
        return  # repeated rows, or weights computed from the inputs: elementwise
    ordered = []
    for block in blocks.values():
        if len(block) != len(rows):
            return
        by_row = [None] * len(rows)
        for i in block:
            r = row_of.get(graph.nodes[i].args[:n])
            if r is None or by_row[r] is not None:
                return
            by_row[r] = i
        ordered += by_row
    group.members = ordered
    group.tiles = len(blocks)


def _parameters_in_reading_order(graph: Graph, groups: list, first_op: int) -> None:
    """Lay the parameters out in the order the groups read them: a layer's weights, row by
    row, then its biases become evenly spaced runs, read as strided views instead of copies."""
    placed, order = set(), []
    for group in groups[first_op:]:
        for i in group.members:
            for a in graph.nodes[i].args:
                if graph.nodes[a].kind == PARAM and a not in placed:
                    placed.add(a)
                    order.append(a)
    groups[0].members = order + [i for i in groups[0].members if i not in placed]


def strided(idx, size: int) -> str | None:
    """Basic indexing (a view) that reads the positions ``idx`` of a 1-D array of ``size``
    items, when they are evenly spaced: ``[a:b:c]`` or ``[a:b].reshape(m, r)[:, 0:e:c]``."""
    flat = idx.ravel().tolist()
    if not flat:
        return None
    a = flat[0]
    if idx.ndim == 1:
        step = flat[1] - a if len(flat) > 1 else 1
        if step < 1 or flat != list(range(a, a + step * len(flat), step)):
            return None
        end = a + step * (len(flat) - 1) + 1
        return f"[{a}:{end}]" if step == 1 else f"[{a}:{end}:{step}]"
    m, n = idx.shape
    c = int(idx[0, 1] - a) if n > 1 else 1
    r = int(idx[1, 0] - a) if m > 1 else (n - 1) * c + 1
    if c < 1 or r < (n - 1) * c + 1 or a + m * r > size:
        return None
    if flat != [a + i * r + j * c for i in range(m) for j in range(n)]:
        return None
    if c == 1 and r == n:
        return f"[{a}:{a + m * n}].reshape({m}, {n})"
    return f"[{a}:{a + m * r}].reshape({m}, {r})[:, 0:{(n - 1) * c + 1}:{c}]"


def _order_like_consumers(graph: Graph, groups: list, first_op: int) -> None:
    """Order each group's nodes the way the group reading them lists them, so that reading
    them is a plain reference rather than a copy (a relu layer in the order of the next
    layer's inputs, the linear layer before it in the order of the relus)."""
    group_of = {i: g for g, group in enumerate(groups) for i in group.members if i is not None}
    fixed: set = set(range(first_op))
    for g in reversed(range(first_op, len(groups))):
        group = groups[g]
        args = [graph.nodes[i].args for i in group.members]
        if group.op is _ops.LINEAR:
            n = (len(args[0]) - 1) // 2
            slots = [list(args[0][n:2 * n])]
        elif group.op is _ops.TAKE:
            slots = [[a[0] for a in args], list(args[0][1:])]
        elif group.op in (_ops.SUM, _ops.LOGSUMEXP):
            slots = [list(args[0])]
        else:
            slots = [[a[k] for a in args] for k in range(len(args[0]))]
        for nodes in slots:
            owners = {group_of[i] for i in nodes}
            if len(owners) != 1:
                continue
            s = owners.pop()
            if s not in fixed and sorted(nodes) == sorted(groups[s].members):
                groups[s].members = list(nodes)
                fixed.add(s)


def _gather(nodes_idx, groups: list, where: dict, np) -> Gather:
    """A Gather for an array (any shape) of node positions."""
    flat = np.asarray(nodes_idx).ravel().tolist()
    srcs = sorted({where[i][0] for i in flat})
    offsets, total = {}, 0
    for s in srcs:
        offsets[s] = total
        total += len(groups[s].members)
    idx = np.array([offsets[where[i][0]] + where[i][1] for i in flat], dtype=np.intp)
    idx = idx.reshape(np.shape(nodes_idx))
    whole = (len(srcs) == 1 and idx.ndim == 1 and len(idx) == total
             and bool((idx == np.arange(total)).all()))
    return Gather(srcs, idx, whole)


def _plan_operands(graph: Graph, group: Group, groups: list, where: dict, np,
                   pads: tuple = ()) -> None:
    args = np.array(_padded_args(graph, group, pads), dtype=np.intp)
    if group.op is _ops.LINEAR:
        n = (args.shape[1] - 1) // 2
        W, X, b = args[:, :n], args[:, n:2 * n], args[:, 2 * n]
        shared = bool((X == X[0]).all())
        if group.tiles:  # (P, R) products: the first record's rows, each record once
            P, R = group.tiles, len(group.members) // group.tiles
            group.operands = [_gather(W[:R], groups, where, np), _gather(X[::R], groups, where, np),
                              _gather(b.reshape(P, R), groups, where, np)]
            return
        w_gather = _gather(W, groups, where, np)
        if shared and not any(groups[s].batched for s in w_gather.srcs):
            group.matrix = True
            group.operands = [w_gather, _gather(X[0], groups, where, np), _gather(b, groups, where, np)]
        else:
            group.operands = [w_gather, _gather(X, groups, where, np), _gather(b, groups, where, np)]
    elif group.op is _ops.TAKE:  # the indices, one per node; the tables, one row per node
        group.operands = [_gather(args[:, 0], groups, where, np),
                          _gather(args[:, 1:], groups, where, np)]
    elif group.op in (_ops.SUM, _ops.LOGSUMEXP):
        group.operands = [_gather(args, groups, where, np)]
    else:
        group.operands = [_gather(args[:, k], groups, where, np) for k in range(args.shape[1])]


# -------------------------------------------------------------------------------------------------
# Writing the code


class _Emitter:
    """Writes the numpy function: forward lines, then the backward pass in reverse."""

    def __init__(self, groups: list, np):
        self.groups = groups
        self.np = np
        self.lines: list = []
        self.namespace: dict = {}
        self.grad: dict = {}  # group -> "owned" or "alias" (its d-array may be another's)
        self.ones = False  # whether the backward pass has made _ones, the batch's row of ones
        self.consts: dict = {}  # group -> its numbers, for the groups of constants
        self.needs = []
        for g in groups:
            self.needs.append(g.kind == PARAM or (g.kind == OP and any(
                self.needs[s] for gather in g.operands for s in gather.srcs)))

    def constant(self, array) -> str:
        name = f"_i{len(self.namespace)}"
        self.namespace[name] = array
        return name

    def batched(self, gather: Gather) -> bool:
        return any(self.groups[s].batched for s in gather.srcs)

    def view(self, gather: Gather) -> str | None:
        """Basic indexing into a single source without a batch axis, where the positions allow."""
        if len(gather.srcs) != 1 or gather.whole or self.groups[gather.srcs[0]].batched:
            return None
        return strided(gather.idx, len(self.groups[gather.srcs[0]].members))

    def covers(self, gather: Gather) -> bool:
        """Whether a gather reads every column of its single source, in order (in any shape)."""
        if len(gather.srcs) != 1 or gather.idx.ndim < 2:
            return False
        size = len(self.groups[gather.srcs[0]].members)
        return gather.idx.size == size and gather.idx.ravel().tolist() == list(range(size))

    def value(self, gather: Gather) -> str:
        """An expression for the operand values a gather reads."""
        if self.covers(gather):  # a reshaped view
            s, shape = gather.srcs[0], ", ".join(map(str, gather.idx.shape))
            return f"v{s}.reshape({'_B, ' if self.groups[s].batched else ''}{shape})"
        view = self.view(gather)
        if view is not None:
            return f"v{gather.srcs[0]}{view}"
        if len(gather.srcs) == 1:
            source = f"v{gather.srcs[0]}"
        else:
            source = f"_cat([{', '.join(f'v{s}' for s in gather.srcs)}], _B)"
        return source if gather.whole else f"{source}[..., {self.constant(gather.idx)}]"

    def outputs(self, gather: Gather) -> str:
        """The outputs as one (batch, k) array: side by side when each output group is read
        whole (one concatenation), else gathered."""
        pieces = self.pieces(gather)
        if pieces is None or not self.batched(gather):
            return self.value(gather)
        order = sorted(pieces, key=lambda piece: piece[1])
        parts = [f"v{s}" if self.groups[s].batched else f"_np.broadcast_to(v{s}, (_B, {b - a}))"
                 for s, a, b in order]
        return parts[0] if len(parts) == 1 else f"_np.concatenate([{', '.join(parts)}], -1)"

    def pieces(self, gather: Gather) -> list | None:
        """For a 1-D gather whose columns are, source by source, each whole source in order:
        [(source, first column, end column)]; None for any other gather."""
        if gather.idx.ndim != 1:
            return None
        flat, start, pieces = gather.idx.tolist(), 0, []
        for s in gather.srcs:
            size = len(self.groups[s].members)
            cols = [k for k, i in enumerate(flat) if start <= i < start + size]
            if [flat[k] - start for k in cols] != list(range(size)) or \
                    cols != list(range(cols[0], cols[0] + size)):
                return None
            pieces.append((s, cols[0], cols[0] + size))
            start += size
        return pieces

    def bind(self, gather: Gather, name: str) -> str:
        """The gather's value as a variable (a plain reference when it is a whole group; an
        array made once, when it reads constants only)."""
        if gather.whole:
            return f"v{gather.srcs[0]}"
        known = self.known(gather)
        if known is not None:
            return self.constant(known)
        self.lines.append(f"{name} = {self.value(gather)}")
        return name

    def known(self, gather: Gather):
        """The numbers a gather of constants only reads (None if it reads anything else)."""
        if not all(s in self.consts for s in gather.srcs):
            return None
        return self.np.concatenate([self.consts[s] for s in gather.srcs])[gather.idx]

    def zero(self, gather: Gather) -> bool:
        """Whether a gather reads constants that are all 0.0 (a bias nobody gave)."""
        known = self.known(gather)
        return known is not None and not known.any()

    def batch_sum(self, term: str, ndim: int) -> str:
        """``term`` (batch first, ``ndim`` axes) summed over the batch. A matrix is multiplied
        by a row of ones, one BLAS call: on a layer's (batch, width) array about three times
        faster than ``.sum(0)``, which reduces along the strided axis."""
        if ndim > 2:
            return f"({term}).sum(0)"
        if not self.ones:
            self.lines.append("_ones = _ones_of(_B)")
            self.ones = True
        return f"_ones @ ({term})"

    def add_to(self, s: int, term: str, batched: bool) -> None:
        """d<s> += term for a whole group (summed over the batch if s does not have one);
        ``term`` is (batch, columns) when batched."""
        if batched and not self.groups[s].batched:
            term = self.batch_sum(term, 2)
        if s not in self.grad:
            self.lines.append(f"d{s} = {term}")
            self.grad[s] = "alias"  # it may be (a view of) another array: copy before writing
        else:
            self.lines.append(f"d{s} = d{s} + {term}")
            self.grad[s] = "owned"

    def split(self, gather: Gather, term: str, batched: bool) -> bool:
        """Add slices of the term to each source, when `pieces` says each is read whole.
        False when the gather is not of that kind."""
        pieces = self.pieces(gather) if len(gather.srcs) > 1 else None
        if pieces is None:
            return False
        for s, a, b in pieces:
            if self.needs[s]:
                self.add_to(s, f"({term})[..., {a}:{b}]", batched)
        return True

    def own(self, s: int) -> None:
        if s not in self.grad:
            self.lines.append(f"d{s} = _np.zeros(v{s}.shape)")
        elif self.grad[s] == "alias":
            self.lines.append(f"d{s} = d{s}.copy()")
        self.grad[s] = "owned"

    def repeats(self, gather: Gather) -> int:
        """r when a 1-D gather reads each column of its single source r > 1 times in a row,
        in order (``np.repeat(arange(m), r)``); else 0."""
        if len(gather.srcs) != 1 or gather.idx.ndim != 1:
            return 0
        m = len(self.groups[gather.srcs[0]].members)
        r, rest = divmod(gather.idx.size, m)
        if r < 2 or rest or not (gather.idx == self.np.repeat(self.np.arange(m), r)).all():
            return 0
        return r

    def scatter(self, gather: Gather, term: str, batched: bool) -> None:
        """Add a contribution, shaped like the gather's value, into its sources' gradients."""
        srcs = [s for s in gather.srcs if self.needs[s]]
        if not srcs:
            return
        if gather.whole:
            self.add_to(gather.srcs[0], term, batched)
            return
        if self.covers(gather):
            s = gather.srcs[0]
            if batched and not self.groups[s].batched:
                term, batched = self.batch_sum(term, 1 + gather.idx.ndim), False
            self.add_to(s, f"({term}).reshape(v{s}.shape)", batched)
            return
        if self.split(gather, term, batched):
            return
        r = self.repeats(gather)
        if r:  # each column read r times in a row (a scale per position): sum each run
            s, m = gather.srcs[0], len(self.groups[gather.srcs[0]].members)
            lead = "_B, " if batched else ""
            self.add_to(s, f"({term}).reshape({lead}{m}, {r}).sum(-1)", batched)
            return
        view = self.view(gather)
        if view is not None:
            s = gather.srcs[0]
            self.own(s)
            view += "[...]" if view.endswith(")") else ""  # a target must end in a subscript
            if batched:
                term = self.batch_sum(term, 1 + gather.idx.ndim)
            self.lines.append(f"d{s}{view} += {term}")
            return
        unique = len(set(gather.idx.ravel().tolist())) == gather.idx.size
        idx = self.constant(gather.idx)
        if len(gather.srcs) == 1:
            s = gather.srcs[0]
            if batched and not self.groups[s].batched:
                term, batched = self.batch_sum(term, 1 + gather.idx.ndim), False
            self.own(s)
            target, at = f"d{s}", ("(_ALL, " + idx + ")") if batched else idx
        else:
            width = sum(len(self.groups[s].members) for s in gather.srcs)
            self.lines.append(f"_t = _np.zeros({'(_B, ' if batched else '('}{width}))")
            target, at = "_t", ("(_ALL, " + idx + ")") if batched else idx
        if unique:
            self.lines.append(f"{target}[..., {idx}] += {term}")
        else:
            self.lines.append(f"_add_at({target}, {idx}, {term})")
        if target == "_t":
            start = 0
            for s in gather.srcs:
                size = len(self.groups[s].members)
                if self.needs[s]:
                    self.add_to(s, f"_t[..., {start}:{start + size}]", batched)
                start += size


def _term(local: str, g: str) -> str:
    if local == "1.0":
        return g
    if local == "-1.0":
        return f"-{g}"
    return selected(local, g) or f"({local}) * {g}"


def _forward(em: _Emitter, g: int, group: Group) -> list:
    """Write group g's forward line(s); returns the names of its operand values."""
    name = group.op.name
    args = [em.bind(gather, f"a{g}_{k}") for k, gather in enumerate(group.operands)]
    if group.op is _ops.LINEAR:
        W, X, b = args
        bias = "" if em.zero(group.operands[2]) else f" + {b}"  # no bias: nothing to add
        if group.tiles:
            lead = "_B, " if group.batched else ""
            expr = f"({X} @ {W}.T{bias}).reshape({lead}{len(group.members)})"
        else:
            expr = f"{X} @ {W}.T{bias}" if group.matrix else f"({W} * {X}).sum(-1){bias}"
    elif group.op is _ops.SUM:
        expr = f"{args[0]}.sum(-1)"
    elif group.op is _ops.LOGSUMEXP:
        expr = f"_lse({args[0]})"
    elif group.op is _ops.TAKE:
        index, table = args
        n = group.operands[1].idx.shape[-1]
        em.lines.append(f"k{g} = _take_index({index}, {n})")
        args.append(f"k{g}")
        if em.batched(group.operands[1]):  # a table computed from the inputs (logits)
            expr = f"_np.take_along_axis({table}, _np.broadcast_to(k{g}, {table}.shape[:-1])" \
                   f"[..., None], -1)[..., 0]"
        else:  # a table of parameters: one fancy index, row m at column k[m]
            rows = em.constant(em.np.arange(len(group.members)))
            expr = f"{table}[{rows}, k{g}]"
    else:
        expr = _code(em, group.op)[0].format(*args)
    em.lines.append(f"v{g} = {expr}  # {len(group.members)} x {name}")
    return args


def _backward(em: _Emitter, g: int, group: Group, args: list) -> None:
    """Write group g's backward lines: each operand's share of d<g>."""
    d, batched = f"d{g}", group.batched
    ops = group.operands
    if group.op is _ops.LINEAR and group.tiles:
        W, X, b = args
        P, R = group.tiles, len(group.members) // group.tiles
        dz = f"{d}.reshape({'_B, ' if batched else ''}{P}, {R})"
        em.scatter(ops[1], f"{dz} @ {W}", batched)
        rows = f"{dz}.reshape(-1, {R})"  # every sample's every record: one row each
        em.scatter(ops[0], f"{rows}.T @ {X}.reshape(-1, {X}.shape[-1])", False)
        em.scatter(ops[2], dz, batched)
    elif group.op is _ops.LINEAR and group.matrix:
        W, X, b = args
        em.scatter(ops[1], f"{d} @ {W}", batched)
        if em.batched(ops[1]):  # dW = dz^T x, summed over the batch by the product
            em.scatter(ops[0], f"{d}.T @ {X}", False)
        else:
            em.scatter(ops[0], f"_np.outer({em.batch_sum(d, 2) if batched else d}, {X})", False)
        em.scatter(ops[2], d, batched)
    elif group.op is _ops.LINEAR:
        W, X, b = args
        if ops[0].srcs == ops[1].srcs and em.np.array_equal(ops[0].idx, ops[1].idx):
            # x . x (a mean square): both shares at once
            em.scatter(ops[1], f"2.0 * {X} * {d}[..., None]", batched)
        else:
            em.scatter(ops[0], f"{X} * {d}[..., None]", batched)
            em.scatter(ops[1], f"{W} * {d}[..., None]", batched)
        em.scatter(ops[2], d, batched)
    elif group.op is _ops.SUM:
        zeros = em.constant(em.np.zeros(ops[0].idx.shape))  # d x_i = d out, for every i
        em.scatter(ops[0], f"{d}[..., None] + {zeros}", batched)
    elif group.op is _ops.LOGSUMEXP:
        em.scatter(ops[0], f"_np.exp({args[0]} - v{g}[..., None]) * {d}[..., None]", batched)
    elif group.op is _ops.TAKE:  # the index gets nothing; the picked entry gets d
        table, k = args[1], args[2]
        n = ops[1].idx.shape[-1]
        if em.batched(ops[1]):
            em.scatter(ops[1], f"_take_grad({k}, {d}, {table}.shape)", batched)
        else:  # summed over the batch by one bincount
            em.scatter(ops[1], f"_take_grad_summed({k}, {d}, {len(group.members)}, {n})", False)
    else:
        locals_ = _code(em, group.op)[1]
        terms = [_term(t.format(*args, out=f"v{g}"), d) for t in locals_]
        if may_be_infinite(locals_):  # a zero gradient passes nothing
            terms = [f"_np.where({d} == 0, 0.0, {term})" for term in terms]
        if len(ops) == 2 and terms[0] == terms[1] and args[0] == args[1]:
            em.scatter(ops[0], f"2.0 * ({terms[0]})", batched)  # x * x: both shares at once
            return
        for gather, term in zip(ops, terms):
            em.scatter(gather, term, batched)


def numpy_source(graph: Graph, name: str = "program") -> tuple[str, dict]:
    """The generated function, the constants it reads and the order in which it wants the
    parameters (positions in ``graph.params``). ``name(_P, _X, _B, _seeds)`` takes the
    parameters' data in that order, one (batch, inputs) array per argument and the batch size;
    it returns the (batch, outputs) array and, given seeds, the parameters' gradients in the
    same order (or None)."""
    import numpy as np
    graph = flatten_additions(graph)
    groups, where = group_nodes(graph)
    em = _Emitter(groups, np)
    em.namespace["_C"] = np.array([graph.nodes[i].ref for i in groups[1].members], dtype=float)
    em.consts[1] = em.namespace["_C"]
    for g, group in enumerate(groups[2:], 2):
        if group.kind == CONST:  # the pads
            em.consts[g] = np.array(PAD_VALUES)
    first_op = 2 + len(graph.shape)
    inputs = "".join(f"v{g}, " for g in range(2, first_op))
    em.lines += ["v0, v1 = _P, _C"] + ([f"{inputs}= _X"] if inputs else [])
    bound = {}
    for g in range(first_op, len(groups)):
        if groups[g].kind == CONST:  # the pads of groups of several lengths
            em.lines.append(f"v{g} = {em.constant(np.array(PAD_VALUES))}")
            continue
        bound[g] = _forward(em, g, groups[g])
    out = _gather(graph.outputs, groups, where, np)
    em.lines.append(f"_out = {em.outputs(out)}")
    if not em.batched(out):
        em.lines.append("_out = _np.broadcast_to(_out, (_B, _out.shape[-1]))")
    em.lines += ["if _seeds is None:", "    return _out, None", "# backward"]
    em.scatter(out, "_seeds", True)
    for g in reversed(range(first_op, len(groups))):
        if g in em.grad and em.needs[g]:
            _backward(em, g, groups[g], bound[g])
    em.lines.append("return _out, " + ("d0" if 0 in em.grad else "None"))
    body = "\n".join("    " + line for line in em.lines)
    layout = [graph.nodes[i].ref for i in groups[0].members]
    return f"def {name}(_P, _X, _B, _seeds=None):\n{body}\n", em.namespace, layout


class NumpyProgram:
    """A graph compiled to numpy: ``forward`` and ``backward`` over a batch of arrays."""

    backend = "numpy"

    def __init__(self, graph: Graph, name: str = "program"):
        import numpy as np
        self.graph = graph
        self.source, constants, layout = numpy_source(graph, name)
        self.source_optimized = self.source  # one source: the groups are the speed
        self._params = [graph.params[k] for k in layout]  # in the order the code reads them
        namespace = dict(numpy_names(), _ALL=slice(None), _cat=_concatenate, _lse=_logsumexp,
                         _take_index=_take_index, _take_grad=_take_grad, _ones_of=_ones_of,
                         _take_grad_summed=_take_grad_summed, _add_at=_add_at)
        namespace.update(constants)
        exec(compile(self.source, f"<compiled {name}>", "exec"), namespace)
        self._run = namespace[name]
        self._pack = struct.Struct(f"{len(self._params)}d").pack
        self._np = np

    def _run_checked(self, params: list, batch: list, seeds, numbers=None):
        np = self._np
        params = self._params
        # the parameters' numbers: a list comprehension reads the slots faster than
        # map(attrgetter), and packing them as doubles is faster than any numpy constructor
        # (W1's 337: about 4 + 2 us, against 4 + 4.5 for np.fromiter of the list)
        P = np.frombuffer(self._pack(*[p.data for p in params])) if numbers is None else numbers
        n = batch[0].shape[0] if batch else 1
        # an inf or nan that numpy makes raises FloatingPointError, even where it vanishes later
        # (tanh(w / 0) is 1.0): the program then hands the batch to the engine, which decides
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            return self._run(P, [a.reshape(n, -1) for a in batch], n, seeds)

    def forward(self, params: list, batch: list):
        out, _ = self._run_checked(params, batch, None)
        return out[:, 0] if self.graph.single else out

    def backward(self, params: list, batch: list, seeds, numbers=None) -> tuple:
        """(outputs, the parameters, their gradients as an array), nothing written yet.
        ``numbers``: the parameters' numbers in the code's order, instead of each ``.data``."""
        seeds = seeds.reshape(seeds.shape[0], -1)
        out, grads = self._run_checked(params, batch, seeds, numbers)
        grads = self._np.zeros(len(self._params)) if grads is None else grads
        return (out[:, 0] if self.graph.single else out), self._params, grads


@functools.lru_cache(maxsize=8)
def _ones_of(batch: int):
    """A row of ``batch`` ones (read only: the code multiplies by it), made once per size."""
    import numpy as np
    ones = np.ones(batch)
    ones.flags.writeable = False
    return ones


def _concatenate(arrays: list, batch: int):
    """The arrays side by side along the last axis; those without a batch axis (parameters,
    constants) repeated for each sample of the batch."""
    import numpy as np
    if all(a.ndim == 1 for a in arrays):
        return np.concatenate(arrays)
    out = np.empty((batch, sum(a.shape[-1] for a in arrays)))
    start = 0
    for a in arrays:  # assigning into slices: no broadcast_to, no second copy
        out[:, start:start + a.shape[-1]] = a
        start += a.shape[-1]
    return out


def _logsumexp(x):
    import numpy as np
    m = x.max(-1, keepdims=True)
    shifted = np.where(np.isinf(m), 0.0, x - m)
    return np.where(np.isinf(m[..., 0]), m[..., 0], m[..., 0] + np.log(np.exp(shifted).sum(-1)))


def _take_index(index, n: int):
    """Take's indices as integers: ValueError (the engine then runs the batch, and raises its
    own error) for an index that is not a whole number from 0 to n - 1."""
    import numpy as np
    k = index.astype(np.intp)
    if not ((k == index).all() and 0 <= k.min() and k.max() < n):
        raise ValueError("take: an index out of range")
    return k


def _take_grad(k, d, shape):
    """The gradient of a take from a table computed per sample, shaped like the table
    (batch, nodes, entries): ``d`` at each picked entry, 0 elsewhere."""
    import numpy as np
    g = np.zeros(shape)
    np.put_along_axis(g, np.broadcast_to(k, shape[:-1])[..., None], d[..., None], -1)
    return g


def _take_grad_summed(k, d, m: int, n: int):
    """The gradient of a take from a table of parameters (m nodes, n entries each), summed
    over the batch: d added at (node, its index) for every sample, by one bincount."""
    import numpy as np
    at = (np.arange(m) * n + k).ravel()
    return np.bincount(at, weights=np.broadcast_to(d, k.shape).ravel(),
                       minlength=m * n).reshape(m, n)


def _add_at(target, idx, term):
    """``target[..., idx] += term`` where ``idx`` may repeat a column (the repeats add up):
    ``np.add.at``'s numbers, by one ``bincount`` (several times faster on large gathers).
    ``target`` is (columns,) or (batch, columns); ``term`` is ``idx``'s shape after the
    target's batch axis."""
    import numpy as np
    width = target.shape[-1]
    flat = idx.ravel()
    if target.ndim == 1:
        weights = term.ravel() if term.size == flat.size else \
            np.broadcast_to(term, idx.shape).ravel()
        target += np.bincount(flat, weights=weights, minlength=width)
        return
    batch = target.shape[0]
    if term.size != batch * flat.size:
        term = np.broadcast_to(term, (batch, *idx.shape))
    if batch == 1:  # one sample: no offsets per row
        target[0] += np.bincount(flat, weights=term.ravel(), minlength=width)
        return
    rows = (np.arange(batch)[:, None] * width + flat[None, :]).ravel()
    target += np.bincount(rows, weights=term.ravel(), minlength=batch * width).reshape(
        batch, width)
