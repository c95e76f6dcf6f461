"""Local improvement of a stroke order: 2-opt and Or-opt moves near each stroke end.

:func:`improve` takes the greedy walk of :func:`~igae_robot.paper.ordering.order` and applies
every move that shortens the pen-up travel, looking only at each end's nearest ends (a KD-tree),
so the work grows near n log n.  Its own module: the route bookkeeping is half of the ordering.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["improve", "near_ends", "NearEnds"]

# Or-opt moves runs of up to this many strokes; each end looks at this many nearest ends.
_MAX_RUN = 3
_NEIGHBOURS = 10

# Pen-up hop length in the improvement passes: math.dist is C, and only the brute-force paths
# need the exact floats of polyline.distance.  (tests/test_ordering.py counts calls through this name.)
_hop_length = math.dist


class NearEnds(NamedTuple):
    """Every stroke end's nearest other ends, found once (a KD-tree): the local search looks there,
    and so does the greedy walk of :mod:`~igae_robot.paper.ordering` before it.

    Ends are numbered as in :class:`_Route`: 2*s is stroke s's first point, 2*s+1 its last,
    2*n the start point (if given).
    """

    xy: list[tuple[float, float]]  # end -> its point
    neighbours: list[list[int]]  # end -> up to _NEIGHBOURS other ends (never its own stroke's other end), nearest first
    dist: list[list[float]]  # their distances, as the tree measures them


def near_ends(entry: np.ndarray, exit_: np.ndarray, start: np.ndarray | None) -> NearEnds:
    """:class:`NearEnds` of strokes with these first (entry) and last (exit_) points (n,2), and the start point."""
    n = len(entry)
    xy = np.empty((2 * n + (start is not None), 2))
    xy[0 : 2 * n : 2], xy[1 : 2 * n : 2] = entry, exit_
    if start is not None:
        xy[2 * n] = start
    return NearEnds([tuple(v) for v in xy.tolist()], *_nearest_ends(xy, _NEIGHBOURS))


def improve(
    entry: np.ndarray,
    exit_: np.ndarray,
    seq: np.ndarray,
    flip: np.ndarray,
    start: np.ndarray | None,
    max_passes: int,
    step: Callable[[], None] | None = None,
    near: NearEnds | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2-opt and Or-opt moves that join an end to one of its nearest ends, while any shortens the path.

    entry, exit_ (n,2): each stroke's first and last point; seq (n,) strokes in drawing order,
    flip (n,) bool drawn reversed; start (2,) or None.  Returns the improved (seq, flip).
    A pass looks at every end that a move touched in the pass before (the first pass, at all):
    far from any change, nothing new can be gained (don't-look bits).  ``step()`` is called once
    per end looked at in the first pass (progress).  ``near``: :func:`near_ends` of the same
    strokes, if already found.
    """
    route = _Route(entry, exit_, seq, flip, start, near)
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
    ins = np.array(route.ins, dtype=np.intp)
    return ins >> 1, (ins & 1).astype(bool)


class _Route:
    """Strokes in drawing order, changed in place by 2-opt and Or-opt moves.

    An *end* is a stroke end: 2*s is stroke s's first point, 2*s+1 its last, 2*n the start point
    (if given; it sits at position -1).  At each position a stroke is drawn from its *in* end to
    its *out* end, ``in ^ 1`` (flipped: last point first, in = 2*s+1).  ``ins[p]`` is the in end
    at position p; ``hops[p+1]`` the pen-up travel from position p's out end to the next in end
    (p = -1: from the start; 0 where there is no start or no next).

    The moves are tried written out on these lists, not as a list of candidate moves each tried
    by a method call: the passes on a page of text (381 strokes) take 9 ms instead of 17.
    """

    def __init__(
        self, entry: np.ndarray, exit_: np.ndarray, seq: np.ndarray, flip: np.ndarray, start: np.ndarray | None,
        near: NearEnds | None = None,
    ):
        self.n = n = len(seq)
        self.xy, self.neighbours, self.neighbour_dist = near or near_ends(entry, exit_, start)
        self.start = 2 * n if start is not None else None
        self.ins = (2 * np.asarray(seq, dtype=np.intp) + np.asarray(flip, dtype=bool)).tolist()  # position -> in end
        self.pos = [0] * n  # stroke -> position
        self._renumber(0, n)
        self.hops = [self.d(self.out_end(p), self.in_end(p + 1)) for p in range(-1, n)]

    @property
    def seq(self) -> list[int]:
        """Position -> stroke."""
        return [e >> 1 for e in self.ins]

    @property
    def flip(self) -> list[int]:
        """Position -> 1 if drawn reversed."""
        return [e & 1 for e in self.ins]

    def path_ends(self) -> list[int]:
        """Every end, in drawing order."""
        ends = [] if self.start is None else [self.start]
        for e in self.ins:
            ends += [e, e ^ 1]
        return ends

    def in_end(self, p: int) -> int | None:
        """Where the pen goes down at position p (None past the last)."""
        return self.ins[p] if p < self.n else None

    def out_end(self, p: int) -> int | None:
        """Where the pen lifts at position p; at -1, the start (None if free)."""
        return self.ins[p] ^ 1 if p >= 0 else self.start

    def d(self, a: int | None, b: int | None) -> float:
        """Hop length between two ends; 0 where one is missing (the path's open ends)."""
        return 0.0 if a is None or b is None else _hop_length(self.xy[a], self.xy[b])

    def where(self, e: int) -> tuple[int, bool]:
        """(position, is the out end) of end e."""
        if e == self.start:
            return -1, True
        p = self.pos[e >> 1]
        return p, self.ins[p] != e

    def improve_at(self, a: int) -> list[int]:
        """Take the first move that joins end ``a`` to a near end and shortens the path; the ends it touched.

        The near ends c are tried nearest first.  Two out ends (or two in ends) meet by drawing
        what lies between them backwards (2-opt, tried first), and any two ends by bringing the
        run of 1.._MAX_RUN strokes that c ends next to a, reversed if needed (Or-opt, shortest
        run first).  (The runs that a ends are tried when c's turn comes.)
        """
        ins, pos, start, n = self.ins, self.pos, self.start, self.n
        p, a_out = self.where(a)
        # gap: where an Or-opt run would go (between gap and gap + 1); partner: across a's hop (None: no hop)
        if a_out:
            gap, partner = p, ins[p + 1] if p + 1 < n else None
        else:
            gap, partner = p - 1, ins[p - 1] ^ 1 if p > 0 else start
        reach = self.hops[gap + 1] if partner is not None else math.inf  # a new hop must be shorter
        partner_xy = self.xy[partner] if partner is not None else None
        for c, dc in zip(self.neighbours[a], self.neighbour_dist[a]):
            if dc >= reach:
                break
            if c == start:
                q, c_out = -1, True
            else:  # where(c), written out: this is the inner loop
                q = pos[c >> 1]
                c_out = ins[q] != c
            if a_out == c_out:  # 2-opt: what lies between a and c, drawn backwards
                i, j = (p + a_out, q - (not a_out)) if p < q else (q + a_out, p - (not a_out))
                touched = self.try_reverse(i, j, a_out, dc)
                if touched:
                    return touched
            if q >= 0:
                runs = self.try_runs_ending if c_out else self.try_runs_starting
                touched = runs(q, gap, partner_xy, a_out, dc)
                if touched:
                    return touched
        return []

    def try_reverse(self, i: int, j: int, known_is_in: bool, known: float) -> list[int]:
        """2-opt: draw positions i..j backwards, if that shortens the path.

        The two new hops are before -> last and first -> after; one of them (the first if
        ``known_is_in``) is ``known`` long.
        """
        ins, hops, xy = self.ins, self.hops, self.xy
        before = ins[i - 1] ^ 1 if i > 0 else self.start
        after = ins[j + 1] if j + 1 < self.n else None
        first, last = ins[i], ins[j] ^ 1
        if known_is_in:
            hop_in, hop_out = known, 0.0 if after is None else _hop_length(xy[first], xy[after])
        else:
            hop_in, hop_out = 0.0 if before is None else _hop_length(xy[before], xy[last]), known
        if hops[i] + hops[j + 1] - hop_in - hop_out <= 1e-9:
            return []
        ins[i : j + 1] = [e ^ 1 for e in ins[j : i - 1 if i else None : -1]]
        hops[i + 1 : j + 1] = hops[i + 1 : j + 1][::-1]
        hops[i], hops[j + 1] = hop_in, hop_out
        self._renumber(i, j + 1)
        return [e for e in (before, first, last, after) if e is not None]

    def try_runs_ending(self, q: int, gap: int, partner_xy: tuple | None, known_is_in: bool, known: float) -> list[int]:
        """Or-opt of the runs i..q (1.._MAX_RUN strokes, shortest first) whose out end c comes next
        to a, ``known`` away (the hop in if ``known_is_in``), between gap and gap + 1: the first
        that shortens the path.  The run's far end (at i) meets a's old partner, at ``partner_xy``."""
        ins, hops, xy, start = self.ins, self.hops, self.xy, self.start
        after_xy = xy[ins[q + 1]] if q + 1 < self.n else None
        at_after, at_gap = hops[q + 1], hops[gap + 1]
        lowest = q - _MAX_RUN + 1 if q >= _MAX_RUN - 1 else 0
        if lowest - 2 < gap <= q:  # a run never holds the gap
            lowest = gap + 2
        for i in range(q, lowest - 1, -1):
            before = ins[i - 1] ^ 1 if i > 0 else start
            closed = 0.0 if before is None or after_xy is None else _hop_length(xy[before], after_xy)
            saved = hops[i] + at_after + at_gap - closed  # the three hops that go, less the one closing the hole
            if saved - known <= 1e-9:  # half the runs fail here, before the fourth hop is measured
                continue
            hop_far = 0.0 if partner_xy is None else _hop_length(xy[ins[i]], partner_xy)
            if (saved - known - hop_far if known_is_in else saved - hop_far - known) > 1e-9:
                hop_in, hop_out = (known, hop_far) if known_is_in else (hop_far, known)
                return self.move(i, q, gap, known_is_in, hop_in, hop_out, closed)
        return []

    def try_runs_starting(self, q: int, gap: int, partner_xy: tuple | None, known_is_in: bool, known: float) -> list[int]:
        """:meth:`try_runs_ending` for the runs q..j whose in end c comes next to a; the far end is at j."""
        ins, hops, xy, n = self.ins, self.hops, self.xy, self.n
        before = ins[q - 1] ^ 1 if q > 0 else self.start
        before_xy = xy[before] if before is not None else None
        at_before, at_gap = hops[q], hops[gap + 1]
        highest = q + _MAX_RUN - 1 if q + _MAX_RUN <= n else n - 1
        if q - 1 <= gap <= highest:  # a run never holds the gap
            highest = gap - 1
        for j in range(q, highest + 1):
            closed = 0.0 if before_xy is None or j + 1 == n else _hop_length(before_xy, xy[ins[j + 1]])
            saved = at_before + hops[j + 1] + at_gap - closed
            if saved - known <= 1e-9:
                continue
            hop_far = 0.0 if partner_xy is None else _hop_length(xy[ins[j] ^ 1], partner_xy)
            if (saved - known - hop_far if known_is_in else saved - hop_far - known) > 1e-9:
                hop_in, hop_out = (known, hop_far) if known_is_in else (hop_far, known)
                return self.move(q, j, gap, not known_is_in, hop_in, hop_out, closed)
        return []

    def move(self, i: int, j: int, q: int, reverse: bool, hop_in: float, hop_out: float, closed: float) -> list[int]:
        """Or-opt: take positions i..j out and put them between q and q+1 (reversed if asked).

        The new hops: ``closed`` (closing the hole, before -> after), ``hop_in`` (gap_out -> the
        run's head) and ``hop_out`` (its tail -> gap_in).  Returns the ends touched.
        """
        ins, hops = self.ins, self.hops
        touched = [self.out_end(i - 1), ins[i], ins[j] ^ 1, self.in_end(j + 1), self.out_end(q), self.in_end(q + 1)]
        run, inside = ins[i : j + 1], hops[i + 1 : j + 1]
        if reverse:
            run, inside = [e ^ 1 for e in run[::-1]], inside[::-1]
        if q > j:  # later: the strokes between move up
            lo, hi = i, q + 1
            ins[lo:hi] = ins[j + 1 : q + 1] + run
            hops[i : q + 2] = [closed] + hops[j + 2 : q + 1] + [hop_in] + inside + [hop_out]
        else:  # earlier: they move down
            lo, hi = q + 1, j + 1
            ins[lo:hi] = run + ins[q + 1 : i]
            hops[q + 1 : j + 2] = [hop_in] + inside + [hop_out] + hops[q + 2 : i] + [closed]
        self._renumber(lo, hi)
        return [e for e in touched if e is not None]

    def _renumber(self, lo: int, hi: int) -> None:
        """Positions lo..hi-1 changed strokes: tell the strokes.  A list, read for every end looked
        at, and written in a plain loop: 55 ns a stroke, where map through pos.__setitem__ took
        120 (a move may span the whole path: 30 000 strokes renumbered on an A4 page)."""
        pos = self.pos
        for p, e in enumerate(self.ins[lo:hi], lo):
            pos[e >> 1] = p


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
