"""Build a writing style from a font: every character rendered several times, each drawn by the pen engine.

    font file(s) --render (a small random affine per sample)--> crops (N,S,S)
        --pen engine (one ``pen_gestures`` call, as ``igae hand learn`` draws a template's boxes)--> samples
        --the most typical first--> SampleHand --save--> NAME.hand.gz

A style is a sample hand (:class:`~igae_robot.handwriting.sample_hand.SampleHand`) like one learned from a
template, so it writes through the same code, varies per glyph the same way (a sample picked at random and bent
a little) and keeps its place on the baseline.  The samples of a character differ because each is rendered
with its own small rotation, slant and stretch, and, when several fonts are given (one family's
weights), from the fonts in turn.  ``benchmarks/build_styles.py`` builds the shipped styles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from igae_robot.handwriting.sample_hand import Sample, SampleHand
from igae_robot.handwriting.template import TEMPLATE_CHARS

__all__ = ["StyleRecipe", "build_style", "render_crops", "advance", "CROP", "BASELINE", "CAP_HEIGHT"]

CROP = 128  # pixels of a rendered glyph's square crop: one glyph unit
BASELINE = 0.62  # glyph units, y down: where the baseline sits (as in a learned hand)
CAP_HEIGHT = 0.35  # glyph units: the height of a capital H
DOTTED = set(".:!?ij")  # characters with a dot: a round blob in them is filled with a spiral (a comma's, a ;'s, is not)
MIN_FAITH = 0.5  # the least IoU of a sample's drawing with its glyph; worse ones are left out (the best one is always kept)
FIT = 0.9  # a glyph wider or deeper than this share of the crop is shrunk to fit


@dataclass(frozen=True)
class StyleRecipe:
    """How one style is made: its fonts (taken in turn), samples per character and the spread of the render jitter."""

    name: str
    fonts: tuple[str, ...]
    description: str
    samples: int = 6
    rotation_deg: float = 2.0  # standard deviations of the render jitter of samples after the first
    shear: float = 0.04  # small: a letter leaning the wrong way reads as another (an l as a backslash)
    stretch: float = 0.04  # small: a c, o, s, w, x, z is told from its capital by its size alone
    jitter: float = 2.0  # the style's SampleHand.jitter: its samples are bent twice as much as a writer's
    joins: bool = False  # a joined script: keep each letter's advance, where --connect places the letters
    dot_weight: int = 2  # pixels a full stop's and a colon's dots are rendered bolder: an OCR drops a font's small dots
    chars: str = TEMPLATE_CHARS
    seed: int = 0


def _font(path: str, cap_px: float, scale: float = 1.0) -> ImageFont.FreeTypeFont:
    probe = ImageFont.truetype(path, 200)
    top = -probe.getbbox("H", anchor="ls")[1]
    return ImageFont.truetype(path, max(4, round(200 * cap_px / top * scale)))


def _render_one(char: str, path: str, affine: np.ndarray, weight: int) -> np.ndarray:
    """One character as ink (S,S) float32 in [0,1] (1 = ink): its foot (the middle of its advance) on the
    baseline in the middle of the crop, bent by ``affine`` (2x2, about the foot), shrunk if it would not fit."""
    foot = np.array([CROP / 2, BASELINE * CROP])
    font = _font(path, CAP_HEIGHT * CROP)
    fit = _fit(char, font)
    if fit < 1.0:
        font = _font(path, CAP_HEIGHT * CROP, fit)
    image = Image.new("L", (CROP, CROP), 0)
    ImageDraw.Draw(image).text(tuple(foot), char, fill=255, font=font, anchor="ms", stroke_width=weight, stroke_fill=255)
    inverse = np.linalg.inv(affine)  # Pillow maps output pixels to input pixels
    offset = foot - inverse @ foot
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = image.transform((CROP, CROP), Image.Transform.AFFINE, coeffs, Image.Resampling.BICUBIC)
    return np.asarray(image, np.float32) / 255.0


def _affine(rng: np.random.Generator, recipe: StyleRecipe) -> np.ndarray:
    angle = math.radians(rng.normal(0.0, recipe.rotation_deg))
    shear = rng.normal(0.0, recipe.shear)
    sx, sy = np.exp(rng.normal(0.0, recipe.stretch, 2))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotation @ np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([sx, sy])


def render_crops(recipe: StyleRecipe) -> tuple[np.ndarray, list[str]]:
    """Every character of the recipe ``samples`` times: crops (N,S,S) of ink and the character of each.
    The first sample of a character is the first font unbent; the others are jittered, fonts in turn.
    (Not bolder: a stroke wider than the style's pen is drawn by the engine as a filled band; only the dots of
    . and : are, which the engine fills with a spiral anyway.)"""
    rng = np.random.default_rng(recipe.seed)
    crops, chars = [], []
    for char in recipe.chars:
        for k in range(recipe.samples):
            affine = np.eye(2) if k == 0 else _affine(rng, recipe)
            crops.append(_render_one(char, recipe.fonts[k % len(recipe.fonts)], affine, recipe.dot_weight if char in ".:" else 0))
            chars.append(char)
    return np.stack(crops), chars


def build_style(recipe: StyleRecipe) -> SampleHand:
    """The recipe's style: its rendered crops drawn by the pen engine, drawings that miss their glyph
    left out (:func:`_faithful`), the most typical sample of each character first."""
    from igae_robot.handwriting.learn import _draw, _typical_first
    from igae_robot.images.trace import median_stroke_width

    crops, chars = render_crops(recipe)
    pen_px = median_stroke_width(np.concatenate(list(crops), axis=1) > 0.5)
    drawings = _draw(crops, pen_px, [ord(c) for c in chars], [c in DOTTED for c in chars])
    drawn: dict[str, list[tuple[float, Sample]]] = {}
    for char, crop, sample in zip(chars, crops, drawings):
        if sample is not None:
            drawn.setdefault(char, []).append((_faithful(sample, crop, pen_px), _thinned(sample)))
    glyphs = {}
    for char, scored in drawn.items():
        kept = [s for score, s in scored if score >= MIN_FAITH] or [max(scored, key=lambda x: x[0])[1]]
        glyphs[char] = _typical_first(kept, pen_px)
    advances = {c: advance(c, recipe.fonts[0]) for c in glyphs if c.isalpha()} if recipe.joins else {}
    return SampleHand(glyphs, BASELINE, BASELINE - CAP_HEIGHT, pen=pen_px / CROP, source=f"style {recipe.name}",
                      jitter=recipe.jitter, bend=1.0, advances=advances)


def advance(char: str, path: str) -> float:
    """The font's advance of ``char`` as rendered (shrunk like the glyph if it had to be), glyph units."""
    font = _font(path, CAP_HEIGHT * CROP)
    return float(font.getlength(char)) * _fit(char, font) / CROP


def _fit(char: str, font: ImageFont.FreeTypeFont) -> float:
    """How much a glyph is shrunk to fit the crop (1: not at all), its foot on the baseline in the middle."""
    left, top, right, bottom = font.getbbox(char, anchor="ms")
    foot_y = BASELINE * CROP
    return min(1.0, FIT * CROP / max(1, right - left), 0.95 * foot_y / max(1, -top), 0.95 * (CROP - foot_y) / max(1, bottom))


def _faithful(sample: Sample, crop: np.ndarray, pen_px: float) -> float:
    """How well a drawing covers its glyph (S,S): the pen-drawn IoU, or 0 when the drawing's box misses more
    than a quarter of the ink's box in width or height (a comma drawn as a round dot, a u as a hook)."""
    from igae_robot.handwriting.learn import _lines
    from igae_robot.images.pen_draw import pen_iou

    ys, xs = np.nonzero(crop > 0.5)
    ink = sample.points[sample.down] * CROP
    for axis, pixels in ((0, xs), (1, ys)):
        if np.ptp(ink[:, axis]) + pen_px < 0.75 * (np.ptp(pixels) + 1):
            return 0.0
    return float(pen_iou(_lines(sample), crop, pen_px, supersample=4))


def _thinned(sample: Sample, tolerance: float = 0.002) -> Sample:
    """The sample without the pen-down points that lie on the line between their neighbours (within
    ``tolerance`` glyph units): the shipped styles stay small; a plotter draws the same lines."""
    p, down = sample.points, sample.down
    keep = np.ones(len(p), dtype=bool)
    if len(p) > 2:
        a, b, c = p[:-2], p[1:-1], p[2:]
        ab, ac = b - a, c - a
        cross = np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]) / np.maximum(np.linalg.norm(ac, axis=1), 1e-9)
        between = ((b - a) * (c - a)).sum(axis=1) > 0
        keep[1:-1] = ~((cross < tolerance) & between & down[:-2] & down[1:-1] & down[2:])
    return Sample(p[keep], down[keep])
