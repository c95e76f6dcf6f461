"""Geometry, layout and sheet planning: hand-computed values, and an EMPTY case for every function."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from fixtures_machine import DOT, EMPTY, LINE, SQUARE, TOY_MACHINE, TOY_PAGE, gesture, polyline, random_glyph_gestures

from igae_robot.paper import geometry
from igae_robot.errors import GestureError, PageError
from igae_robot.paper.layout import layout_grid
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, pen_speeds_mm_s, plan_sheet, plot_stats

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
def test_greedy_walk_on_the_kd_tree_matches_brute_force(grid):
    """The KD-tree walk makes the brute-force walk's choices step for step, ties included (on a
    grid many ends are equally near, and the tree is asked again for more of them)."""
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = 2 + trial % 60
        ends = rng.integers(0, 4, (2, n, 2)).astype(float) if grid else rng.uniform(0, 50, (2, n, 2))
        start = None if trial % 3 else [float(v) for v in rng.uniform(0, 50, 2)]
        seq, flip = geometry._greedy(ends[0], ends[1], None if start is None else np.asarray(start))
        brute = geometry._order_few(ends[0].tolist(), ends[1].tolist(), start, max_passes=0)
        assert (seq.tolist(), flip.tolist()) == (brute[0], brute[1]), trial


def _strokes(draw_points, n, rng) -> list[geometry.Polyline]:
    """n strokes of 1-4 points; pressure and time differ along each stroke so a reversal shows."""
    out = []
    for k in range(n):
        pts = draw_points(int(rng.integers(1, 5)))
        m = len(pts)
        out.append(geometry.Polyline(pts, np.linspace(0.1, 0.9, m), np.arange(m) * 0.05 + k, glyph=k))
    return out


def _rows(p: geometry.Polyline) -> tuple:
    """A stroke as it is drawn: (x, y, pressure, t) per point."""
    return tuple(map(tuple, np.column_stack([p.points, p.pressure, p.t_s]).tolist()))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 90),
    seed=st.integers(0, 2**32 - 1),
    grid=st.booleans(),
    with_start=st.booleans(),
)
def test_order_draws_every_stroke_once_and_never_travels_more(n, seed, grid, with_start):
    rng = np.random.default_rng(seed)
    if grid:  # many ties, strokes that share ends, dots
        draw = lambda m: rng.integers(0, 5, (m, 2)).astype(float)  # noqa: E731
    else:
        draw = lambda m: rng.uniform(0, 200, (m, 2))  # noqa: E731
    strokes = _strokes(draw, n, rng)
    start = [float(v) for v in rng.uniform(0, 200, 2)] if with_start else None
    ordered = geometry.order(strokes, start=start)
    # Nothing lost, nothing doubled: each stroke once, as given or reversed whole (points, pressure, time).
    given_rows = sorted(min(_rows(p), _rows(p.reversed())) for p in strokes)
    assert sorted(min(_rows(p), _rows(p.reversed())) for p in ordered) == given_rows
    assert all(_rows(p) in (_rows(q), _rows(q.reversed())) for p in ordered for q in strokes if q.glyph == p.glyph)
    travel = geometry.travel_length(ordered, start)
    greedy = geometry.travel_length(geometry.order(strokes, start=start, max_passes=0), start)
    assert travel <= greedy + 1e-9
    assert travel <= geometry.travel_length(strokes, start) + 1e-9


def test_order_reports_progress_to_the_end():
    rng = np.random.default_rng(3)
    strokes = [polyline(rng.uniform(0, 100, (2, 2))) for _ in range(500)]
    calls = []
    geometry.order(strokes, progress=lambda done, total: calls.append((done, total)))
    assert 10 <= len(calls) <= 300  # now and then, not once a stroke
    assert calls[-1][0] == calls[-1][1] > 0
    assert {total for _, total in calls} == {calls[-1][1]}
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def _distances_measured(monkeypatch, n: int) -> int:
    """Distances measured in Python while ordering n short strokes at a constant density (a page
    of glyphs: more glyphs, a bigger page).  KD-tree queries (O(log n) each) are not counted."""
    count = [0]

    def counting(fn):
        def wrapped(*args):
            count[0] += 1
            return fn(*args)

        return wrapped

    monkeypatch.setattr(geometry, "_dist", counting(geometry._dist))
    monkeypatch.setattr(geometry, "_hop_length", counting(geometry._hop_length))
    rng = np.random.default_rng(11)
    side = 10 * np.sqrt(n)  # mm: one stroke per 10 x 10 mm
    strokes = [polyline(a + rng.uniform(-3, 3, (2, 2))) for a in rng.uniform(0, side, (n, 2))]
    geometry.order(strokes)
    return count[0]


def test_ordering_work_grows_near_linearly(monkeypatch):
    """Four times the strokes, about four times the work (quadratic ordering did sixteen): counted, not timed."""
    small, large = _distances_measured(monkeypatch, 1000), _distances_measured(monkeypatch, 4000)
    assert small > 1000  # the count sees the work
    assert large < 5.5 * small, (small, large)


@pytest.mark.parametrize("with_start", [False, True])
def test_route_bookkeeping_stays_true_through_the_moves(with_start):
    """After many 2-opt and Or-opt moves, the cached hops and positions still describe the route."""
    rng = np.random.default_rng(5)
    ends = rng.integers(0, 30, (2, 300, 2)).astype(float)  # ties and shared ends too
    start = np.array([3.0, 4.0]) if with_start else None
    seq, flip = geometry._greedy(ends[0], ends[1], start)
    route = geometry._Route(ends[0], ends[1], seq, flip, start)
    moves = sum(bool(route.improve_at(a)) for _ in range(3) for a in route.path_ends())
    assert moves > 20
    xy = route.xy
    hops = [0.0 if a is None or b is None else np.hypot(*np.subtract(xy[a], xy[b])) for a, b in
            ((route.out_end(p), route.in_end(p + 1)) for p in range(-1, route.n))]
    assert route.hops == pytest.approx(hops, abs=1e-9)
    assert sorted(route.seq) == list(range(300))
    assert [route.pos[s] for s in route.seq] == list(range(300))


@pytest.mark.parametrize("n", [5, 40], ids=["few", "many"])
def test_order_refuses_a_stroke_end_that_is_not_a_number(n):
    rng = np.random.default_rng(2)
    strokes = [polyline(rng.uniform(0, 50, (2, 2)), glyph=k) for k in range(n)]
    strokes[3] = polyline([[1.0, 2.0], [np.inf, 4.0]], glyph=7)
    with pytest.raises(GestureError, match=r"glyph 7.*not finite"):
        geometry.order(strokes)
