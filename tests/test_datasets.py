"""The dataset generators: shapes, dtypes, determinism, balance, geometry and argument checks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from micrograd_nn.datasets import (
    DATASETS, make_blobs, make_circles, make_dataset, make_moons, make_spiral, make_xor,
)

N_CLASSES = {"moons": 2, "circles": 2, "xor": 2, "blobs": 3, "spiral": 3}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shapes_and_dtypes(name):
    X, y = DATASETS[name](n_samples=61, seed=0)
    assert X.shape == (61, 2)
    assert y.shape == (61,)
    assert X.dtype == np.float64
    assert np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == set(range(N_CLASSES[name]))
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    X1, y1 = DATASETS[name](n_samples=40, seed=7)
    X2, y2 = DATASETS[name](n_samples=40, seed=7)
    X3, _ = DATASETS[name](n_samples=40, seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", sorted(DATASETS))
@given(n=st.integers(min_value=3, max_value=120), seed=st.integers(0, 2**32 - 1))
def test_classes_balanced_within_one(name, n, seed):
    _, y = DATASETS[name](n_samples=n, seed=seed)
    counts = np.bincount(y, minlength=N_CLASSES[name])
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_rows_are_shuffled(name):
    _, y = DATASETS[name](n_samples=200, seed=1)
    # unshuffled data would be one block per class: few label changes between neighbours
    assert np.count_nonzero(np.diff(y)) > 20


def test_generator_seed_is_used_as_is():
    a = make_moons(20, seed=np.random.default_rng(3))
    b = make_moons(20, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])


def test_noise_free_geometry():
    X, y = make_moons(50, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= -1e-12) and np.all(lower[:, 1] <= 0.5 + 1e-12)

    X, y = make_circles(40, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)

    X, y = make_xor(80, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    assert np.all(np.abs(X) >= 0.1) and np.all(np.abs(X) <= 1.0)

    X, y = make_spiral(90, n_classes=3, noise=0.0, seed=0)
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


def test_blobs_centers():
    centers = [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]
    X, y = make_blobs(10, centers=centers, noise=0.0, seed=0)
    assert X.shape == (10, 3)
    np.testing.assert_array_equal(X, np.asarray(centers)[y])

    X, y = make_blobs(40, centers=4, noise=0.1, seed=0, n_features=3)
    assert X.shape == (40, 3) and set(y) == {0, 1, 2, 3}
    for c in range(4):  # each blob sits around its own center, far from the others
        assert np.linalg.norm(X[y == c].mean(axis=0)[:2]) == pytest.approx(2.0, abs=0.2)


def test_spiral_more_classes():
    X, y = make_spiral(100, n_classes=5, seed=0)
    assert X.shape == (100, 2) and set(y) == set(range(5))


def test_make_dataset_by_name():
    X, y = make_dataset("circles", n_samples=10, seed=0)
    np.testing.assert_array_equal(X, make_circles(10, seed=0)[0])
    with pytest.raises(ValueError, match="unknown dataset 'swiss'.*moons"):
        make_dataset("swiss")


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_samples": 0}, ValueError, "n_samples must be a positive int, got 0"),
    ({"n_samples": -5}, ValueError, "n_samples must be a positive int, got -5"),
    ({"n_samples": 1}, ValueError, "at least the number of classes"),
    ({"n_samples": 10.0}, TypeError, "n_samples must be a positive int, got float: 10.0"),
    ({"n_samples": True}, TypeError, "n_samples must be a positive int, got bool"),
    ({"noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": float("nan")}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": "high"}, TypeError, "noise must be a finite number >= 0, got str"),
    ({"noise": float("inf")}, ValueError, "noise must be a finite number >= 0, got inf"),
    ({"seed": -1}, ValueError, "seed must be an int >= 0, .* got -1"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
])
def test_bad_arguments(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        DATASETS[name](**kwargs)


def test_numpy_ints_count_as_ints():
    X, y = make_spiral(np.int64(30), n_classes=np.int32(3), seed=np.int64(4))
    X2, y2 = make_spiral(30, n_classes=3, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("maker, kwargs, message", [
    (make_circles, {"factor": 1.0}, r"factor .* must be in \(0, 1\)"),
    (make_circles, {"factor": 0}, r"factor .* must be in \(0, 1\)"),
    (make_blobs, {"centers": 1}, "centers must be an int >= 2, got 1"),
    (make_blobs, {"centers": [[0.0, 1.0]]}, r"shape \(k, n_features\) with k >= 2"),
    (make_blobs, {"centers": [[0.0, np.nan], [1.0, 1.0]]}, "centers must be finite"),
    (make_blobs, {"n_features": 1}, "n_features must be an int >= 2, got 1"),
    (make_spiral, {"n_classes": 1}, "n_classes must be an int >= 2, got 1"),
])
def test_bad_specific_arguments(maker, kwargs, message):
    with pytest.raises(ValueError, match=message):
        maker(**kwargs)


# -------------------------------------------------------------------------------------------------
# names(): the shipped list of first names


def test_names_are_a_few_thousand_lowercase_first_names_each_once():
    from micrograd_nn.datasets import names
    words = names()
    assert 3000 <= len(words) <= 10000
    assert len(set(words)) == len(words)
    assert words == sorted(words)
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert {"mary", "james", "emma", "john"} <= set(words)
    assert max(map(len, words)) < 16  # fits a block of 16 tokens with its start/end token


def test_names_returns_a_new_list_each_call():
    from micrograd_nn.datasets import names
    first = names()
    first.clear()
    assert len(names()) > 3000


def _can_build_wheels_here() -> bool:
    """Whether this environment's own setuptools can build the wheel (pyproject.toml asks for
    setuptools >= 64 with bdist_wheel, which setuptools ships from 70.1 on and the 'wheel'
    package adds before that). A fresh venv often cannot: Python 3.11's brings setuptools 65.5
    without 'wheel', 3.12 and later bring no setuptools at all."""
    import importlib.util
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or (
        major >= 64 and importlib.util.find_spec("wheel") is not None)


def test_names_file_is_packaged_with_its_source(tmp_path):
    """A wheel built from the project contains the data file, whose header names its source.

    The wheel is built as pip builds it for a user: in an isolated environment with the build
    requirements pyproject.toml names, unless this environment can build it itself (then offline,
    with its own setuptools). Either way it works in a fresh venv of any supported Python."""
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for item in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(root / item, tmp_path / item)
    shutil.copytree(root / "micrograd_nn", tmp_path / "micrograd_nn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    isolation = ["--no-build-isolation"] if _can_build_wheels_here() else []
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", *isolation,
                           "-q", "-w", str(tmp_path / "dist")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        text = z.read("micrograd_nn/data/names.txt").decode("utf-8")
        # the exercises' stubs and solutions ship too (`exercises start` and `solve` copy them)
        for kind in ("stubs", "solutions"):
            assert z.read(f"micrograd_nn/exercises/{kind}/task1_add_mul.py")
    assert "1990" in text.splitlines()[0] and "public domain" in text.splitlines()[0]

@pytest.mark.parametrize("make, numbers", [
    (lambda: make_moons(10**7), "20,000,000"), (lambda: make_moons(1_000_001), "2,000,002"),
    (lambda: make_spiral(2 * 10**6, n_classes=10**6), "4,000,000"),
    (lambda: make_blobs(10**6, n_features=3), "3,000,000")])
def test_datasets_past_two_million_numbers_are_refused(make, numbers):
    """make_moons(10**7) took 25 s and 1 GB under a limit said to be 160 MB: the limit is now
    2,000,000 numbers (16 MB, about 100 MB at the peak of making it)."""
    with pytest.raises(ValueError, match=f"would hold {numbers} numbers, more than "
                                         r"micrograd_nn.datasets.MAX_VALUES = 2,000,000"):
        make()


def test_the_spiral_is_made_without_a_loop_over_its_arms(monkeypatch):
    """make_spiral(2 * 10**6, n_classes=10**6) ran for minutes, one numpy round per arm: the
    arms are now made all at once, so the calls into numpy do not grow with the arms."""
    from micrograd_nn import datasets
    calls = []

    class CountingNumpy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(np, name)

    monkeypatch.setattr(datasets, "np", CountingNumpy())
    X, y = make_spiral(2000, n_classes=1000, seed=0)
    assert X.shape == (2000, 2) and np.bincount(y).tolist() == [2] * 1000
    assert len(calls) < 40, len(calls)


def test_sizes_over_max_values_are_refused_before_allocating(monkeypatch):
    from micrograd_nn import datasets
    with pytest.raises(ValueError, match="MAX_VALUES = 2,000,000"):
        make_blobs(n_samples=10**20)
    with pytest.raises(ValueError, match="centers of 1,000,000,000 blobs"):
        make_blobs(n_samples=10, centers=10**9)
    with pytest.raises(ValueError, match="MAX_VALUES"):
        make_blobs(n_samples=10**6, n_features=100)
    monkeypatch.setattr(datasets, "MAX_VALUES", 100)
    with pytest.raises(ValueError, match="X of 51 samples of 2 features would hold 102"):
        make_moons(n_samples=51)
    assert make_moons(n_samples=50)[0].shape == (50, 2)


def test_make_blobs_refuses_complex_or_text_centers_instead_of_casting_them():
    for centers in ([[1 + 2j, 0], [0, 1]], [["1", "0"], ["0", "1"]]):
        with pytest.raises(TypeError, match="centers must be an int"):
            make_blobs(10, centers=centers, seed=0)
    X, y = make_blobs(10, centers=[[1, 0], [0, 1.5]], seed=0)
    assert X.shape == (10, 2) and set(y) == {0, 1}
