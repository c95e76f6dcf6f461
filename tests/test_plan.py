"""The pen's plan: odd nodes of many pieces paired with one shortest-path search, as if each piece were alone."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

import igae_robot.images.plan as plan
from igae_robot.images.trace import bridge_gaps, prune_spurs, stroke_graph, trace_strokes


def _page_of_letters(seed: int = 7) -> np.ndarray:
    """A small page of letter-like shapes (E, H, A, T, X, #: junctions and odd nodes to pair), one per cell."""
    shapes = [
        [[(2, 2), (16, 2)], [(2, 2), (2, 26)], [(2, 14), (12, 14)], [(2, 26), (16, 26)]],
        [[(2, 2), (2, 26)], [(16, 2), (16, 26)], [(2, 14), (16, 14)]],
        [[(2, 26), (9, 2), (16, 26)], [(5, 16), (13, 16)]],
        [[(2, 2), (16, 2)], [(9, 2), (9, 26)]],
        [[(2, 2), (16, 26)], [(16, 2), (2, 26)]],
        [[(6, 2), (6, 26)], [(12, 2), (12, 26)], [(2, 9), (16, 9)], [(2, 19), (16, 19)]],
    ]
    rng = np.random.default_rng(seed)
    im = Image.new("L", (240, 200), 0)
    d = ImageDraw.Draw(im)
    for row in range(5):
        for col in range(10):
            lines = shapes[rng.integers(len(shapes))]
            x0, y0 = 4 + 23 * col + rng.uniform(-1, 1), 4 + 38 * row + rng.uniform(-1, 1)
            for line in lines:
                d.line([(x0 + x, y0 + y) for x, y in line], fill=255, width=3)
    return np.asarray(im) > 127


def _graph(binary: np.ndarray, width: float = 3.0):
    return bridge_gaps(prune_spurs(stroke_graph(binary), width), 1.5 * width)


def test_one_search_pairs_odd_nodes_as_a_search_per_piece_does(monkeypatch):
    from scipy.sparse.csgraph import dijkstra

    calls = []
    monkeypatch.setattr(plan, "dijkstra", lambda *a, **k: calls.append(1) or dijkstra(*a, **k))
    graph = _graph(_page_of_letters())
    together = plan.plan_strokes(graph, max_retrace=40.0)
    assert len(calls) == 1
    monkeypatch.setattr(plan, "PAIRING_BATCH", 0)  # every piece searched on its own, as before the batches
    calls.clear()
    alone = plan.plan_strokes(graph, max_retrace=40.0)
    assert len(calls) == len(plan.split_pieces(graph)) == 50  # every letter has more than two odd nodes
    assert len(together) == len(alone)
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)


def test_a_piece_with_two_odd_nodes_is_one_stroke_without_a_search(monkeypatch):
    monkeypatch.setattr(plan, "dijkstra", lambda *a, **k: (_ for _ in ()).throw(AssertionError("searched")))
    im = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(im).line([(8, 8), (56, 8), (56, 56), (8, 56)], fill=255, width=5)  # a U: two ends
    assert len(trace_strokes(np.asarray(im) > 127, width=5.0)) == 1


def test_retracing_halves_the_pen_lifts_of_a_page_of_letters():
    graph = _graph(_page_of_letters())
    with_retrace = plan.plan_strokes(graph, max_retrace=40.0)
    without = plan.plan_strokes(graph, max_retrace=0.0)
    pieces = len(plan.split_pieces(graph))
    assert pieces <= len(with_retrace) < len(without)


def _line(start, end, points=6):
    return np.linspace(start, end, points)


def test_at_a_junction_the_pen_goes_on_straightest_whichever_way_a_line_is_stored():
    came = (1, 0, _line((-5.0, 0.0), (0.0, 0.0)))  # into node 0 heading +x
    turns = [(0, 3, _line((0.0, 0.0), (0.0, 5.0))), (4, 0, _line((0.0, -5.0), (0.0, 0.0)))]  # down; up, stored inwards
    back = (0, 5, _line((0.0, 0.0), (-5.0, 1.0)))
    for straight in [(0, 2, _line((0.0, 0.0), (5.0, 0.5))), (2, 0, _line((5.0, 0.5), (0.0, 0.0)))]:
        edges = [came, *turns, back, straight]
        assert plan._straightest(edges, 0, 0, [1, 2, 3, 4]) == 4
        assert plan._straightest(edges, 0, 0, [1, 2, 3]) in (1, 2)  # a right angle either way beats going back
    lift = (0, 6, None)
    assert plan._straightest([came, back, lift], 0, 0, [2, 1]) == 1  # a line, however sharp, before a lift
