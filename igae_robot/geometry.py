"""Pen-down polylines in millimetres and what we do to them before a machine draws them.

A :class:`Polyline` is one stroke on the page: points (N,2) mm (page frame: x right, y down),
pressure (N,) in [0,1], and t_s (N,) the gesture time of each point, whose differences give
the step velocity that feed rates follow.  ``glyph`` says which gesture it came from.

Nouns measure (:func:`length`, :func:`travel_length`, :func:`bounds`); verbs build new lists
(:func:`simplify`, :func:`merge`, :func:`order`, :func:`clip`, :func:`resample`).  Every function
accepts an empty list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import shapely

__all__ = [
    "Polyline",
    "length",
    "travel_length",
    "bounds",
    "simplify",
    "merge",
    "order",
    "clip",
    "resample",
    "resample_arrays",
    "fit_transform",
]

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
        return Polyline(self.points[::-1], self.pressure[::-1], self.t_s[::-1], self.glyph)

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


def simplify(polylines: Sequence[Polyline], tolerance_mm: float, pressure_tolerance: float = 0.02) -> list[Polyline]:
    """Douglas-Peucker (shapely) with ``tolerance_mm``; kept points keep their pressure and time.

    A dropped point whose pressure differs by more than ``pressure_tolerance`` from the pressure
    interpolated along the simplified line is put back, so pressure (pen width, depth) survives.
    A stroke of no length becomes a dot at its highest pressure (the marker that covers the others).
    tolerance 0 returns the strokes unchanged.
    """
    if tolerance_mm <= 0:
        return list(polylines)
    out = []
    for p in polylines:
        if len(p) > 1 and p.length == 0:
            out.append(p.take(np.array([int(np.argmax(p.pressure))])))
            continue
        if len(p) < 3:
            out.append(p)
            continue
        kept = shapely.get_coordinates(shapely.LineString(p.points).simplify(tolerance_mm, preserve_topology=False))
        index = np.union1d(_subsequence_index(p.points, kept), _cusps(p.points))
        out.append(p.take(_keep_pressure(p, index, pressure_tolerance)))
    return out


def _cusps(points: np.ndarray) -> np.ndarray:
    """Vertices where the path turns back (more than 90°).  Douglas-Peucker drops a turn-back on a
    straight line (it lies on the line), but the pen really goes there and back."""
    d = np.diff(points, axis=0)
    turn = np.einsum("ij,ij->i", d[:-1], d[1:])  # dot of incoming and outgoing direction
    return np.flatnonzero(turn < 0) + 1


def _keep_pressure(p: Polyline, index: np.ndarray, tolerance: float) -> np.ndarray:
    """Add back dropped points until linear interpolation (along arc length) reproduces pressure within tolerance."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p.points, axis=0), axis=1))])
    keep = np.zeros(len(p), dtype=bool)
    keep[index] = True
    while True:
        error = np.abs(np.interp(arc, arc[keep], p.pressure[keep]) - p.pressure)
        bad = (error > tolerance) & ~keep
        if not bad.any():
            return np.flatnonzero(keep)
        keep |= bad


def _subsequence_index(points: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Indices of ``kept`` rows in ``points``: Douglas-Peucker keeps a subsequence of the input vertices."""
    index, i = [], 0
    for q in kept:
        while i < len(points) and not np.array_equal(points[i], q):
            i += 1
        if i == len(points):  # not a subsequence (should not happen): keep everything
            return np.arange(len(points))
        index.append(i)
        i += 1
    if len(index) < 2:  # a closed or zero-length line may collapse; keep its ends
        index = [0, len(points) - 1]
    return np.array(index)


def merge(polylines: Sequence[Polyline], tolerance_mm: float) -> list[Polyline]:
    """Join strokes of the same glyph whose ends lie within ``tolerance_mm``, reversing one if needed.

    Fewer strokes means fewer pen lifts.  Strokes of different glyphs are never joined, so every
    stroke still belongs to one glyph.  Glyphs keep their order; within one, chains follow their first stroke.
    """
    if tolerance_mm <= 0 or len(polylines) < 2:
        return list(polylines)
    by_glyph: dict[int, list[Polyline]] = {}
    for p in polylines:
        by_glyph.setdefault(p.glyph, []).append(p)
    merged = {glyph: _merge_group(group, tolerance_mm) for glyph, group in by_glyph.items()}
    # Back in input order: each glyph's chains where its first stroke was.
    out, emitted = [], set()
    for p in polylines:
        if p.glyph not in emitted:
            emitted.add(p.glyph)
            out.extend(merged[p.glyph])
    return out


def _merge_group(pool: list[Polyline], tol: float) -> list[Polyline]:
    """Greedy chaining within one glyph (a handful of strokes, so quadratic is fine)."""
    if not _ends_meet(pool, tol):  # the usual case, found without building a joined stroke
        return pool
    out: list[Polyline] = []
    used = [False] * len(pool)
    for i, chain in enumerate(pool):
        if used[i]:
            continue
        used[i] = True
        grown = True
        while grown:
            grown = False
            for j, other in enumerate(pool):
                if not used[j]:
                    joined = _join(chain, other, tol)
                    if joined is not None:
                        chain, used[j], grown = joined, True, True
        out.append(chain)
    return out


def _ends_meet(pool: list[Polyline], tol: float) -> bool:
    """Whether an end of one stroke lies within ``tol`` of an end of another (what :func:`_join` looks for)."""
    ends = [(p.points[0].tolist(), p.points[-1].tolist()) for p in pool]
    return any(_dist(u, v) <= tol for i, a in enumerate(ends) for b in ends[i + 1 :] for u in a for v in b)


def _join(a: Polyline, b: Polyline, tol: float) -> Polyline | None:
    """a followed by b (either may be reversed) if an end of a touches an end of b, else None."""
    a0, a1, b0, b1 = a.points[0].tolist(), a.points[-1].tolist(), b.points[0].tolist(), b.points[-1].tolist()
    # The four ways, in order: a then b, a then b reversed, b then a, b reversed then a.
    for k, (end, start) in enumerate(((a1, b0), (a1, b1), (b1, a0), (b0, a0))):
        gap = _dist(end, start)
        if gap <= tol:
            first, second = ((a, b), (a, b.reversed()), (b, a), (b.reversed(), a))[k]
            if gap == 0.0:  # the shared point once is enough
                second = second.take(np.arange(1, len(second)))
            return Polyline(
                np.concatenate([first.points, second.points]),
                np.concatenate([first.pressure, second.pressure]),
                np.concatenate([first.t_s, second.t_s]),
                a.glyph,
            )
    return None


def order(polylines: Sequence[Polyline], start: Sequence[float] | None = None, max_passes: int = 50) -> list[Polyline]:
    """Reorder (and reverse) strokes to cut pen-up travel: greedy nearest neighbour, then 2-opt.

    The greedy pass is vpype ``linesort``'s (start from the first stroke, or from ``start`` if
    given; always go to the nearest free end).  2-opt then reverses any run of strokes whose
    reversal shortens the path, until no such run is left (or ``max_passes``), so the result is
    never longer than the greedy one.
    """
    if len(polylines) < 2:
        return list(polylines)
    strokes = list(polylines)
    entry = np.array([p.points[0] for p in strokes])  # (n,2)
    exit_ = np.array([p.points[-1] for p in strokes])
    begin = None if start is None else np.asarray(start, dtype=np.float64)
    if len(strokes) <= _FEW_STROKES:
        seq, flip = _order_few(entry.tolist(), exit_.tolist(), None if begin is None else begin.tolist(), max_passes)
    else:
        seq, flip = _greedy(entry, exit_, begin)
        seq, flip = _two_opt(entry, exit_, seq, flip, begin, max_passes)
    return [strokes[i].reversed() if f else strokes[i] for i, f in zip(seq, flip)]


# Up to this many strokes (a glyph, a few glyphs) the same greedy + 2-opt runs on Python floats:
# numpy's per-call cost would be most of the time.
_FEW_STROKES = 16


def _norms(d: np.ndarray) -> np.ndarray:
    """Lengths of vectors d (...,2), as sqrt(dx*dx + dy*dy): the same floats as :func:`_dist`."""
    return np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])


def _dist(a: Sequence[float], b: Sequence[float]) -> float:
    dx, dy = a[0] - b[0], a[1] - b[1]
    return math.sqrt(dx * dx + dy * dy)


def _greedy(entry: np.ndarray, exit_: np.ndarray, start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(entry)
    free = np.ones(n, dtype=bool)
    seq, flip = [], []
    if start is None:  # as linesort: keep the first stroke first, unflipped
        free[0] = False
        seq.append(0)
        flip.append(False)
        pos = exit_[0]
    else:
        pos = start
    while free.any():
        d_entry = np.where(free, _norms(entry - pos), np.inf)
        d_exit = np.where(free, _norms(exit_ - pos), np.inf)
        i_entry, i_exit = int(np.argmin(d_entry)), int(np.argmin(d_exit))
        if d_exit[i_exit] < d_entry[i_entry]:
            i, reverse = i_exit, True
        else:
            i, reverse = i_entry, False
        free[i] = False
        seq.append(i)
        flip.append(reverse)
        pos = entry[i] if reverse else exit_[i]
    return np.array(seq), np.array(flip)


def _two_opt(
    entry: np.ndarray, exit_: np.ndarray, seq: np.ndarray, flip: np.ndarray, start: np.ndarray | None, max_passes: int
) -> tuple[np.ndarray, np.ndarray]:
    """2-opt on an open path of oriented strokes; reversing a block also flips every stroke in it."""
    n = len(seq)
    # In-path entry/exit points, following the current order and orientation.
    e_in = np.where(flip[:, None], exit_[seq], entry[seq])
    e_out = np.where(flip[:, None], entry[seq], exit_[seq])
    for _ in range(max_passes):
        improved = False
        for i in range(n):
            prev = e_out[i - 1] if i > 0 else start  # None: the path may begin anywhere
            js = np.arange(i, n)
            # Reverse block i..j: edges (prev -> in_i) and (out_j -> in_{j+1}) become
            # (prev -> out_j) and (in_i -> in_{j+1}); edges inside the block keep their lengths.
            nxt = np.vstack([e_in[i + 1 :], np.full((1, 2), np.nan)])  # in_{j+1}; NaN past the end
            old = np.nan_to_num(_norms(e_out[js] - nxt))
            new = np.nan_to_num(_norms(e_in[i] - nxt))
            if prev is not None:
                old = old + _norms(e_in[i] - prev)
                new = new + _norms(e_out[js] - prev)
            gain = old - new
            k = int(np.argmax(gain))
            if gain[k] > 1e-9:
                j = i + k
                seq[i : j + 1] = seq[i : j + 1][::-1].copy()
                flip[i : j + 1] = ~flip[i : j + 1][::-1]
                e_in[i : j + 1], e_out[i : j + 1] = e_out[i : j + 1][::-1].copy(), e_in[i : j + 1][::-1].copy()
                improved = True
        if not improved:
            break
    return seq, flip


def _order_few(entry: list, exit_: list, start: list | None, max_passes: int) -> tuple[list[int], list[bool]]:
    """:func:`_greedy` then :func:`_two_opt` on lists of (x, y): the same choices, step for step."""
    n = len(entry)
    free = list(range(n))
    seq, flip = [], []
    pos = start
    if start is None:
        free.remove(0)
        seq, flip, pos = [0], [False], exit_[0]
    while free:  # nearest free entry, else nearest free exit (strictly nearer), lowest index on ties
        i_entry = min(free, key=lambda i: _dist(entry[i], pos))
        i_exit = min(free, key=lambda i: _dist(exit_[i], pos))
        reverse = _dist(exit_[i_exit], pos) < _dist(entry[i_entry], pos)
        i = i_exit if reverse else i_entry
        free.remove(i)
        seq.append(i)
        flip.append(reverse)
        pos = entry[i] if reverse else exit_[i]
    e_in = [exit_[i] if f else entry[i] for i, f in zip(seq, flip)]
    e_out = [entry[i] if f else exit_[i] for i, f in zip(seq, flip)]
    for _ in range(max_passes):
        improved = False
        for i in range(n):
            prev = e_out[i - 1] if i > 0 else start
            best_gain, best_j = -math.inf, i
            for j in range(i, n):
                nxt = e_in[j + 1] if j + 1 < n else None
                old = _dist(e_out[j], nxt) if nxt is not None else 0.0
                new = _dist(e_in[i], nxt) if nxt is not None else 0.0
                if prev is not None:
                    old, new = old + _dist(e_in[i], prev), new + _dist(e_out[j], prev)
                if old - new > best_gain:  # first maximum, as argmax
                    best_gain, best_j = old - new, j
            if best_gain > 1e-9:
                j = best_j
                seq[i : j + 1] = seq[i : j + 1][::-1]
                flip[i : j + 1] = [not f for f in flip[i : j + 1][::-1]]
                e_in[i : j + 1], e_out[i : j + 1] = e_out[i : j + 1][::-1], e_in[i : j + 1][::-1]
                improved = True
        if not improved:
            break
    return seq, flip


def clip(polylines: Sequence[Polyline], box: Box) -> list[Polyline]:
    """Cut strokes to the box (x0, y0, x1, y1) mm; a stroke leaving and re-entering becomes several.

    Points on a cut get pressure and time interpolated along their segment.
    """
    area = shapely.box(*box)
    out = []
    for p in polylines:
        if len(p) == 1:
            if area.covers(shapely.Point(p.points[0])):
                out.append(p)
            continue
        out.extend(_clip_one(p, box))
    return out


def _clip_one(p: Polyline, box: Box) -> list[Polyline]:
    """Liang-Barsky per segment, keeping the segment parameter so pressure and time interpolate exactly."""
    x0, y0, x1, y1 = box
    pieces: list[list[tuple[np.ndarray, float, float]]] = []
    current: list[tuple[np.ndarray, float, float]] = []
    for k in range(len(p) - 1):
        a, b = p.points[k], p.points[k + 1]
        span = _liang_barsky(a, b, x0, y0, x1, y1)
        if span is None:
            if current:
                pieces.append(current)
                current = []
            continue
        u0, u1 = span

        def at(u: float) -> tuple[np.ndarray, float, float]:
            return (
                a + u * (b - a),
                p.pressure[k] + u * (p.pressure[k + 1] - p.pressure[k]),
                p.t_s[k] + u * (p.t_s[k + 1] - p.t_s[k]),
            )

        if current and u0 > 0:  # the previous piece ended at this segment's start only if u0 == 0
            pieces.append(current)
            current = []
        if not current:
            current.append(at(u0))
        current.append(at(u1))
        if u1 < 1:
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    return [
        Polyline(np.array([q[0] for q in piece]), np.array([q[1] for q in piece]), np.array([q[2] for q in piece]), p.glyph)
        for piece in pieces
    ]


def _liang_barsky(a, b, x0, y0, x1, y1) -> tuple[float, float] | None:
    d = b - a
    u0, u1 = 0.0, 1.0
    for pk, qk in ((-d[0], a[0] - x0), (d[0], x1 - a[0]), (-d[1], a[1] - y0), (d[1], y1 - a[1])):
        if pk == 0:
            if qk < 0:
                return None
            continue
        u = qk / pk
        if pk < 0:
            u0 = max(u0, u)
        else:
            u1 = min(u1, u)
        if u0 > u1:
            return None
    return u0, u1


def resample(polyline: Polyline, spacing: float) -> Polyline:
    """Insert points so no segment is longer than ``spacing`` (the polyline's unit: mm on a page,
    glyph units on a canvas); pressure and time interpolate linearly.  Existing points are kept."""
    if len(polyline) < 2 or spacing <= 0:
        return polyline
    values = np.column_stack([polyline.points, polyline.pressure, polyline.t_s])
    dense, _ = resample_arrays(values, np.array([len(polyline)]), spacing)
    return Polyline(dense[:, :2], dense[:, 2], dense[:, 3], polyline.glyph)


def resample_arrays(values: np.ndarray, counts: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`resample` of many polylines at once, as arrays: the re-render check resamples every
    stroke of a sheet (or of a thousand sheets) in one pass.

    values (N,C): the rows of all polylines one after the other, the first two columns x, y and
    the others (pressure, time...) interpolated alike; counts (M,) rows per polyline (>= 1).
    Returns the resampled rows and their counts per polyline.
    """
    counts = np.asarray(counts, dtype=np.intp)
    if len(values) == 0:
        return values, counts
    last = np.cumsum(counts) - 1  # each polyline's last row
    step = np.diff(values[:, :2], axis=0)  # (N-1,2), from each row to the next
    seg = np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1])
    # Markers per row: a segment of length L gives ceil(L / spacing) (at least 1), starting at its
    # first row; a polyline's last row gives itself (and is where a "segment" to the next polyline
    # would start, which is not drawn).
    reps = np.append(np.maximum(1, np.ceil(seg / spacing)).astype(np.intp), 1)
    reps[last] = 1
    row = np.repeat(np.arange(len(values)), reps)
    rank = np.arange(len(row)) - np.repeat(np.cumsum(reps) - reps, reps)  # 0 .. reps-1 within a row
    t = rank / reps[row]  # 0 on every last row
    nxt = np.minimum(row + 1, len(values) - 1)
    dense = (values[nxt] - values[row]) * t[:, None] + values[row]
    dense[rank == 0] = values[row[rank == 0]]  # the existing points, exactly
    per_polyline = np.add.reduceat(reps, last - counts + 1)
    return dense, per_polyline


def fit_transform(content: Box, area: Box) -> tuple[float, float, float]:
    """(scale, dx, dy) mapping ``content`` into ``area`` uniformly, centred: p' = p * scale + (dx, dy)."""
    cw, ch = content[2] - content[0], content[3] - content[1]
    aw, ah = area[2] - area[0], area[3] - area[1]
    scale = min(aw / cw if cw > 0 else np.inf, ah / ch if ch > 0 else np.inf)
    if not np.isfinite(scale):
        scale = 1.0
    dx = area[0] + (aw - cw * scale) / 2 - content[0] * scale
    dy = area[1] + (ah - ch * scale) / 2 - content[1] * scale
    return float(scale), float(dx), float(dy)
