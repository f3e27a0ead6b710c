"""playground_html: the page trains exactly as the engine trains, in a real browser.

The browser tests drive headless Chromium through playwright (as tests/test_explore.py does):
train in the page, then compare every parameter with ``train.fit`` on the same model, data and
settings; compare the gradients after points are added and removed, and the selected
example's graph, with the engine's. Without playwright or chromium they skip (they fail under
CI, see needs.py).
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from micrograd_nn import MLP, Value, grad
from micrograd_nn.cli import main
from micrograd_nn.datasets import make_moons
from micrograd_nn.engine import topological_order
from micrograd_nn.playground import (PLAYGROUND_LOSSES, export_heads, export_model,
                                     playground_html)
from micrograd_nn.train import LOSSES, TrainingDiverged, evaluate, fit

from needs import chromium, watched_pages

TOL = 1e-12


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= TOL * max(abs(a), abs(b))


def assert_all_close(page_numbers, engine_numbers, what):
    assert len(page_numbers) == len(engine_numbers), what
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(page_numbers, engine_numbers))
           if not close(a, b)]
    assert not bad, f"{what}: {len(bad)} differ, the first: {bad[:3]}"


# ---- without a browser -------------------------------------------------------------------------


def test_the_page_is_self_contained(tmp_path):
    page = playground_html(tmp_path / "p.html").read_text(encoding="utf-8")
    assert 'id="playground-state"' in page and "window.MICROGRAD_NN_OPS" in page
    assert not re.search(r"<script[^>]*\bsrc=|<link|<img|<iframe|@import|url\(", page)
    assert set(re.findall(r"https?://[^\s\"'<]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "<noscript>" in page and "needs JavaScript" in page


def test_the_model_is_exported_in_the_engines_order_with_its_parameters():
    model = MLP(2, [3, 2, 1], seed=1)
    graph = export_model(model, (0.5, -1.0))
    z = model([Value(0.5, "x1"), Value(-1.0, "x2")])
    topo = topological_order(z)
    assert [n["op"] for n in graph["nodes"]] == [None if v.op is None else v.op.name
                                                  for v in topo]
    params = [n for n in graph["nodes"] if "param" in n]
    assert sorted(n["param"] for n in params) == list(range(len(model.parameters())))
    labels = [p.label for p in model.parameters()]
    assert all(labels[n["param"]] == n["name"] for n in params)
    assert sorted(n["input"] for n in graph["nodes"] if "input" in n) == [0, 1]
    assert graph["nodes"][graph["output"]]["name"] == "L3.N1.z"
    roles = {(tuple(n["neuron"]), n["role"]) for n in graph["nodes"] if n["op"]}
    assert ((1, 3), "a") in roles and ((3, 1), "z") in roles and ((3, 1), "a") not in roles


@pytest.mark.parametrize("loss, keys", [
    ("hinge", {"0", "1"}), ("mse", {"0", "1"}),
    ("bce_with_logits", {"0:neg", "0:pos", "1:neg", "1:pos"}),
    ("bce", {"0:low", "0:mid", "0:high", "1:low", "1:mid", "1:high"})])
def test_each_loss_has_a_graph_per_label_and_branch(loss, keys):
    heads = export_heads(loss)
    assert set(heads) == keys
    # a clamped bce does not read z: no gradient reaches the model from that sample
    assert all((head["z"] == -1) == key.endswith(("low", "high")) for key, head in heads.items())


def test_bad_arguments(tmp_path):
    path = tmp_path / "p.html"
    X, y = make_moons(20, seed=0)
    with pytest.raises(TypeError, match="MLP"):
        playground_html(path, model=lambda x: x)
    with pytest.raises(ValueError, match="2 inputs"):
        playground_html(path, MLP(3, [1]))
    with pytest.raises(ValueError, match="width 1"):
        playground_html(path, MLP(2, [4, 2]))
    with pytest.raises(ValueError, match="at most"):
        playground_html(path, MLP(2, [40, 1]))
    with pytest.raises(ValueError, match="cross_entropy.*choose one of hinge"):
        playground_html(path, loss="cross_entropy")
    with pytest.raises(ValueError, match="two classes"):
        playground_html(path, X=X, y=np.arange(20) % 3)
    with pytest.raises(ValueError, match="both X and y"):
        playground_html(path, X=X)
    with pytest.raises(ValueError, match="lr"):
        playground_html(path, lr=-1.0)
    with pytest.raises(ValueError, match="optimizer"):
        playground_html(path, optimizer="rmsprop")
    with pytest.raises(ValueError, match="features"):
        playground_html(path, X=np.zeros((4, 3)), y=[0, 1, 0, 1])
    assert not path.exists()


def test_the_command_writes_the_page(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["playground", "--dataset", "spiral", "--hidden", "4,3", "--activation", "tanh",
                 "--loss", "mse", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "MLP(2, [4, 3, 1]) on 100 points, mse loss" in text
    assert '"activations": ["tanh", "tanh", "linear"]' in text
    assert main(["playground", "--hidden", "64", "--out", str(tmp_path / "no.html")]) == 2
    assert "at most" in capsys.readouterr().err
    assert not (tmp_path / "no.html").exists()


# ---- in Chromium ---------------------------------------------------------------------------------

browser = pytest.fixture(scope="module")(chromium)


@pytest.fixture
def open_page(browser, tmp_path):
    """Write a playground page, open it; afterwards check it fetched nothing but itself and
    logged no error."""
    yield from watched_pages(
        browser, lambda *args, number, **options: playground_html(
            tmp_path / f"page{number}.html", *args, **options),
        "window.playground !== undefined")


def test_without_javascript_the_page_shows_the_data_and_says_what_needs_it(browser, tmp_path):
    X, y = make_moons(30, noise=0.1, seed=1)
    path = playground_html(tmp_path / "p.html", MLP(2, [4, 1], seed=1), X, y)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(path.resolve().as_uri())
    assert "needs JavaScript" in page.inner_text("body")
    picture = page.locator("noscript svg")
    assert picture.locator("circle").count() == int((y == 0).sum())
    assert picture.locator("rect[width='7']").count() == int((y == 1).sum())
    context.close()


def data(n=40, seed=2):
    return make_moons(n, noise=0.15, seed=seed)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.01)])
@pytest.mark.parametrize("loss", ["hinge", "bce", "mse"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_twenty_steps_equal_the_engines(open_page, activation, loss, optimizer, lr):
    X, y = data()
    model = MLP(2, [5, 4, 1], activation=activation, seed=11)
    page = open_page(model, X, y, loss=loss, optimizer=optimizer, lr=lr, seed=3)
    fit(model, X, y, loss=loss, optimizer=optimizer, lr=lr, epochs=20, progress=False, seed=3)
    page.evaluate("playground.step(20)")
    assert_all_close(page.evaluate("playground.params()"), [p.data for p in model.parameters()],
                     "parameters after 20 steps")


@pytest.mark.parametrize("options, epochs", [
    (dict(loss="hinge", optimizer="sgd", lr=0.2, momentum=0.9), 20),
    (dict(loss="bce_with_logits", optimizer="sgd", lr=0.5), 20),
    (dict(loss="bce", optimizer="sgd", lr=3.0), 20),   # large steps: sigmoid saturates, clamps
    (dict(loss="hinge", optimizer="sgd", lr=0.1, batch_size=8), 4),    # 5 batches an epoch
    (dict(loss="mse", optimizer="adam", lr=0.02, batch_size=15), 7),   # 3 batches, the last 10
    (dict(loss="hinge", optimizer="sgd", lr=0.1, batch_size=1), 1),
], ids=["momentum", "bce_with_logits", "bce_saturated", "minibatch", "uneven", "one_sample"])
def test_momentum_minibatches_and_every_branch_equal_the_engines(open_page, options, epochs):
    X, y = data()
    model = MLP(2, [6, 1], seed=5)
    page = open_page(model, X, y, seed=9, **options)
    steps = epochs * -(-len(y) // options.get("batch_size", len(y)))
    fit(model, X, y, epochs=epochs, progress=False, seed=9, **options)
    page.evaluate(f"playground.step({steps})")
    assert_all_close(page.evaluate("playground.params()"), [p.data for p in model.parameters()],
                     f"parameters after {steps} steps")
    assert close(page.evaluate("playground.loss()"), evaluate(model, X, y, options["loss"]).loss)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_page_stops_where_fit_diverges(open_page, activation):
    X, y = data()
    loss = "mse"
    model = MLP(2, [6, 6, 1], activation=activation, seed=5)
    page = open_page(model, X, y, loss=loss, lr=1e6)
    with pytest.raises(TrainingDiverged) as raised:
        fit(model, X, y, loss=loss, lr=1e6, epochs=50, progress=False)
    page.evaluate("playground.step(50)")
    assert len(page.evaluate("playground.history()")) == raised.value.epoch - 1
    assert page.inner_text("#message").startswith(f"Training diverged at step "
                                                  f"{raised.value.epoch}")


def test_settings_changed_in_the_page_train_as_fit_with_them(open_page):
    X, y = data()
    model = MLP(2, [5, 1], seed=6)
    page = open_page(model, X, y, loss="hinge", optimizer="sgd", lr=0.1)
    page.evaluate("playground.set({optimizer: 'adam', lr: 0.05, batchSize: 8, seed: 2})")
    page.evaluate("playground.step(10)")   # two epochs of 5 batches
    fit(model, X, y, loss="hinge", optimizer="adam", lr=0.05, batch_size=8, seed=2, epochs=2,
        progress=False)
    assert_all_close(page.evaluate("playground.params()"), [p.data for p in model.parameters()],
                     "parameters after 10 steps")
    for bad, message in [("{lr: -1}", "lr must be a finite number >= 0"),
                         ("{batchSize: 2.5}", "batchSize must be null"),
                         ("{optimizer: 'rmsprop'}", "optimizer must be 'sgd' or 'adam'"),
                         ("{speed: 3}", "unknown setting speed")]:
        with pytest.raises(Exception, match=re.escape(message)):
            page.evaluate(f"playground.set({bad})")


def engine_gradients(model, params, points, loss):
    """d batch loss/d parameter on ``points`` ([x1, x2, label]) with the parameters ``params``."""
    for p, x in zip(model.parameters(), params):
        p.data = x
        p.grad = 0.0
    spec = LOSSES[loss]
    outs = [model([x1, x2]) for x1, x2, _ in points]
    spec.batch(outs, [spec.target(label, 1) for _, _, label in points]).backward()
    return [p.grad for p in model.parameters()]


def test_after_adding_and_removing_points_the_gradients_follow_the_data(open_page):
    X, y = data(30)
    model = MLP(2, [4, 4, 1], activation="tanh", seed=2)
    page = open_page(model, X, y, loss="hinge", lr=0.1)
    page.evaluate("playground.step(5)")
    page.evaluate("playground.addPoint(0.25, -0.75, 1)")
    page.evaluate("playground.addPoint(-1.5, 0.5, 0)")
    page.evaluate("playground.removePoint(3)")
    points = page.evaluate("playground.data()")
    assert len(points) == 31 and points[-1] == [-1.5, 0.5, 0]
    assert points[3] == [*X[4].tolist(), int(y[4])]
    before = page.evaluate("playground.params()")
    page.evaluate("playground.step(1)")
    assert_all_close(page.evaluate("playground.grads()"),
                     engine_gradients(model, before, points, "hinge"), "gradients on new data")
    assert close(page.evaluate("playground.history()")[-1][0],
                 LOSSES["hinge"].batch([model([a, b]) for a, b, _ in points],
                                       [2.0 * c - 1 for _, _, c in points]).data)


def sample_graph(model, point, loss):
    """The selected example's values in the page's order: the model's graph, then the loss's."""
    x1, x2, label = point
    z = model([Value(x1, "x1"), Value(x2, "x2")])
    spec = LOSSES[loss]
    root = spec.batch([z], [spec.target(label, 1)])
    nodes = topological_order(z)
    seen = {id(v) for v in nodes}
    nodes += [v for v in topological_order(root) if id(v) not in seen]
    return nodes, grad(root, nodes)


@pytest.mark.parametrize("loss", ["hinge", "bce_with_logits", "mse"])
def test_the_selected_examples_graph_equals_the_engines(open_page, loss):
    X, y = data(25)
    model = MLP(2, [3, 3, 1], activation="sigmoid", seed=8)
    page = open_page(model, X, y, loss=loss, lr=0.3)
    page.evaluate("playground.step(7)")
    for p, x in zip(model.parameters(), page.evaluate("playground.params()")):
        p.data = x
    for i in (0, 6, 24):
        page.evaluate(f"playground.select({i})")
        shown = page.evaluate("playground.graph()")
        nodes, grads = sample_graph(model, [*X[i].tolist(), int(y[i])], loss)
        assert len(shown) == len(nodes)
        assert_all_close([n["data"] for n in shown], [v.data for v in nodes], f"data of {i}")
        assert_all_close([n["grad"] for n in shown], grads, f"grads of {i}")
        assert [n["op"] for n in shown] == [v.op.name if v.op else None for v in nodes]
        labels = [n["name"] for n, v in zip(shown, nodes) if v.label]
        assert labels == [v.label for v in nodes if v.label]


def test_the_shuffling_is_numpys(open_page):
    page = open_page(None, *data(10))
    for seed, n in [(0, 10), (7, 100), (123456789, 33), (2**40 + 5, 7)]:
        got = page.evaluate(f"playground.permutation({seed}, {n})")
        assert got == np.random.default_rng(seed).permutation(n).tolist()


def test_keyboard_mouse_and_labels(open_page):
    page = open_page(None, *data(20))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert len(page.evaluate("playground.history()")) == 2
    page.keyboard.press(" ")
    page.wait_for_function("playground.history().length > 4")
    page.keyboard.press(" ")
    assert page.evaluate("document.getElementById('play').getAttribute('aria-pressed')") == \
        "false"
    page.click("#play")     # the focused play button: space pauses once, not twice
    page.keyboard.press(" ")
    assert page.evaluate("document.getElementById('play').getAttribute('aria-pressed')") == \
        "false"
    box = page.locator("#plot").bounding_box()
    page.check("input[name=cls][value='1']")
    page.mouse.click(box["x"] + 5, box["y"] + 5)   # a corner: far from every point
    points = page.evaluate("playground.data()")
    assert len(points) == 21 and points[-1][2] == 1
    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    page.keyboard.up("Shift")
    assert page.evaluate("playground.data()") == points[:-1]
    x, y = page.evaluate("playground.where(7)")   # a click on a point selects it
    page.mouse.click(box["x"] + 1 + x, box["y"] + 1 + y)   # inside the canvas's 1px border
    assert page.inner_text("#selected-text").startswith("example 7:")
    assert len(page.evaluate("playground.data()")) == 20
    page.locator("#net circle").nth(3).click()   # the first layer's second neuron
    assert page.evaluate("playground.expanded()") == ["1.2"]
    assert page.locator("#graph text", has_text="L1.N2.w1").count() == 1
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
      .filter(e => !e.closest('label') && !e.textContent.trim() && !e.getAttribute('aria-label'))
      .map(e => e.id || e.outerHTML)""")
    assert unlabelled == []


def test_new_data_is_seeded_and_hovering_an_arrow_shows_its_numbers(open_page):
    page = open_page(None, *data(20))

    def draw(name, noise, seed):
        page.select_option("#dataset", name)
        page.fill("#noise", str(noise))
        page.fill("#count", "50")
        page.fill("#data-seed", str(seed))
        page.click("#new-data")
        return page.evaluate("playground.data()")

    for name in ("moons", "circles", "xor", "spiral", "blobs"):
        points = draw(name, 0.2, 4)
        assert len(points) == 50 and {p[2] for p in points} == {0, 1}
        assert all(math.isfinite(p[0]) and math.isfinite(p[1]) for p in points)
        assert draw(name, 0.2, 4) == points != draw(name, 0.2, 5)
    page.evaluate("playground.step(3); playground.select(2)")
    shown = page.evaluate("playground.graph()")
    # the last arrow, into the loss's last node (a flat line: dispatched, not hovered)
    page.locator("#graph path.hit").last.dispatch_event("mousemove", {"clientX": 10,
                                                                      "clientY": 10})
    tip = page.inner_text("#tip")
    assert "local derivative" in tip and "flows back" in tip
    assert tip.splitlines()[0].endswith(shown[-1]["name"])


def test_backward_step_through_and_paths_reach_the_gradients(open_page):
    page = open_page(MLP(2, [3, 2, 1], activation="tanh", seed=4), *data(12), loss="mse")
    page.evaluate("playground.step(3)")
    shown = page.evaluate("playground.graph()")
    arrived = page.evaluate("playground.backwardStep()")   # the seed
    assert arrived[-1] == 1 and not any(arrived[:-1])
    interior = sum(n["op"] is not None for n in shown)
    for _ in range(interior):
        arrived = page.evaluate("playground.backwardStep()")
    assert page.inner_text("#back-text").startswith(f"step {interior} of {interior}: ")
    assert arrived == [n["grad"] for n in shown]
    page.evaluate("playground.backwardStep()")
    assert page.inner_text("#back-text").startswith("done")
    # a first-layer weight reaches the loss along one path per second-layer neuron
    w = max((k for k, n in enumerate(shown) if n["name"].startswith("L1.")
             and n["op"] is None), key=lambda k: abs(shown[k]["grad"]))
    assert shown[w]["grad"] != 0
    paths = page.evaluate(f"playground.pathsTo({w})")
    assert paths.startswith(f"2 paths from {shown[w]['name']} to the loss")
    total = re.search(r"sum of the products = ([^;\s]+)", paths).group(1)
    assert math.isclose(float(total.replace("\u2212", "-")), shown[w]["grad"], rel_tol=1e-6)


def test_the_package_names_the_playground_and_viz_does_not_reach_up_to_it():
    import micrograd_nn
    import micrograd_nn.viz
    assert micrograd_nn.playground_html is playground_html
    assert "playground_html" in micrograd_nn.__all__
    assert not hasattr(micrograd_nn.viz, "playground_html")   # viz lies below nn


def test_every_loss_of_the_page_is_a_loss_of_fit():
    assert set(PLAYGROUND_LOSSES) <= set(LOSSES)
    assert all(LOSSES[name].binary or name == "mse" for name in PLAYGROUND_LOSSES)


def test_the_benchmark_runs(browser):
    """benchmarks/playground.py, tiny: it runs and prints its three lines (measures nothing)."""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "playground.py"), "--hidden", "2",
         "--points", "10", "--rounds", "1", "--seconds", "0.3"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(root)))
    assert result.returncode == 0, result.stderr
    assert re.search(r"steps a second +[\d.]+ / [\d.]+ / [\d.]+", result.stdout)
    assert "boundary redraws a second" in result.stdout
