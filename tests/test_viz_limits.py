"""Bounded work when drawing: shapes that are slow to lay out are avoided, layouts have a time
limit, and wrong argument types are refused."""

import re
import stat

import pytest

from micrograd_nn import Value
from micrograd_nn.cli import main
from micrograd_nn.viz import RenderError, draw_graph, pipe, render
from micrograd_nn.viz.diagram import SPAN_BUDGET

EDGE = re.compile(r"^\t(\w+)(?::\w+)*(?::\w)? -> (\w+)(?::\w+)*(?::\w)?(?: \[(.*)\])?$")


def edges_of(dot: str) -> list:
    """(source, destination, attributes) of every edge of a DOT text."""
    return [m.groups() for m in map(EDGE.match, dot.splitlines()) if m]


def total_span(dot: str) -> int:
    """The ranks all edges cross in a longest-path layering, sources moved next to their first
    reader: what the layout program routes."""
    edges = [(a, b) for a, b, _ in edges_of(dot)]
    incoming: dict = {}
    for a, b in edges:
        incoming.setdefault(b, []).append(a)
    rank: dict = {}

    def rank_of(key):
        stack = [key]
        while stack:
            k = stack[-1]
            todo = [a for a in incoming.get(k, ()) if a not in rank]
            if todo:
                stack.extend(todo)
                continue
            rank[k] = 1 + max((rank[a] for a in incoming.get(k, ())), default=-1)
            stack.pop()
        return rank[key]

    for a, _ in edges:
        rank_of(a)
    for key in {a for a, _ in edges} - set(incoming):   # a source sits just before its reader
        rank[key] = min(rank_of(b) for a, b in edges if a == key) - 1
    return sum(rank_of(b) - rank[a] for a, b in edges)


def chain_of_sums(n: int) -> Value:
    x = Value(1.0, label="x")
    f = x
    for _ in range(n - 1):
        f = f + x
    f.backward()
    return f


def test_parallel_edges_are_drawn_once_with_a_count():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    edges = edges_of(draw_graph(y).source)
    from_x = [attrs for a, b, attrs in edges if a == "v0"]
    assert len(from_x) == 1
    assert "d(x*x)/dx = x = 3 (×2)" in from_x[0]
    unlabelled = [attrs for a, b, attrs in edges_of(draw_graph(y, show_local_grads=False).source)
                  if a == "v0"]
    assert len(unlabelled) == 1 and "×2" in unlabelled[0]


def test_different_parallel_labels_are_each_kept():
    x = Value(2.0, label="x")
    y = x / x
    y.backward()
    label = [attrs for a, b, attrs in edges_of(draw_graph(y).source) if a == "v0"]
    assert len(label) == 1
    assert label[0].count("d(x/x)/dx") == 2


def test_a_long_fan_out_is_cut_under_the_span_budget():
    f = chain_of_sums(241)
    uncut = sum(2 * k for k in range(1, 241))   # x feeds the k-th sum, 2k ranks away
    assert uncut > 50 * SPAN_BUDGET
    dot = draw_graph(f, max_nodes=250, max_edges=500).source
    assert total_span(dot) <= SPAN_BUDGET + 2
    again = re.findall(r"x \(again\)", dot)
    assert again
    # every copy shows the same value: data 1, and x's whole gradient, 241
    assert dot.count("grad 241") == 1 + len(again)


def test_a_small_graph_is_drawn_without_copies():
    f = chain_of_sums(8)
    assert "(again)" not in draw_graph(f).source


@pytest.fixture
def slow_renderer(tmp_path, monkeypatch):
    program = tmp_path / "slow-dot"
    program.write_text("#!/bin/sh\nsleep 30\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("MICROGRAD_NN_DOT", str(program))
    return program


def test_a_layout_past_the_time_limit_is_stopped_with_a_clear_error(slow_renderer, tmp_path):
    x = Value(1.0, label="x")
    with pytest.raises(RenderError, match="time limit of 0.2 s"):
        render(x, tmp_path / "x.svg", timeout=0.2)
    assert not list(tmp_path.glob("*.svg"))
    with pytest.raises(RenderError, match="time limit"):
        pipe(x, "png", timeout=0.2)


def test_the_graph_command_has_a_time_limit(slow_renderer, tmp_path, capsys):
    status = main(["graph", "--out", str(tmp_path / "g.svg"), "--timeout", "0.2"])
    assert status == 1
    assert "time limit of 0.2 s" in capsys.readouterr().err


@pytest.mark.parametrize("timeout, error", [(0, ValueError), (-1, ValueError),
                                            (float("nan"), ValueError), ("5", TypeError)])
def test_a_bad_timeout_is_refused(timeout, error, tmp_path):
    with pytest.raises(error, match="timeout"):
        render(Value(1.0), tmp_path / "x.svg", timeout=timeout)


@pytest.mark.parametrize("format", [5, b"svg", ["svg"]])
def test_a_format_that_is_not_a_str_is_a_type_error(format, tmp_path):
    with pytest.raises(TypeError, match="format must be a str"):
        render(Value(1.0), tmp_path / "x.svg", format=format)
    with pytest.raises(TypeError, match="format must be a str"):
        pipe(Value(1.0), format)
