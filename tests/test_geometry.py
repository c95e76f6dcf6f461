"""Geometry, layout and sheet planning: hand-computed values, and an EMPTY case for every function."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import DOT, EMPTY, LINE, SQUARE, TOY_MACHINE, TOY_PAGE, gesture, polyline, random_glyph_gestures

from igae_robot import geometry
from igae_robot.errors import PageError
from igae_robot.layout import layout_grid
from igae_robot.machine import load_machine
from igae_robot.page import Page
from igae_robot.sheet import SheetOptions, pen_speeds_mm_s, plan_sheet, plot_stats

A = polyline([[0, 0], [10, 0]])
B = polyline([[10, 0], [10, 10]])
C = polyline([[30, 0], [20, 0]])


def test_length_travel_bounds():
    assert geometry.length([A, B]) == 20.0
    assert geometry.travel_length([A, C]) == 20.0  # (10,0) -> (30,0)
    assert geometry.travel_length([A, C], start=(0, 5)) == 25.0
    assert geometry.bounds([A, C]) == (0.0, 0.0, 30.0, 0.0)


def test_empty_measures():
    assert geometry.length([]) == 0.0
    assert geometry.travel_length([]) == 0.0
    assert geometry.bounds([]) is None


@pytest.mark.parametrize("fn", [
    lambda s: geometry.simplify(s, 0.1),
    lambda s: geometry.merge(s, 0.1),
    lambda s: geometry.order(s),
    lambda s: geometry.clip(s, (0, 0, 1, 1)),
])
def test_builders_accept_empty(fn):
    assert fn([]) == []


def test_simplify_drops_collinear_points_keeps_pressure_and_time():
    p = polyline([[0, 0], [1, 0.01], [2, 0], [3, 0]])
    (s,) = geometry.simplify([p], 0.1)
    assert s.points.tolist() == [[0, 0], [3, 0]]
    assert s.t_s.tolist() == [0.0, pytest.approx(0.15)]
    (kept,) = geometry.simplify([p], 0.001)
    assert len(kept) == 4  # the 0.01 mm bump stays at a finer tolerance


def test_simplify_keeps_points_where_pressure_changes():
    p = geometry.Polyline(np.array([[0, 0], [1, 0], [2, 0]]), np.array([0.2, 0.9, 0.2]), np.zeros(3))
    (s,) = geometry.simplify([p], 1.0)
    assert len(s) == 3
    (s,) = geometry.simplify([p], 1.0, pressure_tolerance=1.0)
    assert len(s) == 2


def test_simplify_turns_a_stroke_of_no_length_into_a_dot_at_max_pressure():
    still = geometry.Polyline(np.full((3, 2), 4.0), np.array([0.2, 0.9, 0.4]), np.arange(3.0))
    (dot,) = geometry.simplify([still], 0.05)
    assert dot.points.tolist() == [[4, 4]] and dot.pressure.tolist() == [0.9]


def test_simplify_keeps_turn_backs_on_a_straight_line():
    there_and_back = polyline([[0, 0], [10, 0], [5, 0]])
    (s,) = geometry.simplify([there_and_back], 0.5)
    assert len(s) == 3


def test_simplify_zero_tolerance_and_dots_unchanged():
    dot = polyline([[5, 5]])
    assert geometry.simplify([A, dot], 0.0) == [A, dot]
    assert geometry.simplify([dot], 1.0)[0] is dot


def test_merge_joins_touching_ends_with_reversal():
    merged = geometry.merge([A, polyline([[10, 10], [10, 0]])], 0.01)  # second one runs backwards
    assert len(merged) == 1
    assert merged[0].points.tolist() == [[0, 0], [10, 0], [10, 10]]  # shared point kept once


def test_merge_keeps_glyphs_apart_and_respects_tolerance():
    other_glyph = polyline([[10, 0], [10, 10]], glyph=1)
    assert len(geometry.merge([A, other_glyph], 0.01)) == 2
    assert len(geometry.merge([A, polyline([[10.5, 0], [20, 0]])], 0.1)) == 2


def test_order_greedy_and_reversal():
    far, near_reversed = polyline([[100, 0], [110, 0]]), polyline([[20, 0], [11, 0]])
    ordered = geometry.order([A, far, near_reversed])
    assert [p.points[0].tolist() for p in ordered] == [[0, 0], [11, 0], [100, 0]]
    assert geometry.travel_length(ordered) == pytest.approx(1 + 80)


def test_order_two_opt_never_worse_than_greedy():
    rng = np.random.default_rng(1)
    lines = [polyline(rng.uniform(0, 100, (2, 2))) for _ in range(60)]
    greedy = geometry.order(lines, max_passes=0)
    improved = geometry.order(lines)
    assert geometry.travel_length(improved) <= geometry.travel_length(greedy) + 1e-9
    assert geometry.length(improved) == pytest.approx(geometry.length(lines))


def test_clip_cuts_and_interpolates():
    p = geometry.Polyline(np.array([[-10.0, 5], [10, 5], [10, 20]]), np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 2.0]))
    (piece,) = geometry.clip([p], (0, 0, 20, 10))
    assert piece.points.tolist() == [[0, 5], [10, 5], [10, 10]]
    assert piece.pressure.tolist() == [0.5, 1.0, 1.0]
    assert piece.t_s.tolist() == [0.5, 1.0, pytest.approx(4 / 3)]


def test_clip_splits_a_stroke_that_leaves_and_returns():
    p = polyline([[1, 1], [30, 1], [30, 5], [1, 5]])
    pieces = geometry.clip([p], (0, 0, 10, 10))
    assert [q.points.tolist() for q in pieces] == [[[1, 1], [10, 1]], [[10, 5], [1, 5]]]
    assert geometry.clip([polyline([[50, 50]])], (0, 0, 10, 10)) == []


def test_resample_spacing_and_interpolation():
    p = geometry.Polyline(np.array([[0.0, 0], [1, 0]]), np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    r = geometry.resample(p, 0.25)
    assert r.points[:, 0].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert r.pressure.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert len(geometry.resample(polyline([[3, 3]]), 0.1)) == 1


def test_fit_transform_centres_uniformly():
    assert geometry.fit_transform((0, 0, 1, 1), (10, 10, 30, 50)) == (20.0, 10.0, 20.0)
    assert geometry.fit_transform((0, 0, 0, 0), (0, 0, 10, 10))[0] == 1.0  # degenerate content


def test_layout_grid_largest_cells_centred():
    places = layout_grid(4, Page(100, 100, margin_mm=0), spacing_mm=0)
    assert [(p.row, p.col) for p in places] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [p.scale_mm for p in places] == [50.0] * 4
    assert (places[3].x_mm, places[3].y_mm) == (50.0, 50.0)
    assert places[1].to_glyph(places[1].to_page(np.array([[0.3, 0.7]]))) == pytest.approx(np.array([[0.3, 0.7]]))


def test_layout_empty_and_too_small_page():
    assert layout_grid(0, TOY_PAGE) == []
    with pytest.raises(PageError, match="page too small: 100 glyphs .* 30 mm cells"):
        layout_grid(100, Page.from_spec("A5"), cell_mm=30)


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


@pytest.mark.parametrize("grid", [False, True], ids=["random", "grid-with-ties"])
def test_order_of_few_strokes_matches_the_numpy_path(grid):
    """Up to 16 strokes run on Python floats; the choices must be the numpy path's, step for step."""
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = 2 + trial % 15
        ends = rng.integers(0, 4, (2, n, 2)).astype(float) if grid else rng.uniform(0, 50, (2, n, 2))
        start = None if trial % 3 else [float(v) for v in rng.uniform(0, 50, 2)]
        begin = None if start is None else np.asarray(start)
        seq, flip = geometry._greedy(ends[0], ends[1], begin)
        seq, flip = geometry._two_opt(ends[0], ends[1], seq, flip, begin, 50)
        few = geometry._order_few(ends[0].tolist(), ends[1].tolist(), start, 50)
        assert (few[0], few[1]) == (seq.tolist(), flip.tolist()), trial
