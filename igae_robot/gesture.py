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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from igae_robot.errors import GestureError

__all__ = [
    "Gesture", "Stroke", "pen_down", "release_level", "save_gestures", "load_gestures", "load_gestures_meta",
    "PEN_DOWN", "PEN_UP", "PEN_RELEASE_GAP",
]

# Pen-down threshold on intensity, and the lower threshold a pen-down run must fall below to lift.
PEN_DOWN = 0.5
PEN_UP = 0.35
# With another threshold and no release given, the pen lifts this far below the threshold (the
# hysteresis that keeps a one-step flicker from lifting the pen).  Written as a literal, not as
# PEN_DOWN - PEN_UP (0.15000000000000002): files carry ``threshold - 0.15`` and must not change.
PEN_RELEASE_GAP = 0.15

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
        # Pressure becomes pen Z, servo S or arm depth, intensity the pen state: outside [0, 1] a
        # machine would press through the paper or hover above it.
        for name in ("pressure", "intensity"):
            step = _first_outside_unit(getattr(self, name))
            if step is not None:
                raise GestureError(f"gesture {name} at step {step} is {getattr(self, name)[step]:g}; expected a value in [0, 1]")
        if not (self.dt_s > 0 and np.isfinite(self.dt_s)):
            raise GestureError(f"gesture dt_s must be a positive number of seconds, got {self.dt_s!r}")
        if isinstance(self.label, bool) or not isinstance(self.label, (int, np.integer)):
            raise GestureError(f"gesture label must be an integer class (-1 if unknown), got {self.label!r}")
        object.__setattr__(self, "label", int(self.label))

    def __len__(self) -> int:
        return len(self.points)

    def pen_down(self, threshold: float = PEN_DOWN, release: float | None = None) -> np.ndarray:
        """Boolean (T,) pen state with hysteresis: down at ``intensity >= threshold``,
        up again only once intensity drops below ``release`` (default: :func:`release_level`)."""
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


def _first_outside_unit(values: np.ndarray) -> int | None:
    """Index of the first value that is not a number in [0, 1] (NaN included), or None."""
    bad = ~((values >= 0.0) & (values <= 1.0))
    return int(np.argmax(bad)) if bad.any() else None


def release_level(threshold: float, release: float | None = None) -> float:
    """The intensity below which a pen-down run lifts: ``release`` if given, else
    ``threshold - PEN_RELEASE_GAP``.  Every writer and reader of the threshold pair asks here."""
    return threshold - PEN_RELEASE_GAP if release is None else release


def pen_down(intensity: np.ndarray, threshold: float = PEN_DOWN, release: float | None = None) -> np.ndarray:
    """:meth:`Gesture.pen_down` of many gestures at once: intensity (N,T) -> pen state (N,T) bool.

    The hysteresis without a loop over steps (a page drawn whole has tens of thousands): a step at or above
    the threshold puts the pen down, one below the release level lifts it, one in between keeps the state of
    the last step that decided (up before the first).
    """
    release = release_level(threshold, release)
    if release > threshold:
        raise GestureError(f"pen release level {release} must not exceed the pen-down threshold {threshold}")
    intensity = np.asarray(intensity)
    down_here, up_here = intensity >= threshold, ~(intensity >= release)  # NaN lifts the pen, as before
    decided = down_here | up_here
    steps = np.broadcast_to(np.arange(intensity.shape[-1]), intensity.shape)
    last = np.maximum.accumulate(np.where(decided, steps, -1), axis=-1)  # the last deciding step so far
    return np.take_along_axis(down_here, np.maximum(last, 0), axis=-1) & (last >= 0)


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
    from igae_robot.atomic import atomic_binary_writer  # refuses devices, pipes and links; keeps the umask

    with atomic_binary_writer(path) as fh:
        np.savez_compressed(fh, **arrays)
    return path


# The model side renders at most this many pixels a side (the re-render check allocates size² per marker).
MAX_IMAGE_SIZE = 1024

# What each array of a gestures file must hold: numpy dtype kinds (b bool, i/u integers, f floats).
_KINDS = {"points": "iuf", "pressure": "iuf", "intensity": "iuf", "dt_s": "iuf", "label": "iu", "variance": "iuf"}


def load_gestures(path: str | os.PathLike) -> list[Gesture]:
    """Read a gestures ``.npz`` written by :func:`save_gestures`.

    Everything is checked before a Gesture is built, and a bad value is named by glyph and step:
    an ``.npz`` is user input like any other (a hand-edited or hostile file must never reach a machine).
    """
    path = Path(path)
    arrays = _read_npz(path)
    _check_meta(path, {k[len("meta_"):]: v for k, v in arrays.items() if k.startswith("meta_")})
    missing = {"points", "pressure", "intensity"} - set(arrays)
    if missing:
        raise GestureError(f"{path}: not a gestures file, missing arrays {sorted(missing)}")
    for name, kinds in _KINDS.items():
        if name in arrays and arrays[name].dtype.kind not in kinds:
            what = "integers" if kinds == "iu" else "numbers"
            raise GestureError(f"{path}: {name} must hold {what}, got {arrays[name].dtype} values")
    points = arrays["points"]
    if points.ndim != 3 or points.shape[2] != 2:
        raise GestureError(f"{path}: points must have shape (N, T, 2), got {points.shape}")
    n, t = points.shape[:2]
    arrays.setdefault("dt_s", np.full(n, 0.05))
    arrays.setdefault("label", np.full(n, -1))
    shapes = {"pressure": (n, t), "intensity": (n, t), "variance": (n, t), "dt_s": (n,), "label": (n,)}
    for name, shape in shapes.items():
        if name in arrays and arrays[name].shape != shape:
            raise GestureError(f"{path}: {name} must have shape {shape} to match points {points.shape}, got {arrays[name].shape}")
    _check_values(path, arrays)
    variance = arrays.get("variance")
    try:
        return [
            Gesture(
                points[i],
                arrays["pressure"][i],
                arrays["intensity"][i],
                dt_s=float(arrays["dt_s"][i]),
                label=int(arrays["label"][i]),
                variance=None if variance is None else variance[i],
            )
            for i in range(n)
        ]
    except GestureError as exc:
        raise GestureError(f"{path}: {exc}") from None


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz``, never unpickling anything."""
    if not path.is_file():
        raise GestureError(f"{path}: no such gestures file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        # numpy's advice here (allow_pickle=True) would run any code the file holds: never pass it on.
        if "Object arrays" in str(exc):
            raise GestureError(f"{path}: not a trusted gestures file (it holds Python objects, which igae never loads)") from None
        if "pickle" in str(exc):
            raise GestureError(f"{path}: not a gestures .npz file (not a NumPy archive)") from None
        raise GestureError(f"{path}: not a gestures .npz file ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError...
        raise GestureError(f"{path}: not a gestures .npz file ({exc})") from None


def _check_values(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Finite points, pressure and intensity in [0, 1], positive dt: the first bad value by glyph and step."""
    with np.errstate(invalid="ignore"):
        checks = {
            "points": ~np.isfinite(arrays["points"]).all(axis=-1),
            "pressure": ~((arrays["pressure"] >= 0) & (arrays["pressure"] <= 1)),
            "intensity": ~((arrays["intensity"] >= 0) & (arrays["intensity"] <= 1)),
        }
        if "variance" in arrays:
            checks["variance"] = ~(np.isfinite(arrays["variance"]) & (arrays["variance"] >= 0))
        expected = {"points": "finite numbers (no NaN or infinity)", "variance": "a finite value >= 0"}
        for name, bad in checks.items():
            if bad.any():
                glyph, step = np.unravel_index(int(np.argmax(bad)), bad.shape)
                value = arrays[name][glyph, step]
                raise GestureError(
                    f"{path}: glyph {glyph} step {step} has {name} {_show(value)}; expected {expected.get(name, 'a value in [0, 1]')}"
                )
        dt = arrays["dt_s"].astype(np.float64)
        bad_dt = ~(np.isfinite(dt) & (dt > 0))
        if bad_dt.any():
            glyph = int(np.argmax(bad_dt))
            raise GestureError(f"{path}: glyph {glyph} has dt_s {_show(dt[glyph])}; expected a positive number of seconds per step")


def _show(value) -> str:
    return np.array2string(np.asarray(value), separator=", ", precision=6) if np.ndim(value) else f"{float(value):g}"


def _check_meta(path: Path, meta: dict[str, np.ndarray]) -> None:
    """The model facts the re-render check relies on: a sane image size and marker variance."""
    for key, value in meta.items():
        if value.dtype.kind not in "biuf" or value.shape != ():
            if key in ("image_size", "var_coef", "var_eps"):
                raise GestureError(f"{path}: meta {key} must be one number, got {value.dtype} {value.shape}")
    if "image_size" in meta:
        size = meta["image_size"].item()
        if not (float(size).is_integer() and 1 <= size <= MAX_IMAGE_SIZE):
            raise GestureError(f"{path}: meta image_size {size!r} is not a whole number of pixels in 1..{MAX_IMAGE_SIZE}")
    for key in ("var_coef", "var_eps"):
        if key in meta:
            v = float(meta[key].item())
            if not (np.isfinite(v) and (v > 0 if key == "var_eps" else v >= 0)):
                raise GestureError(f"{path}: meta {key} {v!r} is not a {'positive' if key == 'var_eps' else 'non-negative'} finite number")


def load_gestures_meta(path: str | os.PathLike) -> dict[str, object]:
    """The ``meta`` a gestures file was saved with (e.g. image_size, var_coef, var_eps), as Python values."""
    path = Path(path)
    meta = {k[len("meta_"):]: v for k, v in _read_npz(path).items() if k.startswith("meta_")}
    _check_meta(path, meta)
    return {k: v.tolist() for k, v in meta.items()}
