"""micrograd_nn.compile: compiled programs give the engine's outputs and gradients, and the
guards refuse functions whose graph depends on the data."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from micrograd_nn import MLP, Value
from micrograd_nn.compiler import CompileError, DataDependenceError, compile
from micrograd_nn.compiler.python_backend import build
from micrograd_nn import ops as OPS_TABLE
from micrograd_nn.engine import topological_order

from strategies import BINARY, UNARY

BACKENDS = {"python": 1e-13, "numpy": 1e-12}


# ---- helpers -------------------------------------------------------------------------------


class Run:
    """Outputs and parameter gradients, with the scale each is compared at (see `scales`)."""

    def __init__(self, outs, grads, out_scales=None, grad_scales=None):
        self.outs, self.grads = list(outs), list(grads)
        self.out_scales, self.grad_scales = out_scales, grad_scales


def engine_run(fn, params, batch, reduction="mean"):
    """Outputs and parameter gradients of fn over a batch, by the engine's backward()."""
    for p in params:
        p.grad = 0.0
    outs = [fn(*[_as_values(a) for a in sample]) for sample in zip(*batch)]
    loss = Value.sum(outs)
    if reduction == "mean":
        loss = loss / len(outs)
    loss.backward()
    weight = 1.0 / len(outs) if reduction == "mean" else 1.0
    out_scales, grad_scales = [], [0.0] * len(params)
    for o in outs:
        forward, backward = scales(o, params)
        out_scales.append(forward)
        grad_scales = [a + weight * b for a, b in zip(grad_scales, backward)]
    return Run([o.data for o in outs], [p.grad for p in params], out_scales, grad_scales)


def scales(root, params):
    """The sizes that rounding errors scale with when the same graph is computed in another
    order: for the value, each node's largest term (max(|x|, sum_i |d x/d a_i| |a_i|));
    for a gradient, the sum over paths of the products of |local derivatives|. Adding the same
    terms in a different order can differ by a few ulps of these, not of the result (which
    may be a cancellation of large terms)."""
    order = topological_order(root)
    size = {}
    for v in order:
        terms = sum(abs(d) * size[a] for a, d in zip(v.operands, v.local_grads)
                    if math.isfinite(d))
        size[v] = max(abs(v.data), terms)
    grad = {root: 1.0}
    for v in reversed(order):
        g = grad.get(v, 0.0)
        if g:
            for a, d in zip(v.operands, _local_sizes(v, size)):
                grad[a] = grad.get(a, 0.0) + (d * g if math.isfinite(d) else 0.0)
    return size[root], [grad.get(p, 0.0) for p in params]


def _local_sizes(v, size) -> list:
    """|d v / d operand|, except where the derivative is another operand's value (a product, a
    neuron): that value's size, for it may be a small difference of large computed numbers; for
    d/dy x**y = out * log(x): |out| times the size of x over x (log's condition near 1); for
    tanh and sigmoid, whose derivatives subtract numbers near 1, the size of the terms."""
    locals_ = [abs(d) for d in v.local_grads]
    operands = v.operands
    if v.op is OPS_TABLE.MUL:
        return [size[operands[1]], size[operands[0]]]
    if v.op is OPS_TABLE.LINEAR:
        n = (len(operands) - 1) // 2
        return [*(size[x] for x in operands[n:-1]), *(size[w] for w in operands[:n]), 1.0]
    if v.op is OPS_TABLE.POW and operands[0].data:  # out * log(base): log is ill-conditioned at 1
        return [locals_[0], abs(v.data) * size[operands[0]] / abs(operands[0].data)]
    if v.op and v.op.name.startswith("**") and len(operands) == 1:  # x ** n: n x ** (n - 1), x
        n = float(v.op.name[2:])  # may be a small difference (o - y) of large numbers
        if 1 <= n < math.inf:
            return [n * size[operands[0]] ** (n - 1)]
    if v.op is OPS_TABLE.TANH:  # 1 - out*out: a difference of two numbers near 1 for large |x|
        return [1.0 + v.data * v.data]
    if v.op is OPS_TABLE.SIGMOID:  # out * (1 - out), likewise
        return [abs(v.data) * (1.0 + abs(v.data))]
    return locals_


def compiled_run(program, params, batch, reduction="mean"):
    for p in params:
        p.grad = 0.0
    outs = program.backward(*batch, reduction=reduction)
    return Run(outs, [p.grad for p in params])


def _as_values(a):
    return [Value(x) for x in a] if isinstance(a, list) else Value(a)


def assert_matches(got: Run, want: Run, rel: float):
    """Outputs and gradients equal to ``rel`` relative to their scales (see `scales`)."""
    for name in ("outs", "grads"):
        g, w = np.asarray(getattr(got, name)), np.asarray(getattr(want, name))
        scale = np.asarray(getattr(want, name[:-1] + "_scales" if name == "outs"
                                   else "grad_scales"))
        assert g.shape == w.shape
        # plus 1e-300 absolute: near 1e-308 floats are subnormal, with fewer significant bits
        bad = ~(np.abs(g - w) <= rel * scale + 1e-300) & (g != w)
        assert not bad.any(), f"{name}: compiled {g[bad]} != engine {w[bad]} (scale {scale[bad]})"


# ---- random expression graphs ----------------------------------------------------------------

N_INPUTS, N_PARAMS = 2, 3


@st.composite
def programs(draw, max_ops=8):
    """A straight-line program over 2 inputs and 3 parameters: each step applies one of the
    engine's ops (tests/strategies.py, and the n-ary sum, linear and logsumexp) to earlier
    values, so values are reused."""
    steps, n = [], N_INPUTS + N_PARAMS
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["unary", "binary", "n-ary"]))
        if kind == "unary":
            steps.append((draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, n - 1))))
        elif kind == "binary":
            steps.append((draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, n - 1)),
                          draw(st.integers(0, n - 1))))
        else:
            k = draw(st.integers(1, 4))
            args = draw(st.lists(st.integers(0, n - 1), min_size=2 * k + 1, max_size=2 * k + 1))
            steps.append((draw(st.sampled_from(sorted(NARY))), *args))
        n += 1
    return steps


NARY = {  # name -> function of 2k + 1 Values (sum and logsumexp use the first k + 1)
    "sum": lambda *v: Value.sum(v[:len(v) // 2 + 1]),
    "linear": lambda *v: Value.linear(v[:len(v) // 2], v[len(v) // 2:-1], v[-1]),
    "logsumexp": lambda *v: Value.logsumexp(v[:len(v) // 2 + 1]),
}


def program_fn(steps, params):
    def fn(x):
        values = [*x, *params]
        for name, *args in steps:
            f = NARY.get(name) or (UNARY[name][0] if len(args) == 1 else BINARY[name][0])
            values.append(f(*[values[a] for a in args]))
        return Value.sum(values[N_INPUTS + N_PARAMS:])
    return fn


numbers = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
batches = st.lists(st.lists(numbers, min_size=N_INPUTS, max_size=N_INPUTS), min_size=1,
                   max_size=4)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(max_examples=40)
@given(steps=programs(), start=st.lists(numbers, min_size=N_PARAMS, max_size=N_PARAMS),
       data=st.lists(batches, min_size=3, max_size=3))
def test_random_graphs_match_the_engine_over_sgd_steps(backend, steps, start, data):
    params = [Value(v, f"p{i}") for i, v in enumerate(start)]
    fn = program_fn(steps, params)
    try:
        engine_run(fn, params, [data[0]])
        program = compile(fn, data[0][0], backend=backend)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)  # outside an op's domain (log of a negative number, an overflow)
    for batch in data:  # fresh data on every step, and the parameters move
        try:
            want = engine_run(fn, params, [batch])
        except (ValueError, ZeroDivisionError, OverflowError):
            return
        assume(all(math.isfinite(v) for v in want.outs + want.grads))
        assert_matches(compiled_run(program, params, [batch]), want, BACKENDS[backend])
        for p, g in zip(params, want.grads):
            p.data -= 0.01 * g


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 16), sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       activation=st.sampled_from(["relu", "tanh", "sigmoid"]), data=st.data())
def test_small_mlps_match_the_engine_over_sgd_steps(backend, seed, sizes, activation, data):
    import random
    random.seed(seed)
    model = MLP(2, [*sizes, 1], activation=activation)
    params = model.parameters()

    def sample_loss(x, y):
        return (1 - y * model(x)).relu()

    rows = st.lists(numbers, min_size=2, max_size=2)
    batch = lambda: (data.draw(st.lists(rows, min_size=1, max_size=6)),)  # noqa: E731
    first = batch()[0]
    program = compile(sample_loss, first[0], 1.0, backend=backend)
    for _ in range(3):
        X = batch()[0]
        Y = [data.draw(st.sampled_from([-1.0, 1.0])) for _ in X]
        want = engine_run(sample_loss, params, [X, Y])
        assert_matches(compiled_run(program, params, [X, Y]), want, BACKENDS[backend])
        for p, g in zip(params, want.grads):
            p.data -= 0.1 * g


@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 16), widths=st.lists(st.integers(4, 6), min_size=2, max_size=3),
       data=st.data())
def test_wide_relu_layers_match_the_engine_over_sgd_steps(seed, widths, data):
    """Layers of 4 or more units reading relus are written input by input (python backend),
    skipping dead inputs; W1's loss with its L2 term, bit for bit up to the order of samples."""
    import random
    random.seed(seed)
    model = MLP(2, [*widths, 1])
    params = model.parameters()

    def sample_loss(x, y):
        return (1 - y * model(x)).relu() + 1e-4 * Value.sum([p * p for p in params])

    rows = st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=2)
    program = compile(sample_loss, [0.5, -0.5], 1.0)
    assert program.source_optimized.count("input by input") == 2 * (len(widths) - 1)
    for _ in range(3):
        X = data.draw(st.lists(rows, min_size=1, max_size=8))
        Y = [data.draw(st.sampled_from([-1.0, 1.0])) for _ in X]
        want = engine_run(sample_loss, params, [X, Y])
        assert_matches(compiled_run(program, params, [X, Y]), want, BACKENDS["python"])
        for p, g in zip(params, want.grads):
            p.data -= 0.5 * g


def test_a_parameter_that_is_not_finite_sends_the_batch_to_the_engine():
    model = MLP(2, [4, 4, 1], seed=1)
    dead = model.layers[0].neurons[0]  # always 0.0 after its relu
    dead.w[0].data, dead.w[1].data, dead.b.data = 0.0, 0.0, -1.0
    model.layers[1].neurons[0].w[0].data = math.inf  # inf * 0.0 is nan: the dead input counts
    program = compile(lambda x: model(x), [1.0, 1.0])
    assert "input by input" in program.source_optimized
    X = [[1.0, -1.0], [-2.0, 0.5], [0.3, 0.3]]
    want = engine_run(lambda x: model(x), model.parameters(), [X], "sum")
    got = compiled_run(program, model.parameters(), [X], "sum")
    np.testing.assert_array_equal(got.outs, want.outs)
    np.testing.assert_array_equal(got.grads, want.grads)
    assert not np.isfinite(want.outs).all()


# ---- the package's strategies: micrograd_nn.testing ---------------------------------------------

from micrograd_nn import testing  # noqa: E402

ALL_OPS = [op for op in OPS_TABLE.OPS if op is not OPS_TABLE.LINEAR]  # kinks included


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(max_examples=40)
@given(f=testing.expressions(N_INPUTS + N_PARAMS, ops=ALL_OPS),
       start=st.lists(testing.reals(-2, 2), min_size=N_PARAMS, max_size=N_PARAMS),
       data=st.lists(batches, min_size=3, max_size=3))
def test_testing_expressions_match_the_engine_over_sgd_steps(backend, f, start, data):
    """Random graphs over the whole op table (testing.expressions), the last N_PARAMS inputs
    made parameters: outputs and gradients over three SGD steps, each on fresh data."""
    params = [Value(v, f"p{i}") for i, v in enumerate(start)]

    def fn(x):
        return f(*x, *params)

    program = compile(fn, data[0][0], backend=backend)
    for batch in data:
        try:
            want = engine_run(fn, params, [batch])
        except (ValueError, ZeroDivisionError, OverflowError):
            return
        assert_matches(compiled_run(program, params, [batch]), want, BACKENDS[backend])
        for p, g in zip(params, want.grads):
            if math.isfinite(g):
                p.data -= 0.01 * g


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@settings(max_examples=20)
@given(model_and_x=testing.mlps(), rows=st.data())
def test_testing_mlps_match_the_engine_over_sgd_steps(backend, model_and_x, rows):
    """Small MLPs (testing.mlps), a squared error on each sample, three SGD steps on fresh data."""
    model, x = model_and_x
    params = model.parameters()

    def sample_loss(x, y):
        out = model(x)
        outs = out if isinstance(out, list) else [out]
        return Value.sum([(o - y) ** 2 for o in outs])

    program = compile(sample_loss, x, 0.5, backend=backend)
    row = st.lists(testing.reals(-2, 2), min_size=len(x), max_size=len(x))
    for _ in range(3):
        X = rows.draw(st.lists(row, min_size=1, max_size=5))
        Y = rows.draw(st.lists(testing.reals(-1, 1), min_size=len(X), max_size=len(X)))
        want = engine_run(sample_loss, params, [X, Y])
        assert_matches(compiled_run(program, params, [X, Y]), want, BACKENDS[backend])
        for p, g in zip(params, want.grads):
            p.data -= 0.05 * g


# ---- the API -------------------------------------------------------------------------------


def _tutorial_neuron(loss_label: str = ""):
    """The tutorial's 2-input sigmoid neuron with squared error: (its parameters, its function)."""
    w1, w2, b = Value(0.25, "w1"), Value(-0.75, "w2"), Value(0.1, "b")

    def neuron(x, y):
        z = Value.linear([w1, w2], x, b)
        z.label = "z"
        yhat = z.sigmoid()
        yhat.label = "yhat"
        loss = (yhat - y) ** 2
        loss.label = loss_label
        return loss

    return (w1, w2, b), neuron


def test_tutorial_neuron_source_is_the_chain_rule():
    (w1, w2, b), neuron = _tutorial_neuron()
    program = compile(neuron, [1.5, -0.5], 1.0)
    assert "z = b + w1 * x1 + w2 * x2" in program.source
    assert "dz = yhat * (1 - yhat) * dyhat" in program.source
    assert program.params == [w1, w2, b]
    out = program.backward([[1.5, -0.5]], [1.0])
    assert out.tolist() == [((1 / (1 + math.exp(-0.85))) - 1) ** 2]
    got = [p.grad for p in (w1, w2, b)]
    for p in (w1, w2, b):
        p.grad = 0.0
    neuron([Value(1.5), Value(-0.5)], 1.0).backward()
    assert got == [w1.grad, w2.grad, b.grad]  # bit for bit


def test_an_mlps_source_reads_layer_by_layer_with_the_models_names():
    """MLP(2, [4, 4, 1]): forward layer by layer, neurons in order, named from the model
    (L1_N1 a neuron's output, L1_N1_z its sum, dL1_N1_z its gradient); backward in reverse
    layer order; the input-by-input rewrite only in source_optimized. Both run alike."""
    model = MLP(2, [4, 4, 1], seed=3)
    program = compile(lambda x, y: (model(x) - y) ** 2, [0.5, 1.0], 1.0)
    lines = [line.strip() for line in program.source.splitlines()]
    forward = lines[lines.index("# forward") + 1:lines.index("_outs.append(t2)")]
    assert forward[0].startswith("L1_N1_z = L1_N1_b + L1_N1_w1 * x1")
    assert forward[1] == "L1_N1 = (0.0 if L1_N1_z <= 0.0 else L1_N1_z)"
    neurons = [f"L{k}_N{j}" for k, width in ((1, 4), (2, 4)) for j in range(1, width + 1)]
    assert [line.split(" =")[0] for line in forward[:-3:2]] == [f"{n}_z" for n in neurons]
    assert forward[-3].startswith("L3_N1 = L3_N1_b + L3_N1_w1 * L2_N1")
    backward = [next(k for k, line in enumerate(lines) if line.startswith(f"d{n}_z = "))
                for n in neurons]
    layer_1, layer_2 = backward[:4], backward[4:]
    assert max(layer_2) < min(layer_1)  # every line of layer 2 before any of layer 1
    assert "input by input" not in program.source
    assert "input by input" in program.source_optimized
    compiled = program._compiled[((2,), ())]
    X, Y = [[0.5, 1.0], [-1.0, 2.0], [2.0, -0.5]], [1.0, -1.0, 0.5]
    for source in (program.source, program.source_optimized):
        run = build(source, "program", compiled._binder)
        columns = [list(c) for c in zip(*X)] + [Y]
        outs, grads = run(compiled.graph.params, columns, [1.0] * 3)
        want = engine_run(lambda x, y: (model(x) - y) ** 2, compiled.graph.params, [X, Y], "sum")
        assert outs == want.outs
        assert np.allclose(grads, want.grads, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backward_adds_into_grad_and_reads_current_data(backend):
    w = Value(2.0, "w")
    program = compile(lambda x: w * x, 3.0, backend=backend)
    program.backward([1.0, 2.0])
    assert w.grad == 3.0
    program.backward([1.0, 2.0], reduction="mean")
    assert w.grad == 4.5
    w.data = -1.0  # an optimizer's update is seen by the next call
    assert program([1.0, 2.0]).tolist() == [-1.0, -2.0]
    w.grad = 0.0
    program.backward([1.0, 2.0], grad=[10.0, 0.5])
    assert w.grad == 11.0


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_several_outputs_give_columns(backend):
    w = Value(2.0, "w")
    program = compile(lambda x: [w * x, (w * x).relu()], 1.0, backend=backend)
    assert program([1.0, -1.0]).tolist() == [[2.0, 2.0], [-2.0, 0.0]]
    program.backward([1.0, -1.0], grad=[[1.0, 0.0], [0.0, 1.0]])
    assert w.grad == 1.0  # d(w*1)/dw from the first sample; the relu is dead in the second


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_list_of_one_output_gives_one_column(backend):
    w = Value(2.0, "w")
    program = compile(lambda x, y: [w * x[0] * y], [1.0, 0.0], 1.0, backend=backend)
    X, Y = [[1.0, 5.0], [-1.0, 5.0], [3.0, 5.0]], [1.0, 2.0, 0.5]
    assert program(X, Y).tolist() == [[2.0], [-4.0], [3.0]]
    program.backward(X, Y, grad=[[1.0], [0.5], [2.0]])  # a grad shaped like the outputs
    assert w.grad == 1.0 - 1.0 + 3.0  # x * y weighted: the unused input x2 changes nothing
    with pytest.raises(ValueError, match=r"grad must have shape \(3, 1\)"):
        program.backward(X, Y, grad=[1.0, 0.5, 2.0])


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_function_without_inputs_runs_once(backend):
    ps = [Value(1.0), Value(-2.0)]
    program = compile(lambda: Value.sum([p * p for p in ps]), backend=backend)
    assert program().tolist() == [5.0]
    program.backward()
    assert [p.grad for p in ps] == [2.0, -4.0]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_kinks_replay_for_any_data(backend):
    w = Value(1.0, "w")
    program = compile(lambda x: (w * x).relu() + (w * x - 1).abs(), 2.0, backend=backend)
    X = [-3.0, -0.5, 0.0, 0.5, 3.0]
    want = engine_run(lambda x: (w * x).relu() + (w * x - 1).abs(), [w], [X], "sum")
    got = compiled_run(program, [w], [X], "sum")
    assert got.outs == want.outs and got.grads == want.grads  # small integers: exact


def test_a_hidden_units_gradient_is_one_sum_behind_its_relu():
    model = MLP(2, [3, 2, 1])
    program = compile(lambda x: model(x), [0.5, -1.0])
    # each unit of the first layer: relu' times the sum of the shares of the two units reading
    # it, on one line; the second layer's units have one reader each (no sum)
    sums = [line for line in program.source.splitlines() if " <= 0.0 else (" in line]
    assert len(sums) == 3 and all(line.count(" * ") == 2 for line in sums)
    X = [[0.5, -1.0], [-2.0, 0.25], [1.0, 1.0], [0.0, 0.0]]
    want = engine_run(lambda x: model(x), model.parameters(), [X])
    got = compiled_run(program, model.parameters(), [X])
    assert_matches(got, want, BACKENDS["python"])


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_zero_share_through_an_infinite_derivative_is_the_engines(backend):
    w = Value(1.0, "w")

    def f(x):  # relu(-inf * h) is dead: the engine passes nothing back through inf * h
        h = (w * x).relu()
        return (h * -math.inf).relu() + h

    program = compile(f, 2.0, backend=backend)
    got = compiled_run(program, [w], [[2.0, 3.0]], "sum")
    want = engine_run(f, [w], [[2.0, 3.0]], "sum")
    assert got.outs == want.outs and got.grads == want.grads == [5.0]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_new_sequence_length_gets_its_own_program(backend):
    w = Value(0.5, "w")

    def f(xs):
        return Value.sum([w * x for x in xs]).tanh()

    program = compile(f, [1.0, 2.0, 3.0], backend=backend)
    got = program([[1.0, 2.0, 3.0, 4.0, 5.0]]).tolist()
    assert got == pytest.approx([math.tanh(0.5 * 15)], rel=1e-15)
    assert sorted(program.shapes) == [((3,),), ((5,),)]


# ---- the guards ----------------------------------------------------------------------------


def test_reading_data_of_an_input_dependent_value_is_refused_with_its_line():
    w = Value(2.0, "w")

    def frozen(x):
        return w * x.data  # the line named in the error

    line = frozen.__code__.co_firstlineno + 1
    with pytest.raises(DataDependenceError, match=f"test_compile.py:{line}.*this number came"):
        compile(frozen, 3.0)
    with pytest.raises(DataDependenceError, match="reads .data"):
        compile(lambda x: w * x if (w * x).data > 0 else w, 3.0)
    with pytest.raises(DataDependenceError, match="existed before the call"):
        compile(lambda x: w * x if w.data > 0 else w, 3.0)  # a parameter's number changes too
    compile(lambda x: w * x if w.data > 0 else w, 3.0, allow_data_reads=True)


@pytest.mark.parametrize("fn", [
    lambda w: (lambda x: w * x.data),
    lambda w: (lambda x: w * Value(x.data * 2)),
    lambda w: (lambda x: w ** round(x.data)),
])
def test_frozen_data_is_refused_by_comparing_traces_too(fn):
    w = Value(2.0, "w")
    with pytest.raises(DataDependenceError, match="this number came from your data"):
        compile(fn(w), 3.0, allow_data_reads=True)


def test_a_branch_on_data_is_refused_by_comparing_traces():
    w = Value(2.0, "w")
    with pytest.raises(DataDependenceError, match="shape depends on the data"):
        compile(lambda x: w * x if x.data > 0 else w * x * x, 3.0, allow_data_reads=True)


def test_a_hard_example_filter_is_refused_on_the_first_batch():
    w = Value(1.0, "w")

    def hard_only(x):  # the loss of easy examples is dropped: a graph shaped by the data
        loss = (1 - w * x).relu()
        return loss if loss.data > 0.5 else loss * 0.0

    with pytest.raises(DataDependenceError, match="reads .data"):
        compile(hard_only, 0.1)
    with pytest.raises(DataDependenceError, match="shape depends on the data"):
        compile(hard_only, -3.0, allow_data_reads=True)  # its perturbed copy 4.72 is easy
    program = compile(hard_only, 0.1, allow_data_reads=True)  # 0.1 and 0.473: both hard
    with pytest.raises(DataDependenceError, match="shape depends on the data"):
        program.backward([0.1, 0.9, 0.8])  # the first batch's samples are traced too


def test_verify_finds_a_branch_the_first_batch_missed():
    w = Value(1.0, "w")

    def rare(x):
        return w * x if x.data < 100 else w * x * x

    program = compile(rare, 1.0, allow_data_reads=True)
    program([1.0, 2.0, 3.0])
    with pytest.raises(DataDependenceError):
        program.verify([1.0, 500.0, 3.0])


def test_a_value_computed_before_the_call_is_refused():
    w = Value(2.0, "w")
    h = w * 3
    with pytest.raises(DataDependenceError, match="computed before"):
        compile(lambda x: h * x, 1.0)


SLOT = Value.__dict__["data"]


def test_the_data_slot_comes_back_after_a_trace_that_raises():
    w = Value(2.0, "w")

    def broken(x):
        raise RuntimeError("inside fn")

    with pytest.raises(RuntimeError, match="inside fn"):
        compile(broken, 1.0)
    with pytest.raises(DataDependenceError):
        compile(lambda x: w * x if (w * x).data > 0 else w, 1.0)
    assert Value.__dict__["data"] is SLOT


def test_threads_tracing_at_once_each_see_their_own_reads():
    import threading

    w = Value(2.0, "w")
    inside, other_done = threading.Event(), threading.Event()
    outcome = {}

    def slow(x):  # holds its trace open while the other thread traces and computes
        inside.set()
        other_done.wait(10)
        return w * x

    def trace_slow():
        try:
            outcome["program"] = compile(slow, 1.0)
        except Exception as e:  # reported below, in the test's thread
            outcome["error"] = e

    thread = threading.Thread(target=trace_slow)
    thread.start()
    try:
        assert inside.wait(10)
        v = Value(1.5) * Value(2.0)  # another thread's numbers are the engine's, read and written
        v.data += 1.0
        assert v.data == 4.0
        with pytest.raises(DataDependenceError, match="reads .data"):
            compile(lambda x: (w * x).data and w * x, 1.0)  # its own read, refused
    finally:
        other_done.set()
        thread.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["program"]([1.0, 3.0]).tolist() == [2.0, 6.0]
    assert Value.__dict__["data"] is SLOT


def test_a_star_import_keeps_the_builtin_compile():
    import builtins

    import micrograd_nn

    namespace: dict = {}
    exec("from micrograd_nn import *", namespace)
    assert "compile" not in namespace and "Value" in namespace
    assert micrograd_nn.compile is compile and compile is not builtins.compile


def test_bad_arguments():
    with pytest.raises(TypeError, match="needs a function"):
        compile(3.0, 1.0)
    with pytest.raises(ValueError, match="unknown backend"):
        compile(lambda x: x, 1.0, backend="fortran")
    with pytest.raises(TypeError, match="must be a number or a list"):
        compile(lambda x: x, "a")
    with pytest.raises(TypeError, match="must return a Value"):
        compile(lambda x: 3.0, 1.0)
    program = compile(lambda x: x * 2, 1.0)
    with pytest.raises(TypeError, match="takes 1 batched"):
        program([1.0], [2.0])
    with pytest.raises(ValueError, match="leading batch dimension"):
        program(1.0)
    with pytest.raises(ValueError, match="reduction"):
        program.backward([1.0], reduction="max")
    with pytest.raises(ValueError, match="grad must have shape"):
        program.backward([1.0, 2.0], grad=[1.0])
    with pytest.raises(TypeError, match="allow_data_reads"):
        compile(lambda x: x * 2, 1.0, allow_data_reads="yes")


# ---- fit(..., compile=...) -------------------------------------------------------------------


@pytest.mark.parametrize("loss, nouts, optimizer", [
    ("hinge", [6, 1], "sgd"), ("cross_entropy", [6, 3], "adam"), ("bce_with_logits", [5, 1], "sgd"),
    ("mse", [4, 4, 1], "adam"), ("bce", [4, 1], "sgd")])
@pytest.mark.parametrize("backend", [True, "numpy"])
def test_fit_compiled_gives_the_same_history(loss, nouts, optimizer, backend):
    import random

    from micrograd_nn import fit, make_blobs, make_moons
    X, y = make_blobs(48, seed=2) if nouts[-1] == 3 else make_moons(48, seed=1)
    histories = []
    for compiled in (False, backend):
        random.seed(0)
        model = MLP(2, nouts)
        histories.append(fit(model, X, y, loss=loss, optimizer=optimizer, epochs=4,
                             batch_size=10, seed=3, l2=1e-3, progress=False, compile=compiled))
    engine, compiled = histories
    rel = 1e-12
    assert np.allclose(compiled.loss, engine.loss, rtol=rel, atol=0)
    assert compiled.accuracy == engine.accuracy and compiled.lr == engine.lr


def test_fit_refuses_a_bad_compile_argument():
    from micrograd_nn import fit, make_moons
    X, y = make_moons(10)
    with pytest.raises(ValueError, match="compile must be"):
        fit(MLP(2, [1]), X, y, epochs=1, progress=False, compile="fortran")
    with pytest.raises(TypeError, match="compile must be"):
        fit(MLP(2, [1]), X, y, epochs=1, progress=False, compile=1.5)


# ---- reading the code ----------------------------------------------------------------------


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _seed_code() -> str:
    from micrograd_nn import source_of
    from micrograd_nn.viz import seed_neuron
    from micrograd_nn.viz.naming import find_by_label
    loss = seed_neuron()
    return source_of(loss, [find_by_label(loss, name) for name in ("w1", "w2", "b")])


def test_graph_code_prints_the_seed_neuron_as_code(capsys):
    from micrograd_nn.cli import main
    assert main(["graph", "--code"]) == 0
    printed = capsys.readouterr().out
    assert printed == _seed_code()
    assert "dz = yhat * (1 - yhat) * dyhat" in printed and "dw1 += x1 * dz" in printed


def test_graph_code_of_an_expression_and_a_bad_name(capsys):
    from micrograd_nn.cli import main
    assert main(["graph", "--code", "--expr", "(x*w + b).tanh()", "--set", "x=1.5", "w=0.25",
                 "b=0.1", "--params", "w", "b"]) == 0
    assert "db += dt2" in capsys.readouterr().out
    assert main(["graph", "--code", "--params", "q"]) == 2
    assert "no value of the graph is labelled 'q'" in capsys.readouterr().err


def test_the_code_in_the_docs_is_what_the_program_writes():
    """docs/compile.md shows generated code: it must be today's."""
    assert _seed_code() in (ROOT / "docs" / "compile.md").read_text()


def test_source_of_checks_its_arguments():
    from micrograd_nn import source_of
    with pytest.raises(TypeError, match="needs a Value"):
        source_of(3.0)
    w = Value(1.0, "w")
    with pytest.raises(TypeError, match="leaf Values"):
        source_of(w * 2, [w * 2])
    with pytest.raises(ValueError, match="unknown backend"):
        source_of(w * 2, [w], backend="c")
    assert "dw += 2.0 * dt1" in source_of(w * 2, [w])


# ---- where the code and the engine would part: the engine decides ----------------------------


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_zero_times_infinity_is_the_engines(backend):
    w = Value(-1.0, "w")  # relu(w) = 0, and sqrt'(0) = inf: the engine's zero rule gives 0

    def f(x):
        return w.relu().sqrt() + w * x

    program = compile(f, 1.0, backend=backend)
    got = compiled_run(program, [w], [[1.0, 2.0]], "sum")
    want = engine_run(f, [w], [[1.0, 2.0]], "sum")
    assert got.outs == want.outs and got.grads == want.grads == [3.0]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_domain_error_is_the_engines(backend):
    w = Value(1.0, "w")
    program = compile(lambda x: (w * x).log(), 2.0, backend=backend)
    with pytest.raises(ValueError, match="log"):
        program([2.0, -1.0, 3.0])
    with pytest.raises(ValueError, match="log"):
        program.backward([2.0, -1.0, 3.0])
    assert w.grad == 0.0  # nothing was added before the error


def test_an_op_without_code_runs_its_own_forward_and_rule_on_both_backends():
    import math as m

    from micrograd_nn import Op
    sin = Op("sin", m.sin, lambda x, out: (COS(x),), ("cos({0})",))
    COS = Op("cos", m.cos, lambda x, out: (-sin(x),), ("-sin({0})",))
    w = Value(0.3, "w")
    f = lambda x: sin(w * x)  # noqa: E731
    program = compile(f, 1.0)
    assert "_sin(" in program.source and "_dsin(" in program.source
    got, want = compiled_run(program, [w], [[1.0, 2.0]]), engine_run(f, [w], [[1.0, 2.0]])
    assert got.outs == want.outs and got.grads == want.grads
    program = compile(f, 1.0, backend="numpy")   # element by element, the engine's numbers
    assert "_each" in program.source
    got = compiled_run(program, [w], [[1.0, 2.0]])
    assert got.outs == want.outs and got.grads == want.grads


def test_a_weight_matrix_at_every_position_is_one_matrix_product():
    """matvec(W, x_p) at each position p of a sequence: the numpy code multiplies all the
    positions at once (X @ W.T), with the engine's outputs and gradients."""
    W = [[Value(math.sin(3 * i + j), f"w{i}_{j}") for j in range(2)] for i in range(3)]
    b = [Value(0.1 * i, f"b{i}") for i in range(3)]
    V = [[Value(math.cos(2 * i + j), f"v{i}_{j}") for j in range(3)] for i in range(2)]
    params = [p for row in W + V for p in row] + b

    def fn(xs):  # xs: four positions of two numbers each
        hidden = [[z.relu() for z in Value.matvec(W, x, b)] for x in xs]
        outs = [Value.matvec(V, h) for h in hidden]   # no biases: a constant 0 per row
        return Value.sum([o[0] * o[1] for o in outs])

    example = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]]
    program = compile(fn, example, backend="numpy")
    products = [line for line in program.source.splitlines() if " x linear" in line]
    assert len(products) == 2 and all("@" in line for line in products), program.source
    batch = [example, [[1.0, 0.5], [-2.0, 0.25], [0.5, 0.5], [0.0, -1.0]],
             [[0.3, 0.2], [0.1, -0.4], [2.0, 1.0], [-1.0, 0.6]]]
    got = compiled_run(program, params, [batch])
    flat = [[x for row in sample for x in row] for sample in batch]
    want = engine_run(lambda x: fn([x[k:k + 2] for k in range(0, 8, 2)]), params, [flat])
    assert_matches(got, want, BACKENDS["numpy"])


def test_softmaxes_over_the_positions_so_far_are_one_padded_group():
    """At each position p, a softmax over positions 0..p and a weighted sum: the logsumexps
    (padded with -inf) and the weighted sums (padded with 0) of every position are one array
    operation each, with the engine's outputs and gradients."""
    w = [Value(0.5, "w1"), Value(-1.25, "w2")]

    def fn(xs):
        scores = [Value.linear(w, x) for x in xs]
        outs = []
        for p in range(len(xs)):
            lse = Value.logsumexp(scores[:p + 1])
            weights = [(s - lse).exp() for s in scores[:p + 1]]
            outs.append(Value.linear(weights, [x[0] for x in xs[:p + 1]]))
        return Value.sum([o * o for o in outs])

    example = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [1.0, 1.0]]
    program = compile(fn, example, backend="numpy")
    lines = program.source.splitlines()
    assert [line.split("# ")[1] for line in lines if "x logsumexp" in line] == ["4 x logsumexp"]
    assert sum("x linear" in line for line in lines) == 2, program.source  # scores; sums
    batch = [example, [[1.0, 0.5], [-2.0, 0.25], [0.5, 0.5], [0.0, -1.0]]]
    got = compiled_run(program, w, [batch])
    flat = [[x for row in sample for x in row] for sample in batch]
    want = engine_run(lambda x: fn([x[k:k + 2] for k in range(0, 8, 2)]), w, [flat])
    assert_matches(got, want, BACKENDS["numpy"])


def test_padding_that_would_more_than_double_the_numbers_is_not_done():
    w = Value(0.5, "w")

    def fn(xs):  # logsumexp of 1 value, of 1 and of 100, at the same depth: 300 for 102
        scaled = [w * x for x in xs]
        return Value.logsumexp(scaled[:1]) + Value.logsumexp(scaled[1:2]) + \
            Value.logsumexp(scaled)

    xs = [0.01 * k for k in range(100)]
    program = compile(fn, xs, backend="numpy")
    groups = [line.split("# ")[1] for line in program.source.splitlines() if "x logsumexp" in line]
    assert sorted(groups) == ["1 x logsumexp", "2 x logsumexp"]
    assert program.backward([xs]) == pytest.approx([fn([Value(x) for x in xs]).data], rel=1e-13)


def test_a_scale_per_position_sums_its_gradient_by_runs():
    """rmsnorm at each of 3 positions of 4 numbers: the mean square x . x passes both of its
    shares at once, and the gradient of each position's scale (read by its 4 numbers) is one
    sum over runs of 4; outputs and gradients are the engine's."""
    w = [Value(0.5 + 0.25 * j, f"w{j + 1}") for j in range(4)]

    def fn(xs):
        total = []
        for p in range(3):
            x = [xs[4 * p + j] * w[j] for j in range(4)]
            scale = (Value.linear(x, x) * 0.25 + 1e-5) ** -0.5
            total += [xi * scale for xi in x]
        return Value.sum([t * t * t for t in total])

    example = [0.1 * k - 0.5 for k in range(12)]
    program = compile(fn, example, backend="numpy")
    assert ".reshape(_B, 3, 4).sum(-1)" in program.source
    assert "2.0 * " in program.source
    batch = [example, [math.sin(k) for k in range(12)]]
    assert_matches(compiled_run(program, w, [batch]), engine_run(fn, w, [batch]),
                   BACKENDS["numpy"])
