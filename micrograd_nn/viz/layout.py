"""Where each node of a pinned drawing goes: columns along the arrows, boxes kept in order.

The collapsed view (``draw_graph(..., collapse=True)``) boxes each layer's neurons and each
sample; its positions are computed here and pinned (``pinned.Sheet``), so the picture keeps the
order the graph was built in: L1.N1 above L1.N2 (left of it when drawn top to bottom), sample 1
above sample 2. The rules:

* **columns**: a node sits one column after the furthest of its operands (a longest-path
  layering), a leaf just before its first reader, and all neurons of a layer box in one column;
* **boxes**: a layer box stacks its neurons in drawing order; a sample box holds, in each of its
  columns, its inputs and layer boxes, centred; sample boxes that share columns stack in order,
  one band each, and a sample box in columns of its own sits level with what feeds it;
* **other nodes** go level with the nodes they are joined to (the mean of their centres, readers
  for a leaf, computed operands otherwise), pushed apart where they would overlap, keeping room
  for the labels of their arrows. In the columns of the sample bands they go between the
  bands, in the gap nearest to where they want to be (a target y just under its sample).

The full view of an MLP's graph (``place_rows``) has the same columns, no boxes, and each
layer's neurons in order across, N1 first, their parameters beside them. On several samples
each sample's neurons form such a block, sample 1 first, and the parameters the samples share
get a column of their own just before the layer that reads them, each level with the middle
of its readers.

Sizes come from the labels (``pinned.html_size``), and the gap between two columns leaves room
for the labels of the arrows between them: twice their length, since the layout program puts
a label beside the middle of its arrow, on either side of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .pinned import Sheet
from .scene import BOX

__all__ = ["place", "place_rows"]

GAP = 0.22          # between nodes of one column (inches)
COLUMN_GAP = 0.55   # between columns, before room for arrow labels
PAD = 0.14          # inside a box, around what it holds
BAND_GAP = 0.3      # between two sample bands
ARROWHEAD = 6 / 72   # the length of an arrowhead (arrowsize 0.6, inches)
TEXT_INSET = 4 / 72  # the padding around the text of an arrow label (inches)
STAGGERS = 5        # how much wider apart every other layer's neurons may be: 0 to 2 label heights
SPREADS = 4         # and all neurons: up to 3/8 of their pitch


@dataclass(eq=False)
class Item:
    """A node, or a layer box of nodes stacked across; placed as one block in one column."""
    keys: list                        # the scene keys it holds, in order
    sizes: list                       # (along, across) of each
    box: tuple = ()                   # (key, title) of its box, () for a bare node
    column: int = 0
    offsets: list = field(default_factory=list)   # across offset of each key from the top
    across: float = 0.0               # its length across
    lo: float = 0.0                   # along: how far it reaches before / after the column line
    hi: float = 0.0
    top: float = 0.0                  # across position of its top, once placed
    placed: bool = False
    band_offset: float = 0.0          # in a band: its top below the band's top
    margin: float = 0.0               # room kept free across on both sides (arrow labels)


def _measure(item: Item, pads: dict) -> None:
    """Offsets, length across and reach along of an item (a box adds its pads)."""
    if not item.box:
        along, across = item.sizes[0]
        item.offsets, item.across, item.lo, item.hi = [across / 2], across, along / 2, along / 2
        return
    at = pads["across-"]
    item.offsets = []
    for along, across in item.sizes:
        item.offsets.append(at + across / 2)
        at += across + GAP
    item.across = at - GAP + pads["across+"]
    widest = max(along for along, _ in item.sizes)
    item.lo, item.hi = widest / 2 + pads["along-"], widest / 2 + pads["along+"]


def _pads(sheet: Sheet, title_size: float) -> dict:
    """Room inside a box on each side; on the top of the page, room for its title too."""
    pads = {"along-": PAD, "along+": PAD, "across-": PAD, "across+": PAD}
    pads[sheet.title_side] += sheet.title_height(title_size)
    return pads


@dataclass(eq=False)
class Band:
    """A sample box: items in several columns, stacked per column, centred across."""
    key: str
    title: str
    items: list
    across: float = 0.0
    top: float = 0.0


def place(scene, sizes: dict, label_sizes: list, sheet: Sheet, *, legend: tuple | None = None,
          title_size: float = 10) -> dict:
    """key -> (along, across) centre of every node of ``scene``; the boxes go onto ``sheet``.

    ``sizes``: key -> page (width, height) of each node; ``label_sizes``: page (width, height)
    of each edge's label (None: no label), in the order of ``scene.edges``; ``legend``: the
    page size of a legend, placed after the last column, level with the top (key "legend").
    """
    sizes = {key: sheet.oriented(*size) for key, size in sizes.items()}
    pads = _pads(sheet, title_size)
    items, bands = _items(scene, sizes)
    for item in items:
        _measure(item, pads)
    item_of = {key: item for item in items for key in item.keys}
    _label_margins(scene, label_sizes, item_of, sheet)
    graph = _Neighbours(scene, item_of)
    _columns(items, graph)
    columns, reach = _column_lines(items, bands, scene, label_sizes, item_of, sheet, pads)
    _across(items, bands, graph, pads)
    centre = {}
    for item in items:
        for key, offset in zip(item.keys, item.offsets):
            centre[key] = (columns[item.column], item.top + offset)
    _draw_boxes(items, bands, columns, pads, sheet, title_size)
    if legend is not None:
        top = min([item.top for item in items] + [band.top for band in bands])
        centre["legend"] = _legend_centre(legend, reach, top, sheet)
    return centre


def place_rows(scene, sizes: dict, label_sizes: list, sheet: Sheet, slots: dict, *,
               ports: dict | None = None, legend: tuple | None = None) -> dict:
    """key -> (along, across) centre of every node of a full (not collapsed) drawing whose
    neurons keep their order: ``slots`` maps the keys of each neuron's nodes (its parameters,
    its operations and values) to (layer, neuron index from 1, their order in the neuron).

    Columns as in ``place``. Across, the neurons of every layer are centred on one line, one
    pitch apart, N1 first, and half a pitch off the layer before (a layer's outputs share a
    column with the next layer's parameters, which go between them); in each column a
    neuron's nodes stack in their order around its centre. The other nodes go level with the
    nodes they are joined to; each column is then pushed apart where it overlaps, keeping its
    order. ``ports``: key -> the cell arrows leave from (``pinned.port_box``), to foresee
    where the labels of the arrows go: of a few pitches, the one with fewest labels over each
    other is kept.
    """
    sizes = {key: sheet.oriented(*size) for key, size in sizes.items()}
    items = [Item([key], [sizes[key]]) for key in scene.nodes]
    for item in items:
        _measure(item, {})
    item_of = {item.keys[0]: item for item in items}
    _label_margins(scene, label_sizes, item_of, sheet)
    graph = _Neighbours(scene, item_of)
    _columns(items, graph)
    slot_of = {item: slots[item.keys[0]] for item in items if item.keys[0] in slots}
    shared = [item for item, slot in slot_of.items() if slot[0] == 0]
    if shared:
        _own_columns(items, shared)
    columns, reach = _column_lines(items, [], scene, label_sizes, item_of, sheet, {},
                                   over={item.column for item in shared})
    ports = ports or {}
    labels = [(item_of[e.src], item_of[e.dst], size)
              for e, size in zip(scene.edges, label_sizes) if size is not None]
    height = max((sheet.oriented(*size)[1] for _, _, size in labels), default=0.0)

    def lay_out(stagger: float, spread: float) -> int:
        for item in items:
            item.placed = False
        _slot_rows(items, slot_of, stagger, spread, graph)
        _rows_around_slots(items, graph, slot_of)
        return _clashes(labels, columns, sheet, ports)

    # the labels in the middle of the arrows between two layers meet where they cross; every
    # other layer's neurons a little wider apart, and all of them wider apart if need be, as
    # little as keeps the fewest labels over each other
    tries = [(stagger * height / 2, 1 + spread / 8) for spread in range(SPREADS)
             for stagger in range(STAGGERS)]
    clashes = [lay_out(*t) for t in tries]
    best = tries[clashes.index(min(clashes))]
    lay_out(*best)
    centre = {item.keys[0]: (columns[item.column], _centre(item)) for item in items}
    if legend is not None:
        centre["legend"] = _legend_centre(legend, reach, min(i.top for i in items), sheet)
    return centre


def _clashes(labels: list, columns: list, sheet: Sheet, ports: dict) -> int:
    """How many pairs of arrow labels would overlap. The layout program puts a label with its
    lower right corner at the middle of the arrow's line: from the side of its tail facing the
    flow to where its arrowhead begins, on the ellipse of the operation it points at."""
    boxes = []
    for src, dst, (width, height) in labels:
        x0, y0 = sheet.xy(columns[src.column], _centre(src))
        dx, dy = _port_side(ports.get(src.keys[0]), src, sheet)
        x0, y0 = x0 + dx, y0 + dy
        x1, y1 = sheet.xy(columns[dst.column], _centre(dst))
        rx, ry = (s / 2 for s in (dst.sizes[0] if sheet.rankdir in ("LR", "RL")
                                  else dst.sizes[0][::-1]))
        dx, dy = x1 - x0, y1 - y0
        reach = math.hypot(dx / rx, dy / ry) if rx and ry else 0.0
        length = math.hypot(dx, dy)
        if reach > 1 and length:
            back = 1 / reach + ARROWHEAD / length   # the ellipse, then the arrowhead
            x1, y1 = x1 - back * dx, y1 - back * dy
        x, y = (x0 + x1) / 2, (y0 + y1) / 2
        x, y = x - 0.95 * width, y + 0.47 * height        # the label's centre
        boxes.append((x - width / 2 + TEXT_INSET, y - height / 2 + TEXT_INSET,
                      x + width / 2 - TEXT_INSET, y + height / 2 - TEXT_INSET))
    boxes.sort()
    count = 0
    for i, (a0, b0, a1, b1) in enumerate(boxes):
        for c0, d0, c1, d1 in boxes[i + 1:]:
            if c0 >= a1:
                break
            count += d0 < b1 and b0 < d1
    return count


def _port_side(cell: tuple | None, item: Item, sheet: Sheet) -> tuple:
    """Where an arrow leaves a node, from its centre on the page (inches, y upwards): the side
    of its ``cell`` (x0, y0, x1, y1, y downwards from the centre) facing the flow, else the
    node's own side."""
    if cell is None:
        along, across = item.sizes[0]
        x, y = sheet.xy(along / 2, 0.0)
        return x, y
    x0, y0, x1, y1 = cell
    return {"LR": (x1, -(y0 + y1) / 2), "RL": (x0, -(y0 + y1) / 2),
            "TB": ((x0 + x1) / 2, -y1), "BT": ((x0 + x1) / 2, -y0)}[sheet.rankdir]


def _label_margins(scene, label_sizes: list, item_of: dict, sheet: Sheet) -> None:
    """Labelled arrows that meet keep their labels apart: room across both their ends."""
    for edge, size in zip(scene.edges, label_sizes):
        if size is not None:
            for end in (item_of[edge.src], item_of[edge.dst]):
                end.margin = max(end.margin, sheet.oriented(*size)[1])


def _legend_centre(legend: tuple, reach: float, top: float, sheet: Sheet) -> tuple:
    """A legend after the last column, its top level with ``top``."""
    along, across = sheet.oriented(*legend)
    return reach + COLUMN_GAP + along / 2, top + across / 2


def _own_columns(items: list, shared: list) -> None:
    """The parameters that several samples share in a column of their own, just before the
    layer that reads them (not among the outputs of the layer before, where each would sit
    beside one sample only)."""
    for item in shared:
        item.column += 0.5
    renumber = {c: i for i, c in enumerate(sorted({item.column for item in items}))}
    for item in items:
        item.column = renumber[item.column]


def _slot_rows(items: list, slot_of: dict, stagger: float, spread: float,
               graph: _Neighbours) -> None:
    """Place the items of the neurons: each layer's neurons centred, one pitch apart, half a
    pitch off the layer before where they would be level with it (a layer's outputs share a
    column with the next layer's parameters: these go between them). Several samples: one
    such block each, sample 1 first, one after the other; the parameters they share
    (sample 0) are left to ``_rows_around_slots``."""
    count: dict = {}
    slot_of = {item: slot for item, slot in slot_of.items() if slot[0] != 0}
    for _, layer, index, _ in slot_of.values():
        count[layer] = max(count.get(layer, 0), index)
    centres: dict = {}      # layer -> the centre of its first neuron, in pitches
    before: set = set()
    for layer in sorted(count):
        first = (1 - count[layer]) / 2
        if first in before:
            first += 0.5
        centres[layer] = first
        before = {first + k for k in range(count[layer])}
    stacks: dict = {}       # (column, sample, layer, index) -> items, in their order
    for item, (sample, layer, index, _) in slot_of.items():
        stacks.setdefault((item.column, sample, layer, index), []).append(item)
    longest: dict = {}      # (column, layer) -> the longest stack
    for (column, _, layer, index), stack in stacks.items():
        stack.sort(key=lambda i: slot_of[i])
        length = sum(i.across + 2 * i.margin for i in stack) + GAP * (len(stack) - 1)
        longest[column, layer] = max(longest.get((column, layer), 0.0), length)
    need: dict = {}         # column -> the pitch its stacks need
    for (column, _), length in longest.items():
        need[column] = need.get(column, 0.0) + length + 2 * GAP
    pitch = max(need.values(), default=0.0) * spread
    for (_, _, layer, index), stack in stacks.items():
        length = sum(i.across + 2 * i.margin for i in stack) + GAP * (len(stack) - 1)
        top = (centres[layer] + index - 1) * (pitch + stagger * (layer % 2 == 0)) - length / 2
        for item in stack:
            item.top, item.placed = top + item.margin, True
            top += item.across + 2 * item.margin + GAP
    _stack_samples(items, slot_of, graph)


def _stack_samples(items: list, slot_of: dict, graph: _Neighbours) -> None:
    """Each sample's block of neurons after the one before, one band gap apart. A block
    reaches as far as its inputs will (the leaves only its neurons read, stacked level with
    their readers, placed later by ``_rows_around_slots``): three inputs of a one-neuron
    layer stand out of its block."""
    blocks: dict = {}
    for item, (sample, *_) in slot_of.items():
        blocks.setdefault(sample, []).append(item)
    inputs: dict = {}
    for item in items:
        readers = graph.readers.get(item, [])
        samples = {slot_of[r][0] if r in slot_of else None for r in readers}
        if item not in slot_of and graph.is_source(item) and len(samples) == 1:
            inputs.setdefault(samples.pop(), []).append(item)
    end = None
    for sample in sorted(blocks):
        block = blocks[sample]
        start = min(i.top - i.margin for i in block)
        stop = max(i.top + i.across + i.margin for i in block)
        leaves = inputs.get(sample, [])
        if leaves:
            readers = {r for leaf in leaves for r in graph.readers[leaf]}
            middle = sum(map(_centre, readers)) / len(readers)
            length = sum(i.across + 2 * i.margin for i in leaves) + GAP * (len(leaves) - 1)
            start, stop = min(start, middle - length / 2), max(stop, middle + length / 2)
        shift = 0.0 if end is None else end + BAND_GAP - start
        for item in block:
            item.top += shift
        end = stop + shift


def _rows_around_slots(items: list, graph: _Neighbours, slot_of: dict) -> None:
    """The items outside the neurons level with what they are joined to: computed ones with
    their operands (left to right), leaves with their readers (right to left); each column
    pushed apart where it overlaps, its items kept in the order they want (the parameters
    that samples share: in the order of their neurons, then w1, w2, ..., b)."""
    by_column: dict = {}
    for item in items:
        by_column.setdefault(item.column, []).append(item)
    for c in sorted(by_column):
        column = by_column[c]
        for item in column:
            if not item.placed and not graph.is_source(item):
                want = _wanted(item, graph, prefer_readers=False)
                item.top, item.placed = (want or 0.0) - item.across / 2, True
        placed = [i for i in column if i.placed]
        _pack_at(placed, [i.top for i in placed])
    for c in sorted(by_column, reverse=True):
        column = by_column[c]
        if all(slot_of.get(item, (1,))[0] == 0 for item in column):
            column.sort(key=lambda item: slot_of[item])
        for item in column:
            if not item.placed:
                want = _wanted(item, graph, prefer_readers=True)
                item.top, item.placed = (want or 0.0) - item.across / 2, True
        _pack_at(column, [i.top for i in column])


# -------------------------------------------------------------------------------------------------
# Items, bands and who is joined to whom


def _items(scene, sizes: dict) -> tuple:
    """The items (nodes and layer boxes, in drawing order) and the sample bands."""
    items, boxes, bands = [], {}, {}
    for key, node in scene.nodes.items():
        path = node.cluster
        inner = path[-1] if path and node.kind == "neuron" else None
        band = path[0] if path and (len(path) > 1 or node.kind != "neuron") else None
        if inner is not None and inner in boxes:
            boxes[inner].keys.append(key)
            boxes[inner].sizes.append(sizes[key])
            continue
        item = Item([key], [sizes[key]], box=inner or ())
        if inner is not None:
            boxes[inner] = item
        items.append(item)
        if band is not None:
            bands.setdefault(band, Band(band[0], band[1], [])).items.append(item)
    return items, list(bands.values())


class _Neighbours:
    """The items each item's arrows come from (operands) and go to (readers)."""

    def __init__(self, scene, item_of: dict):
        self.operands: dict = {}
        self.readers: dict = {}
        for edge in scene.edges:
            src, dst = item_of[edge.src], item_of[edge.dst]
            if src is not dst:
                self.operands.setdefault(dst, []).append(src)
                self.readers.setdefault(src, []).append(dst)

    def is_source(self, item: Item) -> bool:
        return not self.operands.get(item)


def _columns(items: list, graph: _Neighbours) -> None:
    """Longest-path columns (items come in drawing order: operands first), then each leaf just
    before its first reader; renumbered so that no column is empty."""
    for _ in range(len(items)):      # a box's later members may read items drawn after it
        changed = False
        for item in items:
            column = 1 + max((o.column for o in graph.operands.get(item, ())), default=-1)
            changed |= column != item.column
            item.column = column
        if not changed:
            break
    for item in reversed(items):
        readers = graph.readers.get(item)
        if graph.is_source(item) and readers:
            item.column = min(r.column for r in readers) - 1
    used = sorted({item.column for item in items})
    renumber = {c: i for i, c in enumerate(used)}
    for item in items:
        item.column = renumber[item.column]


# -------------------------------------------------------------------------------------------------
# Along: one line per column


def _column_lines(items, bands, scene, label_sizes, item_of, sheet, pads,
                  over: set = frozenset()) -> list:
    """The along position of each column's centre line, and how far the last one reaches.
    ``over``: columns that arrows pass over, from the column before to the one after; their
    labels (at the middle of the arrow) go before such a column, which moves on to make room."""
    n = 1 + max(item.column for item in items)
    lo, hi = [0.0] * n, [0.0] * n
    for item in items:
        lo[item.column] = max(lo[item.column], item.lo)
        hi[item.column] = max(hi[item.column], item.hi)
    for band in bands:     # a band's box reaches past the items of its first and last columns
        first = min(item.column for item in band.items)
        last = max(item.column for item in band.items)
        lo[first] = max(lo[first], max(i.lo for i in band.items if i.column == first)
                        + pads["along-"])
        hi[last] = max(hi[last], max(i.hi for i in band.items if i.column == last)
                       + pads["along+"])
    room = [0.0] * n        # the longest arrow label between column c - 1 and column c
    passing = [0.0] * n     # the longest arrow label over column c
    for edge, size in zip(scene.edges, label_sizes):
        if size is None:
            continue
        a, b = item_of[edge.src].column, item_of[edge.dst].column
        along, _ = sheet.oriented(*size)
        if abs(b - a) == 1:
            room[max(a, b)] = max(room[max(a, b)], 2 * along)
        elif abs(b - a) == 2 and min(a, b) + 1 in over:
            passing[min(a, b) + 1] = max(passing[min(a, b) + 1], along)
    lines = [lo[0]]
    for c in range(1, n):
        lines.append(lines[-1] + hi[c - 1] + COLUMN_GAP + room[c] + lo[c])
        if passing[c] and c + 1 < n:
            # the column after is ``after`` further on. The middle of an arrow from c - 1 to
            # c + 1 (from the right side of its tail) has a label beside it, before or after
            # it: a label's length clear of column c - 1 and of column c
            after = hi[c] + COLUMN_GAP + room[c + 1] + lo[c + 1]
            clear = hi[c - 1] + max(after + 2 * (lo[c] + passing[c] + GAP),
                                    2 * (passing[c] + GAP) - after)
            lines[-1] = max(lines[-1], lines[-2] + clear)
    return lines, lines[-1] + hi[-1]


# -------------------------------------------------------------------------------------------------
# Across: bands in order, the rest level with its neighbours


@dataclass(eq=False)
class _Group:
    """Bands that share columns, stacked in order. A group in columns of its own (the output
    of an attention head after its keys) sits level with what feeds it."""
    bands: list
    first: int                  # its columns
    last: int
    top: float = 0.0
    held: dict = field(default_factory=dict)    # gap k -> column -> loose items in it
    gaps: list = field(default_factory=list)    # gap k -> (start, end) across


def _groups(bands: list) -> list:
    groups: list = []
    for band in bands:
        columns = [item.column for item in band.items]
        joined = [g for g in groups if g.first <= max(columns) and min(columns) <= g.last]
        members = [b for g in joined for b in g.bands] + [band]
        groups = [g for g in groups if g not in joined]
        groups.append(_Group(sorted(members, key=bands.index),
                             min([min(columns)] + [g.first for g in joined]),
                             max([max(columns)] + [g.last for g in joined])))
    return sorted(groups, key=lambda g: g.first)


def _across(items, bands, graph: _Neighbours, pads: dict) -> None:
    for band in bands:
        _stack_band(band, pads)
    groups = _groups(bands)
    group_at = {c: g for g in groups for c in range(g.first, g.last + 1)}
    in_band = {id(item) for band in bands for item in band.items}
    loose = [item for item in items if id(item) not in in_band]
    inside = [item for item in loose if item.column in group_at]
    outside = [item for item in loose if item.column not in group_at]
    free = sorted({item.column for item in outside})
    before = [c for c in free if groups and c < groups[0].first]

    def column(c):
        return [item for item in outside if item.column == c]

    def sweep():        # left to right: groups and computed items level with their operands
        for c in sorted(set(free) | {g.first for g in groups}):
            if c in group_at and group_at[c].first == c:
                _place_group(group_at[c], graph)
            elif c not in before:
                _pack([i for i in column(c) if not graph.is_source(i)], graph,
                      prefer_readers=False)

    sweep()             # without the loose items of the bands' columns, to see where they go
    for group in groups:
        group.held = _gaps([i for i in inside if group_at[i.column] is group], group.gaps,
                           graph)
    sweep()
    for c in reversed(free):            # then the leaves, level with their readers
        if c in before:
            _pack(column(c), graph, prefer_readers=True)
        else:
            _settle(column(c), graph)


def _place_group(group: _Group, graph: _Neighbours) -> None:
    """Stack the group's bands and what sits between them, centred on what feeds it from
    columns before its own (if anything does)."""
    feeding = [_centre(o) for band in group.bands for item in band.items
               for o in graph.operands.get(item, ()) if o.column < group.first and o.placed]
    gaps = _stack_bands(group.bands, group.held, 0.0)
    if feeding:
        group.top = sum(feeding) / len(feeding) - gaps[-1][1] / 2
    group.gaps = _stack_bands(group.bands, group.held, group.top)
    _fill_gaps(group.held, group.gaps)


def _centre(item: Item) -> float:
    return item.top + item.across / 2


def _wanted(item: Item, graph: _Neighbours, prefer_readers: bool) -> float | None:
    """The mean centre of the items this one is joined to (readers first for a leaf)."""
    first, second = graph.operands.get(item, []), graph.readers.get(item, [])
    if prefer_readers and graph.is_source(item) or not first:
        first, second = second, first
    else:   # the computed operands, not the leaves beside them (a target y beside yhat)
        first = [i for i in first if not graph.is_source(i)] or first
    for group in (first, second):
        placed = [_centre(i) for i in group if i.placed]
        if placed:
            return sum(placed) / len(placed)
    return None


def _stack_band(band: Band, pads: dict) -> None:
    """Each column of the band: its items one under the other, centred across the band."""
    by_column: dict = {}
    for item in band.items:
        by_column.setdefault(item.column, []).append(item)
    lengths = {c: sum(i.across for i in col) + GAP * (len(col) - 1)
               for c, col in by_column.items()}
    inner = max(lengths.values())
    band.across = pads["across-"] + inner + pads["across+"]
    for c, column in by_column.items():
        at = pads["across-"] + (inner - lengths[c]) / 2
        for item in column:
            item.band_offset = at
            at += item.across + GAP


def _stack_bands(bands: list, held: dict, start: float) -> list:
    """Bands one under the other, from ``start``; ``held``: gap k -> column -> the items
    between band k - 1 and band k (gap 0 above the first band, gap n below the last). Returns
    the gaps as (start, end) across."""
    gaps, at = [], start
    for k in range(len(bands) + 1):
        room = max((sum(i.across for i in col) + GAP * (len(col) + 1)
                    for col in held.get(k, {}).values()), default=0.0)
        gap = max(BAND_GAP, room) if 0 < k < len(bands) else room
        gaps.append((at, at + gap))
        at += gap
        if k < len(bands):
            band = bands[k]
            band.top = at
            for item in band.items:
                item.top, item.placed = at + item.band_offset, True
            at += band.across
    return gaps


def _gaps(inside: list, gaps: list, graph: _Neighbours) -> dict:
    """gap k -> column -> items, for the loose items in the bands' columns: each goes to the
    gap nearest to where it wants to be (a tie: the lower one), in the order of wanting."""
    held: dict = {}
    ordered = [i for i in inside if not graph.is_source(i)] + \
              [i for i in inside if graph.is_source(i)]
    for item in ordered:
        wanted = _wanted(item, graph, prefer_readers=True)
        if wanted is None:
            wanted = gaps[-1][0]
        k = min(range(len(gaps)), key=lambda g: (abs(sum(gaps[g]) / 2 - wanted), -g))
        item.top, item.placed = wanted - item.across / 2, True
        held.setdefault(k, {}).setdefault(item.column, []).append(item)
    for by_column in held.values():
        for column in by_column.values():
            column.sort(key=lambda i: i.top)
    return held


def _fill_gaps(held: dict, gaps: list) -> None:
    for k, by_column in held.items():
        start, end = gaps[k]
        for column in by_column.values():
            length = sum(i.across for i in column) + GAP * (len(column) - 1)
            at = (start + end - length) / 2
            for item in column:
                item.top, item.placed = at, True
                at += item.across + GAP


def _pack(column: list, graph: _Neighbours, prefer_readers: bool) -> None:
    """Items of one column level with what they are joined to, without overlapping, in the
    order of where they want to be (ties: drawing order), moved as little as possible."""
    wanted = []
    for item in column:
        w = _wanted(item, graph, prefer_readers)
        if w is None:
            w = _centre(item) if item.placed else 0.0
        wanted.append(w - item.across / 2)
    _pack_at(column, wanted)


def _pack_at(column: list, wanted: list) -> None:
    """Put the items of ``column`` at the tops they want, or as near as they fit without
    overlapping, in the order of where they want to be (ties: their order in ``column``)."""
    # centres rounded: two items that want one place keep their order (x1 before x2)
    order = sorted(range(len(column)),
                   key=lambda i: (round(wanted[i] + column[i].across / 2, 9), i))
    blocks: list = []       # [start wanted for the block, items, length, count]
    for i in order:
        item = column[i]
        block = [wanted[i] - item.margin, [item], item.across + 2 * item.margin, 1]
        blocks.append(block)
        while len(blocks) > 1 and blocks[-2][0] + blocks[-2][2] + GAP > blocks[-1][0]:
            upper, lower = blocks[-2], blocks.pop()
            # the merged block's top: the mean of what each item asks of it
            total = upper[3] + lower[3]
            upper[0] = (upper[0] * upper[3] + (lower[0] - upper[2] - GAP) * lower[3]) / total
            upper[1] += lower[1]
            upper[2] += GAP + lower[2]
            upper[3] = total
    for start, members, _, _ in blocks:
        for item in members:
            item.top, item.placed = start + item.margin, True
            start += item.across + 2 * item.margin + GAP


def _settle(column: list, graph: _Neighbours) -> None:
    """The leaves of a column, each level with its readers, or as near as it fits around what
    is already there (the column's computed items stay where they are)."""
    taken = [(i.top - i.margin, i.top + i.across + i.margin) for i in column
             if not graph.is_source(i)]
    leaves = [i for i in column if graph.is_source(i)]
    wanted = [_wanted(i, graph, prefer_readers=True) for i in leaves]
    wanted = [0.0 if w is None else w for w in wanted]
    for k in sorted(range(len(leaves)), key=lambda k: (wanted[k], k)):
        item = leaves[k]
        length = item.across + 2 * item.margin
        top = wanted[k] - length / 2
        tries = [top] + [end + GAP for _, end in taken] + \
                [start - GAP - length for start, _ in taken]
        fits = [t for t in tries if all(t + length + GAP <= start or t >= end + GAP
                                        for start, end in taken)]
        best = min(fits, key=lambda t: (abs(t - top), -t))
        item.top, item.placed = best + item.margin, True
        taken.append((best, best + length))


# -------------------------------------------------------------------------------------------------
# Boxes


def _draw_boxes(items, bands, columns, pads, sheet: Sheet, title_size: float) -> None:
    """Each band's box, then the layer boxes, in drawing order (outer boxes first)."""
    inside = set()
    for band in bands:
        first = min(item.column for item in band.items)
        last = max(item.column for item in band.items)
        start = columns[first] - max(i.lo for i in band.items if i.column == first)
        end = columns[last] + max(i.hi for i in band.items if i.column == last)
        sheet.box((start - pads["along-"], band.top),
                  (end + pads["along+"], band.top + band.across), BOX, band.title, title_size)
        for item in band.items:
            _item_box(item, columns, sheet, title_size)
            inside.add(id(item))
    for item in items:
        if id(item) not in inside:
            _item_box(item, columns, sheet, title_size)


def _item_box(item: Item, columns: list, sheet: Sheet, title_size: float) -> None:
    if item.box:
        line = columns[item.column]
        sheet.box((line - item.lo, item.top), (line + item.hi, item.top + item.across),
                  BOX, item.box[1], title_size)
