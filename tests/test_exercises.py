"""The graded exercises: stubs fail every task, solutions pass every task, and a planted mistake
is reported by the name of its op or factor with a counterexample; a learner's infinite loop or
crash stops only its own task."""

import importlib.util
import re
from pathlib import Path

import pytest

from micrograd_nn import exercises
from micrograd_nn.cli import main
from micrograd_nn.exercises import checks
from micrograd_nn.exercises.tasks import SOLUTIONS, TASKS

N = len(TASKS)


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# a task that passes in a few seconds may take far longer on a busy shared machine: the tests
# that expect a verdict give each task two minutes (the time limit itself is tested on its own)
SLOW_MACHINE = ["--timeout", "120"]


def planted(tmp_path: Path, number: int, old: str, new: str):
    """The solution of task ``number`` with ``old`` replaced by ``new`` (once), loaded."""
    file = TASKS[number - 1].file
    text = (SOLUTIONS / file).read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {file}"
    path = tmp_path / file
    path.write_text(text.replace(old, new))
    return load(path)


def test_list_names_every_task_in_order(capsys):
    assert main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(re.match(r"task (\d+)", line).group(1)) for line in lines] == list(range(1, N + 1))
    assert "perceptron" in lines[-1] and "add" not in lines[-1]


def test_start_then_check_fails_every_task_as_not_done(tmp_path, capsys):
    folder = tmp_path / "mine"
    assert main(["exercises", "start", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(t.file for t in TASKS)
    capsys.readouterr()
    assert main(["exercises", "check", str(folder), *SLOW_MACHINE]) == 1
    out = capsys.readouterr().out
    for t in TASKS:
        assert re.search(rf"^task {t.number} .* not done yet$", out, re.M), out
    assert "Traceback" not in out
    assert f"0 of {N} tasks pass" in out


def test_solve_then_check_passes_every_task(tmp_path, capsys):
    folder = tmp_path / "key"
    assert main(["exercises", "solve", str(folder)]) == 0
    capsys.readouterr()
    assert main(["exercises", "check", str(folder), *SLOW_MACHINE]) == 0
    out = capsys.readouterr().out
    assert out.count(" passed\n") == N, out
    assert f"{N} of {N} tasks pass" in out


def test_start_keeps_a_learners_work_and_solve_never_overwrites(tmp_path, capsys):
    folder = tmp_path / "mine"
    exercises.start(folder)
    mine = folder / TASKS[0].file
    mine.write_text("# my work\n")
    written, kept = exercises.start(folder)
    assert written == [] and len(kept) == N
    assert main(["exercises", "solve", str(folder)]) == 1   # nothing written over
    assert mine.read_text() == "# my work\n"
    assert "kept" in capsys.readouterr().out


# -------------------------------------------------------------------------------------------------
# Planted mistakes, checked in this process (the checks themselves, without the runner)

OP_MISTAKES = [  # task, op, the solution's line, a wrong one
    (1, "add", "return 1.0, 1.0", "return 1.0, 0.0"),
    (1, "mul", "return y, x", "return x, y"),
    (2, "pow", "return n * x ** (n - 1)", "return n * x ** n"),
    (2, "exp", "return math.exp(x)", "return math.exp(x) * x"),
    (2, "log", "return 1 / x", "return math.log(x)"),
    (3, "tanh", "return 1 - math.tanh(x) ** 2", "return 1 - x ** 2"),
    (3, "relu", "return 1.0 if x > 0 else 0.0", "return 1.0"),
    (3, "sigmoid", "return s * (1 - s)", "return s"),
]


@pytest.mark.parametrize("number, op, old, new", OP_MISTAKES, ids=[m[1] for m in OP_MISTAKES])
def test_a_wrong_local_derivative_is_reported_by_its_op_and_argument(tmp_path, number, op,
                                                                      old, new):
    findings = checks.check_task(planted(tmp_path, number, old, new), number)
    assert len(findings) == 1, findings
    m = re.fullmatch(rf"{op}: your d.*/d(\w) at (x = \S+)(, \w = \S+)? is (\S+), "
                     r"the engine's (\S+)", findings[0])
    assert m, findings[0]
    assert m.group(4) != m.group(5)


def test_the_issues_tanh_example_reads_as_promised(tmp_path):
    module = planted(tmp_path, 3, "return 1 - math.tanh(x) ** 2",
                     "return 0.25 if x == 0.5 else 1 - math.tanh(x) ** 2")
    assert checks.check_task(module, 3) == [
        "tanh: your d tanh(x)/dx at x = 0.5 is 0.25, the engine's 0.7864"]


PERCEPTRON_MISTAKES = [
    ("dyhat_dz = yhat * (1 - yhat)", "dyhat_dz = sigmoid(yhat) * (1 - sigmoid(yhat))",
     "dyhat/dz: yours 0.2217 is sigmoid'(yhat); it is sigmoid'(z) = 0.2098"),
    ("dloss_dyhat = 2 * (yhat - y)", "dloss_dyhat = yhat - y",
     "dloss/dyhat: yours -0.2994 is yhat - y; it is 2 (yhat - y) = -0.5989, the derivative of "
     "(yhat - y)**2"),
    ("dz_dw1 = x1", "dz_dw1 = w1", "dz/dw1: yours 0.25 is w1; it is x1 = 1.5, the number w1 "
                                   "multiplies"),
    ("dz_dw1 = x1", "dz_dw1 = x2", "dz/dw1: yours -0.5 at x1 = 1.5, x2 = -0.5, w1 = 0.25, "
                                   "w2 = -0.75, b = 0.1, y = 1; the engine's 1.5"),
]


@pytest.mark.parametrize("old, new, finding", PERCEPTRON_MISTAKES)
def test_the_perceptron_names_the_wrong_factor(tmp_path, old, new, finding):
    assert checks.check_task(planted(tmp_path, 8, old, new), 8) == [finding]


def test_the_perceptron_is_checked_beyond_the_tutorials_point(tmp_path):
    # right at the tutorial's point only: the search finds another point
    module = planted(tmp_path, 8, "dz_dw1 = x1", "dz_dw1 = 1.5")
    [finding] = checks.check_task(module, 8)
    assert finding.startswith("dz/dw1: yours 1.5 at x1 = ") and "the engine's" in finding


def test_assignment_instead_of_accumulation_is_found_on_a_reused_value(tmp_path):
    module = planted(tmp_path, 4, "other.grad += 1.0 * out.grad", "other.grad = 1.0 * out.grad")
    [finding] = checks.check_task(module, 4)
    assert re.fullmatch(r"backward: after a = Value\(\S+\); .*\.backward\(\): "
                        r"your \w\.grad is \S+, the engine's \S+", finding), finding


def test_a_recursive_topological_sort_is_told_about_the_depth(tmp_path):
    recursive = '''
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0'''
    text = (SOLUTIONS / TASKS[3].file).read_text()
    start = text.index("        # Topological order")
    end = text.index("        self.grad = 1.0")
    path = tmp_path / TASKS[3].file
    end += len("        self.grad = 1.0")
    path.write_text(text[:start] + recursive.lstrip("\n") + text[end:])
    [finding] = checks.check_task(load(path), 4)
    assert finding.startswith("depth: backward() on a chain of 2,000 additions raised "
                              "RecursionError"), finding
    assert "explicit stack" in finding


@pytest.mark.parametrize("number, old, new, name", [
    (5, "nonlin=i < len(nouts) - 1", "nonlin=True", "MLP"),
    (5, "return self.w + [self.b]", "return self.w", "Neuron"),
    (6, "* (1 / len(squares))", "* (1 / 2)", "mse"),
    (6, "-(exps[target] / total).log()", "-(exps[0] / total).log()", "cross_entropy"),
    (7, "p.data -= lr * p.grad", "p.data += lr * p.grad", "sgd_step"),
    (7, "p.grad = 0.0", "p.grad = 0.0 * p.data + 1", "zero_grad"),
])
def test_a_wrong_network_loss_or_step_is_reported_by_name(tmp_path, number, old, new, name):
    [finding] = checks.check_task(planted(tmp_path, number, old, new), number)
    assert finding.startswith(f"{name}: "), finding
    assert "engine" in finding or "should" in finding, finding


def test_a_half_done_task_names_the_part_not_done(tmp_path):
    module = planted(tmp_path, 1, "return y, x", 'raise NotImplementedError("task 1: mul_local")')
    assert checks.check_task(module, 1) == ["mul: not done yet"]


# -------------------------------------------------------------------------------------------------
# The runner: one process per task, a time limit, errors as findings


def test_an_infinite_loop_or_a_crash_stops_only_its_own_task(tmp_path):
    exercises.solve(tmp_path)
    (tmp_path / TASKS[2].file).write_text("def tanh_local(x):\n    while True:\n        pass\n\n"
                                          "relu_local = sigmoid_local = tanh_local\n")
    (tmp_path / TASKS[0].file).write_text("def add_local(x, y):\n    return 1 / 0\n\n"
                                          "mul_local = add_local\n")
    (tmp_path / TASKS[6].file).write_text("def sgd_step(parameters, lr)\n")   # a syntax error
    results = exercises.check(tmp_path, [1, 3, 7, 8], timeout=15)
    by_task = {r.task: r for r in results}
    assert by_task[3].status == "timed out" and "15 s" in by_task[3].findings[0]
    assert by_task[1].status == "failed"
    assert by_task[1].findings[0].startswith(
        "add: raised ZeroDivisionError: division by zero (task1_add_mul.py, line 2, in add_local)")
    assert by_task[7].status == "error"
    assert re.match(r"task7_sgd.py does not load: raised SyntaxError: .* line 1",
                    by_task[7].findings[0])
    assert by_task[8].status == "passed"


def test_a_missing_file_or_folder_is_said_plainly(tmp_path, capsys):
    [result] = exercises.check(tmp_path, [2], timeout=120)
    assert result.status == "error" and "is missing" in result.findings[0]
    assert main(["exercises", "check", str(tmp_path / "nowhere")]) == 2
    assert "exercises start" in capsys.readouterr().err
    assert main(["exercises", "check", str(tmp_path), "--task", "99"]) == 2
    assert "there is no task 99; the tasks are 1 to 8" in capsys.readouterr().err


def test_without_hypothesis_the_check_says_what_to_install(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "hypothesis" else real(name, *a))
    assert main(["exercises", "check", str(tmp_path)]) == 2
    assert "pip install hypothesis" in capsys.readouterr().err
