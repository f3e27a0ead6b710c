"""Turning DOT text into SVG or PNG: finding a Graphviz renderer and running it.

The ``graphviz`` package only writes DOT; pictures need a layout program. Looked for in order:

1. the program named by the environment variable ``MICROGRAD_NN_DOT`` (a path), if set;
2. a system Graphviz ``dot`` on PATH (``apt install graphviz``, ``brew install graphviz``);
3. ``graphviz-pure`` (a dependency of this package: a self-contained renderer with the same
   flags as ``dot``) on PATH, in the scripts directory of this Python
   (``sysconfig.get_path("scripts")``, the venv's ``bin`` even when it is not on PATH) or next
   to ``sys.executable``.

If none is found, ``RendererNotFoundError`` says how to get one; DOT files need no renderer.

A layout that takes longer than ``timeout`` seconds (default ``TIMEOUT_SECONDS``, 60; change
the module constant or pass ``timeout=``) is stopped, and ``RenderError`` says so: a graph that
slow is too big to read anyway.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
from typing import Iterable

import graphviz

from .._checks import positive_number
from .._files import write_atomically

__all__ = ["RendererNotFoundError", "RenderError", "find_renderer", "pipe", "render", "mimebundle",
           "FORMATS", "Diagram"]

FORMATS = ("svg", "png", "dot")
ENV_VAR = "MICROGRAD_NN_DOT"
PNG_DPI = 150           # sharper than Graphviz's default 96 dpi, still small files
TIMEOUT_SECONDS = 60    # a layout that long is a bug or an absurd graph; say so instead of hanging


class RendererNotFoundError(RuntimeError):
    """No Graphviz renderer (system ``dot`` or ``graphviz-pure``) could be found."""


class RenderError(RuntimeError):
    """The renderer ran but failed (its exit code and stderr are in the message)."""


def _candidates() -> list:
    names = ["graphviz-pure.exe", "graphviz-pure"] if os.name == "nt" else ["graphviz-pure"]
    places = []
    scripts = sysconfig.get_path("scripts")
    if scripts:
        places.append(pathlib.Path(scripts))
    if sys.executable:
        places.append(pathlib.Path(sys.executable).parent)
    return [place / name for place in places for name in names]


def find_renderer() -> str:
    """The path of the program that turns DOT into pictures (see the module docstring).

    Raises RendererNotFoundError when there is none.
    """
    pinned = os.environ.get(ENV_VAR)
    if pinned:
        if shutil.which(pinned) is None:
            raise RendererNotFoundError(
                f"{ENV_VAR}={pinned!r} is set but is not an executable program; "
                f"point it at a Graphviz 'dot' or 'graphviz-pure', or unset it")
        return shutil.which(pinned)
    for program in ("dot", "graphviz-pure"):
        found = shutil.which(program)
        if found:
            return found
    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise RendererNotFoundError(
        "no Graphviz renderer found to draw SVG or PNG: looked for 'dot' and 'graphviz-pure' on "
        "PATH and 'graphviz-pure' beside this Python. Install one with "
        "'pip install graphviz-pure' (no system packages needed) or 'apt install graphviz' / "
        "'brew install graphviz'. The DOT source needs no renderer: render(graph, 'x.dot') "
        "still works, and graph.source holds the text.")


def _source(graph) -> str:
    if isinstance(graph, str):
        return graph
    source = getattr(graph, "source", None)
    if isinstance(source, str):
        return source
    raise TypeError(f"expected a graphviz graph (with .source) or DOT text, got "
                    f"{type(graph).__name__} (a Value is drawn first by micrograd_nn.viz.render "
                    f"and micrograd_nn.viz.pipe)")


def _format(format) -> str:
    if not isinstance(format, str):
        raise TypeError(f"format must be a str, one of {', '.join(FORMATS)}, "
                        f"got {type(format).__name__}: {format!r}")
    return format.lower()


def _timeout(timeout) -> float:
    if timeout is None:
        return TIMEOUT_SECONDS
    return positive_number(timeout, "timeout")


def pipe(graph, format: str = "svg", *, timeout: float | None = None) -> bytes:
    """Render a graph (or DOT text) to ``format`` ("svg" or "png") and return the bytes.

    The renderer reads DOT on stdin and writes the picture on stdout; a non-zero exit, or a
    layout running past ``timeout`` seconds (default ``TIMEOUT_SECONDS``), raises RenderError.
    """
    format = _format(format)
    seconds = _timeout(timeout)
    source = _source(graph)
    if format == "dot":
        return source.encode("utf-8")
    if format not in ("svg", "png"):
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    program = find_renderer()
    command = [program, f"-T{format}"]
    if format == "png":
        command.append(f"-Gdpi={PNG_DPI}")
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True,
                              timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{program} took more than the time limit of {seconds:g} s to lay out "
                          f"the graph and was stopped; draw a smaller or collapsed graph, or "
                          f"allow more time (timeout=, --timeout)") from None
    except OSError as error:
        raise RenderError(f"could not run the renderer {program}: {error}") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{program} -T{format} failed with exit code {done.returncode}: "
                          f"{stderr or '(no message)'}")
    return done.stdout


def render(graph, path, *, format: str | None = None,
           timeout: float | None = None) -> pathlib.Path:
    """Write ``graph`` to ``path`` as SVG, PNG or DOT, chosen by ``format`` or the path's suffix.

    ``graph`` is what ``draw_graph``/``draw_network`` return (any graphviz graph), DOT text, or
    a Value (drawn with ``draw_graph``'s defaults).

    The file appears whole or not at all (``micrograd_nn._files.write_atomically``: an
    existing file keeps its mode, a symlink is written through). Returns the path written. The layout
    may take ``timeout`` seconds (default ``TIMEOUT_SECONDS``), then RenderError.
    """
    path = pathlib.Path(path)
    fmt = _format(path.suffix.lstrip(".") if format is None else format)
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(path)!r}: give it a suffix .svg, .png "
                         f"or .dot, or pass format= one of {', '.join(FORMATS)}")
    data = pipe(graph, fmt, timeout=timeout)
    return write_atomically(path, data)


class Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with the renderer found above.

    ``pipe``, ``render`` and the Jupyter display (``_repr_mimebundle_``) go through
    ``find_renderer``, so a diagram shows in a notebook, and saves, with only ``graphviz-pure``
    installed. Everything else is the graphviz package's Digraph (``.source`` is the DOT text).
    """

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,
             engine=None, encoding=None):
        data = pipe(self, format or "svg")
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False,
               *, outfile=None, engine=None, raise_if_result_exists=False,
               overwrite_source=False) -> str:
        """graphviz's ``render``, through ``find_renderer``: save the DOT source (``filename``,
        default ``<name>.gv``), write the picture beside it as ``<source>.<format>`` (or to
        ``outfile``), return the picture's path. ``cleanup`` removes the source; ``view`` is
        not supported (open the file yourself).
        """
        if view:
            raise ValueError("view=True is not supported here; open the returned file yourself")
        fmt = format or (pathlib.Path(outfile).suffix.lstrip(".") if outfile else None) or "svg"
        if outfile is not None:
            target = pathlib.Path(outfile)
            source_path = None
        else:
            source_path = pathlib.Path(self.save(filename, directory=directory))
            target = source_path.with_name(f"{source_path.name}.{fmt}")
        if raise_if_result_exists and target.exists():
            raise FileExistsError(f"output file exists: {str(target)!r}")
        written = render(self, target, format=fmt)
        if cleanup and source_path is not None:
            source_path.unlink()
        return str(written)

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        return mimebundle(self, include, exclude)


_SVG, _PNG, _TEXT = "image/svg+xml", "image/png", "text/plain"


def mimebundle(graph, include: Iterable[str] | None = None,
               exclude: Iterable[str] | None = None, text: str | None = None) -> dict:
    """The IPython mimebundle of a graph: SVG by default, PNG when asked for in ``include``,
    and ``text/plain`` (``text``, else the repr) unless excluded. It never raises: without a
    renderer, or when the renderer fails, the text says why and is all there is."""
    include = None if include is None else set(include)
    exclude = set(exclude or ())
    wanted = [m for m in ((_SVG,) if include is None else (_SVG, _PNG))
              if (include is None or m in include) and m not in exclude]
    bundle = {} if _TEXT in exclude else {_TEXT: repr(graph) if text is None else text}
    try:
        for mime in wanted:
            data = pipe(graph, "svg" if mime == _SVG else "png")
            bundle[mime] = data.decode("utf-8") if mime == _SVG else data
    except (RendererNotFoundError, RenderError) as error:
        if _TEXT in bundle:
            bundle[_TEXT] += f"\n(no picture: {error})"
    return bundle
