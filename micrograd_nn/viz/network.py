"""A whole MLP at a glance: neurons as nodes, weights as arrows.

An arrow's colour is the sign of its weight (blue positive, orange negative: the gradients'
red is kept for gradients) and its width grows with |w| (an SVG tooltip gives w and
d loss/d w). A neuron lists under the headers w and grad its weights and bias with d loss/d w
and d loss/d b, the gradients left by the last ``backward()``, every number in one format
(``naming.fmt``). The arrows are drawn under the neurons, each ending at its weight's row.
"""

from __future__ import annotations

from .scene import BOX, DEFAULT_MAX_NODES, FONT, GRAD_INK, INPUT, NEURON, ROLE_COLORS
from .naming import fmt
from .pinned import Sheet, html_size
from .rendering import Diagram

__all__ = ["draw_network"]

POSITIVE = "#2b6cb0"
NEGATIVE = "#dd6b20"


def _layers(model) -> list:
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"draw_network needs a model with .layers (an MLP), "
                        f"got {type(model).__name__}")
    layers = list(layers)
    if not layers:
        raise ValueError("draw_network: the model has no layers")
    for i, layer in enumerate(layers):
        neurons = getattr(layer, "neurons", None)
        if not neurons:
            raise TypeError(f"draw_network: layer {i + 1} has no .neurons")
        for neuron in neurons:
            if not hasattr(neuron, "w") or not hasattr(neuron, "b"):
                raise TypeError(f"draw_network: a neuron of layer {i + 1} lacks .w or .b")
    return layers


def draw_network(model, *, rankdir: str = "LR", max_nodes: int = DEFAULT_MAX_NODES,
                 weight_labels: bool | None = None) -> Diagram:
    """The network as a graph: inputs, then each layer (a box) of neurons, weights as arrows.

    Neurons sit in their order (N1 on top) and arrows run straight from one layer's box to the
    next: every position is computed here and pinned (``layout=neato``, through
    ``pinned.Sheet``, as in the collapsed view of ``draw_graph``), so no layout program
    reorders them. Each neuron lists its weights
    w1, w2, ... with d loss / d w and its bias (``weight_labels``, default: neurons of at most
    8 inputs). ``rankdir="TB"`` stacks the layers top to bottom. Past ``max_nodes`` neurons,
    ValueError.
    """
    layers = _layers(model)
    n_inputs = len(layers[0].neurons[0].w)
    n_nodes = n_inputs + sum(len(layer.neurons) for layer in layers)
    if n_nodes > max_nodes:
        raise ValueError(f"the network has {n_nodes} inputs and neurons, more than "
                         f"max_nodes={max_nodes}; raise max_nodes to draw it anyway")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if weight_labels is None:
        weight_labels = max(len(n.w) for layer in layers for n in layer.neurons) <= 8
    for li, layer in enumerate(layers, start=1):
        expected = n_inputs if li == 1 else len(layers[li - 2].neurons)
        if len(layer.neurons[0].w) != expected:
            raise ValueError(f"draw_network: layer {li} expects {len(layer.neurons[0].w)} "
                             f"inputs but the layer before gives {expected}")
    graph = Diagram(name="network", format="svg")
    graph.attr(layout="neato", splines="false", fontname=FONT, bgcolor="white",
               outputorder="edgesfirst")     # arrows under the boxes, never over a name
    graph.attr("node", fontname=FONT, fontsize="11", pin="true")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.5")
    labels = [[_neuron_label(li, ni, neuron, weight_labels)
               for ni, neuron in enumerate(layer.neurons, start=1)]
              for li, layer in enumerate(layers, start=1)]
    legend = _legend(weight_labels)
    place = _Place(rankdir, [[(INPUT_SIZE, INPUT_SIZE)] * n_inputs] +
                   [[_neuron_size(label) for label in column] for column in labels],
                   html_size(legend, 9))
    columns = [[f"x{i + 1}" for i in range(n_inputs)]]
    place.box(graph, 0, "inputs", "#999999")
    for i, key in enumerate(columns[0]):
        graph.node(key, label=key, shape="circle", style="filled", fillcolor=ROLE_COLORS[INPUT],
                   width=f"{INPUT_SIZE}", fixedsize="true", pos=place.at(0, i))
    for li, layer in enumerate(layers, start=1):
        kind = "output layer" if li == len(layers) else "hidden layer"
        activation = getattr(layer, "activation", "")
        place.box(graph, li, f"layer {li} ({kind}, {activation})" if activation else
                  f"layer {li}", BOX)
        columns.append([f"L{li}N{ni}" for ni in range(1, len(layer.neurons) + 1)])
        for ni, label in enumerate(labels[li - 1]):
            graph.node(columns[li][ni], label=label, shape="box", style="rounded,filled",
                       fillcolor=ROLE_COLORS[NEURON], color=BOX, margin=f"{MARGIN}",
                       pos=place.at(li, ni))
        _weight_arrows(graph, columns[li - 1], columns[li], layer, model, weight_labels,
                       rankdir)
    graph.node("legend", label=legend, shape="plain", fontsize="9", pos=place.legend())
    return graph


INPUT_SIZE = 0.45       # an input's circle (inches)
MARGIN = 0.06           # around a neuron's table
ARROWS = 1.4            # between two columns, for the arrows
PITCH_GAP = 0.15        # between two neurons of a column


def _neuron_size(label: str) -> tuple:
    """(width, height) in inches of a neuron's box."""
    width, height = html_size(label, 11)
    return width + 2 * MARGIN, height + 2 * MARGIN


class _Place:
    """Pinned positions (inches, on a ``pinned.Sheet``): column c, row r, first on top (LR)
    or on the left (TB). ``sizes``: per column, the page size of each of its nodes. Columns
    are as far apart as their widest nodes and the arrows between them need; all rows one
    pitch apart (the tallest node's), each column centred."""

    def __init__(self, rankdir: str, sizes: list, legend: tuple):
        self.sheet = Sheet(rankdir)
        self.tb, self.count = rankdir == "TB", [len(column) for column in sizes]
        oriented = [[self.sheet.oriented(*size) for size in column] for column in sizes]
        self.length = [max(along for along, _ in column) for column in oriented]
        self.pitch = max(across for column in oriented for _, across in column) + PITCH_GAP
        self.lines = [self.length[0] / 2]
        for c in range(1, len(sizes)):
            self.lines.append(self.lines[-1] + (self.length[c - 1] + self.length[c]) / 2
                              + ARROWS)
        self.legend_size = self.sheet.oriented(*legend)

    def at(self, c: int, r: int) -> str:
        across = (r - (self.count[c] - 1) / 2) * self.pitch      # centred
        return self.sheet.pos(self.lines[c], across)

    def box(self, graph, c: int, title: str, colour: str) -> None:
        """A rounded box behind column c (drawn first), its title above it (LR) or on its
        left (TB), on one line with the others past the longest column, where no arrow
        goes."""
        along, half = self.lines[c], self.count[c] * self.pitch / 2
        reach = self.length[c] / 2 + 0.1
        self.sheet.box((along - reach, -half), (along + reach, half), colour)
        self.sheet.draw_boxes(graph, FONT)
        top = max(self.count) * self.pitch / 2
        at = (along, -top - 0.18) if not self.tb else (along, -top - 1.2)
        graph.node(f"title{c}", label=title, shape="plaintext", fontsize="10",
                   fontcolor=colour, pos=self.sheet.pos(*at))

    def legend(self) -> str:
        along = self.lines[-1] + self.length[-1] / 2 + 0.5 + self.legend_size[0] / 2
        return self.sheet.pos(along, 0.0)


def _neuron_label(li: int, ni: int, neuron, weights: bool) -> str:
    """The neuron's name, the headers w and grad, a row per weight (its port ``w<k>``, where
    the weight's arrow ends) if ``weights``, and the bias's row."""
    rows = [f'<TR><TD COLSPAN="3"><B>L{li}.N{ni}</B></TD></TR>',
            f'<TR><TD></TD><TD ALIGN="RIGHT"><I>w</I></TD>'
            f'<TD ALIGN="RIGHT"><FONT COLOR="{GRAD_INK}"><I>grad</I></FONT></TD></TR>']
    named = [(f"w{k}", w) for k, w in enumerate(neuron.w, start=1)] if weights else []
    for name, p in named + [("b", neuron.b)]:
        rows.append(f'<TR><TD ALIGN="LEFT" PORT="{name}">{name}</TD>'
                    f'<TD ALIGN="RIGHT">{fmt(p.data)}</TD>'
                    f'<TD ALIGN="RIGHT"><FONT COLOR="{GRAD_INK}">{fmt(p.grad)}</FONT></TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
            f'{"".join(rows)}</TABLE>>')


def _weight_arrows(graph, sources: list, targets: list, layer, model, rows: bool,
                   rankdir: str) -> None:
    """An arrow from each source to each neuron, from the source's far side to the row of
    its weight (``rows``), or to the neuron's near side."""
    biggest = max((abs(w.data) for lay in model.layers for n in lay.neurons for w in n.w),
                  default=0.0) or 1.0
    out, into = ("e", "w") if rankdir == "LR" else ("s", "n")
    for key, neuron in zip(targets, layer.neurons):
        for k, (src, w) in enumerate(zip(sources, neuron.w), start=1):
            width = 0.4 + 3.6 * abs(w.data) / biggest
            tip = f"{w.label or 'w'} = {fmt(w.data)}, dloss/dw = {fmt(w.grad)}"
            colour = POSITIVE if w.data >= 0 else NEGATIVE
            tail = src if src.startswith("x") else f"{src}:{out}"
            head = f"{key}:w{k}:w" if rows else f"{key}:{into}"
            graph.edge(tail, head, color=colour, penwidth=f"{width:.2f}", tooltip=tip)


def _legend(rows: bool) -> str:
    """What the picture holds: the weights' colours, inputs, neurons (with their weight rows
    or without), the gradients' colour, the layer boxes."""
    held = ("its weights w1, w2, ... (each arrow ends at its row) and bias b" if rows else
            "its bias b (each weight in its arrow's tooltip)")
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
            'COLOR="#999999">'
            '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>'
            f'<TR><TD BGCOLOR="{POSITIVE}" WIDTH="24"> </TD>'
            '<TD ALIGN="LEFT">weight &gt; 0 (width grows with |w|)</TD></TR>'
            f'<TR><TD BGCOLOR="{NEGATIVE}" WIDTH="24"> </TD>'
            '<TD ALIGN="LEFT">weight &lt; 0</TD></TR>'
            f'<TR><TD BGCOLOR="{ROLE_COLORS[INPUT]}"> </TD><TD ALIGN="LEFT">input</TD></TR>'
            f'<TR><TD BGCOLOR="{ROLE_COLORS[NEURON]}"> </TD><TD ALIGN="LEFT">neuron: {held}'
            '</TD></TR>'
            f'<TR><TD><FONT COLOR="{GRAD_INK}">grad</FONT></TD><TD ALIGN="LEFT">d loss / d w '
            'from the last backward()</TD></TR>'
            f'<TR><TD><FONT COLOR="{BOX}">[ ]</FONT></TD><TD ALIGN="LEFT">a layer</TD></TR>'
            '<TR><TD COLSPAN="2" ALIGN="LEFT">numbers to 4 significant digits</TD></TR>'
            '</TABLE>>')
