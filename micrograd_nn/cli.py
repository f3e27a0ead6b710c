"""The command line: ``micrograd-nn demo``, ``train ...``, ``graph ...``, ``exercises ...``.

All commands live here; ``graph`` draws with micrograd_nn.viz (imported when needed).

Also reachable as ``python -m micrograd_nn``. ``main(argv)`` returns the exit status: 0 on
success, 2 for bad arguments (argparse's convention, also used for impossible combinations such
as a hinge loss on three classes), 1 when training diverges or a file cannot be written.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Sequence

from .datasets import DATASETS, make_dataset
from .nn import ACTIVATIONS, INITS, MLP
from .optim import check_lr
from .train import (
    DEFAULT_LR, LOSSES, OPTIMIZERS, TrainingDiverged, default_loss, evaluate, fit, output_width,
)

__all__ = ["main", "build_parser", "run_graph", "add_graph_arguments"]

PROG = "micrograd-nn"
DEFAULT_OUT = "micrograd_nn_out"
BINARY_LOSSES = tuple(name for name, spec in LOSSES.items() if spec.binary)

# micrograd's two-moons demo, which `demo` reproduces
DEMO = dict(dataset="moons", samples=100, noise=0.1, hidden=[16, 16], activation="relu",
            loss="hinge", optimizer="sgd", lr=1.0, schedule="linear", l2=1e-4, epochs=100,
            batch_size=None, init="uniform", classes=None, seed=1)


class UsageError(Exception):
    """Arguments that parse but cannot work together; reported like an argparse error."""


# -------------------------------------------------------------------------------------------------
# Argument types


def _widths(text: str) -> list[int]:
    """"16,16" -> [16, 16]; "" -> [] (no hidden layer: a single layer of output neurons)."""
    text = text.strip()
    if not text:
        return []
    widths = []
    for part in text.split(","):
        try:
            n = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: hidden layer widths are comma-separated positive ints, e.g. 16,16"
            ) from None
        if n < 1:
            raise argparse.ArgumentTypeError(
                f"{text!r}: every hidden layer needs at least 1 neuron, got {n}"
            )
        widths.append(n)
    return widths


def _int_at_least(low: int, what: str):
    """An argparse type: the text as an int >= low, else an error saying ``what`` is expected."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {n}")
        return n
    return parse


_positive_int = _int_at_least(1, "a positive int")
_nonnegative_int = _int_at_least(0, "an int >= 0")


def _number(low: float, inclusive: bool):
    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(x) or not (x >= low if inclusive else x > low):
            raise argparse.ArgumentTypeError(
                f"expected a finite number {'>=' if inclusive else '>'} {low:g}, got {text}"
            )
        return x
    return parse


def _learning_rate(text: str) -> float:
    """An argparse type: a learning rate, by the optimizers' one rule (``optim.check_lr``)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    try:
        return check_lr(x)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# -------------------------------------------------------------------------------------------------
# The parser


def _add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"folder for the pictures and the model (default: ./{DEFAULT_OUT}/)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is also off when stderr is not a terminal)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train small neural networks on 2-D toy data with a scalar autograd "
                    "engine, and draw the computational graphs that backpropagation walks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_demo_command(sub)
    _add_train_command(sub)
    _add_graph_command(sub)
    _add_exercises_command(sub)
    _add_playground_command(sub)
    return parser


def _add_demo_command(sub) -> None:
    demo = sub.add_parser(
        "demo", help="micrograd's two-moons demo: train, then save the loss curve, the "
                     "decision boundary and the seed neuron's graph",
        description="Train MLP(2, [16, 16, 1]) on 100 two-moons points with the hinge loss, "
                    "1e-4 L2 and SGD (lr 1.0 decaying to 0.1) for 100 steps, as in micrograd; "
                    "save a loss curve, a decision boundary and the graph of the 2-input "
                    "sigmoid neuron of the tutorial.",
    )
    demo.add_argument("--epochs", type=_positive_int, default=DEMO["epochs"],
                      help=f"training steps (default {DEMO['epochs']})")
    demo.add_argument("--seed", type=_nonnegative_int, default=DEMO["seed"],
                      help=f"seed of the data and the initial weights (default {DEMO['seed']})")
    _add_output_arguments(demo)


def _add_train_command(sub) -> None:
    train = sub.add_parser(
        "train", help="train an MLP on a toy dataset of your choice",
        description="Train an MLP on a 2-D toy dataset and save its loss curve, decision "
                    "boundary and parameters. The default loss is hinge for two classes and "
                    "cross_entropy for more.",
    )
    data = train.add_argument_group("data")
    data.add_argument("--dataset", choices=sorted(DATASETS), default="moons",
                      help="default: moons")
    data.add_argument("--samples", type=_positive_int, default=None,
                      help="number of points (default: the dataset's own, 100 to 300)")
    data.add_argument("--noise", type=_number(0.0, True), default=None,
                      help="noise level (default: the dataset's own)")
    data.add_argument("--classes", type=_positive_int, default=None,
                      help="number of classes, for blobs and spiral (default 3)")
    model = train.add_argument_group("model")
    model.add_argument("--hidden", type=_widths, default=[16, 16], metavar="W1,W2,...",
                       help="hidden layer widths (default 16,16; '' for none)")
    model.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"],
                       default="relu", help="hidden activation (default relu)")
    model.add_argument("--init", choices=INITS, default="uniform",
                       help="weight initialisation (default uniform, as micrograd)")
    training = train.add_argument_group("training")
    training.add_argument("--loss", choices=list(LOSSES), default=None,
                          help="default: hinge for 2 classes, cross_entropy for more")
    training.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                          help="default: adam")
    training.add_argument("--lr", type=_learning_rate, default=None,
                          help="learning rate (default: "
                               + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    training.add_argument("--schedule", choices=["none", "linear"], default="none",
                          help="'linear': decay the learning rate to a tenth (default none)")
    training.add_argument("--l2", type=_number(0.0, True), default=1e-4,
                          help="weight of the L2 penalty sum p**2 (default 1e-4)")
    training.add_argument("--epochs", type=_positive_int, default=100, help="default 100")
    training.add_argument("--batch-size", type=_positive_int, default=None,
                          help="samples per step (default: all of them)")
    training.add_argument("--seed", type=_nonnegative_int, default=0,
                          help="seed of the data, the weights and the shuffling (default 0)")
    _add_output_arguments(train)


def _add_graph_command(sub) -> None:
    graph = sub.add_parser(
        "graph", help="draw a computational graph (see graph --help)",
        description="Draw the chain-rule diagram of the seed tutorial's neuron, or of an "
                    "expression over named inputs.",
        epilog="examples:\n  micrograd-nn graph --out neuron.png --highlight w1 --explain w1\n"
               "  micrograd-nn graph --edge-labels flow --trace backward.html\n"
               "  micrograd-nn graph --exercise grads --out sheet.svg; add --answer-key for the "
               "key\n"
               "  micrograd-nn graph --expr \"(x*w + b).sigmoid()\" --set x=1.5 w=0.25 b=0.1 "
               "--out f.dot", formatter_class=argparse.RawDescriptionHelpFormatter)
    viz = _viz()
    if viz is not None:
        add_graph_arguments(graph, viz)


def _add_exercises_command(sub) -> None:
    exercises = sub.add_parser(
        "exercises", help="graded exercises: write backprop yourself, checked by the engine",
        description="Graded exercises in the order of the lecture, from local derivatives to "
                    "the tutorial's perceptron. Start a folder, fill in its files, check them.")
    actions = exercises.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the tasks, in order")
    for name, text in (("start", "write the stub files into DIR (files there are kept)"),
                       ("solve", "write the worked solutions into DIR (for teachers)")):
        actions.add_parser(name, help=text, description=text).add_argument("dir", metavar="DIR")
    check = actions.add_parser(
        "check", help="check your files in DIR against the engine (exit 0 when all pass)",
        description="Test each task against micrograd_nn's engine at points hypothesis draws, "
                    "each in its own process with a time limit; report each failure with the "
                    "smallest counterexample.")
    check.add_argument("dir", metavar="DIR")
    check.add_argument("--task", type=_positive_int, action="append", metavar="N",
                       help="check only task N (repeatable)")
    check.add_argument("--timeout", type=_number(0.0, False), default=None, metavar="SECONDS",
                       help="time limit per task (default 20)")


def _add_playground_command(sub) -> None:
    page = sub.add_parser(
        "playground", help="write a page that trains an MLP in the browser, live",
        description="Write one self-contained HTML page (no network; open it from disk) where "
                    "an MLP trains on 2-D data exactly as the engine trains it: the decision "
                    "boundary, the loss curve, the network and the selected example's graph "
                    "move live; points can be added and removed with the mouse.")
    page.add_argument("--dataset", choices=sorted(DATASETS), default="moons",
                      help="the starting data, two classes (default moons)")
    page.add_argument("--samples", type=_positive_int, default=100,
                      help="number of points (default 100)")
    page.add_argument("--noise", type=_number(0.0, True), default=None,
                      help="noise level (default: the dataset's own)")
    page.add_argument("--hidden", type=_widths, default=[8, 8], metavar="W1,W2,...",
                      help="hidden layer widths (default 8,8)")
    page.add_argument("--activation", choices=[a for a in ACTIVATIONS if a != "linear"],
                      default="relu", help="hidden activation (default relu)")
    page.add_argument("--loss", choices=["hinge", "bce", "bce_with_logits", "mse"],
                      default="hinge", help="default hinge")
    page.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default sgd")
    page.add_argument("--lr", type=_learning_rate, default=None,
                      help="learning rate (default: " + ", ".join(
                          f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    page.add_argument("--batch-size", type=_positive_int, default=None,
                      help="samples per step (default: all of them)")
    page.add_argument("--seed", type=_nonnegative_int, default=0,
                      help="seed of the data, the weights and the shuffling (default 0)")
    page.add_argument("--out", metavar="PAGE", default="playground.html",
                      help="the page to write (default playground.html)")


def add_graph_arguments(parser: argparse.ArgumentParser, viz) -> None:
    """The options of the ``graph`` command (``viz`` is micrograd_nn.viz)."""
    what = parser.add_argument_group("what to draw (default: the seed tutorial's 2-input "
                                     "sigmoid neuron with its squared-error loss)")
    what.add_argument("--expr", metavar="EXPR",
                      help="an expression over names given with --set, e.g. "
                           "\"(x*w + b).sigmoid()\"; allowed: + - * / ** unary -, numbers, "
                           "parentheses and the methods "
                           + ", ".join(f".{m}()" for m in viz.expr.methods()))
    what.add_argument("--set", metavar="NAME=NUMBER", nargs="+", action="extend", default=[],
                      dest="assignments", help="values of the names in --expr, e.g. x=1.5 w=0.25")
    what.add_argument("--params", metavar="NAME", nargs="+", default=None,
                      help="names to colour as parameters (default: recognised, e.g. w1, b, "
                           "L1.N2.w1)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="PATH", default="graph.svg",
                     help="file to write; the format comes from its suffix .svg, .png or .dot "
                          "(default graph.svg)")
    out.add_argument("--format", choices=viz.rendering.FORMATS, default=None,
                     help="the format, when the suffix of --out does not say it")
    out.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help=f"stop the layout after this many seconds with an error (default "
                          f"{viz.rendering.TIMEOUT_SECONDS:g})")
    out.add_argument("--trace", metavar="HTML",
                     help="also write a self-contained HTML page stepping through backward")
    out.add_argument("--explore", metavar="HTML",
                     help="also write a self-contained HTML page with a slider per leaf, where "
                          "values and gradients follow live, a nudge readout and SGD steps")
    out.add_argument("--explain", metavar="NAME",
                     help="also print the chain rule for d output / d NAME, path by path")
    out.add_argument("--code", action="store_true",
                     help="print the graph as the Python code micrograd_nn.compile writes for "
                          "it (the forward pass, then the chain rule back to the parameters: "
                          "--params, or the labels that name parameters), instead of drawing it")
    _add_drawing_arguments(parser.add_argument_group("drawing"), viz)


def _add_drawing_arguments(look, viz) -> None:
    look.add_argument("--edge-labels", choices=viz.EDGE_LABELS, default="local",
                      help="on each arrow: its local derivative dz/dw1 (local, the default), the "
                           "gradient it carries back (flow), or both; also in --trace")
    look.add_argument("--rankdir", choices=("LR", "TB"), default=None,
                      help="left to right (the default) or top to bottom (the default of "
                           "a slide and a worksheet)")
    look.add_argument("--preset", choices=viz.PRESETS, default=None,
                      help="slide: 16:9, large type, top to bottom, no legend")
    look.add_argument("--highlight", metavar="NAME",
                      help="draw every path from the output to NAME in bold, with each path's "
                           "product and their sum under NAME")
    look.add_argument("--paths-only", action="store_true",
                      help="with --highlight: draw those paths alone")
    look.add_argument("--exercise", choices=viz.EXERCISES,
                      help="a worksheet for a printed page (top to bottom, 11 pt text, no "
                           "legend unless --legend): blanks for the gradients, the local "
                           "derivatives, or both")
    look.add_argument("--answer-key", action="store_true",
                      help="with --exercise: the same layout with the blanks filled in")
    look.add_argument("--no-local-grads", action="store_true",
                      help="leave the local derivatives off the arrows")
    look.add_argument("--no-grads", action="store_true", help="leave the gradients out")
    legend = look.add_mutually_exclusive_group()
    legend.add_argument("--legend", action="store_true",
                        help="draw the legend on a slide or a worksheet too (they have none)")
    legend.add_argument("--no-legend", action="store_true", help="leave the legend out")
    look.add_argument("--expand-linear", action="store_true",
                      help="draw each fused linear node as its products and one sum")
    look.add_argument("--collapse", action="store_true",
                      help="draw each neuron (linear + activation) as one node")
    look.add_argument("--max-nodes", type=_positive_int, default=viz.DEFAULT_MAX_NODES,
                      metavar="N", help=f"refuse graphs with more values than this (default "
                                        f"{viz.DEFAULT_MAX_NODES})")
    look.add_argument("--max-edges", type=_positive_int, default=viz.DEFAULT_MAX_EDGES,
                      metavar="N", help=f"refuse graphs with more arrows than this (default "
                                        f"{viz.DEFAULT_MAX_EDGES})")


def _viz():
    """The diagrams module, or None when it (or graphviz) cannot be imported."""
    try:
        from . import viz
    except ImportError:
        return None
    return viz


# -------------------------------------------------------------------------------------------------
# Commands


def _make_data(cfg: dict) -> tuple:
    """The dataset the options ask for, as (X, y); a bad combination is a UsageError."""
    data_kwargs: dict = {"seed": cfg["seed"]}
    if cfg["samples"] is not None:
        data_kwargs["n_samples"] = cfg["samples"]
    if cfg["noise"] is not None:
        data_kwargs["noise"] = cfg["noise"]
    if cfg["classes"] is not None:
        if cfg["dataset"] == "blobs":
            data_kwargs["centers"] = cfg["classes"]
        elif cfg["dataset"] == "spiral":
            data_kwargs["n_classes"] = cfg["classes"]
        else:
            raise UsageError(f"--classes applies to blobs and spiral; {cfg['dataset']} "
                             "has 2 classes")
    try:
        X, y = make_dataset(cfg["dataset"], **data_kwargs)
    except ValueError as e:
        raise UsageError(f"dataset {cfg['dataset']}: {e}") from None
    return X, y


def _run_training(cfg: dict, out: Path, progress: bool, prefix: str) -> list[Path]:
    """Make the data, build and train the model, print the results, save the files."""
    from .plots import plot_decision_boundary, plot_loss

    X, y = _make_data(cfg)
    k = int(y.max()) + 1
    if cfg["loss"] in BINARY_LOSSES and k > 2:
        raise UsageError(f"--loss {cfg['loss']} is for two classes, but {cfg['dataset']} has "
                         f"{k}; use --loss cross_entropy (or mse)")
    width = output_width(cfg["loss"], k)  # None: the default setup for k classes
    loss = cfg["loss"] or default_loss(width)
    out.mkdir(parents=True, exist_ok=True)  # before training: a bad --out fails in a moment
    try:
        model = MLP(2, cfg["hidden"] + [width], activation=cfg["activation"], init=cfg["init"],
                    seed=cfg["seed"])
    except ValueError as e:  # over the parameter limit: refused before anything is allocated
        raise UsageError(f"--hidden {','.join(map(str, cfg['hidden']))}: {e}") from None
    lr = cfg["lr"] if cfg["lr"] is not None else DEFAULT_LR[cfg["optimizer"]]
    schedule = None if cfg["schedule"] in (None, "none") else cfg["schedule"]
    batches = "" if cfg["batch_size"] is None else f", batches of {cfg['batch_size']}"
    decay = " decaying linearly" if schedule else ""
    print(f"{cfg['dataset']}: {len(y)} points, {k} classes | {model} | {loss} loss, "
          f"{cfg['optimizer']} lr {lr:g}{decay}, L2 {cfg['l2']:g}, {cfg['epochs']} epochs"
          f"{batches}")
    start = time.perf_counter()
    try:
        history = fit(model, X, y, loss=loss, optimizer=cfg["optimizer"], lr=lr,
                      epochs=cfg["epochs"], batch_size=cfg["batch_size"], l2=cfg["l2"],
                      schedule=schedule, progress=progress, seed=cfg["seed"])
    except ValueError as e:  # raised before the first step: an impossible combination
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - start
    final = evaluate(model, X, y, loss=loss, l2=cfg["l2"])
    print(f"trained in {seconds:.1f} s: final loss {final.loss:.4f}, "
          f"training accuracy {final.accuracy:.1%}")

    paths = [
        plot_loss(history, out / f"{prefix}_loss.png",
                  title=f"{cfg['dataset']}: {loss} loss, {cfg['optimizer']}, "
                        f"{cfg['epochs']} epochs"),
        plot_decision_boundary(model, X, y, out / f"{prefix}_decision_boundary.png", loss=loss,
                               title=f"{cfg['dataset']}: decision boundary "
                                     f"({final.accuracy:.1%} training accuracy)"),
    ]
    model_path = out / f"{prefix}_model.json"
    model.save(model_path)
    paths.append(model_path)
    return paths


def _demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out = Path(args.out)
    cfg = dict(DEMO, epochs=args.epochs, seed=args.seed)
    paths = _run_training(cfg, out, progress=not args.no_progress, prefix="moons")
    status = 0
    viz = _viz()
    if viz is None:
        print("skipped the seed neuron's graph: micrograd_nn.viz (diagrams) is not available",
              file=sys.stderr)
        status = 1
    else:
        root = viz.seed_neuron()
        print(f"seed neuron (2 inputs, sigmoid, squared error): loss {root.data:.5f}; its graph "
              "shows each local derivative on an edge and each dloss/dv in a box")
        try:
            paths.append(viz.render(viz.draw_graph(root, params=viz.SEED_PARAMETERS),
                                    out / "seed_neuron_graph.svg"))
        except RuntimeError as e:  # no Graphviz renderer found, or it failed
            print(f"could not draw the seed neuron's graph: {e}", file=sys.stderr)
            status = 1
    _print_paths(paths)
    print(f"demo finished in {time.perf_counter() - started:.1f} s")
    return status


def _train(args: argparse.Namespace) -> int:
    cfg = {name: getattr(args, name) for name in (
        "dataset", "samples", "noise", "classes", "hidden", "activation", "init", "loss",
        "optimizer", "lr", "schedule", "l2", "epochs", "batch_size", "seed")}
    paths = _run_training(cfg, Path(args.out), progress=not args.no_progress,
                          prefix=args.dataset)
    _print_paths(paths)
    return 0


def _graph(args: argparse.Namespace) -> int:
    viz = _viz()
    if viz is None:
        raise UsageError("the graph command needs micrograd_nn.viz (diagrams), which is not "
                         "available in this installation")
    try:
        if args.code:
            print(graph_code(args), end="")
            return 0
        paths = run_graph(args)
    except ValueError as e:  # arguments that parse but cannot work: a usage error
        raise UsageError(str(e)) from None
    _print_paths(paths)
    return 0


def _playground(args: argparse.Namespace) -> int:
    from .playground import playground_html
    two = {"blobs": {"centers": 2}, "spiral": {"n_classes": 2}}.get(args.dataset, {})
    noise = {} if args.noise is None else {"noise": args.noise}
    try:
        X, y = make_dataset(args.dataset, n_samples=args.samples, seed=args.seed, **two,
                            **noise)
        model = MLP(2, args.hidden + [1], activation=args.activation, seed=args.seed)
        lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
        path = playground_html(args.out, model, X, y, loss=args.loss,
                               optimizer=args.optimizer, lr=lr, batch_size=args.batch_size,
                               seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    _print_paths([path])
    return 0


def graph_code(args: argparse.Namespace) -> str:
    """The ``graph --code`` text: the code ``compile`` writes for the graph. Parameters are
    the --params, else the leaves whose labels name parameters (w1, b, L1.N2.w1); the other
    labelled leaves are inputs."""
    from .compiler import source_of
    from .engine import topological_order
    from .viz.structure import is_parameter_label
    root = build_root(args.expr, args.assignments)
    if args.params is not None:
        params = [_find(root, name, "--params") for name in args.params]
    else:
        params = [v for v in topological_order(root) if v.is_leaf() and
                  is_parameter_label(v.label)]
    return source_of(root, params)


def build_root(expr: str | None, assignments: list):
    """The seed neuron, or ``expr`` over ``assignments``, after backward.

    The root of an expression is labelled "out" (unless the expression is a bare name), or
    "out2", "out3", ... if a name of the expression is "out": never after one of its inputs.
    """
    from .engine import Value
    from .viz import parse_assignments, parse_expr, seed_neuron
    if expr is None:
        if assignments:
            raise ValueError("--set gives values to the names of --expr; pass --expr too")
        return seed_neuron()
    values = parse_assignments(assignments)
    names = {name: Value(number, name) for name, number in values.items()}
    root = parse_expr(expr, names)
    if not isinstance(root, Value):
        raise ValueError(f"--expr {expr!r} uses no name given with --set, so there is no graph "
                         f"to draw (it is the number {root!r})")
    if not root.label:
        root.label = next(name for name in ("out", *(f"out{k}" for k in range(2, 3 + len(names))))
                          if name not in names)
    root.backward()
    return root


def _find(root, name: str, option: str):
    from .viz.naming import find_by_label
    try:
        return find_by_label(root, name)
    except ValueError as error:
        raise ValueError(f"{option} {name}: {error}") from None


def _output_path(out: str, format: str | None) -> tuple:
    from .viz.rendering import FORMATS
    path = Path(out)
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


def _too_large_message(error) -> str:
    """The size guard's refusal, in the options of this command."""
    what = (f"the graph has {error.values} values and {error.edges} arrows, more than "
            f"--max-nodes {error.max_nodes} / --max-edges {error.max_edges}")
    if error.collapsed:
        return f"{what} even with each neuron collapsed; raise --max-nodes / --max-edges"
    return (f"{what}: pass --collapse to draw each neuron as one node, or raise --max-nodes / "
            f"--max-edges to draw every value anyway")


# draw_graph's refusals name its parameters; the graph command says them as its options
_GRAPH_WORDS = (
    ("edge_labels='local' or 'both', with show_local_grads=True",
     "--edge-labels local or both, without --no-local-grads"),
    ("use show_grads=True", "drop --no-grads"),
    ("show_local_grads=False", "--no-local-grads"),
    ("show_grads=False", "--no-grads"),
    ("paths_only=True", "--paths-only"),
    ("answer_key=True", "--answer-key"),
    ("highlight= ", "--highlight "),
    ("exercise= ", "--exercise "),
)


def _in_graph_options(message: str) -> str:
    """A draw_graph error in the options of the graph command: ``edge_labels='flow'`` is
    ``--edge-labels flow``, ``show_grads=False`` is ``--no-grads``, and so on."""
    for words, option in _GRAPH_WORDS:
        message = message.replace(words, option)
    return re.sub(r"\b(edge_labels|exercise|preset|rankdir)='(\w*)'",
                  lambda m: f"--{m[1].replace('_', '-')} {m[2]}", message)


def run_graph(args: argparse.Namespace) -> list:
    """Carry out the ``graph`` command; returns the paths written (diagram, trace, explore).

    Arguments that cannot work raise ValueError (reported as a usage error); a missing
    renderer raises RendererNotFoundError (a RuntimeError).
    """
    from .viz import DiagramTooLarge, draw_graph, explain, explore_html, render, trace_html
    if args.answer_key and not args.exercise:
        raise ValueError("--answer-key fills in the blanks of a worksheet: pass --exercise too")
    root = build_root(args.expr, args.assignments)
    for name in args.params or ():   # a misspelt name would silently colour nothing
        _find(root, name, "--params")
    path, format = _output_path(args.out, args.format)
    highlight = _find(root, args.highlight, "--highlight") if args.highlight else None
    try:
        graph = draw_graph(root, edge_labels=args.edge_labels, rankdir=args.rankdir,
                           show_local_grads=not args.no_local_grads,
                           show_grads=not args.no_grads, highlight=highlight, params=args.params,
                           max_nodes=args.max_nodes, max_edges=args.max_edges,
                           collapse=args.collapse, expand_linear=args.expand_linear,
                           exercise=args.exercise, answer_key=args.answer_key,
                           preset=args.preset, paths_only=args.paths_only,
                           legend=True if args.legend else False if args.no_legend else None)
    except DiagramTooLarge as error:
        raise ValueError(_too_large_message(error)) from None
    except ValueError as error:
        raise ValueError(_in_graph_options(str(error))) from None
    if args.explain:
        print(explain(root, _find(root, args.explain, "--explain")))
    written = [render(graph, path, format=format, timeout=args.timeout)]
    if args.trace:
        written.append(trace_html(root, args.trace, edge_labels=args.edge_labels,
                                  rankdir=args.rankdir, params=args.params,
                                  max_nodes=args.max_nodes, preset=args.preset))
    if args.explore:   # SGD steps move the parameters: those given, else those recognised
        written.append(explore_html(root, args.explore, rankdir=args.rankdir or "LR",
                                    params=args.params or None, max_nodes=args.max_nodes))
    return written


def _print_paths(paths: Sequence[Path]) -> None:
    print("wrote:")
    for path in paths:
        print(f"  {os.fspath(path)}")


def _exercises(args: argparse.Namespace) -> int:
    from . import exercises as ex

    if args.action == "list":
        for t in ex.TASKS:
            print(f"task {t.number}  {t.file:<22}  {t.title}")
        return 0
    try:
        if args.action == "check":
            results = ex.check(args.dir, args.task, args.timeout or ex.DEFAULT_TIMEOUT)
            print(ex.report(results))
            return 0 if all(r.status == "passed" for r in results) else 1
        written, kept = (ex.start if args.action == "start" else ex.solve)(args.dir)
    except (ex.ExercisesError, ValueError) as e:
        raise UsageError(str(e)) from None
    for path in written:
        print(f"wrote {path}")
    for path in kept:
        print(f"kept {path} (already there; nothing was overwritten)")
    if args.action == "start":
        print(f"next: fill in the files, then python -m micrograd_nn exercises check {args.dir}")
    return 1 if kept and args.action == "solve" else 0


COMMANDS = {"demo": _demo, "train": _train, "graph": _graph, "exercises": _exercises,
            "playground": _playground}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad flag (2): argparse has printed the message
        return e.code if isinstance(e.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"{PROG} {args.command}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG} {args.command}: cannot write the results: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:  # the graph command found no Graphviz renderer, or it failed
        if args.command != "graph":
            raise
        print(f"{PROG} graph: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
