"""A hand that writes whole words: each word typeset in a joined script font and drawn whole by the pen engine.

    word --render (the font's own joins and spacing)--> ink
         --draw_whole (the pen engine: traced across the word, fitted window by window)--> pen-down runs
         --the body's runs joined where they touch (the engine splits them where strokes meet), left to right,
           then the marks (runs shorter than 0.6 cap heights: dots, bars) after the word
         --a random affine per word, grown as neatness falls--> Gesture

Letter by letter, the pen engine's drawings of a script's letters joined up read badly (Tesseract: 24% CER on the
benchmark's sentences), because a letter cut out of its word loses the joins the font makes with its neighbours.
A word drawn whole keeps them: 6.1% with no variation (``benchmarks/handwriting_whole_words.py``).  Each
occurrence of a word gets its own small rotation, slant and stretch (applied to the drawing: a word's ink bent and
resampled was traced worse), and the slow drift of :mod:`~igae_robot.handwriting.drift` moves whole words; the
same word twice is the same drawing under a different bend.

It has the interface :func:`~igae_robot.handwriting.writing.write_text` uses of a hand, with ``whole_words``
set: ``write`` takes words, not characters, and returns one gesture per word, in units of the cap height (y
down, the baseline at ``baseline``).  The font ships with the package (Dancing Script, SIL Open Font License,
``models/DancingScript-OFL.txt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from igae_robot.errors import ConfigError
from igae_robot.gesture import Gesture
from igae_robot.handwriting.cursive import touching_chains
from igae_robot.images.stroke_graph import path_length

__all__ = ["WordHand", "CURSIVE_FONT"]

CURSIVE_FONT = "DancingScript-Regular.otf"  # in igae_robot/handwriting/models
CAP_PX = 71.0  # pixels of a capital H when a word is rendered (6 mm at 300 dpi, where the engine reads it best)
MARK_CAPS = 0.6  # a run shorter than this many cap heights is a mark (a dot, a bar): drawn after the word
REACH_PENS = 1.5  # runs of a word's body that come this close (pen widths) are joined without lifting the pen
# The per-word jitter at neatness 0 (standard deviations): rotation, slant (shear), x and y stretch (log).
ROTATION_DEG, SHEAR, STRETCH = 3.0, 0.08, 0.05


@lru_cache(maxsize=None)
def _font(name: str) -> ImageFont.FreeTypeFont:
    with resources.as_file(resources.files("igae_robot.handwriting.models") / name) as path:
        probe = ImageFont.truetype(str(path), 200)
        size = round(200 * CAP_PX / -probe.getbbox("H", anchor="ls")[1])
        return ImageFont.truetype(str(path), size)


@dataclass
class WordHand:
    font: str = CURSIVE_FONT
    baseline: float = 2.0  # cap heights from the top of a word's canvas to its baseline
    cap_top: float = 1.0
    ascent: float = 1.25  # the tallest ink above the baseline, cap heights (Dancing Script's l, f and brackets)
    dt_s: float = 0.02
    source: str = "style cursive"
    whole_words: bool = True
    chars: str = field(default="".join(chr(c) for c in range(33, 127)))

    @property
    def cap_height(self) -> float:
        return self.baseline - self.cap_top

    def knows(self, word: str) -> bool:
        return all(ch in self.chars for ch in word)

    def write(self, words, rng: np.random.Generator, neatness: float = 0.8) -> list[Gesture]:
        """One gesture per word (all its characters known), in cap heights: the word drawn whole by the pen engine."""
        from igae_robot.images.trace import median_stroke_width
        from igae_robot.vectorize.engines import draw_whole

        if not 0.0 <= neatness <= 1.0:
            raise ConfigError(f"--neatness must be between 0 and 1, got {neatness}")
        out = []
        foot = np.array([1.0, self.baseline])
        for word in words:
            affine = self._affine(rng, 1.0 - neatness)
            ink = self._render(word)
            pen = median_stroke_width(ink > 0.5)
            drawing = draw_whole(ink, pen)  # runs split where strokes meet
            runs = [r for r in drawing.strokes() if len(r)]
            is_mark = [path_length(r) < MARK_CAPS * CAP_PX for r in runs]
            body = [r for r, mark in zip(runs, is_mark) if not mark]
            marks = sorted((r for r, mark in zip(runs, is_mark) if mark), key=lambda r: float(r[:, 0].mean()))
            runs = touching_chains(body, REACH_PENS * pen) + marks  # dots and bars after the word
            points = np.concatenate([np.concatenate([r[:1], r]) for r in runs])[1:] / CAP_PX
            points = (points - foot) @ affine.T + foot  # bent after drawing: a resampled ink was traced worse
            down = np.concatenate([np.r_[False, np.ones(len(r), dtype=bool)] for r in runs])[1:]
            out.append(Gesture(points, np.full(len(points), 0.5), down.astype(np.float64), self.dt_s, ord(word[0])))
        return out

    @staticmethod
    def _affine(rng: np.random.Generator, messiness: float) -> np.ndarray:
        angle = math.radians(rng.normal(0.0, ROTATION_DEG * messiness))
        shear = rng.normal(0.0, SHEAR * messiness)
        sx, sy = np.exp(rng.normal(0.0, STRETCH * messiness, 2))
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return rotation @ np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([sx, sy])

    def _render(self, word: str) -> np.ndarray:
        """The word as ink (H,W) float32 (1 = ink), its baseline ``baseline`` cap heights from the top and its
        start a cap height from the left."""
        font = _font(self.font)
        image = Image.new("L", (math.ceil(font.getlength(word) + 3 * CAP_PX), math.ceil(3.2 * CAP_PX)), 0)
        ImageDraw.Draw(image).text((CAP_PX, self.baseline * CAP_PX), word, fill=255, font=font, anchor="ls")
        return np.asarray(image, np.float32) / 255.0
