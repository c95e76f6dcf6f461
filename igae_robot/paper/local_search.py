"""Local improvement of a stroke order: 2-opt and Or-opt moves near each stroke end.

:func:`improve` takes the greedy walk of :func:`~igae_robot.paper.ordering.order` and applies
every move that shortens the pen-up travel, looking only at each end's nearest ends (a KD-tree),
so the work grows near n log n.  Its own module: the route bookkeeping is half of the ordering.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["improve"]

# Or-opt moves runs of up to this many strokes; each end looks at this many nearest ends.
_MAX_RUN = 3
_NEIGHBOURS = 10

# Pen-up hop length in the improvement passes: math.dist is C, and only the brute-force paths
# need the exact floats of polyline.distance.  (tests/test_ordering.py counts calls through this name.)
_hop_length = math.dist


def improve(
    entry: np.ndarray,
    exit_: np.ndarray,
    seq: np.ndarray,
    flip: np.ndarray,
    start: np.ndarray | None,
    max_passes: int,
    step: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2-opt and Or-opt moves that join an end to one of its nearest ends, while any shortens the path.

    entry, exit_ (n,2): each stroke's first and last point; seq (n,) strokes in drawing order,
    flip (n,) bool drawn reversed; start (2,) or None.  Returns the improved (seq, flip).
    A pass looks at every end that a move touched in the pass before (the first pass, at all):
    far from any change, nothing new can be gained (don't-look bits).  ``step()`` is called once
    per end looked at in the first pass (progress).
    """
    route = _Route(entry, exit_, seq, flip, start)
    todo = route.path_ends()
    for pass_ in range(max_passes):
        touched: dict[int, None] = {}  # insertion-ordered set
        for a in todo:
            for e in route.improve_at(a):
                touched[e] = None
            if pass_ == 0 and step is not None:
                step()
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
