"""Issue 11, items 5, 9, 10 and the smaller ones: every bad input is one clear line and exit code 2.

Each case drives the real command through typer's CliRunner.  The helper ``refused`` is the
contract of the CLI boundary: exit code 2, stderr exactly one line starting ``error:`` and naming
the problem, and no traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from igae_robot.cli.main import app

runner = CliRunner()
TINY_TRAIN = ["--preset", "dynamic", "--limit", "40", "--set", "model.hidden=[8]", "--set", "model.steps=4", "--no-progress"]


def igae(*args):
    return runner.invoke(app, [str(a) for a in args])


def refused(result, *words: str) -> str:
    """The CLI's promise for a user error; returns the one line."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"traceback instead of one line: {result.exception!r}\n{result.output}"
    )
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ---- item 5: train never silently overwrites a run ---------------------------------------------


def test_train_refuses_a_folder_that_holds_a_run(tiny_checkpoint, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tiny_checkpoint, run / "checkpoint.pt")
    before = (run / "checkpoint.pt").read_bytes()
    line = refused(igae("train", "--epochs", "1", "--out", run, *TINY_TRAIN), str(run / "checkpoint.pt"), "--resume", "--overwrite")
    assert "already" in line
    assert (run / "checkpoint.pt").read_bytes() == before
    assert not (run / "summary.json").exists()


def test_train_overwrite_replaces_the_run(tiny_checkpoint, tmp_path):
    from igae_robot.model.checkpoint import load_checkpoint

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tiny_checkpoint, run / "checkpoint.pt")
    result = igae("train", "--epochs", "1", "--out", run, "--overwrite", *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    assert load_checkpoint(run).epoch == 1


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_train_refuses_fewer_than_one_epoch(epochs, tmp_path):
    refused(igae("train", "--epochs", epochs, "--out", tmp_path / "run", *TINY_TRAIN), "train.epochs", epochs)
    assert not (tmp_path / "run").exists()


def test_resume_without_a_checkpoint_says_it_starts_fresh(tmp_path):
    result = igae("train", "--epochs", "1", "--resume", "--out", tmp_path / "run", *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    assert "warning: --resume" in result.stderr and "no checkpoint" in result.stderr, result.stderr


# ---- item 9: one clear line, never a traceback --------------------------------------------------


def test_out_folder_that_is_a_file(tiny_checkpoint, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    refused(igae("train", "--epochs", "1", "--out", a_file, *TINY_TRAIN), str(a_file), "not a folder")
    refused(igae("eval", tiny_checkpoint, "--limit", "5", "--pictures", a_file), str(a_file), "not a folder")
    refused(igae("cluster", tiny_checkpoint, "--limit", "30", "--seeds", "1", "--out", a_file, "--no-progress"), str(a_file))
    refused(igae("demo", "--epochs", "1", "--out", a_file, "--no-progress"), str(a_file))
    assert a_file.read_text() == "keep me"


def test_output_file_that_is_a_folder(tiny_checkpoint, tiny_gestures, tmp_path):
    folder = tmp_path / "folder.svg"
    folder.mkdir()
    refused(igae("export", tiny_gestures, "-o", folder), str(folder))
    refused(igae("encode", tiny_checkpoint, "--data", "digits", "--indices", "0:3", "-o", folder), str(folder))
    refused(igae("handwrite", "12", "-o", folder), str(folder))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; see the monkeypatched test below")
def test_read_only_out_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        refused(igae("train", "--epochs", "1", "--out", ro / "run", *TINY_TRAIN), str(ro))
    finally:
        ro.chmod(0o755)


def test_os_refusal_on_a_user_path_is_one_line_naming_it(monkeypatch, tmp_path):
    """What the OS refuses (a read-only folder, even as root on a read-only disk) is the user's to fix."""
    from igae_robot.cli.app import user_errors

    target = tmp_path / "ro" / "summary.json"

    @user_errors
    def refused_by_the_os():
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    @user_errors
    def replaced_onto_a_folder():
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(tmp_path / ".x.tmp"), None, str(target))

    for fn in (refused_by_the_os, replaced_onto_a_folder):
        with pytest.raises(typer.Exit) as exit_:
            fn()
        assert exit_.value.exit_code == 2


def test_os_errors_without_a_path_stay_bugs():
    from igae_robot.cli.app import user_errors

    @user_errors
    def bug():
        raise OSError("something inside went wrong")

    with pytest.raises(OSError):
        bug()


def test_read_only_disk_through_the_command(monkeypatch, tmp_path):
    """As root, chmod does not stop a write; a read-only file system does (EROFS): simulated here."""
    real_access = os.access
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro else real_access(p, mode, **kw))
    refused(igae("train", "--epochs", "1", "--out", ro / "run", *TINY_TRAIN), str(ro))


@pytest.mark.parametrize("setting, key", [
    ("train.lr=-0.001", "train.lr"), ("train.lr=nan", "train.lr"), ("train.lr=inf", "train.lr"),
    ("train.batch_size=0", "train.batch_size"), ("train.epochs=inf", "train.epochs"),
    ("train.val_fraction=1.5", "train.val_fraction"), ("model.steps=0", "model.steps"),
    ("train.seed=-3", "train.seed"), ("model.hidden=[0]", "model.hidden"),
])
def test_config_values_out_of_range(setting, key, tmp_path):
    refused(igae("train", "--epochs", "1", "--out", tmp_path / "run", *TINY_TRAIN, "--set", setting), key)
    assert not (tmp_path / "run").exists()


def test_negative_limit(tiny_checkpoint, tmp_path):
    refused(igae("train", "--epochs", "1", "--out", tmp_path / "run", *TINY_TRAIN, "--limit", "-5"), "-5")
    refused(igae("eval", tiny_checkpoint, "--limit", "-5"), "--limit", "-5")
    refused(igae("cluster", tiny_checkpoint, "--limit", "-5", "--out", tmp_path / "c", "--no-progress"), "--limit")


@pytest.mark.parametrize("args, words", [
    (["--k", "5000", "--limit", "50"], ["5000", "50"]),
    (["--limit", "2"], ["10", "2"]),
    (["--dims", "0", "--reduce", "spectral", "--limit", "50"], ["dims", "0"]),
    (["--reduce", "spectral", "--limit", "8", "--k", "2"], ["neighbours"]),
])
def test_cluster_options_that_cannot_work(tiny_checkpoint, tmp_path, args, words):
    refused(igae("cluster", tiny_checkpoint, "--seeds", "1", "--out", tmp_path / "c", "--no-progress", *args), *words)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("value", ["nan", "2", "-0.5", "inf"])
def test_export_threshold_outside_0_1(tiny_gestures, tmp_path, value):
    out = tmp_path / "sheet.svg"
    refused(igae("export", tiny_gestures, "-o", out, "--threshold", value), "--threshold")
    assert not out.exists()


def test_handwrite_negative_seed(tmp_path):
    refused(igae("handwrite", "12", "-o", tmp_path / "a.svg", "--seed", "-1"), "--seed", "-1")


@pytest.mark.parametrize("size", ["-5", "0", "100000"])
def test_check_canvas_size(tiny_gestures, tmp_path, size):
    sheet = tmp_path / "sheet.svg"
    assert igae("export", tiny_gestures, "-o", sheet).exit_code == 0
    refused(igae("check", sheet, "--against", tiny_gestures, "--size", size), "--size", size)


def test_non_utf8_preset_file(hostile_files, tmp_path):
    refused(igae("train", "--preset", hostile_files["not-utf8-toml"], "--out", tmp_path / "r", *TINY_TRAIN[2:]),
            str(hostile_files["not-utf8-toml"]), "UTF-8")


# ---- item 10: messages that mislead ------------------------------------------------------------


@pytest.fixture
def pickled_checkpoint(tmp_path) -> Path:
    """A .pt that runs code when unpickled without weights_only (it must never load)."""
    path = tmp_path / "evil.pt"
    code = "import torch, collections\nclass Evil:\n    pass\ntorch.save({'format': 1, 'x': Evil()}, %r)\n" % str(path)
    subprocess.run([sys.executable, "-c", code], check=True)
    return path


def test_untrusted_checkpoint_never_suggests_weights_only_false(pickled_checkpoint, hostile_files, tmp_path):
    for args in (["eval", pickled_checkpoint], ["handwrite", "12", "-o", tmp_path / "a.svg", "--digits-model", pickled_checkpoint]):
        line = refused(igae(*args), str(pickled_checkpoint), "not a trusted")
        assert "weights_only" not in line and "pickle" not in line.replace("pickled", "")
    line = refused(igae("eval", hostile_files["garbage"]), str(hostile_files["garbage"]))
    assert "weights_only" not in line and "documentation" not in line


def test_page_too_small_for_the_columns_says_so(tiny_gestures, tmp_path):
    line = refused(igae("export", tiny_gestures, "-o", tmp_path / "s.svg", "--page", "20x20mm", "--margin", "5mm", "--cols", "5"),
                   "5 columns")
    assert "-2 mm" not in line and "too small" in line


def test_messages_keep_their_brackets(tmp_path):
    line = refused(igae("train", "--set", "train.bogus=1", "--out", tmp_path / "r"))
    assert "known in [train]:" in line


def test_any_message_prints_verbatim():
    from igae_robot.cli.app import user_errors
    from igae_robot.errors import MachineError

    @user_errors
    def fail():
        raise MachineError("s_range must be [min, max] with min <= max, got [1000, 600] [bold]x[/]")

    app_ = typer.Typer()
    app_.command()(fail)
    result = runner.invoke(app_, [])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: s_range must be [min, max] with min <= max, got [1000, 600] [bold]x[/]"


# ---- the smaller ones -------------------------------------------------------------------------


def test_handwrite_file_with_a_utf8_bom(tmp_path):
    text = tmp_path / "note.txt"
    text.write_bytes("\ufeff12 ab".encode("utf-8"))
    result = igae("handwrite", "--file", text, "-o", tmp_path / "note.svg")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_handwrite_nothing_to_write(text, tmp_path):
    out = tmp_path / "note.svg"
    refused(igae("handwrite", text, "-o", out), "no text")
    assert not out.exists()


def test_export_that_draws_nothing_is_refused(tmp_path):
    import numpy as np

    from igae_robot.gesture import Gesture, save_gestures

    pen_up = [Gesture(np.random.default_rng(i).random((6, 2)), np.full(6, 0.5), np.zeros(6), dt_s=0.05) for i in range(3)]
    path = tmp_path / "g.npz"
    save_gestures(path, pen_up, {"image_size": 28, "var_coef": 0.01, "var_eps": 1e-4})
    out = tmp_path / "s.gcode"
    refused(igae("export", path, "-o", out), "nothing to draw")
    assert not out.exists()


def test_version():
    from importlib.metadata import version

    result = igae("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"igae {version('igae-robot')}"


def test_cli_waits_passively_for_openmp_threads_and_help_stays_torch_free():
    code = ("import os, sys; sys.argv = ['igae', '--help']\n"
            "from igae_robot.cli.main import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "print('POLICY', os.environ.get('OMP_WAIT_POLICY'))\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "POLICY PASSIVE" in done.stdout, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, capture_output=True, text=True,
                          check=True)
    assert "POLICY ACTIVE" in done.stdout  # the user's own setting wins


# ---- the lead's follow-ups: empty folder options, blank images, outliers, library warnings ------


@pytest.mark.parametrize("command", [["train", "--epochs", "1", *TINY_TRAIN], ["demo", "--epochs", "1"]])
def test_empty_out_folder_is_refused_not_the_current_folder(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # typer reads "" as Path("."): the run would land here
    refused(igae(*command, "--out", ""), "--out", "empty")
    assert list(tmp_path.iterdir()) == []


def test_vectorize_with_an_empty_output_writes_nothing_here(tiny_checkpoint, tmp_path, monkeypatch):
    from PIL import Image

    Image.new("L", (28, 28), 255).save(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    refused(igae("vectorize", tmp_path / "a.png", "-o", "", "--model", tiny_checkpoint), "-o/--output", "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def _ink_png(path: Path, ink: bool) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("L", (40, 40), 255)
    if ink:
        ImageDraw.Draw(image).line([(8, 8), (30, 32)], fill=0, width=4)
    image.save(path)
    return path


def test_encode_leaves_out_a_blank_image_with_one_warning_line(tiny_checkpoint, tmp_path):
    from igae_robot.gesture import load_gestures

    blank, inked = _ink_png(tmp_path / "blank.png", False), _ink_png(tmp_path / "ink.png", True)
    result = igae("encode", tiny_checkpoint, blank, inked, "-o", tmp_path / "g.npz")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "blank.png" in warnings[0], result.stderr
    assert len(load_gestures(tmp_path / "g.npz")) == 1


def test_encode_of_only_blank_images_is_refused(tiny_checkpoint, tmp_path):
    blank = _ink_png(tmp_path / "blank.png", False)
    result = igae("encode", tiny_checkpoint, blank, "-o", tmp_path / "g.npz")
    assert result.exit_code == 2 and "no ink" in result.stderr.splitlines()[-1], result.output
    assert not (tmp_path / "g.npz").exists()


def _gestures_with_an_outlier(path: Path) -> Path:
    import numpy as np

    from igae_robot.gesture import Gesture, save_gestures

    t = np.linspace(0.2, 0.8, 10)
    line = np.stack([t, t], axis=1)
    far = line.copy()
    far[5] = [1e30, 0.5]
    ones = np.ones(10)
    save_gestures(path, [Gesture(line, ones * 0.5, ones), Gesture(far, ones * 0.5, ones), Gesture(line, ones * 0.5, ones)])
    return path


def test_export_refuses_an_outlier_glyph_and_drops_it_when_asked(tmp_path):
    import re

    gestures = _gestures_with_an_outlier(tmp_path / "g.npz")
    refused(igae("export", gestures, "-o", tmp_path / "a.svg"), "glyph 1")
    assert not (tmp_path / "a.svg").exists()
    result = igae("export", gestures, "-o", tmp_path / "b.svg", "--drop-outliers")
    assert result.exit_code == 0, result.output
    assert "glyph 1" in result.stderr and "left out" in result.stderr
    # the other two glyphs keep their size: their strokes span more than a few mm on A4
    paths = re.findall(r'<path d="M ([^"]+)" data-igae-glyph="(\d+)"', (tmp_path / "b.svg").read_text())
    assert sorted(glyph for _, glyph in paths) == ["0", "2"]
    xs = [float(v.split(",")[0]) for d, _ in paths for v in d.replace("L ", "").split()]
    assert max(xs) - min(xs) > 10

