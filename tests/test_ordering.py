"""paper/ordering.py: the drawing order (greedy walk, brute force for a few strokes, never worse than given)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from fixtures_machine import polyline, random_glyph_gestures

from igae_robot.errors import GestureError
from igae_robot.paper import geometry, local_search, ordering
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet

A = polyline([[0, 0], [10, 0]])


def test_geometry_still_offers_order():
    """Callers write ``geometry.order``: the re-export is the same function."""
    assert geometry.order is ordering.order


def test_order_greedy_and_reversal():
    far, near_reversed = polyline([[100, 0], [110, 0]]), polyline([[20, 0], [11, 0]])
    ordered = ordering.order([A, far, near_reversed])
    assert [p.points[0].tolist() for p in ordered] == [[0, 0], [11, 0], [100, 0]]
    assert geometry.travel_length(ordered) == pytest.approx(1 + 80)


def test_order_two_opt_never_worse_than_greedy():
    rng = np.random.default_rng(1)
    lines = [polyline(rng.uniform(0, 100, (2, 2))) for _ in range(60)]
    greedy = ordering.order(lines, max_passes=0)
    improved = ordering.order(lines)
    assert geometry.travel_length(improved) <= geometry.travel_length(greedy) + 1e-9
    assert geometry.length(improved) == pytest.approx(geometry.length(lines))


@pytest.mark.parametrize("walk", ["measured", "kd-tree", "measured+near", "kd-tree+near"])
@pytest.mark.parametrize("grid", [False, True], ids=["random", "grid-with-ties"])
def test_greedy_walk_matches_brute_force(grid, walk, monkeypatch):
    """Every way the walk finds the nearest free end (numpy measuring them all, the KD-tree, each
    end's near list first) makes the brute-force walk's choices step for step, ties included (on
    a grid many ends are equally near, and the tree is asked again for more of them)."""
    if walk.startswith("kd-tree"):
        monkeypatch.setattr(ordering, "_MEASURE_ALL", 0)
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = 2 + trial % 60
        ends = rng.integers(0, 4, (2, n, 2)).astype(float) if grid else rng.uniform(0, 50, (2, n, 2))
        start = None if trial % 3 else [float(v) for v in rng.uniform(0, 50, 2)]
        begin = None if start is None else np.asarray(start)
        near = local_search.near_ends(ends[0], ends[1], begin) if walk.endswith("near") else None
        seq, flip = ordering._greedy(ends[0], ends[1], begin, near=near)
        brute = ordering._order_few(ends[0].tolist(), ends[1].tolist(), start, max_passes=0)
        assert (seq.tolist(), flip.tolist()) == (brute[0], brute[1]), trial


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("with_near", [False, True])
def test_greedy_walk_on_numbers_too_big_to_square_matches_brute_force(with_near):
    """Where every distance left overflows to inf, numpy's nearest column may be a drawn stroke's
    (inf too): the walk then takes, as brute force does, the first free entry."""
    rng = np.random.default_rng(8)
    ends = rng.uniform(0, 50, (2, 40, 2))
    ends[:, 20:] *= 1e306  # half the strokes far beyond squaring
    near = local_search.near_ends(ends[0], ends[1], None) if with_near else None
    seq, flip = ordering._greedy(ends[0], ends[1], None, near=near)
    brute = ordering._order_few(ends[0].tolist(), ends[1].tolist(), None, max_passes=0)
    assert (seq.tolist(), flip.tolist()) == (brute[0], brute[1])


def test_the_walk_is_cheap_where_it_can_be(monkeypatch):
    """The near lists settle most steps (few measure every free end), and measuring every free end
    is numpy's work: a drawn stroke's ends never come out nearest (no Python fallback)."""
    calls = {"nearest": 0, "distance": 0}
    nearest, distance = ordering._MeasuredEnds.nearest, ordering.distance

    def counting_nearest(self, pos):
        calls["nearest"] += 1
        return nearest(self, pos)

    def counting_distance(a, b):
        calls["distance"] += 1
        return distance(a, b)

    monkeypatch.setattr(ordering._MeasuredEnds, "nearest", counting_nearest)
    monkeypatch.setattr(ordering, "distance", counting_distance)
    rng = np.random.default_rng(9)
    anchors = rng.uniform(0, 200, (400, 2))  # short strokes, a page of them
    ends = anchors + rng.uniform(-2, 2, (2, 400, 2))
    ordering._greedy(ends[0], ends[1], None, near=local_search.near_ends(ends[0], ends[1], None))
    assert calls["nearest"] < 0.25 * 400
    calls["distance"] = 0
    ordering._greedy(ends[0], ends[1], None)
    assert calls["distance"] == 0


def test_reversed_without_checks_is_polyline_reversed():
    """Polyline.reversed() skips the constructor's checks: every field as a checked Polyline of the arrays
    backwards has it."""
    rng = np.random.default_rng(12)
    for stroke in _strokes(lambda m: rng.uniform(0, 300, (m, 2)), 30, rng):
        fast = stroke.reversed()
        checked = geometry.Polyline(stroke.points[::-1], stroke.pressure[::-1], stroke.t_s[::-1], stroke.glyph)
        assert type(fast) is type(checked)
        for field in dataclasses.fields(geometry.Polyline):
            a, b = getattr(fast, field.name), getattr(checked, field.name)
            assert np.array_equal(a, b) and np.shape(a) == np.shape(b), field.name


@pytest.mark.parametrize("with_start", [False, True])
def test_travel_from_stroke_ends_is_travel_length_exactly(with_start):
    """order() compares travels from the stroke ends alone; they must be travel_length's floats."""
    rng = np.random.default_rng(10)
    strokes = _strokes(lambda m: rng.uniform(0, 300, (m, 2)), 200, rng)
    flip = rng.random(200) < 0.5
    drawn = [p.reversed() if f else p for p, f in zip(strokes, flip)]
    entry = np.array([p.points[0] for p in strokes])
    exit_ = np.array([p.points[-1] for p in strokes])
    first, last = np.where(flip[:, None], exit_, entry), np.where(flip[:, None], entry, exit_)
    start = rng.uniform(0, 300, 2) if with_start else None
    assert ordering._travel(first, last, start) == geometry.travel_length(drawn, start)
    assert ordering._travel(entry, exit_, start) == geometry.travel_length(strokes, start)


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
    ordered = ordering.order(strokes, start=start)
    # Nothing lost, nothing doubled: each stroke once, as given or reversed whole (points, pressure, time).
    given_rows = sorted(min(_rows(p), _rows(p.reversed())) for p in strokes)
    assert sorted(min(_rows(p), _rows(p.reversed())) for p in ordered) == given_rows
    assert all(_rows(p) in (_rows(q), _rows(q.reversed())) for p in ordered for q in strokes if q.glyph == p.glyph)
    travel = geometry.travel_length(ordered, start)
    greedy = geometry.travel_length(ordering.order(strokes, start=start, max_passes=0), start)
    assert travel <= greedy + 1e-9
    assert travel <= geometry.travel_length(strokes, start) + 1e-9


def test_order_reports_progress_to_the_end():
    rng = np.random.default_rng(3)
    strokes = [polyline(rng.uniform(0, 100, (2, 2))) for _ in range(500)]
    calls = []
    ordering.order(strokes, progress=lambda done, total: calls.append((done, total)))
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

    monkeypatch.setattr(ordering, "distance", counting(ordering.distance))
    monkeypatch.setattr(local_search, "_hop_length", counting(local_search._hop_length))
    rng = np.random.default_rng(11)
    side = 10 * np.sqrt(n)  # mm: one stroke per 10 x 10 mm
    strokes = [polyline(a + rng.uniform(-3, 3, (2, 2))) for a in rng.uniform(0, side, (n, 2))]
    ordering.order(strokes)
    return count[0]


def test_ordering_work_grows_near_linearly(monkeypatch):
    """Four times the strokes, about four times the work (quadratic ordering did sixteen): counted, not timed."""
    small, large = _distances_measured(monkeypatch, 1000), _distances_measured(monkeypatch, 4000)
    assert small > 1000  # the count sees the work
    assert large < 5.5 * small, (small, large)


@pytest.mark.parametrize("n", [5, 40], ids=["few", "many"])
def test_order_refuses_a_stroke_end_that_is_not_a_number(n):
    rng = np.random.default_rng(2)
    strokes = [polyline(rng.uniform(0, 50, (2, 2)), glyph=k) for k in range(n)]
    strokes[3] = polyline([[1.0, 2.0], [np.inf, 4.0]], glyph=7)
    with pytest.raises(GestureError, match=r"glyph 7.*not finite"):
        ordering.order(strokes)


# ---- against vpype linesort: pen-up travel after igae's ordering is at most linesort's, on >= 100
# glyph-like gestures on a page.  (benchmarks/ordering.py measures the same on real MNIST glyphs
# encoded by a trained model.)

def linesort_travel(polylines: list[geometry.Polyline], pipeline: str = "linesort") -> float:
    vp = pytest.importorskip("vpype", reason="REQUIRED-IN-CI: vpype (test extra) not installed; pip install -e '.[test]'")
    vpype_cli = pytest.importorskip("vpype_cli", reason="REQUIRED-IN-CI: vpype (test extra) not installed")
    # vpype drops one-point lines; the SVG writer draws a dot as a short segment, so do the same here.
    lines = [np.repeat(p.points, 2 if len(p) == 1 else 1, axis=0) @ np.array([1, 1j]) for p in polylines]
    doc = vp.Document()
    doc.add(vp.LineCollection(lines), 1)
    return vpype_cli.execute(pipeline, document=doc).layers[1].pen_up_length()[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_order_beats_linesort_on_120_glyphs(seed):
    sheet = plan_sheet(random_glyph_gestures(120, seed=seed), Page.from_spec("A4"), SheetOptions(order=False))
    strokes = list(sheet.polylines)
    assert len(strokes) >= 120
    ours = geometry.travel_length(geometry.order(strokes))
    theirs = linesort_travel(strokes)
    assert ours <= theirs + 1e-6, f"igae {ours:.1f} mm > vpype linesort {theirs:.1f} mm"
    assert ours < 0.5 * geometry.travel_length(strokes)


def _random_strokes(n: int, seed: int) -> list[geometry.Polyline]:
    """n strokes of 1-5 points scattered over 300 x 300 mm (dots and long jumps included)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        m = int(rng.integers(1, 6))
        pts = rng.uniform(0, 300, 2) + np.cumsum(rng.normal(0, 4, (m, 2)), axis=0)
        out.append(geometry.Polyline(pts, np.full(m, 0.5), np.arange(m) * 0.05))
    return out


@pytest.mark.parametrize("kind", ["scattered strokes", "600 glyphs"])
def test_order_beats_linesort_on_a_moderate_random_set(kind):
    """Over a thousand strokes: the KD-tree greedy walk and the near-end 2-opt / Or-opt, not the few-strokes path."""
    if kind == "600 glyphs":
        page = Page.from_spec("300x300mm")
        strokes = list(plan_sheet(random_glyph_gestures(600, seed=4), page, SheetOptions(order=False, spacing_mm=2)).polylines)
    else:
        strokes = _random_strokes(1500, seed=4)
    assert len(strokes) > 1000
    ordered = geometry.order(strokes)
    ours, theirs = geometry.travel_length(ordered), linesort_travel(strokes)
    assert ours <= theirs + 1e-6, f"igae {ours:.1f} mm > vpype linesort {theirs:.1f} mm"
    assert geometry.length(ordered) == pytest.approx(geometry.length(strokes))
