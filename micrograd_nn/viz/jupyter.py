"""Rich display in Jupyter: a Value, or a diagram, shows as its SVG picture.

Importing this module gives ``Value`` its ``_repr_mimebundle_`` (the engine knows nothing of
diagrams); ``import micrograd_nn`` imports it when IPython is running.
"""

from __future__ import annotations

from typing import Iterable

from ..engine import Value
from .rendering import RenderError, RendererNotFoundError, pipe

__all__ = ["repr_mimebundle"]

_SVG = "image/svg+xml"
_PNG = "image/png"
_TEXT = "text/plain"


def repr_mimebundle(obj, include: Iterable[str] | None = None,
                    exclude: Iterable[str] | None = None) -> dict:
    """The IPython mimebundle of a Value (its chain-rule diagram) or of a drawn graph.

    SVG by default, PNG when asked for in ``include``; ``text/plain`` is always there, so a
    terminal shows the repr. Display never raises: a graph too big to draw, or no renderer,
    leaves the text alone (with the reason for a diagram).
    """
    include = None if include is None else set(include)
    exclude = set(exclude or ())
    wanted = [m for m in ((_SVG,) if include is None else (_SVG, _PNG))
              if (include is None or m in include) and m not in exclude]
    bundle = {}
    if _TEXT not in exclude:
        bundle[_TEXT] = repr(obj)
    if not wanted:
        return bundle
    if isinstance(obj, Value):
        from .diagram import draw_graph
        try:
            graph = draw_graph(obj)
        except ValueError as error:  # too big to draw: the repr is all there is
            bundle[_TEXT] = f"{obj!r}\n(no diagram: {error})"
            return bundle
    else:
        graph = obj
    try:
        for mime in wanted:
            data = pipe(graph, "svg" if mime == _SVG else "png")
            bundle[mime] = data.decode("utf-8") if mime == _SVG else data
    except (RendererNotFoundError, RenderError) as error:
        if _TEXT in bundle:
            bundle[_TEXT] += f"\n(no picture: {error})"
    return bundle


def _value_mimebundle(self, include=None, exclude=None) -> dict:
    """Jupyter shows a Value as its chain-rule diagram."""
    return repr_mimebundle(self, include, exclude)


Value._repr_mimebundle_ = _value_mimebundle
