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
from typing import Callable, Sequence

import numpy as np
import shapely

from igae_robot.errors import GestureError

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


def order(
    polylines: Sequence[Polyline],
    start: Sequence[float] | None = None,
    max_passes: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> list[Polyline]:
    """Reorder (and reverse) strokes to cut pen-up travel: greedy nearest neighbour, then local improvement.

    The greedy pass is vpype ``linesort``'s (start from the first stroke, or from ``start`` if
    given; always go to the nearest free end), found with a KD-tree over stroke ends.  Then, up to
    ``max_passes`` times, 2-opt (reverse a run of strokes) and Or-opt (move one to three strokes
    elsewhere, maybe reversed) are tried wherever a new pen-up hop would join an end to one of its
    nearest ends; every move taken shortens the path, so the result is never longer than the greedy
    one, and never longer than the order given (as linesort).  Near n log n: the 22 000 strokes of
    12 000 glyphs take about 3 s (benchmarks/ordering.py).  ``progress(done, total)`` is called
    now and then on long work.  A NaN or infinite stroke end raises GestureError.
    """
    if len(polylines) < 2:
        return list(polylines)
    strokes = list(polylines)
    entry = np.array([p.points[0] for p in strokes])  # (n,2)
    exit_ = np.array([p.points[-1] for p in strokes])
    _check_finite(entry, exit_, strokes)
    begin = None if start is None else np.asarray(start, dtype=np.float64)
    # Work units: one per stroke placed by the greedy walk, one per end looked at in the first pass.
    report = _Progress(progress, len(strokes) * (3 if max_passes > 0 else 1))
    if len(strokes) <= _FEW_STROKES:
        seq, flip = _order_few(entry.tolist(), exit_.tolist(), None if begin is None else begin.tolist(), max_passes)
    else:
        seq, flip = _greedy(entry, exit_, begin, report)
        if max_passes > 0:
            seq, flip = _improve(entry, exit_, seq, flip, begin, max_passes, report)
    report.finish()
    ordered = [strokes[i].reversed() if f else strokes[i] for i, f in zip(seq, flip)]
    if travel_length(strokes, start) < travel_length(ordered, start):  # as linesort: never worse than given
        return strokes
    return ordered


def _check_finite(entry: np.ndarray, exit_: np.ndarray, strokes: list[Polyline]) -> None:
    """Ordering measures between stroke ends; a NaN or infinite one has no place (and the KD-tree refuses it)."""
    bad = ~(np.isfinite(entry).all(axis=1) & np.isfinite(exit_).all(axis=1))
    if bad.any():
        k = int(np.argmax(bad))
        raise GestureError(
            f"glyph {strokes[k].glyph}: stroke {k} ends at {strokes[k].points[0].tolist()} .. "
            f"{strokes[k].points[-1].tolist()} mm, not finite; cannot order strokes"
        )


# Up to this many strokes (a glyph, a few glyphs) greedy + full 2-opt runs on Python floats: the
# best answer local search finds, at a cost that only matters for thousands of strokes.
_FEW_STROKES = 16

# Or-opt moves runs of up to this many strokes; each end looks at this many nearest ends.
_MAX_RUN = 3
_NEIGHBOURS = 10


class _Progress:
    """Calls ``callback(done, total)`` about a hundred times over the work, and once at the end."""

    def __init__(self, callback: Callable[[int, int], None] | None, total: int):
        self.callback, self.total, self.done = callback, total, 0
        self.every = max(1, total // 100)

    def step(self, count: int = 1) -> None:
        before = self.done
        self.done = min(self.total, self.done + count)
        if self.callback is not None and self.done // self.every != before // self.every:
            self.callback(self.done, self.total)

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(self.total, self.total)


def _dist(a: Sequence[float], b: Sequence[float]) -> float:
    dx, dy = a[0] - b[0], a[1] - b[1]
    return math.sqrt(dx * dx + dy * dy)


# Pen-up hop length in the improvement passes: math.dist is C, and only the brute-force paths
# need the exact floats of _dist.  (tests/test_geometry.py counts calls through this name.)
_hop_length = math.dist


def _greedy(
    entry: np.ndarray, exit_: np.ndarray, start: np.ndarray | None, report: _Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """linesort's greedy walk: to the nearest free end each time (an entry on ties, then the lowest index)."""
    ends = _FreeEnds(entry, exit_)
    seq, flip = [], []
    if start is None:  # as linesort: keep the first stroke first, unflipped
        ends.take(0)
        seq.append(0)
        flip.append(False)
        pos = tuple(exit_[0].tolist())
    else:
        pos = tuple(start.tolist())
    while ends.left:
        i, reverse = ends.nearest(pos)
        ends.take(i)
        seq.append(i)
        flip.append(reverse)
        pos = ends.xy[i if reverse else i + ends.n]
        if report is not None:
            report.step()
    return np.array(seq), np.array(flip, dtype=bool)


class _FreeEnds:
    """Both ends of the strokes not yet drawn, in a KD-tree (vpype's ``LineIndex`` idea).

    Drawn strokes stay in the tree (removing is costly) and are skipped; the tree is rebuilt
    when they make up three quarters of it, so a query meets few of them.
    """

    def __init__(self, entry: np.ndarray, exit_: np.ndarray):
        self.n = len(entry)
        ends = np.concatenate([entry, exit_])  # row k < n: stroke k's entry; k >= n: stroke k-n's exit
        self.xy = [tuple(v) for v in ends.tolist()]
        self.free = [True] * self.n
        self.left = self.n
        self._build()

    def _build(self) -> None:
        from scipy.spatial import cKDTree  # here, not at import: the CLI starts without scipy

        self.rows = [k for k in range(2 * self.n) if self.free[k % self.n]]
        self.tree = cKDTree(np.array([self.xy[k] for k in self.rows]).reshape(-1, 2))

    def take(self, i: int) -> None:
        self.free[i] = False
        self.left -= 1
        if self.left and 4 * 2 * self.left < len(self.rows):
            self._build()

    def nearest(self, pos: tuple[float, float]) -> tuple[int, bool]:
        """(stroke, reverse): the free end nearest ``pos``; reverse when it is the stroke's exit."""
        k = 8
        while True:
            k = min(k, len(self.rows))
            kd_dist, found = self.tree.query(pos, k=k)
            if k == 1:  # scalars
                kd_dist, found = np.array([kd_dist]), np.array([found])
            best = None  # (exact distance, is an exit, stroke): the brute-force walk's order of preference
            for dk, f in zip(kd_dist.tolist(), found.tolist()):
                # Ends come nearest first: once one lies beyond the best (by more than rounding),
                # nothing after it can tie or win.
                if best is not None and dk > best[0] + 1e-9 * (1.0 + best[0]):
                    return best[2], best[1]
                row = self.rows[f]
                stroke = row % self.n
                if self.free[stroke]:
                    key = (_dist(self.xy[row], pos), row >= self.n, stroke)
                    best = key if best is None or key < best else best
            if best is not None and k == len(self.rows):
                return best[2], best[1]
            k *= 4


def _improve(
    entry: np.ndarray,
    exit_: np.ndarray,
    seq: np.ndarray,
    flip: np.ndarray,
    start: np.ndarray | None,
    max_passes: int,
    report: _Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2-opt and Or-opt moves that join an end to one of its nearest ends, while any shortens the path.

    A pass looks at every end that a move touched in the pass before (the first pass, at all):
    far from any change, nothing new can be gained (don't-look bits).
    """
    route = _Route(entry, exit_, seq, flip, start)
    todo = route.path_ends()
    for pass_ in range(max_passes):
        touched: dict[int, None] = {}  # insertion-ordered set
        for a in todo:
            for e in route.improve_at(a):
                touched[e] = None
            if pass_ == 0 and report is not None:
                report.step()
        if not touched:
            break
        todo = list(touched)
    return np.array(route.seq), np.array(route.flip, dtype=bool)


class _Route:
    """Strokes in drawing order, changed in place by 2-opt and Or-opt moves.

    An *end* is a stroke end: 2*s is stroke s's first point, 2*s+1 its last, 2*n the start point
    (if given; it sits at position -1).  At each position a stroke is drawn from its *in* end to
    its *out* end (flipped: last point first).  ``hops[p+1]`` is the pen-up travel from position p's
    out end to the next in end (p = -1: from the start; 0 where there is no start or no next).
    """

    def __init__(self, entry: np.ndarray, exit_: np.ndarray, seq: np.ndarray, flip: np.ndarray, start: np.ndarray | None):
        self.n = n = len(seq)
        xy = np.empty((2 * n + (start is not None), 2))
        xy[0 : 2 * n : 2], xy[1 : 2 * n : 2] = entry, exit_
        if start is not None:
            xy[2 * n] = start
        self.xy = [tuple(v) for v in xy.tolist()]
        self.start = 2 * n if start is not None else None
        self.seq = [int(s) for s in seq]  # position -> stroke
        self.flip = [int(f) for f in flip]  # position -> 1 if drawn reversed
        self.pos = np.zeros(n, dtype=np.intp)  # stroke -> position
        self._renumber(0, n)
        self.hops = [self.d(self.out_end(p), self.in_end(p + 1)) for p in range(-1, n)]
        self.neighbours, self.neighbour_dist = _nearest_ends(xy, _NEIGHBOURS)

    def path_ends(self) -> list[int]:
        """Every end, in drawing order."""
        ends = [] if self.start is None else [self.start]
        for p in range(self.n):
            ends += [self.in_end(p), self.out_end(p)]
        return ends

    def in_end(self, p: int) -> int | None:
        """Where the pen goes down at position p (None past the last)."""
        return 2 * self.seq[p] + self.flip[p] if p < self.n else None

    def out_end(self, p: int) -> int | None:
        """Where the pen lifts at position p; at -1, the start (None if free)."""
        return 2 * self.seq[p] + 1 - self.flip[p] if p >= 0 else self.start

    def d(self, a: int | None, b: int | None) -> float:
        """Hop length between two ends; 0 where one is missing (the path's open ends)."""
        return 0.0 if a is None or b is None else _hop_length(self.xy[a], self.xy[b])

    def improve_at(self, a: int) -> list[int]:
        """Take the first move that joins end ``a`` to a near end and shortens the path; the ends it touched."""
        p, a_out = self.where(a)
        at_end = (p == self.n - 1) if a_out else (p == 0 and self.start is None)
        reach = math.inf if at_end else self.hops[p + 1 if a_out else p]  # a new hop must be shorter
        for c, dc in zip(self.neighbours[a], self.neighbour_dist[a]):
            if dc >= reach:
                break
            q, c_out = self.where(c)
            for move in _moves(p, a_out, q, c_out, self.n):
                touched = self.try_reverse(*move, dc) if len(move) == 3 else self.try_move(*move, dc)
                if touched:
                    return touched
        return []

    def where(self, e: int) -> tuple[int, bool]:
        """(position, is the out end) of end e."""
        if e == self.start:
            return -1, True
        p = self.pos.item(e >> 1)
        return p, (e & 1) != self.flip[p]

    def try_reverse(self, i: int, j: int, known_is_in: bool, known: float) -> list[int]:
        """2-opt: draw positions i..j backwards, if that shortens the path.

        The two new hops are before -> last and first -> after; one of them (the first if
        ``known_is_in``) is ``known`` long.
        """
        hops = self.hops
        before, after = self.out_end(i - 1), self.in_end(j + 1)
        first, last = self.in_end(i), self.out_end(j)
        if known_is_in:
            hop_in, hop_out = known, self.d(first, after)
        else:
            hop_in, hop_out = self.d(before, last), known
        if hops[i] + hops[j + 1] - hop_in - hop_out <= 1e-9:
            return []
        self.seq[i : j + 1] = self.seq[i : j + 1][::-1]
        self.flip[i : j + 1] = [1 - f for f in self.flip[j : i - 1 if i else None : -1]]
        hops[i + 1 : j + 1] = hops[i + 1 : j + 1][::-1]
        hops[i], hops[j + 1] = hop_in, hop_out
        self._renumber(i, j + 1)
        return [e for e in (before, first, last, after) if e is not None]

    def try_move(self, i: int, j: int, q: int, reverse: bool, known_is_in: bool, known: float) -> list[int]:
        """Or-opt: take positions i..j out and put them between q and q+1 (reversed if asked), if shorter.

        The new hops are before -> after (closing the hole), gap_out -> head and tail -> gap_in;
        one of the last two (the first if ``known_is_in``) is ``known`` long.
        """
        hops, seq, flip = self.hops, self.seq, self.flip
        removed = hops[i] + hops[j + 1] + hops[q + 1]
        # out_end(i - 1) and in_end(j + 1), written out: this is the innermost loop.
        before = 2 * seq[i - 1] + 1 - flip[i - 1] if i > 0 else self.start
        after = 2 * seq[j + 1] + flip[j + 1] if j + 1 < self.n else None
        closed = 0.0 if before is None or after is None else _hop_length(self.xy[before], self.xy[after])
        if removed - closed - known <= 1e-9:  # most moves fail here, before the third hop is measured
            return []
        first, last = self.in_end(i), self.out_end(j)
        gap_out, gap_in = self.out_end(q), self.in_end(q + 1)
        head, tail = (last, first) if reverse else (first, last)
        if known_is_in:
            hop_in, hop_out = known, self.d(tail, gap_in)
        else:
            hop_in, hop_out = self.d(gap_out, head), known
        if removed - closed - hop_in - hop_out <= 1e-9:
            return []
        run, run_flip, inside = self.seq[i : j + 1], self.flip[i : j + 1], hops[i + 1 : j + 1]
        if reverse:
            run, run_flip, inside = run[::-1], [1 - f for f in run_flip[::-1]], inside[::-1]
        if q > j:  # later: the strokes between move up
            lo, hi = i, q + 1
            self.seq[lo:hi] = self.seq[j + 1 : q + 1] + run
            self.flip[lo:hi] = self.flip[j + 1 : q + 1] + run_flip
            hops[i : q + 2] = [closed] + hops[j + 2 : q + 1] + [hop_in] + inside + [hop_out]
        else:  # earlier: they move down
            lo, hi = q + 1, j + 1
            self.seq[lo:hi] = run + self.seq[q + 1 : i]
            self.flip[lo:hi] = run_flip + self.flip[q + 1 : i]
            hops[q + 1 : j + 2] = [hop_in] + inside + [hop_out] + hops[q + 2 : i] + [closed]
        self._renumber(lo, hi)
        return [e for e in (before, first, last, after, gap_out, gap_in) if e is not None]

    def _renumber(self, lo: int, hi: int) -> None:
        """Positions lo..hi-1 changed strokes: tell the strokes (numpy: a move may span the whole path)."""
        self.pos[np.array(self.seq[lo:hi], dtype=np.intp)] = np.arange(lo, hi)


def _moves(p: int, p_out: bool, q: int, q_out: bool, n: int) -> list[tuple]:
    """Moves that make a pen-up hop between end a (at position p; its out end if p_out) and end c (q, q_out).

    Two out ends (or two in ends) meet by drawing what lies between them backwards (2-opt), and
    any two ends by bringing the run of 1.._MAX_RUN strokes that c ends next to a, reversed if
    needed (Or-opt).  (The runs that a ends are tried when c's turn comes.)  A move is (i, j,
    known_is_in) for 2-opt, (i, j, gap, reverse, known_is_in) for Or-opt, as
    :meth:`_Route.try_reverse` and :meth:`_Route.try_move` take them.
    """
    gap, reverse = (p if p_out else p - 1), p_out == q_out
    moves = [(min(p, q) + p_out, max(p, q) - (not p_out), p_out)] if reverse else []
    for run in range(_MAX_RUN):
        i, j = (q - run, q) if q_out else (q, q + run)
        if 0 <= i and j < n and not i - 1 <= gap <= j:
            moves.append((i, j, gap, reverse, p_out))
    return moves


def _nearest_ends(xy: np.ndarray, k: int) -> tuple[list[list[int]], list[list[float]]]:
    """For every end, its k nearest other ends (never its own stroke's other end), nearest first, and their distances."""
    from scipy.spatial import cKDTree

    count = len(xy)
    k = min(k, count - 2)
    dist, found = cKDTree(xy).query(xy, k=k + 2)  # (count, k+2): itself and its twin are among them
    twin = np.arange(count) ^ 1
    if count % 2:  # the start (last row) has no twin
        twin[-1] = -1
    other = (found != np.arange(count)[:, None]) & (found != twin[:, None])
    keep = np.argsort(~other, axis=1, kind="stable")[:, :k]  # the first k others, in distance order
    return np.take_along_axis(found, keep, 1).tolist(), np.take_along_axis(dist, keep, 1).tolist()


def _order_few(entry: list, exit_: list, start: list | None, max_passes: int) -> tuple[list[int], list[bool]]:
    """The greedy walk (the choices of :func:`_greedy`, step for step) then full 2-opt: every block
    reversal is tried, not only those near each end (a few strokes: n² is nothing)."""
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
