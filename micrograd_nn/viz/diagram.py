"""Chain-rule diagrams: every edge carries its local derivative d out / d in.

A reader multiplies the edge labels along a path from the output down to a value, adds over
paths, and gets the gradient printed in that value's box. The numbers on edges are the engine's
``Value.local_grads`` and the formulas its ``Op.formula`` templates; nothing here differentiates.

Layout of a drawing (``draw_graph``):

* a box per value: its label (or, in grey, the expression that made it), ``data`` and ``grad``,
  coloured by role: input or constant, parameter, intermediate, output;
* a small ellipse per operation, joined to its result by a bare arrow;
* an arrow from each operand to the operation, labelled ``formula = number``;
* a legend.

The DOT text depends only on the graph: node ids come from the topological order
(``v<k>`` for the k-th value, ``op<k>`` for the operation that made it), never from ``id()``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping

from ..engine import LINEAR, MUL, SUM, Value
from ..ops import OPS
from .naming import Namer, drawing_order, find_by_label, fmt
from .rendering import Diagram

__all__ = ["draw_graph", "DEFAULT_MAX_NODES", "EXERCISES", "ROLE_COLORS"]

DEFAULT_MAX_NODES = 250
EXERCISES = ("grads", "local", "both")

# the roles of values, each with its colour (a collapsed neuron is a role of its own)
INPUT = "input or constant"
PARAMETER = "parameter"
INTERMEDIATE = "intermediate"
OUTPUT = "output"
NEURON = "neuron"
ROLE_COLORS = {INPUT: "#dbeafe", PARAMETER: "#fde2b8", INTERMEDIATE: "#ffffff",
               OUTPUT: "#c9ecc9", NEURON: "#ede4f7"}
OP_COLOR = "#eeeeee"
FONT = "Helvetica"
INK = "#222222"
GREY = "#6b6b6b"          # expression names of unlabelled values
DIM_INK = "#b4b4b4"       # text and lines off the highlighted paths
DIM_FILL = "#f7f7f7"
HIGHLIGHT = "#c0392b"     # the highlighted paths
CURRENT = "#e67e22"       # the node being processed in a backward trace
BLANK = "?"


# -------------------------------------------------------------------------------------------------
# What is drawn, before it becomes DOT


@dataclass
class _Node:
    key: str
    kind: str                      # "value", "op" or "neuron"
    title: str = ""                # bold label
    caption: str = ""              # grey expression name
    data: float | None = None
    grad: float | None = None      # None: not known yet (trace) or blanked
    role: str = INTERMEDIATE
    text: str = ""                 # an op's symbol, a neuron's description
    cluster: str | None = None


@dataclass
class _Edge:
    src: str
    dst: str
    label: str | None = None
    tooltip: str = ""


@dataclass
class _Scene:
    nodes: dict = field(default_factory=dict)     # key -> _Node, in drawing order
    edges: list = field(default_factory=list)
    where: dict = field(default_factory=dict)     # Value -> keys that stand for it

    def add(self, node: _Node, value: Value | None = None) -> _Node:
        self.nodes[node.key] = node
        if value is not None:
            self.where.setdefault(value, []).append(node.key)
        return node


@dataclass
class _Options:
    rankdir: str = "LR"
    show_local_grads: bool = True
    show_grads: bool = True
    exercise: str | None = None
    expand_linear: bool = False
    collapse: bool = False
    legend: bool = True


@dataclass
class _Frame:
    """What a backward trace shows on top of a drawing (see trace.py)."""
    grads: Mapping                 # Value -> gradient accumulated so far
    current: Value | None          # the node passing its gradient on
    received: frozenset = frozenset()


# -------------------------------------------------------------------------------------------------
# Public entry point


def draw_graph(root, *, rankdir: str = "LR", show_local_grads: bool = True,
               show_grads: bool = True, highlight: Value | str | None = None,
               params=None, max_nodes: int = DEFAULT_MAX_NODES, collapse: bool = False,
               expand_linear: bool = False, exercise: str | None = None,
               legend: bool = True) -> Diagram:
    """The chain-rule diagram of everything ``root`` depends on, as a ``graphviz.Digraph``.

    Edges carry local derivatives d out / d in (``formula = number``), boxes carry ``data`` and
    ``grad``: d root / d v = sum over paths from root to v of the product of the edge labels.

    - ``rankdir``: "LR" (left to right) or "TB" (top to bottom).
    - ``show_local_grads`` / ``show_grads``: print the edge labels / the gradients.
    - ``highlight``: a Value (or a label) whose paths to ``root`` are drawn bold, the rest dimmed.
    - ``params``: the parameters, to colour them (a Module, Values, or labels).
    - ``max_nodes``: past this many values, ValueError (``collapse=True`` draws neurons as one
      node each and counts those instead; a whole MLP: ``draw_network(model)``).
    - ``expand_linear``: draw each fused ``Value.linear`` node as its products and one sum.
    - ``exercise``: blank with "?" the "grads", the "local" derivatives, or "both".

    A model (an object with ``.layers``) instead of a Value is drawn by ``draw_network``.
    The result displays in Jupyter and renders with ``render(graph, "x.svg" | "x.png" | "x.dot")``.
    """
    if not isinstance(root, Value) and hasattr(root, "layers"):
        from .network import draw_network
        return draw_network(root, rankdir=rankdir, max_nodes=max_nodes)
    options = _options(rankdir, show_local_grads, show_grads, exercise, expand_linear, collapse,
                       legend, max_nodes)
    return _draw(root, options, max_nodes=max_nodes, highlight=highlight, params=params)


def _options(rankdir, show_local_grads, show_grads, exercise, expand_linear, collapse, legend,
             max_nodes) -> _Options:
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if exercise is not None and exercise not in EXERCISES:
        raise ValueError(f"exercise must be None or one of {', '.join(map(repr, EXERCISES))}, "
                         f"got {exercise!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    return _Options(rankdir, bool(show_local_grads), bool(show_grads), exercise,
                    bool(expand_linear), bool(collapse), bool(legend))


def _draw(root: Value, options: _Options, *, max_nodes: int = DEFAULT_MAX_NODES,
          highlight=None, params=None, frame: _Frame | None = None) -> Diagram:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value (or a model with .layers), "
                        f"got {type(root).__name__}")
    topo = drawing_order(root)
    if len(topo) > max_nodes and not options.collapse:
        raise ValueError(
            f"the graph of this value has {len(topo)} values, more than max_nodes={max_nodes}; "
            f"a drawing that big is unreadable and slow to lay out. Pass collapse=True to draw "
            f"each neuron as one node, draw_network(model) to draw a whole MLP, or a larger "
            f"max_nodes to draw every value anyway")
    # collapsed neurons are called v<k>: their expression would name the hidden linear node
    namer = Namer(topo, frozenset(_neurons(topo, root)) if options.collapse else frozenset())
    param_values, param_labels = _parameters(params)
    scene = _Scene()
    if options.collapse:
        _collapsed_scene(scene, topo, namer, options, root, param_values, param_labels, frame)
        drawn = sum(1 for n in scene.nodes.values() if n.kind != "op")
        if drawn > max_nodes:
            raise ValueError(
                f"even with each neuron collapsed into one node the graph has {drawn} nodes, "
                f"more than max_nodes={max_nodes}; draw one sample's graph, use "
                f"draw_network(model) for the whole network, or raise max_nodes")
    else:
        _full_scene(scene, topo, namer, options, root, param_values, param_labels, frame)
    _keep_layout_fast(scene)
    on_path = None
    if highlight is not None:
        on_path = _paths_to(scene, _resolve(highlight, root, scene))
    return _emit(scene, options, on_path, frame, root_key=scene.where[root][-1])


# -------------------------------------------------------------------------------------------------
# Building the scene


def _parameters(params) -> tuple:
    if params is None:
        return set(), set()
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, (Value, str)):
        params = [params]
    values, labels = set(), set()
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"params must be a Module, Values or labels, "
                        f"got {type(params).__name__}") from None
    for p in items:
        if isinstance(p, Value):
            values.add(p)
        elif isinstance(p, str):
            labels.add(p)
        else:
            raise TypeError(f"params must be a Module, Values or labels (str), "
                            f"got an item of type {type(p).__name__}")
    return values, labels


def _role(v: Value, root: Value, param_values: set, param_labels: set) -> str:
    if v is root:
        return OUTPUT
    if v in param_values or (v.label and v.label in param_labels):
        return PARAMETER
    return INPUT if v.is_leaf() else INTERMEDIATE


def _grad_of(v: Value, frame: _Frame | None) -> float | None:
    if frame is None:
        return v.grad
    return frame.grads.get(v)


def _value_node(key: str, v: Value, namer: Namer, role: str, frame) -> _Node:
    if v.label:
        title, caption = v.label, ""
    elif v.is_leaf():
        title, caption = "", ""   # a constant: its data says it all
    else:
        title, caption = "", namer.name(v)
    return _Node(key, "value", title=title, caption=caption, data=v.data,
                 grad=_grad_of(v, frame), role=role)


def _edge_label(template: str, filled: str, local: float, options: _Options,
                operand: tuple | None) -> str | None:
    """``d/dw1 = x1 = 1.5``: which operand, the formula, the number (each part when it helps).

    ``operand`` is the (name, precedence) of the operand, None for a constant (no d/d part).
    """
    if not options.show_local_grads:
        return None
    parts = []
    if operand is not None:
        parts.append("d/" + Namer.d(operand))
    if options.exercise in ("local", "both"):
        return " = ".join(parts + [BLANK])
    if Namer.has_symbols(template):
        parts.extend(filled.split(" = "))
    parts.append(fmt(local))
    kept = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    return " = ".join(kept)


def _operand_name(namer: Namer, p: Value) -> tuple | None:
    return None if p.is_leaf() and not p.label else namer.named(p)


def _full_scene(scene, topo, namer, options, root, param_values, param_labels, frame) -> None:
    for k, v in enumerate(topo):
        key = f"v{k}"
        role = _role(v, root, param_values, param_labels)
        if v.is_leaf():
            scene.add(_value_node(key, v, namer, role, frame), v)
            continue
        if options.expand_linear and v.op is LINEAR and frame is None:
            _expanded_linear(scene, k, v, namer, options)
        else:
            _op_node(scene, f"op{k}", v, namer, options)
        scene.add(_value_node(key, v, namer, role, frame), v)
        scene.edges.append(_Edge(f"op{k}", key))


def _op_node(scene, op_key: str, v: Value, namer: Namer, options: _Options) -> None:
    """v's operation as a node, with an edge from each operand labelled d v / d operand."""
    scene.add(_Node(op_key, "op", text=v.op.name))
    operands = v.operands
    for i, (p, local) in enumerate(zip(operands, v.local_grads)):
        template = v.op.formula(i, len(operands))
        label = _edge_label(template, namer.formula(v, i), local, options,
                            _operand_name(namer, p))
        scene.edges.append(_Edge(scene.where[p][-1], op_key, label))


def _expanded_linear(scene, k: int, v: Value, namer: Namer, options: _Options) -> None:
    """z = sum_i w_i x_i + b drawn as n products and one sum, with the engine's MUL and SUM rules.

    The products are not in the graph, so their data, local derivatives (``MUL.local``) and
    gradients (dz/dp_i from ``SUM.local``, times z.grad) are read off the same rules backward
    uses.
    """
    operands = v.operands
    n = (len(operands) - 1) // 2
    bias = operands[-1]
    products = []   # (value key, op key, data, (name, precedence))
    for i in range(n):
        w, x = operands[i], operands[n + i]
        named = [namer.named(w), namer.named(x)]
        product = Namer.product(*named)
        data = w.data * x.data
        op_key = f"op{k}_p{i}"
        scene.add(_Node(op_key, "op", text=MUL.name))
        for j, (p, local) in enumerate(zip((w, x), MUL.local(w.data, x.data, data))):
            template = MUL.formula(j, 2)
            label = _edge_label(template, Namer.fill(template, named, product), local, options,
                                _operand_name(namer, p))
            scene.edges.append(_Edge(scene.where[p][-1], op_key, label))
        products.append((f"v{k}_p{i}", op_key, data, product))
    sum_locals = SUM.local([data for _, _, data, _ in products] + [bias.data], v.data)
    for (key, op_key, data, product), dz_dp in zip(products, sum_locals):
        scene.add(_Node(key, "value", caption=product[0], data=data, grad=v.grad * dz_dp))
        scene.edges.append(_Edge(op_key, key))
    scene.add(_Node(f"op{k}", "op", text="+"))
    summands = [(key, product) for key, _, _, product in products]
    summands.append((scene.where[bias][-1], _operand_name(namer, bias)))
    for i, ((src, operand), local) in enumerate(zip(summands, sum_locals)):
        template = SUM.formula(i, len(summands))
        label = _edge_label(template, template, local, options, operand)
        scene.edges.append(_Edge(src, f"op{k}", label))


# What a neuron of nn applies after its linear node: nn's activation names ("linear" there means
# none), which are also the names of the Value methods and of the engine Ops they record.
_ACTIVATIONS = frozenset(op.name for op in OPS if op.activation)


def _consumers(topo: list) -> dict:
    """value -> [(a value computed from it, the operand position)]."""
    consumers: dict = {}
    for v in topo:
        for i, p in enumerate(v.operands):
            consumers.setdefault(p, []).append((v, i))
    return consumers


def _neurons(topo: list, root: Value, consumers: dict | None = None) -> dict:
    """Each ``linear`` node, and the activation applied to it alone, -> the neuron's output."""
    consumers = _consumers(topo) if consumers is None else consumers
    neuron_of: dict = {}
    for v in topo:
        if v.op is not LINEAR:
            continue
        out = v
        users = consumers.get(v, [])
        if (len(users) == 1 and users[0][0].op is not None
                and users[0][0].op.name in _ACTIVATIONS and v is not root):
            out = users[0][0]
        neuron_of[v] = neuron_of[out] = out
    return neuron_of


def _collapsed_scene(scene, topo, namer, options, root, param_values, param_labels,
                     frame) -> None:
    """Each neuron (a ``linear`` node and the activation right after it) as one node.

    Its weights and bias are folded into it when nothing else uses them; neurons that read the
    same inputs are boxed together as a layer.
    """
    index = {v: k for k, v in enumerate(topo)}
    consumers = _consumers(topo)
    neuron_of = _neurons(topo, root, consumers)
    folded: set = set()
    for v in topo:
        users = consumers.get(v, [])
        if v.is_leaf() and users and all(
                u.op is LINEAR and (i < (len(u.operands) - 1) // 2 or i == len(u.operands) - 1)
                for u, i in users):
            folded.add(v)
    layers: dict = {}
    for v in topo:
        if v in folded:
            continue
        key = f"v{index[v]}"
        if v in neuron_of:
            out = neuron_of[v]
            if v is not out:
                continue        # the linear part: drawn with its activation
            linear = v if v.op is LINEAR else v.operands[0]
            n = (len(linear.operands) - 1) // 2
            inputs = linear.operands[n:2 * n]
            activation = "" if out is linear else out.op.name
            text = f"{activation}(w.x + b)" if activation else "w.x + b"
            layer = layers.setdefault(tuple(index[x] for x in inputs), f"layer{len(layers) + 1}")
            node = _Node(key, "neuron", title=out.label, caption=namer.name(out),
                         text=f"{text}, {n} inputs",
                         data=out.data, grad=_grad_of(out, frame), role=NEURON, cluster=layer)
            scene.add(node, out)
            scene.where.setdefault(linear, []).append(key)
            for w in linear.operands[:n] + linear.operands[-1:]:
                if w in folded:
                    scene.where.setdefault(w, []).append(key)
            for x in inputs:
                scene.edges.append(_Edge(scene.where[x][-1], key))
            continue
        role = _role(v, root, param_values, param_labels)
        if not v.is_leaf():
            _op_node(scene, f"op{index[v]}", v, namer, options)
        scene.add(_value_node(key, v, namer, role, frame), v)
        if not v.is_leaf():
            scene.edges.append(_Edge(f"op{index[v]}", key))


# -------------------------------------------------------------------------------------------------
# Shapes that make the layout slow

# The layout program's work grows with the total length of the edges, counted in ranks (columns
# with rankdir=LR): an edge spanning k ranks is routed through k - 1 hidden points. x+x+...+x over
# 241 values spans about 58,000 ranks and takes minutes; past this budget, the longest edges are
# cut (see _keep_layout_fast). A drawing of a few hundred values spans a few hundred ranks.
SPAN_BUDGET = 1000


def _keep_layout_fast(scene: _Scene) -> None:
    """Make the scene cheap to lay out, without changing what it says.

    - Parallel edges (the same operand twice, as in ``x*x``) are drawn once, their labels
      joined and counted: ``d/dx = x = 3 (×2)``.
    - While the edges span more than ``SPAN_BUDGET`` ranks in total, the longest one is cut:
      its source is drawn again beside its destination, titled "<name> (again)", with the
      same data and grad.
    """
    merged: dict = {}
    for edge in scene.edges:
        merged.setdefault((edge.src, edge.dst), []).append(edge)
    scene.edges = [_merge(group) for group in merged.values()]
    rank: dict = {}
    incoming: dict = {}
    for edge in scene.edges:
        incoming.setdefault(edge.dst, []).append(edge.src)
    for key in scene.nodes:     # drawing order: sources before the nodes they feed
        rank[key] = 1 + max((rank[src] for src in incoming.get(key, ())), default=-1)
    first_reader: dict = {}     # the layout puts a source just before its first reader
    for edge in scene.edges:
        if edge.src not in incoming:
            first_reader[edge.src] = min(first_reader.get(edge.src, rank[edge.dst]),
                                         rank[edge.dst])
    for key, reader in first_reader.items():
        rank[key] = reader - 1
    spans = sorted(((rank[e.dst] - rank[e.src], i) for i, e in enumerate(scene.edges)),
                   reverse=True)
    total = sum(span for span, _ in spans)
    key_of = {key: value for value, keys in scene.where.items() for key in keys}
    for span, i in spans:
        if total <= SPAN_BUDGET or span <= 1:
            break
        edge = scene.edges[i]
        original = scene.nodes[edge.src]
        copy = _Node(f"{edge.src}_again{i}", original.kind,
                     title=f"{original.title or original.caption or fmt(original.data)} (again)",
                     data=original.data, grad=original.grad, role=original.role,
                     text=original.text, cluster=original.cluster)
        scene.add(copy, key_of.get(edge.src))
        edge.src = copy.key
        total -= span - 1


def _merge(edges: list) -> _Edge:
    """One edge for the parallel ``edges``: each distinct label once, with how often it occurs."""
    if len(edges) == 1:
        return edges[0]
    counts: dict = {}
    for edge in edges:
        counts[edge.label or ""] = counts.get(edge.label or "", 0) + 1
    label = "; ".join(f"{text} (×{n})" if text and n > 1 else (text or f"×{n}")
                      for text, n in counts.items())
    return _Edge(edges[0].src, edges[0].dst, label, edges[0].tooltip)


# -------------------------------------------------------------------------------------------------
# Highlighting: every path from the root down to one value


def _resolve(highlight, root: Value, scene: _Scene) -> list:
    if isinstance(highlight, str):
        highlight = find_by_label(root, highlight)
    if not isinstance(highlight, Value):
        raise TypeError(f"highlight must be a Value or a label, got {type(highlight).__name__}")
    keys = scene.where.get(highlight)
    if not keys:
        raise ValueError(f"highlight: {highlight!r} is not part of this graph")
    return keys


def _paths_to(scene: _Scene, start: list) -> set:
    """Keys of the nodes on some path from the root down to the start keys.

    Every node of the drawing feeds the root, so these are the nodes the start feeds.
    """
    forward: dict = {}
    for e in scene.edges:
        forward.setdefault(e.src, []).append(e.dst)
    seen = set(start)
    stack = list(start)
    while stack:
        for nxt in forward.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# -------------------------------------------------------------------------------------------------
# DOT


def _cell(text: str, ink: str, bold: bool = False, italic: bool = False, attrs: str = "") -> str:
    body = html.escape(text)
    if bold:
        body = f"<B>{body}</B>"
    if italic:
        body = f"<I>{body}</I>"
    return f'<TD{attrs}><FONT COLOR="{ink}">{body}</FONT></TD>'


def _value_label(node: _Node, options: _Options, dim: bool, blank_grad: bool,
                 received: bool, frame_colour: str | None = None) -> str:
    """The box of a value: an HTML table; arrows arrive at the ``data`` cell and leave from
    the last cell of that row (ports "in" and "out"), so they never cross the label row.
    ``frame_colour`` draws a thick outer frame (highlighted or being processed)."""
    ink = DIM_INK if dim else INK
    fill = DIM_FILL if dim else ROLE_COLORS[node.role]
    rows = []
    columns = 2 if options.show_grads else 1
    span = f' COLSPAN="{columns}"'
    if node.title:
        rows.append(_cell(node.title, ink, bold=True, attrs=span))
    elif node.caption:
        rows.append(_cell(node.caption, DIM_INK if dim else GREY, italic=True, attrs=span))
    if node.kind == "neuron":
        rows.append(_cell(node.text, ink, attrs=span))
    if options.show_grads:
        grad = BLANK if blank_grad or node.grad is None else fmt(node.grad)
        cells = (_cell(f"data {fmt(node.data)}", ink, attrs=' PORT="in"')
                 + _cell(f"grad {grad}", CURRENT if received else ink, bold=received,
                         attrs=' PORT="out"'))
    else:
        cells = _cell(f"data {fmt(node.data)}", ink, attrs=' PORT="in"')
    rows.append(cells)
    border = DIM_INK if dim else "#555555"
    table = "".join(f"<TR>{r}</TR>" for r in rows)
    table = (f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" '
             f'BGCOLOR="{fill}" COLOR="{border}">{table}</TABLE>')
    if frame_colour:
        table = (f'<TABLE BORDER="3" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" '
                 f'COLOR="{frame_colour}"><TR><TD>{table}</TD></TR></TABLE>')
    return f"<{table}>"


def _legend_label(roles: list, options: _Options) -> str:
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']
    for role in roles:
        rows.append(f'<TR><TD BGCOLOR="{ROLE_COLORS[role]}" WIDTH="18"> </TD>'
                    f'<TD ALIGN="LEFT">{html.escape(role)}</TD></TR>')
    rows.append(f'<TR><TD BGCOLOR="{OP_COLOR}">op</TD>'
                f'<TD ALIGN="LEFT">operation</TD></TR>')
    if options.show_local_grads:
        rows.append('<TR><TD>d/dx = ...</TD><TD ALIGN="LEFT">on an arrow: local derivative '
                    'd out / d in</TD></TR>')
    if options.show_grads:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">grad of a box = sum over paths from the '
                    'output<BR ALIGN="LEFT"/>of the product of the labels along the path'
                    '<BR ALIGN="LEFT"/></TD></TR>')
    table = "".join(rows)
    return (f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="#999999">{table}</TABLE>>')


def _emit(scene: _Scene, options: _Options, on_path: set | None, frame: _Frame | None,
          root_key: str) -> Diagram:
    graph = Diagram(name="chain_rule", format="svg")
    graph.attr(rankdir=options.rankdir, fontname=FONT, nodesep="0.18",
               ranksep="0.7" if options.collapse else "0.35", bgcolor="white")
    graph.attr("node", fontname=FONT, fontsize="11")
    graph.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.6", color="#444444")

    current_keys, received_keys = set(), set()
    if frame is not None:
        if frame.current is not None:
            current_keys = set(scene.where.get(frame.current, ()))
        for v in frame.received:
            received_keys.update(scene.where.get(v, ()))
    current_ops = {"op" + k[1:] for k in current_keys if k.startswith("v")}

    def dim(key: str) -> bool:
        if on_path is not None:
            return key not in on_path
        if frame is not None:
            node = scene.nodes[key]
            return node.kind != "op" and node.grad is None
        return False

    blank_grads = options.exercise in ("grads", "both")
    # arrows leave a box on the side facing the flow and enter on the opposite side
    leave, enter = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"),
                    "BT": ("n", "s")}[options.rankdir]
    clusters: dict = {}
    for node in scene.nodes.values():
        if node.cluster:
            clusters.setdefault(node.cluster, []).append(node)
    emitted_clusters = set()

    def emit_node(target, node: _Node) -> None:
        dimmed = dim(node.key)
        if node.kind == "op":
            hot = node.key in current_ops
            ink = DIM_INK if dimmed else INK
            target.node(node.key, label=f'<<FONT COLOR="{ink}">{html.escape(node.text)}</FONT>>',
                        shape="ellipse", style="filled",
                        fillcolor=CURRENT if hot else (DIM_FILL if dimmed else OP_COLOR),
                        color=DIM_INK if dimmed else "#777777", width="0.3", height="0.3",
                        margin="0.04")
            return
        blank = blank_grads and node.key != root_key
        frame_colour = None
        if node.key in current_keys:
            frame_colour = CURRENT
        elif on_path is not None and node.key in on_path and not dimmed:
            frame_colour = HIGHLIGHT
        label = _value_label(node, options, dimmed, blank, node.key in received_keys,
                             frame_colour)
        target.node(node.key, label=label, shape="plain", margin="0")

    for node in scene.nodes.values():
        if node.cluster:
            if node.cluster in emitted_clusters:
                continue
            emitted_clusters.add(node.cluster)
            with graph.subgraph(name=f"cluster_{node.cluster}") as box:
                box.attr(label=node.cluster.replace("layer", "layer "), style="rounded",
                         color="#9b87c1", fontname=FONT, fontsize="10")
                for member in clusters[node.cluster]:
                    emit_node(box, member)
            continue
        emit_node(graph, node)

    for edge in scene.edges:
        attrs = {}
        if edge.label is not None:
            # a padded cell keeps the text off the line it labels
            attrs["label"] = (f'<<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="3">'
                              f'<TR><TD>{html.escape(edge.label)}</TD></TR></TABLE>>')
        if on_path is not None:
            if edge.src in on_path and edge.dst in on_path:
                attrs.update(color=HIGHLIGHT, penwidth="2.2", fontcolor=HIGHLIGHT)
            else:
                attrs.update(color=DIM_INK, fontcolor=DIM_INK)
        elif frame is not None and edge.dst in current_ops:
            attrs.update(color=CURRENT, penwidth="2.2", fontcolor=CURRENT, dir="back")
        tail = f"{edge.src}:out:{leave}" if scene.nodes[edge.src].kind != "op" else edge.src
        head = edge.dst
        if scene.nodes[edge.dst].kind != "op":
            # across the flow (LR) the data cell's outer side is the box's; along it (TB) the
            # data cell sits under the label row, so arrows enter the box itself
            head = f"{edge.dst}:in:{enter}" if enter in "we" else f"{edge.dst}:{enter}"
        graph.edge(tail, head, **attrs)

    if options.legend:
        roles = [r for r in (INPUT, PARAMETER, INTERMEDIATE, OUTPUT, NEURON)
                 if any(n.role == r and n.kind != "op" for n in scene.nodes.values())]
        with graph.subgraph(name="legend_rank") as corner:
            corner.attr(rank="sink")
            corner.node("legend", label=_legend_label(roles, options), shape="plain",
                        fontsize="9")
    return graph
