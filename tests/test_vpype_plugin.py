"""igae as a vpype plug-in, run through the real ``vpype`` command (the ``vpype.plugins`` entry points)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

VPYPE = [str(Path(sys.executable).parent / "vpype")]


def _vpype(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(VPYPE + list(args), capture_output=True, text=True, cwd=cwd, timeout=300)


def _read(svg: Path):
    import vpype

    lines, width, height = vpype.read_svg(str(svg), quantization=0.1, crop=False)
    return lines, width, height


def test_vpype_lists_both_generators(tmp_path):
    result = _vpype("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "igae-handwrite" in result.stdout and "igae-vectorize" in result.stdout


def test_handwriting_goes_through_a_vpype_pipeline(tmp_path):
    out = tmp_path / "ada.svg"
    result = _vpype("igae-handwrite", "--size", "8mm", "--seed", "3", "Dear Ada", "linesort", "layout", "a5", "write", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines, width, height = _read(out)
    assert len(lines) >= 7  # seven letters, each at least one stroke
    xs = np.concatenate([np.real(line) for line in lines])
    ys = np.concatenate([np.imag(line) for line in lines])
    mm = 25.4 / 96
    assert 30 < (xs.max() - xs.min()) * mm < 80 and 6 < (ys.max() - ys.min()) * mm < 20  # "Dear Ada" at 8 mm capitals
    assert abs(width * mm - 148) < 1 and abs(height * mm - 210) < 1  # laid out on A5 by vpype
    again = tmp_path / "again.svg"
    _vpype("igae-handwrite", "--size", "8mm", "--seed", "3", "Dear Ada", "linesort", "layout", "a5", "write", str(again), cwd=tmp_path)
    same = _read(again)[0]
    assert len(same) == len(lines) and all(np.array_equal(a, b) for a, b in zip(same, lines))  # the same seed, the same strokes


def test_a_scan_is_vectorized_at_its_physical_size_and_written_as_g_code(tmp_path):
    im = Image.new("L", (600, 300), 255)
    ImageDraw.Draw(im).line([(50, 150), (300, 60), (550, 250)], fill=0, width=8, joint="curve")
    im.save(tmp_path / "scan.png")
    svg, gcode = tmp_path / "scan.svg", tmp_path / "scan.gcode"
    result = _vpype("igae-vectorize", "--dpi", "300", "scan.png", "write", str(svg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines, _, _ = _read(svg)
    assert len(lines) == 1  # one stroke, as igae vectorize draws it
    xs = np.real(lines[0]) * 25.4 / 96  # vpype's write moves the drawing to its page's corner: its extent is what is kept
    assert xs.max() - xs.min() == pytest.approx((550 - 50) / 300 * 25.4, abs=1.0)
    result = _vpype("igae-vectorize", "--dpi", "300", "scan.png", "linesimplify", "layout", "a4", "gwrite", "-p", "gcode", str(gcode), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert gcode.read_text().count("G01") > 3


def test_errors_are_one_line(tmp_path):
    missing = _vpype("igae-vectorize", "nope.png", "stat", cwd=tmp_path)
    assert missing.returncode != 0 and "nope.png: no such image file" in missing.stderr
    unknown = _vpype("igae-handwrite", "tea ☕", "stat", cwd=tmp_path)
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr and "☕" in unknown.stderr
    style = _vpype("igae-handwrite", "--style", "gothic", "tea", "stat", cwd=tmp_path)
    assert style.returncode != 0 and "Traceback" not in style.stderr and "unknown style 'gothic'" in style.stderr


def test_forfile_gives_each_scan_a_layer_of_its_own(tmp_path):
    for k in range(2):
        im = Image.new("L", (200, 120), 255)
        ImageDraw.Draw(im).line([(20, 20 + 40 * k), (180, 100)], fill=0, width=6)
        im.save(tmp_path / f"s{k}.png")
    result = _vpype("forfile", "s*.png", "igae-vectorize", "-l", "new", "--dpi", "150", "%_path%", "end", "stat", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Layer 1" in result.stdout and "Layer 2" in result.stdout
