"""Pictures and text that show the chain rule at work on a graph of Values.

- ``draw_graph(root)``: the diagram (arrows carry local derivatives, or with
  ``edge_labels="flow"`` the gradient they pass back; boxes carry data and grad);
  ``draw_network(model)``: a whole MLP, neurons in order, weights as arrows.
- ``render(graph, path)``: write .svg, .png or .dot (finds a system ``dot`` or ``graphviz-pure``).
- ``explain(root, wrt)``: the chain rule written out, path by path.
- ``trace_backward(root)`` / ``trace_html(root, path)``: backward step by step.
- ``explore_html(root, path)``: a page with a slider per leaf; values and gradients follow.
- the playground, a page that trains an MLP on 2-D data live, builds models, so it lives
  above ``nn``: ``micrograd_nn.playground.playground_html(path)``.
- ``seed_neuron()``: the tutorial's 2-input sigmoid neuron with its loss, after backward.
- ``repr_mimebundle(obj)``: Jupyter display.

The ``python -m micrograd_nn graph`` command lives with the other commands in ``cli.py``.
"""

from . import expr, rendering
from .diagram import (DEFAULT_MAX_EDGES, DEFAULT_MAX_NODES, EDGE_LABELS, EXERCISES,
                      DiagramTooLarge, draw_graph, pipe, render)
from .explain import explain
from .explore import explore_html
from .expr import parse_assignments, parse_expr
from .jupyter import repr_mimebundle
from .network import draw_network
from .rendering import Diagram, RenderError, RendererNotFoundError, find_renderer
from .scene import PRESETS
from .seed import SEED_PARAMETERS, seed_neuron
from .trace import Frame, trace_backward, trace_html, trace_svgs

__all__ = [
    "draw_graph", "draw_network", "render", "pipe", "find_renderer", "Diagram",
    "RendererNotFoundError", "RenderError", "explain", "explore_html", "trace_backward",
    "trace_html", "trace_svgs", "Frame", "seed_neuron", "SEED_PARAMETERS", "repr_mimebundle",
    "parse_expr", "parse_assignments", "DEFAULT_MAX_NODES", "DEFAULT_MAX_EDGES", "EXERCISES",
    "DiagramTooLarge", "EDGE_LABELS", "PRESETS",
]
