"""explore_html: the page's own evaluation of the graph agrees with the engine, in a real browser.

The browser tests drive headless Chromium through playwright: load the page, move a slider with
the mouse, and compare every value, gradient and local derivative the page shows with what the
engine computes for the same leaves. Without playwright or chromium they skip (they fail
under CI, see needs.py).
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from micrograd_nn import MLP, Value, explore_html, grad
import micrograd_nn.ops
from micrograd_nn import engine
from micrograd_nn.cli import main
from micrograd_nn.losses import hinge, l2
from micrograd_nn.viz import explore, seed_neuron
from micrograd_nn.viz.naming import drawing_order, fmt

from needs import chromium, watched_pages

TOL = 1e-12
ROOT = Path(__file__).resolve().parents[1]


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= TOL * max(1.0, abs(b))


# ---- graphs, as functions of their leaves (so the engine can recompute after a page change) ----

SEED = {"w1": 0.25, "w2": -0.75, "x1": 1.5, "x2": -0.5, "b": 0.1, "y": 1.0}


def seed_graph(w1, w2, x1, x2, b, y):
    """The tutorial's neuron, as viz.seed_neuron builds it (leaves in drawing order)."""
    leaves = [Value(w1, "w1"), Value(w2, "w2"), Value(x1, "x1"), Value(x2, "x2"), Value(b, "b")]
    z = Value.linear(leaves[:2], leaves[2:4], leaves[4])
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "yhat"
    loss = (yhat - Value(y, "y")) ** 2
    loss.label = "loss"
    return loss


EVERY_OP = {"a": 0.7, "b": 1.3}


def every_op_graph(a, b):
    """One graph using every op of the engine (and x ** c with several constants)."""
    a, b = Value(a, "a"), Value(b, "b")
    terms = [a + b, a - b, a * b, a / b, -a, a ** b, a ** 2, a.sqrt(), b ** -1, a.exp(),
             b.log(), (a - b).relu(), (b - a).relu(), (a - b).abs(), a.sigmoid(), b.tanh(),
             (-a).softplus(), Value.sum([a, b, 2.0]), Value.linear([a, b], [b, a], a),
             Value.logsumexp([a, b, a * b]), b ** 1.5]
    used = {v.op for t in terms for v in drawing_order(t) if v.op is not None}
    for op in micrograd_nn.ops.OPS:   # a row added to the table later: applied to a and b
        if op not in used:
            terms.append(op([a, b]) if op.arity is None else op(*(a, b)[:op.arity]))
    f = Value.sum(terms)
    f.label = "f"
    return f


def mlp_loss_graph():
    model = MLP(2, [3, 3, 1], seed=4)
    loss = hinge([model([0.5, -1.0]), model([-0.3, 0.8])], [1, -1]) + 1e-3 * l2(
        model.parameters())
    loss.label = "loss"
    return loss


def engine_numbers(root):
    """(data, grad) of every value in drawing order, from a fresh grad() (no .grad touched)."""
    topo = drawing_order(root)
    return [v.data for v in topo], grad(root, topo)


def grads_by_label(root):
    topo = [v for v in drawing_order(root) if v.label]
    return dict(zip([v.label for v in topo], grad(root, topo)))


# ---- without a browser -------------------------------------------------------------------------


def test_every_op_of_the_table_has_a_javascript_form():
    ops = list(micrograd_nn.ops.OPS)
    assert len(ops) >= 15
    for op in ops + [micrograd_nn.ops.powc(3.0), micrograd_nn.ops.powc(-0.5),
                     micrograd_nn.ops.powc(math.inf)]:
        forward, local = explore.js_form(op)
        assert forward and local.strip()
    every = drawing_order(every_op_graph(**EVERY_OP))
    used = {v.op.name for v in every if v.op is not None}
    assert {op.name for op in ops} <= used  # the browser tests below evaluate all of them


def test_an_op_without_a_javascript_form_is_refused(tmp_path):
    mystery = engine.Op("mystery", lambda x: 3.0, lambda x, out: (1.0,), ("1",))
    x = Value(2.0, "x")
    y = mystery(x)
    with pytest.raises(ValueError, match="cannot evaluate the op 'mystery'"):
        explore_html(y, tmp_path / "p.html")
    assert not (tmp_path / "p.html").exists()


def test_the_page_is_self_contained(tmp_path):
    page = explore_html(seed_graph(**SEED), tmp_path / "p.html").read_text(encoding="utf-8")
    assert "<svg" in page and 'id="graph-data"' in page
    assert not re.search(r"<script[^>]*\bsrc=|<link|<img|<iframe|@import|url\(", page)
    # the only URLs are XML namespace names, which are never fetched
    assert set(re.findall(r"https?://[^\s\"']+", page)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_the_diagram_shows_gradients_without_touching_grad_fields(tmp_path):
    root = seed_graph(**SEED)  # backward has not run: every .grad is 0
    page = explore_html(root, tmp_path / "p.html").read_text(encoding="utf-8")
    assert "grad &#45;0.1884" in page  # dloss/dw1, in w1's box, so the box is sized for it
    assert all(v.grad == 0.0 for v in drawing_order(root))


def test_export_graph_lists_leaves_and_ops_in_drawing_order():
    root = seed_graph(**SEED)
    graph = explore.export_graph(root)
    topo = drawing_order(root)
    assert [n["name"] for n in graph["nodes"]][:5] == ["w1", "w2", "x1", "x2", "b"]
    assert [topo[k].label for k in graph["leaves"]] == ["w1", "w2", "x1", "x2", "b", "y"]
    assert [n["op"] for n in graph["nodes"] if n["op"]] == ["linear", "sigmoid", "-", "**2"]


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="needs a Value"):
        explore_html(1.5, tmp_path / "p.html")
    with pytest.raises(ValueError, match="lr"):
        explore_html(seed_graph(**SEED), tmp_path / "p.html", lr=-1.0)
    with pytest.raises(TypeError, match="params"):
        explore_html(seed_graph(**SEED), tmp_path / "p.html", params=[1.0])
    big = Value.sum([Value(float(i)) * 2 for i in range(200)])
    with pytest.raises(ValueError, match="max_nodes"):
        explore_html(big, tmp_path / "p.html")


def test_sgd_ticks_params_or_else_every_labelled_leaf(tmp_path):
    def ticked(**options):
        text = explore_html(every_op_graph(**EVERY_OP), tmp_path / "p.html",
                            **options).read_text(encoding="utf-8")
        return re.findall(r'class="name">([\w ]+)<.*?class="train"( checked)?', text)

    assert ticked() == [("a", " checked"), ("b", " checked"), ("constant v23", "")]
    assert ticked(params=["b"]) == [("a", ""), ("b", " checked"), ("constant v23", "")]


def test_graph_command_writes_the_page(tmp_path):
    page = tmp_path / "page.html"
    assert main(["graph", "--out", str(tmp_path / "g.svg"), "--explore", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    ticked = re.findall(r'<tr id="leaf\d+">.*?class="name">(\w+)<.*?class="train"( checked)?',
                        text)
    assert ticked == [("w1", " checked"), ("w2", " checked"), ("x1", ""), ("x2", ""),
                      ("b", " checked"), ("y", "")]


def test_the_seed_neuron_page_ticks_only_its_parameters_as_graph_explore_does(tmp_path):
    text = explore_html(seed_neuron(), tmp_path / "p.html").read_text(encoding="utf-8")
    ticked = re.findall(r'<tr id="leaf\d+">.*?class="name">(\w+)<.*?class="train"( checked)?',
                        text)
    assert ticked == [("w1", " checked"), ("w2", " checked"), ("x1", ""), ("x2", ""),
                      ("b", " checked"), ("y", "")]


# ---- in Chromium ---------------------------------------------------------------------------------

browser = pytest.fixture(scope="module")(chromium)


@pytest.fixture
def open_page(browser, tmp_path):
    yield from watched_pages(
        browser, lambda root, number, **options: explore_html(
            root, tmp_path / "page.html", **options),
        "window.explorer !== undefined")


def page_numbers(page):
    return page.evaluate("[explorer.data(), explorer.grad(), explorer.local()]")


def assert_page_matches_engine(page, root):
    data, grads, local = page_numbers(page)
    topo = drawing_order(root)
    engine_data, engine_grads = engine_numbers(root)
    assert len(data) == len(topo)
    for k, v in enumerate(topo):
        assert close(data[k], engine_data[k]), (k, v, data[k], engine_data[k])
        assert close(grads[k], engine_grads[k]), (k, v, grads[k], engine_grads[k])
        for i, d in enumerate(v.local_grads):
            assert close(local[k][i], d), (k, i, v, local[k][i], d)


@pytest.mark.parametrize("build", [lambda: seed_graph(**SEED), lambda: every_op_graph(**EVERY_OP),
                                   mlp_loss_graph], ids=["seed", "every_op", "mlp_loss"])
def test_at_the_start_the_page_agrees_with_the_engine(open_page, build):
    page = open_page(build())
    assert_page_matches_engine(page, build())


def diagram_texts(page):
    """[(k, texts of a box of value k)], and [(k, groups, text)] of the labelled arrows."""
    boxes = page.evaluate("""() => [...document.querySelectorAll('#diagram g.node')]
      .map(g => [g.querySelector('title').textContent.trim(),
                 [...g.querySelectorAll('text')].map(t => t.textContent)])""")
    arrows = page.evaluate("""() => [...document.querySelectorAll('#diagram text[data-node]')]
      .map(t => [+t.dataset.node, t.dataset.groups, t.textContent])""")
    values = [(int(m.group(1)), texts) for title, texts in boxes
              if (m := re.fullmatch(r"v(\d+)(_again\d+)?", title))]
    groups = [(k, [[int(i) for i in g.split(",")] for g in spec.split("|")], text)
              for k, spec, text in arrows]
    return values, groups


def assert_diagram_shows(page, root):
    """Every box shows the engine's data and grad; every arrow label part its local derivative."""
    boxes, arrows = diagram_texts(page)
    topo = drawing_order(root)
    data, grads = engine_numbers(root)
    assert {k for k, _ in boxes} == set(range(len(topo)))
    for k, texts in boxes:
        assert f"data {fmt(data[k])}" in texts, (k, texts)
        assert f"grad {fmt(grads[k])}" in texts, (k, texts)
    covered = []
    for k, groups, text in arrows:
        parts = text.split("; ")
        assert len(parts) == len(groups)
        for part, group in zip(parts, groups):
            count = f" (×{len(group)})" if len(group) > 1 else ""
            assert part.endswith(fmt(topo[k].local_grads[group[0]]) + count), (k, group, text)
            covered += [(k, i) for i in group]
    positions = [(k, i) for k, v in enumerate(topo) for i in range(len(v.operands))]
    assert sorted(covered) == positions  # every operand of every op has its number drawn
    return boxes


def far_reader_graph(a):
    """A chain x = x * a + 0.1 that reads a at every step: the diagram copies a's box."""
    a = Value(a, "a")
    x = a
    for _ in range(50):
        x = x * a + 0.1
    x.label = "x"
    return x


@pytest.mark.parametrize("build, leaf, value", [
    (every_op_graph, "a", 0.9), (far_reader_graph, "a", 0.5)], ids=["every_op", "far_reader"])
def test_typed_leaf_values_redraw_every_number_of_the_diagram(open_page, build, leaf, value):
    """Repeated operands (one arrow, labels joined) and copied boxes are rewritten too."""
    start = EVERY_OP if build is every_op_graph else {"a": 0.99}
    page = open_page(build(**start))
    k = next(k for k, n in enumerate(page.evaluate("JSON.parse(document.getElementById("
                                                   "'graph-data').textContent).nodes"))
             if n["name"] == leaf)
    page.fill(f"#leaf{k} .value", str(value))
    page.press(f"#leaf{k} .value", "Enter")
    moved = build(**dict(start, **{leaf: value}))
    assert_page_matches_engine(page, moved)
    boxes = assert_diagram_shows(page, moved)
    if build is far_reader_graph:
        assert len(boxes) > len(drawing_order(moved))  # a's box is drawn again, and updated


def special_points(arity):
    numbers = [-800.0, -30.0, -2.5, -1.0, -0.0, 0.0, 0.3, 1.0, 2.5, 30.0, 800.0, math.nan,
               math.inf, -math.inf]
    if arity == 1:
        return [[x] for x in numbers]
    if arity == 2:
        return [[x, y] for x in [-1.5, -0.0, 0.0, 0.5, 2.0, math.inf, math.nan]
                for y in [-1.0, 0.0, 0.5, 2.0, 3.0, math.nan]]
    return [[0.5], [1.0, -2.0, 3.0], [0.0, 0.0, 0.0], [math.nan, 1.0, 2.0], [2.0, 800.0, -800.0],
            [-math.inf, 1.0, 0.5], [0.25, -1.0, 1.5, 2.0, -0.5]]


def same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b or abs(a - b) <= TOL * max(1.0, abs(b))


def test_the_page_computes_each_op_as_the_table_does(open_page):
    """Every op's JavaScript, at kinks, poles, infinities and NaN, against its Python row."""
    page = open_page(every_op_graph(**EVERY_OP))
    used = {v.op.name: v.op for v in drawing_order(every_op_graph(**EVERY_OP)) if v.op}
    cases = []
    for name, op in used.items():
        for xs in special_points(op.arity):
            try:
                out = op.forward(xs) if op.arity is None else op.forward(*xs)
                local = op.rule(xs, out) if op.arity is None else op.rule(*xs, out)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue  # a domain error in Python; the page shows nan or inf instead
            cases.append((name, xs, out, [float(d) for d in local]))
    assert len(cases) > 200
    encode = explore.json_number
    shown = page.evaluate("""cases => cases.map(([name, xs]) => {
        const op = window.MICROGRAD_NN_OPS[name], x = xs.map(Number), out = op.f(x);
        return [String(out), op.d(x, out).map(String)]; })""",
                          [[name, [encode(x) for x in xs]] for name, xs, _, _ in cases])
    wrong = []
    for (name, xs, out, local), (js_out, js_local) in zip(cases, shown):
        js_out, js_local = float(js_out), [float(d) for d in js_local]
        if not (same(js_out, out) and len(js_local) == len(local)
                and all(same(a, b) for a, b in zip(js_local, local))):
            wrong.append((name, xs, (out, local), (js_out, js_local)))
    assert wrong == []


def test_big_graphs_start_fitted_and_nudge_a_trained_leaf(open_page):
    root = mlp_loss_graph()
    page = open_page(root)
    first = next(k for k, v in enumerate(drawing_order(root)) if v.is_leaf() and v.label)
    assert first > 0 and page.evaluate("explorer.nudge().leaf") == first
    fitted = page.locator("#diagram svg").bounding_box()["width"]
    assert fitted <= page.viewport_size["width"]
    page.uncheck("#fit")
    assert page.locator("#diagram svg").bounding_box()["width"] > 2 * fitted  # full size


def test_the_page_formats_numbers_as_the_diagram_does(open_page):
    """The page's fmt is Python's %.4g (naming.fmt): exact halves go to the even digit."""
    import random
    rng = random.Random(12)
    xs = [0.0, -0.0, 1.0, -1.0, 0.0078125, 0.00048828125, 1.0625, 2.5e-07, 12345.0, 99995.0,
          9999.5, 0.99995, 1e-5, 1e-4, 123.45, 1e21, -3.0e-300, 5e-324, 1.7976931348623157e308]
    xs += [rng.choice([-1, 1]) * rng.uniform(1, 10) * 10.0 ** rng.randint(-12, 12)
           for _ in range(1500)]
    xs += [k / 2 ** e for k in range(1, 400, 7) for e in range(0, 20, 3)]  # many exact halves
    page = open_page(seed_graph(**SEED))
    shown = page.evaluate("xs => xs.map(explorer.fmt)", xs)
    assert [(x, s) for x, s in zip(xs, shown) if s != fmt(x)] == []


def test_moving_a_slider_changes_the_numbers_as_the_engine_predicts(open_page, tmp_path):
    page = open_page(seed_graph(**SEED), params=["w1", "w2", "b"])
    assert_diagram_shows(page, seed_graph(**SEED))
    slider = page.locator("#leaf0 .range")  # w1, the first leaf
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.85 * box["width"], box["y"] + box["height"] / 2)
    w1 = page.evaluate("explorer.data()[0]")
    assert w1 > SEED["w1"] + 0.5  # the slider spans w1 +- 1
    moved = dict(SEED, w1=w1)
    assert_page_matches_engine(page, seed_graph(**moved))
    assert_diagram_shows(page, seed_graph(**moved))
    loss = seed_graph(**moved).data
    assert page.locator("#root-value").inner_text() == str(float(f"{loss:.6g}"))
    shot = page.screenshot(path=str(tmp_path / "explore_slider.png"), full_page=True)
    assert shot[:4] == b"\x89PNG"


def test_nudge_readout_is_the_loss_change_next_to_grad_times_eps(open_page):
    page = open_page(seed_graph(**SEED))
    page.locator("#leaf1 .select").check()  # w2
    page.fill("#eps", "0.01")
    nudge = page.evaluate("explorer.nudge()")
    before = seed_graph(**SEED)
    after = seed_graph(**dict(SEED, w2=SEED["w2"] + 0.01))
    g = grads_by_label(before)["w2"]
    assert nudge["leaf"] == 1 and nudge["eps"] == 0.01
    assert close(nudge["delta"], after.data - before.data)
    assert close(nudge["predicted"], g * 0.01)
    text = page.locator("#nudge").inner_text()
    assert "loss(w2 + ε) − loss(w2) = " + str(float(f"{after.data - before.data:.6g}")) in text
    assert "dloss/dw2 · ε = " in text and str(float(f"{g * 0.01:.6g}")) in text


def test_sgd_steps_follow_the_engine_and_trace_the_loss(open_page, tmp_path):
    page = open_page(seed_graph(**SEED), params=["w1", "w2", "b"], lr=0.5)
    for _ in range(3):
        page.click("#step")
    leaves, losses = dict(SEED), []
    for _ in range(4):
        root = seed_graph(**leaves)
        losses.append(root.data)
        grads = grads_by_label(root)
        for name in ("w1", "w2", "b"):
            leaves[name] -= 0.5 * grads[name]
    trace = page.evaluate("explorer.trace()")
    assert len(trace) == 4 and all(close(a, b) for a, b in zip(trace, losses))
    assert losses[-1] < losses[0]
    last = page.locator("#trace-list").inner_text().splitlines()[-1]
    assert last == "step 3: " + str(float(f"{losses[-1]:.6g}"))
    points = page.get_attribute("#trace-line", "points").split()
    assert len(points) == 4
    page.screenshot(path=str(tmp_path / "explore_sgd.png"), full_page=True)
    page.click("#reset")
    assert page.evaluate("explorer.trace()") == [losses[0]]


def test_an_sgd_step_on_the_seed_neuron_page_moves_only_the_parameters(open_page):
    root = seed_neuron()
    page = open_page(root)
    before = page.evaluate("explorer.data()")
    page.click("#step")
    after = page.evaluate("explorer.data()")
    moved = {v.label for k, v in enumerate(drawing_order(root))
             if v.is_leaf() and after[k] != before[k]}
    assert moved == {"w1", "w2", "b"}


def test_without_javascript_the_page_shows_the_diagram_and_says_what_needs_it(browser, tmp_path):
    path = explore_html(seed_neuron(), tmp_path / "page.html")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400,
                                                                        "height": 1000})
    page = context.new_page()
    try:
        page.goto(path.resolve().as_uri())
        assert page.locator("#diagram svg").is_visible()
        assert "grad -0.1884" in page.locator("#diagram").inner_text()    # dloss/dw1
        note = page.locator("#no-js")
        assert note.is_visible() and "need JavaScript" in note.inner_text()
        for hidden in (".panels", "#fit", "#step"):
            assert not page.locator(hidden).is_visible(), hidden
        page.screenshot(path=str(tmp_path / "explore_no_js.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("ci, outcome, code", [("", "1 skipped", 0), ("true", "1 error", 1)])
def test_without_chromium_the_browser_tests_skip_but_fail_under_ci(tmp_path, ci, outcome, code):
    """A developer without chromium gets a skip with the reason; CI (CI=true) gets a failure."""
    env = dict(os.environ, PATH=str(tmp_path), CI=ci,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider",
         f"{__file__}::test_nudge_readout_is_the_loss_change_next_to_grad_times_eps"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert outcome in done.stdout and done.returncode == code, done.stdout + done.stderr
    assert "no chromium on PATH" in done.stdout
