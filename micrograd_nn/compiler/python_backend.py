"""The "python" backend: a traced graph as straight-line Python over floats.

One generated function runs a whole batch: it reads every parameter's ``.data`` once, then for
each sample runs the forward pass line by line and, when asked for gradients, the backward pass:
the chain rule written out (``dz = yhat * (1 - yhat) * dyhat``; a value read by several nodes
gets the sum of their shares, ``dh = (0.0 if z <= 0.0 else (w1 * dz1 + w2 * dz2))``).
It uses the engine's arithmetic (its checked exp, log and power functions, the same order of
additions) and its zero-gradient rule: a node whose gradient is 0 passes nothing back, so 0 times
an infinite local derivative adds 0, as in ``backward()``. Gradients flow only towards
parameters: inputs and constants get none.
"""

from __future__ import annotations

import math

import numpy as np

from .names import value_names
from .. import ops as _ops
from .templates import Binder, code_for, may_be_infinite, python_names, selected
from .trace import INPUT, OP, PARAM, Graph

__all__ = ["python_source", "build"]

_CONSTANT_LOCALS = ("1.0", "-1.0")
_GUARD_FROM = 3  # an op with this many gradient edges skips them all when its gradient is 0


def _guarded(edges: list) -> bool:
    """Whether a node's backward lines sit under ``if d<node>:``, the engine's rule that a zero
    gradient passes nothing back. It changes a result only where a local derivative is infinite
    or nan (0 * inf), which for finite values only divisions, powers and rules can give; wide
    nodes are guarded anyway because skipping them is faster (behind a dead relu)."""
    if all(d in _CONSTANT_LOCALS for _, d in edges):
        return False
    return may_be_infinite([d for _, d in edges]) or len(edges) >= _GUARD_FROM


def _parenthesised(expr: str) -> str:
    """expr, in parentheses if it has a + or - (or an if) outside any parentheses."""
    depth = 0
    for k, c in enumerate(expr):
        depth += (c == "(") - (c == ")")
        if depth == 0 and k > 0 and (expr.startswith(" + ", k - 1) or expr.startswith(" - ", k - 1)
                                     or expr.startswith(" if ", k - 1)):
            return f"({expr})"
    return expr


def _forward_expr(node, args: list, binder: Binder) -> str:
    """The Python expression computing one operation node from its operands' expressions."""
    op = node.op
    if op is _ops.LINEAR:  # operands w_1..w_n, x_1..x_n, b: b + w_1 * x_1 + ..., the engine's order
        n = (len(args) - 1) // 2
        return " + ".join([args[-1]] + [f"{w} * {x}" for w, x in zip(args[:n], args[n:-1])])
    if op is _ops.SUM:
        return " + ".join(args) if args else "0.0"
    if op is _ops.LOGSUMEXP:
        return f"{binder.name(op.forward, 'logsumexp')}([{', '.join(args)}])"
    template, _ = code_for(op, "python", binder)
    return template.format(*args)


def _locals(node, args: list, out: str, binder: Binder) -> list:
    """The expressions of d out / d operand, one per operand."""
    op = node.op
    if op is _ops.LINEAR:
        n = (len(args) - 1) // 2
        return [*args[n:-1], *args[:n], "1.0"]
    if op is _ops.SUM:
        return ["1.0"] * len(args)
    if op is _ops.LOGSUMEXP:  # the softmax, exp(x_i - out)
        return [f"_op_exp({a} - {out})" for a in args]
    _, templates = code_for(op, "python", binder)
    return [t.format(*args, out=out) for t in templates]


def _needs_grad(graph: Graph) -> list:
    """For each node: does a parameter lie behind it (so its gradient is worth computing)?"""
    needs = []
    for node in graph.nodes:
        needs.append(node.kind == PARAM or (node.kind == OP and any(needs[a] for a in node.args)))
    return needs


def _batched(graph: Graph) -> list:
    """For each node: does it depend on the inputs (else it is computed once per batch)?"""
    batched = []
    for node in graph.nodes:
        batched.append(node.kind == INPUT or (node.kind == OP and any(batched[a] for a in node.args)))
    return batched


def _forward_lines(graph: Graph, names: list, nodes: list, binder: Binder) -> list:
    return [f"{names[i]} = "
            f"{_forward_expr(graph.nodes[i], [names[a] for a in graph.nodes[i].args], binder)}"
            for i in nodes]


def _plan(graph: Graph, names: list, nodes: list, needs: list, binder: Binder) -> tuple:
    """(each node's local derivatives, the nodes whose gradient is pulled: see `_chain_rule`)."""
    local_of = {i: _locals(graph.nodes[i], [names[a] for a in graph.nodes[i].args], names[i],
                           binder) for i in nodes if needs[i]}
    return local_of, _pulled(graph, nodes, needs, local_of)


def _chain_rule(graph: Graph, grads: list, nodes: list, is_set: list, needs: list,
                plan: tuple) -> list:
    """Backward lines for ``nodes`` (in reverse): each operand's share of the node's gradient,
    the first share assigned, the next ones added; in the engine's order.

    A gradient whose shares are all finite for finite numbers (``plan``, see `_pulled`) is
    written as one sum of its shares, in the same order, just before it is used, instead of a
    variable each consumer adds into (``dh += w * dz`` under each consumer's ``if dz:``). A sum
    costs fewer operations, and a hidden unit's gradient behind a relu becomes
    ``dz = (0.0 if z <= 0.0 else (w1 * dz1 + w2 * dz2))``, computed only for a live unit. The
    numbers are the engine's: a zero share adds 0.0, which changes nothing but the sign of a zero
    (an infinite or nan share sends the batch to the engine)."""
    lines = []
    local_of, pulled = plan
    shares: dict = {a: [] for a in pulled}
    for i in reversed(nodes):
        node = graph.nodes[i]
        if not needs[i]:
            continue
        g = grads[i]
        if i in pulled:
            if not shares[i]:
                continue  # no share reached it: its gradient is 0 and passes nothing back
            edges = [(a, d) for a, d in zip(node.args, local_of[i]) if needs[a]]
            if len(edges) == 1 and edges[0][0] in pulled and selected(edges[0][1], g):
                g = " + ".join(shares[i])  # used once, by a kink: written where it is used
                g = g if len(shares[i]) == 1 and not g.startswith("-") else f"({g})"
            else:
                lines.append(f"{g} = {' + '.join(shares[i])}")
                is_set[i] = True
        elif not is_set[i]:
            continue
        edges = [(a, d) for a, d in zip(node.args, local_of[i]) if needs[a]]
        for a, d in edges:
            if a in pulled:
                shares[a].append(_share(d, g))
        lines += _pushed(grads, [(a, d) for a, d in edges if a not in pulled], g, is_set)
    return lines


def _pushed(grads: list, edges: list, g: str, is_set: list) -> list:
    """Lines adding each edge's share of the gradient ``g`` into its operand's gradient."""
    guarded = _guarded(edges)
    lines, block = [], []
    for a, d in edges:
        if guarded and not is_set[a]:
            lines.append(f"{grads[a]} = 0.0")
            is_set[a] = True
        block.append(_contribution(grads[a], d, g, is_set[a]))
        is_set[a] = True
    if guarded:  # the engine's rule: a zero gradient passes nothing back
        lines.append(f"if {g}:")
        block = ["    " + line for line in block]
    return lines + block


def _pulled(graph: Graph, nodes: list, needs: list, local_of: dict) -> set:
    """The operations among ``nodes`` whose gradient can be written as the sum of its shares:
    not an output, and every share comes from a consumer among ``nodes`` through a local
    derivative that is finite for finite numbers (so a consumer whose gradient is 0 adds 0)."""
    ok = {i: graph.nodes[i].kind == OP and needs[i] for i in nodes}
    for o in graph.outputs:
        ok[o] = False
    for i, node in enumerate(graph.nodes):
        shares = local_of.get(i)
        for k, a in enumerate(node.args):
            if a in ok and (shares is None or may_be_infinite([shares[k]])):
                ok[a] = False  # read by a node outside ``nodes``, or an unsafe share
    return {i for i, good in ok.items() if good}


def _share(local: str, g: str) -> str:
    """The term ``local * g``, written short when the local derivative is 1, -1 or a kink's."""
    if local == "1.0":
        return g
    if local == "-1.0":
        return f"-{g}"
    return selected(local, g) or f"{_parenthesised(local)} * {g}"


def _contribution(target: str, local: str, g: str, accumulate: bool) -> str:
    if local == "1.0":
        term, op = g, "+="
    elif local == "-1.0":
        term, op = g, "-="
    else:
        term, op = selected(local, g) or f"{_parenthesised(local)} * {g}", "+="
    if accumulate:
        return f"{target} {op} {term}"
    return f"{target} = {'-' if op == '-=' else ''}{term}"


def _loop_header(graph: Graph, names: list, seeds: list, backward: bool) -> str:
    """The for statement over the samples. The batch arrives as columns, one list of numbers
    per input (and per seed): no list or tuple is built per sample, which the cyclic garbage
    collector would have to track."""
    by_ref = {n.ref: names[i] for i, n in enumerate(graph.nodes) if n.kind == INPUT}
    targets = [by_ref.get(k, "_") for k in range(graph.n_inputs)]
    columns = ["*_batch"] if targets else []
    if backward:
        targets += seeds
        columns.append("*_seeds" if len(seeds) > 1 else "_seeds")
    if not targets:  # no inputs: one run
        return "for _ in ((),):"
    return f"for {', '.join(targets)}, in _zip({', '.join(columns)}):"


def python_source(graph: Graph, backward: bool, name: str = "program",
                  binder: Binder | None = None) -> str:
    """The generated function as text: ``name(_params, _batch[, _seeds])`` returns the list of
    per-sample outputs; with ``backward`` also the list of the parameters' gradients.

    Values that depend on parameters only (an L2 term) are computed once, before the loop over
    the samples; their gradients are summed over the samples, then passed back once after it.
    """
    binder = Binder() if binder is None else binder
    names, grads = value_names(graph)
    batched, needs = _batched(graph), _needs_grad(graph)
    ops = [i for i, n in enumerate(graph.nodes) if n.kind == OP]
    once = [i for i in ops if not batched[i]]
    each = [i for i in ops if batched[i]]
    by_param = sorted((n.ref, i) for i, n in enumerate(graph.nodes) if n.kind == PARAM)
    params = [names[i] for _, i in by_param]
    plan_once, plan_each = (_plan(graph, names, nodes, needs, binder) for nodes in (once, each))
    accumulators = [grads[i] for _, i in by_param] + [grads[i] for i in once
                                                       if needs[i] and i not in plan_once[1]]
    seeds = [f"_seed{k}" for k in range(len(graph.outputs))] if len(graph.outputs) > 1 else ["_seed"]
    outs = [names[i] for i in graph.outputs]
    body = [f"({', '.join(params)},) = [_p.data for _p in _params]"] if params else []
    body += _forward_lines(graph, names, once, binder)
    if backward and accumulators:
        body.append(" = ".join(accumulators) + " = 0.0")
    columns = ["_outs"] if graph.single else [f"_outs{k}" for k in range(len(outs))]
    body += [f"{', '.join(columns)} = {', '.join(['[]'] * len(columns))}",
             _loop_header(graph, names, seeds, backward)]
    inner = ["# forward"] + _forward_lines(graph, names, each, binder)
    inner += [f"{column}.append({out})" for column, out in zip(columns, outs)]
    returned = "_outs" if graph.single else f"[{', '.join(columns)}]"
    if backward:
        is_set = [n.kind == PARAM or (n.kind == OP and not batched[i] and i not in plan_once[1])
                  for i, n in enumerate(graph.nodes)]
        inner += ["# backward: the chain rule, from the output back to the parameters"]
        for k, i in enumerate(graph.outputs):
            if needs[i]:
                inner.append(f"{grads[i]} {'+=' if is_set[i] else '='} {seeds[k]}")
                is_set[i] = True
        inner += _chain_rule(graph, grads, each, is_set, needs, plan_each)
    body += ["    " + line for line in inner]
    if backward:
        body += _chain_rule(graph, grads, once, is_set, needs, plan_once)
        body.append(f"return {returned}, [{', '.join(grads[i] for _, i in by_param)}]")
    else:
        body.append(f"return {returned}")
    return f"def {name}({'_params, _batch, _seeds' if backward else '_params, _batch'}):\n" + \
        "\n".join("    " + line for line in body) + "\n"


def build(source: str, name: str, binder: Binder):
    """Compile generated source and return the function it defines."""
    namespace = dict(python_names(), _zip=zip, **binder.namespace)
    exec(compile(source, f"<compiled {name}>", "exec"), namespace)
    return namespace[name]


class PythonProgram:
    """A graph compiled to Python: ``forward`` and ``backward`` over a batch of arrays."""

    backend = "python"

    def __init__(self, graph: Graph, name: str = "program"):
        self.graph = graph
        self._binder = Binder()
        self.source = python_source(graph, backward=True, name=name, binder=self._binder)
        self._name = name
        self._backward = build(self.source, name, self._binder)
        self._forward = None  # built on first use: compiling a large graph takes a while

    def forward(self, params: list, batch: list):
        if self._forward is None:
            source = python_source(self.graph, False, self._name, self._binder)
            self._forward = build(source, self._name, self._binder)
        return self._outputs(self._forward(params, _columns(batch)))

    def backward(self, params: list, batch: list, seeds) -> tuple:
        """(outputs, the parameters, their gradients), nothing written yet."""
        columns = seeds.reshape(seeds.shape[0], -1).T.tolist()  # one list per output
        seeds = columns[0] if len(self.graph.outputs) == 1 else columns
        outs, grads = self._backward(params, _columns(batch), seeds)
        return self._outputs(outs), params, grads

    def _outputs(self, outs: list):
        """The outputs as an (n,) array, or (n, k) from the k columns the code returns."""
        return np.array(outs, dtype=float) if self.graph.single else \
            np.array(outs, dtype=float).reshape(len(outs), -1).T


def _columns(batch: list) -> list:
    """Each argument of the batch (n samples first) as its columns: one list of n numbers per
    number of a sample, in the order the inputs are numbered."""
    columns = []
    for a in batch:
        columns += a.reshape(a.shape[0], math.prod(a.shape[1:])).T.tolist()
    return columns
