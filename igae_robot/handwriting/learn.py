"""Learn a hand from a filled template: ``igae hand learn scan.png -o my.hand``.

    photo or scan --find_marks--> the 4 marks --homography--> every box's inner part, resampled
        --scan_ink (all boxes as one mosaic)--> ink --pen engine (one pen_gestures call)--> glyphs
        --baseline, cap height, the most typical first--> SampleHand --save--> .hand

1. **Marks** (:mod:`~igae_robot.handwriting.marks`): the four black squares at the sheet's corners, the top-left
   one (with a hole) first, so a photo taken sideways or upside down reads the right way round.
2. **Boxes**: the projective map from the marks' sheet positions to their centres in the image takes every
   box's inner part (the box less :data:`~igae_robot.handwriting.template.MARGIN_MM`) to the image, where it is
   resampled at ``CROP_PX`` pixels per box height (bilinear).  The boxes are laid side by side as on the
   sheet, and the ink of the mosaic is found at once (:func:`~igae_robot.images.scan.scan_ink`: uneven light
   divided out, the threshold halfway to the writing's own ink level, so the faint printed guides stay paper).
3. **Glyphs**: a box with less than ``MIN_INK_PX`` of ink, or whose ink is only a guide line, is empty; the
   others are drawn by the pen engine in one call, with the writer's median stroke as the pen.  A glyph's
   unit box is the square of the box's height (y down), so the template's baseline sits at one height for
   every glyph, and descenders keep their place below it.  Letters and digits that sit on the line
   (``SITTERS``) and were written more than ``SETTLE`` cap heights off it are moved onto it (by the excess);
   the other characters by the median of those moves.  The cap line is the writer's median height of capitals
   (of digits when there are no capitals: many hands write them smaller).  A round blob wider than the pen (a
   fat full stop) is filled with a spiral: the pen engine draws its centreline, a short hook.
4. **Variation** is kept, not modelled: every box's glyph is a sample of its character, the most typical first
   (:class:`~igae_robot.handwriting.sample_hand.SampleHand` picks one at random and bends it a little).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from igae_robot.errors import DataError
from igae_robot.handwriting.marks import find_marks, project, sheet_to_image
from igae_robot.handwriting.sample_hand import Sample, SampleHand, hands_with, load_sample_hand, save_sample_hand
from igae_robot.handwriting.template import TEMPLATE_CHARS, Box, TemplateLayout, template_layout
from igae_robot.images.pen_draw import pen_coverage, pen_iou
from igae_robot.images.scan import scan_ink
from igae_robot.images.trace import median_stroke_width

__all__ = ["LearnReport", "LearnedBox", "learn_hand", "learn_hand_file", "find_marks", "sheet_to_image", "box_pixels", "box_inks",
           "square_crops",
           "SampleHand", "load_sample_hand", "hands_with", "CROP_PX"]

CROP_PX = 128  # pixels of the pen engine's crop = one box's inner height (13.9 mm: 9.2 px/mm)
MIN_INK_PX = 12  # a box with fewer ink pixels is empty
SITTERS = set("abcdehiklmnorstuvwxzABCDEFGHIKLMNOPRSTUVWXYZ0123456789")  # characters whose foot is on the line
CAPITALS = set("ABCDEFGHIKLMNOPRSTUVWXYZ")  # the cap height is theirs (J and Q may hang below the line)
SETTLE = 0.08  # cap heights a sitter may stand off the line before it is moved onto it
MOST_SETTLE = 0.35  # cap heights: the largest move
DOT_PENS = 5.0  # a round blob of ink at most this many pens across, without a hole, is a dot (a spiral fills it)


@dataclass(frozen=True)
class LearnedBox:
    char: str
    box: int  # index into the layout's boxes
    sample: Sample | None  # the pen engine's drawing where it was in the box, glyph units (None: an empty box)
    iou: float  # the drawing (pen-drawn) against the box's ink; nan when empty
    shift: float = 0.0  # glyph units down the hand moved it (onto the baseline, module doc step 3)


@dataclass(frozen=True)
class LearnReport:
    hand: SampleHand
    boxes: tuple[LearnedBox, ...]
    layout: TemplateLayout
    pen_px: float  # the writer's median stroke, pixels of a crop

    @property
    def missing(self) -> str:
        """Characters of the template with no writing in any of their boxes."""
        return "".join(c for c in self.layout.chars if not self.hand.knows(c))

    def describe(self) -> str:
        drawn = [b for b in self.boxes if b.sample is not None]
        iou = float(np.median([b.iou for b in drawn])) if drawn else float("nan")
        empty = len(self.boxes) - len(drawn)
        return (f"learned {len(self.hand.chars)} of {len(self.layout.chars)} characters from {self.hand.source} "
                f"({len(drawn)} samples, {empty} empty boxes); the drawings cover the writing at IoU {iou:.2f} (median)")


def learn_hand_file(scan: str | os.PathLike, output: str | os.PathLike, chars: str = TEMPLATE_CHARS) -> LearnReport:
    """Read a photo or scan of a filled template (printed for ``chars``), learn the hand, write it to ``output``."""
    from igae_robot.atomic import check_output
    from igae_robot.images.read import read_image

    check_output(output)
    layout = template_layout(chars)
    report = learn_hand(read_image(scan), layout, str(scan))
    save_sample_hand(output, report.hand)
    if report.missing:
        warnings.warn(f"{scan}: no writing in the boxes of {' '.join(report.missing)}; other hands write them", stacklevel=2)
    return report


def learn_hand(gray: np.ndarray, layout: TemplateLayout | None = None, source: str = "scan") -> LearnReport:
    """A hand from a grayscale photo or scan (H,W) in [0,1] (1 = white) of the filled ``layout``."""
    layout = layout or template_layout()
    homography = sheet_to_image(find_marks(gray, source), layout)
    inks = box_inks(gray, layout, homography)  # (N, S, w)
    blank = np.array([_is_blank(ink, box) for ink, box in zip(inks, layout.boxes)])
    if blank.all():
        raise DataError(f"{source}: the template's boxes are empty (no handwriting found in any of its {len(inks)} boxes)")
    pen_px = median_stroke_width(np.concatenate([ink for ink, b in zip(inks, blank) if not b], axis=1) > 0.5)
    crops = square_crops(inks)
    todo = np.flatnonzero(~blank)
    drawings = _draw(crops[todo], pen_px, [ord(layout.boxes[k].char) for k in todo])
    samples: list[Sample | None] = [None] * len(inks)
    ious = np.full(len(inks), np.nan)
    for k, sample in zip(todo, drawings):
        if sample is not None:
            samples[k] = sample
            ious[k] = pen_iou(_lines(sample), crops[k], pen_px, supersample=4)
    hand, shifts = _hand(samples, layout, pen_px, source)
    boxes = tuple(LearnedBox(b.char, k, s, float(i), d) for k, (b, s, i, d) in enumerate(zip(layout.boxes, samples, ious, shifts)))
    return LearnReport(hand, boxes, layout, pen_px)


# ---- 2. the boxes ----------------------------------------------------------------------------------------


def box_pixels(gray: np.ndarray, layout: TemplateLayout, homography: np.ndarray) -> np.ndarray:
    """Every box's inner part of ``gray`` (H,W), resampled through ``homography`` (sheet mm -> pixels):
    (N, CROP_PX, w) float32, ``CROP_PX`` pixels per inner box height (bilinear)."""
    x0, y0, x1, y1 = layout.boxes[0].inner
    per_mm = CROP_PX / (y1 - y0)
    w = round((x1 - x0) * per_mm)
    k = int(_pixels_per_mm(homography, layout) / per_mm)
    if k >= 2:  # a fine scan: averaged down first (its grain and thin strokes would alias), and faster
        gray = np.asarray(Image.fromarray(np.asarray(gray, np.float32)).reduce(k))
        homography = np.array([[1 / k, 0, 0.5 / k - 0.5], [0, 1 / k, 0.5 / k - 0.5], [0, 0, 1]]) @ homography
    offsets = np.stack(np.meshgrid((np.arange(w) + 0.5) / per_mm, (np.arange(CROP_PX) + 0.5) / per_mm), axis=-1)  # (S,w,2)
    corners = np.array([b.inner[:2] for b in layout.boxes])
    pixels = project(homography, corners[:, None, None, :] + offsets)  # (N,S,w,2) x,y
    values = ndimage.map_coordinates(np.asarray(gray, np.float32), [pixels[..., 1].ravel(), pixels[..., 0].ravel()], order=1, mode="nearest")
    return values.reshape(len(corners), CROP_PX, w)


def _pixels_per_mm(homography: np.ndarray, layout: TemplateLayout) -> float:
    """The image's resolution at the middle of the sheet, pixels per mm (the lower of x and y)."""
    middle = np.array([layout.width_mm / 2, layout.height_mm / 2])
    a, b, c = project(homography, np.stack([middle, middle + [1.0, 0.0], middle + [0.0, 1.0]]))
    return float(min(np.linalg.norm(b - a), np.linalg.norm(c - a)))


def box_inks(gray: np.ndarray, layout: TemplateLayout, homography: np.ndarray) -> np.ndarray:
    """Every box's inner part as ink (N, CROP_PX, w) float32 in [0,1] (1 = ink): the boxes laid side by side
    as on the sheet, and the ink of that mosaic found at once."""
    values = box_pixels(gray, layout, homography)
    n, s, w = values.shape
    rows, cols = max(b.row for b in layout.boxes) + 1, max(b.col for b in layout.boxes) + 1
    mosaic = np.full((rows, cols, s, w), np.median(values), dtype=np.float32)  # places without a box: paper
    for box, v in zip(layout.boxes, values):
        mosaic[box.row, box.col] = v
    ink = scan_ink(mosaic.transpose(0, 2, 1, 3).reshape(rows * s, cols * w), invert=True)
    ink = ink.reshape(rows, s, cols, w).transpose(0, 2, 1, 3)
    return np.stack([ink[b.row, b.col] for b in layout.boxes])


def _is_blank(ink: np.ndarray, box: Box) -> bool:
    """No writing in a box's ink (S,w): too little of it, or only a printed guide line seen as ink."""
    binary = ink > 0.5
    count = int(binary.sum())
    if count < MIN_INK_PX:
        return True
    x0, y0, x1, y1 = box.inner
    per_mm = ink.shape[0] / (y1 - y0)
    near = np.zeros(ink.shape[0], dtype=bool)
    for guide in (box.baseline_mm, box.capline_mm):
        row = (guide - y0) * per_mm
        near[max(0, math.floor(row - 0.3 * per_mm)) : math.ceil(row + 0.3 * per_mm) + 1] = True
    on_guide = int(binary[near].sum())
    return on_guide > 0.9 * count and binary.any(axis=0).mean() > 0.6


def square_crops(inks: np.ndarray) -> np.ndarray:
    """Box inks (N,S,w) centred on square crops (N,S,S) of paper: a glyph unit is a box height."""
    n, s, w = inks.shape
    crops = np.zeros((n, s, s), dtype=np.float32)
    left = (s - w) // 2
    crops[:, :, left : left + w] = inks
    return crops


# ---- 3. the glyphs ---------------------------------------------------------------------------------------


def _draw(crops: np.ndarray, pen_px: float, labels: list[int], dotted: list[bool] | None = None) -> list[Sample | None]:
    """The pen engine's drawings of the crops (K,S,S), as samples in crop units without their idle steps;
    round blobs filled with a spiral (in the crops ``dotted`` marks, default all)."""
    from igae_robot.vectorize.engines import pen_gestures

    gestures = pen_gestures(crops, np.full(len(crops), pen_px / crops.shape[-1]), np.array(labels))
    out = []
    for g, crop, dots in zip(gestures, crops, dotted or [True] * len(crops)):
        down = g.pen_down()
        if not down.any():
            out.append(None)
            continue
        first, last = np.flatnonzero(down)[[0, -1]]
        sample = Sample(g.points[first : last + 1].copy(), down[first : last + 1].copy())
        out.append(_filled_dots(sample, crop, pen_px) if dots else sample)
    return out


def _filled_dots(sample: Sample, crop: np.ndarray, pen_px: float) -> Sample:
    """The sample with every round blob of ink wider than the pen (a dot: at most ``DOT_PENS`` pens across,
    filling most of its box, without a hole) drawn as a spiral that fills it.  The centreline of a blob is a short hook: a
    font's fat period drawn that way read as a comma to Tesseract, 8 times in 12 sentences."""
    labels, n = ndimage.label(crop > 0.5)
    runs = _lines(sample, 1.0)
    if n == 0 or not runs:
        return sample
    size = crop.shape[-1]
    kept, done = [], set()
    for run in runs:
        px = np.clip(np.round(run * size - 0.5).astype(int), 0, size - 1)
        hits = labels[px[:, 1], px[:, 0]]
        blob = int(np.bincount(hits, minlength=n + 1)[1:].argmax()) + 1 if hits.any() else 0
        if not blob or not _is_dot(labels == blob, pen_px):
            kept.append(run)
        elif blob not in done:
            done.add(blob)
            kept.append(_spiral(labels == blob, pen_px) / size)
    if not done:
        return sample
    points = np.concatenate([np.concatenate([r[:1], r]) for r in kept])  # a pen-up step to each run's start
    down = np.concatenate([np.r_[False, np.ones(len(r), dtype=bool)] for r in kept])
    return Sample(points[1:], down[1:])


def _is_dot(mask: np.ndarray, pen_px: float) -> bool:
    ys, xs = np.nonzero(mask)
    h, w = np.ptp(ys) + 1, np.ptp(xs) + 1
    if not 1.3 * pen_px < max(h, w) <= DOT_PENS * pen_px or len(ys) < 0.6 * h * w:
        return False
    return int(ndimage.binary_fill_holes(mask).sum()) == len(ys)  # an o is a ring, not a dot


def _spiral(mask: np.ndarray, pen_px: float) -> np.ndarray:
    """A path (N,2) in pixels that a pen ``pen_px`` wide fills the blob ``mask`` with: a spiral out from its
    centre, a turn per half pen, ending on a circle a half pen inside the blob's edge."""
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    radius = max(0.0, math.sqrt(len(xs) / math.pi) - pen_px / 2)
    turns = max(1, math.ceil(radius / (pen_px / 2)))
    t = np.linspace(0.0, 1.0, 12 * turns + 1)
    angle = 2 * math.pi * np.concatenate([turns * t, turns + t[1:]])
    r = radius * np.concatenate([t, np.ones(len(t) - 1)])
    return centre + np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def _lines(sample: Sample, scale: float = CROP_PX) -> list[np.ndarray]:
    """The pen-down runs of a sample, times ``scale`` (crop pixels by default)."""
    cuts = np.flatnonzero(np.diff(sample.down.astype(np.int8))) + 1
    runs = np.split(np.arange(len(sample.down)), cuts)
    return [sample.points[r] * scale for r in runs if sample.down[r[0]]]


def _hand(samples: list[Sample | None], layout: TemplateLayout, pen_px: float, source: str) -> tuple[SampleHand, list[float]]:
    """The hand of the samples (one per box, None for an empty one), and how far down it moved each."""
    box = layout.boxes[0]
    x0, y0, x1, y1 = box.inner
    baseline = (box.baseline_mm - y0) / (y1 - y0)
    chars = [b.char for b in layout.boxes]
    heights = [(c, np.ptp(s.points[s.down, 1])) for c, s in zip(chars, samples) if s is not None]
    caps = [h for c, h in heights if c in CAPITALS] or [h for c, h in heights if c.isdigit()]
    cap_height = float(np.median(caps)) if caps else (box.baseline_mm - box.capline_mm) / (y1 - y0)
    shifts = _settling(samples, chars, baseline, cap_height)
    placed = [None if s is None else Sample(s.points + [0.0, d], s.down) for s, d in zip(samples, shifts)]
    glyphs = {c: _typical_first([s for b, s in zip(chars, placed) if b == c and s is not None], pen_px) for c in layout.chars}
    return SampleHand(glyphs, baseline, baseline - cap_height, pen=pen_px / CROP_PX, source=source), shifts


def _settling(samples: list[Sample | None], chars: list[str], baseline: float, cap_height: float) -> list[float]:
    """How far down to move each sample to put it on the baseline (module doc, step 3)."""
    shifts = {}
    for k, (c, s) in enumerate(zip(chars, samples)):
        if s is not None and c in SITTERS:
            off = baseline - s.points[s.down, 1].max()  # > 0: written above the line
            excess = max(0.0, abs(off) - SETTLE * cap_height)
            shifts[k] = math.copysign(min(excess, MOST_SETTLE * cap_height), off)
    rest = float(np.median(list(shifts.values()))) if shifts else 0.0
    return [shifts.get(k, rest) if s is not None else 0.0 for k, s in enumerate(samples)]


def _typical_first(samples: list[Sample], pen_px: float, size: int = 32) -> list[Sample]:
    """The samples with the most typical one first (the least squared difference from the others, drawn at
    ``size`` pixels), the others in box order."""
    if len(samples) < 3:
        return samples
    scale = size / CROP_PX
    drawn = np.stack([pen_coverage(_lines(s, size), (size, size), max(1.0, pen_px * scale), supersample=4) for s in samples])
    flat = drawn.reshape(len(samples), -1).astype(np.float64)
    distance = ((flat[:, None, :] - flat[None, :, :]) ** 2).sum(axis=(1, 2))
    best = int(np.argmin(distance))
    return [samples[best]] + samples[:best] + samples[best + 1 :]
