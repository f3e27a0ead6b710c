"""Writing a scene (scene.py) as DOT: boxes as HTML tables, labelled arrows, nested boxes, legend.

A drawing is laid out by ``dot``, except where neurons must keep their order: the collapsed
view (its boxes of layers and samples) and the full view of a graph with two neurons or more
(an MLP's, on one sample or a few). There ``layout.place`` / ``layout.place_rows`` compute
every position and the DOT pins them (``pinned.Sheet``).

Colours say one thing each, and the legend lists every one the drawing uses: forward values are
green, gradients and what flows back red, arrows that carry nothing back dashed grey, the
highlighted paths violet, the node being processed in a trace orange.

Results (gradients, contributions) are printed with ``options.digits`` significant digits and
the factors that make them (local derivatives, the gradient above an arrow) with two more, so
that the printed factors multiply to the printed result (``naming.consistent_digits``).

Worksheets, their answer keys and the frames of a trace size every cell that changes for the
longest text it will hold (``options.fixed``), so all of them have one layout.
"""

from __future__ import annotations

import html
import math
import re

from ..engine import chain_term
from .layout import place, place_rows
from .naming import FACTOR_DIGITS, fmt
from .pinned import POINTS, Sheet, html_size, port_box, text_width
from .rendering import Diagram
from .scene import (BLANK, BLOCKED, BOX, CURRENT, DATA_INK, DIM_FILL, DIM_INK, FONT, GRAD_INK,
                    GREY, HIGHLIGHT, INK, INPUT, INTERMEDIATE, NEURON, OP_COLOR, OUTPUT,
                    PARAMETER, ROLE_COLORS, Edge, Node, Options, Scene)

__all__ = ["emit"]


def emit(scene: Scene, options: Options, on_path: set | None, frame, root_key: str) -> Diagram:
    """The DOT graph of ``scene``: ``on_path`` highlighted, ``frame`` a step of a trace."""
    graph = Diagram(name="chain_rule", format="svg")
    graph.digits = options.digits   # results' significant digits (factors get 2 more)
    graph.rounded = options.rounded  # factors that may miss the result's last digit
    look = _Look(scene, options, on_path, frame, root_key)
    if options.collapse or scene.slots:
        _emit_pinned(graph, scene, look)
        return graph
    graph.attr(rankdir=options.rankdir, fontname=FONT, nodesep="0.18", ordering="out",
               ranksep="0.35", bgcolor="white")
    _defaults(graph, options)
    drawn = _Recorder()
    for node in scene.nodes.values():
        look.node(drawn, node)
    for edge in scene.edges:
        look.edge(drawn, edge)
    if options.in_slots:
        # a slide or a page: labels in their operations' slots (no rank of labels between two
        # ranks of boxes); a slide is stretched to 16:9 (scaled down past 16 by 9 in)
        _slot_tables(drawn, look, across=False)
        graph.attr(outputorder="edgesfirst", ranksep="0.2")
        if options.page:
            graph.attr(nodesep="0.12", ranksep="0.15")
        if options.compact_legend:
            graph.attr(ratio="fill", size="16,9!")
        drawn.nodes = [(key, dict(attrs, label=attrs["label"].replace('CELLPADDING="4"',
                                                                      'CELLPADDING="2"')))
                       for key, attrs in drawn.nodes]       # narrower boxes, larger type
    if options.in_slots:
        # a page's rows and pairs are laid out down the page (top to bottom only)
        _fold(graph, drawn, scene, page=options.page and options.rankdir in ("TB", "BT"))
    for key, attrs in drawn.nodes:
        graph.node(key, **attrs)
    for tail, head, attrs in drawn.edges:
        graph.edge(tail, head, **attrs)
    if options.legend:
        with graph.subgraph(name="legend_rank") as corner:
            corner.attr(rank="sink")
            corner.node("legend", label=_legend(look.used, options), shape="plain",
                        fontsize=str(options.legend_size))
    return graph


PAGE_ROW = 3      # on a page, the values nothing computes are laid out in rows of at most 3
PAGE_LINE = 120   # points: on a page, an arrow's label wider than this takes two lines


def _fold(graph, drawn: _Recorder, scene: Scene, page: bool) -> None:
    """Keep a top-to-bottom drawing with labels in slots narrow: the operations of a chain
    one under the other (an arrow into a slot does not pull its operation sideways, which
    staggers the ranks). On a ``page``, to fit a printed page at full size, also an operation
    alone at its depth beside its result (one rank for both, the arrow between them across),
    and the values nothing computes (inputs, parameters) in rows of at most ``PAGE_ROW``,
    one row above the other, where more would stand side by side."""
    ends = [(tail.split(":")[0], head.split(":")[0]) for tail, head, _ in drawn.edges]
    depth = _depths(ends, scene)
    made_by = {dst: src for src, dst in ends if scene.nodes[src].kind == "op"}
    at_depth: dict = {}
    for op in made_by.values():
        at_depth.setdefault(depth[op], []).append(op)
    beside = {op for ops in at_depth.values() if len(ops) == 1 for op in ops} if page else set()
    for k, ((src, dst), (tail, head, attrs)) in enumerate(zip(ends, drawn.edges)):
        if src in beside and made_by.get(dst) == src:   # operation -> its result, across
            drawn.edges[k] = (f"{src}:e", f"{dst}:w", attrs)
            with graph.subgraph() as pair:
                pair.attr(rank="same")
                pair.node(src)
                pair.node(dst)
        elif scene.nodes[src].kind != "op":     # into an operation's slot
            if dst in beside and head.count(":") == 2:  # from its right, where its result is
                head = head.rsplit(":", 1)[0] + ":e"
            drawn.edges[k] = (tail, head, dict(attrs, weight="0"))
            if src in made_by:      # the operations of a chain one under the other
                graph.edge(made_by[src], dst, style="invis", weight="10")
    if page:
        _source_rows(graph, ends, depth, scene)


def _depths(ends: list, scene: Scene) -> dict:
    """key -> the length of the longest chain of arrows that reaches it (scene order is
    operands first)."""
    into: dict = {}
    for src, dst in ends:       # once: a slide of a long chain has thousands of arrows
        into.setdefault(dst, []).append(src)
    depth: dict = {}
    for key in scene.nodes:
        depth[key] = max((depth.get(src, 0) + 1 for src in into.get(key, ())), default=0)
    return depth


def _source_rows(graph, ends: list, depth: dict, scene: Scene) -> None:
    """The values nothing computes that would stand in one rank (just above their first
    reader) in rows of at most ``PAGE_ROW``, one above the other (invisible arrows)."""
    fed = {dst for _, dst in ends}
    rank: dict = {}
    for src, dst in ends:
        if src not in fed:
            rank[src] = min(rank.get(src, depth[dst]), depth[dst])
    groups: dict = {}
    for key in scene.nodes:         # drawing order
        if key in rank:
            groups.setdefault(rank[key], []).append(key)
    for sources in groups.values():
        rows = [sources[i:i + PAGE_ROW] for i in range(0, len(sources), PAGE_ROW)]
        for upper, lower in zip(rows, rows[1:]):
            for a, b in zip(upper, lower):
                graph.edge(a, b, style="invis")


def _defaults(graph, options: Options) -> None:
    graph.attr("node", fontname=FONT, fontsize=str(options.font_size))
    graph.attr("edge", fontname=FONT, fontsize=str(options.label_size), arrowsize="0.6",
               color="#444444")


class _Recorder:
    """Stands in for a graph: keeps what a ``_Look`` draws, so it can be placed first."""

    def __init__(self):
        self.nodes, self.edges = [], []

    def node(self, key: str, **attrs) -> None:
        self.nodes.append((key, attrs))

    def edge(self, tail: str, head: str, **attrs) -> None:
        self.edges.append((tail, head, attrs))


def _emit_pinned(graph, scene: Scene, look: "_Look") -> None:
    """Every position computed and pinned: the collapsed view by ``layout.place`` (each box
    keeps its neurons, and the bands their samples, in drawing order), the full view of
    neurons by ``layout.place_rows`` (samples and each layer's neurons in order)."""
    options = look.options
    graph.attr(layout="neato", splines="false", fontname=FONT, bgcolor="white")
    _defaults(graph, options)
    drawn = _Recorder()
    for node in scene.nodes.values():
        look.node(drawn, node)
    for edge in scene.edges:
        look.edge(drawn, edge)
    if any(node.cluster for node in scene.nodes.values()):
        look.used.add("box")
    _slot_tables(drawn, look)
    graph.attr(outputorder="edgesfirst")    # arrows under the boxes they end in
    sizes = {key: _node_size(attrs, options.font_size) for key, attrs in drawn.nodes}
    labels = [html_size(attrs["label"], options.label_size) if "label" in attrs else None
              for _, _, attrs in drawn.edges]
    legend = None
    if options.legend:
        legend = _legend(look.used, options)
        sizes["legend"] = html_size(legend, options.legend_size)
    sheet = Sheet(options.rankdir)
    if options.collapse:
        centre = place(scene, sizes, labels, sheet, legend=sizes.get("legend"),
                       title_size=options.label_size)
    else:
        ports = {key: port_box(attrs["label"], options.font_size, "out")
                 for key, attrs in drawn.nodes if attrs.get("shape") == "plain"}
        centre = place_rows(scene, sizes, labels, sheet, scene.slots, ports=ports,
                            legend=sizes.get("legend"))
    sheet.draw_boxes(graph, FONT)
    for key, attrs in drawn.nodes:
        graph.node(key, pos=sheet.pos(*centre[key]), **attrs)
    if legend is not None:
        graph.node("legend", label=legend, shape="plain", fontsize=str(options.legend_size),
                   pos=sheet.pos(*centre["legend"]))
    for tail, head, attrs in drawn.edges:
        graph.edge(tail, head, **attrs)


def _slot_tables(drawn: _Recorder, look: "_Look", across: bool | None = None) -> None:
    """The labels of the arrows into an operation, written in the operation's box instead of
    beside the arrows: a table, the op's name on top, then one slot per arrow (a row, or a
    column when the arrows run downwards), each arrow ending at its own slot. In the full
    view of a network the arrows into a layer cross each other, and a label beside an arrow
    would be crossed by its neighbours; in its slot nothing crosses it."""
    into: dict = {}
    for k, (_, head, attrs) in enumerate(drawn.edges):
        if "label" in attrs:
            into.setdefault(head, []).append(k)
    if across is None:      # slots side by side where straight arrows come from above
        across = look.enter in "ns"
    for n, (key, attrs) in enumerate(drawn.nodes):
        if attrs.get("shape") != "ellipse" or key not in into:
            continue
        slots = []
        for i, k in enumerate(into[key]):
            tail, _, edge_attrs = drawn.edges[k]
            rows = re.findall(r"<TR>(.*?)</TR>", edge_attrs.pop("label"), re.S)
            rows[0] = rows[0].replace("<TD", f'<TD PORT="a{i}" ALIGN="LEFT" BALIGN="LEFT"', 1)
            slots.append([r if r is rows[0] else
                          r.replace("<TD", '<TD ALIGN="LEFT" BALIGN="LEFT"', 1) for r in rows])
            side = look.enter if across or look.enter in "we" else "w"
            drawn.edges[k] = (tail, f"{key}:a{i}:{side}", edge_attrs)
        if across:
            depth = max(len(slot) for slot in slots)
            body = ["".join(slot[r] if r < len(slot) else "<TD></TD>" for slot in slots)
                    for r in range(depth)]
        elif look.options.compact_legend:   # a slide: a slot's lines side by side, one row,
            # an em apart (a cell's padding alone would print "= 0.2098-0.5989 × ...")
            gap = f'<TD WIDTH="{look.options.font_size}"></TD>'
            body = [gap.join(slot) for slot in slots]
        else:
            body = [row for slot in slots for row in slot]
        span = len(slots) if across else max(row.count("<TD") for row in body)
        title = f'<TD COLSPAN="{span}">{attrs["label"][1:-1]}</TD>'
        rows = "".join(f"<TR>{row}</TR>" for row in [title] + body)
        drawn.nodes[n] = (key, dict(
            label=f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" '
                  f'BGCOLOR="{attrs["fillcolor"]}" COLOR="{attrs["color"]}">{rows}</TABLE>>',
            shape="plain", margin="0"))
        look.used.add("slots")
    if not any(attrs.get("shape") == "ellipse" for _, attrs in drawn.nodes):
        look.used.discard("op")
    for k, (tail, head, attrs) in enumerate(drawn.edges):
        if tail in into:        # from an operation's box, out of its far side
            drawn.edges[k] = (f"{tail}:{look.leave}", head, attrs)
    _tail_slots(drawn, look)


def _tail_slots(drawn: _Recorder, look: "_Look") -> None:
    """The labels of the arrows from a value outside every box into a box (a weight shared
    by the samples, drawn apart by ``focus=``), written in the value's box, one row per
    arrow, each arrow leaving from its row: beside the arrow, a label would lie in the boxes
    the arrow passes over."""
    nodes = look.scene.nodes
    out: dict = {}
    for k, (tail, head, attrs) in enumerate(drawn.edges):
        key = tail.split(":")[0]
        if "label" in attrs and not nodes[key].cluster and nodes[head.split(":")[0]].cluster:
            out.setdefault(key, []).append(k)
    for n, (key, attrs) in enumerate(drawn.nodes):
        if key not in out:
            continue
        label = attrs["label"]
        end = label.index("</TABLE>")
        columns = max(len(re.findall(r"<TD", row)) for row in
                      re.findall(r"<TR>(.*?)</TR>", label[label.rindex("<TABLE", 0, end):end]))
        rows = []
        for i, k in enumerate(out[key]):
            tail, head, edge_attrs = drawn.edges[k]
            cells = re.findall(r"<TD[^>]*>(.*?)</TD>", edge_attrs.pop("label"), re.S)
            text = "<BR/>".join(cells)
            rows.append(f'<TR><TD COLSPAN="{columns}" ALIGN="RIGHT" PORT="t{i}">{text}</TD>'
                        '</TR>')
            drawn.edges[k] = (f"{key}:t{i}:{look.leave}", head, edge_attrs)
        drawn.nodes[n] = (key, dict(attrs, label=label[:end] + "".join(rows) + label[end:]))
        look.used.add("tail slots")


def _node_size(attrs: dict, font_size: int) -> tuple:
    """Page (width, height) in inches of a node drawn with ``attrs``: an HTML table, or an
    operation's ellipse (Graphviz fits an ellipse around its text and margin)."""
    if attrs.get("shape") != "ellipse":
        return html_size(attrs["label"], font_size)
    text = html.unescape(re.sub(r"<[^>]+>", "", attrs["label"]))
    margin = 2 * float(attrs.get("margin", 0.04)) * POINTS
    width = (text_width(text, font_size) + margin) * math.sqrt(2) / POINTS
    height = (font_size * 1.2 + margin) * math.sqrt(2) / POINTS
    return max(width, float(attrs.get("width", 0))), max(height, float(attrs.get("height", 0)))


# -------------------------------------------------------------------------------------------------
# Cells of text


def _width(lines, size: int) -> int:
    """Points wide enough for the longest of ``lines`` in Helvetica at ``size`` points, and
    the cell's padding (bold type is at most 6% wider)."""
    return math.ceil(max(text_width(line, size) for line in lines) * 1.06) + 10


def _cell(text: str, ink: str, *, bold: bool = False, italic: bool = False, attrs: str = "",
          fit: str | tuple | None = None, size: int = 11) -> str:
    """A table cell, a line per ``\\n`` of ``text``; ``fit``: the texts the cell will ever
    hold (it is sized for the widest line and the most lines of any)."""
    body = '<BR/>'.join(html.escape(line) for line in text.split("\n")) or " "
    if bold:
        body = f"<B>{body}</B>"
    if italic:
        body = f"<I>{body}</I>"
    if fit is not None:
        texts = (text, fit) if isinstance(fit, str) else (text, *fit)
        lines = max(t.count("\n") for t in texts) + 1
        height = lines * round(size * 1.2) + 8
        width = _width([line for t in texts for line in t.split("\n")], size)
        attrs += f' WIDTH="{width}" HEIGHT="{height}" FIXEDSIZE="TRUE"'
    return f'<TD{attrs}><FONT COLOR="{ink}">{body}</FONT></TD>'


MAX_WORKING = 4        # a key writes the working of a grad that sums at most this many arrows
BLANK_LENGTH = 10      # every blank of a worksheet: its length never hints at the answer


def _blank(answer: str) -> str:
    """A line to write on, of one length whatever the answer (the cell around it is sized
    for the answer, and for the working the key shows)."""
    return BLANK * BLANK_LENGTH


def _sum_text(parts: list, total: float, options: Options) -> str:
    factor = options.digits + FACTOR_DIGITS
    terms = fmt(parts[0], factor)
    for p in parts[1:]:
        terms += f" - {fmt(-p, factor)}" if p < 0 else f" + {fmt(p, factor)}"
    return f"grad = {terms} = {fmt(total, options.digits)}"


# -------------------------------------------------------------------------------------------------
# Nodes and edges


class _Look:
    """How each node and edge looks; records in ``used`` what the legend must explain."""

    def __init__(self, scene: Scene, options: Options, on_path, frame, root_key: str):
        self.scene, self.options, self.on_path, self.frame = scene, options, on_path, frame
        self.root_key = root_key
        self.used: set = set()
        if options.exercise:   # a worksheet and its key share one legend, as they share a layout
            self.used.add("blank")
            self.used.update(("local",) if options.local else ())
            self.used.update(("flow",) if options.flow else ())
            self.used.update(("grad",) if options.show_grads else ())
            self.used.update(("working",) if options.exercise in ("grads", "both") else ())
        self.current, self.received = set(), set()
        if frame is not None:
            if frame.current is not None:
                self.current = set(scene.where.get(frame.current, ()))
            for v in frame.received:
                self.received.update(scene.where.get(v, ()))
        self.current_ops = {"op" + k[1:] for k in self.current if k.startswith("v")}
        # arrows leave a box on the side facing the flow and enter on the opposite side
        self.leave, self.enter = {"LR": ("e", "w"), "RL": ("w", "e"), "TB": ("s", "n"),
                                  "BT": ("n", "s")}[options.rankdir]
        self.parts = _parts(scene, options)
        self.final_parts = _parts(scene, options, final=True)   # sizes a trace's cells
        if frame is not None:   # every frame of a trace has the legend of the whole trace
            self.used.update(("current", "received", "dim", "data", "grad"))
            self.used.update(("local",) if options.local else ())
            self.used.update(("flow", "fork") if options.flow and self.parts else
                             ("flow",) if options.flow else ())
            if any(e.local is not None and not e.quiet
                   and (e.local == 0.0 or e.final_upstream == 0.0) for e in scene.edges):
                self.used.add("blocked")

    def dim(self, key: str) -> bool:
        if self.on_path is not None:
            return key not in self.on_path
        if self.frame is not None:
            node = self.scene.nodes[key]
            return node.kind != "op" and node.grad is None
        return False

    def node(self, target, node: Node) -> None:
        dimmed = self.dim(node.key)
        if dimmed:
            self.used.add("dim")
        self.used.add(node.role if node.kind != "op" else "op")
        if "relu" in node.text:         # the legend may speak of a dead ReLU
            self.used.add("relu")
        if node.kind == "op":
            hot = node.key in self.current_ops
            ink = DIM_INK if dimmed else INK
            target.node(node.key, label=f'<<FONT COLOR="{ink}">{html.escape(node.text)}</FONT>>',
                        shape="ellipse", style="filled",
                        fillcolor=CURRENT if hot else (DIM_FILL if dimmed else OP_COLOR),
                        color=DIM_INK if dimmed else "#777777", width="0.3", height="0.3",
                        margin="0.04")
            return
        frame_colour = None
        if node.key in self.current:
            frame_colour = CURRENT
            self.used.add("current")
        elif self.on_path is not None and node.key in self.on_path and not dimmed:
            frame_colour = HIGHLIGHT
            self.used.add("highlight")
        target.node(node.key, label=self._value_label(node, dimmed, frame_colour),
                    shape="plain", margin="0")

    def _value_label(self, node: Node, dim: bool, frame_colour: str | None) -> str:
        """The box of a value: an HTML table; arrows arrive at the ``data`` cell and leave from
        the last cell of that row (ports "in" and "out"), so they never cross the label row.
        ``frame_colour`` draws a thick outer frame (highlighted or being processed)."""
        options = self.options
        size = options.font_size
        ink = DIM_INK if dim else INK
        columns = 2 if options.show_grads or options.page else 1
        span = f' COLSPAN="{columns}"'
        rows = []
        name_span = "" if options.page and node.kind != "neuron" else span
        if node.title:
            rows.append(_cell(node.title, ink, bold=True, attrs=name_span, size=size))
        elif node.caption:
            self.used.add("caption")
            rows.append(_cell(node.caption, DIM_INK if dim else GREY, italic=True,
                              attrs=name_span, size=size))
        if node.kind == "neuron":
            rows.append(_cell(node.text, ink, attrs=span, size=size))
        self.used.add("data")
        cells = _cell(f"data {fmt(node.data, options.digits)}", DIM_INK if dim else DATA_INK,
                      attrs=' PORT="in"', size=size)
        if options.page and node.kind != "neuron":    # name beside data, grad under them
            rows[-1:] = [rows[-1] + cells] if rows else [cells]
            if options.show_grads:
                rows.append(self._grad_cell(node, dim, span))
        else:
            rows.append(cells + (self._grad_cell(node, dim) if options.show_grads else ""))
        fork = self._fork_row(node, dim, span)
        if fork:
            rows.append(fork)
        for line in node.notes:     # the highlighted paths' products and their sum
            rows.append(_cell(line, HIGHLIGHT, attrs=span + ' ALIGN="LEFT"', size=size))
            self.used.add("paths")
        return _frame(rows, ROLE_COLORS[node.role] if not dim else DIM_FILL,
                      DIM_INK if dim else "#555555", frame_colour, options.fixed)

    def _grad_cell(self, node: Node, dim: bool, span: str = "") -> str:
        options = self.options
        final = node.grad if node.final_grad is None else node.final_grad
        answer = f"grad {fmt(final, options.digits)}" if final is not None else "grad ?"
        blank = options.blank_grads and node.key != self.root_key
        if blank:
            text = "grad " + _blank(answer[5:])
            self.used.add("blank")
        elif node.grad is None:
            text = "grad ?"
        else:
            text = f"grad {fmt(node.grad, options.digits)}"
            self.used.add("grad")
        working = self._working(node, final)
        if (options.answer_key and options.exercise in ("grads", "both") and working
                and node.key != self.root_key):
            text = f"grad {working}"        # the key shows the product that gives the blank
            self.used.add("working")
        fit = None
        if options.fixed or options.exercise:
            fit = (answer, "grad " + _blank(answer[5:]))
            if options.exercise in ("grads", "both") and working:
                fit += (f"grad {working}",)
        received = node.key in self.received
        if received:
            self.used.add("received")
        ink = CURRENT if received else (DIM_INK if dim else GRAD_INK)
        return _cell(text, ink, bold=received, attrs=' PORT="out"' + span, fit=fit,
                     size=options.font_size)

    def _working(self, node: Node, final: float | None) -> str:
        """What gives a value's grad, as a worksheet's key writes it: the gradient above times
        the local derivative (``-0.598866 × 0.209773 = -0.1256``), summed over the value's
        arrows out when it has several (``1 × 3 + 1 × 3 + 1 × 1 = 7`` for x of x*x + x, at
        most ``MAX_WORKING`` of them); "" when a fork row shows the sum, or for more arrows."""
        out = [member for e in self.scene.edges if e.src == node.key and e.local is not None
               for member in (e.merged or (e,))]
        if not out or len(out) > MAX_WORKING or final is None or self.parts.get(node.key):
            return ""
        factor = self.options.digits + FACTOR_DIGITS
        terms = []
        for edge in out:
            upstream = edge.upstream if edge.final_upstream is None else edge.final_upstream
            if upstream is None:
                return ""
            terms.append(f"{fmt(upstream, factor)} \u00d7 {fmt(edge.local, factor)}")
        # on a page a line each, so the box stays as narrow as its blank
        plus, equals = ("\n+ ", "\n= ") if self.options.page else (" + ", " = ")
        return f"{plus.join(terms)}{equals}{fmt(final, self.options.digits)}"

    def _fork_row(self, node: Node, dim: bool, span: str) -> str | None:
        parts = self.parts.get(node.key)
        if not parts:
            return None
        options = self.options
        final = node.grad if node.final_grad is None else node.final_grad
        finals = [p for p in self.final_parts[node.key] if p is not None]
        answer = _sum_text(finals or [0.0], final or 0.0, options)
        if options.blank_grads:
            text = "grad = " + _blank(answer)
        else:
            known = [p for p in parts if p is not None]
            text = _sum_text(known, node.grad, options) if known and node.grad is not None \
                else "grad = ?"
            self.used.add("fork")
        fit = answer if (options.fixed or options.exercise) else None
        if options.exercise in ("grads", "both"):     # as wide as the worksheet's blank
            fit = (answer, "grad = " + _blank(answer))
        return _cell(text, DIM_INK if dim else GRAD_INK, attrs=span, fit=fit,
                     size=options.font_size)

    def edge(self, graph, edge: Edge) -> None:
        attrs = {}
        label = _edge_label(edge, self.options, self.used)
        if label is not None:
            attrs["label"] = label
        contribution = edge.contribution
        # not on a worksheet (a hint) nor on its key (which keeps the worksheet's legend)
        if (contribution == 0.0 and edge.local is not None and not self.options.exercise
                and self.options.show_grads):
            attrs.update(style="dashed", color=BLOCKED)
            self.used.add("blocked")
        if self.on_path is not None:
            if edge.src in self.on_path and edge.dst in self.on_path:
                attrs.update(color=HIGHLIGHT, penwidth="2.2")
            else:
                attrs.update(color=DIM_INK)
                if "label" in attrs:        # off the paths, the label fades too
                    attrs["label"] = re.sub(r'COLOR="[^"]*"', f'COLOR="{DIM_INK}"',
                                            attrs["label"])
        elif self.frame is not None and edge.dst in self.current_ops:
            attrs.update(color=CURRENT, penwidth="2.2", dir="back")
        graph.edge(*self._ends(edge), **attrs)

    def _ends(self, edge: Edge) -> tuple:
        nodes = self.scene.nodes
        tail = f"{edge.src}:out:{self.leave}" if nodes[edge.src].kind != "op" else edge.src
        head = edge.dst
        if nodes[edge.dst].kind != "op":
            # across the flow (LR) the data cell's outer side is the box's; along it (TB) the
            # data cell sits under the label row, so arrows enter the box itself
            head = (f"{edge.dst}:in:{self.enter}" if self.enter in "we"
                    else f"{edge.dst}:{self.enter}")
        return tail, head


def _parts(scene: Scene, options: Options, final: bool = False) -> dict:
    """node key -> the contributions arriving along its arrows (None: not yet), for values
    that pass their gradient into two or more arrows, when flows are drawn; ``final``: those
    at the end of backward (a trace's cells are sized for them)."""
    if not options.flow:
        return {}
    arrows: dict = {}
    for edge in scene.edges:
        if edge.local is not None and not edge.quiet:
            original = scene.nodes[edge.src].copy_of or edge.src
            arrows.setdefault(original, []).extend(
                edge.final_contributions if final else edge.contributions)
    for key, node in scene.nodes.items():   # a copy shows the sum of the original
        if node.copy_of in arrows:
            arrows[key] = arrows[node.copy_of]
    return {key: parts for key, parts in arrows.items() if len(parts) > 1}


def _frame(rows: list, fill: str, border: str, frame_colour: str | None, fixed: bool) -> str:
    table = "".join(f"<TR>{r}</TR>" for r in rows)
    table = (f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" '
             f'BGCOLOR="{fill}" COLOR="{border}">{table}</TABLE>')
    if frame_colour or fixed:   # a fixed layout keeps room for the frame on every box
        table = (f'<TABLE BORDER="3" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" '
                 f'COLOR="{frame_colour or "white"}"><TR><TD>{table}</TD></TR></TABLE>')
    return f"<{table}>"


def _edge_label(edge: Edge, options: Options, used: set) -> str | None:
    """The label of an arrow: its local derivative and/or the gradient it carries back.

    Parallel arrows drawn as one (x*x) give each distinct label once, with its count."""
    if edge.local is None or edge.quiet:
        return None
    size = options.label_size
    groups: dict = {}
    for member in edge.merged or (edge,):
        lines = []
        if options.local and member.derivative:
            lines.append(_local_line(member, options, used))
        if options.flow:
            lines.append(_flow_line(member, options, used))
        groups[tuple(lines)] = groups.get(tuple(lines), 0) + 1
    lines = []
    for group, n in groups.items():
        if n > 1:
            used.add("times")
        if n > 1 and group:
            text, ink, fit = group[-1]
            fits = (fit,) if isinstance(fit, str) else fit
            group = group[:-1] + ((f"{text} (\u00d7{n})", ink,
                                   fits and tuple(f"{f} (\u00d7{n})" for f in fits)),)
        elif n > 1:
            group = ((f"\u00d7{n}", INK, None),)
        lines.extend(group)
    if not lines:
        return None
    if len(groups) > 1 and all(len(group) == 1 for group in groups):
        # one line per arrow (x/x): the distinct labels on one row, as "a; b"
        lines = [("; ".join(text for text, _, _ in lines), lines[0][1], None)]
    rows = "".join(f"<TR>{_cell(text, ink, fit=fit, size=size)}</TR>" for text, ink, fit in lines)
    # padding keeps the text off the line it labels
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="2">{rows}</TABLE>>'


def _local_line(edge: Edge, options: Options, used: set) -> tuple:
    number = fmt(edge.local, options.digits + FACTOR_DIGITS)
    parts = [edge.derivative] + ([edge.formula] if edge.formula else []) + [number]
    answer = " = ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])
    blank = f"{edge.derivative} = {_blank(answer)}"
    shown = (answer, blank) if options.exercise in ("local", "both") else (answer,)
    if options.page and max(text_width(text, options.label_size) for text in shown) > PAGE_LINE:
        # a long line breaks after the derivative, on the worksheet and its key alike
        answer, blank = (text.replace(" = ", "\n= ", 1) for text in (answer, blank))
    fit = None
    if options.exercise in ("local", "both"):
        fit = (answer, blank)
    if options.blank_local:
        used.add("blank")
        return blank, INK, fit
    used.add("local")
    return answer, INK, fit


def _flow_line(edge: Edge, options: Options, used: set) -> tuple:
    factor = options.digits + FACTOR_DIGITS

    def text(upstream: float | None) -> str:
        if upstream is None:
            return ""
        c = 0.0 if upstream == 0.0 else chain_term(upstream, edge.local)
        return (f"{fmt(upstream, factor)} \u00d7 {fmt(edge.local, factor)} = "
                f"{fmt(c, options.digits)}")

    final = text(edge.upstream if edge.final_upstream is None else edge.final_upstream)
    fit = final if (options.fixed or options.exercise) else None
    if options.exercise in ("grads", "both"):       # as wide as the worksheet's blank
        fit = (final, _blank(final))
    if options.blank_grads:
        used.add("blank")
        return _blank(final), GRAD_INK, (final, _blank(final))
    if edge.upstream is not None:
        used.add("flow")
    return text(edge.upstream), GRAD_INK, fit


# -------------------------------------------------------------------------------------------------
# The legend: one row for every colour and mark the drawing uses


_ROLE_ORDER = (INPUT, PARAMETER, INTERMEDIATE, OUTPUT, NEURON)


def _legend_rows(used: set, options: Options) -> list:
    """(swatch cell, text) for each thing used, in a fixed order."""
    compact = options.compact_legend or options.page
    where = "in an operation's row" if "slots" in used else "on an arrow"
    rows = [(f'<TD BGCOLOR="{ROLE_COLORS[r]}" WIDTH="18"> </TD>', r)
            for r in _ROLE_ORDER if r in used]
    entries = [
        ("op", f'<TD BGCOLOR="{OP_COLOR}">op</TD>', "operation"),
        ("box", f'<TD><FONT COLOR="{BOX}">[ ]</FONT></TD>', "a layer (inside a sample)"),
        ("caption", f'<TD><FONT COLOR="{GREY}"><I>w*x</I></FONT></TD>',
         "unnamed value" if compact else "an unnamed value, called by what made it"),
        ("data", f'<TD><FONT COLOR="{DATA_INK}">data</FONT></TD>', "forward value"),
        ("grad", f'<TD><FONT COLOR="{GRAD_INK}">grad</FONT></TD>',
         "d output / d value" if compact else "gradient d output / d value (backward)"),
        ("slots", f'<TD BGCOLOR="{OP_COLOR}">op</TD>',
         "operation, a row per arrow in" if compact else
         "operation: a row for each arrow into it, with that arrow's label"),
        ("paths", f'<TD><FONT COLOR="{HIGHLIGHT}">a \u00d7 b = c</FONT></TD>',
         "a path's product" if compact else
         "under the highlighted value: each path's local derivatives, their product, and "
         "the sum over the paths"),
        ("tail slots", "<TD>...</TD>",
         "a row per arrow out" if compact else
         "a row under a value: the label of the arrow leaving from it"),
        ("local", "<TD>dz/dw1 = ...</TD>",
         "local derivative" if compact else f"{where}: local derivative d out / d in"),
        ("flow", f'<TD><FONT COLOR="{GRAD_INK}">g \u00d7 l = c</FONT></TD>',
         "flows back" if compact else f"{where}: gradient above \u00d7 local derivative = "
                                      "what flows back"),
        ("times", "<TD>(\u00d72)</TD>",
         "one arrow for 2" if compact else "one arrow standing for 2 (an operand used twice, "
                                           "as x in x*x): the label holds for each"),
        ("fork", f'<TD><FONT COLOR="{GRAD_INK}">grad = a + b</FONT></TD>',
         "sum of arrows" if compact else "a value used twice adds what flows back on each arrow"),
        ("blocked", f'<TD><FONT COLOR="{BLOCKED}">- - -&gt;</FONT></TD>',
         "nothing flows back" if compact else "nothing flows back: the gradient above or the "
                                              "local derivative is 0" +
                                              (" (a dead ReLU)" if "relu" in used else "")),
        ("highlight", f'<TD><FONT COLOR="{HIGHLIGHT}"><B>&#8212;&gt;</B></FONT></TD>',
         "the paths from the output to the highlighted value"),
        ("current", f'<TD BGCOLOR="{CURRENT}"> </TD>', "passing its gradient on in this step"),
        ("received", f'<TD><FONT COLOR="{CURRENT}"><B>grad</B></FONT></TD>',
         "received a contribution in this step"),
        ("dim", f'<TD BGCOLOR="{DIM_FILL}"><FONT COLOR="{DIM_INK}">grey</FONT></TD>',
         "off the highlighted paths" if "highlight" in used else "not reached yet"),
        ("blank", f"<TD>{BLANK * 4}</TD>", "to fill in"),
        ("working", f'<TD><FONT COLOR="{GRAD_INK}">g \u00d7 l = grad</FONT></TD>',
         "the working" if compact else
         "the working: gradient above \u00d7 local derivative = grad"),
    ]
    rows += [(cell, text) for key, cell, text in entries if key in used]
    return rows


def _legend(used: set, options: Options) -> str:
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']
    for cell, text in _legend_rows(used, options):
        rows.append(f'<TR>{cell}<TD ALIGN="LEFT">{html.escape(text)}</TD></TR>')
    if options.page and used & {"local", "flow", "blank"}:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">grad = sum over paths of the product of'
                    '<BR ALIGN="LEFT"/>the local derivatives along the path<BR ALIGN="LEFT"/>'
                    '</TD></TR>')
    elif not options.compact_legend and used & {"local", "flow"}:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT">grad of a box = sum over paths from the '
                    f'output<BR ALIGN="LEFT"/>of the product of the local derivatives along the '
                    f'path;<BR ALIGN="LEFT"/>factors carry {FACTOR_DIGITS} more digits than '
                    f'results<BR ALIGN="LEFT"/></TD></TR>')
    if options.rounded and used & {"local", "flow", "fork"}:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">numbers rounded: a product or sum of '
                    'printed factors<BR ALIGN="LEFT"/>may miss its printed result in the last '
                    'digit<BR ALIGN="LEFT"/></TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            f'COLOR="#999999">{"".join(rows)}</TABLE>>')
