"""A hand learned from a filled template (``igae hand learn``): the writer's own glyphs, drawn back with variation.

A sample-based hand: no model.  It keeps every glyph the writer drew in the template's boxes (three per
character), as the pen engine vectorized them, and writes a character by choosing one of its samples at random
and bending it by a small random affine -- rotation, slant, stretch, about the glyph's foot on the baseline --
and, in a style, a smooth sine bend, scaled by ``(1 - neatness) * jitter``.  ``neatness`` 1 always draws the
character's most typical sample (stored first: the one closest to the others), unbent.  The per-character
variation is the writer's own: the samples differ as the boxes did.  The shipped styles
(:mod:`~igae_robot.handwriting.styles`) are sample hands too, made from fonts.

It has the interface :func:`~igae_robot.handwriting.writing.write_text` uses of a hand (``knows``, ``write``,
``chars``, ``baseline``, ``cap_top``, ``cap_height``, ``source``), in glyph units: a square of the box's height,
y down, ``baseline`` where the template's baseline is, ``cap_top`` the writer's median height of capitals and
digits above it; each glyph keeps its place against the baseline, so descenders hang below it.

A ``.hand`` file is UTF-8 JSON, torch-free and readable::

    {"format": "igae-hand", "version": 1, "baseline": 0.62, "cap_top": 0.27, "dt_s": 0.02, "pen": 0.04,
     "source": "scan.png", "glyphs": {"a": [{"x": [...], "y": [...], "down": "0111..."}, ...], ...}}

``x``, ``y`` glyph units (4 decimals), ``down`` one character per step (1: pen down); ``pen`` the writer's median
stroke width, glyph units.  Optional: ``jitter`` (default 1) scales the random affine (the shipped styles, made
from one font, have 2), ``bend`` (default 0) the smooth sine bend (styles: 1), ``advances`` (a script style's)
each letter's advance in glyph units, where ``--connect`` places the letters (the glyph's foot, x = 0.5, in the
middle of it).  A name ending in ``.gz`` is the same JSON gzip'd.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from igae_robot.errors import ConfigError, DataError
from igae_robot.gesture import Gesture

__all__ = ["SampleHand", "Sample", "save_sample_hand", "load_sample_hand", "hands_with", "HandFallbackWarning", "HAND_SUFFIX"]

HAND_FORMAT, HAND_VERSION, HAND_SUFFIX = "igae-hand", 1, ".hand"
# The jitter at neatness 0 (standard deviations): rotation, slant (shear), x and y stretch (log).
JITTER_ROTATION_DEG, JITTER_SHEAR, JITTER_STRETCH_X, JITTER_STRETCH_Y = 3.0, 0.06, 0.06, 0.05
# A smooth bend on top (neatness 0): a sine displacement of this amplitude (glyph units) and spatial frequency
# (standard deviation, cycles per glyph unit: about one per cap height), in each axis.
WARP, WARP_CYCLES = 0.02, 2.5


class HandFallbackWarning(UserWarning):
    """Characters a learned hand lacks, written by another hand."""


@dataclass(frozen=True)
class Sample:
    """One glyph as the writer drew it: points (T,2) glyph units and the pen state (T,) bool."""

    points: np.ndarray
    down: np.ndarray


@dataclass
class SampleHand:
    glyphs: dict[str, list[Sample]]  # character -> its samples, the most typical first
    baseline: float  # glyph units, y down
    cap_top: float
    dt_s: float = 0.02
    pen: float = 0.0  # the writer's median stroke width, glyph units
    source: str = ""
    jitter: float = 1.0  # scales the random bend: a style made from one font needs more than a writer's samples
    bend: float = 0.0  # scales the smooth sine bend: 0 for a writer's hand (the d of a learned hand came apart into c l)
    advances: dict[str, float] = field(default_factory=dict)  # a script font's advance per character, glyph units (--connect)
    chars: str = field(init=False)

    def __post_init__(self) -> None:
        self.chars = "".join(c for c, s in self.glyphs.items() if s)

    @property
    def cap_height(self) -> float:
        return self.baseline - self.cap_top

    @property
    def ascent(self) -> float:
        """The tallest ink above the baseline, in cap heights (a writer's l and f often pass 1.25)."""
        top = min(float(s.points[s.down, 1].min()) for samples in self.glyphs.values() for s in samples)
        return (self.baseline - top) / self.cap_height

    def knows(self, char: str) -> bool:
        return char in self.chars

    def write(self, chars: str, rng: np.random.Generator, neatness: float = 0.8) -> list[Gesture]:
        """One gesture per character (all known to this hand), glyph units: a sample chosen at random, jittered."""
        if not 0.0 <= neatness <= 1.0:
            raise ConfigError(f"--neatness must be between 0 and 1, got {neatness}")
        out = []
        for char in chars:
            samples = self.glyphs[char]
            sample = samples[0] if neatness >= 1.0 else samples[int(rng.integers(len(samples)))]
            points = self._jitter(sample, rng, (1.0 - neatness) * self.jitter)
            out.append(Gesture(points, np.full(len(points), 0.5), sample.down.astype(np.float64), self.dt_s, ord(char)))
        return out

    def _jitter(self, sample: Sample, rng: np.random.Generator, messiness: float) -> np.ndarray:
        """The sample bent by a random affine about its foot (the middle of its ink on the baseline)."""
        if messiness <= 0.0:
            return sample.points.copy()
        angle = math.radians(rng.normal(0.0, JITTER_ROTATION_DEG * messiness))
        shear = rng.normal(0.0, JITTER_SHEAR * messiness)
        sx, sy = np.exp(rng.normal(0.0, [JITTER_STRETCH_X * messiness, JITTER_STRETCH_Y * messiness]))
        rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        linear = rotation @ np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([sx, sy])
        ink = sample.points[sample.down] if sample.down.any() else sample.points
        foot = np.array([(ink[:, 0].min() + ink[:, 0].max()) / 2, self.baseline])
        cycles = rng.normal(0.0, WARP_CYCLES, (2, 2))
        phase, amplitude = rng.uniform(0.0, 2 * math.pi, 2), rng.normal(0.0, WARP * messiness * self.bend, 2)
        bend = amplitude * np.sin(2 * math.pi * (sample.points - foot) @ cycles.T + phase)  # (T,2): smooth, per axis
        return (sample.points - foot) @ linear.T + foot + bend


def save_sample_hand(path: str | os.PathLike, hand: SampleHand) -> Path:
    """Write ``hand`` as a ``.hand`` file (JSON), atomically; the same hand gives the same bytes."""
    from igae_robot.atomic import atomic_write_text

    glyphs = {
        char: [{"x": _rounded(s.points[:, 0]), "y": _rounded(s.points[:, 1]), "down": "".join("1" if d else "0" for d in s.down)} for s in samples]
        for char, samples in hand.glyphs.items() if samples
    }
    state = {
        "format": HAND_FORMAT, "version": HAND_VERSION, "baseline": round(hand.baseline, 5), "cap_top": round(hand.cap_top, 5),
        "dt_s": hand.dt_s, "pen": round(hand.pen, 5), "source": hand.source, "glyphs": glyphs,
    }
    if hand.jitter != 1.0:
        state["jitter"] = hand.jitter
    if hand.bend:
        state["bend"] = hand.bend
    if hand.advances:
        state["advances"] = {c: round(a, 5) for c, a in hand.advances.items()}
    path = Path(path)
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":")) + "\n"
    if path.suffix == ".gz":  # a shipped style: gzip'd, with no time stamp, so the same hand gives the same bytes
        from igae_robot.atomic import atomic_write_bytes

        atomic_write_bytes(path, gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        atomic_write_text(path, text)
    return path


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def load_sample_hand(path: str | os.PathLike) -> SampleHand:
    """Read a ``.hand`` file; DataError naming the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such hand file (make one with `igae hand learn SCAN -o {path.name}`)")
    try:
        raw = path.read_bytes()
        state = json.loads((gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not an igae hand file ({str(exc).splitlines()[0]})") from None
    if not isinstance(state, dict) or state.get("format") != HAND_FORMAT:
        raise DataError(f"{path}: not an igae hand file (no \"format\": \"{HAND_FORMAT}\"; a hand model .pt goes to --letters-model)")
    if state.get("version") != HAND_VERSION:
        raise DataError(f"{path}: hand file version {state.get('version')!r}; this igae reads version {HAND_VERSION}")
    try:
        glyphs = {str(char): [_sample(s) for s in samples] for char, samples in state["glyphs"].items()}
        baseline, cap_top = float(state["baseline"]), float(state["cap_top"])
        dt_s, pen, jitter = float(state.get("dt_s", 0.02)), float(state.get("pen", 0.0)), float(state.get("jitter", 1.0))
        advances = {str(c): float(a) for c, a in state.get("advances", {}).items()}
        bend = float(state.get("bend", 0.0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: a damaged hand file ({type(exc).__name__}: {exc})") from None
    if not (math.isfinite(baseline) and math.isfinite(cap_top) and baseline > cap_top) or not (dt_s > 0 and math.isfinite(dt_s)):
        raise DataError(f"{path}: a damaged hand file (baseline {baseline}, cap_top {cap_top}, dt_s {dt_s})")
    bad = [c for c, s in glyphs.items() if len(c) != 1 or not s]
    if bad or not glyphs:
        raise DataError(f"{path}: a damaged hand file (glyphs {bad[:3] if bad else 'missing'})")
    if not (0.0 <= jitter <= 10.0 and 0.0 <= bend <= 10.0):
        raise DataError(f"{path}: a damaged hand file (jitter {jitter}, bend {bend})")
    return SampleHand(glyphs, baseline, cap_top, dt_s, pen, str(path), jitter, bend, advances)


def _sample(entry: dict) -> Sample:
    points = np.stack([np.asarray(entry["x"], dtype=np.float64), np.asarray(entry["y"], dtype=np.float64)], axis=1)
    down = np.array([c == "1" for c in entry["down"]], dtype=bool)
    if points.ndim != 2 or len(points) == 0 or len(down) != len(points) or not np.isfinite(points).all() or not down.any():
        raise ValueError(f"a sample of {len(points)} points and {len(down)} pen states, or without ink")
    if np.abs(points).max() > 10:
        raise ValueError("a sample far outside its glyph box")
    return Sample(points, down)


def hands_with(hand_path: str | os.PathLike, fallback_hands: Sequence, text: str | None = None) -> list:
    """The hands for ``write_text``: the learned hand first (it writes every character it knows), then
    ``fallback_hands`` for the rest.  Warns (:class:`HandFallbackWarning`, one line) naming the characters of
    ``text`` (or, without a text, of what the fallbacks know) that the learned hand lacks and another hand
    writes; characters no hand knows are left to ``write_text``'s error."""
    hand = load_sample_hand(hand_path)
    wanted = text if text is not None else "".join(ch for h in fallback_hands for ch in h.chars)
    lacking = []
    for ch in wanted:
        if not ch.isspace() and ch.isprintable() and not hand.knows(ch) and ch not in lacking and any(h.knows(ch) for h in fallback_hands):
            lacking.append(ch)
    if lacking:
        shown = " ".join(lacking[:40]) + (" ..." if len(lacking) > 40 else "")
        warnings.warn(f"{hand_path}: has no {shown}; {'these are' if len(lacking) > 1 else 'it is'} written in the fallback style", HandFallbackWarning, stacklevel=2)
    return [hand, *fallback_hands]
