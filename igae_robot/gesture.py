"""The machine-side gesture: plain numpy, no torch.

A :class:`Gesture` is what the model drew for one glyph, in the glyph's own unit box:
x to the right and y *down* (image convention), both in [0, 1] for a glyph that stays on
its canvas.  Placing glyphs on a page in millimetres is the job of the layout/exporters;
keeping the gesture unit-free means one ``gestures.npz`` can be exported to any page size.

``gesture.strokes()`` splits the steps into pen-down runs (intensity above a threshold,
with hysteresis so a one-step flicker does not lift the pen).  Those runs are the currency
of geometry and exporters.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import GestureError

__all__ = ["Gesture", "Stroke", "pen_down", "save_gestures", "load_gestures", "load_gestures_meta", "PEN_DOWN", "PEN_UP"]

# Pen-down threshold on intensity, and the lower threshold a pen-down run must fall below to lift.
PEN_DOWN = 0.5
PEN_UP = 0.35

GESTURES_FORMAT = 1


@dataclass(frozen=True)
class Stroke:
    """One pen-down run.  points (N,2) glyph units; pressure (N,) in [0,1]; step indices (N,)."""

    points: np.ndarray
    pressure: np.ndarray
    steps: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    @property
    def length(self) -> float:
        """Polyline length in glyph units."""
        if len(self.points) < 2:
            return 0.0
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


@dataclass(frozen=True)
class Gesture:
    """One glyph's drawing program.

    points (T,2) float, glyph units, x right / y down; pressure (T,) in [0,1] (marker size,
    i.e. pen width / Z depth / force); intensity (T,) in [0,1] (ink; below the threshold the pen is
    up); dt_s: seconds per step when the program is played back at nominal speed; label: the
    class it was drawn from (-1 if unknown); variance (T,) optional: the marker variance in
    glyph units² that the renderer used (lets the re-render check reproduce markers exactly).
    """

    points: np.ndarray
    pressure: np.ndarray
    intensity: np.ndarray
    dt_s: float = 0.05
    label: int = -1
    variance: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise GestureError(f"gesture points must have shape (T, 2), got {pts.shape}")
        t = len(pts)
        arrays = {"pressure": self.pressure, "intensity": self.intensity}
        if self.variance is not None:
            arrays["variance"] = self.variance
        for name, arr in arrays.items():
            a = np.asarray(arr, dtype=np.float64)
            if a.shape != (t,):
                raise GestureError(f"gesture {name} must have shape ({t},) to match points, got {a.shape}")
            object.__setattr__(self, name, a)
        object.__setattr__(self, "points", pts)
        for name in ("points", *arrays):
            if not np.all(np.isfinite(getattr(self, name))):
                raise GestureError(f"gesture {name} contains NaN or infinite values")
        if not (self.dt_s > 0 and np.isfinite(self.dt_s)):
            raise GestureError(f"gesture dt_s must be a positive number of seconds, got {self.dt_s!r}")

    def __len__(self) -> int:
        return len(self.points)

    def pen_down(self, threshold: float = PEN_DOWN, release: float | None = None) -> np.ndarray:
        """Boolean (T,) pen state with hysteresis: down at ``intensity >= threshold``,
        up again only once intensity drops below ``release`` (default: threshold - 0.15)."""
        return pen_down(self.intensity[None], threshold, release)[0]

    def strokes(self, threshold: float = PEN_DOWN, release: float | None = None) -> list[Stroke]:
        """Pen-down runs, in drawing order.  A run of one step is a dot (a stroke of one point)."""
        down = self.pen_down(threshold, release)
        out: list[Stroke] = []
        start = None
        for i in range(len(self) + 1):
            is_down = i < len(self) and down[i]
            if is_down and start is None:
                start = i
            elif not is_down and start is not None:
                idx = np.arange(start, i)
                out.append(Stroke(self.points[idx], self.pressure[idx], idx))
                start = None
        return out


def pen_down(intensity: np.ndarray, threshold: float = PEN_DOWN, release: float | None = None) -> np.ndarray:
    """:meth:`Gesture.pen_down` of many gestures at once: intensity (N,T) -> pen state (N,T) bool.

    The hysteresis runs step by step, each step for all N gestures together.
    """
    release = threshold - 0.15 if release is None else release
    if release > threshold:
        raise GestureError(f"pen release level {release} must not exceed the pen-down threshold {threshold}")
    down = np.zeros(intensity.shape, dtype=bool)
    state = np.zeros(len(intensity), dtype=bool)
    for i in range(intensity.shape[1]):
        state = np.where(state, intensity[:, i] >= release, intensity[:, i] >= threshold)
        down[:, i] = state
    return down


def save_gestures(path: str | os.PathLike, gestures: Sequence[Gesture], meta: dict | None = None) -> Path:
    """Write gestures to ``.npz`` atomically (temp file + rename).  All gestures must have the same T."""
    path = Path(path)
    if not gestures:
        raise GestureError("no gestures to save")
    t = {len(g) for g in gestures}
    if len(t) != 1:
        raise GestureError(f"all gestures in one file must have the same number of steps, got {sorted(t)}")
    arrays = {
        "format": np.array(GESTURES_FORMAT),
        "points": np.stack([g.points for g in gestures]),
        "pressure": np.stack([g.pressure for g in gestures]),
        "intensity": np.stack([g.intensity for g in gestures]),
        "dt_s": np.array([g.dt_s for g in gestures]),
        "label": np.array([g.label for g in gestures], dtype=np.int64),
    }
    if all(g.variance is not None for g in gestures):
        arrays["variance"] = np.stack([g.variance for g in gestures])
    for key, value in (meta or {}).items():
        arrays[f"meta_{key}"] = np.asarray(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_gestures(path: str | os.PathLike) -> list[Gesture]:
    """Read a gestures ``.npz`` written by :func:`save_gestures`."""
    path = Path(path)
    if not path.is_file():
        raise GestureError(f"{path}: no such gestures file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError...
        raise GestureError(f"{path}: not a gestures .npz file ({exc})") from None
    missing = {"points", "pressure", "intensity"} - set(arrays)
    if missing:
        raise GestureError(f"{path}: not a gestures file, missing arrays {sorted(missing)}")
    points = arrays["points"]
    if points.ndim != 3 or points.shape[2] != 2:
        raise GestureError(f"{path}: points must have shape (N, T, 2), got {points.shape}")
    n = len(points)
    dt = arrays.get("dt_s", np.full(n, 0.05))
    label = arrays.get("label", np.full(n, -1))
    variance = arrays.get("variance")
    try:
        return [
            Gesture(
                points[i],
                arrays["pressure"][i],
                arrays["intensity"][i],
                dt_s=float(dt[i]),
                label=int(label[i]),
                variance=None if variance is None else variance[i],
            )
            for i in range(n)
        ]
    except (GestureError, IndexError) as exc:
        raise GestureError(f"{path}: {exc}") from None


def load_gestures_meta(path: str | os.PathLike) -> dict[str, object]:
    """The ``meta`` a gestures file was saved with (e.g. image_size, var_coef, var_eps), as Python values."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k[len("meta_"):]: data[k].tolist() for k in data.files if k.startswith("meta_")}
    except FileNotFoundError:
        raise GestureError(f"{path}: no such gestures file") from None
    except Exception as exc:
        raise GestureError(f"{path}: not a gestures .npz file ({exc})") from None
