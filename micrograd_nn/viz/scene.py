"""What a chain-rule diagram shows, before it becomes DOT: nodes, arrows, options, colours.

``diagram.py`` builds a scene from a graph of Values; ``dot.py`` writes it as DOT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..engine import Value, chain_term

__all__ = ["EDGE_LABELS", "EXERCISES", "PRESETS", "ROLE_COLORS", "DEFAULT_MAX_NODES",
           "DEFAULT_MAX_EDGES"]

EXERCISES = ("grads", "local", "both")
EDGE_LABELS = ("local", "flow", "both")
PRESETS = ("slide",)

DEFAULT_MAX_NODES = 250
# what makes a drawing unreadable is its arrows: MLP(2, [4, 4, 1]) on one sample has 97 arrows
# and reads well, on four samples 388 arrows and it is a hairball
DEFAULT_MAX_EDGES = 200

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
DATA_INK = "#1a7f37"      # forward values (green, as in CS231n's figures)
GRAD_INK = "#b42318"      # gradients and what flows back (red)
BLOCKED = "#9a9a9a"       # dashed arrows: nothing flows back
DIM_INK = "#b4b4b4"       # text and lines off the highlighted paths, or not reached yet
DIM_FILL = "#f7f7f7"
HIGHLIGHT = "#6d28d9"     # the highlighted paths (violet: apart from the gradients' red)
CURRENT = "#e67e22"       # the node being processed in a backward trace
BOX = "#9b87c1"           # the boxes around a layer or a sample
BLANK = "_"               # blanks of a worksheet are drawn with this, wide enough to write in


@dataclass
class Node:
    key: str
    kind: str                      # "value", "op" or "neuron"
    title: str = ""                # bold label
    caption: str = ""              # grey expression name
    data: float | None = None
    grad: float | None = None      # None: not known yet (trace)
    final_grad: float | None = None   # what grad will be at the end (sizes a trace's cells)
    role: str = INTERMEDIATE
    text: str = ""                 # an op's symbol, a neuron's description
    cluster: tuple = ()            # ((key, label), ...): the boxes it sits in, outermost first
    copy_of: str | None = None     # a copy drawn beside far readers: the key of the original
    notes: tuple = ()              # lines written under the box (a highlight's path products)


@dataclass
class Edge:
    """An arrow operand -> operation (or input -> neuron); it carries d result / d operand back.

    ``upstream`` is d root / d result (None: not passed on yet); the contribution it carries
    back is upstream * local, or 0 when upstream is 0 (backward's zero rule, ``engine.chain_term``).
    """
    src: str
    dst: str
    derivative: str = ""           # "dz/dw1"; empty for a bare arrow
    formula: str = ""              # "x1", when it says more than the number
    local: float | None = None
    upstream: float | None = None
    final_upstream: float | None = None
    quiet: bool = False            # carries numbers (for the style) but no label
    merged: tuple = ()             # the parallel arrows (x*x) this one stands for

    @property
    def contributions(self) -> list:
        """What each arrow it stands for carries back (None: not yet)."""
        if self.merged:
            return [c for e in self.merged for c in e.contributions]
        if self.local is None or self.upstream is None:
            return [None]
        return [0.0 if self.upstream == 0.0 else chain_term(self.upstream, self.local)]

    @property
    def final_contributions(self) -> list:
        """What each arrow it stands for carries back at the end of backward."""
        if self.merged:
            return [c for e in self.merged for c in e.final_contributions]
        upstream = self.upstream if self.final_upstream is None else self.final_upstream
        if self.local is None or upstream is None:
            return [None]
        return [0.0 if upstream == 0.0 else chain_term(upstream, self.local)]

    @property
    def contribution(self) -> float | None:
        parts = self.contributions
        return None if None in parts else sum(parts)


@dataclass
class Scene:
    nodes: dict = field(default_factory=dict)     # key -> Node, in drawing order
    edges: list = field(default_factory=list)
    where: dict = field(default_factory=dict)     # Value -> keys that stand for it
    # key -> (sample, layer, neuron index, place in the neuron) of the nodes of an MLP's
    # neurons, in a full drawing with two neurons or more: it is laid out keeping their order.
    # Sample 0: a parameter that the samples' copies of the neuron share
    slots: dict = field(default_factory=dict)

    def add(self, node: Node, value: Value | None = None) -> Node:
        self.nodes[node.key] = node
        if value is not None:
            self.where.setdefault(value, []).append(node.key)
        return node


@dataclass
class Options:
    rankdir: str = "LR"
    show_local_grads: bool = True
    show_grads: bool = True
    exercise: str | None = None
    answer_key: bool = False
    expand_linear: bool = False
    collapse: bool = False
    legend: bool = True
    edge_labels: str = "local"
    font_size: int = 11
    compact_legend: bool = False
    digits: int = 4                # results; factors get 2 more (naming.consistent_digits)
    rounded: bool = False          # the printed factors may miss the result's last digit
    paths_only: bool = False       # with a highlight: draw the paths to it alone
    fixed: bool = False            # cells sized for their final text (traces, worksheets)
    page: bool = False             # a worksheet: one column down a printed page, no small type

    @property
    def in_slots(self) -> bool:
        """Arrow labels written in their operations' boxes (slides and pages)."""
        return self.compact_legend or self.page

    @property
    def label_size(self) -> int:
        """The type of arrow labels (a page prints nothing smaller than ``font_size``)."""
        return self.font_size if self.page else self.font_size - 1

    @property
    def legend_size(self) -> int:
        return self.font_size if self.page else max(9, self.font_size - 2)

    @property
    def blank_grads(self) -> bool:
        return self.exercise in ("grads", "both") and not self.answer_key

    @property
    def blank_local(self) -> bool:
        return self.exercise in ("local", "both") and not self.answer_key

    @property
    def flow(self) -> bool:
        return self.edge_labels in ("flow", "both") and self.show_grads

    @property
    def local(self) -> bool:
        return self.edge_labels in ("local", "both") and self.show_local_grads


@dataclass
class Frame:
    """What a backward trace shows on top of a drawing (see trace.py)."""
    grads: Mapping                 # Value -> gradient accumulated so far
    current: Value | None          # the node passing its gradient on
    received: frozenset = frozenset()
    done: frozenset = frozenset()  # values that have passed their gradient on
    final: Mapping | None = None   # Value -> gradient at the end of backward
