"""Which way round the ink is: dark on light paper, or light on dark (chalk on a board, a negative).

The border says first (``read.light_backgrounds``); the marks may overturn it (:func:`dark_on_light`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from igae_robot.images.read import light_backgrounds
from igae_robot.images.shrink import box_copy

__all__ = ["dark_on_light"]

_POLARITY_SIDE = 150  # px: long side of the copy the polarity's marks are measured on
_POLARITY_RATIO = 3.0  # one side of the marks must stand out this many times as far as the other ...
_POLARITY_MIN = 0.1  # ... and this far (gray levels in [0,1]) to overturn the border's polarity
_DARK_BORDER_SHARE = 0.01  # a dark border gives way when darker marks outnumber lighter by this share of the page


def dark_on_light(gray: np.ndarray, light_border: bool | None = None) -> bool:
    """Dark ink on light paper?  The border says (``read.light_backgrounds``, or ``light_border`` when the caller
    knows it: the sheet of a photo whose table was found), unless the marks say otherwise.

    A camera photo of a page darkens towards its edges (vignetting, a shadow) or shows the table around the
    page, and a dim photo's paper is grey: the border then reads dark, and a page read as light ink on dark
    paper has no ink at all.  So the marks are measured too, on a copy shrunk to ``_POLARITY_SIDE`` px: each
    pixel against the median around it.  Ink is the side that stands out; grain, shadows and the page's edge
    stand out both ways, or not at all.  A light border gives way only when the 99.5th percentile above stands
    out ``_POLARITY_RATIO`` times as far as the 0.5th below, and by ``_POLARITY_MIN`` (blank and sparse pages
    keep the border's): on build_pages.py's seed 7 and 26 pages of other kinds the dark side led 1.0-85x and
    no verdict changed; 4 x 300 glyphs of pen_fidelity's 105-112 px sets and their negatives kept theirs.

    A dark border gives way on other evidence: the page's edge against a dark table stands out both ways as far
    as ink does, so the extremes tie, but it adds as many pixels to each side where ink adds to one.  So: the
    pixels over ``_POLARITY_MIN`` darker than their surround outnumber those as much lighter by
    ``_DARK_BORDER_SHARE`` of the page.  Measured 2026-12-03 on build_unseen_pages.py's seeds 8, 12, 14, 21-60:
    110 photos +0.029 to +0.213, 86 boards (chalk, white on black) -0.063 to -0.246; seeds 61-80, built after:
    60 photos +0.025 to +0.219, 40 boards -0.055 to -0.253.  The extremes (the dark side leading 3x) had read 17
    of those 170 photos as light ink on dark paper: no ink at all.
    """
    border = bool(light_backgrounds(gray[None])[0]) if light_border is None else light_border
    h, w = gray.shape
    if max(h, w) <= _POLARITY_SIDE:
        # A glyph's image, not a photo of a page: the marks' median (a 48-px window at full size) took 26 ms of
        # a 112-px glyph's 30 ms of scan_ink, and no such glyph changed its verdict (above).
        return border
    small, k = box_copy(gray, _POLARITY_SIDE, sparse=True)
    # The median of a window wider than strokes (a 16th of the page, at least 48 px of the image), taken over
    # at most 9 x 9 of its pixels: a glyph's strokes of 5-10 px must not be the majority of any window.
    window = min(max(small.shape), max(round(max(small.shape) / 16), math.ceil(48 / k)))
    step = math.ceil(window / 9)
    footprint = np.zeros((window, window), bool)
    footprint[::step, ::step] = True
    marks = small - ndimage.median_filter(small, footprint=footprint, mode="nearest")
    if border:  # the extremes: the light side must stand out far more than the dark one
        darker, lighter = -float(np.percentile(marks, 0.5)), float(np.percentile(marks, 99.5))
        return lighter < max(_POLARITY_MIN, _POLARITY_RATIO * darker)
    # The areas: darker marks must outnumber the lighter ones
    surplus = np.count_nonzero(marks < -_POLARITY_MIN) - np.count_nonzero(marks > _POLARITY_MIN)
    return bool(surplus >= _DARK_BORDER_SHARE * marks.size)
