"""Whatever arguments a caller passes, the public API answers with a documented error type.

Every public constructor and function is called with arguments drawn by hypothesis (numbers
of every size and kind, NaN and infinities, strings, None, lists, arrays, Values, models,
callables, graphs, and sizes from a thousand to a billion). It may return, or raise TypeError,
ValueError, ZeroDivisionError, OverflowError or TrainingDiverged; anything else (AttributeError, IndexError, KeyError, RecursionError,
numpy's errors...) is a bug: an error that does not tell the caller what was wrong. The one
exception is an error raised inside a callable the caller passed (a model that is a plain
function, say): the caller's own code, whose errors pass through unchanged.

Entry points that write a file (pages, plots) write into a temporary directory; compiled
programs are called with drawn batches. A limit the caller raises on purpose (``max_nodes``
past its default) is the caller's choice to wait, so it is drawn only up to the default.
"""

import inspect
import operator
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd_nn
from micrograd_nn import compile, datasets, losses, optim, plots, train
from micrograd_nn.engine import Value
from micrograd_nn.nn import MLP, Layer, Neuron
from micrograd_nn.train import TrainingDiverged

ALLOWED = (TypeError, ValueError, ZeroDivisionError, OverflowError, TrainingDiverged)
OUT = Path(tempfile.mkdtemp(prefix="micrograd_nn-public-errors-"))
DEFAULT_MAX_NODES = 250   # micrograd_nn.viz.DEFAULT_MAX_NODES (viz is imported lazily)


@pytest.fixture(scope="module", autouse=True)
def _remove_what_was_written():
    yield
    shutil.rmtree(OUT, ignore_errors=True)


def _writing(fn, name: str):
    """``fn`` with its ``path`` argument fixed to a file in OUT (drawn paths could be anywhere)
    and ``max_nodes`` drawn at most at its default."""
    signature = inspect.signature(fn)
    drawn = signature.replace(parameters=[p for p in signature.parameters.values()
                                          if p.name != "path"])

    def call(*args, **kwargs):
        arguments = drawn.bind(*args, **kwargs).arguments
        limit = arguments.get("max_nodes")
        if isinstance(limit, int) and limit > DEFAULT_MAX_NODES:
            arguments["max_nodes"] = DEFAULT_MAX_NODES
        return fn(path=OUT / name, **arguments)

    call.__signature__ = drawn
    return call


def _compiled(fn, x, backend="python", allow_data_reads=False):
    """compile() with one example argument (its signature has ``*example``)."""
    return compile(fn, x, backend=backend, allow_data_reads=allow_data_reads)


def _program(backend: str):
    model = MLP(2, [3, 1], seed=0)
    return compile(model, [0.5, -0.2], backend=backend)


PROGRAMS = {backend: _program(backend) for backend in ("python", "numpy")}

FUNCTIONS = {
    "Value": Value, "grad": micrograd_nn.grad, "hessian": micrograd_nn.hessian,
    "gradcheck": micrograd_nn.gradcheck, "numerical_grad": micrograd_nn.numerical_grad,
    "Neuron": Neuron, "Layer": Layer, "MLP": MLP,
    **{f"Value.{name}": getattr(Value, name) for name in ("sum", "linear", "matvec",
                                                          "logsumexp")},
    **{f"losses.{name}": getattr(losses, name) for name in losses.__all__},
    **{f"optim.{name}": getattr(optim, name) for name in optim.__all__
       if name not in ("Optimizer", "LRSchedule")},
    **{f"datasets.{name}": getattr(datasets, name) for name in datasets.__all__
       if callable(getattr(datasets, name)) and name != "DATASETS"},
    **{f"train.{name}": getattr(train, name) for name in
       ("fit", "predict", "predict_proba", "scores", "accuracy", "evaluate", "default_loss",
        "output_width")},
    "draw_graph": micrograd_nn.draw_graph, "explain": micrograd_nn.explain,
    "trace_backward": lambda *a, **k: list(micrograd_nn.trace_backward(*a, **k)),
    "explore_html": _writing(micrograd_nn.explore_html, "explore.html"),
    "trace_html": _writing(micrograd_nn.trace_html, "trace.html"),
    "plot_loss": _writing(plots.plot_loss, "loss.png"),
    "plot_decision_boundary": _writing(plots.plot_decision_boundary, "boundary.png"),
    "compile": _compiled,
    **{f"Program({backend})": (lambda program: lambda batch: program(batch))(program)
       for backend, program in PROGRAMS.items()},
    **{f"Program({backend}).backward": (lambda program: lambda batch, reduction="sum", grad=None:
                                        program.backward(batch, reduction=reduction,
                                                         grad=grad))(program)
       for backend, program in PROGRAMS.items()},
    **{f"Program({backend}).verify": (lambda program: lambda batch: program.verify(batch))(
        program) for backend, program in PROGRAMS.items()},
}
OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]
METHODS = ["exp", "log", "relu", "sigmoid", "tanh", "abs", "sqrt", "softplus", "backward"]

numbers = st.one_of(
    st.integers(-3, 8), st.integers(0, 4), st.floats(-2, 2),
    st.sampled_from([10**20, -10**20, 2**70, 2**2000, -2**2000]),
    st.sampled_from([1000, 10**5, 10**6, 10**7, 10**9]),          # sizes past every limit
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=4),
    st.sampled_from([np.float64(0.5), np.int64(2), np.float32("nan"), np.bool_(True)]),
)
names = st.sampled_from(["relu", "sigmoid", "linear", "sgd", "adam", "mse", "bce", "hinge",
                         "cross_entropy", "uniform", "moons", "spiral", "linear", "mean", ""])
values = st.builds(Value, st.floats(-3, 3))


def _graph(n: int) -> Value:
    """y of n steps over two inputs: tanh, *, + and relu in turn (n + 2 values or more)."""
    x, w = Value(0.5, "x"), Value(-1.5, "w")
    y = x * w
    for k in range(n):
        y = (y.tanh(), y * w, y + x, y.relu())[k % 4]
    y.label = "y"
    return y


graphs = st.builds(_graph, st.sampled_from([1, 5, 40, 300]))
histories = st.builds(lambda epochs: train.fit(MLP(2, [2, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]],
                                               [0, 1], loss="hinge", epochs=epochs,
                                               progress=False),
                      st.integers(1, 3))
models = st.builds(lambda nin, width, seed: MLP(nin, [2, width], seed=seed),
                   st.integers(1, 3), st.integers(1, 3), st.integers(0, 3))
callables = st.sampled_from([lambda a: a * a, lambda *a: a[0], lambda a, b: a / b,
                             lambda *a: 1.0, lambda a: a.log(), print])
arrays = st.one_of(
    st.builds(np.array, st.lists(st.lists(st.floats(-5, 5), min_size=2, max_size=2),
                                 min_size=1, max_size=6)),
    st.builds(np.array, st.lists(st.integers(-1, 3), min_size=1, max_size=6)),
    st.sampled_from([np.zeros((0, 2)), np.ones((2, 2, 2)), np.array([[1 + 1j, 0]]),
                     np.array(["a", "b"]), np.array([np.nan, 1.0])]),
)
atoms = st.one_of(st.none(), st.booleans(), numbers, names, st.text(max_size=4), values,
                  graphs, models, callables, arrays, histories, st.just(object()))
arguments = st.recursive(atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(names, inner,
                                                                          max_size=2)),
    max_leaves=6)


# half the time, an argument of the kind its name asks for, so that the checks past the first
# (a title, a resolution, a batch's shape) are reached as often as the first
LIKELY = {
    "root": st.one_of(graphs, values), "model": models, "history": histories,
    "X": arrays, "y": st.lists(st.integers(0, 1), min_size=1, max_size=6),
    "batch": st.one_of(arrays, st.lists(st.lists(st.floats(-3, 3), min_size=2, max_size=2),
                                        max_size=3)),
    "fn": st.one_of(models, callables),
}


def _draw_argument(data, name: str):
    if name in LIKELY and data.draw(st.booleans(), label=f"{name} of its kind"):
        return data.draw(LIKELY[name], label=name)
    return data.draw(arguments, label=name)


def _parameters(fn) -> list:
    try:
        return [p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        return []


def _raised_by_a_drawn_callable(error: BaseException) -> bool:
    """Whether the error comes from one of the callables above, called by the library as a
    model or a function: the caller's own code, whose errors pass through unchanged."""
    tb = error.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename == __file__


def _call(fn, args: list, kwargs: dict):
    try:
        fn(*args, **kwargs)
    except ALLOWED:
        pass
    except Exception as error:
        if not _raised_by_a_drawn_callable(error):
            raise


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")   # a silent cast
@settings(max_examples=40)
@given(data=st.data())
def test_public_functions_raise_only_documented_errors(name, data):
    fn = FUNCTIONS[name]
    params = _parameters(fn)
    positional = [p for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
    required = sum(1 for p in positional if p.default is p.empty)
    count = data.draw(st.integers(required, len(positional)), label="positional count")
    args = [_draw_argument(data, p.name) for p in positional[:count]]
    kwargs = {}
    for p in params[count:]:
        if data.draw(st.booleans(), label=f"give {p.name}"):
            kwargs[p.name] = _draw_argument(data, p.name)
    if "progress" in kwargs or name == "train.fit":
        kwargs["progress"] = False
    if name == "train.fit":
        kwargs.setdefault("epochs", 2)
        if not isinstance(kwargs["epochs"], int) or kwargs["epochs"] > 3:
            kwargs["epochs"] = 2
    _call(fn, args, kwargs)


@settings(max_examples=200)
@given(st.floats(-3, 3), st.sampled_from(OPERATORS), arguments, st.booleans())
def test_value_operators_raise_only_documented_errors(x, op, other, reflected):
    v = Value(x)
    _call(lambda: op(other, v) if reflected else op(v, other), [], {})


@settings(max_examples=200)
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(METHODS),
       st.lists(arguments, max_size=1))
def test_value_methods_raise_only_documented_errors(x, method, args):
    v = Value(x)
    _call(getattr(v, method), args, {})
