"""The printed lines of ruled paper taken out of an ink image, torch-free (``igae vectorize --remove-lines``).

Lines are found as a Hough transform over vertical strips (lines within ±3° across three quarters of the
page), and the writing that crosses them is left.  It is an option: a line drawn across the page looks like
a printed one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from igae_robot.errors import DataError
from igae_robot.images.glyphs import stroke_width

__all__ = ["remove_ruled_lines"]

_STRIP = 32  # px: the page is cut into vertical strips this wide to find lines
_TILT = math.tan(math.radians(3))  # ruled lines within ±3° of horizontal
_SPAN = 0.75  # a ruled line covers at least this share of the strips (a drawn line across half the page is not one)
_DETECT = 1600  # px: lines are found on a copy at most this wide (max-pooled: thin lines survive)


def remove_ruled_lines(ink: np.ndarray, pen_px: float | None = None) -> np.ndarray:
    """Ink (H,W) in [0,1] without the lines of ruled paper: near-horizontal lines (±3°) across three quarters of
    the page, and a near-vertical margin line down three quarters of it.  Where writing crosses a line (ink just above or below
    it), the line's pixels stay: the stroke goes on through them.  Returns a new (H,W) float32 array.

    pen_px: the writing's stroke width; lines thicker than twice it plus 2 px are drawn, not printed, and stay
    (None: estimated as ``glyphs.stroke_width``).
    """
    out = np.array(ink, dtype=np.float32)
    if out.ndim != 2:
        raise DataError(f"expected a 2-D ink image, got shape {out.shape}")
    pen = stroke_width(out) if pen_px is None else float(pen_px)
    _remove_horizontal(out, pen)
    _remove_horizontal(out.T, pen)  # a view: the margin line, removed in place
    return out


def _remove_horizontal(ink: np.ndarray, pen: float) -> None:
    """Remove near-horizontal ruled lines from ``ink`` (H,W), in place."""
    binary = ink > 0.5
    for row, slope in _find_lines(binary):
        _erase_line(ink, binary, row, slope, pen)


def _find_lines(binary: np.ndarray) -> list[tuple[float, float]]:
    """Near-horizontal lines across the page as (row at column 0, slope rows per column), full-size pixels.

    On a max-pooled copy: each strip of ``_STRIP`` columns marks the rows its ink covers from side to side
    (within ±2 rows: a line tilted 3° climbs 1.7 rows across a strip); then for each slope the marks along that
    slope are counted (a Hough transform over strips), and a run of rows whose best count reaches ``_SPAN`` of
    the strips is one line.
    """
    f = max(1, math.ceil(binary.shape[1] / _DETECT))
    h, w = binary.shape[0] // f, binary.shape[1] // f
    n = w // _STRIP
    if n < 4 or h < 3:
        return []
    pooled = binary[: h * f, : w * f].reshape(h, f, w, f).any(axis=(1, 3))
    near = ndimage.maximum_filter1d(pooled.view(np.uint8), 5, axis=0)
    full = near[:, : n * _STRIP].reshape(h, n, _STRIP).sum(axis=2) >= 0.9 * _STRIP  # (h, n)
    centres = (np.arange(n) + 0.5) * _STRIP
    slopes = np.arange(-_TILT, _TILT + 1e-9, 2.0 / w)  # two rows of drift across the page per step
    rows = np.arange(h)[:, None]
    counts = np.stack([_along(full, rows + np.round(centres * s).astype(int)) for s in slopes], axis=1)  # (h, slopes)
    best = counts.max(axis=1)
    lines = []
    hits, _ = ndimage.label(best >= _SPAN * n)
    for run in ndimage.find_objects(hits):
        y = run[0].start + int(np.argmax(best[run]))
        s = float(slopes[int(np.argmax(counts[y]))])
        lines.append(((y + 0.5) * f - 0.5, s))
    return lines


def _along(full: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(h,) marks of ``full`` (h,n) counted along rows ``index`` (h,n) of each strip (outside the page: none)."""
    inside = (index >= 0) & (index < full.shape[0])
    return (full[np.clip(index, 0, full.shape[0] - 1), np.arange(full.shape[1])] & inside).sum(axis=1)


def _erase_line(ink: np.ndarray, binary: np.ndarray, row: float, slope: float, pen: float) -> None:
    """Clear one ruled line from ``ink`` in place, except in the columns where writing crosses it."""
    h, w = ink.shape
    reach = 4 + math.ceil(w / _DETECT)  # rows searched each side of the fitted line
    offsets = np.arange(-reach - 3, reach + 4)
    ys = np.round(row + slope * np.arange(w))[None, :].astype(int) + offsets[:, None]  # (rows, w)
    inside = (ys >= 0) & (ys < h)
    band = binary[np.clip(ys, 0, h - 1), np.arange(w)] & inside  # (rows, w)
    profile = band[3:-3].mean(axis=1)  # the line's rows: most columns have ink there
    on = np.flatnonzero(profile >= 0.5 * profile.max()) + 3
    if profile.max() == 0 or on[-1] - on[0] + 1 > 2 * pen + 2:
        return  # nothing there, or a bar drawn thicker than the pen: not a printed line
    top, bottom = on[0], on[-1]
    # A stroke crosses where ink continues a row past the line's edge (one row of slack for its blur).
    crossed = band[max(0, top - 3) : top - 1].any(axis=0) | band[bottom + 2 : bottom + 4].any(axis=0)
    clear = ~crossed
    for o in range(top - 1, bottom + 2):
        y = ys[o]
        keep = inside[o] & clear
        ink[y[keep], np.flatnonzero(keep)] = 0.0
