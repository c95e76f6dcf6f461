"""The re-render check: read an exported file back, draw it with the model's renderer, score it.

What is compared, exactly:

* **File side.** Every stroke read back from the file is mapped from page mm to its glyph's
  canvas (glyph units) through the placement stored in the file, resampled so no gap between
  consecutive points exceeds ``spacing_px`` pixels (pressure interpolated linearly), and every
  point becomes one marker of ink 1 and variance ``pressure * var_coef + var_eps``.
* **Source side** (``against`` gestures). The same for each gesture's pen-down runs
  (``Gesture.strokes`` with the threshold and release stored in the file): pen-up steps draw
  nothing, pen-down steps draw at full ink, and the run between two steps is a continuous line,
  as a pen draws it.  So the check measures what the exporter changed (layout round trip,
  simplification, merging, ordering, number precision, clipping), not the model's fidelity.
* **Source side** (``against`` images). The source image itself, as the model saw it (28x28
  glyph), which measures the whole chain including the model.  Here the file side is drawn as a
  plotter draws it: its strokes stroked by Pillow with a round pen as wide as the source's median
  stroke (:func:`pen_canvases`), not with the model's markers: a score against the source must not
  depend on the model's own picture.

Scores at the model's resolution: IoU of the canvases binarised at 0.5 and MSE of the raw
canvases, per glyph and for the whole sheet.  The sheet's IoU pools every glyph (total
intersection / total union; 1 when nothing is inked anywhere), and the check passes when it is at
least ``min_iou``.  It is pooled because one glyph is only ~50-150 inked pixels: a pixel whose
value sits within 1e-3 of the threshold flips under any sub-micron change, and one flip costs a
small glyph 1-2 % of its own IoU.  The worst glyph is reported next to it.

The renderers live in :mod:`igae_robot.model.render` (:func:`~igae_robot.model.render.render_polylines`);
this module maps strokes back to their glyphs and scores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from igae_robot.errors import CheckError
from igae_robot.gesture import Gesture
from igae_robot.images.glyphs import ink_image, to_glyph
from igae_robot.images.pen_draw import pen_coverage, pen_supersample
from igae_robot.images.trace import median_stroke_width
from igae_robot.model.render import render_polylines, render_strokes
from igae_robot.paper.geometry import Polyline
from igae_robot.paper.sheet import Sheet, stroke_polyline

__all__ = [
    "GlyphScore", "CheckReport", "gesture_polylines", "glyph_strokes", "check_sheet", "score_sheets_pen",
    "pen_canvases", "source_glyph",
    "DEFAULT_MIN_IOU",
]

DEFAULT_MIN_IOU = 0.99
PAGE_CHECK_PIXELS = 1_000_000  # inks larger than this (pages, not glyphs) are checked at PAGE_CHECK_SUPERSAMPLE
PAGE_CHECK_SUPERSAMPLE = 3
CHECK_SUPERSAMPLED_PIXELS = 64_000_000  # smaller inks: the pen's own supersampling, up to this many pixels drawn


@dataclass(frozen=True)
class GlyphScore:
    glyph: int
    label: int
    iou: float
    mse: float
    intersection: int = 0  # pixels inked in both (binarised at 0.5)
    union: int = 0  # pixels inked in either


@dataclass(frozen=True)
class CheckReport:
    file: str
    against: str
    size: int  # canvas side, pixels
    min_iou: float
    glyphs: tuple[GlyphScore, ...]

    @property
    def iou(self) -> float:
        """Pooled over the sheet: total intersection / total union (1 when nothing is inked)."""
        union = sum(g.union for g in self.glyphs)
        return sum(g.intersection for g in self.glyphs) / union if union else 1.0

    @property
    def mse(self) -> float:
        return float(np.mean([g.mse for g in self.glyphs])) if self.glyphs else 0.0

    @property
    def worst(self) -> GlyphScore | None:
        return min(self.glyphs, key=lambda g: g.iou, default=None)

    @property
    def passed(self) -> bool:
        return self.iou >= self.min_iou

    def to_dict(self) -> dict:
        ious = [g.iou for g in self.glyphs]
        return {
            "file": self.file,
            "against": self.against,
            "size": self.size,
            "min_iou": self.min_iou,
            "passed": self.passed,
            "iou": self.iou,
            "mse": self.mse,
            "glyph_count": len(self.glyphs),
            "glyph_iou_min": min(ious, default=1.0),
            "glyph_iou_mean": float(np.mean(ious)) if ious else 1.0,
            "glyphs": [{"glyph": g.glyph, "label": g.label, "iou": g.iou, "mse": g.mse} for g in self.glyphs],
        }

    def describe(self) -> str:
        d = self.to_dict()
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"{verdict}: {self.file} re-rendered at {self.size}x{self.size} against {self.against}",
            f"  IoU {self.iou:.4f} (threshold {self.min_iou}), MSE {self.mse:.6f} over {d['glyph_count']} glyphs; "
            f"per glyph IoU min {d['glyph_iou_min']:.4f} mean {d['glyph_iou_mean']:.4f}",
        ]
        low = sorted((g for g in self.glyphs if g.iou < self.min_iou), key=lambda g: g.iou)
        for g in low[:5]:
            lines.append(f"  glyph {g.glyph} (label {g.label}): IoU {g.iou:.4f}, MSE {g.mse:.6f}")
        if len(low) > 5:
            lines.append(f"  ... and {len(low) - 5} more glyphs below {self.min_iou}")
        return "\n".join(lines)


def gesture_polylines(gesture: Gesture, threshold: float, release: float | None) -> list[Polyline]:
    """Pen-down runs of a gesture as polylines in glyph units (the source side of the check)."""
    return [stroke_polyline(s.points, s.pressure, s.steps, gesture.dt_s, -1) for s in gesture.strokes(threshold, release)]


def glyph_strokes(sheets: Sequence[Sheet], glyphs: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stroke of ``sheets`` back on its glyph's canvas (page mm -> glyph units through its
    placement), glyph after glyph, as :func:`~igae_robot.model.render.render_strokes` takes them.

    Sheet i holds ``glyphs[i]`` glyphs numbered 0..glyphs[i]-1, each with a placement.  Returns
    values (N,3): x, y (glyph units), pressure of every point; counts (M,) points per stroke;
    per_glyph (B,) strokes per glyph (B = sum of glyphs).  All sheets in one pass.
    """
    per_sheet = np.asarray(glyphs, dtype=np.intp)
    glyph_base = np.cumsum(per_sheet) - per_sheet
    placed = []  # (glyph over all sheets, stroke, its placement)
    for i, sheet in enumerate(sheets):
        places = {p.glyph: p for p in sheet.placements}
        placed += [(int(glyph_base[i]) + p.glyph, p, places[p.glyph]) for p in sheet.polylines]
    placed.sort(key=lambda item: item[0])  # stable: a glyph's strokes keep their drawing order
    per_glyph = np.bincount([g for g, _, _ in placed], minlength=int(per_sheet.sum())).astype(np.intp)
    counts = np.array([len(p) for _, p, _ in placed], dtype=np.intp)
    values = np.zeros((0, 3))
    if placed:
        place = np.repeat([[pl.scale_mm, pl.x_mm, pl.y_mm] for _, _, pl in placed], counts, axis=0)  # per point
        points = np.concatenate([p.points for _, p, _ in placed])
        pressure = np.concatenate([p.pressure for _, p, _ in placed])
        values = np.column_stack([(points - place[:, 1:]) / place[:, :1], pressure])  # as Placement.from_page
    return values, counts, per_glyph


def score_sheets_pen(
    sheets: Sequence[Sheet], inputs: Sequence[Sequence[np.ndarray]], pens: Sequence[np.ndarray],
) -> tuple[list[float], list[float]]:
    """(IoU, MSE) per sheet as a plotter draws it (:func:`pen_canvases`, ``pens`` (K,) pixels per sheet)
    against its glyphs' inks binarised at 0.5, averaged over the sheet's glyphs (none: (1, 0)).

    inputs: per sheet, its K glyph inks -- crops (K,S,S), or inks of any size (a page drawn whole, see
    :mod:`~igae_robot.vectorize.engines`); a glyph's canvas unit is its ink's longer side."""
    per_sheet = np.array([len(t) for t in inputs], dtype=np.intp)
    if not per_sheet.sum():
        return [1.0] * len(sheets), [0.0] * len(sheets)
    targets = [t for ts in inputs for t in ts]
    pen_px = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1) for p in pens])
    lines = _lines_per_glyph(glyph_strokes(sheets, per_sheet))
    scores = np.array([_pen_score(ls, t, pen) for ls, t, pen in zip(lines, targets, pen_px.tolist())])  # (K,3)
    iou = np.where(scores[:, 1] > 0, scores[:, 0] / np.maximum(scores[:, 1], 1), 1.0)
    first = np.cumsum(per_sheet) - per_sheet
    return ([float(iou[f : f + n].mean()) if n else 1.0 for f, n in zip(first, per_sheet)],
            [float(scores[f : f + n, 2].mean()) if n else 0.0 for f, n in zip(first, per_sheet)])


def _pen_score(lines: list[np.ndarray], target: np.ndarray, pen: float) -> tuple[int, int, float]:
    """(inked in both, in either, MSE) of ``lines`` (glyph units) drawn by Pillow's pen on ``target``'s canvas.

    Only the lines' reach is drawn and compared pixel by pixel; beyond it nothing is drawn, so there the counts
    and the squared error are the target's own, summed in bands: a word on an A4 scan was drawn, thresholded
    and subtracted over all 8.7 Mpx (48 ms of a 1 s page), where its reach is a few thousand pixels."""
    side = max(target.shape)
    reach = _reach([line * side for line in lines], pen, target.shape)
    drawn = _pen_canvas(lines, target, pen, reach)
    part = target[reach]
    a, b = drawn > 0.5, part > 0.5
    both = int(np.count_nonzero(a & b))
    # The squared error in the drawing's own array, counts without summing booleans: the same numbers, and on a
    # 1200x1400 page 2.5-4 ms instead of 7-8 (fresh page-sized temporaries cost their page faults).
    error = np.square(np.subtract(drawn, part, out=drawn), out=drawn)
    # Nothing is drawn beyond the reach: every pixel inked in either is the target's or the drawing's, and there
    # the squared error is the target's square.
    inked, squares = _ink_and_squares(target)
    error_sum = float(error.sum(dtype=np.float64)) + squares - _ink_and_squares(part)[1]
    return both, int(np.count_nonzero(a)) + inked - both, max(0.0, error_sum) / target.size


def _reach(lines: list[np.ndarray], pen: float, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The pixels (rows, columns) that ``lines`` (pixels) drawn with a pen ``pen`` wide can touch, within ``shape``."""
    points = np.concatenate([np.asarray(line, np.float64).reshape(-1, 2) for line in lines] or [np.zeros((0, 2))])
    if not len(points):
        return slice(0, 0), slice(0, 0)
    margin = max(1.0, pen) / 2 + 2
    (x0, y0), (x1, y1) = np.floor(points.min(0) - margin), np.ceil(points.max(0) + margin)
    h, w = shape
    return slice(int(min(h, max(0, y0))), int(min(h, max(0, y1)))), slice(int(min(w, max(0, x0))), int(min(w, max(0, x1))))


def _ink_and_squares(image: np.ndarray, band: int = 64) -> tuple[int, float]:
    """(pixels over 0.5, sum of squares) of ``image``, ``band`` rows at a time: no page-sized temporary.  Each
    band's float32 dot product is exact to ~1e-7 of its sum (an A4 page: 2.5 ms, against 32 ms in float64)."""
    inked, squares = 0, 0.0
    for top in range(0, image.shape[0], band):
        rows = np.ascontiguousarray(image[top : top + band]).reshape(-1)
        inked += int(np.count_nonzero(rows > 0.5))
        squares += float(np.dot(rows, rows))
    return inked, squares


def _lines_per_glyph(strokes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[list[np.ndarray]]:
    """:func:`glyph_strokes`'s arrays as each glyph's polylines (N,2), glyph units."""
    values, counts, per_glyph = strokes
    stroke_ends, glyph_ends = np.cumsum(counts), np.cumsum(per_glyph)
    return [[values[stroke_ends[j] - counts[j] : stroke_ends[j], :2] for j in range(glyph_ends[k] - per_glyph[k], glyph_ends[k])]
            for k in range(len(per_glyph))]


def _pen_canvas(lines: list[np.ndarray], target: np.ndarray, pen: float | None, part: tuple[slice, slice] | None = None) -> np.ndarray:
    """A glyph's lines (glyph units: its target's longer side is 1) drawn by Pillow with a round pen on a canvas
    like ``target`` (or its ``part``: rows, columns); ``pen`` pixels (None: the target's median stroke)."""
    side = max(target.shape)
    pen = median_stroke_width(target > 0.5) if pen is None else pen
    rows, cols = part or (slice(0, target.shape[0]), slice(0, target.shape[1]))
    corner = np.array([cols.start, rows.start], dtype=np.float64)
    # A page is checked at 3x: at the pen's own supersampling (up to 10x for a thin pen) the check took 0.2-0.35 s
    # of a 1.4 s page.  On the 17 seed-7 pages with ink up to 300 dpi, the IoU at 3x was within 0.017 of the IoU
    # at 12x (mean 0.0057), at 4x within 0.023 (mean 0.0058), and 3x drew a page of digits in 40 ms against 49.
    # Benchmarks judge at full.
    supersample = _check_supersample(target.size, max(1.0, pen))
    # A blank target has no stroke width; the drawing is still drawn, with a one-pixel pen.
    return pen_coverage([line * side - corner for line in lines], (rows.stop - rows.start, cols.stop - cols.start),
                        max(1.0, pen), supersample)


def _check_supersample(pixels: int, pen: float) -> int:
    """How finely the check draws an ink of ``pixels`` with a pen ``pen`` wide: a page at
    :data:`PAGE_CHECK_SUPERSAMPLE`; a smaller ink at the pen's own supersampling, but at most what draws
    :data:`CHECK_SUPERSAMPLED_PIXELS` (and not under a page's).  A 150-dpi scan just under a page's size (0.99
    Mpx, a 1-px pen) had been drawn 24x over, 0.12 s of its 0.6-s page; a glyph crop keeps the pen's.  On 17
    pages shrunk to 0.82 Mpx (pens 1.8-5 px), the IoU at this cap (7-8x) was within 0.013 of the IoU at 24x
    (mostly 0.002), the pen's own (9-18x) within 0.007, a page's 3x within 0.022."""
    if pixels > PAGE_CHECK_PIXELS:
        return PAGE_CHECK_SUPERSAMPLE
    return min(pen_supersample(pen), max(PAGE_CHECK_SUPERSAMPLE, math.isqrt(CHECK_SUPERSAMPLED_PIXELS // max(1, pixels))))


def source_glyph(
    gray: np.ndarray, size: int, box: int, invert: bool | None = None, whole_factors: bool = False,
) -> tuple[np.ndarray, float]:
    """A source image (H,W) as vectorize prepares it (:func:`~igae_robot.images.glyphs.to_glyph`) and the pen
    that draws it as it is: its median stroke width, in pixels of the glyph canvas."""
    glyph, transform = to_glyph(gray, invert, size=size, box=box, whole_factors=whole_factors)
    return glyph, median_stroke_width(ink_image(gray, invert) > 0.5) / transform.scale * size


def pen_canvases(strokes: tuple[np.ndarray, np.ndarray, np.ndarray], targets: np.ndarray, pen_px: np.ndarray | None = None) -> np.ndarray:
    """Every glyph's strokes (as :func:`glyph_strokes` gives them) drawn by Pillow with a round pen
    (:func:`~igae_robot.images.pen_draw.pen_coverage`) on a canvas like its target (K,S,S): what a plotter
    draws, (K,S,S) float32.  pen_px (K,): the pen, pixels of the canvas -- the source's median stroke;
    None: the median stroke of each target (:func:`~igae_robot.images.trace.median_stroke_width`)."""
    out = np.zeros(targets.shape, dtype=np.float32)
    for k, (lines, target) in enumerate(zip(_lines_per_glyph(strokes), targets)):
        out[k] = _pen_canvas(lines, target, None if pen_px is None else float(pen_px[k]))
    return out


def _scores(a: torch.Tensor, b: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: pixels inked in both and in either (binarised at 0.5), and MSE.  a, b (B,1,H,W)."""
    ma, mb = a > 0.5, b > 0.5
    inter = (ma & mb).flatten(1).sum(1)
    union = (ma | mb).flatten(1).sum(1)
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return inter.numpy(), union.numpy(), mse.double().numpy()


def _glyphs(n: int) -> str:
    return f"{n} glyph" if n == 1 else f"{n} glyphs"


def check_sheet(
    sheet: Sheet,
    gestures: Sequence[Gesture] | None = None,
    images: np.ndarray | None = None,
    pens: np.ndarray | None = None,
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    min_iou: float = DEFAULT_MIN_IOU,
    file: str = "file",
    against: str = "source",
) -> CheckReport:
    """Score a sheet read back from a file against the gestures it came from, or against images (N,H,W) in [0,1]
    drawn with pens (N,) pixels wide (default: each image's median stroke; see :func:`source_glyph`)."""
    if (gestures is None) == (images is None):
        raise CheckError("check needs exactly one source: gestures or images")
    if not (math.isfinite(var_coef) and var_coef >= 0 and math.isfinite(var_eps) and var_eps > 0):
        raise CheckError(f"marker variance needs var_coef >= 0 and var_eps > 0 (finite), got {var_coef!r} and {var_eps!r}")
    count = len(gestures) if gestures is not None else len(images)
    placements = {p.glyph: p for p in sheet.placements}
    if len(placements) != count or set(placements) != set(range(count)):
        raise CheckError(
            f"{file} lays out {_glyphs(len(placements))} but the source ({against}) has {_glyphs(count)}; "
            f"check a file against the source it was exported from"
        )
    for p in sheet.placements:
        if not (math.isfinite(p.scale_mm) and p.scale_mm > 0 and math.isfinite(p.x_mm) and math.isfinite(p.y_mm)):
            raise CheckError(
                f"{file}: glyph {p.glyph} is placed at scale {p.scale_mm:g} mm per glyph unit, at ({p.x_mm:g}, {p.y_mm:g}) mm; "
                f"a glyph needs a positive scale (was the file exported with an outlier glyph?)"
            )
    unplaced = next((p.glyph for p in sheet.polylines if p.glyph not in placements), None)
    if unplaced is not None:
        raise CheckError(f"{file}: a stroke belongs to glyph {unplaced}, which has no placement")
    if gestures is not None:
        drawn = render_strokes(*glyph_strokes([sheet], [count]), size, var_coef, var_eps)
        source = render_polylines([gesture_polylines(g, sheet.threshold, sheet.release) for g in gestures], size, var_coef, var_eps)
    else:  # the source itself: judged as a plotter draws the file (a round pen as wide as the source's strokes)
        if images.shape[1:] != (size, size):
            raise CheckError(f"{against}: images are {images.shape[1:]}, expected {size}x{size}")
        drawn = torch.from_numpy(pen_canvases(glyph_strokes([sheet], [count]), np.asarray(images, dtype=np.float32), pens))[:, None]
        source = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]
    inter, union, mse = _scores(drawn, source)
    scores = tuple(
        GlyphScore(i, placements[i].label, float(inter[i] / union[i]) if union[i] else 1.0, float(mse[i]), int(inter[i]), int(union[i]))
        for i in range(count)
    )
    return CheckReport(file, against, size, min_iou, scores)
