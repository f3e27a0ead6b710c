"""The training pictures: valid image files, written atomically, with clear errors."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from micrograd_nn.datasets import make_blobs, make_moons
from micrograd_nn.nn import MLP
from micrograd_nn.plots import MAX_RESOLUTION, plot_decision_boundary, plot_loss
from micrograd_nn.train import History, accuracy, fit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    X, y = make_moons(30, noise=0.1, seed=0)
    model = MLP(2, [6, 1], seed=0)
    history = fit(model, X, y, optimizer="adam", lr=0.05, epochs=5, progress=False)
    return model, X, y, history


def test_plot_loss_writes_a_png_and_an_svg(trained, tmp_path):
    *_, history = trained
    png = plot_loss(history, tmp_path / "loss.png")
    assert png == tmp_path / "loss.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    svg = plot_loss(history, tmp_path / "sub" / "loss.svg", title="my title")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "my title" in svg.read_text()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["loss.png", "loss.svg", "sub"]


def test_plot_decision_boundary_two_and_three_classes(trained, tmp_path):
    model, X, y, _ = trained
    path = plot_decision_boundary(model, X, y, tmp_path / "moons.png", resolution=20)
    assert path.read_bytes()[:8] == PNG_MAGIC

    X3, y3 = make_blobs(30, centers=3, seed=0)
    model3 = MLP(2, [4, 3], seed=0)
    svg = plot_decision_boundary(model3, X3, y3, tmp_path / "blobs.svg", resolution=15)
    text = svg.read_text()
    ET.fromstring(text)
    for c in range(3):
        assert f"class {c}" in text  # the legend names every class


@pytest.mark.parametrize("loss", [None, "mse"])
def test_the_title_reads_the_accuracy_from_train_predict(trained, tmp_path, monkeypatch, loss):
    """The picture classifies the samples with train.predict, not a copy of its rule."""
    import micrograd_nn.plots as plots

    model, X, y, _ = trained
    calls = []
    real_predict = plots.predict

    def spy(m, data, name=None):
        calls.append(name)
        return real_predict(m, data, name)

    monkeypatch.setattr(plots, "predict", spy)
    svg = plot_decision_boundary(model, X, y, tmp_path / "b.svg", loss=loss, resolution=10)
    assert calls == [loss]
    expected = f"{accuracy(model, X, y, loss=loss):.1%}".replace("%", "")
    assert f"Decision boundary ({expected}" in svg.read_text()


def test_existing_file_is_replaced_whole(trained, tmp_path):
    *_, history = trained
    target = tmp_path / "loss.png"
    target.write_bytes(b"old")
    plot_loss(history, target)
    assert target.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left


def test_bad_arguments(trained, tmp_path):
    model, X, y, history = trained
    with pytest.raises(ValueError, match="suffix"):
        plot_loss(history, tmp_path / "loss")
    with pytest.raises(ValueError, match="unsupported image format 'xyz'"):
        plot_loss(history, tmp_path / "loss.xyz")
    with pytest.raises(ValueError, match="empty"):
        plot_loss(History("hinge"), tmp_path / "loss.png")
    with pytest.raises(TypeError, match="History"):
        plot_loss([0.5, 0.4], tmp_path / "loss.png")
    with pytest.raises(ValueError, match="2 features"):
        plot_decision_boundary(MLP(3, [2, 1]), np.zeros((4, 3)), [0, 1, 0, 1],
                               tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"resolution must be an int in \[2, 500\], got 1"):
        plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=1)
    with pytest.raises(TypeError, match=r"resolution must be an int in \[2, 500\], got float"):
        plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=20.0)
    with pytest.raises(ValueError, match="unknown loss 'zzz'"):
        plot_decision_boundary(model, X, y, tmp_path / "b.png", loss="zzz")
    assert list(tmp_path.iterdir()) == []


def test_a_decision_boundary_finer_than_max_resolution_is_refused_before_the_model_runs(
        tmp_path):
    X, y = make_moons(20, seed=0)

    def model(row):
        raise AssertionError("the model was evaluated before the resolution was checked")

    for resolution in (MAX_RESOLUTION + 1, 10**9):
        with pytest.raises(ValueError, match=r"resolution must be an int in \[2, 500\], got "
                                             + str(resolution)):
            plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=resolution)
    assert list(tmp_path.iterdir()) == []


def test_a_plot_title_that_is_not_text_is_a_type_error(tmp_path):
    X, y = make_moons(20, seed=0)
    model = MLP(2, [1], seed=0)
    history = fit(model, X, y, loss="hinge", epochs=2, progress=False)
    with pytest.raises(TypeError, match="title must be a str or None, got list"):
        plot_decision_boundary(model, X, y, tmp_path / "b.png", title=["a title"])
    with pytest.raises(TypeError, match="title must be a str or None, got int"):
        plot_loss(history, tmp_path / "l.png", title=3)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("padding, error, message", [
    (float("nan"), ValueError, r"padding must be a number in \[0, 10\), got nan"),
    (1e308, ValueError, r"padding must be a number in \[0, 10\), got 1e\+308"),
    (-5.0, ValueError, r"padding must be a number in \[0, 10\), got -5.0"),
    ("a", TypeError, r"padding must be a number in \[0, 10\), got str"),
])
def test_the_padding_of_a_decision_boundary_is_checked_first(padding, error, message, tmp_path):
    """It was blamed on X ("X contains 200 NaN or infinite values"), or drew axes upside down."""
    X, y = make_moons(20, seed=0)
    with pytest.raises(error, match=message):
        plot_decision_boundary(MLP(2, [1], seed=0), X, y, tmp_path / "b.png", padding=padding)
    assert list(tmp_path.iterdir()) == []
