"""The independent judge: Pillow's round pen, its area, and the IoU it gives."""

from __future__ import annotations

import math

import numpy as np

from igae_robot.images.pen_draw import pen_coverage, pen_iou


def test_a_line_covers_its_length_times_the_pen_plus_round_caps():
    cover = pen_coverage([np.array([[10.0, 20.0], [50.0, 20.0]])], (40, 64), pen_px=6.0)
    expected = 40 * 6 + math.pi * 3**2
    assert abs(cover.sum() / expected - 1) < 0.03, cover.sum()


def test_a_single_point_is_a_dot():
    cover = pen_coverage([np.array([[16.0, 16.0]])], (32, 32), pen_px=8.0)
    assert abs(cover.sum() / (math.pi * 16) - 1) < 0.03


def test_thin_pens_have_their_area_too():
    # Pillow rasterises a disc to whole pixels; the judge supersamples thin pens more (measured within 5%).
    for pen in (1.0, 1.3, 1.8, 2.5, 3.0):
        dot = pen_coverage([np.array([[16.0, 16.0]])], (32, 32), pen)
        assert abs(dot.sum() / (math.pi * pen * pen / 4) - 1) < 0.06, pen
        line = pen_coverage([np.array([[5.0, 16.3], [25.0, 16.3]])], (32, 32), pen)
        assert abs(line.sum() / (20 * pen + math.pi * pen * pen / 4) - 1) < 0.03, pen


def test_iou_of_a_drawing_against_itself_and_against_nothing():
    lines = [np.array([[5.0, 5.0], [25.0, 25.0], [25.0, 5.0]])]
    ink = pen_coverage(lines, (32, 32), 3.0)
    assert pen_iou(lines, ink, 3.0) == 1.0
    assert pen_iou([], ink, 3.0) == 0.0
    assert pen_iou([], np.zeros((8, 8)), 3.0) == 1.0
