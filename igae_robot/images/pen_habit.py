"""How people move a pen: which way a stroke is drawn, and which stroke comes first, learned from real writers.

A tracer knows the lines of a glyph, not the hand that drew them: the pen engine starts a glyph at the end of
its planned walk and runs each stroke whichever way the walk went.  Omniglot records every writer's strokes in
the order and direction they were drawn, so two small models are fitted to them (``benchmarks/build_pen_habit.py``,
on the alphabets of ``background_small1``; the benchmark's held-out alphabets are only in ``background_small2``):

* **direction**: P(a stroke is drawn start -> end) = sigmoid(w . f), with f the stroke's features that change
  sign when it is reversed: end minus start, the sum of its first and last directions, its signed area
  (clockwise or not).  Each stroke runs the way people more likely draw it;
* **order**: P(stroke a before stroke b) = sigmoid(v . (g(a) - g(b))), with g the start and the centre of the
  stroke; strokes are drawn by decreasing v . g.

Positions are taken in the glyph's own box (its longer side is 1), so the habit is the same at any size.  Only
the direction and order of strokes change: the ink, the pen lifts and every point stay as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["PenHabit", "direction_features", "order_features", "load_pen_habit", "HABIT_FILE"]

HABIT_FILE = Path(__file__).with_name("pen_habit.json")
_LEAD = 0.05  # how far into a stroke its first direction is read, in glyph sizes


def _box(strokes: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """The glyph's corner (2,) and size (its box's longer side, at least a tiny positive number)."""
    points = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])
    low = points.min(axis=0)
    return low, max(float((points.max(axis=0) - low).max()), 1e-9)


def _lead(stroke: np.ndarray, reach: float) -> np.ndarray:
    """The unit direction from a stroke's first point to its first point at least ``reach`` away (0 if none)."""
    far = np.flatnonzero(np.linalg.norm(stroke - stroke[0], axis=1) >= reach)
    step = stroke[far[0]] - stroke[0] if len(far) else stroke[-1] - stroke[0]
    norm = float(np.linalg.norm(step))
    return step / norm if norm > 0 else np.zeros(2)


def direction_features(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """(N,5) per stroke, in glyph units, each the negative of the reversed stroke's: end - start (x, y), the
    first direction plus the last one (x, y), twice the signed area of the stroke closed by a straight line."""
    low, size = _box(strokes)
    rows = []
    for s in strokes:
        p = (np.asarray(s, dtype=np.float64).reshape(-1, 2) - low) / size
        if len(p) < 2:
            rows.append(np.zeros(5))
            continue
        ends = _lead(p, _LEAD) - _lead(p[::-1], _LEAD)  # the last direction, as drawn, is minus the reversed first
        area = float(np.sum(p[:-1, 0] * p[1:, 1] - p[1:, 0] * p[:-1, 1]) + p[-1, 0] * p[0, 1] - p[0, 0] * p[-1, 1])
        rows.append(np.array([*(p[-1] - p[0]), *ends, area]))
    return np.array(rows).reshape(-1, 5)


def order_features(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """(N,4) per stroke, in glyph units: its start (x, y) and its centre (x, y)."""
    low, size = _box(strokes)
    rows = [np.concatenate([(p[0] - low) / size, (p.mean(axis=0) - low) / size])
            for p in (np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes)]
    return np.array(rows).reshape(-1, 4)


@dataclass(frozen=True)
class PenHabit:
    """The two fitted models: ``direction`` (5,) and ``order`` (4,) weights (see the module doc)."""

    direction: tuple[float, ...]
    order: tuple[float, ...]
    source: str = ""

    def arrange(self, strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The strokes (N,2 each), each run the way people would draw it, in the order people would."""
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
        if not strokes:
            return []
        forward = direction_features(strokes) @ np.asarray(self.direction) >= 0.0
        turned = [s if keep else s[::-1].copy() for s, keep in zip(strokes, forward)]
        score = order_features(turned) @ np.asarray(self.order)
        return [turned[k] for k in np.argsort(-score, kind="stable")]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"format": "igae-pen-habit", "version": 1, "direction": list(self.direction),
                                          "order": list(self.order), "source": self.source}, indent=1) + "\n")


@lru_cache(maxsize=4)
def load_pen_habit(path: str | Path = HABIT_FILE) -> PenHabit:
    """The pen habit shipped with the package (or another file written by :meth:`PenHabit.save`)."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != "igae-pen-habit":
        raise ValueError(f"{path}: not a pen habit file")
    return PenHabit(tuple(data["direction"]), tuple(data["order"]), data.get("source", ""))
