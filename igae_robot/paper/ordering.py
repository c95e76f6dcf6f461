"""The drawing order of strokes: which stroke next, and which way round, to cut pen-up travel.

:func:`order` is vpype ``linesort``'s greedy walk (a KD-tree over stroke ends) followed by local
improvement (:mod:`~igae_robot.paper.local_search`); a few strokes take an exact brute-force path.
Re-exported as ``geometry.order``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import GestureError
from igae_robot.paper.local_search import improve
from igae_robot.paper.polyline import Polyline, distance, travel_length

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
            seq, flip = improve(entry, exit_, seq, flip, begin, max_passes, report.step)
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
                    key = (distance(self.xy[row], pos), row >= self.n, stroke)
                    best = key if best is None or key < best else best
            if best is not None and k == len(self.rows):
                return best[2], best[1]
            k *= 4


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
