"""Letters and punctuation as training images and as fallback gestures, from single-stroke Hershey fonts.

The Hershey fonts (A. V. Hershey, U.S. National Bureau of Standards, 1967; public domain, shipped
by the MIT-licensed ``Hershey-Fonts`` package) are drawn with a pen: each glyph is a few polylines,
which is exactly what a plotter can draw.  They give the letters model something to learn from
without a download:

* :func:`render_glyphs` draws every character many times into 28x28 images, light ink on dark like
  MNIST, with a random affine (rotation, slant, stretch, shift) and a random line thickness;
* :func:`fallback_gesture` turns one glyph into a :class:`~igae_robot.gesture.Gesture` directly
  (``igae handwrite --fallback`` for characters no model knows).

Every glyph of every font sits in the same box, so letters keep their size and their place on the
line: the font's cap line maps to ``CAP_TOP`` and its baseline to ``BASELINE`` (glyph units), and
descenders hang below it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from igae_robot.errors import DataError
from igae_robot.gesture import Gesture

__all__ = ["LETTERS", "PUNCTUATION", "FONTS", "BASELINE", "CAP_TOP", "glyph_polylines", "render_glyphs", "fallback_gesture"]

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PUNCTUATION = ".,;:!?'\"-()&/+@#"
# Single-stroke faces: Roman simplex (twice: futural and rowmans differ in a few glyphs) and two scripts.
FONTS = ("futural", "rowmans", "scripts", "cursive")

# The glyph box on the model's canvas (glyph units, y down): cap line and baseline.  Hershey units:
# cap line -12, baseline 9, dot of the i at -13, descenders down to 16.  The box is as large as the
# canvas allows (i dot to descender over 0.05..0.96), because lower-case letters, most of any text,
# are only the x-height (5/7 of the cap height) tall: on a 32 px canvas 14 px instead of the 10 px of
# a cap height of 15 px on 28, which is what made the eye of an e and the bowl of an a collapse.
CAP_TOP = 0.05 + 1.0 * 0.91 / 29
BASELINE = 0.05 + 22.0 * 0.91 / 29
_HERSHEY_CAP, _HERSHEY_BASE = -12.0, 9.0
_UNIT = (BASELINE - CAP_TOP) / (_HERSHEY_BASE - _HERSHEY_CAP)  # glyph units per Hershey unit
# Brackets, the slash and # reach 4 units higher than any letter: squeezed (in y) into the canvas.
_TOP, _BOTTOM = 0.03, 0.97


@lru_cache(maxsize=None)
def _font(name: str):
    try:
        from HersheyFonts import HersheyFonts
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("the Hershey-Fonts package is not installed (pip install Hershey-Fonts)") from None
    font = HersheyFonts()
    if name not in font.default_font_names:
        raise DataError(f"unknown Hershey font {name!r}; known: {', '.join(font.default_font_names)}")
    font.load_default_font(name)
    return font


def glyph_polylines(char: str, font: str = "futural") -> list[np.ndarray]:
    """One character's pen strokes, glyph units (x centred on 0.5, cap line at CAP_TOP, baseline at BASELINE)."""
    strokes = _font(font).strokes_for_text(char)
    polylines = [np.asarray(s, dtype=np.float64) for s in strokes if len(s)]
    if not polylines:
        raise DataError(f"font {font!r} has no strokes for {char!r}")
    points = np.concatenate(polylines)
    centre_x = (points[:, 0].min() + points[:, 0].max()) / 2
    top, bottom = ((points[:, 1].min(), points[:, 1].max()) - np.float64(_HERSHEY_CAP)) * _UNIT + CAP_TOP
    squeeze = min(1.0, (_BOTTOM - _TOP) / (bottom - top)) if bottom > top else 1.0
    placed = []
    for p in polylines:
        y = (p[:, 1] - _HERSHEY_CAP) * _UNIT + CAP_TOP
        if squeeze < 1.0:  # a bracket: centred on the canvas, just as tall as it
            y = (y - (top + bottom) / 2) * squeeze + (_TOP + _BOTTOM) / 2
        placed.append(np.stack([(p[:, 0] - centre_x) * _UNIT + 0.5, y], axis=1))
    return placed


def _random_affine(rng: np.random.Generator) -> np.ndarray:
    """A 2x3 map of glyph units about the glyph centre: rotation, slant, stretch and a shift of up to 1 px."""
    angle = np.deg2rad(rng.uniform(-6, 6))
    shear = rng.uniform(-0.15, 0.15)  # igae handwrite slants the glyphs itself
    sx, sy = rng.uniform(0.85, 1.15), rng.uniform(0.9, 1.1)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    shift = rng.uniform(-1, 1, 2) / 28
    return np.concatenate([linear, shift[:, None]], axis=1)


def _draw(polylines: list[np.ndarray], width_px: float, size: int, supersample: int = 4):
    """Polylines (glyph units) -> (size, size) float32 image in [0,1], light ink on dark, round caps and joins."""
    from PIL import Image, ImageDraw

    side = size * supersample
    image = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(image)
    w = width_px * supersample
    for p in polylines:
        xy = [tuple(v) for v in (p * side).tolist()]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, round(w)), joint="curve")
        for x, y in (xy[0], xy[-1]) if len(xy) > 1 else xy:
            draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=255)
    return np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32) / 255.0


def render_glyphs(
    chars: str, per_char: int, seed: int = 0, fonts: tuple[str, ...] = FONTS, size: int = 28, width_px: tuple[float, float] = (1.3, 2.6)
) -> tuple[np.ndarray, np.ndarray]:
    """``per_char`` augmented images of each character, fonts taken in turn.

    Returns images (N,1,size,size) float32 in [0,1] and labels (N,) int64 = index into ``chars``.
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, char in enumerate(chars):
        faces = [glyph_polylines(char, f) for f in fonts]
        for k in range(per_char):
            affine = _random_affine(rng)
            centre = np.array([0.5, (CAP_TOP + BASELINE) / 2])
            moved = [(p - centre) @ affine[:, :2].T + centre + affine[:, 2] for p in faces[k % len(faces)]]
            images.append(_draw(moved, rng.uniform(*width_px), size))
            labels.append(label)
    return np.stack(images)[:, None], np.asarray(labels, dtype=np.int64)


def fallback_gesture(char: str, font: str = "futural", step: float = 0.02, pressure: float = 0.5, label: int = -1) -> Gesture:
    """A character drawn straight from the font: its strokes resampled every ``step`` glyph units, pen up between them."""
    points, ink = [], []
    for p in glyph_polylines(char, font):
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        along = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.linspace(0.0, along[-1], max(2, int(np.ceil(along[-1] / step)) + 1)) if along[-1] > 0 else np.zeros(1)
        resampled = np.stack([np.interp(t, along, p[:, 0]), np.interp(t, along, p[:, 1])], axis=1)
        if points:  # one pen-up step on the way to the next stroke
            points.append(points[-1][-1:])
            ink.append(np.zeros(1))
        points.append(resampled)
        ink.append(np.ones(len(resampled)))
    pts = np.concatenate(points)
    return Gesture(pts, np.full(len(pts), pressure), np.concatenate(ink), label=label)
