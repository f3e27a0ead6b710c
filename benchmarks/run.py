"""Benchmark harness: micrograd_nn against micrograd 0.1.0 and against graph-free baselines.

    python benchmarks/run.py                 # every workload, full sizes (a few minutes)
    python benchmarks/run.py --quick         # tiny sizes, a few seconds (the smoke test uses it)
    python benchmarks/run.py --only W1,W4 --repeats 9 --json out.json
    python benchmarks/run.py --only W5 --clock cpu   # microgpt's training step, on each variant
    python benchmarks/run.py --clock cpu     # process CPU time: steadier on a busy machine
    python benchmarks/run.py --profile       # cProfile of W1 on micrograd_nn, top entries
    python benchmarks/run.py --ops           # the cost of one node of each kind

It installs nothing: micrograd comes from the optional extra ``pip install -e .[bench]``; when it
is missing, only micrograd_nn's columns are printed. Both engines run the same workload code
(benchmarks/workloads.py), interleaved in one process, each measurement repeated; the table
shows the median with (min-max) and the ratio of medians. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import contextlib
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import microgpt  # noqa: E402  (W5, a sibling module too)
import workloads as W  # noqa: E402  (the sibling module, found through the line above)

WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
GC_MODES = ("default", "off")
# wall: elapsed time; cpu: this process's CPU time (the collector included), steadier on a
# machine shared with other jobs, since time spent waiting for a core is not counted
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]  # set by main() from --clock


@dataclass
class Sizes:
    """Problem sizes; `--quick` swaps in tiny ones."""

    w1_points: int = 100
    w1_nouts: tuple = (16, 16, 1)
    w2_ops: tuple = (10_000, 100_000, 1_000_000)
    w3_terms: int = 100_000
    w4_ops: int = 100_000
    w5_names: int = 4            # W5: one measurement trains on this many names, one step each
    w5_lengths: int = 16         # W5 compile time: documents of 1 .. this many positions
    block_seconds: float = 0.5   # W1: consecutive steps per measurement fill about this long
    budget_seconds: float = 30.0  # stop repeating a measurement after this much time in total
    repeats: int = 5


QUICK = Sizes(w1_points=8, w2_ops=(200, 2_000), w3_terms=1_000, w4_ops=1_000, w5_names=1,
              w5_lengths=2, block_seconds=0.005, budget_seconds=2.0, repeats=2)


# -------------------------------------------------------------------------------------------------
# Measuring


@contextlib.contextmanager
def gc_mode(mode: str) -> Iterator[None]:
    """Run a measurement with the cyclic collector at Python's defaults or disabled.

    Garbage left by the previous measurement is collected first (untimed), and the collector's
    state is restored afterwards, so one engine's garbage is never charged to the other.
    """
    if mode not in GC_MODES:
        raise ValueError(f"gc mode must be one of {GC_MODES}, got {mode!r}")
    was_enabled = gc.isenabled()
    gc.collect()
    if mode == "off":
        gc.disable()
    else:
        gc.enable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
        gc.collect()


@dataclass
class Cell:
    """One measured quantity: a workload case on one engine, repeated.

    ``run()`` performs one measurement and returns {phase: value}, where a value is a number
    (seconds, or seconds per node) or the name of an exception that phase raised.
    """

    workload: str
    case: str
    engine: str
    unit: str  # "s" or "s/node"
    run: Callable[[], dict]
    gc: str = "default"
    samples: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    spent: float = 0.0
    done: bool = False

    def measure_once(self) -> None:
        start = time.perf_counter()
        with gc_mode(self.gc):
            try:
                out = self.run()
            except RecursionError:
                out = {"total": "RecursionError"}
        self.spent += time.perf_counter() - start
        for phase, value in out.items():
            if isinstance(value, str):
                self.errors[phase] = value
            else:
                self.samples.setdefault(phase, []).append(value)


def run_interleaved(cells: list[Cell], repeats: int, budget: float) -> None:
    """Measure every cell ``repeats`` times, round-robin, so slow drifts of the machine hit all
    engines alike. A cell stops early once it has spent ``budget`` seconds (at least 1 run),
    and a cell whose every phase failed is not repeated."""
    for _ in range(repeats):
        for cell in cells:
            if cell.done:
                continue
            cell.measure_once()
            if cell.spent >= budget or (cell.errors and not cell.samples):
                cell.done = True


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return {"median": median, "min": ordered[0], "max": ordered[-1], "n": n}


# -------------------------------------------------------------------------------------------------
# Workloads as cells


def w1_cells(engines: list, sizes: Sizes) -> list[Cell]:
    """W1: the demo step on each engine (gc default and off) and on the two baselines."""
    X, y = W.make_moons(sizes.w1_points)
    nouts = list(sizes.w1_nouts)
    cells = []

    def block(step: Callable[[], object]) -> Callable[[], dict]:
        """A measurement: one untimed step, then k timed consecutive steps, as in training.

        The untimed step leaves the garbage a training loop always carries from the step
        before (micrograd's cyclic graph), so the timed steps pay for collecting it; timing
        the first step after a clean heap would show micrograd about twice as fast as its
        steady state. k (at least 3) is chosen on the first call so the steps fill about
        block_seconds, which also averages over the collector's periodic full collections.
        """
        count = []

        def run() -> dict:
            start = clock()
            step()
            if not count:
                count.append(max(3, round(sizes.block_seconds / max(clock() - start, 1e-6))))
            k = count[0]
            start = clock()
            for _ in range(k):
                step()
            return {"step": (clock() - start) / k}
        return run

    # Every timed step starts from the same parameters: the update runs with a learning rate
    # of 0, so each engine and baseline repeats exactly the same work. With a real learning
    # rate the cost drifts as training goes (the float baseline skips the backward pass of
    # points outside the hinge, and gets about twice as fast as the model learns).
    lr = 0.0
    for mode in GC_MODES:
        for engine in engines:
            model = W.build_model(engine, 2, nouts)
            cells.append(Cell("W1", f"demo step, gc {mode}", engine.name, "s",
                              block(lambda e=engine, m=model: W.w1_step(e, m, X, y,
                                                                        learning_rate=lr)),
                              gc=mode))
    layers = W.split_layers(W.initial_parameters(2, nouts), 2, nouts)
    cells.append(Cell("W1", "limit: plain floats, hand-written backward", "floats", "s",
                      block(lambda: W.float_step(layers, X, y, learning_rate=lr))))
    try:
        import numpy as np
    except ImportError:
        return cells
    arrays = W.numpy_layers(layers)
    Xa, ya = np.array(X), np.array(y)
    cells.append(Cell("W1", "limit: numpy, vectorised", "numpy", "s",
                      block(lambda: W.numpy_step(arrays, Xa, ya, learning_rate=lr))))
    return cells + w1_compiled_cells(engines[0], Xa, ya, nouts, block)


COMPILED = ("python", "numpy")


def w1_compiled_cells(engine, X, y, nouts: list, block: Callable) -> list[Cell]:
    """W1 on micrograd_nn.compile, one cell per backend: the step (as `block` times the other
    rows), and the compile time: compile() plus the first call, which traces three samples
    of the batch again (its guards), minus one step."""
    cells = []
    seeds = W.w1_seeds(len(y))
    for backend in COMPILED:
        model = W.build_model(engine, 2, nouts)
        program = W.w1_compile(model, X, y, backend)
        cells.append(Cell("W1", f"compiled, {backend} backend", f"compiled {backend}", "s",
                          block(lambda ps=w1_params(model, backend), p=program:
                                W.w1_compiled_step(ps, p, X, y, seeds, learning_rate=0.0))))

        def compile_once(backend=backend) -> dict:
            model = W.build_model(engine, 2, nouts)
            start = clock()
            program = W.w1_compile(model, X, y, backend)
            compiled = clock()
            params = w1_params(model, backend)
            W.w1_compiled_step(params, program, X, y, seeds, learning_rate=0.0)
            middle = clock()
            W.w1_compiled_step(params, program, X, y, seeds, learning_rate=0.0)
            end = clock()
            # the first step's extra over a steady one counts as compiling; on a noisy machine
            # that difference can come out below the compile call's own time, never below it
            return {"compile": max(compiled - start, (middle - start) - (end - middle))}
        cells.append(Cell("W1", f"compile time, {backend} backend", f"compiled {backend}", "s",
                          compile_once))
    return cells


def w1_params(model, backend: str):
    """What the compiled W1 step updates: the parameters' list (the python backend adds into
    each .grad), or for numpy an `ArraySGD` of them (the numbers in one array, as numpy by
    hand keeps them)."""
    return W.ArraySGD(model.parameters()) if backend == "numpy" else model.parameters()


def w2_cells(engines: list, sizes: Sizes) -> list[Cell]:
    """W2: the chain x = x*a + b, forward and backward, in microseconds per operation node."""
    cells = []

    def chain(engine, n: int) -> Callable[[], dict]:
        def run() -> dict:
            start = clock()
            x, a, b = W.w2_chain(engine, n)
            forward = clock() - start
            start = clock()
            try:
                x.backward()
            except RecursionError:
                return {"forward": forward / n, "backward": "RecursionError",
                        "total": "RecursionError"}
            backward = clock() - start
            return {"forward": forward / n, "backward": backward / n,
                    "total": (forward + backward) / n}
        return run

    def chain_of_numbers(engine, n: int) -> Callable[[], dict]:
        def run() -> dict:
            start = clock()
            y = W.w2_chain_constants(engine, n)
            forward = clock() - start
            start = clock()
            y.backward()
            backward = clock() - start
            return {"forward": forward / n, "backward": backward / n,
                    "total": (forward + backward) / n}
        return run

    for n in sizes.w2_ops:
        for mode in GC_MODES:
            for engine in engines:
                cells.append(Cell("W2", f"chain of {n:.0e} ops, gc {mode}", engine.name,
                                  "s/node", chain(engine, n), gc=mode))
    n = max(sizes.w2_ops)
    for mode in GC_MODES:  # as users write it; micrograd_nn only (micrograd cannot sort it back)
        cells.append(Cell("W2", f"chain of {n:.0e} ops, number constants, gc {mode}",
                          engines[0].name, "s/node", chain_of_numbers(engines[0], n), gc=mode))
    return cells


def w3_cells(engines: list, sizes: Sizes) -> list[Cell]:
    """W3: sum of n products w_i * x_i, forward and backward timed separately."""
    n = sizes.w3_terms
    cells = []

    def summed(engine, how: Callable) -> Callable[[], dict]:
        def run() -> dict:
            ws, xs = W.w3_products(engine, n)
            start = clock()
            out = how(ws, xs)
            forward = clock() - start
            start = clock()
            try:
                out.backward()
            except RecursionError:
                return {"forward": forward, "backward": "RecursionError"}
            return {"forward": forward, "backward": clock() - start}
        return run

    for mode in GC_MODES:
        for engine in engines:
            cells.append(Cell("W3", f"sum of {n:.0e} products (Python sum), gc {mode}",
                              engine.name, "s", summed(engine, W.w3_python_sum), gc=mode))
        nn = engines[0]
        cells.append(Cell("W3", f"sum of {n:.0e} products (Value.sum), gc {mode}",
                          nn.name, "s", summed(nn, W.w3_fused_sum), gc=mode))
        cells.append(Cell("W3", f"sum of {n:.0e} products (Value.linear), gc {mode}",
                          nn.name, "s", summed(nn, W.w3_linear), gc=mode))
    return cells


def w5_cells(sizes: Sizes) -> tuple[list[Cell], dict]:
    """W5: microgpt's training step on its variants (benchmarks/microgpt.py).

    Each variant trains its own copy of the same initial model; a measurement is one step on
    each of the same ``w5_names`` names, so every measurement of every variant does the same
    work, and the losses of all steps are kept (returned by variant) to be compared.
    """
    docs = microgpt.training_names(sizes.w5_names)
    cells, losses = [], {}
    for name, (value_class, loss_fn) in microgpt.VARIANTS.items():
        model = microgpt.init_gpt(value_class(), microgpt.VOCAB)
        record = losses.setdefault(name, [])
        step = microgpt.STEPS.get(name, microgpt.train_step)
        record.append(step(model, docs[0], loss_fn))  # warm-up, untimed

        def run(model=model, loss_fn=loss_fn, record=record, step=step) -> dict:
            start = clock()
            for doc in docs:
                record.append(step(model, doc, loss_fn))
            return {"step": (clock() - start) / len(docs)}
        cells.append(Cell("W5", "microgpt training step, gc default", name, "s", run))
    for backend in COMPILED:
        cells.append(Cell("W5", "compile every length", f"compiled {backend}", "s",
                          w5_compile_time(backend, sizes.w5_lengths)))
    return cells, losses


def w5_compile_time(backend: str, lengths: int) -> Callable[[], dict]:
    """A measurement: compile microgpt's n-ary loss for documents of 1 .. ``lengths``
    positions on a fresh model, each length traced and compiled on its first call. A length's
    compile time is its first call less its second (a step), plus compile() for length 1."""
    from micrograd_nn import compile

    def run() -> dict:
        model = microgpt.init_gpt(microgpt._nary(), microgpt.VOCAB)
        tokens = model.tokens("abcdefghijklmnopqrstuvwxyz")
        start = clock()
        program = compile(lambda t: microgpt.gpt_loss_nary(model, t), tokens[:2],
                          backend=backend)
        made = clock() - start  # length 1's trace and code: counted with its first call
        out = {}
        for n in range(1, lengths + 1):
            doc = [tokens[:n + 1]]
            start = clock()
            program.backward(doc)
            first = clock() - start
            start = clock()
            program.backward(doc)
            out[f"length {n}"] = first - (clock() - start) + (made if n == 1 else 0.0)
        out["all lengths"] = sum(out.values())
        return out
    return run


def loss_disagreement(losses: dict) -> dict:
    """Largest relative difference between each variant's losses and the baseline's, step by
    step (over the steps all of them ran)."""
    base = losses[W5_BASELINE]
    out = {}
    for name, seq in losses.items():
        n = min(len(base), len(seq))
        out[name] = max((abs(a - b) / max(abs(a), 1e-300) for a, b in zip(base[:n], seq[:n])),
                        default=0.0)
    return out


W5_BASELINE = "microgpt design"


def w5_table(cells: list[Cell], losses: dict, out) -> dict:
    """Min, median and max step time per variant, the spread (max / min - 1), the speed-up of
    each min over the baseline's min, the graph size and the loss agreement."""
    docs = microgpt.training_names(1)
    base = min_of(find(cells, "W5", "microgpt", W5_BASELINE), "step")
    disagree = loss_disagreement(losses)
    rows = [["W5 variant", "min step", "median", "max", "spread", "speed-up (min)",
             "nodes/step", "max rel. loss diff"]]
    for c in cells:
        if c.case == "compile every length":
            continue
        s = summary(c.samples["step"]) if "step" in c.samples else None
        if s is None:
            rows.append([c.engine, c.errors.get("step", "-")] + [""] * 6)
            continue
        value_class, loss_fn = microgpt.VARIANTS[c.engine]
        nodes = microgpt.graph_size(microgpt.init_gpt(value_class(), microgpt.VOCAB), docs[0],
                                    loss_fn)
        rows.append([c.engine, fmt_seconds(s["min"]), fmt_seconds(s["median"]),
                     fmt_seconds(s["max"]), f"{s['max'] / s['min'] - 1:.0%}",
                     f"{base / s['min']:.2f}x" if base else "n/a", str(nodes),
                     f"{disagree.get(c.engine, float('nan')):.1e}"])
    print_table(rows, out)
    compiles = [c for c in cells if c.case == "compile every length" and c.samples]
    if compiles:
        print("compile time per length (min of the runs; first call less a step), seconds",
              file=out)
        phases = list(compiles[0].samples)
        table = [["backend", *phases]]
        for c in compiles:
            table.append([c.engine, *(f"{min(c.samples[p]):.2f}" if p in c.samples else "-"
                                      for p in phases)])
        print_table(table, out)
    return disagree


# -------------------------------------------------------------------------------------------------
# W4: memory and reference cycles (measured once: these are counts, not timings)


def graph_memory(engine, n_ops: int) -> dict:
    """Bytes and gc-tracked objects per node of the W2 chain, with the collector disabled.

    Bytes: tracemalloc's count of live allocations while the graph is kept alive, divided by
    its number of nodes; measured after forward and (where it runs) after backward, which adds
    each node's float gradient. Tracked objects: growth of gc.get_objects() per node.
    """
    result: dict = {}
    with gc_mode("off"):
        before_objects = len(gc.get_objects())
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            x, a, b = W.w2_chain(engine, n_ops)
            forward = tracemalloc.get_traced_memory()[0] - base
            try:
                x.backward()
                result["bytes_after_backward"] = (tracemalloc.get_traced_memory()[0] - base) / n_ops
            except RecursionError:
                result["bytes_after_backward"] = "RecursionError"
        finally:
            tracemalloc.stop()
        result["bytes_per_node"] = forward / n_ops
        result["tracked_per_node"] = (len(gc.get_objects()) - before_objects) / n_ops
        del x, a, b
    return result


def cycle_check(engine, sizes: Sizes) -> dict:
    """Build the W1 graph with gc disabled, run backward, drop it: is it freed by reference
    counting alone? Returns whether it was, and how many unreachable objects per graph node the
    collector then had to find (0 when there are no reference cycles). Also the bytes per node
    the W1 graph holds after backward (tracemalloc), parameters not counted as nodes."""
    X, y = W.make_moons(sizes.w1_points)
    model = W.build_model(engine, 2, list(sizes.w1_nouts))
    n_params = len(model.parameters())
    with gc_mode("off"):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            total, _ = W.w1_loss_and_backward(engine, model, X, y)
            held = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        nodes = len(W.reachable(engine, total)) - n_params
        root = weakref.ref(total)
        del total
        freed = root() is None
        unreachable = gc.collect()
    return {"freed_by_refcount": freed, "unreachable_per_node": unreachable / nodes,
            "w1_graph_nodes": nodes, "w1_bytes_per_node": held / nodes}


def run_w4(engines: list, sizes: Sizes) -> list[dict]:
    rows = []
    for engine in engines:
        row = {"engine": engine.name, "n_ops": sizes.w4_ops}
        row.update(graph_memory(engine, sizes.w4_ops))
        row.update(cycle_check(engine, sizes))
        rows.append(row)
    return rows


# -------------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict:
    """CPU model, cores, Python and library versions: printed at the top of every run."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    versions = {}
    from importlib import metadata
    for dist in ("micrograd_nn", "micrograd", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(), "versions": versions,
        "recursion_limit": sys.getrecursionlimit(), "gc_thresholds": list(gc.get_threshold()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "source": source_revision(),
    }


def source_revision() -> str | None:
    """The git commit of the micrograd_nn being measured, "+ local changes" when its files
    differ from it; None outside a git checkout."""
    import subprocess
    import micrograd_nn
    package = os.path.dirname(os.path.abspath(micrograd_nn.__file__))
    try:
        commit = subprocess.run(["git", "-C", package, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        changed = subprocess.run(["git", "-C", package, "status", "--porcelain", "--", "."],
                                 capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + (" + local changes" if changed.stdout.strip() else "")


def fmt_seconds(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(s) >= scale or unit == "ns":
            v = s / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{s} s"


def fmt_cell(cell: Cell | None, phase: str) -> str:
    if cell is None:
        return "-"
    if phase in cell.errors and phase not in cell.samples:
        return cell.errors[phase]
    if phase not in cell.samples:
        return cell.errors.get("total", "-")
    s = summary(cell.samples[phase])
    if cell.unit == "s/node":
        return f"{s['median'] * 1e6:.3f} us/node ({s['min'] * 1e6:.3f}-{s['max'] * 1e6:.3f})"
    return f"{fmt_seconds(s['median'])} ({fmt_seconds(s['min'])}-{fmt_seconds(s['max'])})"


def median_of(cell: Cell | None, phase: str) -> float | None:
    if cell is None or phase not in cell.samples:
        return None
    return summary(cell.samples[phase])["median"]


def min_of(cell: Cell | None, phase: str) -> float | None:
    if cell is None or phase not in cell.samples:
        return None
    return min(cell.samples[phase])


def spread_of(cell: Cell | None, phase: str) -> str:
    """max / min - 1 of a cell's samples, as a percentage: how much a rerun may differ."""
    if cell is None or phase not in cell.samples:
        return "n/a"
    v = cell.samples[phase]
    return f"{max(v) / min(v) - 1:.0%}"


def print_table(rows: list[list[str]], out) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)
        if k == 0:
            print("  ".join("-" * w for w in widths), file=out)


def timing_table(cells: list[Cell], engine_names: list[str], out) -> None:
    """One line per (case, phase): each engine's median (min-max), and micrograd / ours."""
    by_key: dict = {}
    order = []
    for c in cells:
        key = (c.workload, c.case)
        if key not in by_key:
            by_key[key] = {}
            order.append(key)
        by_key[key][c.engine] = c
    ours, theirs = "micrograd_nn", "micrograd"
    header = ["workload", "case", "phase", ours]
    if theirs in engine_names:
        header += [theirs, f"{theirs} / {ours}"]
    rows = [header]
    for key in order:
        group = by_key[key]
        lone = [c for name, c in group.items() if name not in (ours, theirs)]
        phases = []
        for c in group.values():
            for p in list(c.samples) + list(c.errors):
                if p not in phases:
                    phases.append(p)
        for phase in phases:
            if lone:  # a baseline row: its time sits in micrograd_nn's column, named
                row = [key[0], key[1], phase, f"{lone[0].engine}: {fmt_cell(lone[0], phase)}"]
                if theirs in engine_names:
                    row += ["", ""]
                rows.append(row)
                continue
            row = [key[0], key[1], phase, fmt_cell(group.get(ours), phase)]
            if theirs in engine_names:
                a, b = median_of(group.get(ours), phase), median_of(group.get(theirs), phase)
                ratio = f"{b / a:.1f}x" if a and b else "n/a"
                row += [fmt_cell(group.get(theirs), phase), ratio]
            rows.append(row)
    print_table(rows, out)


def w4_table(rows: list[dict], out) -> None:
    def show(v, spec):
        return v if isinstance(v, str) else format(v, spec)
    table = [["engine", "bytes/node (forward)", "bytes/node (after backward)",
              "gc-tracked objects/node", "W1 graph: nodes, bytes/node",
              "W1 graph freed by refcount", "unreachable objects/node"]]
    for r in rows:
        table.append([r["engine"], show(r["bytes_per_node"], ".0f"),
                      show(r["bytes_after_backward"], ".0f"), show(r["tracked_per_node"], ".2f"),
                      f"{r['w1_graph_nodes']}, {r['w1_bytes_per_node']:.0f}",
                      "yes" if r["freed_by_refcount"] else "no (reference cycles)",
                      show(r["unreachable_per_node"], ".2f")])
    print_table(table, out)


def find(cells: list[Cell], workload: str, case_start: str, engine: str) -> Cell | None:
    for c in cells:
        if c.workload == workload and c.case.startswith(case_start) and c.engine == engine:
            return c
    return None


def targets(cells: list[Cell], w4: list[dict], sizes: Sizes, have_micrograd: bool,
            w5_losses: dict | None = None) -> list[dict]:
    """The targets: what was aimed at, what was measured, and whether it is met.

    Speed is judged on the fastest measurement of each cell (its min: the run least disturbed
    by other jobs), and each line gives the spread (max / min - 1) of the cells it compares.
    """
    out = []
    quick = sizes == QUICK  # tiny sizes measure nothing useful: shown, not judged

    def add(name, target, measured, met):
        if quick and met is not None and not name.startswith(("W4", "W5 losses")):
            target, met = target + " (--quick: not judged)", None
        out.append({"target": name, "aim": target, "measured": measured, "met": met})

    def speedup(workload, fast, slow, phase="step"):
        a, b = min_of(fast, phase), min_of(slow, phase)
        spreads = f"spread {spread_of(fast, phase)} / {spread_of(slow, phase)}"
        return (b / a if a and b else None), spreads

    if any(c.workload == "W1" for c in cells):
        for mode, aim in (("default", 120.0), ("off", 15.0)):
            r, spreads = speedup("W1", find(cells, "W1", f"demo step, gc {mode}", "micrograd_nn"),
                                 find(cells, "W1", f"demo step, gc {mode}", "micrograd"))
            add(f"W1 speed-up over micrograd, gc {mode}", f">= {aim:.0f}x",
                "micrograd not installed" if not have_micrograd else f"{r:.1f}x ({spreads})",
                None if r is None else r >= aim)
        r, spreads = speedup("W1", find(cells, "W1", "limit: plain floats", "floats"),
                             find(cells, "W1", "demo step, gc default", "micrograd_nn"))
        if r:
            add("W1 (gc default) vs hand-written floats", "<= 2.5x slower",
                f"{r:.2f}x slower ({spreads})", r <= 2.5)
        out += compiled_targets(cells)
    if any(c.workload == "W2" for c in cells):
        _w2_targets(cells, sizes, add)
    if any(c.workload == "W5" for c in cells):
        base = find(cells, "W5", "microgpt", W5_BASELINE)
        for variant, aim in (("micrograd_nn drop-in", 2.5), ("micrograd_nn n-ary", 10.0)):
            r, spreads = speedup("W5", find(cells, "W5", "microgpt", variant), base)
            add(f"W5 {variant} vs microgpt's design", f">= {aim:g}x",
                "not run" if r is None else f"{r:.2f}x ({spreads})",
                None if r is None else r >= aim)
        _w5_compiled_targets(cells, base, add, speedup)
        if w5_losses:
            worst = max(loss_disagreement(w5_losses).values())
            add("W5 losses equal on every variant", "max rel. diff <= 1e-9",
                f"{worst:.1e}", worst <= 1e-9)
    for r in w4:
        if r["engine"] != "micrograd_nn":
            continue
        add("W4 bytes per node (chain, after forward)", "<= 150", f"{r['bytes_per_node']:.0f}",
            r["bytes_per_node"] <= 150)
        cyc = r["freed_by_refcount"] and r["unreachable_per_node"] == 0
        add("W4 no reference cycles (W1 graph, gc off)", "freed by refcount, 0 unreachable",
            f"freed={r['freed_by_refcount']}, unreachable/node={r['unreachable_per_node']:.2f}",
            cyc)
    return out


def _w5_compiled_targets(cells: list[Cell], base: Cell | None, add, speedup) -> None:
    """Issue 23's W5 targets: compiled numpy >= 100x microgpt's design, compiled python >= 3x
    the n-ary step, compiling every length paid back within 100 steps, and 1,000 steps with
    compiling in under a twentieth of the engine's time (from the cells' min times)."""
    nary = find(cells, "W5", "microgpt", "micrograd_nn n-ary")
    for variant, slow, aim, what in (("compiled numpy", base, 100.0, "microgpt's design"),
                                     ("compiled python", nary, 3.0, "the n-ary step")):
        r, spreads = speedup("W5", find(cells, "W5", "microgpt", variant), slow)
        add(f"W5 {variant} vs {what}", f">= {aim:g}x",
            "not run" if r is None else f"{r:.2f}x ({spreads})", None if r is None else r >= aim)
    engine = min_of(nary, "step")
    for backend in COMPILED:
        step = min_of(find(cells, "W5", "microgpt", f"compiled {backend}"), "step")
        compiling = min_of(find(cells, "W5", "compile every length", f"compiled {backend}"),
                           "all lengths")
        if not (engine and step and compiling):
            continue
        payback = compiling / (engine - step) if engine > step else math.inf
        add(f"W5 compiling every length ({backend}) paid back", "within 100 steps",
            f"{payback:.0f} steps ({compiling:.1f} s)", payback <= 100)
        ratio = (compiling + 1000 * step) / (1000 * engine)
        add(f"W5 1,000 steps compiled {backend}, compiling included, vs the n-ary engine",
            "< 1/20 of the time", f"1/{1 / ratio:.1f}", ratio < 1 / 20)


def compiled_rows(cells: list[Cell]) -> list[dict]:
    """Per backend: the compiled W1 step (min, and the spread (max - min) / min of its
    measurements), its speed-up over the engine's step and over the hand-written numpy step
    (min against min), the compile time and the steps that pay it back."""
    def least(case, engine, phase="step"):
        c = find(cells, "W1", case, engine)
        return min(c.samples[phase]) if c is not None and c.samples.get(phase) else None
    engine = least("demo step, gc default", "micrograd_nn")
    numpy = least("limit: numpy", "numpy")
    rows = []
    for backend in COMPILED:
        c = find(cells, "W1", f"compiled, {backend}", f"compiled {backend}")
        step = least(f"compiled, {backend}", f"compiled {backend}")
        if step is None:
            continue
        samples = c.samples["step"]
        made = least(f"compile time, {backend}", f"compiled {backend}", "compile")
        saved = engine - step if engine else None
        rows.append({"backend": backend, "step_min": step, "spread": (max(samples) - step) / step,
                     "n": len(samples), "engine_over_compiled": engine / step if engine else None,
                     "compiled_over_numpy": step / numpy if numpy else None,
                     "compile": made,
                     "payback_steps": made / saved if made is not None and saved else None})
    return rows


def compiled_table(rows: list[dict], out) -> None:
    def show(v, spec):
        return "n/a" if v is None else format(v, spec)
    table = [["backend", "step (min)", "spread", "engine / compiled", "compiled / numpy by hand",
              "compile time", "steps to pay back"]]
    for r in rows:
        table.append([r["backend"], fmt_seconds(r["step_min"]),
                      f"{r['spread']:.0%} over {r['n']} runs",
                      show(r["engine_over_compiled"], ".1f") + "x",
                      show(r["compiled_over_numpy"], ".2f") + "x",
                      "n/a" if r["compile"] is None else fmt_seconds(r["compile"]),
                      show(r["payback_steps"], ".1f")])
    print_table(table, out)


def compiled_targets(cells: list[Cell]) -> list[dict]:
    out = []
    for r in compiled_rows(cells):
        speedup = r["engine_over_compiled"]
        aim = 10.0 if r["backend"] == "python" else 50.0
        if speedup is not None:
            out.append({"target": f"W1 compiled ({r['backend']}) vs the engine's step, min",
                        "aim": f">= {aim:.0f}x", "measured": f"{speedup:.1f}x",
                        "met": speedup >= aim})
        if r["backend"] == "numpy" and r["compiled_over_numpy"] is not None:
            ratio = r["compiled_over_numpy"]
            out.append({"target": "W1 compiled (numpy) vs numpy by hand, min",
                        "aim": "<= 2x slower", "measured": f"{ratio:.2f}x slower",
                        "met": ratio <= 2.0})
    return out


def _w2_targets(cells: list[Cell], sizes: Sizes, add) -> None:
    """The deep chain runs at the default recursion limit; as users write it (plain-number
    constants, gc at defaults) it costs at most 2 us per node."""
    n = max(sizes.w2_ops)
    quick = "" if n >= 1_000_000 else f" (only {n:.0e} run)"
    for case, aim, limit in (
            (f"chain of {n:.0e} ops, gc default", "runs, <= 3 us/node", 3e-6),
            (f"chain of {n:.0e} ops, number constants, gc default", "<= 2 us/node", 2e-6)):
        cell = find(cells, "W2", case, "micrograd_nn")
        t = min_of(cell, "total")
        if t is None:
            measured = cell.errors.get("total", "not run") if cell else "not run"
        else:
            measured = f"{t * 1e6:.3f} us/node (spread {spread_of(cell, 'total')})"
        add(f"W2 {case} at recursion limit {sys.getrecursionlimit()}", aim + quick, measured,
            None if n < 1_000_000 else (t is not None and t <= limit))


def targets_table(rows: list[dict], out) -> None:
    table = [["target", "aim", "measured", "met?"]]
    for r in rows:
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
        table.append([r["target"], r["aim"], r["measured"], met])
    print_table(table, out)


# -------------------------------------------------------------------------------------------------
# Per-operation costs (--ops): what one node of each kind costs to build

OPS = [  # (label, statement, needs micrograd_nn's API)
    ("v * w", "v * w", False),
    ("v + w", "v + w", False),
    ("v * 2.0 (constant operand)", "v * 2.0", False),
    ("2.0 * v (reflected)", "2.0 * v", False),
    ("1 + v (reflected, int)", "1 + v", False),
    ("v.relu()", "v.relu()", False),
    ("neuron z, 2 inputs, Python sum", "sum((wi * xi for wi, xi in zip(w2, x2)), b)", False),
    ("neuron z, 16 inputs, Python sum", "sum((wi * xi for wi, xi in zip(w16, x16)), b)", False),
    ("neuron z, 2 inputs, Value.linear", "Value.linear(w2, x2, b)", True),
    ("neuron z, 16 inputs, Value.linear", "Value.linear(w16, x16, b)", True),
    ("Value.sum of 16", "Value.sum(w16)", True),
]


def op_costs(engines: list, number: int, repeats: int) -> list[dict]:
    """Nanoseconds per statement (best of ``repeats`` runs of ``number``; timeit turns the
    collector off while it times), per engine."""
    import random
    import timeit
    # warm up for a moment first: the first ~50 ms of a fresh process run about 2x slow here
    start = time.perf_counter()
    while time.perf_counter() - start < (0.02 if number < 1000 else 0.3):
        sum(i * i for i in range(1000))
    rows = []
    for label, stmt, ours_only in OPS:
        row = {"op": label, "stmt": stmt}
        for engine in engines:
            if ours_only and engine.name != "micrograd_nn":
                continue
            rng = random.Random(0)
            Value = engine.Value
            env = {"Value": Value, "v": Value(0.5), "w": Value(-1.5), "b": Value(0.1),
                   "w16": [Value(rng.uniform(-1, 1)) for _ in range(16)],
                   "x16": [Value(rng.uniform(-1, 1)) for _ in range(16)]}
            env["w2"], env["x2"] = env["w16"][:2], env["x16"][:2]
            timer = timeit.Timer(stmt, globals=env, timer=clock)
            row[engine.name] = min(timer.repeat(repeat=repeats, number=number)) / number
        rows.append(row)
    return rows


def ops_table(rows: list[dict], names: list[str], out) -> None:
    table = [["operation (one node, or one neuron's z)"] + names
             + (["micrograd / micrograd_nn"] if "micrograd" in names else [])]
    for r in rows:
        line = [r["op"]] + [f"{r[n] * 1e9:.0f} ns" if n in r else "-" for n in names]
        if "micrograd" in names:
            both = "micrograd" in r and "micrograd_nn" in r
            line.append(f"{r['micrograd'] / r['micrograd_nn']:.1f}x" if both else "")
        table.append(line)
    print_table(table, out)


# -------------------------------------------------------------------------------------------------
# Profile


def profile_w1(sizes: Sizes, steps: int, top: int, out) -> str:
    """cProfile of `steps` W1 steps on micrograd_nn (gc disabled, so the collector's pauses do
    not land on whichever function happened to allocate); prints the top entries by tottime."""
    engine = W.micrograd_nn_engine()
    X, y = W.make_moons(sizes.w1_points)
    model = W.build_model(engine, 2, list(sizes.w1_nouts))
    W.w1_step(engine, model, X, y, learning_rate=0.0)  # warm-up
    profiler = cProfile.Profile()
    with gc_mode("off"):
        profiler.enable()
        for _ in range(steps):
            W.w1_step(engine, model, X, y, learning_rate=0.0)
        profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    report = text.getvalue()
    print(f"cProfile of {steps} W1 steps on micrograd_nn ({engine.mlp_source}), gc disabled, "
          f"sorted by tottime:", file=out)
    print(report, file=out)
    return report


def phase_table(title: str, names: tuple, one_step: Callable[[], tuple], steps: int,
                out) -> dict:
    """Median time of each phase of ``one_step()`` (which returns one time per name), over
    ``steps`` steps after one warm-up step, gc off and at defaults; printed as a table."""
    report = {}
    for mode in ("off", "default"):
        samples: dict = {name: [] for name in names}
        with gc_mode(mode):
            for _ in range(steps + 1):  # the first step warms up and is not kept
                for name, t in zip(names, one_step()):
                    samples[name].append(t)
        report[mode] = {name: statistics.median(v[1:]) for name, v in samples.items()}
    print(f"{title}, median of {steps} steps:", file=out)
    rows = [["phase", "gc off", "gc default"]]
    for name in names + ("total",):
        cells = []
        for mode in ("off", "default"):
            t = sum(report[mode].values()) if name == "total" else report[mode][name]
            cells.append(fmt_seconds(t))
        rows.append([name] + cells)
    print_table(rows, out)
    return report


def _backward_parts(root, before_backward=lambda: None) -> tuple:
    """(sort, propagate) of ``root.backward()``: backward's own sort is timed alone first, and
    propagate is backward minus it. On a busy machine that difference of two noisy times can
    dip below 0, which means "lost in the noise": it is shown as 0."""
    try:
        from micrograd_nn.engine.value import _backward_order
    except ImportError:  # the engine as one module, before it became a package
        from micrograd_nn.engine import _backward_order

    t0 = clock()
    _backward_order(root)
    t1 = clock()
    before_backward()
    root.backward()
    t2 = clock()
    return t1 - t0, max(0.0, (t2 - t1) - (t1 - t0))


def phases_w1(sizes: Sizes, steps: int, out) -> dict:
    """Each phase of a W1 step on micrograd_nn (the code of ``w1_loss_and_backward``)."""
    engine = W.micrograd_nn_engine()
    Value = engine.Value
    X, y = W.make_moons(sizes.w1_points)
    model = W.build_model(engine, 2, list(sizes.w1_nouts))
    names = ("forward (model)", "loss + L2", "backward's sort", "propagate", "free graph")

    def one_step() -> tuple:
        t0 = clock()
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        t1 = clock()
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        total = (sum(losses) * (1.0 / len(losses))
                 + 1e-4 * sum((p * p for p in model.parameters())))
        t2 = clock()
        sort, propagate = _backward_parts(total, model.zero_grad)
        t3 = clock()
        del inputs, scores, losses, total
        return t1 - t0, t2 - t1, sort, propagate, clock() - t3

    return phase_table("phases of a W1 step on micrograd_nn", names, one_step, steps, out)


def phases_w5(steps: int, out) -> dict:
    """Each phase of a W5 step (one name) on micrograd_nn, as a drop-in and with n-ary nodes."""
    name = microgpt.training_names(1)[0]
    names = ("forward (model + loss)", "backward's sort", "propagate", "Adam", "free graph")
    report = {}
    for variant in ("micrograd_nn drop-in", "micrograd_nn n-ary"):
        value_class, loss_fn = microgpt.VARIANTS[variant]
        model = microgpt.init_gpt(value_class(), microgpt.VOCAB)
        tokens = model.tokens(name)

        def one_step(model=model, loss_fn=loss_fn) -> tuple:
            t0 = clock()
            loss = loss_fn(model, tokens)
            t1 = clock()
            sort, propagate = _backward_parts(loss)
            t2 = clock()
            microgpt.adam_step(model)
            t3 = clock()
            del loss
            return t1 - t0, sort, propagate, t3 - t2, clock() - t3

        report[variant] = phase_table(f"phases of a W5 step on {variant} ({name!r})", names,
                                      one_step, steps, out)
    return report


# -------------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark micrograd_nn against micrograd 0.1.0 and graph-free baselines.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds; for tests)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="measurements per cell (default 5, quick 2)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help="comma-separated workloads among W1,W2,W3,W4,W5 (default: all)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall (default) or cpu: process CPU time, for a busy machine")
    parser.add_argument("--json", metavar="PATH", help="also write every sample to PATH as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the benchmarks: cProfile W1 on micrograd_nn")
    parser.add_argument("--profile-steps", type=int, default=20, help="W1 steps to profile")
    parser.add_argument("--ops", action="store_true",
                        help="instead of the benchmarks: the cost of one node of each kind")
    parser.add_argument("--profile-top", type=int, default=25, help="entries to print")
    parser.add_argument("--phases", action="store_true",
                        help="instead of the benchmarks: time each phase of a W1 and a W5 step")
    parser.add_argument("--no-micrograd", action="store_true",
                        help="run micrograd_nn (and baselines) only, even if micrograd is there")
    args = parser.parse_args(argv)
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in only if w not in WORKLOADS]
    if unknown or not only:
        parser.error(f"--only takes a comma-separated list among {','.join(WORKLOADS)}, "
                     f"got {args.only!r}")
    args.only = only
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be a positive integer, got {args.repeats}")
    if args.profile_steps < 1 or args.profile_top < 1:
        parser.error("--profile-steps and --profile-top must be positive integers")
    return args


def main(argv: list[str] | None = None, out=None) -> dict:
    """Run the benchmarks, print the report to ``out`` (stdout) and return it as a dict."""
    global clock
    out = out or sys.stdout
    args = parse_args(argv)
    clock = CLOCKS[args.clock]
    sizes = QUICK if args.quick else Sizes()
    repeats = args.repeats or sizes.repeats
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable)", file=out)
    print(f"python:  {info['python']} on {info['platform']}; recursion limit "
          f"{info['recursion_limit']}, gc thresholds {tuple(info['gc_thresholds'])}", file=out)
    print("versions: " + ", ".join(f"{k} {v or 'not installed'}"
                                   for k, v in info["versions"].items())
          + (f" (micrograd_nn at git {info['source']})" if info["source"] else ""), file=out)
    report: dict = {"machine": info, "quick": args.quick, "repeats": repeats, "clock": args.clock,
                    "sizes": {k: getattr(sizes, k) for k in Sizes.__dataclass_fields__}}

    if args.phases:
        report["phases"] = phases_w1(sizes, 3 if args.quick else 30, out)
        report["phases_w5"] = phases_w5(2 if args.quick else 10, out)
        _write_json(args.json, report)
        return report
    if args.profile:
        report["profile"] = profile_w1(sizes, args.profile_steps, args.profile_top, out)
        _write_json(args.json, report)
        return report

    engines = [W.micrograd_nn_engine()]
    mg = None if args.no_micrograd else W.micrograd_engine()
    if args.ops:
        engines += [mg] if mg else []
        number = 200 if args.quick else 20_000
        report["ops"] = op_costs(engines, number, repeats)
        print(f"cost per operation, best of {repeats} x {number} (gc off while timed, clock "
              f"{args.clock}):", file=out)
        ops_table(report["ops"], [e.name for e in engines], out)
        _write_json(args.json, report)
        return report
    if mg is None:
        why = "skipped (--no-micrograd)" if args.no_micrograd else (
            "not installed (pip install -e .[bench] for micrograd==0.1.0)")
        print(f"micrograd: {why}; printing micrograd_nn's columns only", file=out)
    else:
        engines.append(mg)
    print(f"models: {', '.join(f'{e.name}: {e.mlp_source}' for e in engines)}", file=out)
    print(f"repeats: {repeats} per cell (fewer once a cell has used {sizes.budget_seconds:.0f} s)"
          f"; sizes: {'quick' if args.quick else 'full'}; clock: {args.clock}"
          f"{' (process CPU time)' if args.clock == 'cpu' else ' (elapsed time)'}", file=out)
    print(file=out)

    makers = {"W1": w1_cells, "W2": w2_cells, "W3": w3_cells}
    cells: list[Cell] = []
    for name in args.only:
        if name in makers:
            group = makers[name](engines, sizes)
            run_interleaved(group, repeats, sizes.budget_seconds)
            cells += group
    names = [e.name for e in engines]
    if cells:
        timing_table(cells, names, out)  # W5 has a table of its own, below
        print(file=out)
    compiled = compiled_rows(cells)
    if compiled:
        print("W1 compiled (micrograd_nn.compile): min step time of the runs above, against "
              "the engine's step (gc default) and numpy by hand", file=out)
        compiled_table(compiled, out)
        print(file=out)
    w5_losses: dict = {}
    w5: list[Cell] = []
    if "W5" in args.only:
        w5, w5_losses = w5_cells(sizes)
        run_interleaved(w5, repeats, sizes.budget_seconds)
        print(f"W5: microgpt's training step (1 layer, n_embd 16, 4 heads, block 16), "
              f"{sizes.w5_names} names per measurement, gc default", file=out)
        w5_table(w5, w5_losses, out)
        print(file=out)
        cells += w5
    w4 = []
    if "W4" in args.only:
        w4 = run_w4(engines, sizes)
        print(f"W4: memory of the W2 chain ({sizes.w4_ops:.0e} ops, tracemalloc, gc off) and "
              f"reference cycles of the W1 graph", file=out)
        w4_table(w4, out)
        print(file=out)
    goals = targets(cells, w4, sizes, mg is not None, w5_losses)
    if goals:
        print("targets", file=out)
        targets_table(goals, out)

    report["cells"] = [
        {"workload": c.workload, "case": c.case, "engine": c.engine, "gc": c.gc,
         "unit": c.unit, "samples": c.samples, "errors": c.errors,
         "summary": {p: summary(s) for p, s in c.samples.items()}}
        for c in cells
    ]
    report["w4"] = w4
    report["compiled"] = compiled
    report["w5_losses"] = w5_losses
    report["targets"] = goals
    _write_json(args.json, report)
    return report


def _write_json(path: str | None, report: dict) -> None:
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, default=str)
        f.write("\n")


if __name__ == "__main__":
    main()
