"""A whole MLP at a glance: neurons as nodes, weights as arrows.

An arrow's colour is the sign of its weight (blue positive, red negative) and its width grows
with |w| (an SVG tooltip gives w and d loss/d w). A neuron lists its weights and bias with
d loss/d w and d loss/d b, the gradients left by the last ``backward()``.
"""

from __future__ import annotations

from .diagram import DEFAULT_MAX_NODES
from .scene import BOX, FONT, GRAD_INK, INPUT, NEURON, ROLE_COLORS
from .naming import fmt
from .pinned import Sheet
from .rendering import Diagram

__all__ = ["draw_network"]

POSITIVE = "#2b6cb0"
NEGATIVE = "#c53030"


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
               outputorder="nodesfirst")
    graph.attr("node", fontname=FONT, fontsize="11", pin="true")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.5")
    widest = max(len(n.w) for layer in layers for n in layer.neurons)   # rows of a neuron
    place = _Place(rankdir, [n_inputs] + [len(layer.neurons) for layer in layers],
                   3.4 if weight_labels else 2.2,
                   0.45 + 0.24 * (widest + 2) if weight_labels else 0.9)
    columns = [[f"x{i + 1}" for i in range(n_inputs)]]
    place.box(graph, 0, "inputs", "#999999")
    for i, key in enumerate(columns[0]):
        graph.node(key, label=key, shape="circle", style="filled", fillcolor=ROLE_COLORS[INPUT],
                   width="0.45", fixedsize="true", pos=place.at(0, i))
    for li, layer in enumerate(layers, start=1):
        kind = "output layer" if li == len(layers) else "hidden layer"
        activation = getattr(layer, "activation", "")
        place.box(graph, li, f"layer {li} ({kind}, {activation})" if activation else
                  f"layer {li}", BOX)
        columns.append([f"L{li}N{ni}" for ni in range(1, len(layer.neurons) + 1)])
        for ni, neuron in enumerate(layer.neurons):
            graph.node(columns[li][ni], label=_neuron_label(li, ni + 1, neuron, weight_labels),
                       shape="box", style="rounded,filled", fillcolor=ROLE_COLORS[NEURON],
                       color=BOX, margin="0.06", pos=place.at(li, ni))
        _weight_arrows(graph, columns[li - 1], columns[li], layer, model)
    graph.node("legend", label=_LEGEND, shape="plain", fontsize="9",
               pos=place.legend())
    return graph


class _Place:
    """Pinned positions (inches, on a ``pinned.Sheet``): column c, row r, first on top (LR)
    or on the left (TB)."""

    def __init__(self, rankdir: str, sizes: list, step: float, row: float):
        self.sheet = Sheet(rankdir)
        self.tb, self.sizes, self.step, self.row = rankdir == "TB", sizes, step, row

    def at(self, c: int, r: int) -> str:
        across = (r - (self.sizes[c] - 1) / 2) * self.row      # centred
        return self.sheet.pos(c * self.step, across)

    def box(self, graph, c: int, title: str, colour: str) -> None:
        """A rounded box behind column c (drawn first), its title above it (LR) or on its
        left (TB)."""
        along, half = c * self.step, (self.sizes[c] * self.row + 0.2) / 2
        short = self.step * 0.62
        self.sheet.box((along - short / 2, -half), (along + short / 2, half), colour)
        self.sheet.draw_boxes(graph, FONT)
        at = (along, -half - 0.18) if not self.tb else (along, -half - 0.9)
        graph.node(f"title{c}", label=title, shape="plaintext", fontsize="10",
                   fontcolor=colour, pos=self.sheet.pos(*at))

    def legend(self) -> str:
        return self.sheet.pos((len(self.sizes) - 0.35) * self.step + 0.6, 0.0)


def _neuron_label(li: int, ni: int, neuron, weights: bool) -> str:
    rows = [f'<TR><TD COLSPAN="3"><B>L{li}.N{ni}</B></TD></TR>']
    if weights:
        for k, w in enumerate(neuron.w, start=1):
            rows.append(f'<TR><TD ALIGN="LEFT">w{k}</TD><TD ALIGN="RIGHT">{fmt(w.data)}</TD>'
                        f'<TD ALIGN="RIGHT"><FONT COLOR="{GRAD_INK}">{fmt(w.grad)}</FONT>'
                        f'</TD></TR>')
    b = neuron.b
    rows.append(f'<TR><TD ALIGN="LEFT">b</TD><TD ALIGN="RIGHT">{fmt(b.data)}</TD>'
                f'<TD ALIGN="RIGHT"><FONT COLOR="{GRAD_INK}">{fmt(b.grad)}</FONT></TD></TR>')
    return (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
            f'{"".join(rows)}</TABLE>>')


def _weight_arrows(graph, sources: list, targets: list, layer, model) -> None:
    biggest = max((abs(w.data) for lay in model.layers for n in lay.neurons for w in n.w),
                  default=0.0) or 1.0
    for key, neuron in zip(targets, layer.neurons):
        for src, w in zip(sources, neuron.w):
            width = 0.4 + 3.6 * abs(w.data) / biggest
            tip = f"{w.label or 'w'} = {fmt(w.data)}, dloss/dw = {fmt(w.grad)}"
            colour = POSITIVE if w.data >= 0 else NEGATIVE
            graph.edge(src, key, color=colour, penwidth=f"{width:.2f}", tooltip=tip)


_LEGEND = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
           'COLOR="#999999">'
           '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>'
           f'<TR><TD BGCOLOR="{POSITIVE}" WIDTH="24"> </TD>'
           '<TD ALIGN="LEFT">weight &gt; 0 (width grows with |w|)</TD></TR>'
           f'<TR><TD BGCOLOR="{NEGATIVE}" WIDTH="24"> </TD>'
           '<TD ALIGN="LEFT">weight &lt; 0</TD></TR>'
           f'<TR><TD BGCOLOR="{ROLE_COLORS[INPUT]}"> </TD><TD ALIGN="LEFT">input</TD></TR>'
           f'<TR><TD BGCOLOR="{ROLE_COLORS[NEURON]}"> </TD><TD ALIGN="LEFT">neuron: its '
           f'weights w1, w2, ... and bias b</TD></TR>'
           f'<TR><TD><FONT COLOR="{GRAD_INK}">0.12</FONT></TD><TD ALIGN="LEFT">d loss / d w '
           f'from the last backward()</TD></TR>'
           f'<TR><TD><FONT COLOR="{BOX}">[ ]</FONT></TD><TD ALIGN="LEFT">a layer</TD></TR>'
           '</TABLE>>')
