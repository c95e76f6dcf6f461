"""paper/local_search.py: the 2-opt / Or-opt route keeps its bookkeeping true through the moves,
and makes the moves a plainly written search makes, one for one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from igae_robot.paper import local_search, ordering


@pytest.mark.parametrize("with_start", [False, True])
def test_route_bookkeeping_stays_true_through_the_moves(with_start):
    """After many 2-opt and Or-opt moves, the cached hops and positions still describe the route."""
    rng = np.random.default_rng(5)
    ends = rng.integers(0, 30, (2, 300, 2)).astype(float)  # ties and shared ends too
    start = np.array([3.0, 4.0]) if with_start else None
    seq, flip = ordering._greedy(ends[0], ends[1], start)
    route = local_search._Route(ends[0], ends[1], seq, flip, start)
    moves = sum(bool(route.improve_at(a)) for _ in range(3) for a in route.path_ends())
    assert moves > 20
    xy = route.xy
    hops = [0.0 if a is None or b is None else np.hypot(*np.subtract(xy[a], xy[b])) for a, b in
            ((route.out_end(p), route.in_end(p + 1)) for p in range(-1, route.n))]
    assert route.hops == pytest.approx(hops, abs=1e-9)
    assert sorted(route.seq) == list(range(300))
    assert [route.pos[s] for s in route.seq] == list(range(300))
    assert route.ins == [2 * s + f for s, f in zip(route.seq, route.flip)]


# ---- the reference: the search written plainly (positions looked up, moves listed, lists rebuilt).
# A hop keeps the length it had when the move that made it measured it (the tree's distance for
# the hop to the near end), as the route's cached hops do: the same floats, so the same choices.


def _moves(p: int, p_out: bool, q: int, q_out: bool, n: int) -> list[tuple]:
    """Moves that make a pen-up hop between end a (at position p; its out end if p_out) and end c (q, q_out):
    2-opt (i, j, known_is_in) when both are out ends or both in ends, then Or-opt (i, j, gap, reverse,
    known_is_in) of the runs of 1.._MAX_RUN strokes that c ends, put between gap and gap + 1."""
    gap, reverse = (p if p_out else p - 1), p_out == q_out
    moves = [(min(p, q) + p_out, max(p, q) - (not p_out), p_out)] if reverse else []
    for run in range(local_search._MAX_RUN):
        i, j = (q - run, q) if q_out else (q, q + run)
        if 0 <= i and j < n and not i - 1 <= gap <= j:
            moves.append((i, j, gap, reverse, p_out))
    return moves


class _PlainRoute:
    def __init__(self, entry, exit_, seq, flip, start):
        self.near = local_search.near_ends(entry, exit_, start)
        self.n = len(seq)
        self.start = 2 * self.n if start is not None else None
        self.route = [2 * int(s) + int(f) for s, f in zip(seq, flip)]  # the in end at each position
        self.length = {}  # frozenset of two ends -> the hop's length
        for p in range(-1, self.n):
            a, b = self.out_end(p), self.in_end(p + 1)
            if a is not None and b is not None:
                self.length[frozenset((a, b))] = math.dist(self.near.xy[a], self.near.xy[b])

    def in_end(self, p):
        return self.route[p] if p < self.n else None

    def out_end(self, p):
        return self.route[p] ^ 1 if p >= 0 else self.start

    def measure(self, a, b):
        return 0.0 if a is None or b is None else math.dist(self.near.xy[a], self.near.xy[b])

    def hop(self, p):
        """The hop into position p (from p - 1)."""
        a, b = self.out_end(p - 1), self.in_end(p)
        return 0.0 if a is None or b is None else self.length[frozenset((a, b))]

    def where(self, e):
        if e == self.start:
            return -1, True
        p = next(k for k, x in enumerate(self.route) if x >> 1 == e >> 1)
        return p, self.route[p] != e

    def remember(self, *hops):
        for a, b, length in hops:
            if a is not None and b is not None:
                self.length[frozenset((a, b))] = length

    def improve_at(self, a):
        p, a_out = self.where(a)
        at_end = (p == self.n - 1) if a_out else (p == 0 and self.start is None)
        reach = math.inf if at_end else self.hop(p + 1 if a_out else p)
        for c, dc in zip(self.near.neighbours[a], self.near.dist[a]):
            if dc >= reach:
                break
            q, c_out = self.where(c)
            for move in _moves(p, a_out, q, c_out, self.n):
                touched = self.two_opt(*move, dc) if len(move) == 3 else self.or_opt(*move, dc)
                if touched:
                    return touched
        return []

    def two_opt(self, i, j, known_is_in, known):
        before, after, first, last = self.out_end(i - 1), self.in_end(j + 1), self.in_end(i), self.out_end(j)
        hop_in, hop_out = (known, self.measure(first, after)) if known_is_in else (self.measure(before, last), known)
        if self.hop(i) + self.hop(j + 1) - hop_in - hop_out <= 1e-9:
            return []
        self.route[i : j + 1] = [e ^ 1 for e in reversed(self.route[i : j + 1])]
        self.remember((before, last, hop_in), (first, after, hop_out))
        return [e for e in (before, first, last, after) if e is not None]

    def or_opt(self, i, j, gap, reverse, known_is_in, known):
        removed = self.hop(i) + self.hop(j + 1) + self.hop(gap + 1)
        before, after = self.out_end(i - 1), self.in_end(j + 1)
        closed = self.measure(before, after)
        if removed - closed - known <= 1e-9:
            return []
        first, last = self.in_end(i), self.out_end(j)
        gap_out, gap_in = self.out_end(gap), self.in_end(gap + 1)
        head, tail = (last, first) if reverse else (first, last)
        hop_in, hop_out = (known, self.measure(tail, gap_in)) if known_is_in else (self.measure(gap_out, head), known)
        if removed - closed - hop_in - hop_out <= 1e-9:
            return []
        run = self.route[i : j + 1]
        if reverse:
            run = [e ^ 1 for e in reversed(run)]
        rest = self.route[:i] + self.route[j + 1 :]
        at = gap + 1 if gap < i else gap + 1 - len(run)
        self.route = rest[:at] + run + rest[at:]
        self.remember((before, after, closed), (gap_out, head, hop_in), (tail, gap_in, hop_out))
        return [e for e in (before, first, last, after, gap_out, gap_in) if e is not None]


def _plain_improve(entry, exit_, seq, flip, start, max_passes):
    route = _PlainRoute(entry, exit_, seq, flip, start)
    todo = ([] if route.start is None else [route.start]) + [e for i in route.route for e in (i, i ^ 1)]
    moves = 0
    for _ in range(max_passes):
        touched = {}
        for a in todo:
            found = route.improve_at(a)
            moves += bool(found)
            for e in found:
                touched[e] = None
        if not touched:
            break
        todo = list(touched)
    return [e >> 1 for e in route.route], [bool(e & 1) for e in route.route], moves


@pytest.mark.parametrize("layout", ["scattered", "grid-with-ties"])
@pytest.mark.parametrize("with_start", [False, True])
def test_improve_makes_the_moves_of_the_plainly_written_search(layout, with_start):
    """Move for move the plain search's choices (the same first improving move at every end, the
    same ends looked at next pass), on scattered ends and on a grid full of equal hops."""
    rng = np.random.default_rng(17 + with_start)
    total_moves = 0
    for trial in range(12):
        n = 20 + 13 * trial
        if layout == "scattered":
            ends = rng.uniform(0, 100, (2, n, 2))
        else:
            ends = rng.integers(0, 12, (2, n, 2)).astype(float)
        start = rng.uniform(0, 100, 2) if with_start else None
        seq, flip = ordering._greedy(ends[0], ends[1], start)
        got = local_search.improve(ends[0], ends[1], seq, flip, start, max_passes=50)
        plain_seq, plain_flip, moves = _plain_improve(ends[0], ends[1], seq, flip, start, max_passes=50)
        assert (got[0].tolist(), got[1].tolist()) == (plain_seq, plain_flip), trial
        total_moves += moves
    assert total_moves > 100  # the comparison saw many moves, not an unchanged walk


def test_improve_stops_after_max_passes_as_the_plain_search_does():
    rng = np.random.default_rng(4)
    ends = rng.uniform(0, 100, (2, 150, 2))
    seq, flip = ordering._greedy(ends[0], ends[1], None)
    for passes in (1, 2):
        got = local_search.improve(ends[0], ends[1], seq, flip, None, max_passes=passes)
        plain = _plain_improve(ends[0], ends[1], seq, flip, None, max_passes=passes)
        assert (got[0].tolist(), got[1].tolist()) == plain[:2]
