"""A writer's slow drift along a text: the baseline wanders, the slant and the size change a little from word to word.

Per-glyph jitter alone (each letter independently a little off) looks like a font shaken; a person's line drifts:
it climbs or sinks over a few letters, leans more as the hand tires, grows when writing fast.  Each of the three is
a first-order autoregressive series over the characters of the text (``DRIFT_RHO`` from one character to the next:
about ten characters to forget), scaled by the messiness (``1 - neatness``), drawn from the writing's one
generator, so the same seed gives the same drift.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

__all__ = ["Drift", "drift", "drift_margin", "DRIFT_RHO"]

DRIFT_RHO = 0.9  # correlation of one character's drift with the next one's
# Standard deviations at messiness 1 (neatness 0): baseline in cap heights, slant in degrees, size (log).
DRIFT_BASELINE, DRIFT_SLANT_DEG, DRIFT_SIZE = 0.08, 5.0, 0.05  # larger ones cost a learned Purisa hand ~1 point of CER
DRIFT_CLIP = 2.0  # standard deviations: the drift stays within them

Drift = tuple[np.ndarray, np.ndarray, np.ndarray]


def drift(n: int, rng: np.random.Generator, messiness: float) -> Drift:
    """Per character (n,) each: the baseline offset (cap heights, + is down), the slant offset (degrees) and the
    size factor (around 1)."""
    if n == 0:
        return np.zeros(0), np.zeros(0), np.ones(0)
    noise = rng.standard_normal((3, n))
    noise[:, 0] /= math.sqrt(1.0 - DRIFT_RHO**2)  # the series starts in its stationary spread
    series = lfilter([math.sqrt(1.0 - DRIFT_RHO**2)], [1.0, -DRIFT_RHO], noise, axis=1)  # unit variance
    series = np.clip(series, -DRIFT_CLIP, DRIFT_CLIP)
    base, slant, size = series * np.array([[DRIFT_BASELINE], [DRIFT_SLANT_DEG], [DRIFT_SIZE]]) * messiness
    return base, slant, np.exp(size)


def drift_margin(messiness: float, reach: float) -> float:
    """Cap heights of room the drift may need beyond ink that reaches ``reach`` cap heights from the baseline."""
    return messiness * DRIFT_CLIP * (DRIFT_BASELINE + DRIFT_SIZE * reach)
