"""The pen habit learned from Omniglot's writers: which way a stroke runs, which stroke comes first."""

import numpy as np
import pytest

from igae_robot.images.pen_habit import PenHabit, direction_features, load_pen_habit, order_features

RNG = np.random.default_rng(4)


def _wiggly(n=30):
    return np.cumsum(RNG.normal(0, 1, (n, 2)), axis=0)


def test_direction_features_change_sign_with_the_stroke():
    strokes = [_wiggly(), _wiggly(12), np.array([[3.0, 4.0], [9.0, 4.0]])]
    forward = direction_features(strokes)
    backward = direction_features([s[::-1] for s in strokes])
    assert np.allclose(backward, -forward)
    assert np.abs(forward).max() > 0.1


def test_order_features_are_in_the_glyphs_own_box():
    a = [np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[0.0, 10.0], [10.0, 10.0]])]
    big = [s * 7 + 100 for s in a]
    assert np.allclose(order_features(a), order_features(big))
    assert np.allclose(order_features(a)[1], [0.0, 1.0, 0.5, 1.0])


def test_arrange_only_turns_and_reorders_strokes():
    strokes = [_wiggly() for _ in range(5)] + [np.array([[2.0, 2.0]])]
    arranged = PenHabit((0.3, -0.2, 1.0, 0.5, 0.1), (-1.0, -2.0, 0.0, 0.5)).arrange(strokes)
    assert len(arranged) == len(strokes)
    for s in strokes:
        assert sum(np.array_equal(s, t) or np.array_equal(s[::-1], t) for t in arranged) >= 1


def test_the_shipped_habit_draws_as_people_write():
    """Learned, not written in: a bar runs left to right, a stem top to bottom, the top stroke and the left one come first."""
    habit = load_pen_habit()
    bar, stem = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[5.0, 0.0], [5.0, 10.0]])
    drawn = habit.arrange([bar[::-1]])
    assert np.array_equal(drawn[0], bar)  # left to right
    drawn = habit.arrange([stem[::-1]])
    assert np.array_equal(drawn[0], stem)  # top to bottom
    top, bottom = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[0.0, 10.0], [10.0, 10.0]])
    assert np.array_equal(habit.arrange([bottom, top])[0], top)
    left, right = np.array([[0.0, 0.0], [0.0, 10.0]]), np.array([[10.0, 0.0], [10.0, 10.0]])
    assert np.array_equal(habit.arrange([right, left])[0], left)


def test_a_file_that_is_not_a_habit_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a pen habit"):
        load_pen_habit(path)
