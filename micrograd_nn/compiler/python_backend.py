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
from .trace import CONST, INPUT, OP, PARAM, Graph

__all__ = ["python_source", "build", "PYTHON"]

# How each op of the table reads as Python over floats: (forward, local derivatives), keyed by
# the op's name (templates.py says what the placeholders mean). The n-ary ops (sum, linear,
# logsumexp) are written below, in _forward_expr and _locals.
PYTHON = {
    "+": ("{0} + {1}", ("1.0", "1.0")),
    "-": ("{0} - {1}", ("1.0", "-1.0")),
    "*": ("{0} * {1}", ("{1}", "{0}")),
    "/": ("{0} / {1}", ("1 / {1}", "-{out} / {1}")),
    "neg": ("-{0}", ("-1.0",)),
    "**": ("{f}({0}, {1})", ("{rule}({0}, {1}, {out})[0]", "{rule}({0}, {1}, {out})[1]")),
    "**n": lambda n: (("{0} ** 2.0", ("2.0 * {0}",)) if n == 2.0   # the rule's 2.0 * x ** 1.0
                      else ("{f}({0})", ("{rule}({0}, {out})[0]",))),
    "exp": ("{f}({0})", ("{out}",)),
    "log": ("{f}({0})", ("1 / {0}",)),
    # 0.0, not 0: a float compared with a float takes CPython's fast path
    "relu": ("(0.0 if {0} <= 0.0 else {0})", ("(0.0 if {0} <= 0.0 else 1.0)",)),
    "sigmoid": ("{f}({0})", ("{out} * (1 - {out})",)),
    "tanh": ("{f}({0})", ("1 - {out} * {out}",)),
    "abs": ("{f}({0})", ("(1.0 if {0} > 0.0 else (-1.0 if {0} < 0.0 else 0.0))",)),
    "sqrt": ("{f}({0})", ("{rule}({0}, {out})[0]",)),
    "softplus": ("{f}({0})", ("_op_sigmoid({0})",)),
}
WRITTEN_HERE = ("sum", "linear", "logsumexp", "take")   # n-ary ops written below

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
    if " " not in expr:  # a name or a number: nothing to group
        return expr
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
    if op is _ops.TAKE:  # the entry the index picks, its range checked: (i, x_0, ...)[1 + i]
        return f"{binder.name(op.forward, 'take')}(({', '.join(args)},))"
    template, _ = code_for(op, PYTHON, binder)
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
    if op is _ops.TAKE:  # 1 for the entry the index picks
        return ["0.0"] + [f"(1.0 if {args[0]} == {k}.0 else 0.0)" for k in range(len(args) - 1)]
    _, templates = code_for(op, PYTHON, binder)
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


_TERMS_PER_LINE = 64  # a longer sum is split over lines (Python's parser recurses per +)


def _sum_lines(target: str, terms: list) -> list:
    """``target = t1 + t2 + ...``, over as many lines as it takes: ``target = target + ...``
    continues it, which adds in the same order (left to right), so the numbers are the same."""
    chunks = [terms[k:k + _TERMS_PER_LINE] for k in range(0, len(terms), _TERMS_PER_LINE)]
    lines = [f"{target} = {' + '.join(chunks[0])}"]
    lines += [f"{target} = {' + '.join([target, *chunk])}" for chunk in chunks[1:]]
    return lines


def _forward_lines(graph: Graph, names: list, nodes: list, binder: Binder,
                   layers: dict | None = None) -> list:
    """The forward pass of ``nodes``, a line each (a wide sum over several), except that each
    of ``layers`` (see `_layers`) is written as one block where its first node stands."""
    layers = layers or {}
    inside = {i for members in layers.values() for i in members}
    lines = []
    for i in nodes:
        if i in layers:
            lines += _layer_lines(graph, names, layers[i])
        elif i not in inside:
            node = graph.nodes[i]
            args = [names[a] for a in node.args]
            if node.op is _ops.LINEAR and len(args) > _TERMS_PER_LINE:
                n = (len(args) - 1) // 2
                lines += _sum_lines(names[i], [args[-1]] + [f"{w} * {x}" for w, x in
                                                            zip(args[:n], args[n:-1])])
            elif node.op is _ops.SUM and len(args) > _TERMS_PER_LINE:
                lines += _sum_lines(names[i], args)
            else:
                lines.append(f"{names[i]} = {_forward_expr(node, args, binder)}")
    return lines


_LAYER_FROM = 4  # units a layer needs to be computed input by input


def _layers(graph: Graph, nodes: list) -> dict:
    """{first node: the layer's nodes} for the layers among ``nodes`` worth computing input by
    input: at least _LAYER_FROM ``linear`` nodes reading the same inputs, each of them a relu's
    output, with weights and biases that are parameters or finite constants."""
    def fixed(a):
        node = graph.nodes[a]
        return node.kind == PARAM or (node.kind == CONST and math.isfinite(node.ref))

    by_inputs: dict = {}
    for i in nodes:
        node = graph.nodes[i]
        n = (len(node.args) - 1) // 2
        if node.op is not _ops.LINEAR or not n:
            continue
        xs = node.args[n:2 * n]
        if all(graph.nodes[x].kind == OP and graph.nodes[x].op is _ops.RELU for x in xs) and \
                all(fixed(a) for a in node.args[:n] + node.args[2 * n:]):
            by_inputs.setdefault(xs, []).append(i)
    return {members[0]: members for members in by_inputs.values() if len(members) >= _LAYER_FROM}


def _layer_lines(graph: Graph, names: list, members: list) -> list:
    """A layer input by input: each unit starts from its bias and adds w * x for each input
    in turn, the engine's order of additions. An input whose relu is dead is 0.0, and
    w * 0.0 adds nothing when w is finite (the code checks the parameters first), so the
    block skips it: about 40% fewer operations in W1's hidden layer."""
    first = graph.nodes[members[0]]
    n = (len(first.args) - 1) // 2
    lines = [f"# {names[members[0]]} .. {names[members[-1]]}: a layer of {len(members)} units, "
             "input by input (a dead relu's 0.0 adds nothing)"]
    lines += [f"{names[i]} = {names[graph.nodes[i].args[-1]]}" for i in members]
    for k in range(n):
        x = names[first.args[n + k]]
        lines.append(f"if {x}:")
        lines += [f"    {names[i]} += {names[graph.nodes[i].args[k]]} * {x}" for i in members]
    return lines


def _plan(graph: Graph, names: list, nodes: list, needs: list, binder: Binder) -> tuple:
    """(each node's local derivatives, the nodes whose gradient is pulled: see `_chain_rule`)."""
    local_of = {i: _locals(graph.nodes[i], [names[a] for a in graph.nodes[i].args], names[i],
                           binder) for i in nodes if needs[i]}
    return local_of, _pulled(graph, nodes, needs, local_of)


def _chain_rule(graph: Graph, grads: list, nodes: list, is_set: list, needs: list,
                plan: tuple, layers: dict | None = None) -> list:
    """Backward lines for ``nodes`` (in reverse): each operand's share of the node's gradient,
    the first share assigned, the next ones added; in the engine's order.

    A gradient whose shares are all finite for finite numbers (``plan``, see `_pulled`) is
    written as one sum of its shares, in the same order, just before it is used, instead of a
    variable each consumer adds into (``dh += w * dz`` under each consumer's ``if dz:``). A sum
    costs fewer operations, and a hidden unit's gradient behind a relu becomes
    ``dz = (0.0 if z <= 0.0 else (w1 * dz1 + w2 * dz2))``, computed only for a live unit. The
    numbers are the engine's: a zero share adds 0.0, which changes nothing but the sign of a zero
    (an infinite or nan share sends the batch to the engine). The parameters of ``layers`` whose
    weights and biases are all parameters get their shares input by input (`_layer_grads`)."""
    lines = []
    local_of, pulled = plan
    shares: dict = {a: [] for a in pulled}
    layer_of = {i: members for members in (layers or {}).values()
                if all(graph.nodes[a].kind == PARAM for i in members for a in
                       _params_of(graph.nodes[i])) for i in members}
    waiting: dict = {}  # a layer's first node -> its units' (gradient, weight shares, bias)
    for i in reversed(nodes):
        g = _gradient(graph, grads, i, is_set, needs, pulled, shares, local_of, lines)
        if g is not None:
            edges = [(a, d) for a, d in zip(graph.nodes[i].args, local_of[i]) if needs[a]]
            for a, d in edges:
                if a in pulled:
                    shares[a].append(_share(d, g))
            edges = [(a, d) for a, d in edges if a not in pulled]
            if i in layer_of:  # the weights and the bias wait for the layer's other units
                own = set(_params_of(graph.nodes[i]))
                waiting.setdefault(layer_of[i][0], []).append(
                    (g, [(a, d) for a, d in edges if a in own]))
                edges = [(a, d) for a, d in edges if a not in own]
            lines += _pushed(grads, edges, g, is_set)
        if i in layer_of and i == layer_of[i][0] and i in waiting:
            lines += _layer_grads(grads, waiting.pop(i))
    return lines


def _params_of(node) -> tuple:
    """A linear node's weights and bias (its operands other than the inputs)."""
    n = (len(node.args) - 1) // 2
    return node.args[:n] + node.args[2 * n:]


def _gradient(graph: Graph, grads: list, i: int, is_set: list, needs: list, pulled: set,
              shares: dict, local_of: dict, lines: list) -> str | None:
    """The name (or, used once by a kink, the expression) of node i's gradient, after writing
    its line if it is pulled; None when it has none (0, passing nothing back)."""
    if not needs[i]:
        return None
    g = grads[i]
    if i not in pulled:
        return g if is_set[i] else None
    if not shares[i]:
        return None  # no share reached it: its gradient is 0 and passes nothing back
    edges = [(a, d) for a, d in zip(graph.nodes[i].args, local_of[i]) if needs[a]]
    if len(edges) == 1 and edges[0][0] in pulled and selected(edges[0][1], g) and \
            len(shares[i]) <= _TERMS_PER_LINE:
        g = " + ".join(shares[i])  # used once, by a kink: written where it is used
        return g if len(shares[i]) == 1 and not g.startswith("-") else f"({g})"
    lines += _sum_lines(g, shares[i])
    is_set[i] = True
    return g


def _layer_grads(grads: list, units: list) -> list:
    """A layer's parameter shares input by input: each bias adds its unit's gradient, and each
    weight w_ji adds x_i * dz_j under ``if x_i:``, skipping the inputs whose relu is dead
    (x_i = 0.0: the share would be 0.0, which adds nothing while the gradients are finite;
    a gradient that is not finite reaches its unit's bias and sends the batch to the engine).
    Each weight still gets one share per sample, in the order of the samples."""
    lines = ["# the layer's parameters, input by input (a dead relu's 0.0 adds nothing)"]
    by_input: dict = {}
    for g, edges in reversed(units):  # in the order of the layer's nodes
        *weights, (b, _) = edges
        lines.append(f"{grads[b]} += {g}")
        for a, x in weights:
            by_input.setdefault(x, []).append(f"    {grads[a]} += {x} * {g}")
    for x, adds in by_input.items():
        lines += [f"if {x}:"] + adds
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
                  binder: Binder | None = None, rewrite: bool = True,
                  names: tuple | None = None) -> str:
    """The generated function as text: ``name(_params, _batch[, _seeds])``, where ``_batch``
    holds the batch's columns (one list of numbers per input) and ``_seeds`` one list per
    output (the list itself for one output), returns the per-sample outputs (a list, or one
    list per output) and, with ``backward``, the list of the parameters' gradients; or None,
    where a parameter is not finite and a layer is computed input by input (`_layers`).

    Values that depend on parameters only (an L2 term) are computed once, before the loop over
    the samples; their gradients are summed over the samples, then passed back once after it.
    ``rewrite=False`` leaves out the speed rewrite that hides the chain rule (layers computed
    input by input, `_layers`): the code to read, one line per value. ``names``: the graph's
    `value_names`, when the caller has them.
    """
    binder = Binder() if binder is None else binder
    names, grads = value_names(graph) if names is None else names
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
    layers = _layers(graph, each) if rewrite else {}
    body = _read_params(params, bool(layers))
    body += _forward_lines(graph, names, once, binder)
    if backward and accumulators:
        body += [" = ".join(line) + " = 0.0" for line in _wrapped(accumulators)]
    columns = ["_outs"] if graph.single else [f"_outs{k}" for k in range(len(outs))]
    body += [f"{', '.join(columns)} = {', '.join(['[]'] * len(columns))}",
             _loop_header(graph, names, seeds, backward)]
    inner = ["# forward"] + _forward_lines(graph, names, each, binder, layers)
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
        inner += _chain_rule(graph, grads, each, is_set, needs, plan_each, layers)
    body += ["    " + line for line in inner]
    if backward:
        body += _chain_rule(graph, grads, once, is_set, needs, plan_once)
        grad_names = ",\n        ".join(", ".join(line) for line in
                                         _wrapped([grads[i] for _, i in by_param]))
        body.append(f"return {returned}, [{grad_names}]")
    else:
        body.append(f"return {returned}")
    return f"def {name}({'_params, _batch, _seeds' if backward else '_params, _batch'}):\n" + \
        "\n".join("    " + line for line in body) + "\n"


def _read_params(params: list, check: bool) -> list:
    """Lines reading the parameters' data; with ``check``, returning None (the caller hands
    the batch to the engine) unless they are all finite."""
    if not params:
        return []
    names = ["(" + ",\n     ".join(", ".join(line) for line in _wrapped(params)) + ",)"]
    if not check:
        return [f"{names[0]} = [_p.data for _p in _params]"]
    return ["_data = [_p.data for _p in _params]",
            "if not _isfinite(sum(_data)):  # skipping w * 0.0 is exact for a finite w only",
            "    return None",
            f"{names[0]} = _data"]


def _wrapped(names: list, width: int = 80) -> list:
    """The names in lines of about ``width`` characters (a neuron's parameters, say)."""
    lines, line, length = [], [], 0
    for name in names:
        if line and length + len(name) > width:
            lines.append(line)
            line, length = [], 0
        line.append(name)
        length += len(name) + 2
    return lines + [line] if line else lines


def build(source: str, name: str, binder: Binder):
    """Compile generated source and return the function it defines."""
    namespace = dict(python_names(), _zip=zip, _isfinite=math.isfinite, **binder.namespace)
    exec(compile(source, f"<compiled {name}>", "exec"), namespace)
    return namespace[name]


class PythonProgram:
    """A graph compiled to Python: ``forward`` and ``backward`` over a batch of arrays."""

    backend = "python"

    def __init__(self, graph: Graph, name: str = "program"):
        self.graph = graph
        self._binder = Binder()
        # the code to read, one line per value; and the code that runs, with the speed rewrites
        self._names = value_names(graph)
        self.source = python_source(graph, True, name, self._binder, False, self._names)
        self.source_optimized = python_source(graph, True, name, self._binder, True, self._names)
        self._name = name
        self._backward = build(self.source_optimized, name, self._binder)
        self._forward = None  # built on first use: compiling a large graph takes a while

    def forward(self, params: list, batch: list):
        if self._forward is None:
            source = python_source(self.graph, False, self._name, self._binder, True, self._names)
            self._forward = build(source, self._name, self._binder)
        outs = self._forward(params, _columns(batch))
        return self._unexact(arrays=batch) if outs is None else self._outputs(outs)

    def backward(self, params: list, batch: list, seeds) -> tuple:
        """(outputs, the parameters, their gradients), nothing written yet. Where the code
        returned None (a parameter is not finite), the outputs and gradients are nan, which
        sends the batch to the engine."""
        columns = seeds.reshape(seeds.shape[0], -1).T.tolist()  # one list per output
        result = self._backward(params, _columns(batch),
                                columns[0] if len(self.graph.outputs) == 1 else columns)
        if result is None:
            return self._unexact(arrays=[seeds]), params, [math.nan] * len(params)
        outs, grads = result
        return self._outputs(outs), params, grads

    def _outputs(self, outs: list):
        """The outputs as an (n,) array, or (n, k) from the k columns the code returns."""
        return np.array(outs, dtype=float) if self.graph.single else \
            np.array(outs, dtype=float).reshape(len(outs), -1).T

    def _unexact(self, arrays: list):
        """nan outputs for a batch the code cannot take exactly (n from its first array)."""
        n = arrays[0].shape[0] if arrays else 1
        k = len(self.graph.outputs)
        return np.full((n,) if self.graph.single else (n, k), math.nan)


def _columns(batch: list) -> list:
    """Each argument of the batch (n samples first) as its columns: one list of n numbers per
    number of a sample, in the order the inputs are numbered."""
    columns = []
    for a in batch:
        columns += a.reshape(a.shape[0], math.prod(a.shape[1:])).T.tolist()
    return columns
