"""paper/geometry.py: simplify, merge, clip, resample, fit: hand-computed values and an EMPTY case each."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures_machine import polyline

from igae_robot.paper import geometry

A = polyline([[0, 0], [10, 0]])
B = polyline([[10, 0], [10, 10]])
C = polyline([[30, 0], [20, 0]])


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


def test_merge_of_a_page_of_strokes_chains_them_as_the_small_merge_does():
    # 30 broken lines of 5 pieces each (one piece reversed), all in one glyph: more than the quadratic
    # merge takes, so the k-d tree one chains them; each line comes back whole.
    rng = np.random.default_rng(1)
    pool = []
    for line in range(30):
        xs = np.linspace(0, 50, 21) + rng.uniform(0, 5)
        ys = np.full(21, 10.0 * line)
        for k in range(5):
            piece = polyline([(float(x), float(y)) for x, y in zip(xs[4 * k : 4 * k + 5], ys[4 * k : 4 * k + 5])], glyph=0)
            pool.append(piece.reversed() if k == 2 else piece)
    order = rng.permutation(len(pool))
    merged = geometry.merge([pool[i] for i in order], 0.01)
    assert len(pool) > geometry._MANY
    assert len(merged) == 30
    assert sorted(round(float(m.points[:, 1].mean())) for m in merged) == [10 * k for k in range(30)]
    assert all(len(m) == 21 for m in merged)


def _plain_merge_of_one_glyph(pool: list[geometry.Polyline], tol: float) -> list[geometry.Polyline]:
    """The k-d tree merge written plainly: each sweep over a chain tries, in index order, the strokes
    with an end within ``tol`` of the chain's ends as they were when the sweep began (measured one by one)."""
    def ends(p):
        return (p.points[0].tolist(), p.points[-1].tolist())

    out, used = [], [False] * len(pool)
    for i, chain in enumerate(pool):
        if used[i]:
            continue
        used[i], grown = True, True
        while grown:
            grown = False
            near = [j for j, p in enumerate(pool) if any(math.dist(u, v) <= tol for u in ends(chain) for v in ends(p))]
            for j in near:
                joined = None if used[j] else geometry._join(chain, pool[j], tol)
                if joined is not None:
                    chain, used[j], grown = joined, True, True
        out.append(chain)
    return out


@pytest.mark.parametrize("layout", ["scattered", "grid-at-tolerance"])
def test_merge_through_the_k_d_tree_joins_as_the_plain_search_does(layout):
    """A glyph of hundreds of strokes (candidates from the k-d tree, asked once for every pair of
    near ends) merges exactly as the plainly written search: same chains, same points, pressure
    and time.  On a grid whose spacing is the tolerance, ends lie exactly at it."""
    rng = np.random.default_rng(3 if layout == "scattered" else 4)
    pool = []
    for k in range(300):
        m = int(rng.integers(1, 4))  # dots too
        if layout == "scattered":
            pts = rng.uniform(0, 40, 2) + np.cumsum(rng.normal(0, 1, (m, 2)), axis=0)
        else:
            pts = rng.integers(0, 15, (m, 2)).astype(float) * 0.25
        pool.append(geometry.Polyline(pts, rng.uniform(0, 1, m), np.arange(m) + 10.0 * k, glyph=5))
    tol = 0.5 if layout == "scattered" else 0.25
    through_tree = geometry.merge(pool, tol)
    plain = _plain_merge_of_one_glyph(pool, tol)
    assert len(pool) > geometry._MANY and len(through_tree) < len(pool) - 20  # the tree's path, many joins
    assert len(through_tree) == len(plain)
    for a, b in zip(through_tree, plain):
        assert a.points.tolist() == b.points.tolist()
        assert a.pressure.tolist() == b.pressure.tolist() and a.t_s.tolist() == b.t_s.tolist()


@pytest.mark.parametrize("n", [5, 9, 40, 64])
def test_ends_meet_as_measured_pair_by_pair(n):
    """Whether any two strokes' ends meet: numpy over every pair (above a dozen strokes) answers as
    the pair-by-pair measure does, exactly at the tolerance too, and never pairs a stroke with itself."""
    rng = np.random.default_rng(n)
    answers = set()
    for trial in range(60):
        pts = rng.integers(0, 4 * n, (n, 2, 2)).astype(float) * 0.25
        if trial % 3 == 0:
            pts[:, 1] = pts[:, 0]  # a stroke's own ends meet: not a join
        pool = [polyline(p) for p in pts]
        ends = [(p.points[0].tolist(), p.points[-1].tolist()) for p in pool]
        for tol in (0.25, 0.5, 0.1):
            expected = any(math.dist(u, v) <= tol for i, a in enumerate(ends) for b in ends[i + 1:] for u in a for v in b)
            assert geometry._ends_meet(pool, tol) == expected, (trial, tol)
            answers.add(expected)
    assert answers == {True, False}
