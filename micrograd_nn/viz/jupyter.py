"""Rich display in Jupyter: a Value, or a diagram, shows as its SVG picture.

A diagram displays by itself (``Diagram._repr_mimebundle_``, in rendering.py). For a Value,
`register` tells IPython's display formatter to show it as its chain-rule diagram; ``import
micrograd_nn`` calls it when IPython is running. Nothing is patched onto ``Value``: the engine
knows nothing of diagrams, and IPython keeps the registration.
"""

from __future__ import annotations

from typing import Iterable

from ..engine import Value
from .diagram import draw_graph
from .rendering import mimebundle

__all__ = ["repr_mimebundle", "register"]


def repr_mimebundle(obj, include: Iterable[str] | None = None,
                    exclude: Iterable[str] | None = None) -> dict:
    """The IPython mimebundle of a Value (its chain-rule diagram) or of a drawn graph.

    SVG by default, PNG when asked for in ``include``; ``text/plain`` is always there, so a
    terminal shows the repr. Display never raises: a graph too big to draw, or no renderer,
    leaves the text alone (with the reason for a diagram).
    """
    if not isinstance(obj, Value):
        return mimebundle(obj, include, exclude)
    try:
        graph = draw_graph(obj)
    except ValueError as error:  # too big to draw: the repr is all there is
        if exclude is not None and "text/plain" in set(exclude):
            return {}
        return {"text/plain": f"{obj!r}\n(no diagram: {error})"}
    return mimebundle(graph, include, exclude, text=repr(obj))


def register(shell=None) -> bool:
    """Show Values as their diagrams in the IPython ``shell`` (the running one by default).

    Registers `repr_mimebundle` for ``Value`` with the shell's mimebundle formatter. Returns
    False, changing nothing, when there is no shell (plain Python, IPython not running).
    """
    if shell is None:
        try:
            from IPython import get_ipython   # optional: only where IPython is installed
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.mimebundle_formatter.for_type(Value, repr_mimebundle)
    return True
