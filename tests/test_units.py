"""units.py: lengths with units to millimetres, and the one fixed-point number format."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from igae_robot.errors import PageError
from igae_robot.units import format_number, format_numbers, join_numbers, to_mm


@pytest.mark.parametrize(
    "text, mm", [("10", 10.0), ("2.5cm", 25.0), ("8.5in", 215.9), ("96px", 25.4), (" 3 mm ", 3.0), (7, 7.0), ("-1.5mm", -1.5)]
)
def test_to_mm(text, mm):
    assert to_mm(text) == pytest.approx(mm)


@pytest.mark.parametrize("text", ["ten", "5 furlongs", "", "1e999mm"])
def test_to_mm_rejects(text):
    with pytest.raises(PageError):
        to_mm(text)


@pytest.mark.parametrize(
    "x, text", [(10.0, "10"), (0.5, "0.5"), (-0.0004, "0"), (1e-5, "0"), (1234567.891, "1234567.891"), (2.0004, "2"), (-12.3456, "-12.346")]
)
def test_format_number_is_fixed_point(x, text):
    assert format_number(x) == text


def test_format_number_refuses_nan():
    with pytest.raises(ValueError):
        format_number(float("nan"))
    with pytest.raises(ValueError):
        format_numbers([1.0, float("inf")])


# Values where the vectorised formatter must fall back or round exactly: halves at the last decimal
# (0.03125 is exactly representable: "%.4f" rounds it to even), -0, tiny negatives, carries.
EDGES = [0.0, -0.0, 5e-324, -1e-20, 0.5, -0.5, 2.5, 0.03125, -0.03125, 9999.99999, 99999.5, 1e4, 0.1, 1234567.891, 2.0**53, -3e17]


@pytest.mark.parametrize("digits", [0, 1, 3, 4, 6, 9])
def test_format_numbers_is_format_number(digits):
    rng = np.random.default_rng(digits)
    x = np.concatenate([EDGES, rng.normal(0, 30, 500), rng.normal(0, 1e9, 100), (rng.integers(-9999, 9999, 200) + 0.5) / 10**digits])
    assert format_numbers(x, digits) == [format_number(v, digits) for v in x]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e16, max_value=1e16), max_size=40),
       st.integers(0, 9))
def test_format_numbers_property(values, digits):
    assert format_numbers(values, digits) == [format_number(v, digits) for v in values]


def test_join_numbers_puts_each_separator_after_its_number():
    seps = np.array([ord(","), ord(" "), ord(","), 0], np.uint8)
    assert join_numbers([1.0, -2.25, 0.00001, 10.0], 4, seps) == "1,-2.25 0,10"
    assert join_numbers([], 3, np.zeros(0, np.uint8)) == "" and format_numbers(np.zeros((0, 2))) == []
