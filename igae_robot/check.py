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
  glyph), which measures the whole chain including the model.

Scores at the model's resolution: IoU of the canvases binarised at 0.5 and MSE of the raw
canvases, per glyph and for the whole sheet.  The sheet's IoU pools every glyph (total
intersection / total union; 1 when nothing is inked anywhere), and the check passes when it is at
least ``min_iou``.  It is pooled because one glyph is only ~50-150 inked pixels: a pixel whose
value sits within 1e-3 of the threshold flips under any sub-micron change, and one flip costs a
small glyph 1-2 % of its own IoU.  The worst glyph is reported next to it.

Memory is bounded before anything is allocated: the canvas side is 1..``MAX_IMAGE_SIZE`` pixels,
and a glyph whose strokes would need more markers than ``MAX_RENDER_BYTES`` allows (a file
written with an absurd glyph scale: its strokes span 1e30 canvases) is a CheckError naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from igae_robot.errors import CheckError
from igae_robot.paper.geometry import Polyline, resample_arrays
from igae_robot.gesture import MAX_IMAGE_SIZE, Gesture
from igae_robot.paper.sheet import Sheet

__all__ = ["GlyphScore", "CheckReport", "render_polylines", "render_strokes", "render_max", "gesture_polylines", "check_sheet", "DEFAULT_MIN_IOU"]

DEFAULT_MIN_IOU = 0.99

# The most memory one render may take: render_max multiplies a block of glyphs' markers on the canvas
# (block x size² x markers floats), and the resampled markers of all glyphs are held at once.
MAX_RENDER_BYTES = 1 << 30
_BLOCK = 8  # glyphs per block in render_max


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
    return [Polyline(s.points, s.pressure, s.steps * gesture.dt_s, -1) for s in gesture.strokes(threshold, release)]


def render_polylines(
    glyphs: Sequence[Sequence[Polyline]],
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    spacing_px: float = 0.25,
) -> torch.Tensor:
    """Render per-glyph polylines (glyph units) as continuous lines of markers -> (B,1,size,size).

    Each polyline is resampled every ``spacing_px`` pixels; each point is a marker of ink 1 and
    variance pressure * var_coef + var_eps (glyph units²).  B = len(glyphs).
    """
    polylines = [p for polylines in glyphs for p in polylines]
    values = np.concatenate([np.column_stack([p.points, p.pressure]) for p in polylines]) if polylines else np.zeros((0, 3))
    counts = np.array([len(p) for p in polylines], dtype=np.intp)
    return render_strokes(values, counts, np.array([len(g) for g in glyphs], dtype=np.intp), size, var_coef, var_eps, spacing_px)


def render_strokes(
    values: np.ndarray,
    counts: np.ndarray,
    per_glyph: np.ndarray,
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    spacing_px: float = 0.25,
    group: int = 128,
) -> torch.Tensor:
    """:func:`render_polylines` of arrays, for many glyphs at once (``igae vectorize`` scores thousands).

    values (N,3): x, y (glyph units), pressure of every point of every polyline, one polyline after
    the other; counts (M,) points per polyline; per_glyph (B,) polylines per glyph, glyph after glyph.
    Glyphs are rendered ``group`` at a time, those with similar marker counts together (each group
    padded to its longest glyph with markers of no ink): a glyph's canvas does not depend on its group.
    """
    _check_render_size(values, counts, per_glyph, size, spacing_px)
    dense, per_polyline = resample_arrays(values, counts, spacing_px / size)
    glyph_of = np.repeat(np.arange(len(per_glyph)), per_glyph)  # (M,)
    markers = np.bincount(glyph_of, weights=per_polyline, minlength=len(per_glyph)).astype(np.intp)  # (B,)
    points, variance = dense[:, :2], np.clip(dense[:, 2], 0.0, 1.0) * var_coef + var_eps
    out = torch.zeros(len(per_glyph), 1, size, size)
    order = np.argsort(markers, kind="stable")
    first = np.cumsum(markers) - markers  # each glyph's first marker
    for part in np.array_split(order, max(1, -(-len(order) // group))) if len(order) else []:
        steps = 32 * max(1, -(-int(markers[part].max()) // 32))  # see render_max
        row = np.repeat(np.arange(len(part)), markers[part])
        col = np.arange(len(row)) - np.repeat(np.cumsum(markers[part]) - markers[part], markers[part])
        src = first[part][row] + col
        xy, var, ink = np.zeros((len(part), steps, 2)), np.ones((len(part), steps)), np.zeros((len(part), steps))
        xy[row, col], var[row, col], ink[row, col] = points[src], variance[src], 1.0
        out[torch.from_numpy(part)] = render_max(
            torch.as_tensor(xy, dtype=torch.float32),
            torch.as_tensor(var, dtype=torch.float32),
            torch.as_tensor(ink, dtype=torch.float32),
            (size, size),
        )
    return out


def _check_render_size(values: np.ndarray, counts: np.ndarray, per_glyph: np.ndarray, size: int, spacing_px: float) -> None:
    """Refuse, before allocating, a render whose markers would not fit in MAX_RENDER_BYTES."""
    if not (isinstance(size, (int, np.integer)) and 1 <= size <= MAX_IMAGE_SIZE):
        raise CheckError(f"canvas size {size!r} must be a whole number of pixels in 1..{MAX_IMAGE_SIZE}")
    if len(values) == 0:
        return
    glyph_of = np.repeat(np.arange(len(per_glyph)), per_glyph)  # (M,) glyph of each polyline
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        row = int(np.argmax(~finite))
        glyph = int(glyph_of[np.repeat(np.arange(len(counts)), counts)[row]])
        raise CheckError(f"glyph {glyph}: stroke values {values[row].tolist()} are not finite numbers; was its glyph scale 0?")
    # Markers per glyph as resample_arrays makes them: ceil(length / spacing) per segment, 1 per end.
    seg = np.hypot(*np.diff(values[:, :2], axis=0).T) / (spacing_px / size)
    last = np.cumsum(counts) - 1
    markers = np.append(np.maximum(1.0, np.ceil(seg)), 1.0)
    markers[last] = 1.0
    per_polyline = np.add.reduceat(markers, last - counts + 1)
    per_glyph_markers = np.bincount(glyph_of, weights=per_polyline, minlength=len(per_glyph))
    most = MAX_RENDER_BYTES // (_BLOCK * size * size * 4)  # float32 products of one block
    worst = int(np.argmax(per_glyph_markers))
    if per_glyph_markers[worst] > most:
        raise CheckError(
            f"glyph {worst} would need {per_glyph_markers[worst]:.3g} markers to render at {size}x{size} "
            f"(at most {most}): its strokes span {per_glyph_markers[worst] * spacing_px / size:.3g} canvas units; "
            f"was it exported with an outlier glyph or an absurd scale?"
        )
    if per_glyph_markers.sum() * 64 > MAX_RENDER_BYTES:
        raise CheckError(f"{per_glyph_markers.sum():.3g} markers to render: too many for one check; check fewer glyphs at a time")


_TINY = 2e-19  # the smallest factor; (2e-19)² = 4e-38 is above the smallest normal float32 (1.2e-38)


def _gaussian(centres: torch.Tensor, pos: torch.Tensor, two_var: torch.Tensor) -> torch.Tensor:
    """exp(-(centres - pos)² / two_var) as render_markers computes it, laid out (B,N,T), and never below
    _TINY: no product of two factors is then a denormal float (x86 CPUs compute those tens of times
    slower) and exp never underflows (its slow path).  centres (N,); pos (B,T); two_var (B,1,T)."""
    arg = (centres[:, None] - pos[:, None, :]).square_().neg_().div_(two_var)
    return arg.clamp_(min=math.log(_TINY)).exp_()


def render_max(xy: torch.Tensor, var: torch.Tensor, ink: torch.Tensor, size: tuple[int, int], block: int = 8) -> torch.Tensor:
    """:func:`~igae_robot.model.render.render_markers` without gradients: the same canvas, float for float
    wherever it is above 2e-19 (below, within 2e-19: factors are kept above it, see _gaussian).

    xy (B,T,2) canvas units; var, ink (B,T); returns (B,1,H,W).  The markers are laid along the last
    axis (B,H,W,T), so the max over steps is a reduction over contiguous memory, ``block`` glyphs at a
    time; without the winning-step index the training renderer keeps for its backward pass, this is
    several times faster.  Pad T to a multiple of 32 with markers of no ink: torch's CPU max over
    a last axis of other lengths runs several times slower (measured: T=88 6x slower than T=96).
    """
    if not (torch.isfinite(xy).all() and torch.isfinite(var).all() and torch.isfinite(ink).all()):
        raise CheckError("markers to render contain NaN or infinite values")
    h, w = size
    ys = (torch.arange(h, dtype=xy.dtype) + 0.5) / h
    xs = (torch.arange(w, dtype=xy.dtype) + 0.5) / w
    with torch.no_grad():
        two_var = 2 * var[:, None, :]
        ex = _gaussian(xs, xy[..., 0], two_var)  # (B,W,T)
        ay = ink[:, None, :] * _gaussian(ys, xy[..., 1], two_var)  # (B,H,T)
        out = torch.empty(len(xy), h, w, dtype=xy.dtype)
        products = torch.empty(min(block, len(xy)), h, w, xy.shape[1], dtype=xy.dtype)  # reused: a fresh
        for b in range(0, len(xy), block):  # large tensor per block costs page faults, not arithmetic
            n = min(block, len(xy) - b)
            torch.mul(ay[b : b + n, :, None, :], ex[b : b + n, None, :, :], out=products[:n])
            torch.amax(products[:n], dim=-1, out=out[b : b + n])
    return out[:, None]


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
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    min_iou: float = DEFAULT_MIN_IOU,
    file: str = "file",
    against: str = "source",
) -> CheckReport:
    """Score a sheet read back from a file against the gestures it came from, or against images (N,H,W) in [0,1]."""
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
    per_glyph: list[list[Polyline]] = [[] for _ in range(count)]
    for poly in sheet.polylines:
        if poly.glyph not in placements:
            raise CheckError(f"{file}: a stroke belongs to glyph {poly.glyph}, which has no placement")
        place = placements[poly.glyph]
        per_glyph[poly.glyph].append(Polyline(place.to_glyph(poly.points), poly.pressure, poly.t_s, poly.glyph))
    drawn = render_polylines(per_glyph, size, var_coef, var_eps)
    if gestures is not None:
        source = render_polylines([gesture_polylines(g, sheet.threshold, sheet.release) for g in gestures], size, var_coef, var_eps)
    else:
        if images.shape[1:] != (size, size):
            raise CheckError(f"{against}: images are {images.shape[1:]}, expected {size}x{size}")
        source = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]
    inter, union, mse = _scores(drawn, source)
    scores = tuple(
        GlyphScore(i, placements[i].label, float(inter[i] / union[i]) if union[i] else 1.0, float(mse[i]), int(inter[i]), int(union[i]))
        for i in range(count)
    )
    return CheckReport(file, against, size, min_iou, scores)
