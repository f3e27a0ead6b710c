"""The checks of the graded exercises: each task's answers against micrograd_nn's engine.

Each ``check_taskN(module)`` takes the learner's loaded file and returns a list of findings, one
line each (empty when the task passes). A finding names the op or factor and the smallest
counterexample that hypothesis found, e.g. "tanh: your d tanh(x)/dx at x = 0.5 is 0.25, the
engine's 0.7864". A part still raising the stub's NotImplementedError gives `NotDone` instead.

Points come from a grid of tenths (shrinking goes to small, readable numbers); answers count
as equal within a relative 1e-6 (absolute 1e-9).
"""

from __future__ import annotations

import math
import numbers
import re
import traceback
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, find, settings, strategies as st
from hypothesis.errors import NoSuchExample

from ..engine import Value, grad
from ..losses import cross_entropy as engine_cross_entropy, mse as engine_mse
from ..optim import SGD

LEARNER_FILE = re.compile(r"task\d+_\w+\.py$")
EXAMPLES = 150
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


class NotDone(Exception):
    """A part of the task still raises the stub's NotImplementedError."""


class Missing(Exception):
    """The learner's file lacks a name the stub defines."""


def num(x) -> str:
    """A number as the report prints it: 4 significant digits ("0.7864", "2", "-0.5")."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return f"{float(x):.4g}"
    return repr(x)


def both(yours, engine: float) -> tuple[str, str]:
    """``yours`` and ``engine`` as `num` prints them, with more digits where 4 would print two
    different numbers alike (0.99 against 0.990066 reads "0.99" and "0.9901", not twice 0.99)."""
    for digits in (4, 6, 8, 12, 17):
        mine = f"{float(yours):.{digits}g}" if isinstance(yours, numbers.Real) and not isinstance(
            yours, bool) else repr(yours)
        theirs = f"{float(engine):.{digits}g}"
        if mine != theirs or digits == 17:
            return mine, theirs
    return num(yours), num(engine)


def nums(xs) -> str:
    """A list of numbers as the report prints it: [0.5, -1, 2]."""
    return f"[{', '.join(map(num, xs))}]"


def close(yours, engine: float) -> bool:
    """True when ``yours`` is a number equal to ``engine`` within rel 1e-6, abs 1e-9."""
    if isinstance(yours, bool) or not isinstance(yours, numbers.Real):
        return False
    return math.isclose(float(yours), engine, rel_tol=1e-6, abs_tol=1e-9)


def grid(low: float, high: float, step: float = 0.1, nonzero: bool = False):
    """Numbers low, low + step, ..., high (multiples of step, so 0.5 rather than 0.4999...)."""
    k = round(1 / step)
    points = st.integers(round(low * k), round(high * k)).map(lambda i: i / k)
    return points.filter(lambda x: x != 0) if nonzero else points


def raised(e: BaseException) -> str:
    """"raised ZeroDivisionError: float division by zero (task3_activations.py, line 14, in
    tanh_local)": the error and the last line of the learner's files it passed through."""
    text = f"raised {type(e).__name__}: {e}" if str(e) else f"raised {type(e).__name__}"
    frames = traceback.extract_tb(e.__traceback__)
    if isinstance(e, SyntaxError) and e.filename:
        return f"{text} ({Path(e.filename).name}, line {e.lineno})"
    for frame in reversed(frames):
        if LEARNER_FILE.match(Path(frame.filename).name):
            return f"{text} ({Path(frame.filename).name}, line {frame.lineno}, in {frame.name})"
    return text


def smallest(strategy, wrong: Callable) -> str | None:
    """The finding at the smallest example for which ``wrong(example)`` gives one, else None.

    ``wrong`` returns a finding (str) or None; an exception in the learner's code counts as a
    finding too. A stub's NotImplementedError ends the search at once, as `NotDone`.
    """
    def finding(example):
        try:
            return wrong(example)
        except NotImplementedError as e:
            raise NotDone(str(e) or "not done yet") from None
        except RecursionError as e:
            return raised(e)
        except Exception as e:  # the learner's code failed: that is the finding
            return raised(e)

    try:
        example = find(strategy, lambda ex: finding(ex) is not None, settings=SETTINGS)
    except NoSuchExample:
        return None
    return finding(example)


def part(name: str, strategy, wrong: Callable) -> list:
    """``smallest`` for one named part ("tanh", "MLP"): [] or ["name: finding"]."""
    try:
        found = smallest(strategy, wrong)
    except NotDone:
        return [f"{name}: not done yet"]
    return [] if found is None else [f"{name}: {found}"]


def get(module, name: str):
    """The learner's function or class ``name``; `Missing` when the file lacks it."""
    thing = getattr(module, name, None)
    if thing is None:
        raise Missing(f"the file has no {name!r} (the stub defines it; keep its name)")
    return thing


# -------------------------------------------------------------------------------------------------
# Tasks 1-3: local derivatives


def _engine_local(f: Callable, args: tuple, wrt: tuple) -> list:
    """d f / d args[i] for each i in wrt, by micrograd_nn's backward()."""
    values = [Value(a) if i in wrt else a for i, a in enumerate(args)]
    f(*values).backward()
    return [values[i].grad for i in wrt]


# name, the learner's function, argument names, the engine's forward, operands differentiated,
# the derivative as the report writes it ({} is the argument's name), the points
X3 = grid(-3, 3)
OP_TASKS = {
    1: [("add", "add_local", ("x", "y"), lambda x, y: x + y, (0, 1), "d(x + y)/d{}",
         st.tuples(X3, X3)),
        ("mul", "mul_local", ("x", "y"), lambda x, y: x * y, (0, 1), "d(x * y)/d{}",
         st.tuples(X3, X3))],
    2: [("pow", "pow_local", ("x", "n"), lambda x, n: x ** n, (0,), "d(x**n)/d{}",
         st.tuples(grid(0.1, 3), grid(-3, 3, 0.5))),
        ("exp", "exp_local", ("x",), lambda x: x.exp(), (0,), "d exp(x)/d{}", st.tuples(X3)),
        ("log", "log_local", ("x",), lambda x: x.log(), (0,), "d log(x)/d{}",
         st.tuples(grid(0.1, 5)))],
    3: [("tanh", "tanh_local", ("x",), lambda x: x.tanh(), (0,), "d tanh(x)/d{}",
         st.tuples(X3)),
        ("relu", "relu_local", ("x",), lambda x: x.relu(), (0,), "d relu(x)/d{}",
         st.tuples(grid(-3, 3, nonzero=True))),
        ("sigmoid", "sigmoid_local", ("x",), lambda x: x.sigmoid(), (0,), "d sigmoid(x)/d{}",
         st.tuples(grid(-4, 4)))],
}


def _op_finding(learner: Callable, names, forward, wrt, shown, args) -> str | None:
    yours = learner(*args)
    if len(wrt) > 1:
        if not isinstance(yours, (tuple, list)) or len(yours) != len(wrt):
            return (f"returned {yours!r}; it should return a tuple of {len(wrt)} numbers "
                    f"(d/d{names[0]}, d/d{names[1]})")
    else:
        yours = (yours,)
    point = ", ".join(f"{n} = {num(a)}" for n, a in zip(names, args))
    for i, y, e in zip(wrt, yours, _engine_local(forward, args, wrt)):
        if not close(y, e):
            mine, theirs = both(y, e)
            return f"your {shown.format(names[i])} at {point} is {mine}, the engine's {theirs}"
    return None


def check_local_derivatives(module, task: int) -> list:
    findings = []
    for name, fn, names, forward, wrt, shown, points in OP_TASKS[task]:
        try:
            learner = get(module, fn)
        except Missing as e:
            findings.append(f"{name}: {e}")
            continue
        findings += part(name, points,
                         lambda args: _op_finding(learner, names, forward, wrt, shown, args))
    return findings


# -------------------------------------------------------------------------------------------------
# Task 4: the learner's own Value

DEPTH = 2000
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@st.composite
def programs(draw):
    """(leaf numbers, steps): each step (op, i, j) builds a node from nodes i and j, counted
    back from the newest (0 is the newest), so small programs reuse values: a + a."""
    leaves = draw(st.lists(grid(-2, 2), min_size=1, max_size=3))
    steps = draw(st.lists(st.tuples(st.sampled_from(["+", "*", "tanh"]),
                                    st.integers(0, 8), st.integers(0, 8)),
                          min_size=1, max_size=6))
    return leaves, steps


def _build(value_class, leaves, steps) -> tuple[list, list]:
    """Run a program with ``value_class``; the nodes and the program's text, line by line."""
    nodes = [value_class(x) for x in leaves]
    text = [f"{LETTERS[k]} = Value({num(x)})" for k, x in enumerate(leaves)]
    for op, i, j in steps:
        a, b = len(nodes) - 1 - i % len(nodes), len(nodes) - 1 - j % len(nodes)
        name = LETTERS[len(nodes)]
        if op == "tanh":
            nodes.append(nodes[a].tanh())
            text.append(f"{name} = {LETTERS[a]}.tanh()")
        else:
            nodes.append(nodes[a] + nodes[b] if op == "+" else nodes[a] * nodes[b])
            text.append(f"{name} = {LETTERS[a]} {op} {LETTERS[b]}")
    nodes[-1].backward()
    text.append(f"{LETTERS[len(nodes) - 1]}.backward()")
    return nodes, text


def _program_finding(value_class, program) -> str | None:
    leaves, steps = program
    engine, text = _build(Value, leaves, steps)
    try:
        yours, _ = _build(value_class, leaves, steps)
    except NotImplementedError:
        raise
    except Exception as e:
        return f"{'; '.join(text)} {raised(e)}"
    for field in ("data", "grad"):
        for k, (y, e) in enumerate(zip(yours, engine)):
            got = getattr(y, field, None)
            if not close(got, getattr(e, field)):
                mine, theirs = both(got, getattr(e, field))
                return (f"after {'; '.join(text)}: your {LETTERS[k]}.{field} is {mine}, "
                        f"the engine's {theirs}")
    return None


def _deep_finding(value_class) -> str | None:
    """backward() through a chain DEPTH additions long (past Python's recursion limit)."""
    x = value_class(0.5)
    y = x
    for _ in range(DEPTH):
        y = y + x
    try:
        y.backward()
    except RecursionError:
        return (f"backward() on a chain of {DEPTH:,} additions raised RecursionError: a "
                f"recursive topological sort goes one call deeper per node, past Python's "
                f"limit (about 1,000); sort with an explicit stack")
    if not close(x.grad, DEPTH + 1.0):
        return (f"on y = x + x + ... + x ({DEPTH + 1:,} terms) your x.grad is {num(x.grad)}, "
                f"the engine's {DEPTH + 1}")
    return None


def check_task4(module) -> list:
    value_class = get(module, "Value")
    findings = part("backward", programs(), lambda p: _program_finding(value_class, p))
    if not findings:
        try:
            found = _deep_finding(value_class)
        except NotImplementedError:
            found = "not done yet"
        except Exception as e:
            found = raised(e)
        findings += [] if found is None else [f"depth: {found}"]
    return findings


# -------------------------------------------------------------------------------------------------
# Task 5: Neuron, Layer, MLP


@st.composite
def networks(draw, kind: str):
    """(constructor arguments, parameter numbers, input numbers) for a Neuron, Layer or MLP."""
    nin = draw(st.integers(1, 3))
    if kind == "Neuron":
        args, widths = (nin, draw(st.booleans())), [1]
    elif kind == "Layer":
        args = (nin, draw(st.integers(1, 3)), draw(st.booleans()))
        widths = [args[1]]
    else:
        widths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        args = (nin, widths)
    sizes = [nin] + widths
    count = sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(widths)))
    params = draw(st.lists(grid(-1, 1), min_size=count, max_size=count))
    x = draw(st.lists(grid(-2, 2), min_size=nin, max_size=nin))
    return args, params, x


def _reference(kind: str, args: tuple, params: list, x: list) -> tuple[list, list]:
    """The engine's outputs and parameter Values for the same numbers (neuron after neuron,
    each's weights then its bias; tanh except in an MLP's last layer or with nonlin False)."""
    nin = args[0]
    if kind == "MLP":
        layers = [(w, i < len(args[1]) - 1) for i, w in enumerate(args[1])]
    else:
        layers = [(1 if kind == "Neuron" else args[1], args[-1])]
    values = [Value(p) for p in params]
    inputs, k = list(x), 0
    for width, nonlin in layers:
        outs = []
        for _ in range(width):
            act = sum((w * xi for w, xi in zip(values[k:k + nin], inputs)), values[k + nin])
            outs.append(act.tanh() if nonlin else act)
            k += nin + 1
        inputs, nin = outs, width
    Value.sum(inputs).backward()
    return inputs, values


def _network_finding(cls, kind: str, example) -> str | None:
    args, params, x = example
    where = f"{kind}({', '.join(map(repr, args))})"
    net = cls(*args)
    ps = list(net.parameters())
    if len(ps) != len(params):
        return f"{where}.parameters() has {len(ps)} values, it should have {len(params)}"
    if not all(isinstance(p, Value) for p in ps) or len(set(map(id, ps))) != len(ps):
        return f"{where}.parameters() should be {len(ps)} different micrograd_nn Values"
    for p, number in zip(ps, params):
        p.data, p.grad = number, 0.0
    out = net(list(x))
    outs = [out] if kind == "Neuron" else out
    engine_outs, engine_params = _reference(kind, args, params, x)
    shown = f"{where} with parameters {nums(params)} at x = {nums(x)}"
    if not isinstance(outs, list) or len(outs) != len(engine_outs):
        return f"{shown} returned {out!r}, it should be a list of {len(engine_outs)} Values"
    for i, (y, e) in enumerate(zip(outs, engine_outs)):
        if not close(getattr(y, "data", None), e.data):
            mine = getattr(y, "data", y)
            return f"{shown}: output {i} is {num(mine)}, the engine's {num(e.data)}"
    Value.sum(outs).backward()
    for i, (p, e) in enumerate(zip(ps, engine_params)):
        if not close(p.grad, e.grad):
            return (f"{shown}: after backward() of the outputs' sum, parameter {i}'s grad is "
                    f"{num(p.grad)}, the engine's {num(e.grad)}")
    return None


def check_task5(module) -> list:
    findings = []
    for kind in ("Neuron", "Layer", "MLP"):
        cls = get(module, kind)
        findings += part(kind, networks(kind), lambda ex: _network_finding(cls, kind, ex))
        if findings:
            break   # a Layer is made of Neurons, an MLP of Layers: the first failure is the news
    return findings


# -------------------------------------------------------------------------------------------------
# Task 6: losses


def _loss_finding(yours: Callable, engine: Callable, preds: list, target, shown: str):
    mine = [Value(p) for p in preds]
    theirs = [Value(p) for p in preds]
    loss = yours(mine, target)
    reference = engine(theirs, target)
    if not close(getattr(loss, "data", None), reference.data):
        return f"{shown} is {num(getattr(loss, 'data', loss))}, the engine's {num(reference.data)}"
    loss.backward()
    reference.backward()
    for i, (m, t) in enumerate(zip(mine, theirs)):
        if not close(m.grad, t.grad):
            return f"{shown}: d loss/d input {i} is {num(m.grad)}, the engine's {num(t.grad)}"
    return None


@st.composite
def _mse_points(draw):
    n = draw(st.integers(1, 4))
    return (draw(st.lists(grid(-2, 2), min_size=n, max_size=n)),
            draw(st.lists(grid(-2, 2), min_size=n, max_size=n)))


@st.composite
def _cross_entropy_points(draw):
    logits = draw(st.lists(grid(-3, 3), min_size=2, max_size=4))
    return logits, draw(st.integers(0, len(logits) - 1))


def check_task6(module) -> list:
    mse, ce = get(module, "mse"), get(module, "cross_entropy")
    return (part("mse", _mse_points(), lambda ex: _loss_finding(
                mse, engine_mse, ex[0], ex[1], f"mse({nums(ex[0])}, {nums(ex[1])})"))
            + part("cross_entropy", _cross_entropy_points(), lambda ex: _loss_finding(
                ce, engine_cross_entropy, ex[0], ex[1], f"cross_entropy({nums(ex[0])}, {ex[1]})")))


# -------------------------------------------------------------------------------------------------
# Task 7: one SGD step

_SGD_POINTS = st.tuples(st.lists(st.tuples(grid(-2, 2), grid(-2, 2)), min_size=1, max_size=3),
                        grid(0.1, 1))


def _sgd_finding(step: Callable, example) -> str | None:
    pairs, lr = example
    mine = [Value(d) for d, _ in pairs]
    theirs = [Value(d) for d, _ in pairs]
    for m, t, (_, g) in zip(mine, theirs, pairs):
        m.grad = t.grad = g
    step(mine, lr)
    SGD(theirs, lr=lr).step()
    for i, (m, t, (d, g)) in enumerate(zip(mine, theirs, pairs)):
        if not close(m.data, t.data):
            return (f"sgd_step(lr={num(lr)}) on a parameter with data {num(d)} and grad {num(g)} "
                    f"left data {num(m.data)}, the engine's SGD {num(t.data)}")
    return None


def _zero_grad_finding(zero: Callable, example) -> str | None:
    pairs, _ = example
    ps = [Value(d) for d, _ in pairs]
    for p, (_, g) in zip(ps, pairs):
        p.grad = g
    zero(ps)
    for p, (d, g) in zip(ps, pairs):
        if p.grad != 0 or p.data != d:
            return (f"on a parameter with data {num(d)} and grad {num(g)} it left data "
                    f"{num(p.data)} and grad {num(p.grad)}; it should leave data {num(d)}, grad 0")
    return None


def check_task7(module) -> list:
    step, zero = get(module, "sgd_step"), get(module, "zero_grad")
    return (part("sgd_step", _SGD_POINTS, lambda ex: _sgd_finding(step, ex))
            + part("zero_grad", _SGD_POINTS, lambda ex: _zero_grad_finding(zero, ex)))


# -------------------------------------------------------------------------------------------------
# Task 8: the tutorial's perceptron

TUTORIAL_POINT = dict(x1=1.5, x2=-0.5, w1=0.25, w2=-0.75, b=0.1, y=1.0)
FACTORS = ("dloss/dyhat", "dyhat/dz", "dz/dw1")


def _sigmoid(x: float) -> float:
    return Value(x).sigmoid().data


def engine_factors(x1, x2, w1, w2, b, y) -> tuple:
    """The three factors of dloss/dw1, each a gradient from the engine's graph."""
    w1_ = Value(w1)
    z = w1_ * x1 + w2 * x2 + b
    yhat = z.sigmoid()
    loss = (yhat - y) ** 2
    return (grad(loss, [yhat])[0], grad(yhat, [z])[0], grad(z, [w1_])[0]), z.data, yhat.data


def _mistake(factor: str, yours, point: dict, z: float, yhat: float, right: float) -> str:
    """Why ``yours`` is wrong, when it is a known mistake; else the plain comparison."""
    x1, w1, y = point["x1"], point["w1"], point["y"]
    known = {
        "dloss/dyhat": [(yhat - y, f"is yhat - y; it is 2 (yhat - y) = {num(right)}, the "
                                   f"derivative of (yhat - y)**2"),
                        (2 * (y - yhat), f"has the wrong sign; it is 2 (yhat - y) = {num(right)}")],
        "dyhat/dz": [(_sigmoid(yhat) * (1 - _sigmoid(yhat)),
                      f"is sigmoid'(yhat); it is sigmoid'(z) = {num(right)}"),
                     (_sigmoid(z), f"is sigmoid(z); it is sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))"
                                   f" = {num(right)}")],
        "dz/dw1": [(w1, f"is w1; it is x1 = {num(right)}, the number w1 multiplies")],
    }
    for value, why in known[factor]:
        if close(yours, value) and not close(value, right):
            return f"{factor}: yours {num(yours)} {why}"
    where = ", ".join(f"{k} = {num(v)}" for k, v in point.items())
    return f"{factor}: yours {num(yours)} at {where}; the engine's {num(right)}"


def _perceptron_findings(factors: Callable, point: dict) -> list:
    yours = factors(**point)
    if not isinstance(yours, (tuple, list)) or len(yours) != 3:
        return [f"chain_rule_factors returned {yours!r}; it should return 3 numbers "
                f"({', '.join(FACTORS)})"]
    right, z, yhat = engine_factors(**point)
    return [_mistake(f, mine, point, z, yhat, r)
            for f, mine, r in zip(FACTORS, yours, right) if not close(mine, r)]


_PERCEPTRON_POINTS = st.fixed_dictionaries(
    {"x1": grid(-2, 2), "x2": grid(-2, 2), "w1": grid(-2, 2), "w2": grid(-2, 2),
     "b": grid(-1, 1), "y": st.sampled_from([0.0, 1.0])})


def check_task8(module) -> list:
    factors = get(module, "chain_rule_factors")
    try:
        findings = _perceptron_findings(factors, TUTORIAL_POINT)   # the tutorial's point first
    except NotImplementedError:
        return ["not done yet"]
    except Exception as e:
        return [f"at the tutorial's point chain_rule_factors {raised(e)}"]
    if findings:
        return findings
    found = smallest(_PERCEPTRON_POINTS,
                     lambda p: "; ".join(_perceptron_findings(factors, p)) or None)
    return [] if found is None else [found]


def check_task(module, task: int) -> list:
    """The findings of task ``task`` (1 to 8) on the learner's loaded file; [] means passed."""
    if task in OP_TASKS:
        return check_local_derivatives(module, task)
    return {4: check_task4, 5: check_task5, 6: check_task6, 7: check_task7,
            8: check_task8}[task](module)
