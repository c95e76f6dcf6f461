"""Pen-up travel after igae's ordering is at most vpype linesort's, on >= 100 glyph-like gestures on a page.

(benchmarks/ordering.py measures the same on real MNIST glyphs encoded by a trained model.)
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import random_glyph_gestures

from igae_robot import geometry
from igae_robot.page import Page
from igae_robot.sheet import SheetOptions, plan_sheet


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
