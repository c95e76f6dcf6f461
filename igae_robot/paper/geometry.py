"""What we do to pen-down polylines before a machine draws them.

Strokes are :class:`~igae_robot.paper.polyline.Polyline` (points mm, pressure, t_s seconds, glyph).
Nouns measure (:func:`length`, :func:`travel_length`, :func:`bounds`); verbs build new lists
(:func:`simplify`, :func:`merge`, :func:`order`, :func:`clip`, :func:`resample`).  Every function
accepts an empty list.  The measures and the type live in :mod:`~igae_robot.paper.polyline`, the
drawing order in :mod:`~igae_robot.paper.ordering`; both are re-exported here, so
``geometry.order`` and ``geometry.Polyline`` keep working for every caller.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import shapely

from igae_robot.paper.ordering import order
from igae_robot.paper.polyline import Box, Polyline, bounds, length, travel_length
from igae_robot.paper.polyline import distance as _dist

__all__ = [
    "Box",
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
    """Greedy chaining within one glyph: each chain grows by every stroke whose end meets one of its ends.
    A handful of strokes are all tried; a page drawn whole is one glyph of thousands, whose candidates come
    from a k-d tree of the stroke ends near the chain's ends (all tried: 0.6 s for 400 strokes)."""
    if len(pool) <= _MANY and not _ends_meet(pool, tol):  # the usual case, found without building a joined stroke
        return pool
    candidates = (lambda chain: range(len(pool))) if len(pool) <= _MANY else _near_ends(pool, tol)
    out: list[Polyline] = []
    used = [False] * len(pool)
    for i, chain in enumerate(pool):
        if used[i]:
            continue
        used[i] = True
        grown = True
        while grown:
            grown = False
            for j in candidates(chain):
                joined = None if used[j] else _join(chain, pool[j], tol)
                if joined is not None:
                    chain, used[j], grown = joined, True, True
        out.append(chain)
    return out


_MANY = 64  # strokes in a glyph above which ends are found through a k-d tree


def _near_ends(pool: list[Polyline], tol: float):
    """chain -> indices of the strokes of ``pool`` with an end within ``tol`` of one of the chain's ends
    (or a hair farther: :func:`_join` measures and decides).

    A chain's ends are always ends of its strokes, so the k-d tree is asked once for every pair of
    ends that near (6 -> 2 ms on a page of text, 380 strokes, against one query per chain), and a
    chain's ends are looked up by their coordinates.
    """
    from scipy.spatial import cKDTree

    ends = np.array([(p.points[0, 0], p.points[0, 1], p.points[-1, 0], p.points[-1, 1]) for p in pool]).reshape(-1, 2)
    tree = cKDTree(ends)
    xy = list(map(tuple, ends.tolist()))
    near_point: dict[tuple[float, float], set[int]] = {}  # a point -> the strokes with an end near it
    for k, point in enumerate(xy):
        near_point.setdefault(point, set()).add(k // 2)
    # A hair wider than tol: the tree's rounding never hides a join that _join's own measure accepts.
    for k, m in tree.query_pairs(tol * (1 + 1e-9), output_type="ndarray").tolist():
        near_point[xy[k]].add(m // 2)
        near_point[xy[m]].add(k // 2)

    def near_one(point: tuple[float, float]) -> set[int]:
        found = near_point.get(point)
        return found if found is not None else {k // 2 for k in tree.query_ball_point(point, tol * (1 + 1e-9))}

    def near(chain: Polyline) -> list[int]:
        return sorted(near_one(tuple(chain.points[0].tolist())) | near_one(tuple(chain.points[-1].tolist())))

    return near


def _ends_meet(pool: list[Polyline], tol: float) -> bool:
    """Whether an end of one stroke lies within ``tol`` of an end of another (what :func:`_join` looks for).

    Above _FEW_TO_MEASURE_ALL strokes every pair of ends is measured at once with numpy, as
    :func:`~igae_robot.paper.polyline.distance` measures one (the same floats): a drawing of 41
    strokes, 3280 pairs, takes 0.1 ms instead of 0.8.
    """
    if len(pool) <= _FEW_TO_MEASURE_ALL:
        ends = [(p.points[0].tolist(), p.points[-1].tolist()) for p in pool]
        return any(_dist(u, v) <= tol for i, a in enumerate(ends) for b in ends[i + 1 :] for u in a for v in b)
    # x and y of every first point, then of every last point: end k belongs to stroke k % n.
    x, y = np.array([(p.points[0, 0], p.points[-1, 0], p.points[0, 1], p.points[-1, 1]) for p in pool]).T.reshape(2, -1)
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    close = np.sqrt(dx * dx + dy * dy) <= tol
    stroke = np.arange(len(x)) % len(pool)
    return bool(close[stroke[:, None] != stroke[None, :]].any())


_FEW_TO_MEASURE_ALL = 8  # strokes: up to here numpy's own cost (30-60 us) is more than the pairs' one by one


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
