"""The scanner's bed beside a page narrower than it: a dark strip along a whole side of the scan, not ink.

A page laid on a flatbed with the lid open leaves the bed's black beside it, a band a few millimetres
wide down one side (two, if the page is turned), its inner edge the page's own.  Read as ink, the band
is a thick stroke the length of the page.  The table round a photographed page is found by its edge on a
shrunk copy (:mod:`~igae_robot.images.surround`); a band of 20 px is a few pixels there and is missed, so
the band is looked for here, at full resolution along each side: a side whose rows (or columns) start
with a run far darker than the paper, its depth a straight line along the side (the page's edge, slanted
when the page lies turned).  Writing never does that; what it does do is touch the band, so each row keeps
what runs on past the line.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bed_strips"]

_ALONG = 0.9  # of the rows where the band is over a pixel deep that start dark, at least
_SPAN = 0.5  # of a side along which the band is over a pixel deep, at least
_DEEPEST = 0.08  # the band's depth, at most this part of the image across it
_TURN = 0.05  # its depth changes by at most this many pixels a row (a page turned by under 3 degrees)
_STEADY = 0.8  # of its dark rows within _NEAR of its line, at least (the rest: writing that touches the band)
_NEAR = (3.0, 0.3)  # pixels, and part of the band's depth there, whichever is more
_PAST = 2  # pixels past the line that still count as the band (its edge, blurred by the scan)
_DARK = 0.5  # the bed is darker than this part of the paper's light


def bed_strips(gray: np.ndarray) -> np.ndarray | None:
    """The pixels of a scan ``gray`` (H,W) in [0,1], dark ink on light paper, that are the scanner's bed along a
    side, as a mask; None for none.  Only a strip along each side is read.

    The bed is found on the gray, not on the ink read from it: a band as wide as a paper estimate's window is
    partly taken for paper there, and its rows would not all start with ink."""
    mask = None
    for turn in range(4):  # each side in turn brought to the left
        side = np.rot90(gray, turn)
        depth = _band_depth(side)
        if depth is None:
            continue
        if mask is None:
            mask = np.zeros(gray.shape, bool)
        width = int(np.ceil(depth.max()))
        np.rot90(mask, turn)[:, :width] |= np.arange(width)[None, :] < depth[:, None]
    return mask


def _band_depth(side: np.ndarray) -> np.ndarray | None:
    """Per row of ``side`` (H,W) gray, how deep the band along its left edge reaches (0 where it does not), or
    None when that edge has no band.

    The band's inner edge is the page's: a straight line, slanted when the page lies turned on the glass, so
    that the band narrows along the side and may run out before its end.  The line is fitted to the rows' dark
    runs from the edge, twice (the second time without the rows far off the first: writing touching the band)."""
    h, w = side.shape
    deepest = max(2, int(_DEEPEST * w))
    strip = side[:, : 2 * deepest + 1]
    # The bed: far darker than the paper beside it (the strip's median, from every fourth pixel each way).
    near = strip < _DARK * float(np.median(strip[::4, ::4]))
    # The run of bed from the edge: up to the first lighter pixel (the whole strip when there is none).
    runs = np.where(near.all(axis=1), near.shape[1], np.argmin(near, axis=1)).astype(np.float64)
    rows = np.arange(h, dtype=np.float64)
    dark = runs > 0
    if dark.sum() < _SPAN * h:
        return None
    line = np.polyfit(rows[dark], runs[dark], 1)
    close = dark & _on_line(runs, np.polyval(line, rows))
    if close.sum() < 2:
        return None
    line = np.polyfit(rows[close], runs[close], 1)
    depth = np.polyval(line, rows)
    band = depth > 1.0
    if (abs(line[0]) > _TURN or depth.max() > deepest or band.mean() < _SPAN or dark[band].mean() < _ALONG
            or _on_line(runs, depth)[band & dark].mean() < _STEADY):
        return None
    return np.where(band, np.minimum(runs, np.maximum(depth, 0.0) + _PAST), 0.0)


def _on_line(runs: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Rows whose run is within _NEAR of the band's line."""
    return np.abs(runs - depth) <= np.maximum(_NEAR[0], _NEAR[1] * depth)
