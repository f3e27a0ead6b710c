"""Every example runs to the end and reaches its target (full runs: each takes seconds)."""

import os
import re
import subprocess
import sys
from pathlib import Path

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
