"""Filled areas as hatching (images/hatch.py): blobs are filled, lines and their junctions are not."""

import numpy as np
from PIL import Image, ImageDraw

from igae_robot.images.hatch import hatch_strokes
from igae_robot.images.pen_draw import pen_coverage, pen_iou


def _page(draw) -> np.ndarray:
    im = Image.new("L", (300, 260), 0)
    draw(ImageDraw.Draw(im))
    return np.asarray(im) > 127


def _disc(d):
    d.ellipse((60, 50, 200, 190), fill=255)


def test_a_filled_disc_is_hatched_inside_its_ink_in_a_few_strokes():
    ink, pen = _page(_disc), 5.0
    strokes = hatch_strokes(ink, pen)
    assert 1 <= len(strokes) <= 3  # back and forth: one stroke a convex blob, not one a line
    points = np.concatenate(strokes)
    assert ink[points[:, 1].astype(int), points[:, 0].astype(int)].all()
    covered = pen_coverage(strokes, ink.shape, pen) > 0.5
    inside = ink.copy()
    inside[:, :] = False
    inside[70:170, 80:180] = ink[70:170, 80:180]
    assert covered[inside].mean() > 0.97  # no paper between the lines
    assert (covered & ~ink).sum() < 0.01 * ink.sum()  # nor ink outside the disc


def test_lines_and_their_crossings_are_not_hatched():
    def lines(d):
        for y in range(30, 240, 40):
            d.line([(10, y), (290, y + 15)], fill=255, width=5)
        for x in range(20, 290, 50):
            d.line([(x, 5), (x + 20, 255)], fill=255, width=5)
        d.line([(150, 20), (160, 240)], fill=255, width=12)  # three pens wide: a bold stroke, still a line

    assert hatch_strokes(_page(lines), 5.0) == []


def test_a_blank_page_and_a_thin_pen_need_no_hatching():
    assert hatch_strokes(np.zeros((50, 60), bool), 3.0) == []
    assert hatch_strokes(_page(lambda d: d.line([(0, 100), (300, 120)], fill=255, width=2)), 1.0) == []


def test_a_page_drawn_whole_with_hatching_covers_its_blob():
    from igae_robot.vectorize.engines import draw_whole

    def page(d):
        _disc(d)
        d.line([(220, 20), (280, 240)], fill=255, width=5)

    ink = _page(page).astype(np.float32)
    plain = draw_whole(ink, 5.0, fit_steps=2, coarse_steps=2)
    hatched = draw_whole(ink, 5.0, fit_steps=2, coarse_steps=2, hatch=True)
    assert pen_iou(hatched.strokes(), ink, 5.0) > pen_iou(plain.strokes(), ink, 5.0) + 0.3
