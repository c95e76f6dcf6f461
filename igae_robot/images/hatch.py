"""Filled areas as hatching: what a pen plotter draws where the ink is many pens wide.

A centreline tracer draws a filled shape (a blot, a filled letter, a marker's fill) as its skeleton: one line
of the pen's width through a blob many pens wide, and the rest of the blob stays paper.  Plotters fill areas
with parallel lines instead (vpype's ``hatched`` plugin, Inkscape's hatch fill).  Here the parts of the ink at
least :data:`THICK_PENS` pens wide, and :data:`MIN_AREA_PENS` pen-squares large, are filled with horizontal
lines a little under a pen apart, run back and forth (boustrophedon) so that a blob is a few strokes, not one
per line.

Found cheaply, because most pages have no such part: the ink is cut into square blocks a pen wide (2 px at
least), a block is solid when all its pixels are ink, and the solid blocks whose neighbours within two blocks
are all solid too are the cores of areas five blocks wide or more.  Where strokes cross or merge, ink is three
or four pens wide over a pen or two: no core.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["THICK_PENS", "MIN_AREA_PENS", "hatch_strokes"]

THICK_PENS = 5  # ink at least this many pens wide (in blocks a pen wide) is filled ...
MIN_AREA_PENS = 4  # ... where its core is at least this many blocks
_SPACING = 0.8  # hatch lines this many pens apart: overlapping a little, so no paper shows between them


def hatch_strokes(binary: np.ndarray, pen_px: float) -> list[np.ndarray]:
    """Polylines (N,2) (x, y pixels) that fill the thick parts of ``binary`` (H,W) bool (see the module), each
    line kept half a pen inside the ink; [] when there are none."""
    b = max(2, int(round(pen_px)))
    h, w = (binary.shape[0] // b) * b, (binary.shape[1] // b) * b
    square = np.ones((THICK_PENS, THICK_PENS), bool)  # a block and the blocks within two of it
    # A solid block has an inked corner: where no corner has inked corners all round, there is no core.
    if h == 0 or w == 0 or not ndimage.binary_erosion(binary[:h:b, :w:b], square).any():
        return []
    core = ndimage.binary_erosion(binary[:h, :w].reshape(h // b, b, w // b, b).all(axis=(1, 3)), square)
    labels, n = ndimage.label(core)
    if n == 0:
        return []
    big = np.flatnonzero(np.bincount(labels.ravel())[1:] >= MIN_AREA_PENS) + 1
    if not len(big):
        return []
    area = ndimage.binary_dilation(np.isin(labels, big), square)
    thick = np.zeros_like(binary)
    thick[:h, :w] = np.repeat(np.repeat(area, b, axis=0), b, axis=1) & binary[:h, :w]
    inner = ndimage.binary_erosion(thick, iterations=max(1, math.ceil(pen_px / 2)))
    return _boustrophedon(inner, max(1.0, _SPACING * pen_px))


def _boustrophedon(inner: np.ndarray, spacing: float) -> list[np.ndarray]:
    """Rows of ``inner`` (H,W) bool every ``spacing`` pixels, their runs joined back and forth into strokes: a
    run continues the stroke whose run on the row above it overlaps, else starts one."""
    strokes: list[list[tuple[float, float]]] = []
    above: list[tuple[int, int, int]] = []  # (stroke, first x, last x) of the runs on the row above
    for y in np.arange(spacing / 2, inner.shape[0], spacing):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inner[int(y)].view(np.int8), [0]])))
        taken: set[int] = set()
        row = []
        for x0, x1 in zip(edges[::2].tolist(), (edges[1::2] - 1).tolist()):
            ends = [(x0 + 0.5, y + 0.5), (x1 + 0.5, y + 0.5)]
            s = next((s for s, a0, a1 in above if s not in taken and a0 <= x1 and x0 <= a1), None)
            if s is None:
                strokes.append(ends)
                s = len(strokes) - 1
            else:  # back the other way: start at the end nearer to where the stroke is
                last = strokes[s][-1][0]
                strokes[s] += ends if abs(last - ends[0][0]) <= abs(last - ends[1][0]) else ends[::-1]
            taken.add(s)
            row.append((s, x0, x1))
        above = row
    return [np.array(s, dtype=np.float64) for s in strokes]
