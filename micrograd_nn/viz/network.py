"""A whole MLP at a glance: neurons as nodes, weights as edges.

An edge's colour is the sign of its weight (blue positive, red negative) and its width grows
with |w|; its label (on small networks; a tooltip in SVG always) gives w and d loss/d w, the
gradient left by the last ``backward()``. A neuron shows its activation, bias and d loss/d b.
"""

from __future__ import annotations

import html

from .diagram import DEFAULT_MAX_NODES
from .scene import FONT, INPUT, NEURON, ROLE_COLORS
from .naming import fmt
from .rendering import Diagram

__all__ = ["draw_network"]

POSITIVE = "#2b6cb0"
NEGATIVE = "#c53030"
MAX_LABELLED_EDGES = 40   # more weight labels than this only clutter; tooltips remain


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
    """The network as a graph: inputs, then each layer (a box) of neurons, weights as edges.

    ``weight_labels``: print ``w`` and ``grad`` on each edge (default: when there are at most
    40 weights). Past ``max_nodes`` neurons, ValueError.
    """
    layers = _layers(model)
    n_inputs = len(layers[0].neurons[0].w)
    n_nodes = n_inputs + sum(len(layer.neurons) for layer in layers)
    if n_nodes > max_nodes:
        raise ValueError(f"the network has {n_nodes} inputs and neurons, more than "
                         f"max_nodes={max_nodes}; raise max_nodes to draw it anyway")
    n_weights = sum(len(n.w) for layer in layers for n in layer.neurons)
    if weight_labels is None:
        weight_labels = n_weights <= MAX_LABELLED_EDGES
    biggest = max((abs(w.data) for layer in layers for n in layer.neurons for w in n.w),
                  default=0.0) or 1.0

    graph = Diagram(name="network", format="svg")
    graph.attr(rankdir=rankdir, fontname=FONT, nodesep="0.25", ranksep="1.1", bgcolor="white",
               newrank="true", ordering="out")
    graph.attr("node", fontname=FONT, fontsize="11")
    graph.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.5")

    with graph.subgraph(name="cluster_inputs") as box:
        box.attr(label="inputs", style="rounded", color="#999999", fontsize="10")
        for i in range(n_inputs):
            box.node(f"x{i + 1}", label=f"x{i + 1}", shape="circle", style="filled",
                     fillcolor=ROLE_COLORS[INPUT], width="0.45", fixedsize="true")
    previous = [f"x{i + 1}" for i in range(n_inputs)]
    for li, layer in enumerate(layers, start=1):
        keys = []
        activation = getattr(layer, "activation", "")
        with graph.subgraph(name=f"cluster_layer{li}") as box:
            kind = "output layer" if li == len(layers) else "hidden layer"
            box.attr(label=f"layer {li} ({kind}, {activation})" if activation else f"layer {li}",
                     style="rounded", color="#9b87c1", fontsize="10")
            for ni, neuron in enumerate(layer.neurons, start=1):
                key = f"L{li}N{ni}"
                keys.append(key)
                b = neuron.b
                rows = (f'<TR><TD><B>N{ni}</B></TD></TR>'
                        f'<TR><TD>b {html.escape(fmt(b.data))}</TD></TR>'
                        f'<TR><TD>grad {html.escape(fmt(b.grad))}</TD></TR>')
                box.node(key, label=f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" '
                                    f'CELLPADDING="1">{rows}</TABLE>>',
                         shape="ellipse", style="filled", fillcolor=ROLE_COLORS[NEURON],
                         margin="0.05")
        if len(previous) != len(layer.neurons[0].w):
            raise ValueError(f"draw_network: layer {li} expects {len(layer.neurons[0].w)} "
                             f"inputs but the layer before gives {len(previous)}")
        for key, neuron in zip(keys, layer.neurons):
            for src, w in zip(previous, neuron.w):
                width = 0.4 + 3.6 * abs(w.data) / biggest
                tip = f"{w.label or 'w'} = {fmt(w.data)}, dloss/dw = {fmt(w.grad)}"
                colour = POSITIVE if w.data >= 0 else NEGATIVE
                # the label in the edge's colour, so it is clear which edge it belongs to
                attrs = dict(color=colour, fontcolor=colour, penwidth=f"{width:.2f}", tooltip=tip)
                if weight_labels:
                    attrs["label"] = (f"<w {html.escape(fmt(w.data))}<BR/>"
                                      f"g {html.escape(fmt(w.grad))}>")
                graph.edge(src, key, **attrs)
        previous = keys

    legend = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" '
              'COLOR="#999999">'
              '<TR><TD COLSPAN="2"><B>legend</B></TD></TR>'
              f'<TR><TD BGCOLOR="{POSITIVE}" WIDTH="24"> </TD>'
              '<TD ALIGN="LEFT">weight &gt; 0</TD></TR>'
              f'<TR><TD BGCOLOR="{NEGATIVE}" WIDTH="24"> </TD>'
              '<TD ALIGN="LEFT">weight &lt; 0</TD></TR>'
              '<TR><TD COLSPAN="2" ALIGN="LEFT">width grows with |w|; w = weight,<BR ALIGN="LEFT"/>'
              'g = dloss/dw from the last backward()<BR ALIGN="LEFT"/></TD></TR>'
              '<TR><TD COLSPAN="2" ALIGN="LEFT">neuron: b = bias, grad = dloss/db'
              '<BR ALIGN="LEFT"/></TD></TR></TABLE>>')
    with graph.subgraph(name="legend_rank") as corner:
        corner.attr(rank="sink")
        corner.node("legend", label=legend, shape="plain", fontsize="9")
    return graph
