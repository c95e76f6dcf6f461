"""paper/sheet.py: planning a sheet (layout, simplify, order, clip) and measuring it (speeds, plot time)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import DOT, EMPTY, LINE, SQUARE, TOY_MACHINE, TOY_PAGE, gesture, random_glyph_gestures

from igae_robot.errors import PageError
from igae_robot.paper import geometry
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, pen_speeds_mm_s, plan_sheet, plot_stats


def test_plan_sheet_line_square_dot_empty():
    sheet = plan_sheet([LINE, SQUARE, DOT, EMPTY], TOY_PAGE, SheetOptions(spacing_mm=0, order=False, simplify_mm=0.05))
    assert [p.glyph for p in sheet.polylines] == [0, 1, 2]
    line, square, dot = sheet.polylines
    assert len(line) == 2  # collinear steps simplified away
    assert len(square) == 5 and np.allclose(square.points[0], square.points[-1])
    assert len(dot) == 1
    assert len(sheet.placements) == 4


def test_plan_sheet_of_only_empty_gestures():
    sheet = plan_sheet([EMPTY], TOY_PAGE)
    assert sheet.polylines == () and len(sheet.placements) == 1
    assert plot_stats(sheet, TOY_MACHINE).time_s == 0.0


def test_frame_canvas_refuses_ink_off_the_page_unless_clipped():
    wander = gesture([[0.5, 0.5], [1.5, 0.5]])  # leaves its canvas to the right
    with pytest.raises(PageError, match="glyph 0 leaves the drawable area"):
        plan_sheet([wander], TOY_PAGE, SheetOptions(frame="canvas"))
    clipped = plan_sheet([wander], TOY_PAGE, SheetOptions(frame="canvas", clip=True))
    assert geometry.bounds(clipped.polylines)[2] == pytest.approx(100.0)
    fitted = plan_sheet([wander], TOY_PAGE)  # default frame "fit": shrinks to fit
    assert geometry.bounds(fitted.polylines)[2] <= 100.0


def test_ordering_cuts_travel_on_glyphs():
    gestures = random_glyph_gestures(30, seed=3)
    raw = plan_sheet(gestures, Page.from_spec("A4"), SheetOptions(order=False))
    ordered = plan_sheet(gestures, Page.from_spec("A4"))
    assert geometry.travel_length(ordered.polylines) < 0.8 * geometry.travel_length(raw.polylines)
    assert geometry.length(ordered.polylines) == pytest.approx(geometry.length(raw.polylines))


def test_speeds_follow_step_velocity():
    slow_fast = geometry.Polyline(np.array([[0.0, 0], [1, 0], [11, 0]]), np.full(3, 0.5), np.array([0.0, 1.0, 2.0]))
    servo = load_machine("grbl-servo")  # feed 1000..3000 mm/min
    (v,) = pen_speeds_mm_s([slow_fast], servo)
    assert v * 60 == pytest.approx([1000 + 2000 * 0.1, 3000])
    assert pen_speeds_mm_s([], servo) == []


def test_plot_stats_time_estimate():
    sheet = plan_sheet([LINE], TOY_PAGE, SheetOptions(spacing_mm=0))
    stats = plot_stats(sheet, TOY_MACHINE)
    assert stats.pen_down_mm == pytest.approx(60.0) and stats.lifts == 1
    # 60 mm at 25 mm/s, plus Z 5 mm down and up at the plunge rate (25 mm/s).
    assert stats.time_s == pytest.approx(60 / 25 + 2 * 5 / 25)
    assert "pen lifts 1" in stats.describe()
