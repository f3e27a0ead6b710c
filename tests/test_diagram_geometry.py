"""Every picture of the corpus (tests/diagram_corpus.py), rendered to SVG, without collisions:
no arrow label on another label or on a node, no arrow across a label but its own, no arrow
across a node's text, every label inside the cluster its arrow belongs to
(tests/svg_geometry.py says how each is measured)."""

import pytest

from diagram_corpus import corpus
from needs import missing
from svg_geometry import cairo_overflows, collisions, printed_size, read
from micrograd_nn.viz.rendering import pipe
from test_viz import needs_renderer

PICTURES = corpus()


@needs_renderer
@pytest.mark.parametrize("name", list(PICTURES))
def test_no_picture_of_the_corpus_has_a_collision(name):
    svg = pipe(PICTURES[name], "svg")
    assert_drawn(svg)
    found = collisions(svg)
    assert not found, f"{len(found)} collisions, e.g. " + "; ".join(found[:5])


def assert_drawn(svg) -> None:
    """The check read a picture: no collisions in an empty SVG (or one the reader cannot
    parse) would prove nothing."""
    elements = read(svg)
    nodes = [e for e in elements if e.kind == "node"]
    assert len(nodes) >= 3 and sum(e.kind == "edge" for e in elements) >= 2
    assert sum(len(e.texts) for e in nodes) >= 2 * len(nodes)     # a name and a number


def test_the_collision_test_refuses_an_empty_picture():
    with pytest.raises(AssertionError):
        assert_drawn(_svg(""))


def _svg(body: str) -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg"><g class="graph">' + body + '</g></svg>')


_NODE = ('<g class="node"><title>{name}</title><polygon fill="white" points="{x0},{y0} {x1},{y0}'
         ' {x1},{y1} {x0},{y1}"/><text x="{tx}" y="{ty}" font-size="10">{text}</text></g>')
_EDGE = ('<g class="edge"><title>{a}-&gt;{b}</title><path d="M{p},{q}C{p},{q} {r},{s} {r},{s}"/>'
         '<text x="{tx}" y="{ty}" font-size="10">{text}</text></g>')


def test_the_geometry_check_sees_each_kind_of_collision():
    a = _NODE.format(name="a", x0=0, y0=0, x1=60, y1=20, tx=5, ty=14, text="a")
    b = _NODE.format(name="b", x0=300, y0=0, x1=360, y1=20, tx=305, ty=14, text="b")
    c = _NODE.format(name="c", x0=0, y0=100, x1=60, y1=120, tx=5, ty=114, text="c")
    ab = _EDGE.format(a="a", b="b", p=60, q=10, r=300, s=10, tx=150, ty=5, text="dab = 1")
    assert collisions(_svg(a + b + ab)) == []
    # another arrow from c to b runs through the label of a -> b
    cb = _EDGE.format(a="c", b="b", p=60, q=110, r=300, s=-100, tx=100, ty=120, text="x")
    assert any(f.startswith("arrow across a label") for f in collisions(_svg(a + b + c + ab
                                                                              + cb)))
    # a label over another label, and over a node
    twin = _EDGE.format(a="c", b="b", p=60, q=110, r=300, s=110, tx=152, ty=6, text="dcb = 2")
    assert any(f.startswith("label on label") for f in collisions(_svg(a + b + c + ab + twin)))
    onto = _EDGE.format(a="c", b="b", p=60, q=110, r=300, s=110, tx=10, ty=110, text="dcb = 2")
    assert any(f.startswith("label on a node") for f in collisions(_svg(a + b + c + onto)))
    # an arrow through a node's text
    through = _EDGE.format(a="c", b="b", p=8, q=200, r=8, s=-30, tx=400, ty=200, text="")
    assert any(f.startswith("arrow across a node's text")
               for f in collisions(_svg(a + b + through)))
    # but not where a filled node drawn after it hides it
    assert not any(f.startswith("arrow across a node's text")
                   for f in collisions(_svg(b + through + a)))


def test_a_label_outside_its_cluster_is_seen():
    box = ('<g class="node"><title>box0</title><polygon fill="none" points="200,-50 280,-50 '
           '280,60 200,60"/></g>')
    a = _NODE.format(name="a", x0=0, y0=0, x1=60, y1=20, tx=5, ty=14, text="a")
    b = _NODE.format(name="b", x0=300, y0=0, x1=360, y1=20, tx=305, ty=14, text="b")
    ab = _EDGE.format(a="a", b="b", p=60, q=10, r=300, s=10, tx=210, ty=5, text="dab")
    assert [e.kind for e in read(_svg(box + a + b + ab))] == ["cluster", "node", "node", "edge"]
    assert any(f.startswith("label outside its cluster")
               for f in collisions(_svg(box + a + b + ab)))


@needs_renderer
@pytest.mark.parametrize("name", ["seed", "L = d*f"])
def test_a_slide_is_16_by_9_with_text_of_24_px_on_a_1920_by_1080_screen(name):
    import re
    from diagram_corpus import tutorial_expression
    from micrograd_nn.viz import draw_graph, seed_neuron
    root = seed_neuron() if name == "seed" else tutorial_expression()
    for labels in ("local", "flow", "both"):
        svg = pipe(draw_graph(root, preset="slide", edge_labels=labels), "svg").decode()
        width, height = map(float, re.search(r'viewBox="0.00 0.00 ([\d.]+) ([\d.]+)"',
                                             svg).groups())
        assert abs(width / height - 16 / 9) < 0.02
        assert printed_size(svg, 1920, 1080) >= 24, labels
        assert "legend" not in svg and not collisions(svg)


@needs_renderer
def test_a_slides_lines_side_by_side_are_an_em_apart():
    """With edge_labels='both' a slot's local derivative and what its arrow carries back
    share a row of the operation's box: a gap of a letter's width or more keeps
    '= 0.209773' and '-0.598866 × ...' from reading as '0.209773-0.598866'."""
    from micrograd_nn.viz import draw_graph, seed_neuron
    svg = pipe(draw_graph(seed_neuron(), preset="slide", edge_labels="both"), "svg")
    rows = 0
    for element in read(svg):
        if not element.name.startswith("op"):   # a value's cells have a rule between them
            continue
        by_line: dict = {}
        for text in element.texts:
            by_line.setdefault(round(text.box[3]), []).append(text)
        for line in by_line.values():
            line.sort(key=lambda t: t.box[0])
            for left, right in zip(line, line[1:]):
                rows += 1
                assert right.box[0] - left.box[2] >= left.size / 2, (left.text, right.text)
    assert rows >= 7         # the linear node's 5 slots, sigmoid's, -'s 2 and **2's


@needs_renderer
@pytest.mark.parametrize("name", ["seed both TB unfused", "MLP one sample flow",
                                  "MLP 4 samples focus", "GPT attention", "network 16x16"])
def test_text_stays_in_its_cell_when_cairosvg_draws_it(name):
    _need_cairo_with_helvetica_metrics()
    svg = pipe(PICTURES[name], "svg")
    assert b'font-family="Helvetica,' in svg     # a family cairo maps to Helvetica's metrics
    assert not cairo_overflows(svg)


def _need_cairo_with_helvetica_metrics():
    """cairosvg needs the system's cairo library, and a font with Helvetica's widths to draw
    what the layout measured: neither comes with pip. Without them the test skips on a
    newcomer's machine (saying what to install) and fails under CI, which installs both."""
    try:
        import cairocffi  # noqa: F401  (raises OSError, not ImportError, without libcairo)
    except (ImportError, OSError) as error:
        missing(f"cairosvg cannot load the cairo library ({error}); "
                "install Debian's libcairo2 to run this test")
    probe = ('<svg xmlns="http://www.w3.org/2000/svg"><g class="node"><polygon points="0,0 '
             '103,0 103,20 0,20"/><text x="0" y="15" font-family="Helvetica" font-size="10">'
             'grad -0.1884 data 0.25</text></g></svg>')      # 102 pt wide in Helvetica
    if cairo_overflows(probe):
        missing("cairo draws Helvetica with a font of other widths here (DejaVu Sans?): "
                "install a metric-compatible font such as Debian's fonts-liberation")


# a portrait A4 or Letter page's printable area: 6.5 x 9 inches, in points
PAGE_WIDTH, PAGE_HEIGHT = 6.5 * 72, 9 * 72


@needs_renderer
@pytest.mark.parametrize("exercise", ["grads", "local", "both"])
@pytest.mark.parametrize("name", ["seed", "L = d*f", "tanh neuron"])
def test_a_worksheet_and_its_key_print_at_page_width_with_text_of_11_pt(name, exercise):
    from diagram_corpus import tanh_neuron, tutorial_expression
    from micrograd_nn.viz import draw_graph, seed_neuron
    root = {"seed": seed_neuron, "L = d*f": tutorial_expression, "tanh neuron": tanh_neuron}[name]()
    for key in (False, True):
        svg = pipe(draw_graph(root, exercise=exercise, answer_key=key), "svg")
        # printed at 100% (a small picture is not blown up to the page's width)
        assert printed_size(svg, PAGE_WIDTH, PAGE_HEIGHT, enlarge=False) >= 11
        assert not collisions(svg)


@needs_renderer
@pytest.mark.parametrize("rankdir", ["LR", "RL"])
def test_a_worksheet_asked_for_across_reads_across(rankdir):
    """exercise= with rankdir='LR': each operation stands before its result along the
    reading direction (a page's pairs and rows, laid out down the page, stacked them)."""
    from micrograd_nn.viz import draw_graph, seed_neuron
    elements = read(pipe(draw_graph(seed_neuron(), exercise="both", rankdir=rankdir), "svg"))
    frames = {e.name: e.frame for e in elements if e.kind == "node"}
    arrows = [e.name.split("->") for e in elements
              if e.kind == "edge" and e.name.startswith("op")]
    assert len(arrows) == 4
    for tail, head in arrows:
        op, result = frames[tail.split(":")[0]], frames[head.split(":")[0]]
        if rankdir == "LR":
            assert op[2] <= result[0], (tail, head)
        else:
            assert result[2] <= op[0], (tail, head)


@needs_renderer
def test_a_layers_title_top_to_bottom_stands_at_its_boxs_left_clear_of_the_corner():
    """Centred, a layer's title was crossed by the arrows into the layer's middle neurons;
    at the left it must clear the rounded corner (6 pt)."""
    from micrograd_nn.nn import MLP
    from micrograd_nn.viz import draw_graph
    model = MLP(2, [4, 4, 1], seed=1)
    loss = (model([1.0, -0.5]) - 1.0) ** 2
    loss.backward()
    svg = pipe(draw_graph(loss, collapse=True, rankdir="TB"), "svg")
    titles = [(e, t) for e in read(svg) if e.kind == "cluster" for t in e.texts]
    assert [t.text for _, t in titles] == ["layer 1", "layer 2", "layer 3"]
    for box, title in titles:
        assert 6 <= title.box[0] - box.frame[0] < (box.frame[2] - box.frame[0]) / 4
    crossed = " ".join(collisions(svg))
    assert "'layer 1'" not in crossed and "'layer 2'" not in crossed
