"""Every example runs to the end and reaches its target (full runs: each takes seconds)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(name: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args],
                            capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def percent(pattern: str, text: str) -> float:
    match = re.search(pattern + r"\s*([\d.]+)%", text)
    assert match, f"no {pattern!r} in the output:\n{text}"
    return float(match.group(1))


def test_perceptron_gradients_by_hand_equal_the_engine():
    out = run_example("perceptron.py")
    rows = re.findall(r"dloss/d(w\d|b)\s+(-?[\d.]+)\s+(-?[\d.]+)", out)
    assert [r[0] for r in rows] == ["w1", "w2", "w3", "b"]
    for _, by_hand, engine in rows:
        assert float(by_hand) == float(engine)
    product = re.search(r"product \(dloss/dw1 by hand\)\s+=\s+(-?[\d.]+)", out).group(1)
    engine = re.search(r"engine: w1.grad\s+=\s+(-?[\d.]+)", out).group(1)
    assert float(product) == float(engine) != 0.0
    numpy_acc = percent(r"numpy loss [\d.]+, accuracy", out)
    engine_acc = percent(r"engine loss [\d.]+, accuracy", out)
    assert numpy_acc == engine_acc >= 95.0


def test_moons_reaches_97_percent(tmp_path):
    out = run_example("moons.py", "--plot", str(tmp_path))
    assert percent("training accuracy after 100 steps:", out) >= 97.0
    assert percent(r"fit\(\.\.\.\) with the same settings: loss [\d.]+, accuracy", out) >= 97.0
    assert (tmp_path / "moons_boundary.png").read_bytes()[:4] == b"\x89PNG"


def test_spiral_reaches_90_percent(tmp_path):
    out = run_example("spiral.py", "--plot", str(tmp_path))
    assert percent(r"training accuracy after \d+ epochs:", out) >= 90.0
    assert (tmp_path / "spiral_boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "spiral_loss.png").read_bytes()[:4] == b"\x89PNG"


def test_gpt_trains_generates_names_and_draws_one_attention_head(tmp_path):
    picture = tmp_path / "attention.svg"
    out = run_example("gpt.py", "--steps", "4", "--seed", "3", "--samples", "5",
                      "--attention", str(picture))
    assert "4192 parameters" in out
    match = re.search(r"4 steps in [\d.]+ s \([\d.]+ ms/step\); mean loss of the first 4 steps "
                      r"([\d.]+), of the last 4 ([\d.]+)", out)
    assert match, out
    assert 2.5 < float(match.group(1)) < 4.0  # about log(27) = 3.3 before training
    generated = re.search(r"new names: (.*)", out).group(1).split(", ")
    assert len(generated) == 5 and all(re.fullmatch(r"[a-z]*", g) for g in generated)
    svg = picture.read_text()
    assert svg.startswith("<?xml") or "<svg" in svg[:500]
    assert "logsumexp(score)" in svg and "score2" in svg and "head 0 output[0]" in svg


def test_gpt_same_seed_same_run():
    args = ("--steps", "2", "--seed", "7", "--samples", "3")
    first, second = run_example("gpt.py", *args), run_example("gpt.py", *args)
    strip = lambda text: re.sub(r"[\d.]+ s \([\d.]+ ms/step\)", "", text)  # noqa: E731
    assert strip(first) == strip(second)


def test_gpt_compiled_gives_the_engines_losses_and_names(tmp_path):
    """--compile numpy and python: the same losses as the engine to 1e-9 relative, the same
    generated names, and --json writes losses, step times and the compile time."""
    import json

    runs = {}
    for mode in ("engine", "numpy", "python"):
        path = tmp_path / f"{mode}.json"
        args = ["--steps", "6", "--seed", "5", "--samples", "4", "--json", str(path)]
        out = run_example("gpt.py", *args, *([] if mode == "engine" else ["--compile", mode]))
        runs[mode] = (json.loads(path.read_text()), re.search(r"new names: (.*)", out).group(1))
    engine, names = runs["engine"]
    assert engine["compile_ms"] == 0 and len(engine["losses"]) == len(engine["step_ms"]) == 6
    for mode in ("numpy", "python"):
        got, got_names = runs[mode]
        assert got_names == names
        assert got["compile_ms"] > 0 and len(got["step_ms"]) == 6
        for a, b in zip(got["losses"], engine["losses"]):
            assert abs(a - b) <= 1e-9 * abs(b)


def test_gpt_refuses_bad_arguments_with_a_message():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args, message in ((["--steps", "0"], "--steps must be a positive int, got 0"),
                          (["--steps", "many"], "invalid int value: 'many'"),
                          (["--seed", "-1"], "--seed must be an int >= 0, got -1"),
                          (["--samples", "-2"], "--samples must be an int >= 0, got -2")):
        result = subprocess.run([sys.executable, str(ROOT / "examples" / "gpt.py"), *args],
                                capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
        assert result.returncode == 2, args
        assert message in result.stderr and "usage:" in result.stderr


def test_why_topological_order_shows_each_wrong_gradient_beside_the_right_one(tmp_path):
    out = run_example("why_topological_order.py", "--out", str(tmp_path))
    cases = re.split(r"\n(?=\w+ graph, )", out)
    assert [c.splitlines()[0] for c in cases[1:]] == [
        "shared graph, naive recursive backward:", "shared graph, = instead of += backward:",
        "twice graph, naive recursive backward:", "twice graph, = instead of += backward:"]
    shared_naive, shared_assign, twice_naive, twice_assign = cases[1:]
    assert re.search(r"a\.grad\s+-36\s+-33\s+<- differs", shared_naive)
    assert "the path d -> e -> a (and -> b) is counted twice" in shared_naive
    assert re.search(r"e\.grad\s+10\s+11\s+<- differs", shared_assign)
    assert "the direct path d -> e is lost" in shared_assign
    assert "differs" not in twice_naive and "right here" in twice_naive
    assert re.search(r"a\.grad\s+1\s+2\s+<- differs", twice_assign)
    assert "one of the two paths from b to a is lost" in twice_assign
    for name in ("shared_naive", "shared_assign", "twice_naive", "twice_assign"):
        png = tmp_path / f"why_{name}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"why_{n}.png" for n in ("shared_naive", "shared_assign", "twice_naive", "twice_assign"))
    assert re.search(r"z\.backward\(\) raises ValueError: the graph has a cycle: "
                     r"Value\(data=4\.0, grad=0\.0, label='z'\) depends on itself", out)


@pytest.mark.parametrize("name", ["moons.py", "spiral.py", "newton.py", "perceptron.py",
                                  "gpt.py"])
def test_help_prints_the_usage_and_runs_nothing(name):
    out = run_example(name, "--help")
    assert out.startswith(f"usage: python examples/{name}")
    assert not re.search(r"accuracy \d|loss \d|minimum at|step +\d", out)


@pytest.mark.parametrize("name", ["moons.py", "spiral.py"])
def test_an_unknown_option_is_refused_before_training(name):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--plott", "out"],
                            capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert result.returncode == 2 and result.stdout == ""
    assert "unrecognized arguments: --plott" in result.stderr
