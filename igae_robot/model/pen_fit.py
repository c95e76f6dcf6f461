"""Fitting a drawing to an image through the pen renderer: what the pen will draw, made to cover the ink.

A centreline traced from pixels is off by up to half a pixel everywhere, cuts corners at junctions
and stops short or long at ends; drawn with a real pen that costs IoU against the source (issue 13).
Here the drawing's points move, by gradient descent (Adam), to maximise the soft IoU between the pen's
picture and the source ink:

    loss = 1 - sum(c * t) / sum(c + t - c * t)        c: pen render, t: ink, per glyph

The picture is the pen's own (:func:`~igae_robot.model.render_pen.render_pen`): a pixel is inked as far as
the piece of the drawing that covers it most reaches it -- for a fixed pen, its nearest segment.  Fitted
through the union 1 - prod(1 - c) instead (the pen renderer's first composition), lines came out wider
than Pillow draws them: 0.954 on 8 Omniglot drawings against 0.983 (trace alone 0.908).  The render, loss,
gradient and Adam step run in one compiled kernel (:mod:`~igae_robot.model.fit_kernel`), held to the torch
renderer's values and gradients by its tests: the renderer's tensor ops cost 5-10x more on a page.

Strokes and pen lifts stay as given (topology is the tracer's job); the pen width is the machine's,
fixed.  Glyphs are independent (Adam is element-wise and each loss sees only its own glyph), so a
batch gives the same drawing as one glyph at a time.  The fit works at the source's resolution:
fitting at a coarser one (area-averaged ink, pen 3 working pixels wide) measured worse than the
trace it started from on Omniglot (IoU 0.941 -> 0.821 on one drawing, 0.965 at full resolution).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely
import torch

from igae_robot.model.fit_kernel import fit_points
from igae_robot.model.render_pen import EDGE_PX

__all__ = ["PenDrawing", "to_steps", "fit_drawings", "fit_page", "page_windows", "PAGE_WINDOW", "FIT_MARGIN_EDGES"]

# The fit renders each piece on the pixels within 4 anti-aliased edges (1 px) of its reach, not the
# renderer's exact 14: beyond, a piece's coverage is below sigmoid(-4) = 1.8%, which no 0.5 threshold sees.
# On 16 held-out pages (build_pages.py --seed 3) 6 edges fitted the same IoU as 14 to 0.0002 in 40% less CPU;
# 4 edges, on the 20 pages with ink of that set, fitted a mean IoU 0.0025 higher than 6 (none lower by more
# than 0.014 on a single dot; thin pens gained most, 0.004-0.023) in 12% less CPU, and 60 MNIST crops at 112 px
# the same (0.9540 against 0.9537).
FIT_MARGIN_EDGES = 4.0


@dataclass
class PenDrawing:
    """One glyph as pen steps: points (T,2) in source pixels, down (T,) bool; a pen-up step ends each stroke."""

    points: np.ndarray
    down: np.ndarray

    def strokes(self) -> list[np.ndarray]:
        """The pen-down runs as polylines (N,2)."""
        out, start = [], None
        for i, d in enumerate(list(self.down) + [False]):
            if d and start is None:
                start = i
            elif not d and start is not None:
                out.append(self.points[start:i])
                start = None
        return out


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """A polyline (N,2) resampled at even arc-length spacing (ends kept); a dot stays a dot."""
    if len(stroke) < 2:
        return stroke
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))])
    n = max(2, int(np.ceil(arc[-1] / spacing)) + 1)
    s = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(s, arc, stroke[:, 0]), np.interp(s, arc, stroke[:, 1])], axis=1)


def to_steps(strokes: list[np.ndarray], spacing: float, corner_px: float | None = None) -> PenDrawing:
    """Strokes (source pixels) as pen steps ``spacing`` pixels apart, each stroke followed by a pen-up step.

    corner_px: keep the strokes' corners -- every vertex that a Douglas-Peucker simplification at that
    tolerance keeps -- and put steps at most ``spacing`` apart between them (:func:`_corner_steps`);
    None: steps evenly ``spacing`` apart along each stroke (corners cut)."""
    if corner_px is not None:
        return _corner_steps(strokes, spacing, corner_px)
    points, down = [], []
    for stroke in strokes:
        run = _resample(np.asarray(stroke, dtype=np.float64), spacing)
        points += [run, run[-1:]]
        down += [np.ones(len(run), bool), np.zeros(1, bool)]
    if not points:
        return PenDrawing(np.zeros((0, 2)), np.zeros(0, bool))
    return PenDrawing(np.concatenate(points), np.concatenate(down))


def _corner_steps(strokes: list[np.ndarray], spacing: float, corner_px: float) -> PenDrawing:
    """to_steps keeping corners.  Evenly spaced steps cut a traced line's corners by up to half a step: on
    5 held-out pages (pens 3-6 px, steps half a pen apart) the drawing lost 0.00-0.04 of pen-drawn IoU
    before any fit, and the fit spent its first steps winning it back; with the corners of a 0.3-px
    simplification kept, 7 fit steps scored what 8 did from even steps (benchmarks/pages.py pages, seed 3)."""
    vertices, stroke = _corners([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes], corner_px)
    if not len(vertices):
        return PenDrawing(np.zeros((0, 2)), np.zeros(0, bool))
    last = np.r_[stroke[1:] != stroke[:-1], True]  # a stroke's final vertex (a dot's only one): no segment leaves it
    seg = np.where(last[:, None], 0.0, np.diff(vertices, axis=0, append=vertices[-1:]))
    parts = np.maximum(1, np.ceil(np.linalg.norm(seg, axis=1) / spacing)).astype(np.int64)
    j = np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts)  # a segment's steps: vertex + seg * j / parts
    points = np.repeat(vertices, parts, 0) + np.repeat(seg / parts[:, None], parts, 0) * j[:, None]
    ends = np.flatnonzero(np.repeat(last, parts))  # the pen lifts after each stroke's last step
    return PenDrawing(np.insert(points, ends + 1, points[ends], axis=0), np.insert(np.ones(len(points), bool), ends + 1, False))


def _corners(lines: list[np.ndarray], tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The vertices (V,2) that Douglas-Peucker (GEOS, through shapely) keeps of each line at ``tolerance``, and
    each one's line (V,); a line's ends are always kept, a dot is its point, a line of one repeated point its ends."""
    sizes = np.array([len(s) for s in lines], dtype=np.int64)
    long = np.flatnonzero(sizes > 1)
    simple = shapely.simplify(shapely.linestrings(np.concatenate([lines[k] for k in long] or [np.zeros((0, 2))]),
                                                  indices=np.repeat(np.arange(len(long)), sizes[long])), tolerance, preserve_topology=False)
    coords, at = shapely.get_coordinates(simple, return_index=True)
    simplified = np.split(coords, np.cumsum(np.bincount(at, minlength=len(long)))[:-1])
    vertices = [line if len(line) == 1 else line[[0, -1]] for line in lines]
    for k, v in zip(long, simplified):  # GEOS gives a line of one repeated point back empty: its ends stay
        if len(v) >= 2:
            vertices[k] = v
    owner = [np.full(len(v), k) for k, v in enumerate(vertices)]
    return (np.concatenate(vertices), np.concatenate(owner)) if lines else (np.zeros((0, 2)), np.zeros(0, np.int64))


def fit_drawings(
    drawings: list[PenDrawing], inks: np.ndarray, pen_px: np.ndarray | float, steps: int = 60,
    lr_px: float | tuple[float, float] = 0.3, threads: int | None = None,
) -> list[PenDrawing]:
    """Move the points of each drawing so that a pen ``pen_px`` wide covers its ink.

    drawings: one per ink; inks (N,H,W) in [0,1] (1 = ink), all the same size; pen_px (N,) or one width,
    source pixels; lr_px: Adam's step, source pixels, or (first, last) for a step that shrinks linearly
    from one to the other over the fit; threads: how many drawings fit at once (default: as many as torch
    may use; the kernel lets go of the GIL).  Each drawing is fitted on its own, so the result is the same
    whatever the thread count.  Returns new drawings (same steps, same pen lifts).
    """
    n = len(inks)
    pens = np.broadcast_to(np.asarray(pen_px, dtype=np.float64), (n,))
    if steps <= 0 or n == 0:
        return drawings
    lr = lr_px if isinstance(lr_px, tuple) else (lr_px, lr_px)
    margin_px = FIT_MARGIN_EDGES * EDGE_PX

    def fit(k: int) -> PenDrawing:
        d = drawings[k]
        return PenDrawing(fit_points(d.points, d.down, inks[k], pens[k], margin_px, steps, lr), d.down)

    threads = min(n, threads or torch.get_num_threads())
    if threads <= 1:
        return [fit(k) for k in range(n)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fit, range(n)))


# Pixels: the page's fit runs in square windows this size (see fit_page).  Each window carries a margin of two
# pens on every side, fitted again by its neighbours: at 192 px and a 7-px pen that was 44% more pixels than the
# page, at 384 px 19%, for the same IoU on the 16 pages above, in 25% less time.
PAGE_WINDOW = 384


def fit_page(
    drawing: PenDrawing, ink: np.ndarray, pen_px: float, steps: int = 60, lr_px: float | tuple[float, float] = 0.3,
    window: int = PAGE_WINDOW, progress: Callable[[int, int], None] | None = None,
) -> PenDrawing:
    """:func:`fit_drawings` for a drawing of any size: a page, a diagram, a word.

    The page is cut into a grid of square cells; each cell's points are fitted in a window of ``window``
    pixels around it (the cell plus a margin of two pens), where the neighbouring cells' points are
    present too, so that a point at the cell's edge sees the lines next to it.  Each point keeps the value
    of the window of its own cell.  Memory is a window per thread, whatever the page's size; strokes and
    lifts are the drawing's, only the points move.  ink (H,W) in [0,1], the drawing in its pixels;
    progress(windows done, windows) as windows finish."""
    if steps <= 0 or not len(drawing.points):
        return drawing
    margin, core = _grid(pen_px, window)
    cells, occupied, owned = _cells(drawing.points, core)
    fitted = drawing.points.copy()

    def fit_window(cell: np.ndarray) -> tuple:
        local, (index, at, mine), crop = _window(drawing, ink, cells, cell, core, margin, window)
        return fit_drawings([local], crop[None], pen_px, steps, lr_px, threads=1)[0], index, at, mine, cell

    # One window a task, the busiest first (a window's work grows with its points): the threads stay busy to the
    # end.  In batches of 8 in page order, two threads sat waiting for the last batch: on a page of digits the
    # fit used 1.45 of 2 cores.  The windows are independent, so the drawing is the same whatever the order.
    order = occupied[np.argsort(-owned, kind="stable")]
    with ThreadPoolExecutor(max(1, min(torch.get_num_threads(), len(order)))) as pool:
        for done, (d, index, at, mine, cell) in enumerate(pool.map(fit_window, order), 1):
            fitted[index[mine]] = d.points[at[mine]] + (cell * core - margin)
            if progress is not None:
                progress(done, len(occupied))
    return PenDrawing(fitted, drawing.down)


def page_windows(drawing: PenDrawing, pen_px: float, window: int = PAGE_WINDOW) -> int:
    """How many windows :func:`fit_page` fits for ``drawing`` (what its progress counts to)."""
    return len(_cells(drawing.points, _grid(pen_px, window)[1])[1]) if len(drawing.points) else 0


def _grid(pen_px: float, window: int) -> tuple[int, int]:
    """(margin, core) of fit_page's windows: a cell of ``core`` pixels, with a margin of two pens each side."""
    margin = int(np.ceil(2 * pen_px)) + 2
    if window - 2 * margin < 8:
        raise ValueError(f"a {window}-pixel window leaves no room for a {pen_px:.1f}-pixel pen")
    return margin, window - 2 * margin


def _cells(points: np.ndarray, core: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's cell (T,2) (x, y) of a grid of ``core`` pixels, the cells that hold a point, sorted as
    ``np.unique(cells, axis=0)`` sorts them (a unique of one number per cell: 13 ms -> 1 ms on a page), and how
    many points each of them holds."""
    cells = np.floor(points / core).astype(np.int64)
    low = cells.min(0)
    span = cells[:, 1].max() - low[1] + 1
    keys, counts = np.unique((cells[:, 0] - low[0]) * span + (cells[:, 1] - low[1]), return_counts=True)
    return cells, np.column_stack([keys // span + low[0], keys % span + low[1]]), counts


def _window(drawing: PenDrawing, ink: np.ndarray, cells: np.ndarray, cell: np.ndarray, core: int, margin: int, window: int):
    """One cell's window: (local drawing, (its steps' indices in the drawing, their positions in the local
    drawing, which of them the cell owns), ink crop).

    The local drawing is the steps inside the window, in order; where the drawing leaves the window and
    comes back, a pen-up step is put in so that no line is drawn across the gap."""
    x0, y0 = cell * core - margin
    p = drawing.points
    inside = (p[:, 0] >= x0) & (p[:, 0] < x0 + window) & (p[:, 1] >= y0) & (p[:, 1] < y0 + window)
    index = np.flatnonzero(inside)
    gap = np.flatnonzero(np.diff(index) > 1)  # after these local steps the drawing was outside
    points = np.insert(p[index] - (x0, y0), gap + 1, p[index[gap]] - (x0, y0), axis=0)
    down = np.insert(drawing.down[index], gap + 1, False)
    at = np.arange(len(index)) + np.searchsorted(gap + 1, np.arange(len(index)), side="right")
    mine = (cells[index] == cell).all(axis=1)
    crop = np.zeros((window, window), np.float32)
    h, w = ink.shape
    ys, xs = slice(max(0, y0), min(h, y0 + window)), slice(max(0, x0), min(w, x0 + window))
    crop[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = ink[ys, xs]
    return PenDrawing(points, down), (index, at, mine), crop
