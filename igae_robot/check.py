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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .errors import CheckError
from .geometry import Polyline, resample
from .gesture import Gesture
from .render import render_markers
from .sheet import Sheet

__all__ = ["GlyphScore", "CheckReport", "render_polylines", "gesture_polylines", "check_sheet", "DEFAULT_MIN_IOU"]

DEFAULT_MIN_IOU = 0.99


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
    glyphs: Sequence[Sequence[Polyline]], size: int = 28, var_coef: float = 0.01, var_eps: float = 1e-4, spacing_px: float = 0.25
) -> torch.Tensor:
    """Render per-glyph polylines (glyph units) as continuous lines of markers -> (B,1,size,size).

    Each polyline is resampled every ``spacing_px`` pixels; each point is a marker of ink 1 and
    variance pressure * var_coef + var_eps (glyph units²).  B = len(glyphs).
    """
    spacing = spacing_px / size
    per_glyph = []
    for polylines in glyphs:
        dense = [resample(p, spacing) for p in polylines]
        pts = np.concatenate([p.points for p in dense]) if dense else np.zeros((0, 2))
        pressure = np.concatenate([p.pressure for p in dense]) if dense else np.zeros(0)
        per_glyph.append((pts, pressure))
    steps = max(1, max((len(p) for p, _ in per_glyph), default=1))
    b = len(glyphs)
    xy = np.zeros((b, steps, 2))
    var = np.ones((b, steps))
    ink = np.zeros((b, steps))  # padding markers carry no ink
    for i, (pts, pressure) in enumerate(per_glyph):
        n = len(pts)
        xy[i, :n], var[i, :n], ink[i, :n] = pts, np.clip(pressure, 0.0, 1.0) * var_coef + var_eps, 1.0
    if b == 0:
        return torch.zeros(0, 1, size, size)
    with torch.no_grad():
        return render_markers(
            torch.as_tensor(xy, dtype=torch.float32),
            torch.as_tensor(var, dtype=torch.float32),
            torch.as_tensor(ink, dtype=torch.float32),
            (size, size),
        )


def _scores(a: torch.Tensor, b: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: pixels inked in both and in either (binarised at 0.5), and MSE.  a, b (B,1,H,W)."""
    ma, mb = a > 0.5, b > 0.5
    inter = (ma & mb).flatten(1).sum(1)
    union = (ma | mb).flatten(1).sum(1)
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return inter.numpy(), union.numpy(), mse.double().numpy()


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
    count = len(gestures) if gestures is not None else len(images)
    placements = {p.glyph: p for p in sheet.placements}
    if len(placements) != count or set(placements) != set(range(count)):
        raise CheckError(
            f"{file} lays out {len(placements)} glyphs but {against} has {count}; check a file against the source it was exported from"
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
