"""Graded exercises: backprop from local derivatives to a trained neuron, checked by the engine.

``python -m micrograd_nn exercises list | start DIR | check DIR [--task N] | solve DIR``:

* ``start DIR`` writes one stub file per task into DIR (files already there are kept);
* ``check DIR`` tests each task, in its own process with a time limit, against micrograd_nn's
  engine at points hypothesis draws, and reports each failure with the smallest counterexample
  found ("task 3, tanh: your d tanh(x)/dx at x = 0.5 is 0.25, the engine's 0.7864");
* ``solve DIR`` writes the worked solutions (for teachers), never over an existing file.

The same from Python: `start`, `solve`, `check` (a list of `Result`) and `report`.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

from .runner import DEFAULT_TIMEOUT, ExercisesError, Result, check
from .tasks import SOLUTIONS, STUBS, TASKS, Task, task

__all__ = ["TASKS", "Task", "Result", "ExercisesError", "start", "solve", "check", "report",
           "DEFAULT_TIMEOUT"]


def _copy_missing(source: Path, folder: str | os.PathLike) -> tuple[list, list]:
    """Copy each task's file from ``source`` into ``folder`` unless it is there already;
    (written paths, kept paths)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExercisesError(f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for t in TASKS:
        target = folder / t.file
        if target.exists():
            kept.append(target)
            continue
        with open(source / t.file, "rb") as src, open(target, "xb") as dst:  # x: never clobber
            shutil.copyfileobj(src, dst)
        written.append(target)
    return written, kept


def start(folder: str | os.PathLike) -> tuple[list, list]:
    """Write the stub of every task into ``folder`` (made if needed), keeping files already
    there (a learner's work is never overwritten). Returns (written paths, kept paths)."""
    return _copy_missing(STUBS, folder)


def solve(folder: str | os.PathLike) -> tuple[list, list]:
    """Write the worked solution of every task into ``folder``, keeping files already there.
    Returns (written paths, kept paths)."""
    return _copy_missing(SOLUTIONS, folder)


def report(results: list[Result]) -> str:
    """The check's results as text: one line per task, each finding with the task's hint."""
    lines = []
    width = max(len(task(r.task).title) for r in results)
    for r in results:
        t = task(r.task)
        lines.append(f"task {t.number}  {t.title:<{width}}  {r.status}")
        if r.status in ("passed", "not done yet"):
            continue
        lines += [f"    task {t.number}, {f}" for f in r.findings]
        lines += textwrap.wrap(f"hint: {t.hint}", 100, initial_indent="    ",
                               subsequent_indent="      ")
    passed = sum(r.status == "passed" for r in results)
    lines.append(f"{passed} of {len(results)} task{'s' if len(results) != 1 else ''} pass"
                 + ("." if passed < len(results) else ": well done."))
    return "\n".join(lines)
