"""The drawing order of strokes: which stroke next, and which way round, to cut pen-up travel.

:func:`order` is vpype ``linesort``'s greedy walk (each end's nearest ends from a KD-tree, else
every free end measured) followed by local improvement (:mod:`~igae_robot.paper.local_search`,
which looks among the same nearest ends); a few strokes take an exact brute-force path.
Re-exported as ``geometry.order``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import GestureError
from igae_robot.paper.local_search import NearEnds, improve, near_ends
from igae_robot.paper.polyline import Polyline, distance

__all__ = ["order"]

# Up to this many strokes (a glyph, a few glyphs) greedy + full 2-opt runs on Python floats: the
# best answer local search finds, at a cost that only matters for thousands of strokes.
_FEW_STROKES = 16


def order(
    polylines: Sequence[Polyline],
    start: Sequence[float] | None = None,
    max_passes: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> list[Polyline]:
    """Reorder (and reverse) strokes to cut pen-up travel: greedy nearest neighbour, then local improvement.

    The greedy pass is vpype ``linesort``'s (start from the first stroke, or from ``start`` if
    given; always go to the nearest free end), found among the pen's end's nearest ends (a
    KD-tree, asked once) or else by measuring every free end.  Then, up to
    ``max_passes`` times, 2-opt (reverse a run of strokes) and Or-opt (move one to three strokes
    elsewhere, maybe reversed) are tried wherever a new pen-up hop would join an end to one of its
    nearest ends; every move taken shortens the path, so the result is never longer than the greedy
    one, and never longer than the order given (as linesort).  Near n log n: the 22 000 strokes of
    12 000 glyphs take under 3 s (benchmarks/ordering.py).  ``progress(done, total)`` is called
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
        near = near_ends(entry, exit_, begin)
        seq, flip = _greedy(entry, exit_, begin, report, near)
        if max_passes > 0:
            seq, flip = improve(entry, exit_, seq, flip, begin, max_passes, report.step, near)
    report.finish()
    seq, flip = np.asarray(seq, dtype=np.intp), np.asarray(flip, dtype=bool)
    first = np.where(flip[:, None], exit_[seq], entry[seq])  # where each stroke starts, as it will be drawn
    last = np.where(flip[:, None], entry[seq], exit_[seq])
    if _travel(entry, exit_, begin) < _travel(first, last, begin):  # as linesort: never worse than given
        return strokes
    return [strokes[i].reversed() if f else strokes[i] for i, f in zip(seq.tolist(), flip.tolist())]


def _travel(first: np.ndarray, last: np.ndarray, start: np.ndarray | None) -> float:
    """:func:`~igae_robot.paper.polyline.travel_length` of strokes drawn from first[k] to last[k]
    (n >= 1), summed as it sums (the same float), from their ends alone: the comparison with the
    order given no longer builds the reversed strokes first (0.6 -> 0.05 ms for 380 strokes)."""
    total = float(np.linalg.norm(first[1:] - last[:-1], axis=1).sum())
    if start is not None:
        total += float(np.linalg.norm(first[0] - start))
    return total


def _check_finite(entry: np.ndarray, exit_: np.ndarray, strokes: list[Polyline]) -> None:
    """Ordering measures between stroke ends; a NaN or infinite one has no place (and the KD-tree refuses it)."""
    bad = ~(np.isfinite(entry).all(axis=1) & np.isfinite(exit_).all(axis=1))
    if bad.any():
        k = int(np.argmax(bad))
        raise GestureError(
            f"glyph {strokes[k].glyph}: stroke {k} ends at {strokes[k].points[0].tolist()} .. "
            f"{strokes[k].points[-1].tolist()} mm, not finite; cannot order strokes"
        )



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



def _greedy(
    entry: np.ndarray, exit_: np.ndarray, start: np.ndarray | None, report: _Progress | None = None,
    near: NearEnds | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """linesort's greedy walk: to the nearest free end each time (an entry on ties, then the lowest index).

    ``near`` (:func:`~igae_robot.paper.local_search.near_ends` of the same strokes) settles most
    steps among the near ends of the end the pen is on, 9 in 10 on pages of text: there the walk
    takes 2 ms instead of 16 (381 strokes), and the local search needs those near ends anyway.
    """
    ends = _MeasuredEnds(entry, exit_) if len(entry) <= _MEASURE_ALL else _FreeEnds(entry, exit_)
    seq, flip = [], []
    if start is None:  # as linesort: keep the first stroke first, unflipped
        ends.take(0)
        seq.append(0)
        flip.append(False)
        pos, at = tuple(exit_[0].tolist()), 1  # at: the end the pen is on, numbered as in near
    else:
        pos, at = tuple(start.tolist()), 2 * len(entry)
    while ends.left:
        found = None if near is None else _nearest_listed(near, at, ends.free)
        i, reverse = found or ends.nearest(pos)
        ends.take(i)
        seq.append(i)
        flip.append(reverse)
        pos, at = ends.xy[i if reverse else i + ends.n], 2 * i + (not reverse)
        if report is not None:
            report.step()
    return np.array(seq), np.array(flip, dtype=bool)


def _nearest_listed(near: NearEnds, at: int, free: list[bool]) -> tuple[int, bool] | None:
    """(stroke, reverse): the free end nearest end ``at``, as the brute-force walk picks it, if
    ``at``'s near ends settle it; None when the list ends before it can tell."""
    pos, n = near.xy[at], len(free)
    best = None  # (exact distance, is an exit, stroke): the brute-force walk's order of preference
    for c, dc in zip(near.neighbours[at], near.dist[at]):
        # Nearest first: once one lies beyond the best (by more than rounding), none after it can tie or win.
        if best is not None and dc > best[0] + 1e-9 * (1.0 + best[0]):
            return best[2], best[1] == 1
        if c >> 1 < n and free[c >> 1]:  # (end 2n is the start point, no stroke's)
            key = (distance(near.xy[c], pos), c & 1, c >> 1)
            best = key if best is None or key < best else best
    return None


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
                    key = (distance(self.xy[row], pos), row >= self.n, stroke)
                    best = key if best is None or key < best else best
            if best is not None and k == len(self.rows):
                return best[2], best[1]
            k *= 4


# Up to this many strokes, a step of the greedy walk that the near ends leave open measures every
# free end with numpy: 8-10 us for 400-1000 strokes, where a KD-tree query costs 40 us; a whole
# walk of 4000 strokes so took 100 ms against 170 ms, and n² grows beyond.
_MEASURE_ALL = 4000


class _MeasuredEnds(_FreeEnds):
    """:class:`_FreeEnds` without a tree: the free ends' distances from the pen, all measured at
    each step as :func:`~igae_robot.paper.polyline.distance` measures one (the same floats).

    Columns keep the rows' order (every entry, then every exit, by stroke), so the first nearest
    column is the brute-force walk's choice.  A drawn stroke's columns move to x = inf, never
    nearest.  The columns are laid out when first measured, and again, without the drawn ones,
    when those make up three quarters (with near lists, few steps measure at all).
    """

    def _build(self) -> None:
        self.rows: list[int] | None = None  # no columns yet

    def _lay_out(self) -> None:
        self.rows = [k for k in range(2 * self.n) if self.free[k % self.n]]
        self.column = {row: c for c, row in enumerate(self.rows)}
        self.x, self.y = np.array([self.xy[k] for k in self.rows]).reshape(-1, 2).T.copy()
        self.dx, self.dy = np.empty_like(self.x), np.empty_like(self.y)

    def take(self, i: int) -> None:
        self.free[i] = False
        self.left -= 1
        if self.rows is not None:
            self.x[self.column[i]] = self.x[self.column[i + self.n]] = math.inf

    def nearest(self, pos: tuple[float, float]) -> tuple[int, bool]:
        if self.rows is None or 4 * 2 * self.left < len(self.rows):
            self._lay_out()
        dx, dy = self.dx, self.dy
        # sqrt(dx*dx + dy*dy), as distance(); x and y apart (a (2, n) - (2, 1) broadcast costs 3 us more)
        np.subtract(self.x, pos[0], out=dx)
        np.subtract(self.y, pos[1], out=dy)
        np.multiply(dx, dx, out=dx)
        np.multiply(dy, dy, out=dy)
        np.sqrt(np.add(dx, dy, out=dx), out=dx)
        row = self.rows[int(dx.argmin())]
        if not self.free[row % self.n]:  # every free end is an infinite distance away (huge numbers)
            row = min((k for k in self.rows if self.free[k % self.n]), key=lambda k: (distance(self.xy[k], pos), k))
        return row % self.n, row >= self.n


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
        i_entry = min(free, key=lambda i: distance(entry[i], pos))
        i_exit = min(free, key=lambda i: distance(exit_[i], pos))
        reverse = distance(exit_[i_exit], pos) < distance(entry[i_entry], pos)
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
                old = distance(e_out[j], nxt) if nxt is not None else 0.0
                new = distance(e_in[i], nxt) if nxt is not None else 0.0
                if prev is not None:
                    old, new = old + distance(e_in[i], prev), new + distance(e_out[j], prev)
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
