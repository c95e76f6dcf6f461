"""Lengths and numbers at the edges: the machine side works in millimetres inside.

``to_mm("21cm")`` reads a length a user typed (like vpype's ``convert_length``);
``format_number`` is the one place a number becomes text in an exported file, so every
writer prints the same way and never in scientific notation (RS274 interpreters reject ``1e-5``).
"""

from __future__ import annotations

import math
import re

from .errors import PageError

__all__ = ["UNITS_MM", "MM_DIGITS", "to_mm", "format_number"]

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
