"""Lengths and numbers at the edges: the machine side works in millimetres inside.

``to_mm("21cm")`` reads a length a user typed (like vpype's ``convert_length``);
``format_number`` is the one place a number becomes text in an exported file, so every
writer prints the same way and never in scientific notation (RS274 interpreters reject ``1e-5``);
``format_numbers`` / ``join_numbers`` are the same function over an array, for writers that print
thousands of points.
"""

from __future__ import annotations

import fractions
import math
import re

import numpy as np

from igae_robot.errors import PageError

__all__ = ["UNITS_MM", "MM_DIGITS", "to_mm", "format_number", "format_numbers", "join_numbers"]

# Decimals of a coordinate in mm in exported files: 0.1 um.  Rounding to 1 um already moves the
# edge of a 17 mm glyph by ~0.002 px, which flips the odd pixel sitting at the re-render check's
# 0.5 threshold; 0.1 um keeps the round trip at IoU >= 0.99 per glyph.
MM_DIGITS = 4

# Millimetres per unit.  "px" is the CSS pixel (1/96 in), as in SVG and vpype.
UNITS_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "pt": 25.4 / 72, "px": 25.4 / 96}

_LENGTH = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*([a-z]*)\s*$")


def to_mm(value: str | float, default_unit: str = "mm") -> float:
    """A length as millimetres: ``10`` / ``"10"`` (default unit), ``"2.5cm"``, ``"8.5in"``, ``"96px"``."""
    if isinstance(value, (int, float)):
        number, unit = float(value), default_unit
    else:
        match = _LENGTH.match(value.lower())
        if not match:
            raise PageError(f"cannot read length {value!r}; expected a number with an optional unit ({', '.join(UNITS_MM)})")
        number, unit = float(match.group(1)), match.group(2) or default_unit
    if unit not in UNITS_MM:
        raise PageError(f"unknown length unit {unit!r} in {value!r}; known: {', '.join(UNITS_MM)}")
    mm = number * UNITS_MM[unit]
    if not math.isfinite(mm):
        raise PageError(f"length {value!r} is not a finite number")
    return mm


def format_number(x: float, digits: int = 3) -> str:
    """Fixed-point text with at most ``digits`` decimals, trailing zeros dropped: 10.0 -> "10", -0.0004 -> "0".

    Never scientific notation; NaN/inf are a bug upstream and raise ValueError.
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot format non-finite number {x!r}")
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text



def format_numbers(values, digits: int = 3) -> list[str]:
    """``format_number`` of every value (any shape, flattened): the same strings, many times faster."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return join_numbers(v, digits, np.full(len(v), ord("\n"), np.uint8)).split("\n")[:-1]


def join_numbers(values, digits: int, separators: np.ndarray) -> str:
    """``format_number(values[i], digits)`` followed by ``chr(separators[i])`` (0: none), all joined.

    The text of thousands of numbers (every point of a sheet) in one pass of integer arithmetic in
    numpy: Python formats one float in about half a microsecond.  values (N,) any shape, flattened;
    separators (N,) uint8 ASCII codes.  Raises ValueError for NaN/inf, as ``format_number`` does.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    seps = np.asarray(separators, dtype=np.uint8).reshape(-1)
    if len(seps) != len(v):
        raise ValueError(f"join_numbers needs one separator per value, got {len(seps)} for {len(v)}")
    if not np.isfinite(v).all():
        raise ValueError(f"cannot format non-finite number {v[~np.isfinite(v)][0]!r}")
    scaled = v * 10.0**digits
    if len(v) == 0 or np.abs(scaled).max() >= 2.0**52:  # beyond exact float integers: one by one
        return "".join(format_number(x, digits) + (chr(c) if c else "") for x, c in zip(v.tolist(), seps.tolist()))
    units = np.abs(np.rint(scaled))  # the printed digits, as an integer in a float (exact below 2^52)
    # "%.{d}f" rounds the exact binary value; where the product lies within its rounding error of a
    # half (e.g. 0.03125 at 4 decimals), round that exact value instead.
    for i in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) <= np.abs(scaled) * 2.0**-50):
        units[i] = abs(round(fractions.Fraction(float(v[i])) * 10**digits))
    negative = (scaled < 0) & (units > 0)  # -0.00001 prints as "0", never "-0"
    return _fixed_point(units, negative, digits, seps)


# "0000" .. "9999" as ASCII codes, one column per number: digits are looked up four at a time.
_GROUPS = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8).T.copy()  # (4, 10000)


def _fixed_point(units: np.ndarray, negative: np.ndarray, digits: int, seps: np.ndarray) -> str:
    """Text of integers ``units`` (N,) (floats, exact) read as units * 10^-digits, trailing zeros dropped.

    One column of characters per number (sign, zero-padded digits, point, separator) and a mask of
    the characters to print; the columns are built row by row, each row one numpy operation.
    """
    n = len(units)
    groups = -(-max(len(str(int(units.max()))), digits + 1) // 4)  # ceil
    width = 4 * groups  # zero-padded digits of units; the decimals are the last ``digits``
    padded = np.empty((width, n), np.uint8)
    rest = units
    for k in range(groups - 1, -1, -1):
        high = np.floor(rest * 1e-4)
        np.take(_GROUPS, (rest - high * 1e4).astype(np.intp), axis=1, out=padded[4 * k : 4 * k + 4])
        rest = high
    point = width - digits
    whole = np.floor(units / 10.0**digits)  # exact: a division by a power of ten
    frac = units - whole * 10.0**digits
    int_place = 10.0 ** np.arange(point - 1, -1, -1)[:, None]  # (point,1): 100, 10, 1
    frac_place = 10.0 ** np.arange(digits, 0, -1)[:, None]  # (digits,1): a decimal is kept while frac % place != 0
    keep_int = whole >= int_place
    keep_int[-1] = True  # "0" has one digit
    keep_frac = np.floor(frac / frac_place) * frac_place != frac
    text = np.empty((width + 3, n), np.uint8)
    keep = np.empty((width + 3, n), bool)
    text[0], keep[0] = ord("-"), negative
    text[1 : point + 1], keep[1 : point + 1] = padded[:point], keep_int
    text[point + 1], keep[point + 1] = ord("."), frac != 0
    text[point + 2 : -1], keep[point + 2 : -1] = padded[point:], keep_frac
    text[-1], keep[-1] = seps, seps != 0
    return text.T[keep.T].tobytes().decode("ascii")  # number by number
