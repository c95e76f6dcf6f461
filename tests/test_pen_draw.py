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


def test_a_large_image_drawn_in_bands_is_the_same_as_one_canvas(monkeypatch):
    import igae_robot.images.pen_draw as pen_draw

    rng = np.random.default_rng(0)
    lines = [np.cumsum(rng.normal(0, 6, (12, 2)), axis=0) + rng.uniform(10, 110, 2) for _ in range(15)] + [np.array([[60.0, 33.0]])]
    whole = pen_coverage(lines, (120, 90), 3.0)
    monkeypatch.setattr(pen_draw, "BAND_PIXELS", 90 * 11 * 11 * 23)  # bands of 7 rows (and 16 above) at 11x
    banded = pen_coverage(lines, (120, 90), 3.0)
    assert whole.sum() > 500
    # The same pixels, but for a stray supersampled pixel where Pillow's rounding of an outline differs.
    assert np.abs(banded - whole).max() <= 1 / 121 + 1e-6
    assert (banded != whole).sum() <= 2


def test_small_tiles_draw_every_run_and_lone_point_as_one_canvas_does(monkeypatch):
    # Each tile finds the runs of segments and the lone points that reach it from one array of all points:
    # a stroke crossing many tiles, dots on and near tile edges, and empty polylines between them.
    import igae_robot.images.pen_draw as pen_draw

    rng = np.random.default_rng(3)
    lines = [np.cumsum(rng.normal(0, 4, (40, 2)), axis=0) + 50 for _ in range(6)]
    lines += [np.zeros((0, 2)), np.array([[16.0, 16.0]]), np.array([[31.5, 47.0]]), np.zeros((0, 2)), np.array([[70.2, 8.0]])]
    whole = pen_coverage(lines, (100, 90), 3.0)
    monkeypatch.setattr(pen_draw, "TILE_PX", 16)
    tiled = pen_coverage(lines, (100, 90), 3.0)
    dots = pen_coverage(lines[-4:], (100, 90), 3.0)
    assert abs(dots.sum() / (3 * math.pi * 9 / 4) - 1) < 0.06
    assert np.abs(tiled - whole).max() <= 1 / 121 + 1e-6
    assert (tiled != whole).sum() <= 3
    assert pen_coverage([np.zeros((0, 2))], (20, 20), 3.0).sum() == 0
