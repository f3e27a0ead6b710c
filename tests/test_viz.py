"""Tests of micrograd_nn.viz: chain-rule diagrams, explain, backward traces, rendering, the CLI.

The diagrams are checked through their DOT text (and SVG parsed as XML): every arrow's label
must be the engine's local derivative, every box's grad the engine's gradient, and the same
graph must always give the same text (a golden file pins the seed neuron's).
"""

import argparse
import html
import itertools
import math
import os
import pathlib
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import micrograd_nn
from micrograd_nn.engine import Value, topological_order
from micrograd_nn.viz import (
    Diagram, DiagramTooLarge, RenderError, RendererNotFoundError, SEED_PARAMETERS,
    draw_graph, draw_network, explain, find_renderer, parse_assignments, parse_expr, render,
    repr_mimebundle, seed_neuron, trace_backward, trace_html, trace_svgs)
from micrograd_nn.cli import build_parser, run_graph
from micrograd_nn.viz import rendering as render_module
from micrograd_nn.viz.rendering import pipe
from micrograd_nn.viz.diagram import DEFAULT_MAX_EDGES, HIGHLIGHT, ROLE_COLORS
from micrograd_nn.viz.scene import BLOCKED, DATA_INK, GRAD_INK
from micrograd_nn.viz.expr import ExpressionError
from micrograd_nn.viz.structure import Structure
from micrograd_nn.losses import cross_entropy, softmax
from micrograd_nn.viz.naming import (Namer, consistent_digits, drawing_order, find_by_label,
                                    fmt)

GOLDEN = pathlib.Path(__file__).parent / "golden"
SVG_NS = "{http://www.w3.org/2000/svg}"


def by_label(root):
    return {v.label: v for v in drawing_order(root) if v.label}


def has_renderer() -> bool:
    try:
        find_renderer()
    except RendererNotFoundError:
        return False
    return True


needs_renderer = pytest.mark.skipif(not has_renderer(), reason="no Graphviz renderer installed")


# ---- reading DOT back --------------------------------------------------------------------------

_EDGE = re.compile(r"^\t(\w+)(?::\w+)* -> (\w+)(?::\w+)*(?: \[(.*)\])?$", re.M)
_NODE = re.compile(r"^\t+(\w+) \[label=<(.*)> .*\]$", re.M)


def edges_of(source: str) -> list:
    """(tail, head, label or None, attribute text) for every edge, in order. An arrow that
    ends at a slot of its operation's box (the pinned views), or leaves from a row of its
    tail's box, has the text of that slot or row as its label."""
    found = []
    labels = dict(_NODE.findall(source))
    for tail, head, attrs in _EDGE.findall(source):
        label = re.search(r"label=<(.*?)>(?: \w+=|$)", attrs or "")
        if label:   # the text, tags removed, one line per row
            label = re.sub(r"<(?!BR/>)[^>]+>", "", label.group(1).replace("</TR><TR>", "\n"))
        found.append((tail, head, label, attrs or ""))
    for k, line in enumerate(re.findall(r"^\t\w+(?::\w+)* -> .*$", source, re.M)):
        port = re.match(r"\t\w+(?::\w+)* -> (\w+):(a\d+):\w+", line)
        if port:
            tail, head, _, attrs = found[k]
            found[k] = (tail, head, slot_text(labels[head], port.group(2)), attrs)
        port = re.match(r"\t(\w+):(t\d+):\w+ -> ", line)
        if port:        # a row of the tail's box (the weight drawn apart by focus=)
            tail, head, _, attrs = found[k]
            cell = re.search(rf'PORT="{port.group(2)}">(.*?)</TD>', labels[tail], re.S)
            text = re.sub(r"<[^>]+>", "", cell.group(1).replace("<BR/>", "\n"))
            found[k] = (tail, head, html.unescape(text), attrs)
    return found


def slot_text(label: str, port: str) -> str:
    """The text of slot ``port`` of an operation's box: the rows from its cell to the next
    slot's (slots one under the other), or its column (slots side by side)."""
    rows = [re.findall(r"<TD([^>]*)>(.*?)</TD>", row, re.S)
            for row in re.findall(r"<TR>(.*?)</TR>", label, re.S)]
    r, c = next((r, c) for r, cells in enumerate(rows) for c, (attrs, _) in enumerate(cells)
                if f'PORT="{port}"' in attrs)
    if sum("PORT=" in attrs for attrs, _ in rows[r]) > 1:
        cells = [cells[c] for cells in rows[r:] if c < len(cells)]
    else:
        cells = [rows[r][0]] + list(itertools.takewhile(lambda cell: "PORT=" not in cell[0],
                                                        (cells[0] for cells in rows[r + 1:])))
    texts = [re.sub(r"<[^>]+>", "", text) for _, text in cells]
    return "\n".join(html.unescape(t) for t in texts if t.strip())


def box_titles(source: str) -> list:
    """The titles of the boxes of a pinned drawing (layers, samples), outer boxes first."""
    return re.findall(r'^\tbox\d+ \[label="([^"]+)"', source, re.M)


def node_texts(source: str) -> dict:
    """node id -> the plain text of its HTML label."""
    return {key: re.sub(r"<[^>]+>", " ", label) for key, label in _NODE.findall(source)}


def number_after_last_equals(label: str) -> float:
    return float(label.rsplit("=", 1)[-1])


# ---- random graphs -----------------------------------------------------------------------------

_STEPS = ("add", "sub", "mul", "tanh", "sigmoid", "linear", "square", "const")


def build(inputs, steps):
    """A graph from a list of (step, i, j): each step combines two values of a growing pool."""
    pool = [Value(x, f"x{k}") for k, x in enumerate(inputs)]
    for step, i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if step == "add":
            out = a + b
        elif step == "sub":
            out = a - b
        elif step == "mul":
            out = a * b
        elif step == "tanh":
            out = a.tanh()
        elif step == "sigmoid":
            out = a.sigmoid()
        elif step == "linear":
            out = Value.linear([a, b], [b, a], 0.5)
        elif step == "square":
            out = a ** 2
        else:
            out = a * 0.5 + 1
        pool.append(out)
    return pool


graphs = st.tuples(
    st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=1, max_size=3),
    st.lists(st.tuples(st.sampled_from(_STEPS), st.integers(0, 50), st.integers(0, 50)),
             min_size=1, max_size=8),
)


# ---- the diagram: labels are the engine's numbers ---------------------------------------------


def test_seed_neuron_values_and_gradients():
    loss = seed_neuron()
    v = by_label(loss)
    z = 0.25 * 1.5 + -0.75 * -0.5 + 0.1
    yhat = 1 / (1 + math.exp(-z))
    assert v["z"].data == pytest.approx(z) and v["yhat"].data == pytest.approx(yhat)
    assert loss.data == pytest.approx((yhat - 1) ** 2)
    # the tutorial's chain rule, factor by factor
    dloss_dw1 = 2 * (yhat - 1) * yhat * (1 - yhat) * 1.5
    assert v["w1"].grad == pytest.approx(dloss_dw1)
    unfused = by_label(seed_neuron(fused=False))
    for name in ("w1", "w2", "b", "x1", "x2", "y"):
        assert unfused[name].grad == pytest.approx(v[name].grad)


@given(graphs)
def test_every_edge_label_is_the_local_derivative_and_every_box_the_grad(case):
    inputs, steps = case
    root = build(inputs, steps)[-1]
    root.backward()
    source = draw_graph(root).source
    order = drawing_order(root)
    into = {}
    for tail, head, label, _ in edges_of(source):
        into.setdefault(head, []).append((tail, label))
    texts = node_texts(source)
    # results with d digits, the factors that make them with d + 2 (d is 4 unless more are
    # needed for the printed factors to multiply to the printed gradients)
    digits = min(consistent_digits(order, {v: v.grad for v in order}, flows=False), 4)
    for k, v in enumerate(order):
        grad = re.search(r"grad (\S+)", texts[f"v{k}"]).group(1)
        assert grad == fmt(v.grad, digits)
        data = re.search(r"data (\S+)", texts[f"v{k}"]).group(1)
        assert data == fmt(v.data, digits)
        if v.is_leaf():
            assert f"op{k}" not in into
            continue
        # one arrow per distinct operand; an operand used twice (x*x) has one arrow whose
        # label gives each local derivative with how often it occurs
        expected: dict = {}
        for operand, local in zip(v.operands, v.local_grads):
            key = f"v{order.index(operand)}"
            expected.setdefault(key, Counter())[fmt(local, digits + 2)] += 1
        arrows = into[f"op{k}"]
        assert [tail for tail, _ in arrows] == list(expected)
        for tail, label in arrows:
            shown = Counter()
            for piece in re.split("\n|; ", label):     # each distinct label once
                number, times = re.fullmatch(r"(?:.* = )?(\S+?)(?: \(×(\d+)\))?", piece).groups()
                shown[number] += int(times or 1)
            assert shown == expected[tail]
        assert into[f"v{k}"] == [(f"op{k}", None)]


def test_seed_edge_labels_show_the_formula_filled_with_names():
    source = draw_graph(seed_neuron()).source
    labels = {label for _, _, label, _ in edges_of(source) if label}
    v = by_label(seed_neuron())
    # factors are printed with 6 digits, two more than the gradients
    assert {"dz/dw1 = x1 = 1.5", "dz/dw2 = x2 = -0.5", "dz/dx1 = w1 = 0.25",
            "dz/dx2 = w2 = -0.75", "dz/db = 1",
            f"dyhat/dz = yhat*(1-yhat) = {fmt(v['yhat'].local_grads[0], 6)}",
            "d(yhat - y)/dyhat = 1", "d(yhat - y)/dy = -1",
            f"dloss/d(yhat - y) = 2*(yhat - y) = {fmt(v['loss'].local_grads[0], 6)}"} == labels


def test_the_printed_factors_multiply_to_the_printed_gradient():
    """dloss/dw1 = -0.598866 * 1 * 0.209773 * 1.5 = -0.18844, printed -0.1884 (at 4 digits the
    factors -0.5989 * 1 * 0.2098 * 1.5 gave -0.1885)."""
    loss = seed_neuron()
    labels = [label for _, _, label, _ in edges_of(draw_graph(loss).source) if label]
    factor = {label.split(" = ")[0]: float(label.rsplit(" = ", 1)[-1]) for label in labels}
    product = (factor["dloss/d(yhat - y)"] * factor["d(yhat - y)/dyhat"] * factor["dyhat/dz"]
               * factor["dz/dw1"])
    assert fmt(product) == fmt(by_label(loss)["w1"].grad) == "-0.1884"


@given(graphs)
def test_flow_labels_multiply_and_forks_add_up_as_printed(case):
    inputs, steps = case
    root = build(inputs, steps)[-1]
    root.backward()
    graph = draw_graph(root, edge_labels="flow")
    source, digits = graph.source, graph.digits
    assert digits <= 4      # never more than 4 digits for a result, 6 for a factor

    def unit(x: float, places: int) -> float:
        """One unit of the last of ``places`` significant digits of x."""
        return 10 ** (math.floor(math.log10(abs(x))) - places + 1) if x else 0.0

    def agrees(value: float, printed: str, slack: float = 0.0) -> bool:
        """Exactly, or (when the diagram says its numbers are rounded) within what rounding
        the factors (``slack``) and the result can account for."""
        if fmt(value, digits) == printed:
            return True
        if not graph.rounded or not math.isfinite(value):
            return False
        return abs(value - float(printed)) <= 1.01 * (unit(float(printed), digits) + slack)

    for _, _, label, _ in edges_of(source):
        for line in re.split("\n|; ", label) if label else ():   # "g x l = c": factors give c
            g, l, c = re.fullmatch(r"(\S+) \u00d7 (\S+) = (\S+)(?: \(\u00d7\d+\))?",
                                   line).groups()
            g, l = float(g), float(l)
            assert agrees(g * l, c, (abs(l) * unit(g, digits + 2) + abs(g) * unit(l, digits + 2))
                          / 2)
    for text in node_texts(source).values():
        fork = re.search(r"grad = (.*) = (\S+) *$", text)
        if fork:     # the contributions written in a box add up to its printed gradient
            tokens = re.split(r" ([+-]) ", fork.group(1))
            total = float(tokens[0])
            for sign, term in zip(tokens[1::2], tokens[2::2]):
                total += float(term) if sign == "+" else -float(term)
            terms = [float(t) for t in tokens[::2]]
            assert agrees(total, fork.group(2), sum(unit(t, digits + 2) for t in terms) / 2) or (
                float(fork.group(2)) == 0.0 and abs(total) < 1e-9 * max(map(abs, map(
                    float, tokens[::2]))))     # terms that cancel exactly, printed rounded


def test_flow_mode_writes_what_each_arrow_carries_back_and_the_sums_at_forks():
    x = Value(3.0, "x")
    y = x * x + x
    y.label = "y"
    y.backward()
    source = draw_graph(y, edge_labels="flow").source
    labels = sorted(label for _, _, label, _ in edges_of(source) if label)
    # x*x: the two arrows from x are drawn as one, counted
    assert labels == ["1 \u00d7 1 = 1", "1 \u00d7 1 = 1", "1 \u00d7 3 = 3 (\u00d72)"]
    assert "grad = 3 + 3 + 1 = 7" in node_texts(source)["v0"]
    both = draw_graph(y, edge_labels="both").source
    assert "dy/dx = 1\n1 \u00d7 1 = 1" in [label for _, _, label, _ in edges_of(both)]
    seed = draw_graph(seed_neuron(), edge_labels="flow").source
    assert "-0.125626 \u00d7 1.5 = -0.1884" in [label for _, _, label, _ in edges_of(seed)]
    # forward values green, gradients red, and the legend says which
    legend = re.search(r"^\t+legend \[.*$", seed, re.M).group(0)
    for colour, meaning in ((DATA_INK, "forward value"), (GRAD_INK, "what flows back")):
        assert colour in legend and meaning in legend
    assert f'<FONT COLOR="{DATA_INK}">data 0.25' in seed
    assert f'<FONT COLOR="{GRAD_INK}">grad -0.1884' in seed
    with pytest.raises(ValueError, match="edge_labels"):
        draw_graph(y, edge_labels="gradient")


def test_seed_neuron_in_flow_mode_matches_its_golden_file():
    source = draw_graph(seed_neuron(), edge_labels="flow").source
    golden = GOLDEN / "seed_neuron_flow.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(source, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == source, (
        "the seed neuron's flow DOT changed; if on purpose, rerun with UPDATE_GOLDEN=1")


def test_where_no_gradient_flows_the_arrows_are_dashed_grey():
    x, w = Value(-2.0, "x"), Value(0.5, "w")
    dead = (x * w).relu()            # a dead ReLU: nothing flows back through it
    out = dead + w
    out.label = "out"
    out.backward()
    source = draw_graph(out, edge_labels="flow").source
    dashed = [(t, h, label) for t, h, label, attrs in edges_of(source)
              if f'color="{BLOCKED}"' in attrs and "dashed" in attrs]
    # into relu (its slope is 0), and into x*w (its gradient is 0)
    assert len(dashed) == 3 and "1 \u00d7 0 = 0" in [label for _, _, label in dashed]
    assert "nothing flows back" in re.search(r"^\t+legend \[.*$", source, re.M).group(0)


def test_constants_are_named_by_their_number_and_labelled_constant():
    x = Value(1.5, "x")
    y = x * 2 - 1
    y.backward()
    source = draw_graph(y).source
    labels = {label for _, _, label, _ in edges_of(source) if label}
    assert {"d(x*2)/dx = 2", "d(x*2)/d(2) = x = 1.5", "d(x*2 - 1)/d(x*2) = 1",
            "d(x*2 - 1)/d(1) = -1"} == labels
    assert sum("constant" in t for k, t in node_texts(source).items() if k[0] == "v") == 2


def test_a_call_of_a_compound_name_has_one_pair_of_parentheses():
    w, x = Value(0.5, "w"), Value(2.0, "x")
    y = (w * x).exp()
    labels = {label for _, _, label, _ in edges_of(draw_graph(y).source) if label}
    assert "d(exp(w*x))/d(w*x) = exp(w*x) = 2.71828" in labels
    assert explain(y, "w").count("exp(w*x)") >= 1 and "((" not in explain(y, "w")


def test_a_create_graph_gradient_draws_without_power_1_and_times_1():
    x = Value(1.5, "x")
    (dy,) = micrograd_nn.grad(x ** 3, [x], create_graph=True)          # 1*3*x**2
    (d2y,) = micrograd_nn.grad(dy, [x], create_graph=True)             # ... 2*x**1 ...
    for g in (dy, d2y):
        source = draw_graph(g).source
        texts = " ".join(node_texts(source).values()) + " ".join(
            label for _, _, label, _ in edges_of(source) if label)
        assert "**1" not in texts and not re.search(r"(?<![\d.])1\*|\*1(?![\d.])", texts), texts
    source = draw_graph(d2y).source
    assert "d(3*2*x)/d(2*x) = 3" in [label for _, _, label, _ in edges_of(source)]
    dy.label = "dy/dx"       # a labelled output keeps its name on the box it is drawn as
    assert "<B>dy/dx</B>" in draw_graph(dy).source
    out = re.search(rf'BGCOLOR="{ROLE_COLORS["output"]}"[^\n]*', source).group(0)
    assert "data 9<" in out     # 6x at 1.5, in the output's box


def test_parameters_are_recognised_without_params():
    loss = seed_neuron()      # a neuron's weights and bias
    source = draw_graph(loss).source
    assert source == draw_graph(loss, params=SEED_PARAMETERS).source
    # without a neuron, only what the user says is trained: b is an input like a, never a
    # parameter by its name
    unfused = seed_neuron(fused=False)
    assert ROLE_COLORS["parameter"] not in draw_graph(unfused).source
    assert ROLE_COLORS["parameter"] in draw_graph(unfused, params=SEED_PARAMETERS).source
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    assert ROLE_COLORS["parameter"] not in draw_graph(a * b + c).source
    model, mlp = mlp_loss()
    texts = node_texts(draw_graph(mlp, max_edges=400).source)
    assert draw_graph(mlp, max_edges=400).source == draw_graph(mlp, params=model,
                                                               max_edges=400).source
    assert any("L1.N2.w1" in t for t in texts.values())
    x, v = Value(1.0, "x"), Value(2.0, "v")   # no parameter-like label: inputs
    assert ROLE_COLORS["parameter"] not in draw_graph(x * v).source


def test_same_graph_same_dot_and_matches_the_golden_file():
    first = draw_graph(seed_neuron(), params=SEED_PARAMETERS).source
    again = draw_graph(seed_neuron(), params=SEED_PARAMETERS).source
    assert first == again
    golden = GOLDEN / "seed_neuron.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(first, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == first, (
        "the seed neuron's DOT changed; if on purpose, rerun with UPDATE_GOLDEN=1")


def test_ids_come_from_the_graph_not_from_memory_addresses():
    loss = seed_neuron()
    source = draw_graph(loss).source
    keys = re.findall(r"^\t+(\w+) \[label", source, re.M)
    assert keys and all(re.fullmatch(r"v\d+|op\d+|legend", key) for key in keys)
    assert str(id(loss)) not in source


def test_roles_are_coloured_and_the_legend_lists_them():
    loss = seed_neuron()
    texts = draw_graph(loss, params=SEED_PARAMETERS).source
    order = drawing_order(loss)
    for k, v in enumerate(order):
        line = re.search(rf"^\tv{k} \[.*$", texts, re.M).group(0)
        role = ("output" if v is loss else "parameter" if v.label in SEED_PARAMETERS
                else "input or constant" if v.is_leaf() else "intermediate")
        assert f'BGCOLOR="{ROLE_COLORS[role]}"' in line, (v.label, role)
    legend = re.search(r"^\t+legend \[.*$", texts, re.M).group(0)
    for role in ("input or constant", "parameter", "intermediate", "output"):
        assert role in legend
    # params as Values or as a Module work the same
    v = by_label(loss)
    assert draw_graph(loss, params=[v["w1"], v["w2"], v["b"]]).source == texts


def test_options_leave_out_what_they_say():
    loss = seed_neuron()
    bare = draw_graph(loss, show_local_grads=False, show_grads=False, legend=False).source
    assert all(label is None for _, _, label, _ in edges_of(bare))
    assert "grad " not in bare and "legend" not in bare
    assert "rankdir=TB" in draw_graph(loss, rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(loss, rankdir="diagonal")
    with pytest.raises(TypeError, match="Value"):
        draw_graph(3.0)


def test_a_switch_that_is_not_true_or_false_is_refused_saying_what_is_accepted():
    """legend="no" (or collapse="no") is truthy: drawing a legend for it would be silent
    misbehaviour; an empty rankdir is not the default either."""
    loss = seed_neuron()
    with pytest.raises(TypeError, match=r"legend must be True, False or None \(a legend "
                                        r"except on a slide or a worksheet\), got 'no'"):
        draw_graph(loss, legend="no")
    for switch in ("collapse", "show_grads", "expand_linear", "paths_only", "answer_key"):
        with pytest.raises(TypeError, match=rf"{switch} must be True or False, got 1"):
            draw_graph(loss, exercise="grads", **{switch: 1})
    with pytest.raises(ValueError, match="rankdir must be None or one of 'LR'.*got ''"):
        draw_graph(loss, rankdir="")
    assert "legend" not in draw_graph(loss, legend=False).source


def test_a_slides_depths_read_the_arrows_once():
    """Depth = the longest chain of arrows reaching a box; reading every arrow once per box
    took seconds for a slide of a long chain (quadratic)."""
    from types import SimpleNamespace
    from micrograd_nn.viz.dot import _depths

    class Counted(list):
        reads = 0

        def __iter__(self):
            Counted.reads += 1
            return super().__iter__()

    keys = [f"v{k}" for k in range(300)]
    ends = Counted([(a, b) for a, b in zip(keys, keys[1:])] + [("v0", "v299")])
    depth = _depths(ends, SimpleNamespace(nodes=dict.fromkeys(keys)))
    assert depth == {key: k for k, key in enumerate(keys)}
    assert Counted.reads == 1


def test_highlight_draws_exactly_the_paths_to_the_value_in_bold():
    loss = seed_neuron(fused=False)
    source = draw_graph(loss, highlight="w1").source
    bold = [(t, h) for t, h, _, attrs in edges_of(source) if f'color="{HIGHLIGHT}"' in attrs]
    # w1 -> * -> w1*x1 -> + -> (w1*x1 + w2*x2) -> + -> z -> sigmoid -> yhat -> - -> e -> **2 -> loss
    assert len(bold) == 12
    order = drawing_order(loss)
    on_path = {f"v{k}" for k, v in enumerate(order)
               if v.label in ("w1", "z", "yhat", "loss") or v.label == ""}
    for tail, head in bold:
        assert tail.startswith("op") or tail in on_path
    assert draw_graph(loss, highlight=by_label(loss)["w1"]).source == source
    with pytest.raises(ValueError, match="no value"):
        draw_graph(loss, highlight="nobody")
    with pytest.raises(ValueError, match="not part"):
        draw_graph(loss, highlight=Value(1.0))


def test_an_unknown_label_gets_the_same_message_everywhere():
    loss = seed_neuron()
    assert find_by_label(loss, "w1") is by_label(loss)["w1"]
    message = ("no value of the graph is labelled 'nobody'; its labels are: b, loss, w1, w2, "
               "x1, x2, y, yhat, z")
    for call in (lambda: find_by_label(loss, "nobody"),
                 lambda: draw_graph(loss, highlight="nobody"),
                 lambda: explain(loss, "nobody")):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value) == message
    with pytest.raises(ValueError) as error:
        run_graph(graph_args("--highlight", "nobody", "--out", "x.dot"))
    assert str(error.value) == "--highlight nobody: " + message
    with pytest.raises(ValueError, match=r"its labels are: \(none\)"):
        find_by_label(Value(1.0) * 2, "x")


def test_exercise_blanks_gradients_or_local_derivatives():
    loss = seed_neuron()
    grads = draw_graph(loss, exercise="grads").source
    texts = node_texts(grads)
    shown = [re.search(r"grad (\S+)", t).group(1) for k, t in texts.items() if k[0] == "v"]
    blank = re.compile(r"_{8,}")     # a line to write on, at least 8 characters long
    assert shown.count("1") == 1 and sum(map(bool, map(blank.fullmatch, shown))) == len(shown) - 1
    local = draw_graph(loss, exercise="local").source
    labels = [label for _, _, label, _ in edges_of(local) if label is not None]
    assert labels and all(blank.search(label.rsplit(" = ", 1)[-1]) for label in labels)
    assert "-0.1884" in local       # the gradients are still there to check against
    both = draw_graph(loss, exercise="both").source
    assert "-0.1884" not in both
    assert all(blank.search(label) for _, _, label, _ in edges_of(both) if label is not None)
    with pytest.raises(ValueError, match="exercise"):
        draw_graph(loss, exercise="everything")
    with pytest.raises(ValueError, match="exercise="):
        draw_graph(loss, answer_key=True)
    # options that leave the worksheet nothing to blank are refused, saying why
    with pytest.raises(ValueError, match=r"exercise='local' blanks the local derivatives on "
                                         r"the arrows, which edge_labels='flow' does not"):
        draw_graph(loss, exercise="local", edge_labels="flow")
    with pytest.raises(ValueError, match=r"show_local_grads=False"):
        draw_graph(loss, exercise="local", show_local_grads=False)
    with pytest.raises(ValueError, match=r"exercise='grads' blanks the grads.*show_grads=False"):
        draw_graph(loss, exercise="grads", show_grads=False)
    with pytest.raises(ValueError, match=r"exercise='both'"):
        draw_graph(loss, exercise="both", show_grads=False, show_local_grads=False)
    assert blank.search(draw_graph(loss, exercise="both", show_grads=False).source)


def node_geometry(graph) -> dict:
    """node id -> the corners and centres of what draws it, in a rendered drawing."""
    tree = ET.fromstring(pipe(graph, "svg"))
    found = {}
    for g in tree.iter(f"{SVG_NS}g"):
        if g.get("class") == "node":
            title = g.find(f"{SVG_NS}title").text
            found[title] = [(e.get("points"), e.get("cx"), e.get("cy")) for e in g.iter()
                            if e.tag in (f"{SVG_NS}polygon", f"{SVG_NS}ellipse")]
    return found


def svg_shapes(graph) -> list:
    """The geometry of a rendered drawing: every polygon, path and ellipse, in order."""
    svg = pipe(graph, "svg").decode("utf-8")
    return re.findall(r'<(?:polygon|path|ellipse)[^>]*?(?:points|d|cx)="[^"]*"', svg)


@needs_renderer
@pytest.mark.parametrize("exercise", ["grads", "local", "both"])
def test_an_answer_key_has_the_layout_of_its_worksheet(exercise):
    loss = seed_neuron()
    sheet = draw_graph(loss, exercise=exercise, rankdir="TB")
    key = draw_graph(loss, exercise=exercise, rankdir="TB", answer_key=True)
    assert "-0.1884" in key.source and sheet.source != key.source
    assert svg_shapes(sheet) == svg_shapes(key)


@needs_renderer
def test_an_answer_key_keeps_its_worksheet_layout_where_an_arrow_carries_nothing_back():
    # x2 = 0: nothing flows back to w2, which a key drew dashed and listed in its legend
    from diagram_corpus import tanh_neuron
    for exercise in ("grads", "both"):
        sheet = draw_graph(tanh_neuron(), exercise=exercise, legend=True)
        key = draw_graph(tanh_neuron(), exercise=exercise, legend=True, answer_key=True)
        assert svg_shapes(sheet) == svg_shapes(key)


def test_expand_linear_draws_products_with_the_same_numbers():
    loss = seed_neuron()
    v = by_label(loss)
    source = draw_graph(loss, expand_linear=True).source
    labels = [label for _, _, label, _ in edges_of(source) if label]
    assert "d(w1*x1)/dw1 = x1 = 1.5" in labels and "d(w1*x1)/dx1 = w1 = 0.25" in labels
    assert "dz/d(w1*x1) = 1" in labels and "dz/db = 1" in labels
    texts = node_texts(source)
    products = [t for k, t in texts.items() if k[0] == "v" and "_p" in k]
    assert len(products) == 2
    for text in products:   # d loss / d (w_i x_i) = d loss / dz
        assert f"grad {fmt(v['z'].grad)}" in text
    assert "data 0.375" in products[0]


# ---- size limits and collapsing ----------------------------------------------------------------


def chain(n):
    x = Value(0.5, "x")
    out = x
    for _ in range(n):
        out = out * 0.999 + 0.001
    return out


def test_too_many_values_is_a_clear_error_not_a_hang():
    root = chain(5000)   # x, then 4 values a step: 20001
    with pytest.raises(ValueError) as error:
        draw_graph(root)
    message = str(error.value)
    assert "20001 values" in message and "max_nodes=250" in message
    assert "collapse=True" in message and "draw_network" in message
    small = node_texts(draw_graph(chain(2)).source)   # small graphs draw: 9 values, 4 ops
    assert sum(k[0] == "v" for k in small) == 9 and sum(k[:2] == "op" for k in small) == 4
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(chain(10), max_nodes=0)


def mlp_loss():
    from micrograd_nn.nn import MLP
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    loss = Value.sum([(model(x) - y) ** 2 for x, y in (([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0))])
    loss.label = "loss"
    loss.backward()
    return model, loss


def test_collapse_draws_each_neuron_as_one_node_in_layer_boxes():
    model, loss = mlp_loss()
    with pytest.raises(ValueError, match="collapse"):
        draw_graph(loss, max_nodes=20)
    source = draw_graph(loss, collapse=True, params=model, max_nodes=40).source
    texts = node_texts(source)
    neurons = [t for t in texts.values() if "(w.x + b)" in t or "w.x + b," in t]
    assert len(neurons) == 2 * (3 + 1)     # two samples through 3 + 1 neurons
    # a box per sample, in it a box per layer numbered like the model's, neurons named L1.N2
    assert box_titles(source) == [
        "sample 1", "layer 1", "layer 2", "sample 2", "layer 1", "layer 2"]
    titles = [re.search(r"L\d\.N\d", t).group(0) for t in neurons]
    assert titles == ["L1.N1", "L1.N2", "L1.N3", "L2.N1"] * 2
    assert not any("L1.N1.w1" in t for t in texts.values())   # weights folded in
    assert "grad 1" in texts[next(k for k, t in texts.items() if " loss " in f" {t} ")]
    with pytest.raises(ValueError, match="draw_network"):
        draw_graph(loss, collapse=True, max_nodes=5)


def mlp_441(samples: int):
    from micrograd_nn.nn import MLP
    model = MLP(2, [4, 4, 1], seed=1)
    data = [([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0)]
    loss = Value.sum([(model(x) - y) ** 2 for x, y in data[:samples]])
    loss.label = "loss"
    loss.backward()
    return model, loss


def test_the_full_view_of_a_4_4_1_network_on_4_samples_is_refused_for_the_collapsed_one():
    model, loss = mlp_441(4)
    with pytest.raises(DiagramTooLarge) as error:
        draw_graph(loss)
    one = drawing_order(mlp_441(1)[1])
    assert error.value.edges > DEFAULT_MAX_EDGES >= sum(len(v.operands) for v in one)
    assert error.value.values < 250          # the values alone would have passed
    assert "collapse=True" in str(error.value) and "collapsed view" in str(error.value)
    collapsed = draw_graph(loss, collapse=True).source
    assert box_titles(collapsed).count("sample 1") == 1
    assert [t for t in box_titles(collapsed) if t.startswith("sample")] == [
        "sample 1", "sample 2", "sample 3", "sample 4"]
    draw_graph(mlp_441(1)[1])       # one sample draws in full


@needs_renderer
def test_the_collapsed_view_draws_the_samples_in_order():
    model, loss = mlp_441(4)
    svg = ET.fromstring(pipe(draw_graph(loss, collapse=True), "svg"))
    tops = {t.text: float(t.get("y")) for t in svg.iter(f"{SVG_NS}text")
            if re.fullmatch(r"sample \d", t.text or "")}
    assert sorted(tops, key=tops.get) == ["sample 1", "sample 2", "sample 3", "sample 4"]


def mlp_441_layer_by_layer(samples: int):
    """``mlp_441``'s loss, built layer by layer to keep each sample's neuron outputs: the
    loss after backward, and per sample, per layer, the outputs in neuron order."""
    from micrograd_nn.nn import MLP
    model = MLP(2, [4, 4, 1], seed=1)
    data = [([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0)]
    outputs, terms = [], []
    for x, y in data[:samples]:
        layers = []
        for layer in model.layers:
            x = layer(x)
            layers.append(x)
        outputs.append(layers)
        terms.append((x[0] - y) ** 2)
    loss = Value.sum(terms)
    loss.label = "loss"
    loss.backward()
    return loss, outputs


def rendered(graph) -> tuple:
    """A rendered drawing's geometry in SVG coordinates (y downwards): node id -> bounding box
    (x0, y0, x1, y1) of what draws it, and the bounding boxes of the boxes around layers and
    samples (the nodes box0, box1, ... of a pinned drawing)."""
    svg = ET.fromstring(pipe(graph, "svg"))
    top = next(g for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "graph")

    def bounds(numbers):
        return (min(numbers[0::2]), min(numbers[1::2]), max(numbers[0::2]), max(numbers[1::2]))

    nodes = {}
    for g in top.iter(f"{SVG_NS}g"):
        numbers = []
        for e in g.iter() if g.get("class") == "node" else ():
            if e.tag == f"{SVG_NS}polygon":
                numbers += [float(n) for n in re.split(r"[ ,]+", e.get("points").strip())]
            elif e.tag == f"{SVG_NS}ellipse":
                cx, cy, rx, ry = (float(e.get(a)) for a in ("cx", "cy", "rx", "ry"))
                numbers += [cx - rx, cy - ry, cx + rx, cy + ry]
            elif e.tag == f"{SVG_NS}path":       # a rounded box
                numbers += [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", e.get("d"))]
        if numbers:
            nodes[g.find(f"{SVG_NS}title").text] = bounds(numbers)
    boxes = [nodes.pop(key) for key in sorted(nodes) if re.fullmatch(r"box\d+", key)]
    return nodes, boxes


def inside(box, outer) -> bool:
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@needs_renderer
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("focus", [None, "L1.N2.w1"])
def test_the_collapsed_view_keeps_neurons_in_order_inside_their_boxes(focus, rankdir):
    loss, outputs = mlp_441_layer_by_layer(4)
    graph = draw_graph(loss, collapse=True, focus=focus, rankdir=rankdir, edge_labels="flow")
    check_order_and_boxes(graph, loss, outputs, rankdir)


def check_order_and_boxes(graph, loss, outputs, rankdir):
    """In the rendered ``graph`` of ``loss``: the neurons of each layer (``outputs``: per
    sample, per layer, the neuron outputs) in order, the samples in order, each neuron inside
    its layer's box and its sample's (when there are several), with no other; no overlaps."""
    nodes, boxes = rendered(graph)
    key = {v: f"v{k}" for k, v in enumerate(drawing_order(loss))}
    across = 1 if rankdir == "LR" else 0        # neurons stack down (LR) or rightwards (TB)

    def centre(v):
        box = nodes[key[v]]
        return (box[across] + box[across + 2]) / 2

    for layers in outputs:          # N1, N2, ... in every layer box of every sample
        for layer in layers:
            assert [centre(v) for v in layer] == sorted(centre(v) for v in layer)
            assert len({round(centre(v)) for v in layer}) == len(layer)
    firsts = [centre(layers[0][0]) for layers in outputs]
    assert firsts == sorted(firsts)             # sample 1 first
    owner = {key[v]: (s, li) for s, layers in enumerate(outputs)
             for li, layer in enumerate(layers) for v in layer}
    for k, (s, li) in owner.items():        # in its layer's box and its sample's, with its own
        holding = sorted((b for b in boxes if inside(nodes[k], b)),
                         key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        assert len(holding) == (2 if len(outputs) > 1 else 1)
        assert {owner[o] for o in owner if inside(nodes[o], holding[0])} == {(s, li)}
        assert {owner[o][0] for o in owner if inside(nodes[o], holding[-1])} == {s}
    drawn = list(nodes.values())            # and no node covers another
    assert not any(overlap(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:])


def _mlp_batch(nin: int, widths: list, samples: int, seed: int) -> tuple:
    """A squared-error loss of MLP(nin, widths + [1]) over ``samples`` inputs, after backward;
    and, per sample, each layer's outputs (the neurons a drawing must keep in order)."""
    from micrograd_nn.nn import MLP
    model = MLP(nin, widths + [1], seed=seed)
    outputs, terms = [], []
    for s in range(samples):
        x = [(-1) ** (s + i) * (0.3 + 0.2 * s + 0.1 * i) for i in range(nin)]
        layers = []
        for layer in model.layers:
            x = layer(x)
            layers.append(x)
        outputs.append(layers)
        terms.append((x[0] - 1.0) ** 2)
    loss = Value.sum(terms)
    loss.backward()
    return loss, outputs


@needs_renderer
@settings(max_examples=15)      # each example is laid out and rendered
@given(nin=st.integers(1, 3), widths=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       samples=st.integers(1, 3), rankdir=st.sampled_from(["LR", "TB"]), focus=st.booleans(),
       seed=st.integers(0, 3), labels=st.sampled_from(["local", "flow", "both"]))
def test_any_collapsed_mlp_batch_keeps_its_order_and_boxes(nin, widths, samples, rankdir,
                                                           focus, seed, labels):
    loss, outputs = _mlp_batch(nin, widths, samples, seed)
    graph = draw_graph(loss, collapse=True, rankdir=rankdir, max_edges=1000,
                       focus="L1.N1.w1" if focus else None, edge_labels=labels)
    check_order_and_boxes(graph, loss, outputs, rankdir)


@needs_renderer
@pytest.mark.parametrize("case", ["one sample", "seed neuron", "seed neuron TB",
                                  "two samples, tanh, slide"])
def test_collapsed_drawings_have_no_overlapping_nodes_and_boxes_around_their_neurons(case):
    if case == "one sample":
        root, options = mlp_441(1)[1], {}
    elif case.startswith("seed neuron"):
        root, options = seed_neuron(), {"edge_labels": "both", "rankdir": case[12:] or "LR"}
    else:
        root, options = mlp_loss()[1], {"preset": "slide", "edge_labels": "flow"}
    graph = draw_graph(root, collapse=True, **options)
    nodes, boxes = rendered(graph)
    drawn = list(nodes.values())
    assert not any(overlap(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:])
    neurons = [k for k, t in node_texts(graph.source).items() if "(w.x + b)" in t]
    assert neurons and all(any(inside(nodes[k], b) for b in boxes) for k in neurons)
    assert len(boxes) == len(box_titles(graph.source))


def check_full_view_order(graph, loss, outputs, rankdir):
    """In the rendered full view ``graph`` of ``loss`` (``outputs``: per sample, per layer,
    the neuron outputs): the inputs of each sample in order; in every layer the neurons in
    order, each neuron's linear node, its activation and the parameters it alone reads after
    those of the neuron before; the inputs and neurons of each sample after those of the
    sample before; no node over another."""
    nodes, _ = rendered(graph)
    order = drawing_order(loss)
    key = {v: f"v{k}" for k, v in enumerate(order)}
    across = 1 if rankdir == "LR" else 0        # neurons stack down (LR) or rightwards (TB)

    def span(values):
        boxes = [nodes[key[v]] for v in values if key[v] in nodes]
        return min(b[across] for b in boxes), max(b[across + 2] for b in boxes)

    readers = {}
    for v in order:
        for p in v.operands:
            readers.setdefault(p, set()).add(v)
    blocks = []
    for layers in outputs:
        first = layers[0][0]
        linear = first if first.op.name == "linear" else first.operands[0]
        inputs = linear.operands[len(linear.operands) // 2:-1]
        starts = [span([x])[0] for x in inputs]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        blocks.append(span(list(inputs) + [out for layer in layers for out in layer]))
        for layer in layers:
            parts = []
            for out in layer:
                z = out if out.op.name == "linear" else out.operands[0]
                own = [p for p in z.operands if p.is_leaf() and readers[p] == {z}
                       and p.label.startswith("L")]
                parts.append([out, z] + (own if len(outputs) == 1 else []))
            spans = [span(values) for values in parts]
            assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), spans
    assert all(a[1] < b[0] for a, b in zip(blocks, blocks[1:])), blocks
    drawn = list(nodes.values())
    assert not any(overlap(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:])


@needs_renderer
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("labels", ["local", "flow"])
def test_the_full_view_of_a_4_4_1_network_keeps_inputs_and_neurons_in_order(labels, rankdir):
    loss, outputs = mlp_441_layer_by_layer(1)
    graph = draw_graph(loss, edge_labels=labels, rankdir=rankdir)
    assert "layout=neato" in graph.source      # pinned: no layout program reorders them
    check_full_view_order(graph, loss, outputs, rankdir)


@needs_renderer
@settings(max_examples=12)      # each example is laid out and rendered
@given(nin=st.integers(1, 3), widths=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       samples=st.integers(1, 3), rankdir=st.sampled_from(["LR", "TB"]),
       seed=st.integers(0, 3), labels=st.sampled_from(["local", "flow", "both"]))
# three inputs beside a one-neuron layer reach past the sample's neurons
@example(nin=3, widths=[1, 1], samples=3, rankdir="LR", seed=0, labels="local")
def test_any_full_mlp_view_keeps_its_order(nin, widths, samples, rankdir, seed, labels):
    loss, outputs = _mlp_batch(nin, widths, samples, seed)
    graph = draw_graph(loss, rankdir=rankdir, max_edges=1000, max_nodes=1000,
                       edge_labels=labels)
    check_full_view_order(graph, loss, outputs, rankdir)


@pytest.mark.parametrize("labels, rankdir", [("flow", "LR"), ("both", "TB")])
def test_the_full_view_of_an_mlp_keeps_one_layout_in_a_trace_and_a_worksheet(labels, rankdir):
    from micrograd_nn.viz.trace import trace_graphs
    loss = mlp_441(1)[1]
    frames = [pinned(g.source) for _, g in trace_graphs(loss, edge_labels=labels,
                                                         rankdir=rankdir)]
    assert len(frames) > 2 and len(frames[0]) > 60
    assert all(frame == frames[0] for frame in frames)      # forks sized for their sums
    for exercise in ("grads", "both"):
        sheet = pinned(draw_graph(loss, exercise=exercise, edge_labels=labels,
                                  legend=True).source)
        key = pinned(draw_graph(loss, exercise=exercise, edge_labels=labels, answer_key=True,
                                legend=True).source)
        sheet.pop("legend"), key.pop("legend")      # the key's legend explains the sums too
        assert sheet == key


@needs_renderer
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_the_parameters_samples_share_have_a_column_of_their_own_in_order(rankdir):
    model, loss = mlp_loss()
    nodes, _ = rendered(draw_graph(loss, rankdir=rankdir))
    order = drawing_order(loss)
    key = {v: f"v{k}" for k, v in enumerate(order)}
    along, across = (0, 1) if rankdir == "LR" else (1, 0)
    for layer in model.layers:
        params = [p for n in layer.neurons for p in list(n.w) + [n.b]]   # N1.w1, ..., N1.b, N2.w1
        boxes = [nodes[key[p]] for p in params]
        starts = [b[across] for b in boxes]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        line = {(b[along] + b[along + 2]) / 2 for b in boxes}
        assert max(line) - min(line) < 1        # one column,
        others = [b for k, b in nodes.items() if k not in {key[p] for p in params}]
        assert not any(b[along] < min(line) < b[along + 2] for b in others)    # theirs alone
        readers = [f"op{k}" for k, v in enumerate(order) if set(v.operands) & set(params)]
        assert len(readers) == 2 * len(layer.neurons)       # each neuron on 2 samples
        assert all(max(line) < nodes[k][along] for k in readers)   # before its readers


def test_the_full_view_pins_only_graphs_of_several_neurons():
    assert "layout=neato" not in draw_graph(seed_neuron()).source
    assert "layout=neato" not in draw_graph(seed_neuron(fused=False)).source
    assert "layout=neato" in draw_graph(mlp_441(1)[1]).source
    # several samples: each sample's neurons in order, the shared parameters in their columns
    assert "layout=neato" in draw_graph(mlp_loss()[1]).source


def test_collapsed_positions_are_pinned_in_drawing_order():
    loss, outputs = mlp_441_layer_by_layer(2)
    source = draw_graph(loss, collapse=True, focus="L1.N2.w1").source
    assert "layout=neato" in source and "splines=false" in source
    at = pinned(source)
    key = {v: f"v{k}" for k, v in enumerate(drawing_order(loss))}
    for layers in outputs:
        for layer in layers:     # LR: N1 on top, y decreasing downwards
            ys = [at[key[v]][1] for v in layer]
            assert ys == sorted(ys, reverse=True) and len(set(ys)) == len(ys)
    assert at[key[outputs[0][0][0]]][1] > at[key[outputs[1][0][0]]][1]


def test_one_weight_across_samples_shows_each_contribution_and_their_sum():
    model, loss = mlp_441(4)
    w = model.layers[0].neurons[1].w[0]
    assert w.label == "L1.N2.w1"
    graph = draw_graph(loss, focus="L1.N2.w1", edge_labels="flow")
    source, digits = graph.source, graph.digits
    key = next(k for k, t in node_texts(source).items() if "L1.N2.w1" in t)
    arrows = [label for tail, _, label, _ in edges_of(source) if tail == key]
    assert len(arrows) == 4             # one per sample, in order
    contributions = [float(label.rsplit(" = ", 1)[-1]) for label in arrows]
    fork = re.search(r"grad = (.*?) = (\S+)", node_texts(source)[key])
    assert float(fork.group(2)) == float(fmt(w.grad, digits))
    assert math.isclose(sum(contributions), w.grad, rel_tol=1e-3, abs_tol=1e-6)
    # each contribution is that sample's own d loss_k / d w1
    for k, c in enumerate(contributions):
        model_k, _ = mlp_441(1)
        x, y = [([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0)][k]
        model_k.zero_grad()
        ((model_k(x) - y) ** 2).backward()
        assert fmt(c, digits) == fmt(model_k.layers[0].neurons[1].w[0].grad, digits)
    assert draw_graph(loss, focus=w, edge_labels="flow").source == source


def test_neurons_are_named_by_layer_and_index_in_the_full_view_too():
    model, loss = mlp_441(1)
    texts = " ".join(node_texts(draw_graph(loss).source).values())
    for name in ("L1.N1", "L1.N4", "L2.N3", "L3.N1", "L1.N2.z"):
        assert name in texts
    assert not re.search(r"\bv\d+\b", texts)      # no anonymous v<k> names left


def test_unlabelled_neurons_are_numbered_in_their_layer_per_sample():
    def net(xs):
        hidden = [Value.linear([Value(0.1 * i), Value(0.2)], xs, Value(0.0)).relu()
                  for i in range(3)]
        return Value.linear([Value(1.0)] * 3, hidden, Value(0.0))

    one = net([Value(1.0), Value(2.0)])
    two = Value.sum([one, net([Value(3.0), Value(4.0)])])
    for root, samples in ((one, 1), (two, 2)):
        topo = drawing_order(root)
        names = [n.name for n in Structure(topo, root).neurons]
        assert names == ["L1.N1", "L1.N2", "L1.N3", "L2.N1"] * samples


@needs_renderer
def test_a_notebook_shows_parameters_coloured_without_params():
    bundle = repr_mimebundle(seed_neuron())
    assert ROLE_COLORS["parameter"] in bundle["image/svg+xml"]


@pytest.mark.parametrize("activation", [a for a in micrograd_nn.nn.ACTIVATIONS if a != "linear"])
def test_collapse_knows_every_activation_nn_offers(activation):
    from micrograd_nn.nn import MLP
    # the diagram finds activations by the engine Op's name, which is nn's name for them
    assert getattr(Value(0.3), activation)().op.name == activation
    model = MLP(2, [2, 1], activation=activation, seed=1)
    out = model([0.5, -1.0])
    out.backward()
    texts = node_texts(draw_graph(out, collapse=True, params=model).source).values()
    assert sum(f"{activation}(w.x + b), 2 inputs" in t for t in texts) == 2
    assert sum("w.x + b, 2 inputs" in t and "(w.x" not in t for t in texts) == 1   # linear output


def test_draw_network_edges_are_weights_coloured_by_sign():
    model, loss = mlp_loss()
    source = draw_network(model).source
    edges = edges_of(source)
    weights = [w for layer in model.layers for n in layer.neurons for w in n.w]
    assert len(edges) == len(weights) == 2 * 3 + 3
    from micrograd_nn.viz.network import NEGATIVE, POSITIVE
    # the sign colours are not the gradients' red
    assert len({POSITIVE, NEGATIVE, GRAD_INK}) == 3
    for (_, _, _, attrs), w in zip(edges, weights):
        assert (POSITIVE if w.data >= 0 else NEGATIVE) in attrs
        assert f"dloss/dw = {fmt(w.grad)}" in attrs        # the tooltip
    heads = re.findall(r"^\t\w+(?::\w+)? -> (\w+:\w+:\w)", source, re.M)
    assert heads == [f"L{li}N{ni}:w{k}:w" for li, layer in enumerate(model.layers, start=1)
                     for ni, neuron in enumerate(layer.neurons, start=1)
                     for k in range(1, len(neuron.w) + 1)]    # each at its weight's row
    assert "outputorder=edgesfirst" in source       # under the boxes
    texts = node_texts(source)
    for li, layer in enumerate(model.layers, start=1):    # each neuron lists its weights
        for ni, neuron in enumerate(layer.neurons, start=1):
            text = " ".join(texts[f"L{li}N{ni}"].split())
            assert text.startswith(f"L{li}.N{ni} w grad w1 {fmt(neuron.w[0].data)} "
                                   f"{fmt(neuron.w[0].grad)}")
    assert draw_graph(model).source == source   # a model given to draw_graph
    with pytest.raises(TypeError, match="layers"):
        draw_network(object())
    with pytest.raises(ValueError, match="max_nodes"):
        draw_network(model, max_nodes=3)


def pinned(source: str) -> dict:
    return {key: tuple(map(float, pos.split(",")))
            for key, pos in re.findall(r'^\t(\w+) \[.*pos="([-\d.]+,[-\d.]+)!"', source, re.M)}


def test_draw_network_keeps_neurons_in_order_and_arrows_between_layer_boxes():
    from micrograd_nn.nn import MLP
    model = MLP(2, [4, 4, 1], seed=1)
    for rankdir, across, along in (("LR", 1, 0), ("TB", 0, 1)):
        source = draw_network(model, rankdir=rankdir).source
        assert "layout=neato" in source     # positions are pinned: nothing reorders them
        at = pinned(source)
        for li in (1, 2):
            coords = [at[f"L{li}N{ni}"] for ni in range(1, 5)]
            # N1 first: top to bottom (LR), left to right (TB)
            steps = [a[across] - b[across] for a, b in zip(coords, coords[1:])]
            assert all(step > 0 for step in steps) if rankdir == "LR" else all(
                step < 0 for step in steps)
        # every arrow joins two neighbouring columns, straight, so it stays between the boxes
        for tail, head, _, _ in edges_of(source):
            assert at[head][along] != at[tail][along]
        assert "splines=false" in source


# ---- explain -----------------------------------------------------------------------------------


def test_explain_writes_the_tutorials_chain_rule_with_numbers():
    loss = seed_neuron()
    text = explain(loss, by_label(loss)["w1"])
    assert "path 1: loss -> yhat - y -> yhat -> z -> w1" in text
    for row in ("dloss/d(yhat - y) = 2*(yhat - y)  = -0.598866",
                "dyhat/dz          = yhat*(1-yhat) = 0.209773",
                "dz/dw1            = x1            = 1.5", "= product           =     "
                "            -0.1884"):
        assert row in text
    assert "= w1.grad = -0.1884" in text
    # the printed factors multiply to the printed product
    factors = [float(line.rsplit("= ", 1)[-1]) for line in text.splitlines()
               if line.startswith(("      dloss", "    * "))]
    assert fmt(math.prod(factors)) == "-0.1884"
    assert explain(loss, "w1") == text
    with pytest.raises(ValueError, match="labelled 'w9'"):
        explain(loss, "w9")


def test_explain_lists_contributing_paths_first_with_per_sample_subtotals():
    model, loss = mlp_441(4)
    w = model.layers[0].neurons[1].w[0]
    text = explain(loss, w, max_paths=16)
    blocks = text.split("\npath ")[1:]
    rows = [next(line for line in block.splitlines() if "= product" in line) for block in blocks]
    products = [float(row.split("=", 2)[2].strip().split(",")[0]) for row in rows]
    counted = [p != 0.0 and "counted as 0" not in row for p, row in zip(products, rows)]
    assert len(products) == 16 and any(counted) and not all(counted)
    assert counted == sorted(counted, reverse=True)       # every contributing path first
    subtotals = re.search(r"per sample: (.*)", text).group(1)
    numbers = [float(x) for x in re.findall(r"sample \d: (\S+?)(?:,|$)", subtotals)]
    assert re.findall(r"sample (\d)", subtotals) == ["1", "2", "3", "4"]
    assert sum(numbers) == pytest.approx(w.grad, rel=1e-4)
    # sample k's subtotal is d loss_k / d w for that sample's own loss
    for k, number in enumerate(numbers):
        alone, _ = mlp_441(1)
        alone.zero_grad()
        x, y = [([1.0, -0.5], 1.0), ([0.3, 0.8], -1.0), ([-0.7, 0.2], 1.0), ([0.5, 0.5], -1.0)][k]
        ((alone(x) - y) ** 2).backward()
        assert number == pytest.approx(alone.layers[0].neurons[1].w[0].grad, rel=1e-5, abs=1e-9)
    assert "path 1: loss -> (s1.L3.N1 - s1.y)**2 -> " in text     # samples s1, s2, ...; targets y


def sum_line(text):
    return float(re.search(r"sum over \d+ paths? = (\S+)", text).group(1))


@given(graphs)
def test_explain_sum_over_paths_equals_the_gradient(case):
    inputs, steps = case
    pool = build(inputs, steps)
    root = pool[-1]
    root.backward()
    for wrt in pool[:len(inputs)]:
        text = explain(root, wrt, max_paths=3) if wrt in set(drawing_order(root)) else None
        if text is None or "does not depend" in text or wrt is root:
            continue
        assert math.isclose(sum_line(text), wrt.grad, rel_tol=2e-3, abs_tol=1e-9)


def test_explain_caps_the_paths_listed_but_sums_them_all():
    x = Value(0.3, "x")
    y = x
    for _ in range(20):      # 2**20 paths
        y = y * 1.0 + y * 1.0
    y.label = "y"
    text = explain(y, x, max_paths=2)
    assert "There are 1048576 paths; those that contribute come first." in text
    assert text.count("path ") >= 2 and "path 3:" not in text
    assert "1048574 more paths not listed" in text
    assert sum_line(text) == pytest.approx(2.0 ** 20, rel=1e-3)   # printed to 4 digits
    assert "micrograd_nn.grad(y, [x]) = 1.049e+06" in text     # backward was not run


def test_explain_edge_cases():
    x, z = Value(2.0, "x"), Value(1.0, "z")
    y = x * x
    y.label = "y"
    y.backward()
    text = explain(y, x)
    assert "via operand 1 of y" in text and "via operand 2 of y" in text
    assert "= x.grad = 4" in text
    with pytest.raises(ValueError, match="not in the graph"):
        explain(y, z)
    assert explain(y, y).startswith("dy/dy = 1")
    with pytest.raises(TypeError):
        explain(y, 2.0)
    y.backward()   # leaves accumulate: x.grad is now 8, the derivative still 4
    text = explain(y, x)
    assert "micrograd_nn.grad(y, [x]) = 4" in text and "x.grad holds 8" in text


# ---- backward step by step ---------------------------------------------------------------------


@given(graphs)
def test_trace_ends_with_the_gradients_backward_computes(case):
    inputs, steps = case
    root = build(inputs, steps)[-1]
    root.backward()
    frames = list(trace_backward(root))
    interior = [v for v in drawing_order(root) if not v.is_leaf()]
    assert len(frames) == 1 + len(interior)
    assert frames[0].grads == {root: 1.0} and frames[0].node is root
    last = frames[-1].grads
    for v in drawing_order(root):
        assert last.get(v, 0.0) == pytest.approx(v.grad, rel=1e-12, abs=1e-12)
    for frame in frames[1:]:   # a node passes its gradient on after every node that uses it
        assert all(frame.node not in f.node.operands for f in frames if f.step > frame.step)


def product_chain(n: int) -> Value:
    """x * c1 * c2 * ... * cn: 2n + 1 values, n steps of backward."""
    y = Value(0.5, "x")
    for _ in range(n):
        y = y * Value(1.0)
    return y


def test_trace_backward_refuses_a_graph_past_max_nodes_before_any_step():
    y = product_chain(200)   # 401 values
    with pytest.raises(DiagramTooLarge, match="401 values, more than max_nodes=250"):
        trace_backward(y)    # raised by the call itself, before a frame is made
    assert len(list(trace_backward(y, max_nodes=401))) == 201
    with pytest.raises(DiagramTooLarge, match="max_nodes=400"):
        trace_backward(y, max_nodes=400)


def _peak_bytes_of_all_frames(root: Value) -> int:
    import tracemalloc
    tracemalloc.start()
    try:
        frames = list(trace_backward(root, max_nodes=10**6))
        assert frames[-1].grads[root] == 1.0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_all_frames_of_a_trace_take_memory_linear_in_the_graph():
    """Each frame's gradients are a view of one shared record, not a copy (n squared)."""
    small, large = (_peak_bytes_of_all_frames(product_chain(n)) for n in (400, 800))
    assert large < 2.5 * small, (small, large)


@pytest.mark.parametrize("write", [trace_html, micrograd_nn.explore_html])
@pytest.mark.parametrize("title", [["a title"], b"bytes", 3])
def test_a_page_title_that_is_not_text_is_a_type_error(write, title, tmp_path):
    x = Value(2.0, "x")
    y = x * x
    y.label = "y"
    with pytest.raises(TypeError, match=f"title must be a str or None, got {type(title).__name__}"):
        write(y, tmp_path / "page.html", title=title)
    assert list(tmp_path.iterdir()) == []


def zero_times_infinity():
    """y = sqrt(x) * c at x = c = 0: dy/dsqrt(x) = 0, dsqrt(x)/dx = inf; backward gives 0."""
    x, c = Value(0.0, "x"), Value(0.0, "c")
    y = (x ** 0.5) * c
    y.label = "y"
    y.backward()
    assert x.grad == 0.0 and c.grad == 0.0 and math.isinf((x ** 0.5).local_grads[0])
    return x, c, y


def test_trace_follows_backward_where_a_zero_gradient_meets_an_infinite_derivative():
    x, c, y = zero_times_infinity()
    last = list(trace_backward(y))[-1].grads
    for v in drawing_order(y):
        assert last[v] == v.grad      # exactly, 0 not nan
    assert last[x] == 0.0


def test_explain_agrees_with_backward_where_a_zero_gradient_meets_an_infinite_derivative():
    x, c, y = zero_times_infinity()
    text = explain(y, "x")
    assert sum_line(text) == x.grad == micrograd_nn.grad(y, [x])[0] == 0.0
    assert "= x.grad = 0 (filled by y.backward())" in text
    assert "nan, counted as 0: dy/d(x**0.5) = 0 and backward passes nothing on from x**0.5" in text
    assert sum_line(explain(y, "c")) == c.grad == 0.0


_KINKS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "relu": lambda a, b: a.relu(),
          "sqrt": lambda a, b: a.abs() ** 0.5, "zero": lambda a, b: a * 0.0}


@given(st.lists(st.sampled_from([0.0, 1.0, -2.0]), min_size=1, max_size=3),
       st.lists(st.tuples(st.sampled_from(sorted(_KINKS)), st.integers(0, 50),
                          st.integers(0, 50)), min_size=1, max_size=8))
@example([0.0], [("sqrt", 0, 0), ("mul", 0, 1)])   # x*sqrt(|x|) at 0: 0 * inf on one path
# x + sqrt(|x|)**2 at x = -2 is 4.4e-16 instead of 0, so the last sqrt's derivative is 2.4e7 and
# its paths (1 and twice about -1/2) cancel to rounding noise, -5.3e-9 summed as paths and
# -3.7e-9 by backward: both right to within eps times the paths' absolute sum, 4.7e7
@example([-2.0], [("sqrt", 33, 39), ("mul", 13, 25), ("mul", 41, 11), ("add", 32, 46),
                  ("sqrt", 49, 19)])
def test_explain_agrees_with_backward_on_graphs_with_zeros_and_infinite_derivatives(inputs, steps):
    pool = [Value(x, f"x{k}") for k, x in enumerate(inputs)]
    for step, i, j in steps:     # sqrt at 0 has the local derivative inf; relu and *0 give zeros
        pool.append(_KINKS[step](pool[i % len(pool)], pool[j % len(pool)]))
    root = pool[-1]
    root.backward()
    graph = set(drawing_order(root))
    for wrt in pool[:len(inputs)]:
        if wrt is root or wrt not in graph:
            continue
        shown = re.search(r"sum over \d+ paths? = (\S+)", explain(root, wrt, max_paths=0))[1]
        total, backward = float(shown), wrt.grad
        assert (math.isnan(total) and math.isnan(backward)) or within_rounding(
            shown, backward, root, wrt)


def within_rounding(shown: str, backward: float, root: Value, wrt: Value) -> bool:
    """Whether the sum over paths, as explain shows it, and backward's gradient differ by no
    more than rounding can.

    Both add the same path products in different orders, each product and each addition
    rounding by at most eps relatively. So they can differ by up to about n * eps * sum |path|,
    n the number of roundings on the way (at most the graph's nodes plus edges): relative to the
    paths' absolute sum, not to the result, which cancellation can make as small as it likes.
    Showing the sum rounded to its last digit adds half a unit of that digit."""
    from decimal import Decimal
    total = float(shown)
    if not math.isfinite(total):
        return total == backward
    last_digit = float(Decimal(1).scaleb(Decimal(shown).as_tuple().exponent)) / 2
    order = topological_order(root)
    scale = {root: 1.0}     # d root / d v summed over paths with every factor taken positive
    for v in reversed(order):
        if scale.get(v, 0.0) == 0.0:
            continue        # zero wins, as in backward: nothing flows on from here
        for operand, local in zip(v.operands, v.local_grads):
            if local != 0.0:
                scale[operand] = scale.get(operand, 0.0) + scale[v] * abs(local)
    roundings = len(order) + sum(len(v.operands) for v in order)
    bound = roundings * sys.float_info.epsilon * scale.get(wrt, 0.0) + last_digit
    return total == backward or abs(total - backward) <= bound


@needs_renderer
def test_trace_html_is_one_self_contained_page(tmp_path):
    loss = seed_neuron()
    path = trace_html(loss, tmp_path / "trace.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 5 and page.count('class="frame"') == 5
    assert 'id="prev"' in page and 'id="next"' in page and "<script>" in page
    assert "src=" not in page and not re.search(r'href="https?:', page)
    assert "step 4: z has its gradient dloss/dz = -0.1256" in page
    # captions give the results, not only the products
    assert "dloss/dw1 += -0.1256 * 1.5 = -0.1884, now -0.1884" in page
    # without JavaScript every frame shows: only the script's "js" class hides frames
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"^\.js \.frame \{ display: none; \}$", css, re.M)
    assert not re.search(r"^\.frame \{[^}]*display: none", css, re.M)
    assert 'document.body.classList.add("js")' in page and "<noscript>" in page
    svgs = trace_svgs(loss, tmp_path / "steps")
    assert [p.name for p in svgs] == [f"step_{k:03d}.svg" for k in range(5)]
    ET.parse(svgs[-1])


@needs_renderer
@pytest.mark.parametrize("edge_labels", ["local", "flow"])
def test_trace_frames_share_one_layout(edge_labels):
    from micrograd_nn.viz.trace import trace_graphs
    loss = seed_neuron()
    graphs = [graph for _, graph in trace_graphs(loss, edge_labels=edge_labels)]
    sizes = {re.search(r'<svg width="[^"]+" height="[^"]+"', pipe(g, "svg").decode()).group(0)
             for g in graphs}
    assert len(sizes) == 1          # every frame as wide and high as the others
    boxes = [node_geometry(g) for g in graphs]
    assert all(b == boxes[0] for b in boxes)    # and every box where it was
    if edge_labels == "flow":       # what an arrow carried back appears once it has been sent
        first, last = graphs[1].source, graphs[-1].source
        assert "-0.125626 \u00d7 1.5 = -0.1884" not in first
        assert "-0.125626 \u00d7 1.5 = -0.1884" in last


def test_the_legend_has_an_entry_for_every_colour_used():
    from micrograd_nn.viz.trace import trace_graphs
    neutral = {"#222222", "#444444", "#555555", "#777777", "#999999", "white", "#ffffff"}
    model, loss = mlp_loss()
    x = Value(-2.0, "x")
    dead = ((x * 0.5).relu() + x) * 1.0
    dead.backward()
    drawings = [draw_graph(seed_neuron(fused=False), highlight="w1"),
                draw_graph(seed_neuron(), edge_labels="both", exercise="grads", legend=True),
                draw_graph(dead, edge_labels="flow"),
                draw_graph(loss, collapse=True, focus="L1.N1.w1", edge_labels="flow"),
                *[graph for _, graph in trace_graphs(seed_neuron())][:3]]
    for graph in drawings:
        legend = re.search(r"^\t+legend \[.*$", graph.source, re.M).group(0)
        rest = graph.source.replace(legend, "")
        used = {c.lower() for c in re.findall(r'(?:COLOR|color|fillcolor)="?(#[0-9a-fA-F]{6}|'
                                              r'white)', rest)}
        shown = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}", legend)}
        assert used - neutral <= shown, (used - neutral - shown, graph.source[:200])


def test_the_slide_preset_is_large_top_to_bottom_and_compact():
    source = draw_graph(seed_neuron(), preset="slide").source
    assert "rankdir=TB" in source and "fontsize=22" in source and 'size="16,9!"' in source
    assert "legend" not in source       # a slide has the talk beside it
    normal = draw_graph(seed_neuron(), rankdir="TB").source
    legend = lambda s: re.search(r"^\t+legend \[.*$", s, re.M).group(0)   # noqa: E731
    asked = draw_graph(seed_neuron(), preset="slide", legend=True).source
    assert len(legend(asked)) < len(legend(normal))             # compact
    assert "rankdir=LR" in draw_graph(seed_neuron(), preset="slide", rankdir="LR").source
    with pytest.raises(ValueError, match="preset"):
        draw_graph(seed_neuron(), preset="poster")


# ---- rendering ---------------------------------------------------------------------------------


@needs_renderer
def test_svg_output_has_every_node_and_label(tmp_path):
    loss = seed_neuron()
    graph = draw_graph(loss, params=SEED_PARAMETERS)
    path = render(graph, tmp_path / "seed.svg")
    assert path == tmp_path / "seed.svg"
    tree = ET.parse(path)
    titles = [t.text for t in tree.iter(f"{SVG_NS}title")]
    keys = set(re.findall(r"^\t+(\w+) \[label", graph.source, re.M))
    assert keys <= set(titles)
    texts = {t.text for t in tree.iter(f"{SVG_NS}text")}
    assert {"dz/dw1 = x1 = 1.5", "grad -0.1884", "loss", "legend"} <= texts
    assert not list(tmp_path.glob(".*tmp"))


@needs_renderer
def test_png_and_dot_by_suffix_and_atomic_replace(tmp_path):
    graph = draw_graph(seed_neuron())
    png = render(graph, tmp_path / "seed.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dot = tmp_path / "seed.dot"
    dot.write_text("old")
    render(graph, dot)
    assert dot.read_text() == graph.source
    render(graph, tmp_path / "seed.gv")
    assert render(graph, tmp_path / "noext", format="svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="suffix"):
        render(graph, tmp_path / "seed.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext", "seed.dot", "seed.gv",
                                                          "seed.png"]


def hide_renderers(monkeypatch, tmp_path):
    monkeypatch.delenv("MICROGRAD_NN_DOT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(render_module.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(render_module.sys, "executable", str(tmp_path / "python"))


def test_missing_renderer_says_how_to_get_one_and_dot_still_works(monkeypatch, tmp_path):
    hide_renderers(monkeypatch, tmp_path)
    graph = draw_graph(seed_neuron())
    with pytest.raises(RendererNotFoundError) as error:
        render(graph, tmp_path / "x.svg")
    assert isinstance(error.value, RuntimeError)
    message = str(error.value)
    assert "pip install graphviz-pure" in message and "apt install graphviz" in message
    assert "x.dot" in message
    assert not (tmp_path / "x.svg").exists()
    assert render(graph, tmp_path / "x.dot").read_text() == graph.source
    # Jupyter display degrades to text instead of raising
    bundle = repr_mimebundle(seed_neuron())
    assert set(bundle) == {"text/plain"} and "no picture" in bundle["text/plain"]


def test_renderer_found_in_the_scripts_directory_when_not_on_path(monkeypatch, tmp_path):
    if os.name == "nt":
        pytest.skip("uses a shell script as a stand-in renderer")
    hide_renderers(monkeypatch, tmp_path)
    fake = tmp_path / "graphviz-pure"
    fake.write_text("#!/bin/sh\necho 'Error: bad layout' >&2\nexit 3\n")
    fake.chmod(0o755)
    assert find_renderer() == str(fake)
    with pytest.raises(RenderError, match="exit code 3: Error: bad layout"):
        render(draw_graph(seed_neuron()), tmp_path / "x.svg")
    assert not (tmp_path / "x.svg").exists() and not list(tmp_path.glob(".x.svg*"))
    monkeypatch.setenv("MICROGRAD_NN_DOT", str(tmp_path / "nothing-here"))
    with pytest.raises(RendererNotFoundError, match="MICROGRAD_NN_DOT"):
        find_renderer()


@needs_renderer
def test_jupyter_display_of_values_and_diagrams():
    loss = seed_neuron()
    bundle = repr_mimebundle(loss)
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert bundle["text/plain"] == repr(loss)
    graph = draw_graph(loss)
    assert isinstance(graph, Diagram) and "image/svg+xml" in graph._repr_mimebundle_()
    assert graph.pipe(format="png")[:4] == b"\x89PNG"
    assert repr_mimebundle(loss, include=["text/plain"]) == {"text/plain": repr(loss)}
    assert set(repr_mimebundle(loss, include=["image/png"])) == {"image/png", "text/plain"}
    big = chain(1000)
    assert set(repr_mimebundle(big)) == {"text/plain"}   # too big: the repr, not a hang


@needs_renderer
def test_diagram_render_method_works_without_a_system_dot(tmp_path):
    graph = draw_graph(seed_neuron())
    picture = graph.render(tmp_path / "seed", format="png")
    assert picture == str(tmp_path / "seed.png") and (tmp_path / "seed").read_text() == graph.source
    assert pathlib.Path(picture).read_bytes()[:4] == b"\x89PNG"
    graph.render(tmp_path / "other.gv", cleanup=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.gv.svg", "seed", "seed.png"]
    assert graph.render(outfile=tmp_path / "out.svg") == str(tmp_path / "out.svg")
    with pytest.raises(ValueError, match="view"):
        graph.render(tmp_path / "x", view=True)


# ---- the expression reader and the graph command -----------------------------------------------


def test_parse_expr_builds_the_value():
    names = {n: Value(x, n) for n, x in (("x", 1.5), ("w", 0.25), ("b", 0.1))}
    out = parse_expr("(x*w + b).sigmoid()", names)
    assert out.data == pytest.approx(1 / (1 + math.exp(-(1.5 * 0.25 + 0.1))))
    assert parse_expr("-x ** 2 / 2 - +b", names).data == pytest.approx(-1.125 - 0.1)
    assert parse_expr("(2*x).tanh().exp().log().relu().abs().sqrt().softplus()",
                      names).data > 0
    assert parse_expr("2 ** 3", {}) == 8.0


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "not allowed"),
    ("x.data", "attribute"),
    ("x.__class__", "attribute"),
    ("lambda: 1", "Lambda"),
    ("x if x else w", "IfExp"),
    ("x[0]", "Subscript"),
    ("x < w", "Compare"),
    ("sigmoid(x)", "as a method"),
    ("x.tanh(2)", "takes none"),
    ("x.backward()", "not allowed"),
    ("'text'", "only numbers"),
    ("True", "only numbers"),
    ("1j", "only numbers"),
    ("x // w", "FloorDiv"),
    ("x @ w", "MatMult"),
    ("not x", "Not"),
    ("y + 1", "unknown name 'y'"),
    ("x +", "cannot parse"),
    ("", "empty"),
    ("9.0 ** 9 ** 9", "cannot compute"),
    ("x / 0", "cannot compute"),
    ("(-8) ** 0.5", "not a real number"),
    ("(" * 300 + "x" + ")" * 300, "nested|cannot parse"),
    ("x" + "+x" * 1200, "at most"),
])
def test_parse_expr_refuses_everything_else(text, message):
    names = {"x": Value(1.5, "x"), "w": Value(0.5, "w")}
    with pytest.raises(ValueError, match=message) as error:
        parse_expr(text, names)
    # refused text is an ExpressionError; arithmetic the engine refuses is a plain ValueError
    arithmetic = message in ("cannot compute", "not a real number")
    assert isinstance(error.value, ExpressionError) is not arithmetic


def test_an_engine_error_worded_like_a_refusal_is_still_reported_as_arithmetic(monkeypatch):
    def refuse(self):
        raise ValueError("not allowed: a message that only looks like a refusal")
    monkeypatch.setattr(Value, "sqrt", refuse)
    with pytest.raises(ValueError, match="cannot compute 'x.sqrt\\(\\)'") as error:
        parse_expr("x.sqrt()", {"x": Value(2.0, "x")})
    assert not isinstance(error.value, ExpressionError)


@pytest.mark.parametrize("items, message", [
    (["x"], "NAME=NUMBER"), (["x="], "NAME=NUMBER"), (["=1"], "NAME=NUMBER"),
    (["1x=2"], "not a valid name"), (["x=abc"], "not a number"), (["x=1", "x=2"], "twice"),
    (["x=nan"], "finite"), (["tanh=1"], "method"),
])
def test_bad_set_syntax_is_a_clear_error(items, message):
    with pytest.raises(ValueError, match=message):
        parse_assignments(items)
    assert parse_assignments(["x=1.5", " w = -2e-1 "]) == {"x": 1.5, "w": -0.2}


def graph_args(*argv):
    return build_parser().parse_args(["graph", *argv])


def test_graph_command_writes_dot_for_the_seed_and_for_an_expression(tmp_path, capsys):
    [path] = run_graph(graph_args("--out", str(tmp_path / "seed.dot")))
    assert path.read_text() == draw_graph(seed_neuron(), params=SEED_PARAMETERS).source
    [path] = run_graph(graph_args("--expr", "(x*w + b).sigmoid()", "--set", "x=1.5", "w=0.25",
                                  "b=0.1", "--out", str(tmp_path / "f"), "--format", "dot",
                                  "--explain", "w"))
    assert path.name == "f.dot"
    source = path.read_text()
    assert "d(x*w)/dw = x = 1.5" in source and "<B>out</B>" in source
    assert "dout/dw = sum over 1 path = 0.3546" in capsys.readouterr().out
    # the output is never named after one of its inputs
    args = build_parser().parse_args(["graph", "--expr", "(a*b + c)*f", "--set", "a=2", "b=-3",
                                      "c=10", "f=-2", "--out", str(tmp_path / "f.dot")])
    run_graph(args)
    source = (tmp_path / "f.dot").read_text(encoding="utf-8")
    assert "<B>out</B>" in source and "df/df" not in source and "dout/df" in source


@pytest.mark.parametrize("argv, message", [
    (["--set", "x=1"], "pass --expr"),
    (["--expr", "x + q", "--set", "x=1"], "unknown name 'q'"),
    (["--expr", "2 + 3"], "no name"),
    (["--highlight", "nobody", "--out", "x.dot"], "no value of the graph"),
    (["--out", "x.pdf"], "suffix"),
    (["--out", "x.png", "--format", "svg"], "suffix .png"),
    (["--answer-key", "--out", "x.dot"], "--answer-key fills in the blanks of a worksheet: pass "
                                         "--exercise too"),
    (["--params", "w1", "zz", "--out", "x.dot"], "--params zz: no value of the graph is labelled"),
    (["--expr", "x*w", "--set", "x=1", "w=2", "--params", "b", "--out", "x.dot"],
     "--params b: no value"),
])
def test_graph_command_reports_arguments_that_cannot_work(argv, message, tmp_path):
    with pytest.raises(ValueError, match=re.escape(message)):   # the CLI reports it as usage
        run_graph(graph_args(*argv))


def test_graph_command_params_colour_the_values_named(tmp_path):
    [path] = run_graph(graph_args("--expr", "x*w + b", "--set", "x=1", "w=2", "b=3",
                                  "--params", "w", "b", "--out", str(tmp_path / "f.dot")))
    assert path.read_text().count(ROLE_COLORS["parameter"]) == 2 + 1   # w, b and the legend


def test_python_m_micrograd_nn_graph_end_to_end(tmp_path):
    import subprocess
    done = subprocess.run([sys.executable, "-m", "micrograd_nn", "graph", "--out",
                           str(tmp_path / "g.dot"), "--exercise", "grads"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    sheet = (tmp_path / "g.dot").read_text()
    assert "grad ________" in sheet and "rankdir=TB" in sheet     # laid out for a page
    bad = subprocess.run([sys.executable, "-m", "micrograd_nn", "graph", "--expr",
                          "open('x')", "--set", "x=1"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and "not allowed" in bad.stderr and "Traceback" not in bad.stderr


@needs_renderer
def test_value_displays_as_its_diagram_in_jupyter():
    """IPython's own formatter shows a Value as its diagram once registered; Value itself is
    not patched (the engine knows nothing of Jupyter)."""
    from IPython.core.interactiveshell import InteractiveShell

    from micrograd_nn.viz.jupyter import register

    assert not hasattr(Value, "_repr_mimebundle_")
    assert register(InteractiveShell.instance()) is True
    bundle, _ = InteractiveShell.instance().display_formatter.format(seed_neuron())
    svg = ET.fromstring(bundle["image/svg+xml"].encode("utf-8"))
    assert "grad -0.1884" in {t.text for t in svg.iter(f"{SVG_NS}text")}


def test_graph_api_is_exported():
    import micrograd_nn.viz as viz
    for name in viz.__all__:
        assert hasattr(viz, name), name
    assert micrograd_nn.explain is explain and micrograd_nn.draw_graph is draw_graph
    # without backward, explain states its path sum equal to micrograd_nn.grad
    x, w = Value(1.5, "x"), Value(-0.5, "w")
    y = (x * w).tanh() + x * x
    y.label = "y"
    [dy_dx] = micrograd_nn.grad(y, [x])
    text = explain(y, x)
    assert f"micrograd_nn.grad(y, [x]) = {fmt(dy_dx)}" in text
    assert sum_line(text) == pytest.approx(dy_dx, rel=1e-3)


def test_values_without_a_models_labels_are_named_by_their_role_and_op():
    """Attention read off the graph: dot products k_t.q, scores score_t, their logsumexp,
    softmax weights a_t, the output a.v; no neuron, no layer, no sample, no v<k>, no
    <op>_<k>; a long expression is called by its op and place (diff_1)."""
    q = [Value(0.1 * j, f"q[{j}]") for j in range(2)]
    keys = [[Value(0.2 * t - 0.1 * j, f"k{t}[{j}]") for j in range(2)] for t in range(3)]
    values = [Value(0.3 * t, f"v{t}[0]") for t in range(3)]
    scores = [z * 0.7 for z in Value.matvec(keys, q)]      # scaled, as attention does
    lse = Value.logsumexp(scores)
    weights = [(z - lse).exp() for z in scores]
    out = Value.linear(values, weights)
    out.backward()
    order = drawing_order(out)
    structure = Structure(order, out)
    assert structure.neurons == [] and structure.parameters == set()
    source = draw_graph(out, collapse=True).source
    texts = " ".join(node_texts(source).values())
    for name in ("k0\u00b7q", "k2\u00b7q", "score0", "score2", "logsumexp(score)", "a0", "a2",
                 "log a1", "a\u00b7v"):
        assert name in texts
    assert "d(log a1)/dscore1 = 1" in texts and "d(a\u00b7v)/da0 = v0[0]" in texts
    assert not re.search(r"\b[a-z]+_\d+\b", texts)        # no <op>_<k>
    # unscaled, the dot products are the scores themselves
    direct = Value.matvec(keys, q)
    lse = Value.logsumexp(direct)
    top = (direct[0] - lse).exp()
    top.backward()
    assert Namer(drawing_order(top)).name(direct[1]) == "score1"
    assert not re.search(r"\bv\d+\b(?!\[)", texts)          # no internal names
    assert "sample" not in source and "layer" not in source and "w.x + b" not in source
    assert ">dot<" in source
    plain = " ".join(node_texts(draw_graph(top, collapse=True).source).values())
    assert "/d(0)" not in plain and "constant" not in plain.split("legend")[0]   # no bias
    # targets: an unlabelled constant subtracted from a neuron's output is y
    model, loss = mlp_loss()
    texts = " ".join(node_texts(draw_graph(loss, collapse=True).source).values())
    assert "s1.y" in texts and "s2.y" in texts
    a, b = Value(2.0, "a"), Value(3.0, "b")
    long = (a * b + a / b) - (a - b) * (b + a * a)
    assert Namer(drawing_order(long)).name(long) == "diff_1"


def test_role_names_are_given_only_where_the_role_is_there():
    """No role name for what only looks like one: a logsumexp that no softmax reads (a
    smooth maximum, cross-entropy), weights that meet the wrong vectors or entries, a dot
    product of entries that do not pair up, two softmaxes (each a0 would name two values)."""
    def names(root):
        order = drawing_order(root)
        namer = Namer(order)
        return {namer.name(v) for v in order if not v.is_leaf()}

    a, b, c, d = Value(1.0, "a"), Value(2.0, "b"), Value(3.0, "c"), Value(0.5, "d")
    role = re.compile(r"score|logsumexp\(score\)|\ba\d|a\u00b7|k0\u00b7q")
    assert names(Value.logsumexp([a * b, c * d])) == {"a*b", "c*d", "logsumexp(a*b, c*d)"}
    assert not any(role.search(n) for n in names(cross_entropy([a * b, c * d], 0)))
    v = [[Value(0.1 * t + j, f"v{t}[{j}]") for j in range(2)] for t in range(2)]
    w = softmax([a * b, c * d])
    assert "a0" in names(w[0]) and "score1" in names(w[0])
    for vectors in ([v[1][0], v[0][0]], [v[0][0], v[1][1]]):   # swapped; two entries
        assert "a\u00b7v" not in names(Value.linear(w, vectors))
    assert "a\u00b7v" in names(Value.linear(w, [v[0][1], v[1][1]]))
    k = [Value(1.0 + j, f"k0[{j}]") for j in range(2)]
    q = [Value(2.0 + j, f"q[{j}]") for j in range(2)]
    assert "k0\u00b7q" in names(Value.linear(k, q))
    for left, right in (([k[0], k[1]], [q[1], q[0]]), ([k[0], k[0]], [q[0], q[0]])):
        assert "k0\u00b7q" not in names(Value.linear(left, right))
    other = softmax([a * c, b * d])
    assert not any(role.search(n) for n in names(w[0] * other[0] + w[1] * other[1]))


def test_a_constant_subtracted_from_a_neuron_is_a_target_only_in_an_error():
    """y for (yhat - 1)**2, |yhat - 1| and d*d; a threshold (relu(yhat - 0.5)) keeps its
    number."""
    import random
    from micrograd_nn.nn import Neuron

    def names(root):
        order = drawing_order(root)
        namer = Namer(order, structure=Structure(order, root))
        return [namer.name(v) for v in order]

    neuron = Neuron(2, rng=random.Random(0))
    x = [1.0, 2.0]
    assert names((neuron(x) - 0.5).relu())[-3:] == ["0.5", "L1.N1 - 0.5", "relu(L1.N1 - 0.5)"]
    d = neuron(x) - 1.0
    for error in (d ** 2, d.abs(), d * d):
        assert "y" in names(error) and "L1.N1 - y" in names(error)


def test_the_attention_picture_names_every_value_by_its_role():
    from diagram_corpus import gpt_attention
    texts = " ".join(node_texts(gpt_attention().source).values())
    for t in range(3):
        for name in (f"k{t}[0]", f"v{t}[0]", f"k{t}\u00b7q", f"score{t}", f"log a{t}",
                     f"a{t}"):
            assert name in texts, name
    assert "q[0]" in texts and "logsumexp(score)" in texts and "head 0 output[0]" in texts
    assert "q2" not in texts and not re.search(r"\b[a-z]+_\d+\b", texts)


def test_a_highlight_writes_each_paths_product_and_their_sum_and_dims_the_rest():
    from micrograd_nn.viz.scene import DIM_INK
    loss = seed_neuron(fused=False)
    source = draw_graph(loss, highlight="w1").source
    texts = node_texts(source)
    w1 = next(t for t in texts.values() if "<B>w1</B>" in t or " w1 " in t.split("data")[0])
    assert "-0.598866 \u00d7 1 \u00d7 0.209773 \u00d7 1 \u00d7 1 \u00d7 1.5 = -0.1884" in w1
    assert "sum over 1 path = -0.1884 = dloss/dw1" in w1
    # x*x + x: three paths, their sum is the gradient
    x = Value(3.0, "x")
    out = x * x + x
    out.backward()
    notes = " ".join(node_texts(draw_graph(out, highlight=x).source).values())
    assert "sum over 3 paths = 7 = d(x*x + x)/dx" in notes
    for tail, head, label, attrs in edges_of(source):
        if label and "#7c3aed" not in attrs and HIGHLIGHT not in attrs:   # off the paths
            raw = re.search(rf"^\t{tail}\S* -> {head}\S* \[label=<(.*?)> ", source, re.M)
            assert raw and set(re.findall(r'COLOR="([^"]*)"', raw.group(1))) == {DIM_INK}


def test_the_legend_lists_only_what_the_picture_holds():
    legend = lambda s: re.search(r"^\t+legend \[.*$", s, re.M).group(0)   # noqa: E731
    x = Value(3.0, "x")
    out = x * x + x
    out.backward()
    assert "(\u00d72)" in legend(draw_graph(out).source)          # explained when drawn
    assert "(\u00d72)" not in legend(draw_graph(seed_neuron()).source)
    x = Value(-1.0, "x")
    dead = (x * 2).relu() + x.tanh() * 0
    dead.backward()
    assert "dead ReLU" in legend(draw_graph(dead).source)
    still = x.tanh() * 0
    still.backward()
    text = legend(draw_graph(still).source)
    assert "nothing flows back" in text and "ReLU" not in text     # no ReLU in the picture
    full = legend(draw_graph(mlp_441(1)[1]).source)
    assert "in an operation&#x27;s row" in full or "in an operation's row" in full
    assert "on an arrow" not in full


@needs_renderer
def test_worksheet_blanks_have_one_length_and_the_key_shows_the_working():
    loss = seed_neuron()
    for exercise in ("grads", "local", "both"):
        sheet = draw_graph(loss, exercise=exercise).source
        blanks = {len(b) for b in re.findall(r"_{4,}", sheet.split("legend [")[0])}
        assert len(blanks) == 1, blanks          # the length never hints at the answer
    key = " ".join(node_texts(draw_graph(loss, exercise="grads", answer_key=True).source)
                   .values())
    assert "grad -0.598866 \u00d7 0.209773 = -0.1256" in key      # z = its product
    assert "grad -0.125626 \u00d7 1.5 = -0.1884" in key            # w1
    # a value read by several arrows: the sum of their products (x of x*x + x: 3 + 3 + 1)
    x = Value(3.0, "x")
    out = x * x + x
    out.backward()
    for exercise in ("grads", "both"):
        key = " ".join(node_texts(draw_graph(out, exercise=exercise, answer_key=True).source)
                       .values())
        assert "grad 1 \u00d7 3 + 1 \u00d7 3 + 1 \u00d7 1 = 7" in key, key
        sheet = draw_graph(out, exercise=exercise)
        assert svg_shapes(sheet) == svg_shapes(draw_graph(out, exercise=exercise,
                                                          answer_key=True))


def test_the_compact_path_view_draws_only_the_paths_to_the_highlighted_value():
    loss = mlp_441(1)[1]
    full = draw_graph(loss, highlight="L1.N2.w1")
    compact = draw_graph(loss, highlight="L1.N2.w1", paths_only=True)
    texts = node_texts(compact.source)
    assert "L1.N1.w1" not in " ".join(texts.values())            # off the paths: gone
    assert len(texts) < len(node_texts(full.source)) / 2
    assert "sum over 4 paths = " in " ".join(texts.values())
    for tail, head, _, attrs in edges_of(compact.source):    # every arrow on a path
        assert HIGHLIGHT in attrs
    with pytest.raises(ValueError, match="highlight"):
        draw_graph(loss, paths_only=True)


def test_the_graph_command_draws_the_compact_path_view(tmp_path):
    args = build_parser().parse_args(["graph", "--highlight", "w1", "--paths-only",
                                      "--out", str(tmp_path / "p.dot")])
    run_graph(args)
    source = (tmp_path / "p.dot").read_text(encoding="utf-8")
    texts = " ".join(node_texts(source).values())
    assert "sum over 1 path = -0.1884 = dloss/dw1" in texts
    assert "<B>w1</B>" in source and "<B>x2</B>" not in source        # off the path: gone
