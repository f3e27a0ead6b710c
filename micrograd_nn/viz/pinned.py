"""Drawings whose every position is computed here and pinned, so no layout program reorders them.

``dot`` orders the nodes of a rank to reduce crossings and takes no order as given: a layer's
neurons come out N4, N3, N2, N1, or in any other order. ``draw_network`` and the collapsed view
of ``draw_graph`` therefore place everything themselves, through a ``Sheet``:

* every node gets ``pos="x,y!"`` under ``layout=neato``, which keeps it where it is put;
* the rounded boxes around layers and samples are not nodes: they are drawn behind the nodes
  (the graph's ``_background``, in Graphviz's xdot drawing language), their titles are pinned
  text nodes. Since no node covers another, arrows can be routed around the nodes
  (``splines=true``) instead of running straight through whatever is in their way;
* two invisible corner nodes enclose the drawing. The layout program moves the drawing so that
  its lower left corner is the origin, but not the background: the lower left corner node fixes
  that corner, so the background is written relative to it.

Coordinates are in inches. "Along" runs the way the arrows point (left to right for
``rankdir="LR"``, downwards for "TB"), "across" at right angles to it (downwards for "LR" and
"RL", to the right for "TB" and "BT"). A box's title sits on its top side on the page.
"""

from __future__ import annotations

import html
import re

__all__ = ["Sheet", "html_size", "text_width"]

POINTS = 72.0            # points per inch: xdot coordinates are points
CORNER = 0.02            # size of the invisible corner nodes (inches)
MARGIN = 0.3             # room between the drawing and its corner nodes (inches)

# Helvetica's advance widths in thousandths of the font size (the Adobe font metrics); other
# characters count as 556 (a digit)
_WIDTHS = {" ": 278, "!": 278, '"': 355, "(": 333, ")": 333, "*": 389, "+": 584, ",": 278,
           "-": 333, ".": 278, "/": 278, ":": 278, ";": 278, "<": 584, "=": 584, ">": 584,
           "[": 278, "]": 278, "_": 556, "|": 260, "'": 191, "\u00d7": 584, "\u2014": 1000,
           "f": 278, "i": 222, "j": 222, "l": 222, "r": 333, "t": 278, "c": 500, "k": 500,
           "s": 500, "v": 500, "x": 500, "y": 500, "z": 500, "m": 833, "w": 722, "I": 278,
           "J": 500, "F": 611, "T": 611, "Z": 611, "L": 556, "M": 833, "W": 944, "C": 722,
           "D": 722, "H": 722, "N": 722, "R": 722, "U": 722, "G": 778, "O": 778, "Q": 778}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Points a line of Helvetica ``text`` takes at ``size`` points (bold about 6% wider)."""
    width = sum(_WIDTHS.get(c, 556) for c in text) * size / 1000
    return width * 1.06 if bold else width


_TABLE = re.compile(r"<TABLE([^>]*)>", re.I)
_ROW = re.compile(r"<TR>(.*?)</TR>", re.I | re.S)
_CELL = re.compile(r"<TD([^>]*)>(.*?)</TD>", re.I | re.S)


def _number(attrs: str, name: str, default: float) -> float:
    found = re.search(rf'(?<![A-Z]){name}="(\d+(?:\.\d+)?)"', attrs, re.I)
    return float(found.group(1)) if found else default


def html_size(label: str, size: float) -> tuple:
    """(width, height) in inches of a Graphviz HTML-like label ``<<TABLE>...</TABLE>>``.

    An estimate from Helvetica's widths, with the tables' borders, padding and spacing: the
    innermost table that holds the cells is measured, each table around it adds its border.
    """
    tables = _TABLE.findall(label)
    inner = tables[-1] if tables else ""
    border, padding = _number(inner, "CELLBORDER", 1), _number(inner, "CELLPADDING", 2)
    spacing = _number(inner, "CELLSPACING", 2)
    body = label[label.rfind("<TABLE"):] if tables else label
    width = height = 0.0
    rows = _ROW.findall(body) or [body]
    for row in rows:
        row_width, row_height = 0.0, 0.0
        for attrs, content in _CELL.findall(row) or [("", row)]:
            lines = re.split(r"<BR[^>]*>", content, flags=re.I)
            bold = "<B>" in content
            font = _number(content, "POINT-SIZE", size)
            text = [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in lines]
            w = max(text_width(t, font, bold) for t in text) + 2 * (padding + border)
            h = len(text) * font * 1.2 + 2 * (padding + border)
            if "FIXEDSIZE" in attrs.upper():
                w, h = _number(attrs, "WIDTH", w), _number(attrs, "HEIGHT", h)
            else:
                w, h = max(w, _number(attrs, "WIDTH", 0)), max(h, _number(attrs, "HEIGHT", 0))
            row_width += w + spacing
            row_height = max(row_height, h)
        width = max(width, row_width + spacing)
        height += row_height + spacing
    height += spacing
    frame = 2 * _number(inner, "BORDER", 1) + sum(
        2 * sum(_number(t, name, 1 if name == "BORDER" else 2)
                for name in ("BORDER", "CELLPADDING", "CELLSPACING")) for t in tables[:-1])
    return (width + frame) / POINTS, (height + frame) / POINTS


class Sheet:
    """Positions and boxes of a pinned drawing, oriented by ``rankdir`` (see the module)."""

    def __init__(self, rankdir: str = "LR"):
        self.rankdir = rankdir
        self.boxes: list = []           # (x0, y0, x1, y1, colour, title, font size) in inches
        self.low = [float("inf")] * 2   # the extent of everything placed, page inches
        self.high = [float("-inf")] * 2

    @property
    def title_side(self) -> str:
        """The side of a box on the top of the page: "across-" (LR, RL), "along-" (TB) or
        "along+" (BT)."""
        return {"LR": "across-", "RL": "across-", "TB": "along-", "BT": "along+"}[self.rankdir]

    @staticmethod
    def title_height(font_size: float) -> float:
        """Inches a box's title takes on its top side."""
        return font_size * 1.2 / POINTS + 0.1

    def oriented(self, width: float, height: float) -> tuple:
        """A page size (width, height) as (along, across)."""
        return (height, width) if self.rankdir in ("TB", "BT") else (width, height)

    def xy(self, along: float, across: float) -> tuple:
        """Page coordinates (inches, y upwards as in Graphviz) of a point."""
        return {"LR": (along, -across), "RL": (-along, -across), "TB": (across, -along),
                "BT": (across, along)}[self.rankdir]

    def _extend(self, x: float, y: float) -> None:
        self.low = [min(self.low[0], x), min(self.low[1], y)]
        self.high = [max(self.high[0], x), max(self.high[1], y)]

    def pos(self, along: float, across: float, size: tuple = (0.0, 0.0)) -> str:
        """``pos`` of a node of page ``size`` (width, height) centred at (along, across)."""
        x, y = self.xy(along, across)
        self._extend(x - size[0] / 2, y - size[1] / 2)
        self._extend(x + size[0] / 2, y + size[1] / 2)
        return f"{x:.3f},{y:.3f}!"

    def box(self, corner: tuple, other: tuple, colour: str, title: str = "",
            font_size: float = 10) -> None:
        """A rounded box between two opposite corners (along, across), ``title`` on top."""
        (x0, y0), (x1, y1) = self.xy(*corner), self.xy(*other)
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        self._extend(x0, y0)
        self._extend(x1, y1)
        self.boxes.append((x0, y0, x1, y1, colour, title, font_size))

    def finish(self, graph, font: str) -> None:
        """Pin the boxes' titles and the corner nodes, and draw the boxes behind everything."""
        for k, (x0, y0, x1, y1, colour, title, size) in enumerate(self.boxes):
            if title:
                y = y1 - self.title_height(size) / 2
                graph.node(f"box{k}_title", label=title, shape="plaintext", fontname=font,
                           fontsize=f"{size:g}", fontcolor=colour, margin="0,0", width="0",
                           height="0", pos=f"{(x0 + x1) / 2:.3f},{y:.3f}!")
        left, bottom = self.low[0] - MARGIN, self.low[1] - MARGIN
        right, top = self.high[0] + MARGIN, self.high[1] + MARGIN
        for name, (x, y) in (("corner_low", (left, bottom)), ("corner_high", (right, top))):
            graph.node(name, label="", shape="point", style="invis", width=f"{CORNER}",
                       height=f"{CORNER}", fixedsize="true", pos=f"{x:.3f},{y:.3f}!")
        # the layout program puts the lower left corner of corner_low at the origin
        origin = (left - CORNER / 2, bottom - CORNER / 2)
        drawing = [_rounded(box, origin) for box in self.boxes]
        if drawing:
            graph.attr(_background=" ".join(drawing))


def _rounded(box: tuple, origin: tuple, radius: float = 0.12) -> str:
    """xdot: a rounded rectangle outline (corner arcs as cubic Beziers), in points."""
    x0, y0, x1, y1, colour, _, _ = box
    r = min(radius, (x1 - x0) / 2, (y1 - y0) / 2)
    k = r * 0.45       # a quarter circle's control points lie 0.55 r along its tangents
    # start at the bottom edge, go anticlockwise; a straight side is a flat Bezier
    points = [(x0 + r, y0)]

    def line(x, y):
        last = points[-1]
        points.extend([last, (x, y), (x, y)])

    def arc(c1, c2, end):
        points.extend([c1, c2, end])

    line(x1 - r, y0)
    arc((x1 - k, y0), (x1, y0 + k), (x1, y0 + r))
    line(x1, y1 - r)
    arc((x1, y1 - k), (x1 - k, y1), (x1 - r, y1))
    line(x0 + r, y1)
    arc((x0 + k, y1), (x0, y1 - k), (x0, y1 - r))
    line(x0, y0 + r)
    arc((x0, y0 + k), (x0 + k, y0), (x0 + r, y0))
    text = " ".join(f"{(x - origin[0]) * POINTS:.2f} {(y - origin[1]) * POINTS:.2f}"
                    for x, y in points)
    return f"c {len(colour)} -{colour} B {len(points)} {text}"
