"""compile answers as the engine would, or refuses with an error: never a wrong number in silence.

Each test pins one way compiled code used to answer wrong without a word (issue 18, item 3);
the property test at the end tries all of them at random against the engine."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_nn import MLP, Value, ops
from micrograd_nn.compiler import DataDependenceError, UnusedValueWarning, compile
from micrograd_nn.nn import Layer

BACKENDS = ("python", "numpy")


def engine(fn, params, batch):
    """(outputs, gradients of the sum of the outputs) of fn over a batch, by the engine."""
    for p in params:
        p.grad = 0.0
    outs = []
    for x in batch:
        out = fn([Value(v) for v in x] if isinstance(x, list) else Value(x))
        out.backward()
        outs.append(out.data)
    return outs, [p.grad for p in params]


def compiled(program, params, batch):
    for p in params:
        p.grad = 0.0
    outs = program.backward(batch)
    return outs.tolist(), [p.grad for p in params]


def assert_close(got, want):
    assert np.allclose(got[0], want[0], rtol=1e-12, atol=1e-12), (got[0], want[0])
    assert np.allclose(got[1], want[1], rtol=1e-12, atol=1e-12), (got[1], want[1])


# ---- parameters replaced after compiling -----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_neurons_new_weights_are_read_and_get_the_gradient(backend):
    model = MLP(2, [3, 1], seed=1)
    program = compile(lambda x: model(x), [0.5, -1.0], backend=backend)
    batch = [[0.5, -1.0], [1.5, 2.0]]
    program.backward(batch)
    neuron = model.layers[1].neurons[0]
    neuron.w = [Value(0.5 + k, f"w{k + 1}") for k in range(3)]  # what Neuron.w's error advises
    assert_close(compiled(program, model.parameters(), batch),
                 engine(lambda x: model(x), model.parameters(), batch))
    assert all(w.grad != 0.0 for w in neuron.w)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("change", ["assign a layer", "append a layer", "replace a neuron"])
def test_a_new_layer_or_neuron_is_read(backend, change):
    model = MLP(2, [3, 1], seed=2)
    program = compile(lambda x: model(x), [0.5, -1.0], backend=backend)
    batch = [[0.5, -1.0], [1.5, 2.0]]
    program(batch)
    if change == "assign a layer":
        model.layers[1] = Layer(3, 1, "linear")
    elif change == "append a layer":
        model.layers.append(Layer(1, 1, "linear"))
    else:
        model.layers[0].neurons = [*model.layers[0].neurons[:2], Layer(2, 1).neurons[0]]
    assert_close(compiled(program, model.parameters(), batch),
                 engine(lambda x: model(x), model.parameters(), batch))


MODEL = MLP(2, [2, 1], seed=3)


def global_loss(x):
    return (model_output(x) - 1.0) ** 2


def model_output(x):  # a helper that reads the global: its names are watched too
    return MODEL(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_rebound_model_is_read(backend):
    global MODEL
    program = compile(global_loss, [0.5, -1.0], backend=backend)
    batch = [[0.5, -1.0], [1.5, 2.0]]
    program(batch)
    old = MODEL
    try:
        MODEL = MLP(2, [2, 1], seed=4)
        assert_close(compiled(program, MODEL.parameters(), batch),
                     engine(global_loss, MODEL.parameters(), batch))
        assert all(p.grad == 0.0 for p in old.parameters())
    finally:
        MODEL = old


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_rebound_closure_variable_is_read(backend):
    model = MLP(2, [2, 1], seed=5)

    def loss(x):
        return model(x)

    program = compile(loss, [0.5, -1.0], backend=backend)
    batch = [[0.5, -1.0]]
    program(batch)
    model = MLP(2, [2, 1], seed=6)  # noqa: F841 (read by loss through its closure)
    assert_close(compiled(program, model.parameters(), batch),
                 engine(loss, model.parameters(), batch))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_value_replaced_in_a_list_of_ones_own_is_found_by_verify_and_retrace(backend):
    weights = [Value(2.0, "w")]
    program = compile(lambda x: weights[0] * x, 1.0, backend=backend)
    program([1.0, 2.0])
    weights[0] = Value(2.0, "w")  # the same number, another Value: a plain list is not watched
    with pytest.raises(DataDependenceError, match="retrace"):
        program.verify([1.0, 2.0])
    program.retrace()
    program.backward([1.0, 2.0])
    assert weights[0].grad == 3.0


def test_an_unrelated_module_change_keeps_the_compiled_code():
    model = MLP(2, [2, 1], seed=7)
    program = compile(lambda x: model(x), [0.5, -1.0], backend="numpy")
    program([[0.5, -1.0]])
    before = program._compiled[((2,),)]
    MLP(3, [1])  # another model: a module change, so the program checks, and keeps its code
    program([[0.5, -1.0]])
    assert program._compiled[((2,),)] is before


# ---- reads of numbers inside fn ----------------------------------------------------------------


@pytest.mark.parametrize("read", [
    lambda w: (lambda x: x * abs(w.data)),
    lambda w: (lambda x: x * w if w.data > 1 else -(x * w)),
    lambda w: (lambda x: x * w.detach()),
    lambda w: (lambda x: x * ops.value_of(w)),
])
def test_reading_a_parameters_number_is_refused(read):
    w = Value(2.0, "w")
    with pytest.raises(DataDependenceError, match="existed before the call"):
        compile(read(w), 1.0)
    program = compile(read(w), 1.0, allow_data_reads=True)  # on the user's word
    assert program([3.0]).tolist() == [6.0]


W = Value(1.0, "w")
READS = {
    "detach().data": lambda x: x * W if x.detach().data > 5 else -(x * W),
    "ops.value_of": lambda x: x * W if ops.value_of(x) > 5 else -(x * W),
    "local_grads": lambda x: x * W if (x * W).local_grads[1] > 5 else -(x * W),
    "repr": lambda x: x * W if float(repr(x).split("=")[1].split(",")[0]) > 5 else -(x * W),
    "f-string": lambda x: x * W if f"{x}".startswith("Value(data=5") else -(x * W),
}


@pytest.mark.parametrize("how", sorted(READS))
def test_every_way_of_reading_an_inputs_number_is_refused_with_its_line(how):
    fn = READS[how]
    with pytest.raises(DataDependenceError, match=r"test_compile_guards\.py:\d+"):
        compile(fn, 1.0)
    # on the engine 5.0 gives 5.0 or -5.0 by the branch; a replay of the 1.0 trace gave -5.0


# ---- an infinity that vanishes, a value nobody reads ----------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_infinity_that_vanishes_raises_the_engines_error(backend):
    w = Value(1.0, "w")
    program = compile(lambda x: (w / x).tanh(), 1.0, backend=backend)
    program.backward([1.0, 2.0])
    with pytest.raises(ZeroDivisionError) as engine_error:
        (w / Value(0.0)).tanh()
    for run in (program, program.backward):
        with pytest.raises(ZeroDivisionError) as error:
            run([2.0, 0.0])
        assert str(error.value) == str(engine_error.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_overflow_that_vanishes_is_the_engines(backend):
    w = Value(1.0, "w")
    fn = lambda x: 1 / (w * x).exp()  # noqa: E731  exp(800) overflows: the engine raises
    program = compile(fn, 1.0, backend=backend)
    program([1.0])
    with pytest.raises(OverflowError):
        program([800.0])


def test_a_value_no_output_reads_is_warned_about():
    w = Value(1.0, "w")

    def fn(x):
        (x - 2.0).log()  # on x < 2 the engine raises; compiled code never computes it
        return w * x

    with pytest.warns(UnusedValueWarning, match="log"):
        compile(fn, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MLP(2, [4, 1], seed=1)
        compile(lambda x, y: (model(x) - y) ** 2, [1.0, 2.0], 0.5, backend="numpy")


# ---- width, empty batches, shapes ---------------------------------------------------------------


def test_the_python_backend_compiles_a_neuron_of_3000_inputs_bit_for_bit():
    model = MLP(3000, [1], seed=1)
    x = [math.sin(k) for k in range(3000)]
    program = compile(lambda x: model(x), x)
    assert program([x]).tolist() == [model(x).data]


def test_the_python_backend_compiles_an_l2_term_over_4417_parameters():
    model = MLP(2, [64, 64, 1], seed=1)
    params = model.parameters()
    assert len(params) == 4417

    def loss(x):
        return model(x) + 1e-4 * Value.sum([p * p for p in params])

    program = compile(loss, [0.5, -0.5])
    got = compiled(program, params, [[0.5, -0.5]])
    want = engine(loss, params, [[0.5, -0.5]])
    assert got[0] == want[0]
    assert_close(got, want)  # the L2 term's shares are summed in another order


def test_a_value_read_by_200_nodes_gets_their_200_shares_in_order():
    w = Value(0.3, "w")
    fn = lambda x: Value.sum([(w * x * k).tanh() for k in range(200)])  # noqa: E731
    assert compiled(compile(fn, 1.0), [w], [0.7, -0.2]) == engine(fn, [w], [0.7, -0.2])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("outputs", [1, 2])
def test_an_empty_batch_returns_empty_outputs_and_adds_nothing(backend, outputs):
    w = Value(2.0, "w")
    fn = (lambda x: w * x[0]) if outputs == 1 else (lambda x: [w * x[0], w + x[1]])
    program = compile(fn, [1.0, 2.0], backend=backend)
    empty = np.zeros((0, 2))
    shape = (0,) if outputs == 1 else (0, 2)
    assert program(empty).shape == shape
    w.grad = 0.5
    for reduction in ("sum", "mean"):
        assert program.backward(empty, reduction=reduction).shape == shape
    assert program.backward(empty, grad=np.zeros(shape)).shape == shape
    assert w.grad == 0.5
    program.verify(empty)
    assert program(np.zeros((0, 3))).shape == shape  # a shape never compiled: still nothing


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_one_element_list_takes_a_grad_shaped_like_its_outputs(backend):
    w = Value(2.0, "w")
    program = compile(lambda x: [w * x], 1.0, backend=backend)
    assert program([1.0, 3.0]).shape == (2, 1)
    program.backward([1.0, 3.0], grad=[[1.0], [2.0]])
    assert w.grad == 7.0


# ---- the adversary ----------------------------------------------------------------------------


def tricks(w, threshold):
    """Functions of one number that try to make compiled code answer wrong: a branch on a
    number read in some way, a parameter's number frozen, a pole where an inf vanishes."""
    return [
        lambda x: x * w if x.detach().data > threshold else -(x * w),
        lambda x: x * w if ops.value_of(x) > threshold else x * w * w,
        lambda x: x * w if (x * w).local_grads[1] > threshold else -(x * w),
        lambda x: x * w if "-" in repr(x) else x + w,
        lambda x: x * abs(w.data),
        lambda x: x * w if w.data > threshold else x - w,
        lambda x: (w / (x - threshold)).tanh(),
        lambda x: (w * (x - threshold)).log().tanh(),
        lambda x: (w * x * 300.0).exp().tanh() + w,
        lambda x: Value.sum([w * x] * 70) / (x - threshold),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(which=st.integers(0, 9), threshold=st.sampled_from([-1.0, 0.0, 0.5, 2.0]),
       example=st.sampled_from([-2.0, 0.5, 1.0, 3.0]),
       batches=st.lists(st.lists(st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0]),
                                 min_size=1, max_size=4), min_size=1, max_size=3),
       new_weight=st.sampled_from([None, -1.5, 0.5]))
def test_compiled_code_never_answers_wrong_in_silence(backend, which, threshold, example,
                                                      batches, new_weight):
    """Each batch: the compiled program's outputs and gradients are the engine's, or it raises
    the engine's error, or it refuses (DataDependenceError); between batches the parameter's
    number changes, and (with ``new_weight``) the parameter itself is replaced."""
    cell = {"w": Value(1.0, "w")}

    def fn(x):
        return tricks(cell["w"], threshold)[which](x)

    try:
        program = compile(fn, example, backend=backend)
    except DataDependenceError:
        return
    except (ValueError, ArithmeticError):  # the example is outside fn's domain
        return
    for k, batch in enumerate(batches):
        try:
            want = engine(fn, [cell["w"]], batch)
        except (ValueError, ArithmeticError) as e:
            with pytest.raises((type(e), DataDependenceError)):
                compiled(program, [cell["w"]], batch)
            continue
        try:
            got = compiled(program, [cell["w"]], batch)
        except DataDependenceError:
            return
        assert_close(got, want)
        if new_weight is not None and k == 0:
            cell["w"] = Value(new_weight, "w")  # in a dict: not watched, but verify sees it
            with pytest.raises((DataDependenceError, ValueError, ArithmeticError)):
                program.verify(batch)
            try:
                program.retrace()
            except (ValueError, ArithmeticError):  # the engine's error on the example now
                return
        else:
            cell["w"].data -= 0.25


# ---- documents of every length: Value.take and mixed batches --------------------------------


def test_take_is_plain_indexing_for_an_int_and_a_node_for_a_value():
    table = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    assert Value.take(table, 1) is table[1]
    row = Value.take(table, Value(1.0))
    assert [v.data for v in row] == [3.0, 4.0]
    (row[0] * row[1]).backward()
    assert [[v.grad for v in r] for r in table] == [[0.0, 0.0], [4.0, 3.0]]
    for bad in (2.0, -1.0, 0.5, math.nan):
        with pytest.raises(ValueError, match="whole number from 0 to 1"):
            Value.take(table, Value(bad))


def doc_fn(table):
    def fn(tokens):  # an embedding lookup per token, a target picked by the next token
        rows = [Value.take(table, t) for t in tokens]
        scores = [(r[0] * r[1] - r[2]).tanh() for r in rows]
        column = [row[0] for row in table]
        return Value.sum(scores) + Value.take(column, tokens[-1]) * (1 / len(tokens))
    return fn


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_program_takes_documents_of_every_length_mixed_in_a_batch(backend):
    table = [[Value(math.sin(3 * i + j), f"e{i}_{j}") for j in range(3)] for i in range(5)]
    params = [v for row in table for v in row]
    fn = doc_fn(table)
    program = compile(fn, [1, 2, 0], backend=backend)
    docs = [[1, 2, 0], [4], [3, 0, 1, 1, 2], [0, 4], [2, 2, 2]]
    for p in params:
        p.grad = 0.0
    outs = program.backward(docs, reduction="mean")
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    want = []
    for doc in docs:  # the engine, on plain ints
        out = fn(doc)
        (out * (1 / len(docs))).backward()
        want.append(out.data)
    assert np.allclose(outs, want, rtol=1e-13)
    assert np.allclose(got, [p.grad for p in params], rtol=1e-13, atol=1e-15)
    assert sorted(shape[0] for shape in program.shapes) == [(1,), (2,), (3,), (5,)]
    before = {shape: program._compiled[shape] for shape in program.shapes}
    assert np.allclose(program(docs[::-1]), want[::-1], rtol=1e-13)  # the traces are kept
    assert all(program._compiled[shape] is code for shape, code in before.items())
    with pytest.raises(ValueError, match="whole number"):
        program([[1, 9, 0]])  # the engine's error for a token id out of range
    program.verify(docs)


def test_token_ids_are_perturbed_into_other_valid_ids():
    from micrograd_nn.compiler.trace import perturbed
    assert perturbed([[1, 2, 3], 0.5]) == [[3, 1, 2], -1.37 * 0.5 + 0.61]
    table = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)], [Value(5.0), Value(6.0)]]
    branchy = lambda t: Value.take(table, t[0])[0] * (2.0 if t[1].detach().data else 1.0)  # noqa
    with pytest.raises(DataDependenceError):
        compile(branchy, [0, 1, 2], allow_data_reads=True)  # [2, 0, 1] takes the other branch


# ---- gradients as one array ------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_gives_backwards_numbers_as_an_array_and_writes_no_grad(backend):
    table = [[Value(math.sin(3 * i + j), f"e{i}_{j}") for j in range(3)] for i in range(5)]
    unread = Value(7.0, "unread")  # in the tuple, never read: its gradient is 0
    params = tuple(v for row in table for v in row) + (unread,)
    program = compile(doc_fn(table), [1, 2, 0], backend=backend)
    docs = [[1, 2, 0], [4], [3, 0, 1, 1, 2], [0, 4]]   # several lengths in one batch
    for p in params:
        p.grad = 0.0
    want_outs = program.backward(docs, reduction="mean")
    want = [p.grad for p in params]
    for p in params:
        p.grad = 0.25  # left as it is
    outs, g = program.gradients(docs, params=params, reduction="mean")
    assert outs.tolist() == want_outs.tolist()
    assert g.shape == (len(params),) and g.tolist() == want and g[-1] == 0.0
    assert all(p.grad == 0.25 for p in params)
    for p in params:  # the same tuple again: its layout is kept, the numbers are today's
        p.data += 0.5
    _, again = program.gradients(docs, params=params, reduction="mean")
    for p in params:
        p.grad = 0.0
    program.backward(docs, reduction="mean")
    assert again.tolist() == [p.grad for p in params]


def test_gradients_where_the_engine_decides_leaves_every_grad_as_it_was():
    w, other = Value(-1.0, "w"), Value(0.5, "other")  # sqrt'(relu(w)) = inf, times 0: the engine's

    def f(x):
        return w.relu().sqrt() + w * x + other * other

    program = compile(f, 1.0, backend="numpy")
    w.grad, other.grad = 5.0, 6.0
    outs, g = program.gradients([1.0, 2.0], params=(other, w))
    assert (w.grad, other.grad) == (5.0, 6.0)
    for p in (w, other):
        p.grad = 0.0
    want = [f(Value(x)) for x in (1.0, 2.0)]
    Value.sum(want).backward()
    assert outs.tolist() == [v.data for v in want]
    assert g.tolist() == [other.grad, w.grad] == [2.0, 3.0]
    with pytest.raises(ValueError, match="params lacks"):  # and nothing written on the way
        program.gradients([1.0], params=(w,))
    assert (w.grad, other.grad) == (3.0, 2.0)


def test_gradients_refuses_a_list_and_a_tuple_without_every_parameter():
    w, b = Value(1.0, "w"), Value(0.0, "b")
    program = compile(lambda x: w * x + b, 1.0, backend="numpy")
    with pytest.raises(TypeError, match="tuple of Values"):
        program.gradients([1.0], params=[w, b])
    with pytest.raises(ValueError, match="params lacks 1 Value"):
        program.gradients([1.0], params=(w,))
    with pytest.raises(ValueError, match="more than once"):
        program.gradients([1.0], params=(w, b, w))
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        program.gradients([1.0], params=(w, 2.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_take_from_values_computed_per_sample_is_the_engines(backend):
    """A target picked from logits (a table computed from the inputs), and an embedding
    picked from parameters, both by token ids: outputs and gradients are the engine's."""
    emb = [[Value(0.3 * i - 0.2 * j, f"e{i}_{j}") for j in range(2)] for i in range(3)]
    head = [[Value(math.cos(i + 2 * j), f"h{i}_{j}") for j in range(2)] for i in range(3)]
    params = [v for row in emb + head for v in row]

    def fn(tokens):
        losses = []
        for t, nxt in zip(tokens, tokens[1:]):
            logits = Value.matvec(head, Value.take(emb, t))
            losses.append(Value.logsumexp(logits) - Value.take(logits, nxt))
        return Value.sum(losses)

    program = compile(fn, [0, 1, 2], backend=backend)
    docs = [[0, 1, 2], [2, 2, 0], [1, 0, 1]]
    for p in params:
        p.grad = 0.0
    outs = program.backward(docs)
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    want = [fn(doc) for doc in docs]
    Value.sum(want).backward()
    assert np.allclose(outs, [w.data for w in want], rtol=1e-13)
    assert np.allclose(got, [p.grad for p in params], rtol=1e-13, atol=1e-15)


def test_gradients_reads_the_numbers_from_data_when_given():
    table = [[Value(math.sin(3 * i + j), f"e{i}_{j}") for j in range(3)] for i in range(5)]
    params = tuple(v for row in table for v in row)
    program = compile(doc_fn(table), [1, 2, 0], backend="numpy")
    docs = [[1, 2, 0], [4], [3, 0, 1, 1, 2]]
    data = np.array([p.data for p in params])
    want_outs, want = program.gradients(docs, params=params)
    outs, g = program.gradients(docs, params=params, data=data)
    assert outs.tolist() == want_outs.tolist() and g.tolist() == want.tolist()
    # the array is what is read: other numbers give the numbers of those parameters
    moved = data + 0.5
    outs, g = program.gradients(docs, params=params, data=moved)
    for p, x in zip(params, moved.tolist()):
        p.data = x
    again_outs, again = program.gradients(docs, params=params)
    assert outs.tolist() == again_outs.tolist() and g.tolist() == again.tolist()
    with pytest.raises(ValueError, match="an array of 15 floats"):
        program.gradients(docs, params=params, data=moved[:-1])
    python = compile(doc_fn(table), [1, 2, 0], backend="python")
    with pytest.raises(ValueError, match="numpy backend only"):
        python.gradients(docs, params=params, data=moved)
