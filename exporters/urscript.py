"""URScript for Universal Robots arms, and its reader.

One program ``def igae_draw(): ... end`` of linear moves in the base frame.  UR units: poses
``p[x, y, z, rx, ry, rz]`` in metres and an axis-angle rotation in radians (the profile's
``tool_rotation``, default pen pointing down), speeds ``v`` in m/s, accelerations ``a`` in m/s²,
blend radius ``r`` in metres::

    movel(p[...above first point...], a=0.5, v=0.2)           travel, pen up
    movel(p[...first point on paper...], a=0.5, v=0.05)       lower (z_speed_mm_s)
    movep(p[...], a=0.5, v=0.08, r=0.0005)                    draw: constant tool speed, blended
    movel(p[...last point...], a=0.5, v=0.08)                 stop exactly on the stroke's end
    movel(p[...above last point...], a=0.5, v=0.05)           lift

The blend radius is at most 40 % of the shorter neighbouring segment, so blends never overlap
(the controller stops with an error when they do).  Waypoints come from
:func:`~igae_robot.exporters.waypoints.arm_waypoints`, including its checks of reach, height and
speed; every move's ``v`` is checked again here.  Nothing from a profile enters the program but
numbers, and its name and description only inside ``#`` comments that cannot hold a line break.
"""

from __future__ import annotations

import re
from typing import TextIO

import numpy as np

from igae_robot.errors import CheckError, ExportError
from igae_robot.paper.machine import Machine, apply_affine, invert_affine
from igae_robot.paper.geometry import Polyline
from igae_robot.paper.sheet import Sheet
from igae_robot.units import MM_DIGITS
from igae_robot.units import format_number as fmt

from ._limits import comment_text, first_outside
from ._meta import Meta, parse_meta, sheet_meta_lines, stroke_line
from .waypoints import arm_waypoints

__all__ = ["write_urscript", "read_urscript"]


def write_urscript(sheet: Sheet, stream: TextIO, machine: Machine) -> None:
    """Write ``sheet`` as a URScript program for an arm profile."""
    if machine is None or machine.kind != "arm":
        raise ExportError(f"URScript needs an arm profile (--machine ur-table, arm-table...), got {getattr(machine, 'name', None)!r}")
    wp = arm_waypoints(sheet, machine)
    extra = [
        f"igae machine {machine.name}",
        "igae transform " + " ".join(fmt(v, 9) for v in machine.page_transform(sheet.page)),
        f"igae pen arm {fmt(machine.paper_origin_mm[2], 6)} {fmt(machine.z_up_mm, 6)} {fmt(machine.depth_mm, 6)}",
    ]
    lines = [comment_text(f"# igae URScript for {machine.name}" + (f": {machine.description}" if machine.description else ""))]
    lines += [f"# {comment_text(line)}" for line in sheet_meta_lines(sheet, extra)]
    lines.append("def igae_draw():")
    a = fmt(machine.accel_mm_s2 / 1000.0, 6)
    rot = ", ".join(fmt(v, 6) for v in machine.tool_rotation)
    xyz_m = wp.xyz_mm / 1000.0
    seg = np.linalg.norm(np.diff(wp.xyz_mm, axis=0), axis=1)  # mm, segment i ends at waypoint i+1
    _check_speeds(wp.speed_mm_s, wp, machine)
    for i in range(len(wp)):
        if i == 0 or wp.stroke[i] != wp.stroke[i - 1]:
            lines.append(f"  # {stroke_line(int(wp.stroke[i]), int(wp.glyph[i]))}")
        speed_mm_s = wp.speed_mm_s[i]
        pose = f"p[{', '.join(fmt(c, MM_DIGITS + 3) for c in xyz_m[i])}, {rot}]"
        v = fmt(speed_mm_s / 1000.0, 6)
        # Inside a stroke (down, with a down neighbour on both sides): blended movep.
        inner = wp.down[i] and i + 1 < len(wp) and wp.down[i + 1] and i > 0 and wp.down[i - 1]
        if inner:
            r_mm = min(machine.blend_mm, 0.4 * seg[i - 1], 0.4 * seg[i])
            lines.append(f"  movep({pose}, a={a}, v={v}, r={fmt(r_mm / 1000.0, 6)})")
        else:
            lines.append(f"  movel({pose}, a={a}, v={v})")
    if len(wp) == 0:
        lines.append("  textmsg(\"igae: nothing to draw\")")
    lines.append("end")
    stream.write("\n".join(lines) + "\n")


def _check_speeds(speeds: np.ndarray, wp, machine: Machine) -> None:
    """Every move's v is one of the profile's speeds: pen-down in speed_mm_s, travel, lowering / lifting."""
    lo = min(machine.speed_mm_s[0], machine.travel_speed_mm_s, machine.z_speed_mm_s)
    hi = max(machine.speed_mm_s[1], machine.travel_speed_mm_s, machine.z_speed_mm_s)
    i = first_outside(speeds, lo, hi)
    if i is not None:
        raise ExportError(
            f"move {i} (stroke {wp.stroke[i]} of glyph {wp.glyph[i]}) would run at {speeds[i]:g} mm/s, outside the "
            f"{fmt(lo)}..{fmt(hi)} mm/s of {machine.name!r}"
        )


_MOVE = re.compile(r"^\s*move([lp])\(\s*p\[([^\]]*)\]")
_SPEED = re.compile(r"\bv=([-+0-9.eE]+)")


def read_urscript(stream: TextIO, source: str = "script") -> Sheet:
    """Read a program written by :func:`write_urscript` back to a Sheet in page mm.

    The pen is down where z is below half the pen-up height over the paper; pressure comes back from
    depth, and t_s (seconds) from each move's length and speed ``v``, as the arm plays it.
    """
    meta = Meta()
    rows: list[tuple[float, float, float, int, float]] = []  # x mm, y mm, z mm, glyph, speed mm/s
    glyph, stroke = -1, -1
    strokes: list[int] = []
    for lineno, line in enumerate(stream.read().splitlines(), 1):
        code, _, comment = line.partition("#")
        g = parse_meta(comment, meta, source)
        if g is not None:
            glyph, stroke = g, stroke + 1
        match = _MOVE.match(code)
        if match:
            try:
                x, y, z = (float(v) * 1000.0 for v in match.group(2).split(",")[:3])
                speed = _SPEED.search(code)
                v_mm_s = float(speed.group(1)) * 1000.0 if speed else 0.0
            except ValueError:
                raise CheckError(f"{source}:{lineno}: cannot read pose in {line.strip()!r}") from None
            rows.append((x, y, z, glyph, v_mm_s))
            strokes.append(stroke)
    pen = meta.fields.get("pen", [])
    transform = meta.numbers("transform")
    if len(pen) != 4 or pen[0] != "arm" or transform is None:
        raise CheckError(f"{source}: no 'igae pen arm' / 'igae transform' metadata; only URScript written by igae export can be read back")
    paper_z, z_up, depth = (float(v) for v in pen[1:])
    to_page = invert_affine(tuple(transform))
    polylines, run = [], []
    for row, k in [*zip(rows, strokes), (None, None)]:
        down = row is not None and row[2] < paper_z + z_up / 2
        if down and (not run or run[-1][1] == k):
            run.append((row, k))
            continue
        if run:
            arr = np.array([r for r, _ in run])
            pressure = np.clip((paper_z - arr[:, 2]) / depth, 0.0, 1.0) if depth > 0 else np.zeros(len(arr))
            polylines.append(Polyline(apply_affine(to_page, arr[:, :2]), pressure, _move_times_s(arr), int(arr[0, 3])))
        run = [(row, k)] if down else []
    return meta.to_sheet(polylines, source)


def _move_times_s(arr: np.ndarray) -> np.ndarray:
    """Seconds at each pose of a pen-down run (the first: 0): every move's length over its speed.
    arr (N,5): x, y, z mm, glyph, speed mm/s of the move that reaches the pose (0: unknown, no time)."""
    step = np.linalg.norm(np.diff(arr[:, :3], axis=0), axis=1)  # (N-1,) mm
    speed = arr[1:, 4]
    return np.concatenate([[0.0], np.cumsum(np.where(speed > 0, step / np.where(speed > 0, speed, 1.0), 0.0))])
