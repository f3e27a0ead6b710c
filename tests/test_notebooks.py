"""The notebooks in examples/notebooks run top to bottom in a real Jupyter kernel (nbclient and
ipykernel, the 'notebooks' extra), and show what they promise: diagrams as SVG, the chain rule
by hand equal to the engine, a trained moons classifier, Newton converging."""

import os
import re
from pathlib import Path

import pytest

from needs import missing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "examples" / "notebooks"
NAMES = ["01_neuron.ipynb", "02_moons.ipynb", "03_newton.ipynb",
         "04_why_topological_order.ipynb"]


def kernel_tools():
    try:
        import ipykernel  # noqa: F401  (the kernel the notebooks run in)
        import nbclient
        import nbformat
    except ImportError as error:
        missing(f"{error.name} is not installed: pip install -e '.[notebooks]'")
    return nbclient, nbformat


@pytest.fixture(scope="module")
def executed():
    """name -> the notebook after running every cell in a fresh python3 kernel (run once)."""
    nbclient, nbformat = kernel_tools()
    done = {}

    def run(name):
        if name not in done:
            nb = nbformat.read(NOTEBOOKS / name, as_version=4)
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                               env.get("PYTHONPATH")]))
            client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                             resources={"metadata": {"path": str(ROOT)}})
            client.execute(env=env)  # raises CellExecutionError on any error in any cell
            done[name] = nb
        return done[name]

    return run


def outputs(nb, mime: str) -> list:
    """Every output of the notebook with this MIME type, in order ("stream" for printed text)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if mime == "stream" and out["output_type"] == "stream":
                found.append(out["text"])
            elif mime in out.get("data", {}):
                found.append(out["data"][mime])
    return found


def printed(nb) -> str:
    return "".join(outputs(nb, "stream"))


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_clean(name):
    """Committed without outputs, so nothing committed can be stale: the tests make them."""
    import json
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


def test_neuron_notebook(executed):
    nb = executed("01_neuron.ipynb")
    text = printed(nb)
    assert "z = 0.8500   yhat = 0.7006   loss = 0.08966" in text
    svgs = outputs(nb, "image/svg+xml")
    assert len(svgs) == 2  # the diagram of loss, then the exercise
    diagram, exercise = svgs
    assert diagram.lstrip().startswith(("<?xml", "<svg")) and "<svg" in diagram
    assert "grad &#45;0.1884" in diagram and "yhat" in diagram  # dloss/dw1 in w1's box
    assert re.search(r"grad _{8,}", exercise) and "grad &#45;0.1884" not in exercise
    assert "dloss/dw1" in text  # explain's output
    rows = re.findall(r"dloss/d(\w+)\s+by hand ([+-][\d.]+)\s+engine ([+-][\d.]+)", text)
    assert [r[0] for r in rows] == ["yhat", "z", "w1", "w2", "b"]
    assert all(by_hand == engine for _, by_hand, engine in rows)
    assert dict((r[0], float(r[1])) for r in rows)["w1"] == pytest.approx(-0.188439, abs=1e-6)
    before, after = map(float, re.search(r"loss before ([\d.]+), after one step ([\d.]+)",
                                         text).groups())
    assert after < before


def test_moons_notebook(executed):
    nb = executed("02_moons.ipynb")
    text = printed(nb)
    assert "MLP(2 -> [16 relu, 16 relu, 1 linear], 337 parameters)" in text
    final = re.search(r"after 100 steps: loss ([\d.]+), accuracy (\d+)%", text)
    assert final and float(final.group(2)) >= 97, text
    first = float(re.search(r"before training: loss ([\d.]+)", text).group(1))
    assert float(final.group(1)) < first
    pngs = outputs(nb, "image/png")
    assert len(pngs) == 2  # the data, then the decision boundary


def test_newton_notebook(executed):
    nb = executed("03_newton.ipynb")
    text = printed(nb)
    assert "y = 0.125, dy/dx = 0.75, d2y/dx2 = 3.0" in text
    svgs = outputs(nb, "image/svg+xml")
    assert len(svgs) == 1 and "dy/dx" in svgs[0]  # the gradient's own graph, drawn
    steps_1d = re.findall(r"step \d+: x = ([+-][\d.]+)", text)
    x = float(steps_1d[-1])
    assert 4 * x ** 3 - 6 * x + 1 == pytest.approx(0.0, abs=1e-9) and 1.1 < x < 1.2
    point = re.search(r"minimum at \[([\d.]+)\s+([\d.]+)\]", text)
    assert point and float(point.group(1)) == pytest.approx(1.0, abs=1e-9)
    assert float(point.group(2)) == pytest.approx(1.0, abs=1e-9)
    assert len(re.findall(r"step \d+: \(x, y\)", text)) <= 10  # Newton: a few steps


def test_why_topological_order_notebook(executed):
    nb = executed("04_why_topological_order.ipynb")
    text = printed(nb)
    rows = re.findall(r"^(\w)\.grad\s+(-?\d+)\s+(-?\d+)(   <- differs)?$", text, re.M)
    # shared graph, naive recursive: a and b counted twice; twice graph, naive: right;
    # twice graph, =: one path lost; shared graph, =: the direct path d -> e lost
    assert rows == [
        ("a", "-36", "-33", "   <- differs"), ("b", "24", "22", "   <- differs"),
        ("c", "-6", "-6", ""), ("e", "11", "11", ""), ("f", "1", "1", ""),
        ("a", "2", "2", ""),
        ("a", "1", "2", "   <- differs"),
        ("a", "-30", "-33", "   <- differs"), ("b", "20", "22", "   <- differs"),
        ("c", "-6", "-6", ""), ("e", "10", "11", "   <- differs"), ("f", "1", "1", "")]
    pages = outputs(nb, "text/html")
    assert len(pages) == 3   # the wrong and the right diagrams, side by side, three times
    for page in pages:
        assert page.count("<svg") == 2 and "broken:" in page and "engine: backward()" in page
    assert "grad &#45;36" in pages[0] and "grad &#45;33" in pages[0]
    assert re.search(r"ValueError: the graph has a cycle: Value\(data=4.0, grad=0.0, "
                     r"label='z'\) depends on itself", text), text
