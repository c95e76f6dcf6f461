"""The stroke on paper: :class:`Polyline`, and the measures every other paper module uses.

A :class:`Polyline` is one stroke on the page: points (N,2) mm (page frame: x right, y down),
pressure (N,) in [0,1], and t_s (N,) seconds: the gesture time of each point, whose differences
give the step velocity that feed rates follow (all zero where the source stored no time, as an
SVG read back).  ``glyph`` says which gesture it came from.

Its own module so that :mod:`~igae_robot.paper.geometry` (what we do to strokes) and
:mod:`~igae_robot.paper.ordering` (the drawing order) both build on it without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Box", "Polyline", "length", "travel_length", "bounds", "distance"]

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1)


@dataclass(frozen=True, eq=False)
class Polyline:
    """One stroke.  points (N,2) mm; pressure (N,) in [0,1]; t_s (N,) seconds; glyph index (-1 unknown)."""

    points: np.ndarray
    pressure: np.ndarray
    t_s: np.ndarray
    glyph: int = -1

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        object.__setattr__(self, "points", pts)
        for name in ("pressure", "t_s"):
            a = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if a.shape != (len(pts),):
                raise ValueError(f"Polyline.{name} must have shape ({len(pts)},), got {a.shape}")
            object.__setattr__(self, name, a)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def length(self) -> float:
        """Polyline length in mm (0 for a dot)."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum()) if len(self) > 1 else 0.0

    def reversed(self) -> "Polyline":
        """The stroke drawn the other way.  Its arrays are this checked stroke's, backwards, so the
        constructor's checks are skipped: 2 us a stroke instead of 7 (ordering reverses half a page's)."""
        backwards = object.__new__(Polyline)
        backwards.__dict__.update(self.__dict__, points=self.points[::-1], pressure=self.pressure[::-1], t_s=self.t_s[::-1])
        return backwards

    def take(self, index: np.ndarray) -> "Polyline":
        return Polyline(self.points[index], self.pressure[index], self.t_s[index], self.glyph)


def length(polylines: Sequence[Polyline]) -> float:
    """Total pen-down length, mm."""
    return float(sum(p.length for p in polylines))


def travel_length(polylines: Sequence[Polyline], start: Sequence[float] | None = None) -> float:
    """Pen-up travel, mm: from each stroke's end to the next one's start (and from ``start`` to the first)."""
    if not polylines:
        return 0.0
    ends = np.array([p.points[-1] for p in polylines[:-1]]).reshape(-1, 2)
    starts = np.array([p.points[0] for p in polylines[1:]]).reshape(-1, 2)
    total = float(np.linalg.norm(starts - ends, axis=1).sum())
    if start is not None:
        total += float(np.linalg.norm(polylines[0].points[0] - np.asarray(start, dtype=np.float64)))
    return total


def bounds(polylines: Sequence[Polyline]) -> Box | None:
    """(x0, y0, x1, y1) of every point, or None for no strokes."""
    if not polylines:
        return None
    pts = np.concatenate([p.points for p in polylines])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Distance between two points given as float pairs, in their unit.  Written out (not math.dist)
    so every brute-force path that compares lengths (merge, the small ordering) gets the same floats."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    return math.sqrt(dx * dx + dy * dy)
