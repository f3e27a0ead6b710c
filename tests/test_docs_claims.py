"""What README.md and docs/*.md say about the code holds for the code (claims that once did not)."""

import inspect
import math
import re
from pathlib import Path

import pytest

from micrograd_nn import Op, Value, grad
from micrograd_nn.viz import DiagramTooLarge, draw_graph

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose() -> str:
    """Every page's text with its line breaks and runs of spaces as single spaces."""
    return " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in PAGES)


def python_blocks() -> list:
    return [block for page in PAGES for block in
            re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)]


def test_the_no_grad_snippet_runs_on_its_own():
    (snippet,) = [b for b in python_blocks() if "with no_grad():" in b and "detach()" in b]
    exec(compile(snippet, "no_grad snippet", "exec"), {})


def test_math_cos_in_a_rule_fails_as_the_docs_say():
    sin = Op("sin", math.sin, lambda x, out: (math.cos(x),), ("cos({0})",))
    x = Value(0.5)
    y = sin(x * x)
    assert grad(y, [x]) == [pytest.approx(2 * 0.5 * math.cos(0.25))]   # first order: right
    with pytest.raises(TypeError) as error:
        grad(y, [x], create_graph=True)
    text = prose()
    assert not re.search(r"math\.cos`?[^.]*silently wrong", text)


def test_the_long_chain_the_docs_time_is_drawn_with_the_limits_they_give():
    x = Value(1.0, label="x")
    f = x
    for _ in range(240):
        f = f + x
    with pytest.raises(DiagramTooLarge):
        draw_graph(f)
    assert "(again)" in draw_graph(f, max_edges=500).source
    text = prose()
    assert "241-value chain in about" not in text
    assert "241 values" not in text or "max_edges=500" in text


def test_the_docs_say_which_gradients_are_the_one_walk():
    """backward() is written out apart from backward_walk (its own sort and loop): no page may
    count it among the walk's users while that is so."""
    text = prose()
    backward_is_the_walk = "backward_walk" in inspect.getsource(Value.backward)
    for users in re.finditer(r"([^.]*) (?:are|is) (?:all )?(?:this|one) (?:backward )?walk", text):
        assert ("`backward()`" in users[1]) <= backward_is_the_walk, users[0]
    assert "one backward walk" not in text or backward_is_the_walk
