"""Pen-up travel after igae's ordering is at most vpype linesort's, on >= 100 glyph-like gestures on a page.

(benchmarks/ordering.py measures the same on real MNIST glyphs encoded by a trained model.)
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import random_glyph_gestures

from igae_robot.paper import geometry
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet


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
