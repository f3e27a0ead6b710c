"""An explorable page: move the leaves of a graph with sliders, watch values and gradients follow.

``explore_html(root, path)`` writes one self-contained HTML file (no network, no external
scripts): the chain-rule diagram as inline SVG, a slider per leaf, and the graph exported with
its ops, which the page evaluates itself (forward, then backward by the chain rule) each time a
slider moves, rewriting the numbers in the diagram. It also shows

* a nudge readout: root(leaf + eps) - root(leaf), next to its first-order prediction grad * eps;
* an SGD step button, w <- w - lr * grad on the ticked leaves, with a trace of the root's value.

The page needs each op's forward value and local derivatives in JavaScript: ``JAVASCRIPT``
below holds them, one entry per op of the table (tests/test_backends.py names a missing one).
"""

from __future__ import annotations

import html
import json
import math
import pathlib
import re

from .._checks import optional_text, positive_number
from ..engine import Op, Value, grad
from .diagram import DEFAULT_MAX_NODES, draw_graph
from .naming import Namer, drawing_order, fmt
from .rendering import pipe, write_atomically
from .structure import Structure
from .trace import _inline

__all__ = ["explore_html", "export_graph", "js_form", "json_number", "op_script", "JAVASCRIPT"]

# The helpers M.* that the op table's JavaScript templates call: the engine's conventions, the
# same formulas as micrograd_nn/ops.py
_RUNTIME = """var M = {
  sigmoid: function (x) {  // never overflows: exp of a non-positive number
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    var e = Math.exp(x);
    return e / (1 + e);
  },
  powDbase: function (x, y) {  // d/dx x**y = y x**(y-1); 0 for y == 0, inf at x = 0 for y < 1
    if (y === 0) return 0;
    if (x === 0 && y < 1) return Infinity;
    return y * Math.pow(x, y - 1);
  },
  powDexp: function (x, out) {  // d/dy x**y = x**y log x; 0 at x = 0, nan for x < 0
    if (x > 0) return out * Math.log(x);
    return x === 0 ? 0 : NaN;
  },
  sum: function (xs) { var s = 0; for (var i = 0; i < xs.length; i++) s += xs[i]; return s; },
  linear: function (v) {  // operands w_1..w_n, x_1..x_n, b: b + w_1 x_1 + ... (engine's order)
    var n = (v.length - 1) / 2, z = v[v.length - 1];
    for (var i = 0; i < n; i++) z += v[i] * v[n + i];
    return z;
  },
  linearLocal: function (v) {  // dz/dw_i = x_i, dz/dx_i = w_i, dz/db = 1
    var n = (v.length - 1) / 2;
    return v.slice(n, 2 * n).concat(v.slice(0, n), [1]);
  },
  logsumexp: function (xs) {  // shifted by the maximum, so it never overflows
    var m = Math.max.apply(null, xs);
    if (!isFinite(m)) return m;
    var s = 0;
    for (var i = 0; i < xs.length; i++) s += Math.exp(xs[i] - m);
    return m + Math.log(s);
  }
};
"""


def _js_number(x: float) -> str:
    """x as a JavaScript number literal (NaN and the infinities have names there)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


# How each op of the table reads in the page's JavaScript: (forward expression, array of local
# derivatives), keyed by the op's name: ``{0}``, ``{1}``... an operand, ``{xs}`` all of them
# (n-ary ops), ``{out}`` the result, ``M.*`` the helpers of ``_RUNTIME`` (the engine's
# conventions). ``"**n"`` is x ** n for a constant n, a function of n.
JAVASCRIPT = {
    "+": ("{0} + {1}", "[1, 1]"),
    "-": ("{0} - {1}", "[1, -1]"),
    "*": ("{0} * {1}", "[{1}, {0}]"),
    "/": ("{0} / {1}", "[1 / {1}, -{out} / {1}]"),
    "neg": ("-{0}", "[-1]"),
    "**": ("Math.pow({0}, {1})", "[M.powDbase({0}, {1}), M.powDexp({0}, {out})]"),
    "**n": lambda n: (f"Math.pow({{0}}, {_js_number(n)})",
                      f"[M.powDbase({{0}}, {_js_number(n)})]"),
    "exp": ("Math.exp({0})", "[{out}]"),
    "log": ("Math.log({0})", "[1 / {0}]"),
    "relu": ("{0} <= 0 ? 0 : {0}", "[{0} <= 0 ? 0 : 1]"),
    "sigmoid": ("M.sigmoid({0})", "[{out} * (1 - {out})]"),
    "tanh": ("Math.tanh({0})", "[1 - {out} * {out}]"),
    "abs": ("Math.abs({0})", "[{0} > 0 ? 1 : ({0} < 0 ? -1 : 0)]"),
    "sqrt": ("Math.sqrt({0})", "[M.powDbase({0}, 0.5)]"),
    "softplus": ("Math.max({0}, 0) + Math.log1p(Math.exp(-Math.abs({0})))", "[M.sigmoid({0})]"),
    "sum": ("M.sum({xs})", "{xs}.map(function () { return 1; })"),
    "linear": ("M.linear({xs})", "M.linearLocal({xs})"),
    "logsumexp": ("M.logsumexp({xs})", "{xs}.map(function (x) { return Math.exp(x - {out}); })"),
}


def js_form(op: Op) -> tuple:
    """(forward, local derivatives) of an op as JavaScript templates, from ``JAVASCRIPT``.

    ValueError naming the op when it has no entry (the page could not evaluate it).
    """
    found = JAVASCRIPT.get(op.key)
    if callable(found):
        found = found(op.constant)
    if found is None:
        raise ValueError(f"explore_html cannot evaluate the op {op.name!r}: it has no "
                         f"JavaScript form (an entry in JAVASCRIPT, micrograd_nn/viz/explore.py)")
    return found


def json_number(x: float):
    """x for JSON: finite floats as numbers (exact), the others as strings JS's Number() reads."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def export_graph(root: Value) -> dict:
    """The graph of ``root`` as plain data: nodes in drawing order (the diagram's ``v<k>``).

    Each node: ``name``, ``op`` (None for a leaf, else the op's name), ``args`` (operand
    indices), for leaves ``data``, for the others ``edges`` (see ``_edge_groups``).
    ``leaves`` lists the leaf indices. Interior values are not exported: the page computes them.
    """
    topo = drawing_order(root)
    index = {v: k for k, v in enumerate(topo)}
    namer = Namer(topo)
    nodes = []
    for k, v in enumerate(topo):
        node = {"name": namer.name(v) if (v.label or not v.is_leaf()) else f"v{k}",
                "op": None, "args": [index[p] for p in v.operands]}
        if v.is_leaf():
            node["data"] = json_number(v.data)
            if not v.label:
                node["name"] = f"constant v{k}"
        else:
            js_form(v.op)  # refuses an op the page could not evaluate
            node["op"] = v.op.name
            node["edges"] = _edge_groups(v, index, namer)
        nodes.append(node)
    return {"nodes": nodes, "leaves": [k for k, v in enumerate(topo) if v.is_leaf()]}


def _edge_groups(v: Value, index: dict, namer: Namer) -> dict:
    """{operand index j: [[i, ...], ...]}: the operand positions i that value j fills in v.

    The diagram draws one arrow from j to v's operation and joins the labels of the positions
    it fills, each distinct label once (``d/da = b = 1.3 (×2); d/da = 1``). A group here is
    one such label: positions with the same formula, in order of first appearance, so the
    page can rewrite the number of each part.
    """
    groups: dict = {}
    for i, (p, local) in enumerate(zip(v.operands, v.local_grads)):
        by_label = groups.setdefault(index[p], {})
        by_label.setdefault((namer.formula(v, i), fmt(local)), []).append(i)
    return {j: list(by_label.values()) for j, by_label in groups.items()}


def op_script(ops: dict) -> str:
    """``window.MICROGRAD_NN_OPS``: a forward and a local-derivative function per op used."""

    def js(template: str) -> str:
        template = template.replace("{xs}", "x").replace("{out}", "out")
        return re.sub(r"\{(\d+)\}", r"x[\1]", template)

    rows = []
    for name in sorted(ops):
        forward, local = js_form(ops[name])
        rows.append(f"  {json.dumps(name)}: {{f: function (x) {{ return {js(forward)}; }},\n"
                    f"    d: function (x, out) {{ return {js(local)}; }}}}")
    return _RUNTIME + "window.MICROGRAD_NN_OPS = {\n" + ",\n".join(rows) + "\n};\n"


def _slider_range(x: float) -> tuple:
    """(min, max) around x: x +- max(1, 2|x|), so a slider can cross 0 and double x."""
    if not math.isfinite(x):
        return -1.0, 1.0
    r = max(1.0, 2 * abs(x))
    return x - r, x + r


def _leaf_rows(graph: dict, trained: set) -> str:
    """A table row per leaf; the nudge starts on the first trained leaf (or the first leaf)."""
    chosen = min(trained, default=graph["leaves"][0] if graph["leaves"] else None)
    rows = []
    for k in graph["leaves"]:
        node = graph["nodes"][k]
        x = float(node["data"])
        lo, hi = _slider_range(x)
        checked = " checked" if k in trained else ""
        first = " checked" if k == chosen else ""
        name = html.escape(node["name"])
        rows.append(
            f'<tr id="leaf{k}"><td><input type="radio" name="selected" class="select" '
            f'aria-label="nudge {name}"{first}></td><td class="name">{name}</td>'
            f'<td><input type="range" class="range" min="{lo!r}" max="{hi!r}" step="any" '
            f'value="{x!r}" aria-label="{name}"></td>'
            f'<td><input type="number" class="value" step="any" value="{x!r}"></td>'
            f'<td class="grad"></td><td><input type="checkbox" class="train"{checked} '
            f'aria-label="train {name}"></td></tr>')
    return "\n".join(rows)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }}
#diagram {{ overflow: auto; max-height: 80vh; border: 1px solid #ddd; padding: 0.5em; }}
#diagram.fit svg {{ max-width: 100%; height: auto; }}
.panels {{ display: flex; flex-wrap: wrap; gap: 2em; margin-top: 1em; align-items: flex-start; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.2em 0.5em; text-align: left; }}
td.name, td.grad, #root-value {{ font-family: Menlo, Consolas, monospace; }}
input.range {{ width: 14em; }}
input.value {{ width: 8em; }}
pre {{ font-family: Menlo, Consolas, monospace; font-size: 0.9em; margin: 0.4em 0; }}
button {{ font-size: 1em; padding: 0.3em 1em; }}
</style>
<noscript><style>.js-only {{ display: none; }}</style></noscript>
</head>
<body>
<h1>{title}</h1>
<noscript><p id="no-js">JavaScript is off, so this is the diagram at the starting values.
The sliders, the nudge readout and the SGD steps, which recompute every value and gradient
as the leaves move, need JavaScript.</p></noscript>
<p class="js-only">Move a slider (or type a number) and the page recomputes every value forward
and every gradient backward, by the chain rule, and rewrites the numbers in the diagram.</p>
<p>The boxes hold <b>data</b> and <b>grad</b> = d{root}/d(that value); each arrow holds a local
derivative.</p>
<p class="js-only"><label><input type="checkbox" id="fit" checked> fit the diagram to the
page</label> (untick to see it full size and scroll)</p>
<div id="diagram" class="fit">
{svg}
</div>
<div class="panels js-only">
<div>
<h2>Leaves</h2>
<p>{root} = <span id="root-value"></span></p>
<table>
<tr><th>nudge</th><th>leaf</th><th></th><th>value</th><th>d{root}/d leaf</th><th>train</th></tr>
{rows}
</table>
</div>
<div>
<h2>Nudge</h2>
<p>Add &epsilon; to the chosen leaf: {root} moves by about its gradient times &epsilon;.</p>
<p><label>&epsilon; = <input id="eps" type="number" step="any" value="0.001"></label></p>
<pre id="nudge"></pre>
<h2>Gradient descent</h2>
<p>One step moves every ticked leaf w to w &minus; lr &middot; d{root}/dw.
Moving a slider starts a new trace.</p>
<p><label>lr = <input id="lr" type="number" step="any" value="{lr!r}"></label>
<button id="step">SGD step</button> <button id="reset">reset</button></p>
<svg width="320" height="120" role="img" aria-label="{root} after each step">
<rect x="0.5" y="0.5" width="319" height="119" fill="#fafafa" stroke="#ccc"/>
<polyline id="trace-line" fill="none" stroke="#c0392b" stroke-width="2" points=""/>
</svg>
<pre id="trace-list"></pre>
</div>
</div>
<script id="graph-data" type="application/json">{graph}</script>
<script>
{ops}</script>
<script>
{runtime}</script>
</body>
</html>
"""


def _trained(params, graph: dict, topo: list, root: Value) -> set:
    """Leaf indices ticked for SGD: those among ``params`` (Values or labels). By default the
    parameters the diagram recognises (weights and biases, not the inputs or the target), as
    ``graph --explore`` ticks them; in a graph with none, every labelled leaf (an unlabelled
    leaf is a constant written in the expression, such as the 1 of ``1 - y``)."""
    leaves = graph["leaves"]
    if params is None:
        recognised = Structure(topo, root).parameters
        if any(topo[k] in recognised for k in leaves):
            return {k for k in leaves if topo[k] in recognised}
        return {k for k in leaves if topo[k].label}
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, (Value, str)):
        params = [params]
    wanted = list(params)
    for p in wanted:
        if not isinstance(p, (Value, str)):
            raise TypeError(f"params must be Values or labels (or a Module), got "
                            f"{type(p).__name__}")
    values = {id(p) for p in wanted if isinstance(p, Value)}
    labels = {p for p in wanted if isinstance(p, str)}
    return {k for k in leaves if id(topo[k]) in values or topo[k].label in labels}


def _draw_with_gradients(root: Value, topo: list, **options):
    """The diagram with every box's grad = d root / d value, whether or not backward has run.

    The page rewrites the numbers but keeps the layout, so the boxes are sized for the right
    numbers from the start. The ``.grad`` fields are put back as they were.
    """
    if len(topo) > options["max_nodes"]:
        return draw_graph(root, **options)  # refused with draw_graph's own message
    saved = [v.grad for v in topo]
    try:
        for v, g in zip(topo, grad(root, topo)):
            v.grad = g
        return draw_graph(root, **options)
    finally:
        for v, g in zip(topo, saved):
            v.grad = g


def explore_html(root: Value, path, *, params=None, lr: float = 0.1, rankdir: str = "LR",
                 max_nodes: int = DEFAULT_MAX_NODES, title: str | None = None) -> pathlib.Path:
    """Write an explorable page of ``root``'s graph to ``path``; returns the path written.

    One self-contained HTML file (inline SVG, inline scripts, nothing fetched): the diagram, a
    slider per leaf, values and gradients recomputed in the page as sliders move, a nudge
    readout (root(leaf + eps) - root(leaf) next to grad * eps) and an SGD step button
    (w <- w - lr * grad on the ticked leaves: ``params``, Values or labels or a Module, default
    the weights and biases the diagram recognises, else every labelled leaf) with a trace of
    the root. The page evaluates the graph from its leaves, so ``backward()`` need not have
    run. Without JavaScript it shows the diagram at the starting values, and says so. Graphs past ``max_nodes`` raise ValueError, as for
    ``draw_graph``; so does an op without a JavaScript form (see ``js_form``).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explore_html needs a Value, got {type(root).__name__}")
    title = optional_text(title, "title")
    lr = positive_number(lr, "lr")
    topo = drawing_order(root)
    diagram = _draw_with_gradients(root, topo, rankdir=rankdir, params=params,
                                   max_nodes=max_nodes)
    graph = export_graph(root)
    ops = {v.op.name: v.op for v in topo if v.op is not None}
    svg = re.sub(r"<!--.*?-->\n?", "", _inline(pipe(diagram, "svg").decode("utf-8")), flags=re.S)
    name = graph["nodes"][-1]["name"]
    runtime = pathlib.Path(__file__).with_name("explore.js").read_text(encoding="utf-8")
    page = _PAGE.format(
        title=html.escape(title or f"Explore {name}: move the leaves, watch the gradients"),
        root=html.escape(name), svg=svg,
        rows=_leaf_rows(graph, _trained(params, graph, topo, root)),
        lr=lr, graph=json.dumps(graph).replace("<", "\\u003c"), ops=op_script(ops),
        runtime=runtime)
    return write_atomically(pathlib.Path(path), page.encode("utf-8"))
