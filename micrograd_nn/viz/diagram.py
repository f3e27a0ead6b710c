"""Chain-rule diagrams: every arrow carries its local derivative, or the gradient it passes back.

A reader multiplies the edge labels along a path from the output down to a value, adds over
paths, and gets the gradient printed in that value's box. With ``edge_labels="flow"`` each arrow
shows instead what backward sends along it (gradient above x local derivative = contribution),
and a value used twice shows its contributions and their sum. The numbers are the engine's
``Value.local_grads`` and the formulas its ``Op.formula`` templates; nothing here differentiates.

Layout of a drawing (``draw_graph``):

* a box per value: its name (or, in grey, the expression that made it), ``data`` (green) and
  ``grad`` (red), coloured by role: input or constant, parameter, intermediate, output;
* a small ellipse per operation, joined to its result by a bare arrow;
* an arrow from each operand to the operation, labelled ``dz/dw1 = x1 = 1.5`` (local) and/or
  ``-0.1256 x 1.5 = -0.1884`` (flow); dashed grey where nothing flows back;
* a legend with a row for every colour used.

The DOT text depends only on the graph: node ids come from the topological order
(``v<k>`` for the k-th value, ``op<k>`` for the operation that made it), never from ``id()``.
"""

from __future__ import annotations

import dataclasses
import re

from ..engine import LINEAR, MUL, SUM, Value
from .dot import emit
from .naming import (FACTOR_DIGITS, MAX_DIGITS, Namer, consistent_digits, drawing_order,
                     find_by_label, fmt, sum_agrees)
from .network import draw_network
from . import rendering
from .rendering import Diagram
from .scene import (CURRENT, DEFAULT_MAX_EDGES, DEFAULT_MAX_NODES, EDGE_LABELS, EXERCISES,
                    HIGHLIGHT, INPUT, INTERMEDIATE, NEURON, OUTPUT, PARAMETER, PRESETS,
                    ROLE_COLORS, Edge, Frame, Node, Options, Scene)
from .structure import Structure

__all__ = ["draw_graph", "render", "pipe", "DEFAULT_MAX_NODES", "DEFAULT_MAX_EDGES", "EXERCISES", "EDGE_LABELS",
           "ROLE_COLORS", "HIGHLIGHT", "CURRENT", "DiagramTooLarge"]


class DiagramTooLarge(ValueError):
    """A graph with more values or arrows than a readable drawing holds.

    ``values``, ``edges``, ``max_nodes``, ``max_edges`` and ``collapsed`` (whether the collapsed
    view was tried) let a caller word its own advice (the command line names its options).
    """

    def __init__(self, message: str, *, values: int, edges: int, max_nodes: int,
                 max_edges: int, collapsed: bool):
        super().__init__(message)
        self.values, self.edges, self.collapsed = values, edges, collapsed
        self.max_nodes, self.max_edges = max_nodes, max_edges


def draw_graph(root, *, edge_labels: str = "local", rankdir: str | None = None,
               show_local_grads: bool = True, show_grads: bool = True,
               highlight: Value | str | None = None, params=None,
               max_nodes: int = DEFAULT_MAX_NODES, max_edges: int = DEFAULT_MAX_EDGES,
               collapse: bool = False, focus=None, expand_linear: bool = False,
               exercise: str | None = None, answer_key: bool = False,
               preset: str | None = None, legend: bool | None = None,
               paths_only: bool = False) -> Diagram:
    """The chain-rule diagram of everything ``root`` depends on, as a ``graphviz.Digraph``.

    - ``edge_labels``: "local" (default: the local derivative d out / d in, ``dz/dw1 = x1 =
      1.5``, so d root / d v = sum over paths of the product of the labels, the chain rule as
      the tutorial writes it), "flow" (the gradient each arrow carries back, ``-0.1256 x 1.5 =
      -0.1884``, with the contributions a value adds up written in its box) or "both".
    - ``rankdir``: "LR" (left to right, the default) or "TB" (top to bottom).
    - ``show_local_grads`` / ``show_grads``: print the local derivatives / the gradients.
    - ``highlight``: a Value (or a label) whose paths to ``root`` are drawn bold, the rest
      dimmed; under it, each path's product of local derivatives and their sum.
      ``paths_only=True`` draws those paths alone (the compact path view).
    - ``params``: the parameters, to colour them (a Module, Values, or labels). By default
      the weights and bias of a neuron's linear node; never guessed from a label (see
      ``structure``).
    - ``max_nodes`` / ``max_edges``: past this many values or arrows, DiagramTooLarge (a
      ValueError) that points at ``collapse=True`` (each neuron drawn as one node, each layer and
      each sample boxed) and ``draw_network(model)``.
    - ``focus``: parameters (Values or labels) drawn apart in the collapsed view, with an arrow to
      every neuron that uses them: each sample's contribution, and their sum, the gradient.
    - ``expand_linear``: draw each fused ``Value.linear`` node as its products and one sum.
    - ``exercise``: a worksheet with blanks for the "grads", the "local" derivatives, or "both";
      ``answer_key=True`` fills them in, on the same layout. A worksheet is laid out for a
      printed page: top to bottom, all text 11 pt, each operation beside its result (the seed
      neuron's prints at 11 pt on a page 6.5 in wide), no legend unless ``legend=True``.
    - ``preset="slide"``: a 16:9 picture, top to bottom, large type (at least 24 px when the
      seed neuron is fitted to 1920x1080, whatever ``edge_labels``), each arrow's label in its
      operation's box, no legend unless ``legend=True``.
    - ``legend``: a legend of what the picture holds (default: yes, but on a slide or a
      worksheet).

    A model (an object with ``.layers``) instead of a Value is drawn by ``draw_network``.
    The result displays in Jupyter and renders with ``render(graph, "x.svg" | "x.png" | "x.dot")``.
    """
    if not isinstance(root, Value) and hasattr(root, "layers"):
        return draw_network(root, rankdir=rankdir or "LR", max_nodes=max_nodes)
    options = make_options(rankdir=rankdir, edge_labels=edge_labels, preset=preset,
                           show_local_grads=show_local_grads, show_grads=show_grads,
                           exercise=exercise, answer_key=answer_key,
                           expand_linear=expand_linear, collapse=collapse or focus is not None,
                           legend=legend, paths_only=paths_only)
    if paths_only and highlight is None:
        raise ValueError("paths_only=True draws the paths from the output to a value: pass "
                         "highlight= too")
    _check_size(max_nodes, "max_nodes")
    _check_size(max_edges, "max_edges")
    return draw(root, options, max_nodes=max_nodes, max_edges=max_edges, highlight=highlight,
                params=params, focus=focus)


def render(graph, path, *, format: str | None = None, timeout: float | None = None):
    """``rendering.render`` (write .svg, .png or .dot) for a graph, DOT text, or a Value drawn
    with ``draw_graph``'s defaults."""
    return rendering.render(_drawn(graph), path, format=format, timeout=timeout)


def pipe(graph, format: str = "svg", *, timeout: float | None = None) -> bytes:
    """``rendering.pipe`` (the picture's bytes) for a graph, DOT text, or a Value drawn with
    ``draw_graph``'s defaults."""
    return rendering.pipe(_drawn(graph), format, timeout=timeout)


def _drawn(graph):
    return draw_graph(graph) if isinstance(graph, Value) else graph


def _check_size(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _choice(value, choices: tuple, name: str, none: bool = False):
    if (value is None and none) or value in choices:
        return value
    allowed = ", ".join(map(repr, choices))
    raise ValueError(f"{name} must be {'None or ' if none else ''}one of {allowed}, "
                     f"got {value!r}")


def _switch(value, name: str) -> None:
    """TypeError unless value is True or False (None too for ``legend``, its default)."""
    if isinstance(value, bool) or (value is None and name == "legend"):
        return
    accepted = ("True, False or None (a legend except on a slide or a worksheet)"
                if name == "legend" else "True or False")
    raise TypeError(f"{name} must be {accepted}, got {value!r}")


def _check_blanks(exercise, edge_labels: str, flags: dict) -> None:
    """ValueError when a worksheet's options show none of what its exercise blanks."""
    arrows = flags.get("show_local_grads", True)
    local = arrows and edge_labels != "flow"                 # local derivatives on arrows
    grads = flags.get("show_grads", True)            # in the boxes (and flows on arrows)
    if exercise == "local" and not local:
        why = ("edge_labels='flow' does not show" if arrows else
               "show_local_grads=False leaves out")
        raise ValueError(f"exercise='local' blanks the local derivatives on the arrows, which "
                         f"{why}: use edge_labels='local' or 'both', with show_local_grads=True")
    if exercise == "grads" and not grads:
        raise ValueError("exercise='grads' blanks the grads in the boxes, which "
                         "show_grads=False leaves out: use show_grads=True")
    if exercise == "both" and not (local or grads):
        raise ValueError("exercise='both' blanks the grads and the arrows' labels, which "
                         "show_grads=False and show_local_grads=False leave out")


def make_options(*, rankdir=None, edge_labels="local", preset=None, exercise=None,
                 answer_key=False, fixed=False, **flags) -> Options:
    """Checked drawing options; ``flags`` are the boolean switches of ``Options``."""
    _choice(preset, PRESETS, "preset", none=True)
    _choice(rankdir, ("LR", "TB", "RL", "BT"), "rankdir", none=True)
    for name, value in [("answer_key", answer_key), *flags.items()]:
        _switch(value, name)
    page = exercise is not None         # a worksheet is printed: one column down the page
    if rankdir is None:
        rankdir = "TB" if preset == "slide" or page else "LR"
    _choice(edge_labels, EDGE_LABELS, "edge_labels")
    _choice(exercise, EXERCISES, "exercise", none=True)
    if answer_key and exercise is None:
        raise ValueError("answer_key=True fills in the blanks of a worksheet: pass exercise= too")
    _check_blanks(exercise, edge_labels, flags)
    slide = preset == "slide"
    if flags.get("legend") is None:     # a slide or a page has no room for one
        flags["legend"] = not (slide or page)
    return Options(rankdir=rankdir, edge_labels=edge_labels, exercise=exercise,
                   answer_key=bool(answer_key), fixed=fixed or exercise is not None,
                   font_size=22 if slide else 11, compact_legend=slide, page=page,
                   **{k: bool(v) for k, v in flags.items()})


def _too_large(values: int, edges: int, max_nodes: int, max_edges: int,
               collapsed: bool) -> DiagramTooLarge:
    sizes = f"{values} values and {edges} arrows"
    limits = f"max_nodes={max_nodes}, max_edges={max_edges}"
    if collapsed:
        advice = ("draw one sample's graph, draw_network(model) for the whole network, or "
                  "raise max_nodes / max_edges")
        message = f"even with each neuron collapsed into one node the graph has {sizes}"
    else:
        advice = ("draw_graph(..., collapse=True) draws each neuron as one node (the collapsed "
                  "view), draw_network(model) a whole MLP; or raise max_nodes / max_edges to "
                  "draw every value anyway")
        message = f"the graph of this value has {sizes}"
    return DiagramTooLarge(f"{message}, more than {limits}: a drawing that big is unreadable "
                           f"and slow to lay out. {advice}", values=values, edges=edges,
                           max_nodes=max_nodes, max_edges=max_edges, collapsed=collapsed)


def draw(root: Value, options: Options, *, max_nodes: int = DEFAULT_MAX_NODES,
         max_edges: int = DEFAULT_MAX_EDGES, highlight=None, params=None, focus=None,
         frame: Frame | None = None) -> Diagram:
    """``draw_graph`` with checked options; ``frame``: a step of a backward trace."""
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value (or a model with .layers), "
                        f"got {type(root).__name__}")
    topo = drawing_order(root)
    n_edges = sum(len(v.operands) for v in topo)
    if (len(topo) > max_nodes or n_edges > max_edges) and not options.collapse:
        raise _too_large(len(topo), n_edges, max_nodes, max_edges, collapsed=False)
    structure = Structure(topo, root, _parameters(params))
    namer = Namer(topo, structure=structure)
    final = dict(frame.final) if frame is not None and frame.final is not None else \
        {v: v.grad for v in topo}
    # the checks compare with d root / d v, which the boxes hold once backward has run
    ran = final.get(root) == 1.0
    digits = consistent_digits(topo, final, paths=ran and options.local,
                               flows=ran and options.flow)
    build = _Build(Scene(), namer, options, root, structure, frame, final)
    if options.collapse:
        build.collapsed(topo, _focus(focus, root))
        scene = build.scene
        drawn = sum(1 for n in scene.nodes.values() if n.kind != "op")
        if drawn > max_nodes or len(scene.edges) > max_edges:
            raise _too_large(drawn, len(scene.edges), max_nodes, max_edges, collapsed=True)
    else:
        build.full(topo)
    scene = build.scene
    digits = _fork_digits(scene, options, digits)
    # a reader compares numbers of 4 to 6 digits; past that, the last digit may not agree
    options = dataclasses.replace(options, digits=min(digits, DIAGRAM_DIGITS),
                                  rounded=digits > DIAGRAM_DIGITS)
    _keep_layout_fast(scene)
    on_path = None
    if highlight is not None:
        start = _resolve(highlight, root, scene)
        on_path = _paths_to(scene, start)
        target = find_by_label(root, highlight) if isinstance(highlight, str) else highlight
        if frame is None and final.get(root) == 1.0 and target is not root:
            scene.nodes[start[-1]].notes = path_products(root, target)
        if options.paths_only:          # the compact path view: nothing off the paths
            scene.nodes = {k: n for k, n in scene.nodes.items() if k in on_path}
            scene.edges = [e for e in scene.edges if e.src in on_path and e.dst in on_path]
            scene.slots = {k: slot for k, slot in scene.slots.items() if k in on_path}
    return emit(scene, options, on_path, frame, root_key=scene.where[root][-1])


DIAGRAM_DIGITS = 4     # results printed with at most 4 significant digits, factors with 6


def _fork_digits(scene: Scene, options: Options, digits: int) -> int:
    """Raise ``digits`` until every box's printed contributions add up to its printed grad."""
    if not options.flow:
        return digits
    parts: dict = {}
    for edge in scene.edges:
        if edge.local is not None and not edge.quiet and edge.contribution is not None:
            parts.setdefault(edge.src, []).extend(edge.contributions)
    forks = [(scene.nodes[k].grad, p) for k, p in parts.items()
             if len(p) > 1 and scene.nodes[k].grad is not None]
    while digits < MAX_DIGITS and not all(
            sum_agrees([float(fmt(c, digits + FACTOR_DIGITS)) for c in p], g, digits)
            for g, p in forks):
        digits += 1
    return digits


# -------------------------------------------------------------------------------------------------
# Building the scene


def _parameters(params) -> tuple | None:
    """None (recognise them), or the (Values, labels) given."""
    if params is None:
        return None
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


def _focus(focus, root: Value) -> list:
    if focus is None:
        return []
    items = [focus] if isinstance(focus, (Value, str)) else list(focus)
    found = []
    for item in items:
        if isinstance(item, str):
            item = find_by_label(root, item)
        if not isinstance(item, Value):
            raise TypeError(f"focus must be Values or labels, got {type(item).__name__}")
        found.append(item)
    return found


class _Build:
    """Fills a scene with the nodes and arrows of one graph."""

    def __init__(self, scene: Scene, namer: Namer, options: Options, root: Value,
                 structure: Structure, frame: Frame | None, final: dict):
        self.scene, self.namer, self.options, self.root = scene, namer, options, root
        self.structure, self.frame, self.final = structure, frame, final

    def role(self, v: Value) -> str:
        if v is self.root or v is self.structure.alias.get(self.root):
            return OUTPUT
        if v in self.structure.parameters:
            return PARAMETER
        return INPUT if v.is_leaf() else INTERMEDIATE

    def grad(self, v: Value) -> float | None:
        return v.grad if self.frame is None else self.frame.grads.get(v)

    def upstream(self, v: Value) -> float | None:
        """d root / d v once v has passed its gradient on (in a trace: after its step)."""
        if self.frame is None:
            return v.grad
        return self.frame.grads.get(v) if v in self.frame.done else None

    def value_node(self, key: str, v: Value) -> Node:
        root = self.root
        if root.label and self.structure.alias.get(root) is v:   # the output, 1*v, drawn as v
            title, caption = root.label, ""
        elif v.label:
            title, caption = self.namer.name(v), ""
        elif v in self.structure.targets:       # an unlabelled target: y
            title, caption = self.namer.short(v), ""
        elif v.is_leaf():
            title, caption = "", "constant"
        else:
            title, caption = "", self.namer.name(v)
        return Node(key, "value", title=title, caption=caption, data=v.data, grad=self.grad(v),
                    final_grad=self.final.get(v), role=self.role(v))

    def arrow(self, src: str, dst: str, v: Value, i: int, p: Value, local: float) -> Edge:
        """The arrow operand p (operand i of v) -> v's operation."""
        named = self.namer.named
        template = v.op.formula(i, len(v.operands))
        formula = self.namer.formula(v, i) if Namer.has_symbols(template) else ""
        return Edge(src, dst, derivative=f"{Namer.d(named(v))}/{Namer.d(named(p))}",
                    formula=formula, local=local, upstream=self.upstream(v),
                    final_upstream=self.final.get(v))

    def full(self, topo: list) -> None:
        scene, structure = self.scene, self.structure
        for k, v in enumerate(topo):
            if structure.hidden(v):
                if v in structure.alias:    # drawn as the value it equals
                    scene.where[v] = scene.where[structure.alias[v]]
                continue
            key = f"v{k}"
            if not v.is_leaf():
                if self.options.expand_linear and v.op is LINEAR and self.frame is None:
                    self.expanded_linear(k, v)
                else:
                    self.op_node(f"op{k}", v)
            scene.add(self.value_node(key, v), v)
            if not v.is_leaf():
                scene.edges.append(Edge(f"op{k}", key))
        # a constant 1 that only identities used feeds nothing drawn
        feeding = {e.src for e in scene.edges} | {scene.where[self.root][-1]}
        for key in [k for k, n in scene.nodes.items() if n.kind == "value" and k not in feeding]:
            del scene.nodes[key]
        # on several samples, only when every neuron belongs to one of them
        if len(structure.neurons) > 1 and (structure.n_samples < 2 or
                                           all(n.sample for n in structure.neurons)):
            self.neuron_slots(topo)

    def neuron_slots(self, topo: list) -> None:
        """``scene.slots``: each neuron's parameters (those it alone reads, w1, w2, ..., b),
        operations and values, by sample, layer and index (s2.L2.N3: 2, 2, 3), then place, so
        that the drawing keeps samples and neurons in order. The parameters that the samples'
        copies of one neuron share are slotted by sample 0: they get a column of their own."""
        scene, structure = self.scene, self.structure
        index = {v: k for k, v in enumerate(topo)}
        place: dict = {}        # the neurons of each layer and sample, numbered in drawing order
        for neuron in structure.neurons:
            numbered = re.fullmatch(r".*N(\d+)", neuron.name)
            sample = neuron.sample or 1
            place[neuron] = (sample, neuron.layer, int(numbered.group(1)) if numbered else
                             1 + sum(p[:2] == (sample, neuron.layer) for p in place.values()))
        copies: dict = {}       # (layer, index) -> the linear nodes of the neuron's copies
        for neuron, (_, layer, number) in place.items():
            copies.setdefault((layer, number), set()).add(neuron.linear)
        for neuron, (sample, layer, number) in place.items():
            own, shared = [], []
            for p in neuron.weights:
                if p.is_leaf() and p in structure.parameters:
                    readers = {u for u, _ in structure.consumers[p]}
                    if readers == {neuron.linear}:
                        own.append(scene.where[p][-1])
                    elif readers <= copies[layer, number]:
                        shared.append(scene.where[p][-1])
            keys = own
            for v in (neuron.linear, neuron.out):
                k = index[v]
                keys += [key for key in scene.nodes if key.startswith((f"op{k}_", f"v{k}_"))]
                keys += [f"op{k}", f"v{k}"]
            for order, key in enumerate(dict.fromkeys(keys)):
                if key in scene.nodes:
                    scene.slots[key] = (sample, layer, number, order)
            for order, key in enumerate(shared):
                if key in scene.nodes:
                    scene.slots[key] = (0, layer, number, order)

    def op_node(self, op_key: str, v: Value) -> None:
        """v's operation as a node, with an arrow from each operand."""
        # a linear node that is no neuron's (no bias): a dot product
        dot = v.op is LINEAR and v not in self.structure.neuron_of
        self.scene.add(Node(op_key, "op", text="dot" if dot else v.op.name))
        for i, (p, local) in enumerate(zip(v.operands, v.local_grads)):
            if self.structure.silent_bias(p):
                continue
            self.scene.edges.append(self.arrow(self.scene.where[p][-1], op_key, v, i, p, local))

    def expanded_linear(self, k: int, v: Value) -> None:
        """z = sum_i w_i x_i + b drawn as n products and one sum, with the engine's MUL and SUM
        rules: the products are not in the graph, so their data, local derivatives and
        gradients (dz/dp_i from ``SUM.local``, times z.grad) are read off the rules backward
        uses."""
        scene, namer, operands = self.scene, self.namer, v.operands
        n = (len(operands) - 1) // 2
        products = []   # (value key, (name, precedence))
        datas = [operands[i].data * operands[n + i].data for i in range(n)] + [operands[-1].data]
        sum_locals = SUM.local(datas, v.data)
        for i in range(n):
            w, x = operands[i], operands[n + i]
            named = [namer.named(w), namer.named(x)]
            product = Namer.product(*named)
            data = datas[i]
            scene.add(Node(f"op{k}_p{i}", "op", text=MUL.name))
            upstream = v.grad * sum_locals[i]
            for j, (p, local) in enumerate(zip((w, x), MUL.local(w.data, x.data, data))):
                template = MUL.formula(j, 2)
                scene.edges.append(Edge(
                    scene.where[p][-1], f"op{k}_p{i}",
                    derivative=f"{Namer.d(product)}/{Namer.d(named[j])}",
                    formula=Namer.fill(template, named, product), local=local,
                    upstream=upstream))
            scene.add(Node(f"v{k}_p{i}", "value", caption=product[0], data=data, grad=upstream))
            scene.edges.append(Edge(f"op{k}_p{i}", f"v{k}_p{i}"))
            products.append((f"v{k}_p{i}", product))
        scene.add(Node(f"op{k}", "op", text="+"))
        summands = products + [(scene.where[operands[-1]][-1], namer.named(operands[-1]))]
        for (src, operand), local in zip(summands, sum_locals):
            scene.edges.append(Edge(src, f"op{k}", local=local, upstream=v.grad,
                                    derivative=f"{Namer.d(namer.named(v))}/{Namer.d(operand)}"))

    def collapsed(self, topo: list, focus: list) -> None:
        """Each neuron (a ``linear`` node and the activation right after it) as one node.

        Its weights and bias are folded into it when nothing else uses them (and they are not
        in ``focus``); a neuron sits in a box for its layer (numbered like the model's layers),
        inside a box for its sample when the graph holds several.
        """
        structure, scene = self.structure, self.scene
        index = {v: k for k, v in enumerate(topo)}
        folded = {v for v in structure.parameters if v not in focus
                  and all(structure.neuron_of.get(u) is not None and u.op is LINEAR
                          for u, _ in structure.consumers.get(v, []))}
        for v in topo:
            neuron = structure.neuron_of.get(v)
            if v in folded or (neuron is not None and v is not neuron.out):
                continue        # drawn inside its neuron
            if structure.silent_bias(v):
                continue
            key = f"v{index[v]}"
            if neuron is not None:
                self.neuron_node(key, neuron, folded)
                continue
            if not v.is_leaf():
                self.op_node(f"op{index[v]}", v)
            node = self.value_node(key, v)
            sample = structure.sample(v)
            if sample is not None and v.is_leaf():
                node.title = self.namer.short(v)
                node.cluster = ((f"sample{sample}", f"sample {sample}"),)
            scene.add(node, v)
            if not v.is_leaf():
                scene.edges.append(Edge(f"op{index[v]}", key))

    def neuron_node(self, key: str, neuron, folded: set) -> None:
        out, linear, scene = neuron.out, neuron.linear, self.scene
        activation = "" if out is linear else out.op.name
        text = f"{activation}(w.x + b)" if activation else "w.x + b"
        cluster = ((f"layer{neuron.layer}", f"layer {neuron.layer}"),)
        if neuron.sample is not None:
            cluster = ((f"sample{neuron.sample}", f"sample {neuron.sample}"),
                       (f"sample{neuron.sample}_layer{neuron.layer}", f"layer {neuron.layer}"))
        scene.add(Node(key, "neuron", title=out.label or self.namer.short(out),
                       text=f"{text}, {neuron.width} inputs", data=out.data,
                       grad=self.grad(out), final_grad=self.final.get(out), role=NEURON,
                       cluster=cluster), out)
        scene.where.setdefault(linear, []).append(key)
        # d out / d operand through the neuron: the activation's slope times dz/d operand
        slope = 1.0 if out is linear else out.local_grads[0]
        for i, (p, local) in enumerate(zip(linear.operands, linear.local_grads)):
            if p in folded:
                scene.where.setdefault(p, []).append(key)
                continue
            named = self.namer.named
            scene.edges.append(Edge(
                scene.where[p][-1], key, local=slope * local, upstream=self.upstream(out),
                final_upstream=self.final.get(out), quiet=p not in self.structure.parameters,
                derivative=f"{Namer.d(named(out))}/{Namer.d(named(p))}"))


# -------------------------------------------------------------------------------------------------
# Shapes that make the layout slow

# The layout program's work grows with the total length of the edges, counted in ranks (columns
# with rankdir=LR): an edge spanning k ranks is routed through k - 1 hidden points. x+x+...+x over
# 241 values spans about 58,000 ranks and takes minutes; past this budget, the longest edges are
# cut (see _keep_layout_fast). A drawing of a few hundred values spans a few hundred ranks.
SPAN_BUDGET = 1000


def _keep_layout_fast(scene: Scene) -> None:
    """Make the scene cheap to lay out, without changing what it says.

    - Parallel edges (the same operand twice, as in ``x*x``) are drawn once, their labels
      joined and counted: ``d(x*x)/dx = x = 3 (×2)``.
    - While the edges span more than ``SPAN_BUDGET`` ranks in total, the longest one is cut:
      its source is drawn again beside its destination, titled "<name> (again)", with the
      same data and grad.
    """
    merged: dict = {}
    for edge in scene.edges:
        merged.setdefault((edge.src, edge.dst), []).append(edge)
    scene.edges = [group[0] if len(group) == 1 else
                   dataclasses.replace(group[0], merged=tuple(group)) for group in merged.values()]
    rank = _ranks(scene)
    spans = sorted(((rank[e.dst] - rank[e.src], i) for i, e in enumerate(scene.edges)),
                   reverse=True)
    total = sum(span for span, _ in spans)
    key_of = {key: value for value, keys in scene.where.items() for key in keys}
    for span, i in spans:
        if total <= SPAN_BUDGET or span <= 1:
            break
        edge = scene.edges[i]
        original = scene.nodes[edge.src]
        copy = dataclasses.replace(
            original, key=f"{edge.src}_again{i}", caption="", copy_of=edge.src,
            title=f"{original.title or original.caption or fmt(original.data)} (again)")
        scene.add(copy, key_of.get(edge.src))
        edge.src = copy.key
        total -= span - 1


def _ranks(scene: Scene) -> dict:
    """key -> the rank (column) a longest-path layering puts it in, sources just before their
    first reader (where the layout program puts them)."""
    rank: dict = {}
    incoming: dict = {}
    for edge in scene.edges:
        incoming.setdefault(edge.dst, []).append(edge.src)
    for key in scene.nodes:     # drawing order: sources before the nodes they feed
        rank[key] = 1 + max((rank[src] for src in incoming.get(key, ())), default=-1)
    first_reader: dict = {}
    for edge in scene.edges:
        if edge.src not in incoming:
            first_reader[edge.src] = min(first_reader.get(edge.src, rank[edge.dst]),
                                         rank[edge.dst])
    for key, reader in first_reader.items():
        rank[key] = reader - 1
    return rank


# -------------------------------------------------------------------------------------------------
# Highlighting: every path from the root down to one value


MAX_PATH_LINES = 6     # path products written beside a highlighted value


def path_products(root: Value, target: Value) -> tuple:
    """The chain rule along the highlighted paths, one line each: the local derivatives of a
    path from ``root`` down to ``target`` and their product, then the sum over the paths
    (``explain``'s numbers: those that contribute first, at most ``MAX_PATH_LINES``)."""
    from .explain import _Chain, _listed_paths, _product, _stop

    chain = _Chain(root, target)
    lines = []
    for path in _listed_paths(chain, MAX_PATH_LINES):
        product = 0.0 if _stop(chain, path) is not None else _product(path)
        factors = " \u00d7 ".join(chain.factor(v.local_grads[i]) for v, _, i in path)
        lines.append(f"{factors} = {chain.result(product)}")
    n_paths = chain.count.get(root, 0)
    if n_paths > len(lines):
        lines.append(f"... {n_paths - len(lines)} more paths")
    total = chain.total.get(root, 0.0)
    lines.append(f"sum over {n_paths} path{'s' if n_paths != 1 else ''} = "
                 f"{chain.result(total)} = {Namer.d(chain.namer.named(root))}/"
                 f"{Namer.d(chain.namer.named(target))}")
    return tuple(lines)


def _resolve(highlight, root: Value, scene: Scene) -> list:
    if isinstance(highlight, str):
        highlight = find_by_label(root, highlight)
    if not isinstance(highlight, Value):
        raise TypeError(f"highlight must be a Value or a label, got {type(highlight).__name__}")
    keys = scene.where.get(highlight)
    if not keys:
        raise ValueError(f"highlight: {highlight!r} is not part of this graph")
    return keys


def _paths_to(scene: Scene, start: list) -> set:
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
