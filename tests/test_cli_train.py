"""The learning-side commands, end to end through typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from igae_robot.cli.main import app

runner = CliRunner()


def test_train_then_eval_json(tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--preset", "dynamic", "--epochs", "1", "--limit", "300", "--out", str(run),
                                 "--set", "model.hidden=[32]", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "pixel accuracy" in result.output
    for name in ("checkpoint.pt", "summary.json", "reconstructions.png", "gestures.png", "training_curves.png"):
        assert (run / name).is_file(), name
    result = runner.invoke(app, ["eval", str(run / "checkpoint.pt"), "--json", "--limit", "50"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["images"] == 50 and 0 <= metrics["pixel_accuracy"] <= 1


def test_user_errors_exit_2_with_one_clear_line(tmp_path):
    result = runner.invoke(app, ["train", "--preset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown preset 'nope'" in result.output
    result = runner.invoke(app, ["train", "--data", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "none of train-images-idx3-ubyte" in result.output
    result = runner.invoke(app, ["eval", str(tmp_path / "missing.pt")])
    assert result.exit_code == 2 and "no such checkpoint" in result.output
    result = runner.invoke(app, ["train", "--set", "train.lr=fast", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "train.lr must be float" in result.output


def test_help_does_not_import_torch():
    code = "import sys; from igae_robot.cli.main import app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_demo_writes_pictures_and_plotter_files(tmp_path):
    result = runner.invoke(app, ["demo", "--epochs", "2", "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    for name in ("checkpoint.pt", "reconstructions.png", "gestures.png", "training_curves.png", "gestures.npz",
                 "digits.svg", "digits.gcode"):
        assert (tmp_path / name).is_file(), name
    assert result.output.count("(PASS)") == 2, result.output
