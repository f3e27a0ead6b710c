"""Running the checks: each task in its own Python process, with a time limit.

A learner's infinite loop, deep recursion or crash then stops only its own task: the parent
waits at most ``timeout`` seconds per task, reports it, and goes on with the others. The child
(``python -c ... FOLDER N OUT``) loads the learner's file, runs ``checks.check_task`` and writes
its result as JSON to OUT; the learner's prints go to the child's captured output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .tasks import TASKS, task

DEFAULT_TIMEOUT = 20.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]   # the folder holding micrograd_nn/
STATUSES = ("passed", "not done yet", "failed", "timed out", "error")


class ExercisesError(Exception):
    """The check cannot run at all (no folder, no hypothesis); said to the learner as is."""


@dataclass
class Result:
    """One task's outcome: a status from STATUSES and the findings, one line each."""
    task: int
    status: str
    findings: list = field(default_factory=list)


def check(folder: str | os.PathLike, tasks: Sequence[int] | None = None,
          timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Check the learner's files in ``folder`` (all tasks, or those numbered in ``tasks``).

    Each task runs in its own process for at most ``timeout`` seconds. Raises ExercisesError
    when the folder does not exist or hypothesis (the checker's search) is not installed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ExercisesError(f"{folder} is not a folder; make one with "
                             f"`python -m micrograd_nn exercises start {folder}`")
    if importlib.util.find_spec("hypothesis") is None:
        raise ExercisesError("the checker searches for counterexamples with hypothesis, which "
                             "is not installed: pip install hypothesis")
    numbers = [t.number for t in TASKS] if tasks is None else [task(n).number for n in tasks]
    workers = max(1, min(len(numbers), os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda n: _run_task(folder, n, timeout), numbers))


def _run_task(folder: Path, number: int, timeout: float) -> Result:
    path = folder / task(number).file
    if not path.is_file():
        return Result(number, "error", [f"{path} is missing; `exercises start {folder}` "
                                        f"writes it (and keeps the files already there)"])
    with tempfile.TemporaryDirectory(prefix="micrograd_nn_check_") as tmp:
        out = Path(tmp) / "result.json"
        code = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from micrograd_nn.exercises.runner import child; child(*sys.argv[2:])")
        cmd = [sys.executable, "-c", code, str(PACKAGE_ROOT), str(folder.resolve()), str(number),
               str(out)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  cwd=tmp, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Result(number, "timed out", [
                f"stopped after {timeout:g} s: an infinite loop, or a backward() that never "
                f"ends? (the other tasks are checked on their own)"])
        if not out.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return Result(number, "error",
                          [f"the check's process ended with status {done.returncode}: {last}"])
        data = json.loads(out.read_text())
    return Result(number, data["status"], data["findings"])


def child(folder: str, number: str, out: str) -> None:
    """In the checking process: load the learner's file for task ``number``, check it, write
    ``{"status", "findings"}`` to ``out``."""
    status, findings = _status_and_findings(Path(folder), int(number))
    Path(out).write_text(json.dumps({"status": status, "findings": findings}))


def _status_and_findings(folder: Path, number: int) -> tuple[str, list]:
    from . import checks   # needs hypothesis: imported in the child only

    path = folder / task(number).file
    sys.path.insert(0, str(folder))   # a learner's file may import its neighbours
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as e:
        return "error", [f"{path.name} does not load: {checks.raised(e)}"]
    try:
        findings = checks.check_task(module, number)
    except checks.NotDone:
        return "not done yet", ["not done yet"]
    except checks.Missing as e:
        return "error", [str(e)]
    except Exception as e:
        return "error", [f"the check stopped: {checks.raised(e)}"]
    if not findings:
        return "passed", []
    if all(f.endswith("not done yet") for f in findings):
        return "not done yet", findings
    return "failed", findings
