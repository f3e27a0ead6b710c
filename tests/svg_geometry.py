"""The geometry of a rendered SVG picture, and the collisions a reader would trip over.

Read from the SVG the renderer writes: every node's shapes and texts, every arrow's path and
label texts, every cluster's frame (a ``subgraph cluster`` of ``dot``, or a pinned box node
``box<k>`` of the layouts that place everything themselves). A text's extent comes from the
font metrics the layouts use (``pinned.text_width``, Helvetica): from its anchor, its advance
width; from its baseline, the font's ascent (0.75 of the size) above and descent (0.21) below.

``collisions(svg)`` lists, each as a short sentence:

* **node on node**: two nodes (not clusters) whose shapes overlap;
* **label on label**: two texts of different arrows, or an arrow's text on a node's text;
* **label on a node**: an arrow's text over a node's shape;
* **arrow across a label**: an arrow crossing the text of another arrow;
* **arrow across a node's text**: an arrow crossing a text of a node (or a box's title), where
  it is visible, not hidden under a filled shape drawn after it;
* **label outside its cluster**: an arrow's text reaching into a cluster (sample, layer) that
  does not hold both ends of its arrow, or out of the innermost one that holds both.

Overlaps of less than ``SLACK`` points either way are not counted (anti-aliasing, rounding).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cached_property

from micrograd_nn.viz.pinned import text_width

NS = "{http://www.w3.org/2000/svg}"
ASCENT, DESCENT = 0.75, 0.21
SLACK = 0.75


@dataclass
class Text:
    text: str
    box: tuple                  # x0, y0, x1, y1 (SVG coordinates, y downwards)
    size: float


@dataclass
class Shape:
    kind: str                   # "polygon", "ellipse", "path"
    box: tuple
    filled: bool
    order: int                  # document order: later shapes are drawn over earlier ones
    ellipse: tuple = ()         # cx, cy, rx, ry


@dataclass
class Element:
    kind: str                   # "node", "edge", "cluster"
    name: str                   # node name, "tail->head", cluster name
    shapes: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    points: list = field(default_factory=list)     # an arrow's path, sampled

    @cached_property
    def reach(self) -> tuple:
        """The bounding box of an arrow's path."""
        if not self.points:
            return (0.0, 0.0, 0.0, 0.0)
        return (min(p[0] for p in self.points), min(p[1] for p in self.points),
                max(p[0] for p in self.points), max(p[1] for p in self.points))

    @property
    def frame(self) -> tuple:
        boxes = [s.box for s in self.shapes]
        return _union(boxes) if boxes else ()


def _union(boxes) -> tuple:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _numbers(text: str) -> list:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def _bezier(path: str) -> list:
    """Points along an SVG path of M and C commands (Graphviz writes only these)."""
    numbers = _numbers(path)
    pairs = list(zip(numbers[0::2], numbers[1::2]))
    points = [pairs[0]]
    for k in range(1, len(pairs) - 2, 3):
        p0, p1, p2, p3 = pairs[k - 1], pairs[k], pairs[k + 1], pairs[k + 2]
        steps = max(2, int(math.dist(p0, p3) / 1.5))
        for s in range(1, steps + 1):
            t = s / steps
            points.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * c
                                + t ** 3 * d for a, b, c, d in zip(p0, p1, p2, p3)))
    return points


def _text(node) -> Text:
    size = float(node.get("font-size", "14"))
    content = "".join(node.itertext())
    bold = node.get("font-weight") == "bold"
    width = text_width(content, size, bold)
    x, y = float(node.get("x")), float(node.get("y"))
    anchor = node.get("text-anchor", "start")
    x0 = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
    return Text(content, (x0, y - ASCENT * size, x0 + width, y + DESCENT * size), size)


def read(svg: bytes | str) -> list:
    """The nodes, arrows and clusters of a rendered picture, in document order."""
    root = ET.fromstring(svg)
    top = next(g for g in root.iter(f"{NS}g") if g.get("class") == "graph")
    transform = _numbers(top.get("transform", ""))
    dx, dy = (transform[-2], transform[-1]) if len(transform) >= 2 else (0.0, 0.0)
    elements, order = [], 0
    for g in top.iter(f"{NS}g"):
        kind = g.get("class")
        if kind not in ("node", "edge", "cluster"):
            continue
        name = "".join(g.find(f"{NS}title").itertext()) if g.find(f"{NS}title") is not None else ""
        if kind == "node" and re.fullmatch(r"box\d+", name):
            kind = "cluster"            # a pinned box around a layer or a sample
        element = Element(kind, name)
        for child in g.iter():
            tag = child.tag.replace(NS, "")
            order += 1
            filled = child.get("fill", "none") not in ("none", "transparent")
            if tag == "text":
                element.texts.append(_text(child))
            elif tag in ("polygon", "polyline"):
                n = _numbers(child.get("points", ""))
                element.shapes.append(Shape(tag, _union([(min(n[0::2]), min(n[1::2]),
                                                          max(n[0::2]), max(n[1::2]))]),
                                            filled, order))
            elif tag == "ellipse":
                cx, cy, rx, ry = (float(child.get(a)) for a in ("cx", "cy", "rx", "ry"))
                element.shapes.append(Shape("ellipse", (cx - rx, cy - ry, cx + rx, cy + ry),
                                            filled, order, (cx, cy, rx, ry)))
            elif tag == "path":
                points = _bezier(child.get("d", ""))
                if kind == "edge":
                    element.points.extend((x, y, order) for x, y in points)
                elif points:
                    xs, ys = [p[0] for p in points], [p[1] for p in points]
                    element.shapes.append(Shape("path", (min(xs), min(ys), max(xs), max(ys)),
                                                filled, order))
        elements.append(element)
    del dx, dy      # every coordinate is in the group's frame; compare them as they are
    return elements


def overlap(a: tuple, b: tuple, slack: float = SLACK) -> bool:
    return (min(a[2], b[2]) - max(a[0], b[0]) > slack and
            min(a[3], b[3]) - max(a[1], b[1]) > slack)


def inside(a: tuple, b: tuple, slack: float = SLACK) -> bool:
    """Box a within box b."""
    return (a[0] >= b[0] - slack and a[1] >= b[1] - slack and a[2] <= b[2] + slack
            and a[3] <= b[3] + slack)


def _on_shape(box: tuple, shape: Shape) -> bool:
    if not overlap(box, shape.box):
        return False
    if shape.kind != "ellipse":
        return True
    cx, cy, rx, ry = shape.ellipse
    # the point of the (slackened) text box nearest the ellipse's centre, inside it?
    x = min(max(cx, box[0] + SLACK), box[2] - SLACK)
    y = min(max(cy, box[1] + SLACK), box[3] - SLACK)
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1


def _crosses(points: list, box: tuple, covers: list) -> bool:
    """Does a sampled arrow run through ``box`` (shrunk by the slack), where it is visible?
    ``covers``: the filled shapes drawn over the arrow."""
    x0, y0, x1, y1 = box[0] + SLACK, box[1] + SLACK, box[2] - SLACK, box[3] - SLACK
    for (ax, ay, _), (bx, by, _) in zip(points, points[1:]):
        if max(ax, bx) <= x0 or min(ax, bx) >= x1 or max(ay, by) <= y0 or min(ay, by) >= y1:
            continue
        for t in (0.0, 0.25, 0.5, 0.75, 1.0):
            x, y = ax + t * (bx - ax), ay + t * (by - ay)
            if x0 < x < x1 and y0 < y < y1 and not any(_covered(x, y, s) for s in covers):
                return True
    return False


def _covered(x: float, y: float, shape: Shape) -> bool:
    b = shape.box
    if not (b[0] <= x <= b[2] and b[1] <= y <= b[3]):
        return False
    if shape.kind == "ellipse":
        cx, cy, rx, ry = shape.ellipse
        return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1
    return True


def collisions(svg: bytes | str) -> list:
    """Every collision in a rendered picture, one sentence each (see the module)."""
    elements = read(svg)
    nodes = [e for e in elements if e.kind == "node"]
    edges = [e for e in elements if e.kind == "edge"]
    clusters = [e for e in elements if e.kind == "cluster" and e.frame]
    frame = {n.name: n.frame for n in nodes if n.frame}
    found = []
    for i, n in enumerate(nodes):
        for m in nodes[i + 1:]:
            if n.frame and m.frame and overlap(n.frame, m.frame):
                found.append(f"node on node: {n.name} and {m.name}")
    labels = [(e, t) for e in edges for t in e.texts]
    for i, (e, t) in enumerate(labels):
        for f, u in labels[i + 1:]:
            if f is not e and overlap(t.box, u.box):
                found.append(f"label on label: {t.text!r} ({e.name}) and {u.text!r} ({f.name})")
        for n in nodes:
            if any(_on_shape(t.box, s) for s in n.shapes):
                found.append(f"label on a node: {t.text!r} ({e.name}) over {n.name}")
            elif any(overlap(t.box, u.box) for u in n.texts):
                found.append(f"label on label: {t.text!r} ({e.name}) on a text of {n.name}")
        for f in edges:
            if f is not e and overlap(t.box, f.reach, 0) and _crosses(f.points, t.box, []):
                found.append(f"arrow across a label: {f.name} across {t.text!r} ({e.name})")
    filled = [s for n in nodes + clusters for s in n.shapes if s.filled]
    for e in edges:
        if not e.points:
            continue
        drawn_at = e.points[0][2]
        covers = [s for s in filled if s.order > drawn_at]
        for n in nodes + clusters:
            for t in n.texts:
                if overlap(t.box, e.reach, 0) and _crosses(e.points, t.box, covers):
                    found.append(f"arrow across a node's text: {e.name} across {t.text!r} "
                                 f"({n.name})")
    found += _outside_clusters(edges, clusters, frame)
    return found


def _outside_clusters(edges: list, clusters: list, frame: dict) -> list:
    """Labels reaching into a cluster that does not hold both ends of their arrow, or out of
    the innermost cluster that does."""
    found = []
    for e in edges:
        ends = [frame.get(end) for end in _ends(e.name)]
        if not e.texts or not all(ends):
            continue
        holding = [c for c in clusters if all(inside(end, c.frame) for end in ends)]
        innermost = min(holding, key=lambda c: _area(c.frame), default=None)
        for t in e.texts:
            if innermost is not None and not inside(t.box, innermost.frame):
                found.append(f"label outside its cluster: {t.text!r} ({e.name}) out of "
                             f"{innermost.name}")
            for c in clusters:
                if not any(inside(end, c.frame) for end in ends) and \
                        overlap(t.box, c.frame):
                    found.append(f"label outside its cluster: {t.text!r} ({e.name}) in "
                                 f"{c.name}")
    return found


def _ends(name: str) -> list:
    tail, head = re.split(r"->", name)
    return [tail.split(":")[0], head.split(":")[0]]


def _area(box: tuple) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def printed_size(svg: bytes | str, width: float, height: float, *,
                 enlarge: bool = True) -> float:
    """The smallest text of a picture, in points (or pixels), once it is scaled to fit a
    ``width`` x ``height`` page (or screen): its font size times the picture's own scale
    times the fitting scale. ``enlarge=False``: a picture smaller than the page is printed
    at its own size (a page is printed at 100%, shrunk only to fit)."""
    root = ET.fromstring(svg)
    _, _, w, h = _numbers(root.get("viewBox"))
    top = next(g for g in root.iter(f"{NS}g") if g.get("class") == "graph")
    zoom = float(re.search(r"scale\(([\d.]+)", top.get("transform", "scale(1)")).group(1))
    smallest = min(t.size for e in read(svg) for t in e.texts)
    fit = min(width / w, height / h)
    return smallest * zoom * (fit if enlarge else min(1.0, fit))


def cairo_overflows(svg: bytes | str, slack: float = 1.0) -> list:
    """Texts of nodes that spill out of their cell when cairosvg draws them: each text's
    advance width in the font cairo picks for its first family (what cairosvg asks for),
    against the smallest box of its node around its anchor."""
    import cairocffi

    surface = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 1, 1)
    context = cairocffi.Context(surface)
    options = cairocffi.FontOptions()
    options.set_hint_metrics(cairocffi.HINT_METRICS_OFF)    # widths as drawn at any scale
    context.set_font_options(options)
    root = ET.fromstring(svg)
    found = []
    for g in root.iter(f"{NS}g"):
        if g.get("class") != "node":
            continue
        cells = []
        for child in g:
            if child.tag == f"{NS}polygon":
                n = _numbers(child.get("points", ""))
                cells.append((min(n[0::2]), min(n[1::2]), max(n[0::2]), max(n[1::2])))
        for text in g.iter(f"{NS}text"):
            x, y = float(text.get("x")), float(text.get("y"))
            around = [c for c in cells if c[0] <= x <= c[2] and c[1] <= y <= c[3]]
            if not around:
                continue
            cell = min(around, key=_area)
            family = text.get("font-family", "serif").split(",")[0]
            weight = (cairocffi.FONT_WEIGHT_BOLD if text.get("font-weight") == "bold"
                      else cairocffi.FONT_WEIGHT_NORMAL)
            context.select_font_face(family, cairocffi.FONT_SLANT_NORMAL, weight)
            context.set_font_size(float(text.get("font-size", "14")))
            content = "".join(text.itertext())
            width = context.text_extents(content)[4]        # x advance
            anchor = text.get("text-anchor", "start")
            x0 = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
            if x0 < cell[0] - slack or x0 + width > cell[2] + slack:
                found.append(f"{content!r} ({width:.1f} wide) out of its cell "
                             f"{cell[0]:.1f}..{cell[2]:.1f}")
    return found
