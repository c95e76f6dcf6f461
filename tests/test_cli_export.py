"""The machine-side commands end to end: encode, export (every format), check, machines, and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from fixtures_machine import random_glyph_gestures
from PIL import Image
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.gesture import load_gestures, load_gestures_meta, save_gestures

runner = CliRunner()


def igae(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained small model: enough for the plumbing."""
    import torch

    from igae_robot.model.checkpoint import Checkpoint, save_checkpoint
    from igae_robot.config import Config, ModelConfig
    from igae_robot.model.network import GestureAutoencoder

    torch.manual_seed(0)
    config = Config(model=ModelConfig(hidden=(32,)))
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    save_checkpoint(path, Checkpoint(GestureAutoencoder(config.model), config))
    return path


@pytest.fixture(scope="module")
def gestures_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "gestures.npz"
    save_gestures(path, random_glyph_gestures(12, seed=21), {"image_size": 28, "var_coef": 0.01, "var_eps": 1e-4})
    return path


def test_encode_images(checkpoint, tmp_path):
    images = []
    for i in range(3):
        img = np.full((40, 30), 255, dtype=np.uint8)
        img[10:30, 10 + i : 14 + i] = 0  # a dark bar on white paper
        images.append(tmp_path / f"digit{i}.png")
        Image.fromarray(img).save(images[-1])
    out = tmp_path / "g.npz"
    result = igae("encode", checkpoint, *images, "-o", out)
    assert result.exit_code == 0, result.output
    assert len(load_gestures(out)) == 3
    assert load_gestures_meta(out) == {"image_size": 28, "var_coef": 0.01, "var_eps": 0.0001}


def test_without_a_model_the_pen_engine_encodes_and_the_file_checks_against_its_source(tmp_path):
    images = []
    for i in range(2):
        img = np.full((60, 60), 255, dtype=np.uint8)
        img[10:50, 20 + 10 * i : 26 + 10 * i] = 0  # a dark bar on white paper
        img[10:16, 10:50] = 0  # and a bar across: a T, one stroke with a retrace
        images.append(tmp_path / f"t{i}.png")
        Image.fromarray(img).save(images[-1])
    out = tmp_path / "g.npz"
    result = igae("encode", *images, "-o", out)
    assert result.exit_code == 0, result.output
    gestures = load_gestures(out)
    assert len(gestures) == 2 and load_gestures_meta(out)["image_size"] == 112
    assert all(len(g.strokes()) == 1 for g in gestures)
    svg = tmp_path / "t.svg"
    assert igae("export", out, "-o", svg).exit_code == 0
    against = [a for image in images for a in ("--against", image)]
    checked = igae("check", svg, *against, "--size", "112", "--min-iou", "0.9")
    assert checked.exit_code == 0, checked.output
    data = igae("encode", "--data", "digits", "--indices", "0:3", "-o", tmp_path / "d.npz")
    assert data.exit_code == 0 and all(g.label >= 0 for g in load_gestures(tmp_path / "d.npz")), data.output


def test_encode_data_set_indices(checkpoint, tmp_path):
    out = tmp_path / "g.npz"
    result = igae("encode", checkpoint, "--data", "digits", "--indices", "5:9", "-o", out)
    assert result.exit_code == 0, result.output
    gestures = load_gestures(out)
    assert len(gestures) == 4 and all(g.label >= 0 for g in gestures) and gestures[0].variance is not None


@pytest.mark.parametrize(
    "args, name",
    [
        (["--format", "svg", "--page", "A4", "--layout", "grid"], "sheet.svg"),
        (["--format", "gcode", "--machine", "grbl-servo", "--page", "A4"], "sheet.gcode"),
        (["--format", "gcode", "--machine", "marlin", "--page", "A5", "--home"], "sheet.gcode"),
        (["--format", "waypoints", "--machine", "arm-table"], "path.json"),
        (["--format", "waypoints", "--machine", "arm-table"], "path.csv"),
        (["--format", "urscript", "--machine", "ur-table"], "draw.script"),
        ([], "sheet.ngc"),  # format from the suffix, default profile
    ],
)
def test_export_then_check_passes(gestures_file, tmp_path, args, name):
    out = tmp_path / name
    result = igae("export", gestures_file, *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert "pen-down" in result.output and out.is_file()
    check = igae("check", out, "--against", gestures_file)
    assert check.exit_code == 0, check.output
    assert check.output.startswith("PASS")


def test_check_json_and_failure_exit_code(gestures_file, tmp_path):
    out = tmp_path / "sheet.svg"
    assert igae("export", gestures_file, "-o", out).exit_code == 0
    result = igae("check", out, "--against", gestures_file, "--json")
    report = json.loads(result.output)
    assert report["passed"] and report["glyph_count"] == 12 and report["iou"] >= 0.99
    failed = igae("check", out, "--against", gestures_file, "--min-iou", "1.01")
    assert failed.exit_code == 1 and failed.output.startswith("FAIL")


def test_check_against_images(checkpoint, tmp_path):
    img = np.zeros((28, 28), dtype=np.uint8)
    img[6:22, 12:16] = 255
    Image.fromarray(img).save(tmp_path / "bar.png")
    assert igae("encode", checkpoint, tmp_path / "bar.png", "-o", tmp_path / "g.npz").exit_code == 0
    assert igae("export", tmp_path / "g.npz", "-o", tmp_path / "s.svg").exit_code == 0
    result = igae("check", tmp_path / "s.svg", "--against", tmp_path / "bar.png", "--min-iou", "0")
    assert result.exit_code == 0, result.output
    assert "against 1 image(s)" in result.output


def test_machines_lists_builtins_and_user_files(tmp_path):
    mine = tmp_path / "my-plotter.toml"
    mine.write_text('extends = "grbl-z"\ndescription = "mine"\nwork_area_mm = [600, 400]\n')
    result = runner.invoke(app, ["machines", str(mine)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("grbl-servo", "grbl-z", "marlin", "arm-table", "ur-table", "my-plotter", "X 0..600 Y 0..400"):
        assert name in result.output


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d, g: ["export", d / "missing.npz", "-o", d / "out.svg"], "no such gestures file"),
        (lambda d, g: ["export", g, "--format", "pdf", "-o", d / "out.pdf"], "unknown format 'pdf'"),
        (lambda d, g: ["export", g, "-o", d / "out.xyz"], "cannot tell the format"),
        (lambda d, g: ["export", d / "notes.npz", "-o", d / "out.svg"], "not a gestures .npz"),
        (lambda d, g: ["export", d / "nan.npz", "-o", d / "out.svg"], "NaN"),
        (lambda d, g: ["export", g, "-f", "gcode", "-m", "plotty", "-o", d / "out.gcode"], "unknown machine 'plotty'"),
        (lambda d, g: ["export", g, "-f", "gcode", "-m", "arm-table", "-o", d / "out.gcode"], "needs a plotter profile"),
        (lambda d, g: ["export", g, "--page", "A5", "--cell", "80mm", "-o", d / "out.svg"], "page too small"),
        (lambda d, g: ["export", g, "--page", "A3", "-f", "gcode", "-m", "grbl-servo", "-o", d / "out.gcode"], "outside the work area"),
        (lambda d, g: ["export", g, "--page", "A0", "-o", d / "out.svg"], "unknown page 'A0'"),
        (lambda d, g: ["check", d / "missing.svg", "--against", g], "no such file"),
        (lambda d, g: ["check", d / "notes.npz", "--against", g], "unknown file type"),
    ],
)
def test_bad_inputs_exit_2_with_one_clear_error_and_no_file(gestures_file, tmp_path, make_args, message):
    (tmp_path / "notes.npz").write_text("not numpy")
    np.savez(tmp_path / "nan.npz", points=np.full((1, 3, 2), np.nan), pressure=np.zeros((1, 3)), intensity=np.ones((1, 3)))
    result = igae(*make_args(tmp_path, gestures_file))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("out.*")) and not list(tmp_path.glob(".out.*"))  # no partial or temp file


def test_help_does_not_load_torch():
    code = "import sys; from igae_robot.cli.main import app; import igae_robot.exporters; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
