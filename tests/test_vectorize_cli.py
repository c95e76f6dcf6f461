"""``igae vectorize`` end to end: bad files, exit codes, formats, and kill -9 in the middle of a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner
from vectorize_fixtures import glyph_image, good_and_bad_folder, tiny_checkpoint

from igae_robot.cli import vectorize_commands  # noqa: F401  (registers the command until cli/main.py imports it)
from igae_robot.cli.main import app

runner = CliRunner()
IGAE = [sys.executable, "-c", "from igae_robot.cli import vectorize_commands; from igae_robot.cli.main import app; app()"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(tiny_checkpoint(tmp_path_factory.mktemp("model") / "checkpoint.pt"))


def _children(pid: int) -> list[int]:
    """Pids of the live processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _manifest(out) -> dict[str, dict]:
    return {r["source"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}


def test_bad_files_give_warnings_exit_0_or_1_with_strict(tmp_path, ckpt):
    good, bad = good_and_bad_folder(tmp_path / "in")
    out = tmp_path / "out"
    args = ["vectorize", str(tmp_path / "in"), "-o", str(out), "--model", ckpt, "--format", "svg,gcode",
            "--machine", "grbl-servo", "--workers", "0", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 warning(s): 4 of 9 images failed" in result.output and "empty.png: empty file" in result.output
    records = _manifest(out)
    assert sorted(records) == sorted(good + bad)
    for name in good:
        stem = name.rsplit(".", 1)[0]
        assert records[name]["outputs"] == [f"{stem}.svg", f"{stem}.gcode"]
        assert (out / f"{stem}.svg").is_file() and (out / f"{stem}.gcode").read_text().startswith("; igae G-code for grbl-servo")
    assert not list(out.rglob("truncated.*")) and not list(out.rglob(".*.tmp"))
    strict = runner.invoke(app, args + ["--strict"])
    assert strict.exit_code == 1 and "resuming: 5 of 9 images already done" in strict.output


def test_without_a_model_the_pen_engine_draws_and_g_code_passes_the_checks(tmp_path):
    good, bad = good_and_bad_folder(tmp_path / "in")
    out = tmp_path / "out"
    args = ["vectorize", str(tmp_path / "in"), "-o", str(out), "--format", "svg,gcode", "--machine", "grbl-servo",
            "--refine", "10", "--workers", "0", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = _manifest(out)
    for name in good:
        assert records[name]["status"] == "ok" and 0.0 < records[name]["iou"] <= 1.0, records[name]
        assert (out / records[name]["outputs"][1]).read_text().startswith("; igae G-code for grbl-servo")
    assert all(records[name]["status"] == "error" for name in bad)


def test_user_errors_exit_2(tmp_path, ckpt):
    glyph_image("line").save(tmp_path / "a.png")
    result = runner.invoke(app, ["vectorize", str(tmp_path), "-o", str(tmp_path / "o"), "--model", ckpt, "--format", "pdf"])
    assert result.exit_code == 2 and "unknown format 'pdf'; known: svg, gcode, waypoints, urscript" in result.output
    result = runner.invoke(app, ["vectorize", str(tmp_path), "-o", str(tmp_path / "o"), "--model", ckpt, "--format", "gcode",
                                 "--machine", "ur-table"])
    assert result.exit_code == 2 and "--format gcode needs a plotter profile; --machine gave ur-table (arm)" in result.output
    result = runner.invoke(app, ["vectorize", str(tmp_path / "nope"), "-o", str(tmp_path / "o"), "--model", ckpt])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    result = runner.invoke(app, ["vectorize", str(tmp_path), "-o", str(tmp_path / "o"), "--model", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and "no such checkpoint" in result.output


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the run's workers through Linux /proc")
def test_kill_9_then_resume_gives_the_same_outputs(tmp_path, ckpt):
    """SIGKILL a run in the middle, run again: every output is byte for byte what one uninterrupted run writes."""
    folder = tmp_path / "in"
    folder.mkdir()
    kinds = ("line", "ring", "cross")
    for i in range(240):
        glyph_image(kinds[i % 3], 32 + i % 17, dark_on_light=i % 2 == 0, width=2 + i % 3).save(folder / f"{i:03d}.png")
    common = ["--model", ckpt, "--format", "svg,gcode", "--batch-size", "8", "--workers", "2", "--no-progress"]
    killed, reference = tmp_path / "killed", tmp_path / "reference"

    proc = subprocess.Popen(IGAE + ["vectorize", str(folder), "-o", str(killed), *common],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = killed / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if manifest.is_file() and manifest.read_text().count("\n") >= 20:
            workers = _children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done_before = manifest.read_text().count("\n")
    assert 20 <= done_before < 240
    assert workers, "the run had no worker processes"
    deadline = time.monotonic() + 10  # its loader and export workers end with it
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "worker processes outlived the killed run"

    resumed = runner.invoke(app, ["vectorize", str(folder), "-o", str(killed), *common])
    assert resumed.exit_code == 0, resumed.output
    assert "resuming:" in resumed.output
    whole = runner.invoke(app, ["vectorize", str(folder), "-o", str(reference), *common])
    assert whole.exit_code == 0, whole.output

    files = sorted(p.name for p in reference.iterdir())
    assert sorted(p.name for p in killed.iterdir()) == files and len(files) == 2 * 240 + 1
    for name in files:
        if name != "manifest.jsonl":
            assert (killed / name).read_bytes() == (reference / name).read_bytes(), name
    a, b = _manifest(killed), _manifest(reference)
    assert list(a) == list(b)
    for name in a:
        a[name].pop("seconds"), b[name].pop("seconds")
        assert a[name] == b[name]


@pytest.mark.parametrize("engine", ["model", "pen"])
def test_check_against_the_source_image_scores_what_the_manifest_says(tmp_path, ckpt, engine):
    # `igae check --against image` and `igae vectorize` must prepare an image the same way, or the
    # re-render check would judge a vectorized file against a different target than its manifest did.
    folder = tmp_path / "in"
    folder.mkdir()
    # Lopsided on purpose (ink heavy at the top-left): centring the box and centring the mass differ.
    im = Image.new("L", (60, 60), 255)
    draw = ImageDraw.Draw(im)
    draw.line([(12, 12), (48, 12), (20, 50)], fill=0, width=4)
    draw.ellipse([8, 8, 24, 24], fill=0)
    im.save(folder / "seven.png")
    out = tmp_path / "out"
    # Both judged as a plotter draws the file: a round pen as wide as the source's median stroke, on the
    # engine's canvas (the tiny test model's 28 px, the pen engine's 112 px).
    model, size, least = (["--model", ckpt], "28", 0.05) if engine == "model" else ([], "112", 0.8)
    result = runner.invoke(app, ["vectorize", str(folder), "-o", str(out), *model, "--format", "svg",
                                 "--refine", "60", "--workers", "0"])
    assert result.exit_code == 0, result.output
    record = _manifest(out)["seven.png"]
    check = runner.invoke(app, ["check", str(out / "seven.svg"), "--against", str(folder / "seven.png"), "--json",
                                "--min-iou", "0", "--size", size])
    assert check.exit_code == 0, check.output
    report = json.loads(check.output)
    assert record["iou"] > least  # a real drawing, not an empty page scoring zero twice
    assert report["glyph_iou_mean"] == pytest.approx(record["iou"], abs=0.02)


def test_torchrun_shards_the_images_and_writes_what_one_process_writes(tmp_path, ckpt):
    # Two processes under torchrun (gloo): each takes its share, rank 0 folds the manifest parts;
    # the outputs and the manifest are those of one process, and a second run finds everything done.
    folder = tmp_path / "in"
    good, bad = good_and_bad_folder(folder)
    for i in range(12):
        glyph_image(("line", "ring", "cross")[i % 3], 30 + i).save(folder / f"extra{i:02d}.png")
    common = ["--model", ckpt, "--format", "svg,gcode", "--batch-size", "4", "--workers", "0", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "COLUMNS": "200"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                "-m", "igae_robot.cli.main", "vectorize", str(folder), "-o", str(tmp_path / "two"), *common]
    two = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    assert two.stdout.count("vectorized ->") == 1  # rank 0 alone reports
    one = runner.invoke(app, ["vectorize", str(folder), "-o", str(tmp_path / "one"), *common])
    assert one.exit_code == 0, one.output

    files = sorted(p.name for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert sorted(p.name for p in (tmp_path / "two").rglob("*") if p.is_file()) == files  # no parts left over
    for path in (tmp_path / "one").rglob("*"):
        if path.is_file() and path.name != "manifest.jsonl":
            assert (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes() == path.read_bytes(), path.name
    a, b = _manifest(tmp_path / "two"), _manifest(tmp_path / "one")
    assert list(a) == list(b) and len(a) == len(good) + len(bad) + 12
    for name in a:
        a[name].pop("seconds"), b[name].pop("seconds")
        assert a[name] == b[name], name

    again = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming: {len(good) + 12} of" in again.stdout + again.stderr


# ---- issue 11: options are checked before any work; outputs only replace regular files ----------


@pytest.mark.parametrize(
    "option, message",
    [
        (["--split", "bogus"], "unknown split mode 'bogus'; known: auto, none, components"),
        (["--width", "5000mm", "--format", "gcode", "--machine", "grbl-servo"], "--width 5000 mm is wider than"),
        (["--width", "5000mm", "--format", "urscript"], "--width 5000 mm is wider than"),
        (["--width", "-5mm"], "--width"),
        (["--width", "banana"], "cannot read length 'banana'"),
        (["--dpi", "0"], "--dpi"),
        (["--dpi", "nan"], "--dpi"),
        (["--join", "-1"], "--join"),
        (["--refine", "-3"], "--refine"),
        (["--refine-lr", "nan"], "--refine-lr"),
        (["--page-refine", "-1"], "--page-refine must be a number of steps"),
        (["--hatch"], "--hatch fills areas with the pen engine's hatching; a --model draws glyph by glyph"),
        (["--threshold", "nan"], "--threshold"),
        (["--threshold", "2"], "--threshold"),
        (["--release", "0.9"], "--release"),
        (["--simplify", "-1mm"], "--simplify must be a length >= 0"),
        (["--merge", "inf"], "--merge: cannot read length 'inf'"),
        (["--batch-size", "0"], "--batch-size"),
        (["--workers", "-1"], "--workers"),
        (["--max-pixels", "0"], "--max-pixels"),
        (["--device", "bogus"], "unknown device 'bogus'"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2_before_any_image_is_read(tmp_path, ckpt, option, message):
    glyph_image("line").save(tmp_path / "a.png")
    out = tmp_path / "out"
    result = runner.invoke(app, ["vectorize", str(tmp_path / "a.png"), "-o", str(out), "--model", ckpt, "--workers", "0",
                                 "--no-progress", *option])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()  # no work started: not even the output folder


def test_a_wide_page_is_fine_for_svg_alone(tmp_path, ckpt):
    glyph_image("line").save(tmp_path / "a.png")
    result = runner.invoke(app, ["vectorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--model", ckpt,
                                 "--workers", "0", "--no-progress", "--width", "5000mm"])
    assert result.exit_code == 0, result.output


def test_an_output_that_is_a_file_is_one_line(tmp_path, ckpt):
    glyph_image("line").save(tmp_path / "a.png")
    (tmp_path / "out").write_text("not a folder\n")
    result = runner.invoke(app, ["vectorize", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--model", ckpt,
                                 "--workers", "0", "--no-progress"])
    assert result.exit_code == 2 and "out: not a folder" in result.output and len(result.output.strip().splitlines()) == 1
    assert (tmp_path / "out").read_text() == "not a folder\n"


def test_an_output_that_is_a_pipe_is_recorded_and_left_alone(tmp_path, ckpt):
    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        glyph_image("line").save(tmp_path / "in" / f"{name}.png")
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "a.svg")
    result = runner.invoke(app, ["vectorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", ckpt,
                                 "--workers", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    records = _manifest(tmp_path / "out")
    assert records["b.png"]["status"] == "ok"
    assert records["a.png"]["status"] == "error" and "a.svg: is a named pipe" in records["a.png"]["reason"]
    assert Path(tmp_path / "out" / "a.svg").is_fifo()


def test_transparent_ink_and_blank_images_through_the_cli(tmp_path, ckpt):
    (tmp_path / "in").mkdir()
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(8, 8), (32, 32)], fill=(0, 0, 0, 255), width=3)
    rgba.save(tmp_path / "in" / "drawn.png")
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(tmp_path / "in" / "empty.png")
    result = runner.invoke(app, ["vectorize", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", ckpt,
                                 "--workers", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    records = _manifest(tmp_path / "out")
    assert records["drawn.png"]["status"] == "ok" and records["drawn.png"]["glyphs"] == 1
    assert records["empty.png"]["status"] == "error" and "blank image" in records["empty.png"]["reason"]
    assert "1 warning(s)" in result.output and "empty.png: blank image" in result.output
