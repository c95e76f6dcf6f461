"""Robot-arm waypoints: JSON (schema ``igae-waypoints`` version 1) and CSV, and their readers.

Every waypoint is a pose of the pen tip in the **robot base frame** (x, y on the table, z up), in
millimetres, with a time stamp in seconds.  The page lies on the table as the machine profile
says (``paper_origin_mm``: the page's top-left corner; ``paper_rotation_deg``).  For each stroke
the arm goes above its first point (pen ``up``, ``z_up_mm`` over the paper), down onto the paper,
along the stroke (pen ``down``, z = paper - pressure x ``depth_mm``), and up again.

Before anything is written every pose is checked: inside the ``reach_mm`` annulus, z between
``depth_mm`` below the paper and ``z_up_mm`` above it (a pressure outside 0..1 is refused by name),
pen-down speeds inside ``speed_mm_s``; an ExportError names stroke, glyph, point and value.

Time stamps: pen-down segments at the gesture's step velocity mapped into the profile's
``speed_mm_s`` range; pen-up travel at ``travel_speed_mm_s``; lowering and lifting at ``z_speed_mm_s``.

JSON schema ``igae-waypoints`` version 1 (all lengths mm, times s)::

    {
      "schema": "igae-waypoints", "version": 1,
      "units": {"length": "mm", "time": "s"},
      "frame": "robot base: x, y on the table, z up",
      "machine": "arm-table",
      "page": {"width_mm": 210, "height_mm": 297, "margin_mm": 10, "name": "A4"},
      "page_to_base": [a, b, c, d, e, f],        # x = a*px + b*py + c, y = d*px + e*py + f
      "paper_z_mm": 0, "z_up_mm": 15, "depth_mm": 1,
      "pen_threshold": [0.5, 0.35],
      "glyphs": [{"glyph": 0, "label": 3, "row": 0, "col": 0, "scale_mm": 19.5, "x_mm": 10, "y_mm": 10}],
      "columns": ["t_s", "x_mm", "y_mm", "z_mm", "pen", "pressure", "stroke", "glyph"],
      "waypoints": [[0, 260, 140, 15, "up", 0, 0, 3], ...]
    }

A reader must reject a ``version`` it does not know; new optional keys do not bump the version.
The CSV has the same columns, preceded by ``# igae ...`` metadata lines.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from igae_robot.errors import CheckError, ExportError
from igae_robot.gesture import release_level
from igae_robot.paper.geometry import Polyline
from igae_robot.paper.layout import Placement
from igae_robot.paper.machine import Machine, apply_affine, invert_affine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet, pen_speeds_mm_s
from igae_robot.units import MM_DIGITS
from igae_robot.units import format_number as fmt

from ._limits import TOL, check_pen_values, check_polylines, check_segment_speeds, comment_text
from ._meta import Meta, parse_meta, sheet_meta_lines

__all__ = ["Waypoints", "arm_waypoints", "write_waypoints_json", "write_waypoints_csv", "read_waypoints_json", "read_waypoints_csv", "SCHEMA", "SCHEMA_VERSION", "COLUMNS"]

SCHEMA = "igae-waypoints"
SCHEMA_VERSION = 1
COLUMNS = ("t_s", "x_mm", "y_mm", "z_mm", "pen", "pressure", "stroke", "glyph")


@dataclass(frozen=True, eq=False)
class Waypoints:
    """M poses: t_s (M,), xyz_mm (M,3) base frame, down (M,) bool, pressure (M,), stroke (M,), glyph (M,),
    and speed_mm_s (M,): the tool speed of the move that reaches each pose (the first: travel speed)."""

    t_s: np.ndarray
    xyz_mm: np.ndarray
    down: np.ndarray
    pressure: np.ndarray
    stroke: np.ndarray
    glyph: np.ndarray
    speed_mm_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.t_s)


def arm_waypoints(sheet: Sheet, machine: Machine) -> Waypoints:
    """The arm program for ``sheet``; raises ExportError naming the first waypoint out of reach."""
    if machine is None or machine.kind != "arm":
        raise ExportError(
            f"waypoints need an arm profile (--machine arm-table, ur-table...), got {getattr(machine, 'name', None)!r}"
        )
    transform = machine.page_transform(sheet.page)
    paper_z = machine.paper_origin_mm[2]
    _check_depth(sheet.polylines, machine)
    check_polylines(sheet.polylines)
    speeds = pen_speeds_mm_s(sheet.polylines, machine)
    _check_speeds(speeds, sheet.polylines, machine)
    rows: list[tuple] = []  # (x, y, z, down, pressure, stroke, glyph, speed to reach it)
    for k, (poly, v) in enumerate(zip(sheet.polylines, speeds)):
        xy = apply_affine(transform, poly.points)
        z = paper_z + machine.pen_z_mm(poly.pressure)
        up_z = paper_z + machine.z_up_mm
        rows.append((*xy[0], up_z, False, 0.0, k, poly.glyph, machine.travel_speed_mm_s))
        rows.append((*xy[0], z[0], True, poly.pressure[0], k, poly.glyph, machine.z_speed_mm_s))
        for i in range(1, len(poly)):
            rows.append((*xy[i], z[i], True, poly.pressure[i], k, poly.glyph, v[i - 1]))
        rows.append((*xy[-1], up_z, False, 0.0, k, poly.glyph, machine.z_speed_mm_s))
    if not rows:
        empty = np.zeros(0)
        return Waypoints(empty, np.zeros((0, 3)), empty.astype(bool), empty, empty.astype(int), empty.astype(int), empty)
    arr = np.array([r[:3] for r in rows], dtype=np.float64)
    _check_reach(arr, rows, machine)
    speed = np.array([machine.travel_speed_mm_s] + [r[7] for r in rows[1:]], dtype=np.float64)
    step = np.linalg.norm(np.diff(arr, axis=0), axis=1) / speed[1:]
    return Waypoints(
        np.concatenate([[0.0], np.cumsum(step)]),
        arr,
        np.array([r[3] for r in rows], dtype=bool),
        np.array([r[4] for r in rows], dtype=np.float64),
        np.array([r[5] for r in rows], dtype=int),
        np.array([r[6] for r in rows], dtype=int),
        speed,
    )


def _check_depth(polylines, machine: Machine) -> None:
    """The pen tip while down stays between the paper and depth_mm below it: a pressure of 1e9 would
    send the arm a kilometre into its table, a negative one leave the pen above the paper."""
    lo = -machine.depth_mm
    check_pen_values(polylines, machine.pen_z_mm, lo, 0.0,
                     lambda z: f"would put the pen tip {z:g} mm from the paper, outside {fmt(lo)}..0 mm "
                               f"(depth_mm of {machine.name!r})")


def _check_speeds(speeds: list[np.ndarray], polylines, machine: Machine) -> None:
    check_segment_speeds(speeds, polylines, *machine.speed_mm_s, "speed (speed_mm_s)", " mm/s", machine.name)


def _check_reach(xyz: np.ndarray, rows: list[tuple], machine: Machine) -> None:
    """Every waypoint inside the reach annulus, and its height between depth_mm below the paper and pen-up."""
    lo, hi = machine.reach_mm
    r = np.hypot(xyz[:, 0], xyz[:, 1])
    paper_z = machine.paper_origin_mm[2]
    with np.errstate(invalid="ignore"):
        z_ok = (xyz[:, 2] >= paper_z - machine.depth_mm - TOL) & (xyz[:, 2] <= paper_z + machine.z_up_mm + TOL)
        bad = ~((r >= lo - TOL) & (r <= hi + TOL) & z_ok)
    if bad.any():
        i = int(np.argmax(bad))
        x, y, z = xyz[i]
        row = rows[i]
        raise ExportError(
            f"waypoint {i} (stroke {row[5]} of glyph {row[6]}, pen {'down' if row[3] else 'up'}) at "
            f"x={_show(x)} y={_show(y)} z={_show(z)} mm is {_show(r[i])} mm from the base axis; "
            f"{machine.name!r} reaches {fmt(lo)}-{fmt(hi)} mm (z {fmt(paper_z - machine.depth_mm)}..{fmt(paper_z + machine.z_up_mm)}); "
            f"move paper_origin_mm or use a smaller page"
        )


def _show(x: float) -> str:
    """A number for a message: fixed point when finite (as written), else nan / inf."""
    return fmt(x, 1) if np.isfinite(x) and abs(x) < 1e15 else f"{x:g}"


def _rows(wp: Waypoints) -> list[list[str]]:
    return [
        [fmt(wp.t_s[i], 4), *(fmt(c, MM_DIGITS) for c in wp.xyz_mm[i]),
         "down" if wp.down[i] else "up", fmt(wp.pressure[i], 6), str(wp.stroke[i]), str(wp.glyph[i])]
        for i in range(len(wp))
    ]


def write_waypoints_json(sheet: Sheet, stream: TextIO, machine: Machine) -> None:
    """Write the arm program as JSON (schema above); one waypoint per line."""
    wp = arm_waypoints(sheet, machine)
    page = sheet.page
    release = release_level(sheet.threshold, sheet.release)
    head: dict[str, Any] = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "units": {"length": "mm", "time": "s"},
        "frame": "robot base: x, y on the table, z up",
        "machine": machine.name,
        "page": {"width_mm": page.width_mm, "height_mm": page.height_mm, "margin_mm": page.margin_mm, "name": page.name},
        "page_to_base": list(machine.page_transform(page)),
        "paper_z_mm": machine.paper_origin_mm[2],
        "z_up_mm": machine.z_up_mm,
        "depth_mm": machine.depth_mm,
        "pen_threshold": [sheet.threshold, release],
        "glyphs": [
            {"glyph": p.glyph, "label": p.label, "row": p.row, "col": p.col, "scale_mm": p.scale_mm, "x_mm": p.x_mm, "y_mm": p.y_mm}
            for p in sheet.placements
        ],
        "columns": list(COLUMNS),
    }
    stream.write("{\n")
    for key, value in head.items():
        stream.write(f"  {json.dumps(key)}: {_json(value)},\n")
    rows = [
        "    [" + ", ".join(json.dumps(c) if j == 4 else c for j, c in enumerate(row)) + "]" for row in _rows(wp)
    ]
    stream.write('  "waypoints": [' + ("\n" + ",\n".join(rows) + "\n  " if rows else "") + "]\n}\n")


def _json(value: Any) -> str:
    """Compact JSON with every number through the one formatter (no exponents, no 0.30000000000000004)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return fmt(value, 9)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(_json(v) for v in value) + "]"


def write_waypoints_csv(sheet: Sheet, stream: TextIO, machine: Machine) -> None:
    """Write the arm program as CSV: ``# igae ...`` metadata lines, a header row, one row per waypoint."""
    wp = arm_waypoints(sheet, machine)
    extra = [
        f"igae machine {machine.name}",
        "igae transform " + " ".join(fmt(v, 9) for v in machine.page_transform(sheet.page)),
        f"igae pen arm {fmt(machine.paper_origin_mm[2], 6)} {fmt(machine.z_up_mm, 6)} {fmt(machine.depth_mm, 6)}",
    ]
    stream.write("".join(f"# {comment_text(line)}\n" for line in sheet_meta_lines(sheet, extra)))
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(wp))


# ---- readers ---------------------------------------------------------------------------------


def read_waypoints_json(stream: TextIO, source: str = "json") -> Sheet:
    """Read a waypoints JSON back to a Sheet in page mm (pen-down runs become polylines)."""
    try:
        doc = json.load(stream)
    except json.JSONDecodeError as exc:
        raise CheckError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise CheckError(f"{source}: not an {SCHEMA} file (missing \"schema\": \"{SCHEMA}\")")
    if doc.get("version") != SCHEMA_VERSION:
        raise CheckError(f"{source}: {SCHEMA} version {doc.get('version')!r} is not supported (this reader knows {SCHEMA_VERSION})")
    try:
        page = Page(**{k: doc["page"][k] for k in ("width_mm", "height_mm", "margin_mm", "name")})
        placements = tuple(
            Placement(g["glyph"], g["label"], g["scale_mm"], g["x_mm"], g["y_mm"], g["row"], g["col"]) for g in doc["glyphs"]
        )
        col = {name: i for i, name in enumerate(doc["columns"])}
        rows = doc["waypoints"]
        polylines = _runs(
            [(r[col["x_mm"]], r[col["y_mm"]], r[col["pen"]] == "down", r[col["pressure"]], r[col["stroke"]], r[col["glyph"]], r[col["t_s"]]) for r in rows],
            tuple(doc["page_to_base"]),
        )
        threshold, release = doc["pen_threshold"]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckError(f"{source}: malformed {SCHEMA} file ({type(exc).__name__}: {exc})") from None
    return Sheet(page, placements, tuple(polylines), threshold, release, {"machine": str(doc.get("machine", ""))})


def read_waypoints_csv(stream: TextIO, source: str = "csv") -> Sheet:
    """Read a waypoints CSV (with its ``# igae`` metadata) back to a Sheet in page mm."""
    meta = Meta()
    body = []
    for line in stream.read().splitlines():
        if line.startswith("#"):
            parse_meta(line[1:], meta, source)
        elif line.strip():
            body.append(line)
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    missing = set(COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise CheckError(f"{source}: not a waypoints CSV, missing columns {sorted(missing)}")
    try:
        rows = [
            (float(r["x_mm"]), float(r["y_mm"]), r["pen"] == "down", float(r["pressure"]), int(r["stroke"]), int(r["glyph"]), float(r["t_s"]))
            for r in reader
        ]
    except (TypeError, ValueError) as exc:
        raise CheckError(f"{source}: bad waypoint row ({exc})") from None
    transform = meta.numbers("transform")
    if transform is None:
        raise CheckError(f"{source}: no 'igae transform' metadata line; only CSV written by igae export can be read back")
    return meta.to_sheet(_runs(rows, tuple(transform)), source)


def _runs(rows: list[tuple], page_to_base) -> list[Polyline]:
    """Consecutive pen-down rows of one stroke -> one polyline in page mm."""
    to_page = invert_affine(page_to_base)
    out, run = [], []
    for row in [*rows, None]:
        if row is not None and row[2] and (not run or run[-1][4] == row[4]):
            run.append(row)
            continue
        if run:
            arr = np.array([(r[0], r[1], r[3], r[6]) for r in run], dtype=np.float64)
            out.append(Polyline(apply_affine(to_page, arr[:, :2]), arr[:, 2], arr[:, 3], int(run[0][5])))
        run = [row] if row is not None and row[2] else []
    return out
