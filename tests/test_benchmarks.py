"""Smoke tests of the benchmark harness (benchmarks/run.py): it runs, its report has the right
structure, and the graph-free baselines compute exactly what the engines compute.

No timings are asserted: benchmarks measure, tests check.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"


def _load(name: str):
    """Import benchmarks/<name>.py (benchmarks/ is a folder of scripts, not a package)."""
    qualified = f"benchmarks_{name}"
    spec = importlib.util.spec_from_file_location(qualified, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


W = _load("workloads")
G = _load("microgpt")
HAVE_MICROGRAD = importlib.util.find_spec("micrograd") is not None
needs_micrograd = pytest.mark.skipif(not HAVE_MICROGRAD,
                                     reason="micrograd==0.1.0 (extra 'bench') not installed")
NOUTS = [16, 16, 1]


def _harness(*args: str, tmp_path: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True,
                          cwd=tmp_path or ROOT, timeout=300)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = _harness("--quick", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text())


# -------------------------------------------------------------------------------------------------
# The harness runs and reports a sane structure


def test_quick_run_prints_machine_tables_and_targets(quick_report):
    text, _ = quick_report
    assert text.startswith("machine: ")
    assert "python:  CPython" in text or "python:  " in text
    for word in ("W1", "W2", "W3", "W4", "targets", "target", "measured", "met?",
                 "demo step, gc default", "demo step, gc off", "limit: plain floats",
                 "limit: numpy", "Value.sum"):
        assert word in text, word


def test_quick_json_cells_have_consistent_summaries(quick_report):
    _, report = quick_report
    assert report["quick"] is True
    assert report["machine"]["cores"] >= 1
    workloads = {c["workload"] for c in report["cells"]}
    assert workloads == {"W1", "W2", "W3", "W5"}
    for cell in report["cells"]:
        assert cell["samples"] or cell["errors"], cell["case"]
        for phase, samples in cell["samples"].items():
            s = cell["summary"][phase]
            assert s["n"] == len(samples) >= 1
            assert all(math.isfinite(v) and v > 0 for v in samples)
            assert s["min"] <= s["median"] <= s["max"]
            assert s["min"] == min(samples) and s["max"] == max(samples)


def test_quick_micrograd_nn_runs_every_case_without_errors(quick_report):
    _, report = quick_report
    ours = [c for c in report["cells"] if c["engine"] == "micrograd_nn"]
    assert ours
    for cell in ours:
        assert cell["errors"] == {}, cell["case"]
    chains = [c for c in ours if c["workload"] == "W2"]
    assert {tuple(sorted(c["samples"])) for c in chains} == {("backward", "forward", "total")}


def test_quick_w4_reports_memory_and_no_cycles_for_micrograd_nn(quick_report):
    _, report = quick_report
    ours = next(r for r in report["w4"] if r["engine"] == "micrograd_nn")
    assert ours["bytes_per_node"] > 0
    assert ours["tracked_per_node"] > 0
    assert ours["freed_by_refcount"] is True
    assert ours["unreachable_per_node"] == 0
    names = [t["target"] for t in report["targets"]]
    assert any(n.startswith("W1 speed-up") for n in names)
    assert any(n.startswith("W2 chain") for n in names)
    assert any(n.startswith("W4 bytes") for n in names)
    for t in report["targets"]:
        assert set(t) == {"target", "aim", "measured", "met"}
        assert t["met"] in (True, False, None)


@needs_micrograd
def test_quick_micrograd_columns_and_its_recursion_limit(quick_report):
    text, report = quick_report
    assert "micrograd / micrograd_nn" in text
    theirs = [c for c in report["cells"] if c["engine"] == "micrograd"]
    assert {c["workload"] for c in theirs} == {"W1", "W2", "W3"}
    # micrograd's recursive topological sort fails on the deeper chain at the default limit
    deep = [c for c in theirs if c["workload"] == "W2" and "2e+03" in c["case"]]
    assert deep and all(c["errors"].get("backward") == "RecursionError" for c in deep)
    assert all("forward" in c["samples"] for c in deep)
    w4 = next(r for r in report["w4"] if r["engine"] == "micrograd")
    assert w4["freed_by_refcount"] is False  # its closures form a cycle per node
    assert w4["unreachable_per_node"] > 0


def test_without_micrograd_prints_our_columns_only(tmp_path):
    proc = _harness("--quick", "--no-micrograd", "--only", "W1,W4", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "printing micrograd_nn's columns only" in proc.stdout
    assert "micrograd / micrograd_nn" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert any(line.startswith("W1 ") for line in lines)
    assert not any(line.startswith(("W2 ", "W3 ")) for line in lines)


def test_profile_prints_top_entries_by_tottime():
    proc = _harness("--quick", "--profile", "--profile-steps", "2", "--profile-top", "5")
    assert proc.returncode == 0, proc.stderr
    assert "tottime" in proc.stdout
    assert "value.py" in proc.stdout   # the engine's Value, where a step spends its time


def test_ops_prints_one_line_per_operation(tmp_path):
    out = tmp_path / "ops.json"
    proc = _harness("--quick", "--ops", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    labels = [r["op"] for r in report["ops"]]
    assert len(labels) == len(set(labels)) >= 8
    assert {"v * w", "v + w", "v.relu()"} <= set(labels)
    for row in report["ops"]:
        assert row["micrograd_nn"] > 0
        assert row["op"] in proc.stdout
        if HAVE_MICROGRAD and "Value." not in row["stmt"]:
            assert row["micrograd"] > 0


@pytest.mark.parametrize("args", [["--only", "W9"], ["--only", ""], ["--repeats", "0"]])
def test_bad_arguments_are_refused_with_a_message(args):
    proc = _harness(*args)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "error:" in proc.stderr


# -------------------------------------------------------------------------------------------------
# The baselines compute the same loss and gradients as micrograd_nn


def _engine_grads(engine, X, y, seed):
    model = W.build_model(engine, 2, NOUTS, seed=seed)
    total, accuracy = W.w1_loss_and_backward(engine, model, X, y)
    return total.data, [p.grad for p in model.parameters()], accuracy


def _close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(min_value=2, max_value=24), data_seed=st.integers(0, 10_000),
       param_seed=st.integers(0, 10_000))
def test_float_and_numpy_baselines_match_micrograd_nn(n, data_seed, param_seed):
    np = pytest.importorskip("numpy")
    X, y = W.make_moons(n, seed=data_seed)
    loss, grads, accuracy = _engine_grads(W.micrograd_nn_engine(), X, y, param_seed)
    assert any(g != 0.0 for g in grads)

    layers = W.split_layers(W.initial_parameters(2, NOUTS, param_seed), 2, NOUTS)
    f_loss, f_grads, f_acc = W.float_loss_and_grads(layers, X, y)
    n_loss, n_grads, n_acc = W.numpy_loss_and_grads(W.numpy_layers(layers), np.array(X),
                                                    np.array(y))
    n_flat = W.join_layers([(dW.tolist(), db.tolist()) for dW, db in n_grads])
    for other_loss, other_grads, other_acc in ((f_loss, W.join_layers(f_grads), f_acc),
                                               (n_loss, n_flat, n_acc)):
        assert _close(loss, other_loss)
        assert other_acc == accuracy
        assert len(other_grads) == len(grads)
        assert all(_close(g, h) for g, h in zip(grads, other_grads))


def test_baseline_steps_apply_the_same_sgd_update():
    np = pytest.importorskip("numpy")
    X, y = W.make_moons(10)
    engine = W.micrograd_nn_engine()
    model = W.build_model(engine, 2, NOUTS)
    W.w1_step(engine, model, X, y, learning_rate=0.05)
    layers = W.split_layers(W.initial_parameters(2, NOUTS), 2, NOUTS)
    arrays = W.numpy_layers(layers)
    W.float_step(layers, X, y, learning_rate=0.05)
    W.numpy_step(arrays, np.array(X), np.array(y), learning_rate=0.05)
    after = [p.data for p in model.parameters()]
    assert all(_close(a, b) for a, b in zip(after, W.join_layers(layers)))
    flat = W.join_layers([(A.tolist(), b.tolist()) for A, b in arrays])
    assert all(_close(a, b) for a, b in zip(after, flat))


@needs_micrograd
def test_same_workload_code_gives_micrograd_the_same_gradients():
    X, y = W.make_moons(12)
    ours = _engine_grads(W.micrograd_nn_engine(), X, y, 3)
    theirs = _engine_grads(W.micrograd_engine(), X, y, 3)
    assert _close(ours[0], theirs[0]) and ours[2] == theirs[2]
    assert all(_close(a, b) for a, b in zip(ours[1], theirs[1]))


@pytest.mark.parametrize("n_ops", [2, 10, 3000])
def test_w2_chain_gradients_match_the_closed_form(n_ops):
    x, a, b = W.w2_chain(W.micrograd_nn_engine(), n_ops)
    x.backward()
    d_da, d_db = W.w2_expected_grads(n_ops)
    assert _close(a.grad, d_da) and _close(b.grad, d_db)


def test_w3_three_ways_of_summing_agree():
    engine = W.micrograd_nn_engine()
    results = []
    for how in (W.w3_python_sum, W.w3_fused_sum, W.w3_linear):
        ws, xs = W.w3_products(engine, 50)
        out = how(ws, xs)
        out.backward()
        results.append((out.data, [w.grad for w in ws], [x.grad for x in xs]))
        assert [w.grad for w in ws] == [x.data for x in xs]
    for data, gw, gx in results[1:]:
        assert _close(data, results[0][0]) and gw == results[0][1] and gx == results[0][2]


def test_make_moons_and_split_layers_validate_input():
    X, y = W.make_moons(7)
    assert len(X) == len(y) == 7 and set(y) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="at least 2 points"):
        W.make_moons(1)
    with pytest.raises(ValueError, match="expected 337 parameters"):
        W.split_layers([0.0] * 10, 2, NOUTS)


def test_phases_split_a_w1_step(tmp_path):
    out = tmp_path / "phases.json"
    proc = _harness("--quick", "--phases", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    phases = report["phases"]
    expected = {"forward (model)", "loss + L2", "backward's sort", "propagate", "free graph"}
    for mode in ("off", "default"):
        assert set(phases[mode]) == expected
        assert all(t >= 0 for t in phases[mode].values())
    assert "total" in proc.stdout
    w5 = report["phases_w5"]
    assert set(w5) == {"micrograd_nn drop-in", "micrograd_nn n-ary"}
    for variant in w5.values():
        assert set(variant["off"]) == {"forward (model + loss)", "backward's sort", "propagate",
                                       "Adam", "free graph"}
        assert all(t >= 0 for t in variant["default"].values())
    assert "phases of a W5 step on micrograd_nn n-ary" in proc.stdout


# -------------------------------------------------------------------------------------------------
# W5: microgpt's step on each variant


def test_quick_w5_runs_every_variant_with_equal_losses(quick_report):
    text, report = quick_report
    w5 = [c for c in report["cells"] if c["workload"] == "W5"
          and c["case"] != "compile every length"]
    assert {c["engine"] for c in w5} == set(G.VARIANTS)
    assert all(c["errors"] == {} and c["samples"]["step"] for c in w5)
    compiling = [c for c in report["cells"] if c["case"] == "compile every length"]
    assert {c["engine"] for c in compiling} == {"compiled python", "compiled numpy"}
    assert all(c["errors"] == {} and c["samples"]["all lengths"] for c in compiling)
    losses = report["w5_losses"]
    base = losses["microgpt design"]
    assert len(base) >= 2 and all(math.isfinite(x) and x > 0 for x in base)
    for seq in losses.values():  # a cell may stop early on its time budget: common steps
        assert len(seq) >= 2
        assert all(_close(a, b) for a, b in zip(seq, base))
    names = {t["target"]: t for t in report["targets"]}
    assert names["W5 losses equal on every variant"]["met"] is True
    assert "W5 micrograd_nn n-ary vs microgpt's design" in names
    assert "W5 compiled numpy vs microgpt's design" in names
    assert "W5 compiling every length (numpy) paid back" in names
    assert "microgpt design" in text and "speed-up (min)" in text
    assert "compile time per length" in text


def _gpt_grads(variant: str, name: str = "emma"):
    value_class, loss_fn = G.VARIANTS[variant]
    model = G.init_gpt(value_class(), G.VOCAB, seed=3)
    loss = loss_fn(model, model.tokens(name))
    loss.backward()
    return loss.data, [p.grad for p in model.params]


def test_gpt_has_microgpts_size():
    model = G.init_gpt(G.BaselineValue, G.VOCAB)
    assert len(model.params) == 4192  # about 4.2k: 27 tokens, n_embd 16, block 16, 1 layer
    assert model.tokens("ab") == [26, 0, 1, 26]


@pytest.mark.parametrize("variant", ["micrograd_nn drop-in", "micrograd_nn n-ary"])
def test_gpt_loss_and_gradients_agree_with_the_baseline_engine(variant):
    base_loss, base_grads = _gpt_grads("microgpt design")
    loss, grads = _gpt_grads(variant)
    assert math.log(27) * 0.9 < base_loss < math.log(27) * 1.1  # about uniform at the start
    assert _close(loss, base_loss, 1e-12)
    assert sum(g != 0 for g in base_grads) > 1000
    assert all(_close(g, h, 1e-9) or abs(g - h) < 1e-15 for g, h in zip(grads, base_grads))


def test_baseline_engine_gradients_match_micrograd_nn_on_each_operation():
    from micrograd_nn import Value
    for f in (lambda a, b: a * b + a, lambda a, b: a / b - b, lambda a, b: (a * a + b) ** -0.5,
              lambda a, b: (a - b).exp() + b.log() - a, lambda a, b: (a * -b).relu() + 2 / b,
              lambda a, b: 3 - a * 2 + (-b)):
        results = []
        for V in (G.BaselineValue, Value):
            a, b = V(0.7), V(1.9)
            out = f(a, b)
            out.backward()
            results.append((out.data, a.grad, b.grad))
        assert all(_close(x, y, 1e-12) for x, y in zip(*results)), results


def test_training_steps_lower_the_loss_on_one_name():
    value_class, loss_fn = G.VARIANTS["micrograd_nn n-ary"]
    model = G.init_gpt(value_class(), G.VOCAB)
    losses = [G.train_step(model, "anna", loss_fn) for _ in range(5)]
    assert losses[-1] < losses[0] - 0.5
    assert model.step == 5 and all(p.grad == 0 for p in model.params)


def test_graph_size_counts_nodes_on_both_engines():
    for variant in G.VARIANTS:
        value_class, loss_fn = G.VARIANTS[variant]
        model = G.init_gpt(value_class(), G.VOCAB)
        assert G.graph_size(model, "a", loss_fn) > len(model.params) // 4
    drop_in = G.graph_size(G.init_gpt(G.VARIANTS["micrograd_nn drop-in"][0](), G.VOCAB), "ab",
                           G.gpt_loss)
    nary = G.graph_size(G.init_gpt(G.VARIANTS["micrograd_nn n-ary"][0](), G.VOCAB), "ab",
                        G.gpt_loss_nary)
    assert nary * 3 < drop_in

@pytest.mark.parametrize("backend, arrays", [("python", False), ("numpy", False),
                                             ("numpy", True)])
def test_compiled_w1_steps_give_the_engines_loss_and_parameters(backend, arrays):
    np = pytest.importorskip("numpy")
    X, y = W.make_moons(12, seed=3)
    engine = W.micrograd_nn_engine()
    model, compiled = W.build_model(engine, 2, NOUTS), W.build_model(engine, 2, NOUTS)
    program = W.w1_compile(compiled, X, y, backend)
    params = compiled.parameters()
    updated = W.ArraySGD(params) if arrays else params  # the numbers in one array, or not
    for _ in range(3):
        loss, accuracy = W.w1_step(engine, model, X, y, learning_rate=0.05)
        c_loss, c_accuracy = W.w1_compiled_step(updated, program, np.array(X), np.array(y),
                                                W.w1_seeds(len(y)), learning_rate=0.05)
        assert _close(loss, c_loss, 1e-12) and accuracy == c_accuracy
    after = [p.data for p in model.parameters()]
    assert all(_close(a, b, 1e-12) for a, b in zip(after, [p.data for p in params]))


def test_quick_run_reports_the_compiled_rows(quick_report):
    text, report = quick_report
    assert "W1 compiled (micrograd_nn.compile)" in text
    assert [r["backend"] for r in report["compiled"]] == ["python", "numpy"]
    for row in report["compiled"]:
        assert row["step_min"] > 0 and row["compile"] is not None
    aims = {t["target"] for t in report["targets"]}
    assert "W1 compiled (numpy) vs numpy by hand, min" in aims
