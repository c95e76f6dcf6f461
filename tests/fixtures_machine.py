"""Tiny canonical fixtures for the machine side (as shapely's tests/common.py), and the rs274 helper.

Gestures are in glyph units (unit canvas, y down); ``*_SHEET`` fixtures are ready-made sheets in
page millimetres for exact-string writer tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from igae_robot.paper.geometry import Polyline
from igae_robot.gesture import Gesture
from igae_robot.paper.layout import Placement
from igae_robot.paper.machine import Machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet


def gesture(points, pressure=0.5, intensity=1.0, dt_s=0.05, label=-1) -> Gesture:
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    return Gesture(pts, np.broadcast_to(pressure, (n,)).copy(), np.broadcast_to(intensity, (n,)).copy(), dt_s, label)


# A horizontal line across the canvas, a closed square, one inked step, nothing inked.
LINE = gesture([[0.2, 0.5], [0.4, 0.5], [0.6, 0.5], [0.8, 0.5]])
SQUARE = gesture([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8], [0.2, 0.2]])
DOT = gesture([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], intensity=[0.0, 1.0, 0.0])
EMPTY = gesture([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], intensity=0.0)

TOY_PAGE = Page(100.0, 100.0, margin_mm=0.0, name="toy")

# A 100 x 100 mm Z-pen plotter whose axes coincide with the page's (origin top-left, Y down),
# constant feed: G-code coordinates equal page millimetres.
TOY_MACHINE = Machine(
    name="toy",
    kind="plotter",
    description="toy plotter",
    work_area_mm=(100.0, 100.0),
    origin="top-left",
    y_axis="down",
    pen="z",
    z_up_mm=5.0,
    z_down_mm=0.0,
    depth_mm=0.0,
    z_range_mm=(-1.0, 10.0),
    plunge_mm_min=1500.0,
    feed="constant",
    feed_mm_min=(1500.0, 1500.0),
    travel_mm_min=3000.0,
)

TOY_SERVO = Machine(
    name="toy-servo",
    kind="plotter",
    work_area_mm=(100.0, 100.0),
    origin="bottom-left",
    y_axis="up",
    pen="servo",
    s_range=(500.0, 1000.0),
    dwell_s=0.1,
    feed="constant",
    feed_mm_min=(1200.0, 1200.0),
)

TOY_ARM = Machine(
    name="toy-arm",
    kind="arm",
    reach_mm=(50.0, 400.0),
    paper_origin_mm=(100.0, 50.0, 10.0),
    paper_rotation_deg=0.0,
    z_up_mm=10.0,
    depth_mm=1.0,
    speed_mm_s=(10.0, 10.0),
    travel_speed_mm_s=100.0,
    z_speed_mm_s=10.0,
    accel_mm_s2=1000.0,
    blend_mm=1.0,
    tool_rotation=(0.0, 3.14159, 0.0),
)


def polyline(points, pressure=0.5, glyph=0) -> Polyline:
    pts = np.asarray(points, dtype=np.float64)
    return Polyline(pts, np.full(len(pts), pressure), np.arange(len(pts)) * 0.05, glyph)


TOY_PLACEMENT = Placement(0, -1, 100.0, 0.0, 0.0)  # glyph units * 100 = page mm


def toy_sheet(*polylines: Polyline) -> Sheet:
    return Sheet(TOY_PAGE, (TOY_PLACEMENT,), tuple(polylines))


LINE_SHEET = toy_sheet(polyline([[0, 0], [10, 0]]))
EMPTY_SHEET = toy_sheet()


def random_glyph_gestures(count: int, seed: int = 0, steps: int = 25) -> list[Gesture]:
    """Glyph-like gestures: a smooth random walk from (0.1, 0.5) with a few pen lifts and smooth pressure."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        turn = np.cumsum(rng.normal(0, 0.5, steps))
        step = 0.06 + 0.03 * rng.random(steps)
        velocity = np.stack([np.cos(turn), np.sin(turn)], axis=1) * step[:, None]
        points = np.clip(np.array([0.1, 0.5]) + np.cumsum(velocity, axis=0) - velocity, 0.0, 1.0)
        intensity = np.ones(steps)
        for _ in range(rng.integers(0, 3)):  # pen-up gaps
            start = rng.integers(2, steps - 3)
            intensity[start : start + rng.integers(1, 4)] = 0.0
        pressure = 0.5 + 0.3 * np.sin(np.linspace(0, 3, steps) + rng.random() * 6)
        out.append(Gesture(points, pressure, intensity, 0.05, int(rng.integers(10))))
    return out


# ---- rs274 (LinuxCNC's standalone interpreter) ------------------------------------------------

RS274 = shutil.which("rs274")
_SIM_VAR = Path("/usr/share/doc/linuxcnc/examples/sample-configs/sim/qtvcp_screens/sim-9axis.var")
_CANON = re.compile(r"(STRAIGHT_TRAVERSE|STRAIGHT_FEED)\(([^)]*)\)")


def require_rs274() -> str:
    if RS274 is None:
        pytest.skip("REQUIRED-IN-CI: rs274 (LinuxCNC's G-code interpreter) not on PATH; apt-get install linuxcnc-uspace")
    return RS274


def run_rs274(program: str, machine: Machine, tmp_path: Path) -> np.ndarray:
    """Run rs274 on ``program`` (firmware-specific lines left out); assert it succeeds; return (M,3) XYZ of every move."""
    rs274 = require_rs274()
    skip = tuple(machine.firmware_specific)
    kept = [line for line in program.splitlines() if not (skip and line.strip().startswith(skip))]
    ngc = tmp_path / "prog.ngc"
    ngc.write_text("\n".join(kept) + "\n")
    var = tmp_path / "rs274.var"  # private copy: rs274 rewrites it
    if _SIM_VAR.is_file():
        shutil.copy(_SIM_VAR, var)
    else:
        var.write_text("")
    out = tmp_path / "canon.txt"
    proc = subprocess.run([rs274, "-g", "-n", "2", "-v", str(var), str(ngc), str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"rs274 rejected the program:\n{proc.stdout}\n{proc.stderr}"
    moves = [[float(v) for v in m.group(2).split(",")[:3]] for m in _CANON.finditer(out.read_text())]
    return np.array(moves).reshape(-1, 3)


def assert_moves_inside(moves: np.ndarray, machine: Machine) -> None:
    x0, y0, x1, y1 = machine.bounds_mm()
    z0, z1 = machine.z_range_mm if machine.pen == "z" else (-np.inf, np.inf)
    tol = 1e-3
    inside = (moves[:, 0] >= x0 - tol) & (moves[:, 0] <= x1 + tol) & (moves[:, 1] >= y0 - tol) & (moves[:, 1] <= y1 + tol)
    inside &= (moves[:, 2] >= z0 - tol) & (moves[:, 2] <= z1 + tol)
    assert inside.all(), f"move outside {machine.name} bounds: {moves[~inside][:3]}"


def assert_same_placements(got, expected) -> None:
    """Placements read back from a file equal the written ones (numbers to 1e-6 mm)."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert (a.glyph, a.label, a.row, a.col) == (b.glyph, b.label, b.row, b.col)
        assert (a.scale_mm, a.x_mm, a.y_mm) == pytest.approx((b.scale_mm, b.x_mm, b.y_mm), abs=1e-6)


def assert_same_drawing(back, sheet, atol: float) -> None:
    """A sheet read back from a file has the written sheet's placements, and its polylines (glyph, points
    within ``atol`` mm, pressure within 1e-3) in the same order."""
    assert_same_placements(back.placements, sheet.placements)
    assert [p.glyph for p in back.polylines] == [p.glyph for p in sheet.polylines]
    for a, b in zip(sheet.polylines, back.polylines):
        np.testing.assert_allclose(a.points, b.points, atol=atol)
        np.testing.assert_allclose(a.pressure, b.pressure, atol=1e-3)
