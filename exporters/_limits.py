"""Checks every writer runs on what it is about to write, before a single line goes out.

A plotter or an arm executes what we write, so nothing is clipped or trusted: a value outside the
machine's range is an ExportError (one line naming the stroke, its glyph, the point and the value),
and the export writes nothing.  Each writer checks its own axes (X/Y/Z/S/F, arm poses and speeds);
these helpers are the parts they share.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import ExportError
from igae_robot.paper.geometry import Polyline
from igae_robot.units import format_number

__all__ = ["TOL", "check_polylines", "check_pen_values", "check_segment_speeds", "comment_text", "first_outside", "locate"]

TOL = 1e-6  # numbers rounded by the formatter may sit this far past a limit


def first_outside(values: np.ndarray, lo: float, hi: float) -> int | None:
    """Index of the first value outside [lo, hi] (with TOL), NaN included; None if all are inside."""
    with np.errstate(invalid="ignore"):
        bad = ~((values >= lo - TOL) & (values <= hi + TOL))
    return int(np.argmax(bad)) if bad.any() else None


def locate(polylines: Sequence[Polyline], row: int) -> tuple[int, int]:
    """(stroke, point) of row ``row`` of the polylines' points laid one after the other."""
    ends = np.cumsum([len(p) for p in polylines])
    k = int(np.searchsorted(ends, row, side="right"))
    return k, row - int(ends[k] - len(polylines[k]))


def check_polylines(polylines: Sequence[Polyline]) -> None:
    """Every point finite, every pressure in [0, 1]; ExportError naming the first that is not."""
    if not polylines:
        return
    points = np.concatenate([p.points for p in polylines])
    pressure = np.concatenate([p.pressure for p in polylines])
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        k, i = locate(polylines, int(np.argmax(bad)))
        x, y = polylines[k].points[i]
        raise ExportError(f"stroke {k} of glyph {polylines[k].glyph}, point {i}: position ({x:g}, {y:g}) mm is not finite")
    row = first_outside(pressure, 0.0, 1.0)
    if row is not None:
        k, i = locate(polylines, row)
        raise ExportError(
            f"stroke {k} of glyph {polylines[k].glyph}, point {i}: pressure {pressure[row]:g} is outside 0..1 "
            f"(pen width, pen depth and servo S follow it)"
        )


def check_pen_values(polylines: Sequence[Polyline], pen_values: Callable[[np.ndarray], np.ndarray], lo: float, hi: float,
                     says: Callable[[float], str]) -> None:
    """Every pen-down value the pressure turns into (S, Z, tip depth) within [lo, hi]; ExportError naming the
    first stroke, point and pressure that is not.  ``says(value)`` words the value and the range it left."""
    for k, poly in enumerate(polylines):
        values = pen_values(poly.pressure)
        i = first_outside(values, lo, hi)
        if i is not None:
            raise ExportError(
                f"stroke {k} of glyph {poly.glyph}, point {i}: pressure {poly.pressure[i]:g} {says(values[i])}; "
                "pressure must be in 0..1"
            )


def check_segment_speeds(speeds: Sequence[np.ndarray], polylines: Sequence[Polyline], lo: float, hi: float,
                         what: str, unit: str, machine: str) -> None:
    """Every segment's speed (one array per stroke, in ``unit``) within [lo, hi]; ExportError naming the first
    that is not.  ``what`` names the value and the profile key, e.g. ``"feed F"`` / ``"feed_mm_min"``."""
    for k, (v, poly) in enumerate(zip(speeds, polylines)):
        i = first_outside(v, lo, hi)
        if i is not None:
            raise ExportError(
                f"stroke {k} of glyph {poly.glyph}, segment {i}: {what} {v[i]:g}{unit} is outside "
                f"{format_number(lo)}..{format_number(hi)} of {machine!r}"
            )


def comment_text(text: str) -> str:
    """``text`` for a comment line, which must stay one line: a line break would end the comment and run the rest."""
    if not text.isprintable():
        raise ExportError(f"comment text {text!r} holds a control character (newline, tab...); refusing to write it")
    return text
