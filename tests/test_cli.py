"""The command line: demo and train write valid files; bad arguments exit 2 with a message."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd_nn.cli import main
from micrograd_nn.nn import MLP

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def written_paths(stdout: str) -> list[Path]:
    lines = stdout.splitlines()
    start = lines.index("wrote:") + 1
    return [Path(line.strip()) for line in lines[start:] if line.startswith("  ")]


def check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > 5000  # a real picture, not an empty canvas


def test_demo_writes_pictures_graph_and_model(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--epochs", "3", "--out", str(out), "--no-progress"]) == 0
    stdout = capsys.readouterr().out
    assert "training accuracy" in stdout and "final loss" in stdout
    paths = written_paths(stdout)
    names = sorted(p.name for p in paths)
    assert names == ["moons_decision_boundary.png", "moons_loss.png", "moons_model.json",
                     "seed_neuron_graph.svg"]
    assert sorted(p.name for p in out.iterdir()) == names
    for path in paths:
        assert path.parent == out
    check_png(out / "moons_loss.png")
    check_png(out / "moons_decision_boundary.png")
    svg = ET.parse(out / "seed_neuron_graph.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "w1" in (out / "seed_neuron_graph.svg").read_text()
    model = MLP.load(out / "moons_model.json")
    assert model.nin == 2 and model.nouts == [16, 16, 1]


@pytest.mark.parametrize("argv, width", [
    (["--dataset", "moons", "--loss", "bce_with_logits", "--optimizer", "sgd", "--lr", "0.5"], 1),
    (["--dataset", "circles", "--hidden", "8", "--activation", "tanh", "--schedule", "linear"],
     1),
    (["--dataset", "xor", "--batch-size", "8", "--init", "he", "--noise", "0.05"], 1),
    (["--dataset", "blobs", "--classes", "4", "--loss", "mse"], 4),
    (["--dataset", "spiral", "--hidden", "", "--l2", "0"], 3),
])
def test_train_every_dataset(argv, width, tmp_path, capsys):
    dataset = argv[1]
    rc = main(["train", *argv, "--epochs", "2", "--samples", "24", "--seed", "3",
               "--out", str(tmp_path), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"{dataset}: 24 points" in captured.out
    paths = written_paths(captured.out)
    assert [p.name for p in paths] == [f"{dataset}_loss.png",
                                       f"{dataset}_decision_boundary.png",
                                       f"{dataset}_model.json"]
    check_png(paths[0])
    check_png(paths[1])
    state = json.loads(paths[2].read_text())
    assert state["nouts"][-1] == width


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "spiral", "--loss", "hinge"],
     "--loss hinge is for two classes, but spiral has 3"),
    (["train", "--dataset", "blobs", "--loss", "bce"], "--loss bce is for two classes"),
    (["train", "--hidden", "0,16"], "every hidden layer needs at least 1 neuron"),
    (["train", "--hidden", "16,x"], "comma-separated positive ints"),
    (["train", "--hidden", "1000000000"], "--hidden 1000000000: MLP(2, [1000000000, 1]) would "
                                          "have 4,000,000,001 parameters in 1,000,000,001 "
                                          "neurons and 2 layers, a size of 8,000,000,013"),
    (["train", "--dataset", "swiss"], "invalid choice: 'swiss'"),
    (["train", "--epochs", "0"], "expected a positive int, got 0"),
    (["train", "--lr", "-1"], "lr must be a finite number >= 0, got -1.0"),
    (["train", "--lr", "nan"], "lr must be a finite number >= 0, got nan"),
    (["train", "--lr", "inf"], "lr must be a finite number >= 0, got inf"),
    (["train", "--lr", "fast"], "expected a number, got 'fast'"),
    (["train", "--l2=-inf"], "expected a finite number >= 0, got -inf"),
    (["train", "--noise", "infinity"], "expected a finite number >= 0"),
    (["train", "--noise", "-0.5"], "expected a finite number >= 0"),
    (["train", "--batch-size", "0"], "expected a positive int"),
    (["train", "--samples", "1"], "at least the number of classes"),
    (["train", "--dataset", "xor", "--classes", "3"], "--classes applies to blobs and spiral"),
    (["train", "--dataset", "spiral", "--classes", "1"], "n_classes must be an int >= 2, got 1"),
    (["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (["train", "--loss", "squared"], "invalid choice: 'squared'"),
    (["demo", "--epochs", "-3"], "expected a positive int"),
    (["demo", "--unknown"], "unrecognized arguments: --unknown"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, tmp_path, capsys):
    rc = main([*argv, "--out", str(tmp_path)] if argv and argv[0] in ("train", "demo") else argv)
    captured = capsys.readouterr()
    assert rc == 2
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written


def test_graph_delegates_to_viz(tmp_path, capsys):
    out = tmp_path / "neuron.svg"
    assert main(["graph", "--out", str(out)]) == 0
    assert written_paths(capsys.readouterr().out) == [out]
    ET.parse(out)
    assert main(["graph", "--highlight", "nope", "--out", str(out)]) == 2
    assert "nope" in capsys.readouterr().err


def test_graph_reports_a_value_error_from_viz_as_a_usage_error(monkeypatch, tmp_path, capsys):
    """Whatever ValueError the drawing raises (not only a class the CLI knows) exits 2."""
    import micrograd_nn.viz as viz

    def refuse(*args, **kwargs):
        raise ValueError("--depth must be positive")

    monkeypatch.setattr(viz, "draw_graph", refuse)
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert err == "micrograd-nn graph: error: --depth must be positive\n"
    assert list(tmp_path.iterdir()) == []


def test_graph_too_large_names_the_options_of_the_command(tmp_path, capsys):
    assert main(["graph", "--max-edges", "3", "--out", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert ("the graph has 10 values and 9 arrows, more than --max-nodes 250 / --max-edges 3: "
            "pass --collapse to draw each neuron as one node") in err
    assert "collapse=True" not in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, said", [
    (["--exercise", "local", "--edge-labels", "flow"],
     "--exercise local blanks the local derivatives on the arrows, which --edge-labels flow "
     "does not show: use --edge-labels local or both, without --no-local-grads"),
    (["--exercise", "local", "--no-local-grads"],
     "which --no-local-grads leaves out: use --edge-labels local or both, without "
     "--no-local-grads"),
    (["--exercise", "grads", "--no-grads"],
     "--exercise grads blanks the grads in the boxes, which --no-grads leaves out: "
     "drop --no-grads"),
    (["--exercise", "both", "--no-grads", "--no-local-grads"],
     "which --no-grads and --no-local-grads leave out"),
    (["--paths-only"], "--paths-only draws the paths from the output to a value: pass "
                       "--highlight too"),
])
def test_graph_says_the_drawings_refusals_in_its_own_options(args, said, tmp_path, capsys):
    assert main(["graph", *args, "--out", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "=" not in err          # no parameter of draw_graph's (show_grads=False, ...)
    assert list(tmp_path.iterdir()) == []


def test_graph_legend_on_a_worksheet_only_when_asked(tmp_path, capsys):
    sheet, with_legend = tmp_path / "sheet.svg", tmp_path / "legend.svg"
    assert main(["graph", "--exercise", "both", "--out", str(sheet)]) == 0
    assert main(["graph", "--exercise", "both", "--legend", "--out", str(with_legend)]) == 0
    assert "<title>legend</title>" not in sheet.read_text()
    assert "<title>legend</title>" in with_legend.read_text()
    capsys.readouterr()
    assert main(["graph", "--legend", "--no-legend", "--out", str(tmp_path / "g.svg")]) == 2
    assert "not allowed with argument --legend" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    assert "--batch-size" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run(
        [sys.executable, "-m", "micrograd_nn", "train", "--dataset", "spiral", "--loss", "hinge",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 2
    assert "micrograd-nn train: error: --loss hinge is for two classes" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unwritable_output_folder_fails_before_training(tmp_path, capsys):
    from micrograd_nn.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--out", str(blocker / "out"), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "cannot write the results" in captured.err
    assert "trained in" not in captured.out


@pytest.mark.parametrize("argv, message", [
    (["--samples", "5000000"], "dataset moons: X of 5,000,000 samples of 2 features would hold "
                               "10,000,000 numbers, more than micrograd_nn.datasets.MAX_VALUES"),
    (["--samples", "100000"], "a step over a batch of 100,000 samples would build a graph of "),
    (["--samples", "100000", "--batch-size", "50000"], "train in batches of at most 27,"),
])
def test_train_refuses_more_data_than_memory_holds_before_the_first_step(
        argv, message, tmp_path, capsys, monkeypatch):
    """train --samples 5000000 passed every check and reached 8.8 GB: a full-batch graph of a
    million samples. It is refused now, in words, before any training step."""
    from micrograd_nn import train

    def no_step(*args):
        raise AssertionError("a training step ran")

    monkeypatch.setattr(train, "_epoch", no_step)
    assert main(["train", *argv, "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
