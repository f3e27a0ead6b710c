"""``python -m micrograd_nn graph``: draw the seed neuron, or an expression over named inputs.

    python -m micrograd_nn graph                                  # the seed neuron -> graph.svg
    python -m micrograd_nn graph --out neuron.png --highlight w1 --explain w1
    python -m micrograd_nn graph --expr "(x*w + b).sigmoid()" --set x=1.5 w=0.25 b=0.1 --out f.dot

``run_graph`` raises GraphArgumentError (a ValueError) for arguments that cannot work (bad
--set, a refused expression, an unknown name) and RendererNotFoundError/RenderError
(RuntimeErrors) when SVG or PNG cannot be rendered; the command line reports them.
"""

from __future__ import annotations

import argparse
import pathlib

from ..engine import Value
from .diagram import DEFAULT_MAX_NODES, EXERCISES, draw_graph
from .explain import explain
from .explore import explore_html
from .expr import METHODS, parse_assignments, parse_expr
from .naming import find_by_label
from .rendering import FORMATS, TIMEOUT_SECONDS, render
from .seed import SEED_PARAMETERS, seed_neuron
from .trace import trace_html

__all__ = ["add_graph_arguments", "run_graph", "build_root", "GraphArgumentError"]


class GraphArgumentError(ValueError):
    """Arguments of the ``graph`` command that cannot work; the message names the option."""


def add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``graph`` command to ``parser``."""
    what = parser.add_argument_group("what to draw (default: the seed tutorial's 2-input "
                                     "sigmoid neuron with its squared-error loss)")
    what.add_argument("--expr", metavar="EXPR",
                      help="an expression over names given with --set, e.g. "
                           "\"(x*w + b).sigmoid()\"; allowed: + - * / ** unary -, numbers, "
                           "parentheses and the methods " + ", ".join(f".{m}()" for m in METHODS))
    what.add_argument("--set", metavar="NAME=NUMBER", nargs="+", action="extend", default=[],
                      dest="assignments", help="values of the names in --expr, e.g. x=1.5 w=0.25")
    what.add_argument("--params", metavar="NAME", nargs="+", default=None,
                      help="names to colour as parameters (default for the seed neuron: "
                           + " ".join(SEED_PARAMETERS) + ")")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="PATH", default="graph.svg",
                     help="file to write; the format comes from its suffix .svg, .png or .dot "
                          "(default graph.svg)")
    out.add_argument("--format", choices=FORMATS, default=None,
                     help="the format, when the suffix of --out does not say it")
    out.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help=f"stop the layout after this many seconds with an error (default "
                          f"{TIMEOUT_SECONDS:g})")
    out.add_argument("--trace", metavar="HTML",
                     help="also write a self-contained HTML page stepping through backward")
    out.add_argument("--explore", metavar="HTML",
                     help="also write a self-contained HTML page with a slider per leaf, where "
                          "values and gradients follow live, a nudge readout and SGD steps")
    out.add_argument("--explain", metavar="NAME",
                     help="also print the chain rule for d output / d NAME, path by path")
    look = parser.add_argument_group("drawing")
    look.add_argument("--rankdir", choices=("LR", "TB"), default="LR",
                      help="left to right (default) or top to bottom")
    look.add_argument("--highlight", metavar="NAME",
                      help="draw every path from the output to NAME in bold")
    look.add_argument("--exercise", choices=EXERCISES,
                      help="blank with '?' the gradients, the local derivatives, or both")
    look.add_argument("--no-local-grads", action="store_true",
                      help="leave the local derivatives off the arrows")
    look.add_argument("--no-grads", action="store_true", help="leave the gradients out")
    look.add_argument("--no-legend", action="store_true", help="leave the legend out")
    look.add_argument("--expand-linear", action="store_true",
                      help="draw each fused linear node as its products and one sum")
    look.add_argument("--collapse", action="store_true",
                      help="draw each neuron (linear + activation) as one node")
    look.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, metavar="N",
                      help=f"refuse graphs with more values than this (default "
                           f"{DEFAULT_MAX_NODES})")


def build_root(expr: str | None, assignments: list) -> tuple:
    """(root, default parameter names): the seed neuron, or ``expr`` over ``assignments``.

    The root is labelled "f" (unless the expression is a bare name) and has been through
    backward.
    """
    if expr is None:
        if assignments:
            raise ValueError("--set gives values to the names of --expr; pass --expr too")
        return seed_neuron(), list(SEED_PARAMETERS)
    values = parse_assignments(assignments)
    names = {name: Value(number, name) for name, number in values.items()}
    root = parse_expr(expr, names)
    if not isinstance(root, Value):
        raise ValueError(f"--expr {expr!r} uses no name given with --set, so there is no graph "
                         f"to draw (it is the number {root!r})")
    if not root.label:
        root.label = "f"
    root.backward()
    return root, []


def _find(root: Value, name: str, option: str) -> Value:
    try:
        return find_by_label(root, name)
    except ValueError as error:
        raise ValueError(f"{option} {name}: {error}") from None


def _output_path(out: str, format: str | None) -> tuple:
    path = pathlib.Path(out)
    suffix = path.suffix.lstrip(".").lower()
    if format is None:
        if suffix not in FORMATS:
            raise ValueError(f"--out {out!r}: give it a suffix .svg, .png or .dot, or pass "
                             f"--format")
        return path, suffix
    if not suffix:
        return path.with_suffix("." + format), format
    if suffix != format:
        raise ValueError(f"--out {out!r} has the suffix .{suffix} but --format is {format}")
    return path, format


def run_graph(args: argparse.Namespace) -> list:
    """Carry out the ``graph`` command; returns the paths written (diagram, trace, explore).

    Arguments that cannot work raise GraphArgumentError (a ValueError, which the CLI reports as
    a usage error); a missing renderer raises RendererNotFoundError.
    """
    try:
        return _run_graph(args)
    except ValueError as error:
        raise GraphArgumentError(str(error)) from None


def _run_graph(args: argparse.Namespace) -> list:
    if args.max_nodes < 1:
        raise ValueError(f"--max-nodes must be at least 1, got {args.max_nodes}")
    root, default_params = build_root(args.expr, args.assignments)
    params = default_params if args.params is None else args.params
    for name in params:   # a misspelt name would silently colour nothing
        _find(root, name, "--params")
    path, format = _output_path(args.out, args.format)
    highlight = _find(root, args.highlight, "--highlight") if args.highlight else None
    graph = draw_graph(root, rankdir=args.rankdir, show_local_grads=not args.no_local_grads,
                       show_grads=not args.no_grads, highlight=highlight, params=params,
                       max_nodes=args.max_nodes, collapse=args.collapse,
                       expand_linear=args.expand_linear, exercise=args.exercise,
                       legend=not args.no_legend)
    if args.explain:
        print(explain(root, _find(root, args.explain, "--explain")))
    written = [render(graph, path, format=format, timeout=args.timeout)]
    if args.trace:
        written.append(trace_html(root, args.trace, rankdir=args.rankdir, params=params,
                                  max_nodes=args.max_nodes))
    if args.explore:
        written.append(explore_html(root, args.explore, rankdir=args.rankdir,
                                    params=params or None, max_nodes=args.max_nodes))
    return written
