"""The re-render check: export -> read -> re-render agrees with the source gestures (IoU >= 0.99) for every format."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fixtures_machine import DOT, EMPTY, LINE, SQUARE, random_glyph_gestures

from igae_robot.check import check_sheet, gesture_polylines
from igae_robot.model.render import render_polylines
from igae_robot.errors import CheckError
from igae_robot.exporters import export_file, export_files, read_file
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet

FORMATS = [
    ("svg", None, "sheet.svg"),
    ("gcode", "grbl-servo", "sheet.gcode"),
    ("gcode", "grbl-z", "sheet.nc"),
    ("waypoints-json", "arm-table", "path.json"),
    ("waypoints-csv", "arm-table", "path.csv"),
    ("urscript", "ur-table", "draw.script"),
]

GESTURES = random_glyph_gestures(40, seed=11) + [LINE, SQUARE, DOT, EMPTY]


@pytest.fixture(scope="module")
def sheet():
    return plan_sheet(GESTURES, Page.from_spec("A4"))  # default options: simplified, merged, ordered


@pytest.mark.parametrize("fmt, machine, name", FORMATS, ids=[f"{f}-{m}" for f, m, _ in FORMATS])
def test_round_trip_iou_every_format(sheet, tmp_path, fmt, machine, name):
    path = export_file(sheet, tmp_path / name, fmt, load_machine(machine) if machine else None)
    report = check_sheet(read_file(path), gestures=GESTURES)
    assert report.passed, report.describe()
    assert report.iou >= 0.99 and report.worst.iou >= 0.97 and len(report.glyphs) == len(GESTURES)


@pytest.mark.parametrize("fmt, machine, name", FORMATS[:2], ids=["svg", "gcode"])
def test_export_files_writes_what_export_file_writes(tmp_path, fmt, machine, name):
    profile = load_machine(machine) if machine else None
    sheets = [plan_sheet(GESTURES[k : k + 3], Page.from_spec("A5")) for k in range(0, 12, 3)]
    if fmt == "gcode":  # one sheet too large for the plotter: refused alone, the others written
        sheets[1] = plan_sheet(GESTURES[:3], Page.from_spec("2000x2000mm"))
    paths = [tmp_path / "many" / f"{k}-{name}" for k in range(len(sheets))]
    written = export_files(sheets, paths, fmt, profile)
    for k, (sheet, path, result) in enumerate(zip(sheets, paths, written)):
        if fmt == "gcode" and k == 1:
            assert isinstance(result, Exception) and "outside the work area" in str(result) and not path.exists()
            continue
        assert result == path
        assert path.read_bytes() == export_file(sheet, tmp_path / f"one-{k}-{name}", fmt, profile).read_bytes()
    assert not list((tmp_path / "many").glob(".*"))  # no temp files left


def test_check_fails_when_the_drawing_changes():
    sheet = plan_sheet(GESTURES[:3], Page.from_spec("A5"))
    longest = max(sheet.polylines, key=lambda p: p.length)
    fewer = tuple(p for p in sheet.polylines if p is not longest)
    report = check_sheet(dataclasses.replace(sheet, polylines=fewer), gestures=GESTURES[:3])
    assert not report.passed and report.worst.iou < 0.9
    assert "FAIL" in report.describe() and report.to_dict()["passed"] is False


def test_coarse_simplification_is_visible_to_the_check():
    fine = plan_sheet(GESTURES[:20], Page.from_spec("A4"), SheetOptions(simplify_mm=0.05))
    coarse = plan_sheet(GESTURES[:20], Page.from_spec("A4"), SheetOptions(simplify_mm=2.0))
    fine_iou = check_sheet(fine, gestures=GESTURES[:20]).iou
    assert check_sheet(coarse, gestures=GESTURES[:20]).iou < fine_iou


def test_check_against_the_wrong_source():
    sheet = plan_sheet([LINE, SQUARE], Page.from_spec("A5"))
    with pytest.raises(CheckError, match="lays out 2 glyphs but .* has 3"):
        check_sheet(sheet, gestures=[LINE, SQUARE, DOT])
    assert not check_sheet(sheet, gestures=[SQUARE, LINE]).passed


def test_check_against_images():
    # Against a source image the file is drawn as a plotter draws it: a round pen as wide as the source's
    # strokes.  A source that a 3-pixel pen drew along the square passes; a blank one fails.
    from igae_robot.images.pen_draw import pen_coverage

    sheet = plan_sheet([SQUARE], Page.from_spec("A5"))
    image = pen_coverage([p.points * 28 for p in gesture_polylines(SQUARE, 0.5, None)], (28, 28), 3.0)[None]
    report = check_sheet(sheet, images=image)
    assert report.passed, report.iou
    assert not check_sheet(sheet, images=np.zeros((1, 28, 28))).passed
    # The file drawn with the model's markers instead scores lower: what is judged is the pen's line.
    markers = render_polylines([gesture_polylines(SQUARE, 0.5, None)])[:, 0].numpy()
    assert check_sheet(sheet, images=markers).iou < report.iou


def test_manifest_scores_are_the_checks_per_glyph_scores():
    # score_sheets_pen (vectorize's manifest) counts and averages what check_sheet measures with torch: per glyph
    # the inked pixels in both and in either, and the squared error; a glyph blank on both sides scores (1, 0).
    from igae_robot.check import score_sheets_pen

    gestures = [SQUARE, LINE, EMPTY, *random_glyph_gestures(3, seed=5)]
    sheets = [plan_sheet(gestures[:3], Page.from_spec("A5")), plan_sheet(gestures[3:], Page.from_spec("A5"))]
    rng = np.random.default_rng(2)
    images = [rng.uniform(0, 1, (3, 28, 28)).astype(np.float32) ** 4 for _ in sheets]
    images[0][2] = 0.0
    pens = [np.array([3.0, 2.0, 2.5]), np.array([1.5, 3.5, 2.0])]
    ious, mses = score_sheets_pen(sheets, images, pens)
    for sheet, image, pen, iou, mse in zip(sheets, images, pens, ious, mses):
        report = check_sheet(sheet, images=image, pens=pen)
        assert iou == pytest.approx(np.mean([g.iou for g in report.glyphs]), abs=1e-12)
        assert mse == pytest.approx(report.mse, rel=1e-5)
    assert check_sheet(sheets[0], images=images[0], pens=pens[0]).glyphs[2].iou == 1.0


def test_the_check_supersamples_a_page_a_little_a_glyph_at_its_pen_s_and_what_lies_between_within_a_budget():
    """Pages at 3x; a glyph crop at the pen's own supersampling; an ink just under a page's size with a thin
    pen capped by the pixels it would draw, never under a page's 3x (it had been drawn 24x over)."""
    from igae_robot import check
    from igae_robot.images.pen_draw import pen_supersample

    assert check._check_supersample(1200 * 1400, 1.0) == check.PAGE_CHECK_SUPERSAMPLE
    assert check._check_supersample(112 * 112, 1.0) == pen_supersample(1.0) == 24
    assert check._check_supersample(112 * 112, 7.0) == pen_supersample(7.0)
    just_under = check._check_supersample(900 * 1100, 1.0)
    assert check.PAGE_CHECK_SUPERSAMPLE < just_under < 24
    assert 900 * 1100 * just_under**2 <= check.CHECK_SUPERSAMPLED_PIXELS
    assert check._check_supersample(999_999, 30.0) == pen_supersample(30.0)  # a wide pen needs little anyway
