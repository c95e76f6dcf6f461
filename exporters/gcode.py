"""G-code for pen plotters (GRBL servo pen, GRBL/Marlin Z-lift, Marlin), and its reader.

Program shape (every profile)::

    ; comment header: machine, page, bounds, lengths, time estimate, igae metadata
    G21                      millimetres
    G90                      absolute coordinates
    [profile header lines] [home, with home=True]
    <pen up>
    ; igae stroke 0 glyph 3
    G0 X.. Y..               travel, always with the pen up
    <pen down at the first point's pressure>
    G1 X.. Y.. [S..|Z..] F.. pen-down moves; S (servo) or Z (z pen) follows pressure
    <pen up>
    ...
    G0 X0 Y0                 [return_to_origin]
    [profile footer lines]
    M2                       program end

Pen up/down: ``servo`` -> ``M5`` / ``M3 S<s>`` each followed by ``G4 P<dwell_s>``;
``z`` -> ``G0 Z<z_up>`` / ``G1 Z<z> F<plunge>``.  Feeds follow the gesture's step velocity
(:func:`igae_robot.paper.sheet.pen_speeds_mm_s`).  Every value is checked against the profile before
a single line is written: X/Y against the work area, Z against the Z range and, while the pen is
down, against the band from the paper to ``depth_mm`` below it; S against ``s_range``; F against
``feed_mm_min``.  A value outside is an ExportError naming stroke, glyph, point and value, never
clipped.  Header, home and footer lines were checked when the profile was built (see
:mod:`igae_robot.paper.machine`), and no comment can hold a line break.  Numbers are fixed-point
(RS274 rejects ``1e-5``); comments use ``;`` (Marlin does not read parentheses).
"""

from __future__ import annotations

import re
from typing import TextIO

import numpy as np

from igae_robot.errors import CheckError, ExportError
from igae_robot.paper.geometry import Polyline
from igae_robot.paper.machine import Machine, apply_affine, invert_affine
from igae_robot.paper.sheet import Sheet, pen_speeds_mm_s, plot_stats
from igae_robot.units import MM_DIGITS
from igae_robot.units import format_number as fmt

from ._limits import check_pen_values, check_polylines, check_segment_speeds, comment_text
from ._meta import Meta, parse_meta, sheet_meta_lines, stroke_line

__all__ = ["write_gcode", "read_gcode", "gcode_lines"]

_TOL_MM = 1e-6


def write_gcode(sheet: Sheet, stream: TextIO, machine: Machine, home: bool = False, return_to_origin: bool = True) -> None:
    """Write ``sheet`` as a G-code program for ``machine`` (a plotter profile)."""
    stream.write("\n".join(gcode_lines(sheet, machine, home, return_to_origin)) + "\n")


def gcode_lines(sheet: Sheet, machine: Machine, home: bool = False, return_to_origin: bool = True) -> list[str]:
    """The program as lines; raises ExportError (nothing written) for a move outside the work area."""
    if machine is None or machine.kind != "plotter":
        name = getattr(machine, "name", None)
        raise ExportError(f"G-code needs a plotter profile (--machine grbl-servo, grbl-z, marlin...), got {name!r}")
    transform = machine.page_transform(sheet.page)
    _check_pen(sheet.polylines, machine)
    check_polylines(sheet.polylines)
    strokes = [apply_affine(transform, p.points) for p in sheet.polylines]
    _check_bounds(strokes, sheet.polylines, machine)
    speeds = pen_speeds_mm_s(sheet.polylines, machine)
    _check_feeds(speeds, sheet.polylines, machine)
    lines = _header(sheet, machine, strokes, transform)
    lines += ["G21", "G90", *machine.header]
    if home and machine.home:
        lines.append(machine.home)
    lines += _pen_up(machine)
    feed = None
    for k, (poly, xy, v) in enumerate(zip(sheet.polylines, strokes, speeds)):
        lines.append("; " + stroke_line(k, poly.glyph))
        lines.append(f"G0 X{fmt(xy[0, 0], MM_DIGITS)} Y{fmt(xy[0, 1], MM_DIGITS)}")
        lines += _pen_down(machine, poly.pressure[0])
        if machine.pen == "z":
            feed = fmt(machine.plunge_mm_min, 1)  # the plunge set F; the first XY move must set it back
        pen_value = _pen_value(machine, poly.pressure[0])
        for i in range(1, len(poly)):
            words = [f"G1 X{fmt(xy[i, 0], MM_DIGITS)} Y{fmt(xy[i, 1], MM_DIGITS)}"]
            value = _pen_value(machine, poly.pressure[i])
            if value != pen_value:
                words.append(f"{'S' if machine.pen == 'servo' else 'Z'}{value}")
                pen_value = value
            f = fmt(v[i - 1] * 60.0, 1)
            if f != feed:
                words.append(f"F{f}")
                feed = f
            lines.append(" ".join(words))
        lines += _pen_up(machine)
    if return_to_origin:
        lines.append("G0 X0 Y0")
    return lines + [*machine.footer, "M2"]


def _pen_value(machine: Machine, pressure: float) -> str:
    """S (servo) or Z (z pen) text for a pressure in [0,1]."""
    return fmt(float(_pen_values(machine, np.array([pressure]))[0]), 3 if machine.pen == "servo" else MM_DIGITS)


def _pen_values(machine: Machine, pressure: np.ndarray) -> np.ndarray:
    """S (servo) or Z (z pen) of the pen while down, for pressure (N,) in [0,1]."""
    if machine.pen == "servo":
        lo, hi = machine.s_range
        return lo + (hi - lo) * pressure
    return machine.pen_z_mm(pressure)


def _pen_range(machine: Machine) -> tuple[str, float, float, str]:
    """(axis letter, lowest, highest, what the range is) of the pen-down S or Z values."""
    if machine.pen == "servo":
        return "S", *machine.s_range, "s_range"
    lo, hi = machine.z_down_mm - machine.depth_mm, machine.z_down_mm
    return "Z", lo, hi, "pen-down Z range (paper .. paper - depth_mm)"


def _check_pen(polylines, machine: Machine) -> None:
    """Every S or Z the pen gets while down lies in its range: a pressure of 1e9 would drive the pen through
    the table, a negative one leave it hovering over the paper (nothing drawn, silently)."""
    letter, lo, hi, what = _pen_range(machine)
    check_pen_values(polylines, lambda p: _pen_values(machine, p), lo, hi,
                     lambda v: f"would send {letter}{v:g}, outside the {what} {fmt(lo)}..{fmt(hi)} of {machine.name!r}")


def _check_feeds(speeds: list[np.ndarray], polylines, machine: Machine) -> None:
    feeds = [v * 60.0 for v in speeds]  # mm/s -> mm/min, as F is written
    check_segment_speeds(feeds, polylines, *machine.feed_mm_min, "feed F (feed_mm_min)", " mm/min", machine.name)


def _pen_down(machine: Machine, pressure: float) -> list[str]:
    if machine.pen == "servo":
        return [f"M3 S{_pen_value(machine, pressure)}", *_dwell(machine)]
    return [f"G1 Z{_pen_value(machine, pressure)} F{fmt(machine.plunge_mm_min, 1)}", *_dwell(machine)]


def _pen_up(machine: Machine) -> list[str]:
    return list(machine.pen_up_gcode())


def _dwell(machine: Machine) -> list[str]:
    return [f"G4 P{fmt(machine.dwell_s)}"] if machine.dwell_s > 0 else []


def _check_bounds(strokes: list[np.ndarray], polylines, machine: Machine) -> None:
    x0, y0, x1, y1 = machine.bounds_mm()
    for k, (xy, poly) in enumerate(zip(strokes, polylines)):
        inside = (xy[:, 0] >= x0 - _TOL_MM) & (xy[:, 0] <= x1 + _TOL_MM) & (xy[:, 1] >= y0 - _TOL_MM) & (xy[:, 1] <= y1 + _TOL_MM)
        outside = ~inside  # NaN is outside
        if outside.any():
            x, y = xy[int(np.argmax(outside))]
            raise ExportError(
                f"stroke {k} of glyph {poly.glyph} moves to X{_show(x)} Y{_show(y)}, outside the work area of "
                f"{machine.name!r} ({machine.describe_work_area()}); use a smaller page or cell, or another profile"
            )
    if machine.pen == "z":
        zs = [machine.z_up_mm, machine.z_down_mm, machine.z_down_mm - machine.depth_mm]
        lo, hi = machine.z_range_mm
        bad = [z for z in zs if not lo - _TOL_MM <= z <= hi + _TOL_MM]
        if bad:
            raise ExportError(f"pen Z {fmt(bad[0])} mm is outside the Z range {fmt(lo)}..{fmt(hi)} mm of {machine.name!r}")


def _show(x: float) -> str:
    """A number for a message: fixed point when finite (as written), else nan / inf."""
    return fmt(x, 2) if np.isfinite(x) and abs(x) < 1e15 else f"{x:g}"


def _header(sheet: Sheet, machine: Machine, strokes: list[np.ndarray], transform) -> list[str]:
    stats = plot_stats(sheet, machine)
    if strokes:
        pts = np.concatenate(strokes)
        (bx0, by0), (bx1, by1) = pts.min(axis=0), pts.max(axis=0)
        bounds = f"X{fmt(bx0, 2)}..{fmt(bx1, 2)} Y{fmt(by0, 2)}..{fmt(by1, 2)} mm"
    else:
        bounds = "empty"
    if machine.pen == "servo":
        pen = f"igae pen servo {fmt(machine.s_range[0], 6)} {fmt(machine.s_range[1], 6)}"
    else:
        pen = f"igae pen z {fmt(machine.z_up_mm, 6)} {fmt(machine.z_down_mm, 6)} {fmt(machine.depth_mm, 6)}"
    extra = [
        f"igae machine {machine.name}",
        "igae transform " + " ".join(fmt(v, 9) for v in transform),
        pen,
    ]
    comments = [
        f"igae G-code for {machine.name}" + (f": {machine.description}" if machine.description else ""),
        f"page {sheet.page.describe()}; work area {machine.describe_work_area()}",
        f"drawing bounds {bounds}",
        stats.describe(),
        *sheet_meta_lines(sheet, extra),
    ]
    return ["; " + _safe(c) for c in comments]


def _safe(text: str) -> str:
    """No parentheses in comments: some senders treat them as nested comments.  No line breaks: the rest would run."""
    return comment_text(text).replace("(", "[").replace(")", "]")


# ---- reader ----------------------------------------------------------------------------------

_WORD = re.compile(r"([A-Za-z])\s*([-+]?(?:\d+\.?\d*|\.\d+))")


def read_gcode(stream: TextIO, source: str = "gcode") -> Sheet:
    """Read a program written by :func:`write_gcode` back to a Sheet in page millimetres.

    Pen state comes from the ``igae pen`` line: servo -> down after M3 (S > 0), up after M5;
    z -> down while Z is below halfway between pen-up and paper.  Pressure is recovered from S or Z.
    """
    meta = Meta()
    text = stream.read()
    for raw in text.splitlines():
        if ";" in raw:
            parse_meta(raw.split(";", 1)[1], meta, source)
    pen = meta.fields.get("pen")
    if pen is None:
        raise CheckError(f"{source}: no 'igae pen' metadata line; only G-code written by igae export can be read back")
    transform = meta.numbers("transform") or [1, 0, 0, 0, 1, 0]
    to_page = invert_affine(tuple(transform))
    kind, values = pen[0], [float(v) for v in pen[1:]]
    polylines: list[Polyline] = []
    state = _State()
    glyph = -1
    for lineno, raw in enumerate(text.splitlines(), 1):
        code, _, comment = raw.partition(";")
        stroke_glyph = parse_meta(comment, Meta(), source)
        if stroke_glyph is not None:
            glyph = stroke_glyph
        code = re.sub(r"\([^)]*\)", "", code).strip().upper()
        if not code or code.startswith("$"):
            continue
        words = _WORD.findall(code)
        if not words or "".join(f"{a}{b}" for a, b in words).replace(" ", "") != code.replace(" ", ""):
            raise CheckError(f"{source}:{lineno}: cannot read G-code line {raw.strip()!r}")
        state.step(words, kind, values)
        if state.finished is not None:
            polylines.append(_polyline(state.finished, to_page, glyph))
            state.finished = None
    if state.current:
        polylines.append(_polyline(state.current, to_page, glyph))
    return meta.to_sheet(polylines, source)


class _State:
    """Modal state of the reader: position, feed, S, pen, and the stroke being drawn."""

    def __init__(self) -> None:
        self.x = self.y = 0.0
        self.z: float | None = None  # unknown until the program sets it: the pen counts as up
        self.s = 0.0
        self.feed = 1.0
        self.down = False
        self.current: list[tuple[float, float, float, float]] = []  # x, y, pressure, feed
        self.finished: list | None = None

    def step(self, words: list[tuple[str, str]], kind: str, values: list[float]) -> None:
        gs = [round(float(v)) for a, v in words if a == "G"]
        ms = [round(float(v)) for a, v in words if a == "M"]
        num = {a: float(v) for a, v in words if a not in "GM"}
        self.feed = num.get("F", self.feed)
        self.s = num.get("S", self.s)
        moved = any(k in num for k in "XYZ") and 4 not in gs
        self.x, self.y, self.z = num.get("X", self.x), num.get("Y", self.y), num.get("Z", self.z)
        was_down = self.down
        if kind == "servo":
            if 3 in ms or 4 in ms:
                self.down = self.s > 0
            if 5 in ms or 2 in ms or 30 in ms:
                self.down = False
        else:
            z_up, z_down = values[0], values[1]
            self.down = self.z is not None and self.z < (z_up + z_down) / 2
        pressure = self._pressure(kind, values)
        if self.down and not was_down:
            self.current = [(self.x, self.y, pressure, self.feed)]
        elif self.down and moved:
            self.current.append((self.x, self.y, pressure, self.feed))
        elif was_down and not self.down:
            self.finished, self.current = self.current, []

    def _pressure(self, kind: str, values: list[float]) -> float:
        if kind == "servo":
            lo, hi = values[0], values[1]
            return 0.0 if hi == lo else (self.s - lo) / (hi - lo)
        _, z_down, depth = values
        return 0.0 if depth == 0 or self.z is None else (z_down - self.z) / depth


def _polyline(points: list[tuple[float, float, float, float]], to_page, glyph: int) -> Polyline:
    arr = np.array(points)
    xy = apply_affine(to_page, arr[:, :2])
    seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg / (np.maximum(arr[1:, 3], 1e-9) / 60.0))])
    return Polyline(xy, np.clip(arr[:, 2], 0.0, 1.0), t, glyph)
