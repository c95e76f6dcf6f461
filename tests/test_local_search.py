"""paper/local_search.py: the 2-opt / Or-opt route keeps its bookkeeping true through the moves."""

from __future__ import annotations

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
