"""Drawings whose every position is computed here and pinned, so no layout program reorders them.

``dot`` orders the nodes of a rank to reduce crossings and takes no order as given: a layer's
neurons come out N4, N3, N2, N1, or in any other order. ``draw_network`` and the collapsed view
of ``draw_graph`` therefore place everything themselves, through a ``Sheet``:

* every node gets ``pos="x,y!"`` under ``layout=neato``, which keeps it where it is put;
* the rounded boxes around layers and samples are pinned nodes too, drawn first (behind what
  they hold), their titles inside on top (on the left when the arrows run downwards, where
  they come in at the middle). Arrows are straight (``splines=false``): a spline
  router would refuse nodes that cover others. Boxes drawn as the graph's background instead
  would not move with the nodes when the layout program shifts the drawing to the origin.

Coordinates are in inches. "Along" runs the way the arrows point (left to right for
``rankdir="LR"``, downwards for "TB"), "across" at right angles to it (downwards for "LR" and
"RL", to the right for "TB" and "BT"). A box's title sits on its top side on the page.
"""

from __future__ import annotations

import html
import re

__all__ = ["Sheet", "html_size", "port_box", "text_width"]

POINTS = 72.0            # points per inch

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


def _rows(label: str, size: float) -> tuple:
    """The innermost table of an HTML-like label: its rows as lists of (width, height, cell
    attributes) in points, its cell spacing, and the frame the tables around it add."""
    tables = _TABLE.findall(label)
    inner = tables[-1] if tables else ""
    border, padding = _number(inner, "CELLBORDER", 1), _number(inner, "CELLPADDING", 2)
    spacing = _number(inner, "CELLSPACING", 2)
    body = label[label.rfind("<TABLE"):] if tables else label
    rows = []
    for row in _ROW.findall(body) or [body]:
        cells = []
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
            cells.append((w, h, attrs))
        rows.append(cells)
    frame = 2 * _number(inner, "BORDER", 1) + sum(
        2 * sum(_number(t, name, 1 if name == "BORDER" else 2)
                for name in ("BORDER", "CELLPADDING", "CELLSPACING")) for t in tables[:-1])
    return rows, spacing, frame


def html_size(label: str, size: float) -> tuple:
    """(width, height) in inches of a Graphviz HTML-like label ``<<TABLE>...</TABLE>>``.

    An estimate from Helvetica's widths, with the tables' borders, padding and spacing: the
    innermost table that holds the cells is measured, each table around it adds its border.
    """
    rows, spacing, frame = _rows(label, size)
    width = max(sum(w + spacing for w, _, _ in cells) + spacing for cells in rows)
    height = sum(max(h for _, h, _ in cells) + spacing for cells in rows) + spacing
    return (width + frame) / POINTS, (height + frame) / POINTS


def port_box(label: str, size: float, port: str) -> tuple | None:
    """(x0, y0, x1, y1) in inches of the cell ``PORT="port"`` of an HTML-like label, from the
    label's centre (y downwards), or None if it has no such cell. A row narrower than the
    table shares what it lacks out among its cells."""
    rows, spacing, frame = _rows(label, size)
    width, height = html_size(label, size)
    inner = max(sum(w + spacing for w, _, _ in cells) for cells in rows)
    y = (frame / 2 + spacing) / POINTS - height / 2
    for cells in rows:
        row_height = max(h for _, h, _ in cells) / POINTS
        extra = (inner - sum(w + spacing for w, _, _ in cells)) / len(cells)
        x = (frame / 2 + spacing) / POINTS - width / 2
        for w, _, attrs in cells:
            w += extra
            if f'PORT="{port}"' in attrs:
                return x, y, x + w / POINTS, y + row_height
            x += (w + spacing) / POINTS
        y += row_height + spacing / POINTS
    return None


class Sheet:
    """Positions and boxes of a pinned drawing, oriented by ``rankdir`` (see the module)."""

    def __init__(self, rankdir: str = "LR"):
        self.rankdir = rankdir
        self.boxes: list = []           # (x0, y0, x1, y1, colour, title, font size) in inches
        self.drawn = 0                  # how many of them are in the graph already

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

    def pos(self, along: float, across: float) -> str:
        """``pos`` of a node centred at (along, across)."""
        x, y = self.xy(along, across)
        return f"{x:.3f},{y:.3f}!"

    def box(self, corner: tuple, other: tuple, colour: str, title: str = "",
            font_size: float = 10) -> None:
        """A rounded box between two opposite corners (along, across), ``title`` on top."""
        (x0, y0), (x1, y1) = self.xy(*corner), self.xy(*other)
        x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        self.boxes.append((x0, y0, x1, y1, colour, title, font_size))

    def draw_boxes(self, graph, font: str) -> None:
        """The boxes not drawn yet, as pinned nodes with their titles inside on top; called
        before adding the nodes they hold, so that those are drawn over them."""
        for k in range(self.drawn, len(self.boxes)):
            x0, y0, x1, y1, colour, title, size = self.boxes[k]
            # a node's line ends with \l to stand at its left (labeljust is for clusters),
            # clear of the rounded corner
            left = self.title_side != "across-" and title
            graph.node(f"box{k}", label=title + "\\l" if left else title, shape="box",
                       style="rounded", color=colour, fontname=font, fontsize=f"{size:g}", fontcolor=colour, labelloc="t",
                       labeljust="c" if self.title_side == "across-" else "l",
                       margin="0.12,0.03" if left else "0.05,0.03", width=f"{x1 - x0:.3f}", height=f"{y1 - y0:.3f}",
                       fixedsize="true", pos=f"{(x0 + x1) / 2:.3f},{(y0 + y1) / 2:.3f}!")
        self.drawn = len(self.boxes)
