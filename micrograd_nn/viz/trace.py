"""Backward, one step at a time: which node passes its gradient on, and what has arrived so far.

Backward visits the values from the output back to the inputs (reverse topological order). At
each interior node v, d root/d v is complete (every path above v has been added), and v adds

    d root/d operand  +=  d root/d v * d v/d operand

to each of its operands. ``trace_backward`` yields one frame per such step (after a first frame
that seeds d root/d root = 1), computing the same sums as ``Value.backward`` without touching any
``.grad``. ``trace_html`` draws every frame into one self-contained page.

Frames share one record of the gradients: each frame's ``grads`` reads the record as it stood
at its step, so all the frames of an n-value graph take memory and time linear in n and its
edges (not one copy of every gradient per frame, which grows as n squared).
"""

from __future__ import annotations

import html
import pathlib
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Iterator

from .._checks import optional_text
from ..engine import Value, backward_walk, chain_term
from .diagram import DEFAULT_MAX_NODES, DiagramTooLarge, _check_size, draw, make_options
from .scene import Frame as _Frame
from .naming import Namer, drawing_order, fmt
from .rendering import pipe, write_atomically

__all__ = ["Frame", "trace_backward", "trace_html", "trace_svgs"]


@dataclass(frozen=True)
class Frame:
    """One step of backward.

    ``node`` passes its finished gradient to its operands (the root itself in step 0, the seed);
    ``grads`` maps every value reached so far to the gradient accumulated so far (a read-only
    mapping);
    ``received`` are the operands that got a contribution in this step; ``text`` says it in words.
    """
    step: int
    node: Value
    grads: Mapping
    received: tuple
    text: str


class _History:
    """Every gradient backward has accumulated, with the step that wrote it, for all frames.

    ``steps[v]`` and ``values[v]`` list, in order, the steps at which v's gradient changed and
    what it became; ``order`` lists the values in the order they were first reached.
    """

    def __init__(self):
        self.steps: dict = {}
        self.values: dict = {}
        self.order: list = []

    def record(self, step: int, v: Value, grad) -> None:
        steps = self.steps.get(v)
        if steps is None:
            self.steps[v], self.values[v] = [step], [grad]
            self.order.append(v)
        else:
            steps.append(step)
            self.values[v].append(grad)


class _GradsAt(Mapping):
    """The gradients as they stood after one step: a read-only view of a shared ``_History``."""

    def __init__(self, history: _History, step: int):
        self._history, self._step = history, step
        self._size = len(history.order)

    def __getitem__(self, v):
        steps = self._history.steps.get(v)
        k = -1 if steps is None else bisect_right(steps, self._step) - 1
        if k < 0:
            raise KeyError(v)
        return self._history.values[v][k]

    def __iter__(self):
        return iter(self._history.order[:self._size])

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return repr(dict(self))


def trace_backward(root: Value, *, max_nodes: int = DEFAULT_MAX_NODES) -> Iterator[Frame]:
    """Yield the frames of ``root.backward()``: the seed, then one per interior node, in order.

    Past ``max_nodes`` values, DiagramTooLarge (a ValueError) before any step is taken: a
    trace that long is unreadable. Raise ``max_nodes`` to trace anyway; time and memory grow
    linearly with the graph.
    """
    if not isinstance(root, Value):
        raise TypeError(f"trace_backward needs a Value, got {type(root).__name__}")
    _check_size(max_nodes, "max_nodes")
    order = drawing_order(root)
    if len(order) > max_nodes:
        edges = sum(len(v.operands) for v in order)
        raise DiagramTooLarge(f"trace_backward: the graph has {len(order)} values, more than "
                              f"max_nodes={max_nodes}: one step per value is too long to follow; "
                              f"pass a larger max_nodes to trace it anyway",
                              values=len(order), edges=edges, max_nodes=max_nodes,
                              max_edges=edges, collapsed=False)
    return _frames(root, Namer(order))


def _frames(root: Value, namer: Namer) -> Iterator[Frame]:
    top = namer.named(root)
    history = _History()
    history.record(0, root, 1.0)
    yield Frame(0, root, _GradsAt(history, 0), (),
                f"seed: {Namer.d(top)}/{Namer.d(top)} = 1")
    for step, (v, g, grads) in enumerate(backward_walk(root), start=1):
        received = []
        parts = []
        # the walk has added this step's terms already: start from what came before them
        terms = [0.0 if g == 0.0 else chain_term(g, local) for local in v.local_grads]
        running = {p: grads[p] for p in v.operands}
        for p, term in zip(v.operands, terms):
            running[p] -= term
        for p, local, term in zip(v.operands, v.local_grads, terms):
            running[p] += term
            if p not in received:
                received.append(p)
            parts.append(f"{Namer.d(top)}/{Namer.d(namer.named(p))} += {fmt(g)} * {fmt(local)} "
                         f"= {fmt(term)}, now {fmt(running[p])}")
        for p in received:
            history.record(step, p, grads[p])
        text = (f"step {step}: {namer.name(v)} has its gradient {Namer.d(top)}/"
                f"{Namer.d(namer.named(v))} = {fmt(g)} and passes it to its operands: "
                + "; ".join(parts))
        yield Frame(step, v, _GradsAt(history, step), tuple(received), text)


def trace_graphs(root: Value, *, edge_labels: str = "local", rankdir: str | None = None,
                 params=None, max_nodes: int = DEFAULT_MAX_NODES, preset: str | None = None):
    """Yield (frame, diagram) for each step of backward, every diagram on one fixed layout.

    Cells that change between steps (gradients, what flows back) are sized for their last
    text, so the boxes never move: only colours and numbers change.
    """
    options = make_options(rankdir=rankdir, edge_labels=edge_labels, preset=preset, fixed=True)
    frames = list(trace_backward(root, max_nodes=max_nodes))
    final = frames[-1].grads
    done: set = set()
    for frame in frames:
        if frame.step:
            done.add(frame.node)
        yield frame, draw(root, options, max_nodes=max_nodes, params=params,
                          frame=_Frame(frame.grads, frame.node, frozenset(frame.received),
                                       frozenset(done), final))


def _frame_svgs(root: Value, **options) -> list:
    return [(frame, pipe(graph, "svg").decode("utf-8"))
            for frame, graph in trace_graphs(root, **options)]


def trace_svgs(root: Value, directory, *, edge_labels: str = "local",
               rankdir: str | None = None, params=None,
               max_nodes: int = DEFAULT_MAX_NODES) -> list:
    """Write one SVG per backward step, ``step_000.svg``, ``step_001.svg``, ... in ``directory``.

    Returns the paths written. Each picture marks the node being processed (orange) and shows
    the gradients accumulated so far (values not reached yet are greyed); all share one layout.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for frame, svg in _frame_svgs(root, edge_labels=edge_labels, rankdir=rankdir, params=params,
                                  max_nodes=max_nodes):
        paths.append(write_atomically(directory / f"step_{frame.step:03d}.svg",
                                      svg.encode("utf-8")))
    return paths


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }}
.js .frame {{ display: none; }}
.js .frame.shown {{ display: block; }}
.frame {{ border-top: 1px solid #ccc; padding-top: 0.5em; }}
.controls {{ display: none; }}
.js .controls {{ display: block; }}
.frame svg {{ max-width: 100%; height: auto; }}
.caption {{ font-family: Menlo, Consolas, monospace; font-size: 0.9em; margin: 0.8em 0;
           white-space: pre-wrap; }}
button {{ font-size: 1em; padding: 0.3em 1em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Backward visits the values from the output back to the inputs. At each step the orange
node's gradient is complete; it multiplies it by the local derivative on each of its arrows
and adds the product to that operand's gradient. Grey values have received nothing yet.</p>
<noscript><p>Without JavaScript every step is shown below, one after the other.</p></noscript>
<p class="controls"><button id="prev">&larr; previous</button>
<button id="next">next &rarr;</button>
<span id="where"></span> (keys: left and right arrows)</p>
{frames}
<script>
document.body.classList.add("js");
var frames = document.querySelectorAll(".frame"), at = 0;
function show(k) {{
  at = Math.max(0, Math.min(frames.length - 1, k));
  frames.forEach(function (f, i) {{ f.classList.toggle("shown", i === at); }});
  document.getElementById("where").textContent = "step " + at + " of " + (frames.length - 1);
}}
document.getElementById("prev").onclick = function () {{ show(at - 1); }};
document.getElementById("next").onclick = function () {{ show(at + 1); }};
document.addEventListener("keydown", function (e) {{
  if (e.key === "ArrowLeft") show(at - 1);
  if (e.key === "ArrowRight") show(at + 1);
}});
show(0);
</script>
</body>
</html>
"""


def _inline(svg: str) -> str:
    """An SVG document as an element that can sit inside HTML (no XML prolog or doctype)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def trace_html(root: Value, path, *, edge_labels: str = "local", rankdir: str | None = None,
               params=None, max_nodes: int = DEFAULT_MAX_NODES, title: str | None = None,
               preset: str | None = None) -> pathlib.Path:
    """Write a self-contained HTML page stepping through backward (inline SVGs, no network).

    Previous/next buttons (or the arrow keys) move between the frames of ``trace_backward``,
    all drawn on one layout; ``edge_labels="flow"`` writes on each arrow what it has carried
    back so far. Without JavaScript the page shows every frame, one under the other.
    Returns the path written.
    """
    title = optional_text(title, "title")
    frames = []
    pictures = _frame_svgs(root, edge_labels=edge_labels, rankdir=rankdir, params=params,
                           max_nodes=max_nodes, preset=preset)
    for k, (frame, svg) in enumerate(pictures):
        svg = re.sub(r"<!--.*?-->\n?", "", _inline(svg), flags=re.S)
        frames.append(f'<div class="frame" id="step{k}">\n'
                      f'<div class="caption">{html.escape(frame.text)}</div>\n{svg}</div>')
    name = root.label or "the output"
    page = _PAGE.format(title=html.escape(title or f"Backward through {name}, step by step"),
                        frames="\n".join(frames))
    return write_atomically(pathlib.Path(path), page.encode("utf-8"))
