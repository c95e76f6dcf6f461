"""paper/polyline.py: the stroke type and its measures, hand-computed, with an EMPTY case."""

from __future__ import annotations

from fixtures_machine import polyline as make_polyline

from igae_robot.paper import polyline

A = make_polyline([[0, 0], [10, 0]])
B = make_polyline([[10, 0], [10, 10]])
C = make_polyline([[30, 0], [20, 0]])


def test_distance_is_euclidean():
    assert polyline.distance((0.0, 0.0), (3.0, 4.0)) == 5.0


def test_length_travel_bounds():
    assert polyline.length([A, B]) == 20.0
    assert polyline.travel_length([A, C]) == 20.0  # (10,0) -> (30,0)
    assert polyline.travel_length([A, C], start=(0, 5)) == 25.0
    assert polyline.bounds([A, C]) == (0.0, 0.0, 30.0, 0.0)


def test_empty_measures():
    assert polyline.length([]) == 0.0
    assert polyline.travel_length([]) == 0.0
    assert polyline.bounds([]) is None
