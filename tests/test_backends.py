"""Calculus in the rows, code with the backends; and ops registered by users reach everywhere.

Each backend keeps its own table of templates beside its code. Every op of the table must have
an entry in each (or be one the backend writes by hand), and a missing one fails naming the file
to add it to. A user's op goes through ``register``, the door the built-ins use too.
"""

import importlib.util
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from needs import missing

from micrograd_nn import MLP, Op, Value, compile, grad, register
from micrograd_nn import ops, pytorch
from micrograd_nn.compiler import numpy_backend, python_backend
from micrograd_nn.compiler.templates import check_table
from micrograd_nn.engine import reference
from micrograd_nn.viz import explore, expr

BACKENDS = {  # name -> (table, the ops it writes by hand, the file to add an entry to)
    "python": (python_backend.PYTHON, python_backend.WRITTEN_HERE,
               "micrograd_nn/compiler/python_backend.py"),
    "numpy": (numpy_backend.NUMPY, numpy_backend.WRITTEN_HERE,
              "micrograd_nn/compiler/numpy_backend.py"),
    "javascript": (explore.JAVASCRIPT, (), "micrograd_nn/viz/explore.py"),
    "torch": (pytorch.TORCH, (), "micrograd_nn/pytorch.py"),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_op_of_the_table_has_an_entry_in_each_backend(backend):
    table, by_hand, where = BACKENDS[backend]
    for op in ops.OPS:
        assert op.name in table or op.name in by_hand, (
            f"the op {op.name!r} has no {backend} entry: add one to the table in {where}")
    assert "**n" in table, f"x ** n for a constant n has no {backend} entry in {where}"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_key_of_a_backend_table_names_an_op(backend):
    table, _, where = BACKENDS[backend]
    if backend in ("python", "numpy"):
        check_table(table, where)   # the arity of each entry too
    assert set(table) <= {op.name for op in ops.OPS} | {"**n"}


def test_a_table_with_a_stray_key_or_a_wrong_arity_is_refused():
    with pytest.raises(ValueError, match="'sine' is not the name of an op"):
        check_table({"sine": ("{0}", ("1.0",))}, "TABLE")
    with pytest.raises(ValueError, match=r"TABLE\['\*'\]: 2 operand\(s\) need 2"):
        check_table({"*": ("{0} * {1}", ("{1}",))}, "TABLE")


def test_code_moved_out_of_the_rows_is_refused_with_where_it_went():
    with pytest.raises(TypeError, match="register.*each backend keeps its own code"):
        Op("sq", lambda x: x * x, lambda x, out: (2 * x,), code={"js": "{0} * {0}"})
    with pytest.raises(TypeError, match="method.*register"):
        Op("sq", lambda x: x * x, lambda x, out: (2 * x,), method="sq")


# ---- a user's op, registered --------------------------------------------------------------------

def _unregister(op: Op) -> None:
    """Take a test's op out of the table again, and its methods off both Value classes."""
    ops.OPS.remove(op)
    for cls in (Value, reference.Value):
        if op.method and op.method in cls.__dict__:
            delattr(cls, op.method)


@pytest.fixture
def sin_cos():
    sin = Op("sin", math.sin, lambda x, out: (cos(x),), ("cos({0})",), doc="sin(x).")
    cos = Op("cos", math.cos, lambda x, out: (-sin(x),), ("-sin({0})",), doc="cos(x).")
    register(sin)
    register(cos, activation=True)
    yield sin, cos
    for op in (cos, sin):
        _unregister(op)


def test_a_registered_op_is_a_method_an_expression_name_and_an_activation(sin_cos):
    sin, cos = sin_cos
    x = Value(0.5, "x")
    assert x.sin().op is sin and x.sin().data == math.sin(0.5)
    assert Value.sin.__doc__ == "sin(x)."
    assert reference.Value(0.5).sin().data == math.sin(0.5)
    assert expr.parse_expr("(x * 2).sin() + x.cos()", {"x": x}).data == \
        math.sin(1.0) + math.cos(0.5)
    model = MLP(2, [3, 1], activation="cos", seed=1)
    hidden = model.layers[0].neurons[0]([0.3, -0.2])
    assert hidden.op is cos
    (g,) = grad(x.sin().sin(), [x], create_graph=True)   # its rule calls cos: a graph
    (h,) = grad(g, [x])
    assert math.isclose(h, -math.sin(math.sin(0.5)) * math.cos(0.5) ** 2
                        - math.cos(math.sin(0.5)) * math.sin(0.5), rel_tol=1e-12)


def test_a_registered_op_compiles_on_both_backends(sin_cos):
    """python calls its forward and rule; numpy, with no entry, runs them element by element."""
    sin, _ = sin_cos

    def f(a, b):
        return (a * b).sin() * b + a.sin()

    a, b = np.array([0.3, -0.7, 2.0]), np.array([1.2, 0.4, -1.5])
    engine = [f(Value(x), Value(y)).data for x, y in zip(a, b)]
    for backend in ("python", "numpy"):
        program = compile(f, 0.3, 1.2, backend=backend)
        got = np.asarray(program(a, b)).ravel()
        assert np.allclose(got, engine, rtol=1e-12, atol=0), (backend, got, engine)


def test_the_page_and_to_torch_refuse_an_op_they_cannot_express(sin_cos, tmp_path):
    sin, cos = sin_cos
    x = Value(0.5, "x")
    with pytest.raises(ValueError, match="cannot evaluate the op 'sin'.*JAVASCRIPT"):
        explore.explore_html(x.sin(), tmp_path / "page.html")
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="'cos' has no torch module.*ACTIVATION_MODULES"):
        MLP(2, [3, 1], activation="cos", seed=1).to_torch()


def test_register_refuses_clashes(sin_cos):
    sin, _ = sin_cos
    with pytest.raises(ValueError, match="an op named 'sin' is already in the table"):
        register(Op("sin", math.sin, lambda x, out: (1.0,)))
    backward = Op("backward", abs, lambda x, out: (1.0,))
    with pytest.raises(ValueError, match="Value.backward is already Value's own"):
        register(backward)
    assert backward not in ops.OPS and backward.method is None   # the table as it was
    with pytest.raises(ValueError, match="an activation takes one operand"):
        register(Op("hyp", math.hypot, lambda x, y, out: (1.0, 1.0), arity=2), activation=True)
    assert register(sin) is sin   # the same op again: nothing changes


def test_a_float_only_rule_refuses_a_second_derivative():
    """Like PyTorch's once_differentiable: first derivatives work, create_graph raises."""
    cube = Op("cube", lambda x: x ** 3, lambda x, out: (3 * ops.value_of(x) ** 2,),
              float_only=True)
    x = Value(2.0)
    y = cube(x)
    y.backward()
    assert x.grad == 12.0 and grad(y, [x]) == [12.0]
    with pytest.raises(ValueError, match="op 'cube' works on floats only"):
        grad(y, [x], create_graph=True)
    from micrograd_nn.testing import check_op
    check_op(cube, (-3, 3), order=2)   # checked to first order: it says it has no graph


def test_the_numpy_backend_runs_an_op_without_an_entry_element_by_element():
    odd = Op("odd", lambda x: x ** 3 - x, lambda x, out: (3 * x * x - 1,))   # not registered
    w = Value(1.5, "w")
    program = compile(lambda a: odd(a * w) * 2.0, 0.1, backend="numpy")
    a = np.array([0.5, 2.0, -1.0])
    out = np.asarray(program.backward(a)).ravel()
    assert np.allclose(out, [2 * odd.forward(x * 1.5) for x in a], rtol=1e-12)
    assert math.isclose(w.grad, sum(2 * (3 * (x * 1.5) ** 2 - 1) * x for x in a), rel_tol=1e-12)


# ---- the recipe of docs/ops.md, followed literally ---------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parents[1]
# where each block of the recipe goes: (file, place) -> the line it follows, or precedes
PLACES = {
    ("micrograd_nn/ops.py", "rows"): ("before", "# The built-ins go through the same door"),
    ("micrograd_nn/ops.py", "registered"): ("after", "register(LOGSUMEXP, method=False, "
                                                     "expr=False)\n"),
    ("tests/test_ops.py", "ROWS"): ("after", "ROWS = {\n"),
    ("micrograd_nn/compiler/python_backend.py", "PYTHON"): ("after", "PYTHON = {\n"),
    ("micrograd_nn/compiler/numpy_backend.py", "NUMPY"): ("after", "NUMPY = {\n"),
    ("micrograd_nn/viz/explore.py", "JAVASCRIPT"): ("after", "JAVASCRIPT = {\n"),
    ("micrograd_nn/pytorch.py", "TORCH"): ("after", "TORCH = {\n"),
}
CHECK = """
import numpy as np
from micrograd_nn import Value, compile, grad
from micrograd_nn.viz import explore_html

w = Value(0.7, "w")

def f(a):
    return ((w * a).sin() * a.cos()).sin()

xs = np.array([0.3, -1.1, 2.0])
engine = [f(Value(x)).data for x in xs]
for x in xs:
    f(Value(x)).backward()
want, w.grad = w.grad, 0.0
for backend, code in (("python", "_op_cos"), ("numpy", "_np.cos")):
    program = compile(f, 0.3, backend=backend)
    assert code in program.source, program.source
    out = np.asarray(program.backward(xs)).ravel()
    assert np.allclose(out, engine, rtol=1e-12) and np.isclose(w.grad, want, rtol=1e-12), backend
    w.grad = 0.0
a = Value(0.3)
(d,) = grad(a.sin(), [a], create_graph=True)    # cos, as a graph
(d2,) = grad(d, [a])                             # -sin
assert abs(d.data - np.cos(0.3)) < 1e-15 and abs(d2 + np.sin(0.3)) < 1e-15
explore_html(f(Value(0.3, "a")), "page.html")
assert "Math.sin" in open("page.html").read()
print("recipe ok")
"""


def test_the_recipe_adds_an_op_everywhere(tmp_path):
    """docs/ops.md's steps, block by block, in a copy of the package; then the tests of the
    table (check_op to second order), of each backend's entries, of torch agreeing, and a
    compile on both backends and an explorable page, all there."""
    doc = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n# (\S+): (\w+)\n(.*?)```", doc, flags=re.S)
    assert {(path, place) for path, place, _ in blocks} == set(PLACES)
    copy = tmp_path / "copy"
    for part in ("micrograd_nn", "tests"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "setup.cfg"):
        shutil.copy(ROOT / name, copy / name)
    for path, place, text in blocks:
        where, anchor = PLACES[path, place]
        target = copy / path
        source = target.read_text(encoding="utf-8")
        assert source.count(anchor) == 1, (path, anchor)
        new = anchor + text if where == "after" else text + "\n" + anchor
        target.write_text(source.replace(anchor, new), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=f"{copy}{os.pathsep}{copy / 'tests'}")
    run = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "recipe ok" in run.stdout, run.stderr
    have_torch = importlib.util.find_spec("torch") is not None
    torch_test = ["tests/test_vs_torch.py::test_every_op_of_the_table_agrees_with_torch"]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-x", "-p", "no:cacheprovider",
         "tests/test_ops.py::test_every_op_of_the_table_has_a_test_row",
         "tests/test_ops.py::test_every_op_passes_check_op",
         "tests/test_backends.py::test_every_op_of_the_table_has_an_entry_in_each_backend",
         "tests/test_backends.py::test_every_key_of_a_backend_table_names_an_op",
         *(torch_test if have_torch else []),
         "-k", "sin or cos or entry or key or test_row"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    for name in ("check_op[sin]", "check_op[cos]"):
        assert f"{name} PASSED" in tests.stdout, name
    if not have_torch:   # all but the comparison with torch has passed
        missing("torch is not installed: pip install -e '.[torch]' to compare sin and cos with it")
    for name in ("with_torch[sin]", "with_torch[cos]"):
        assert f"{name} PASSED" in tests.stdout, name
