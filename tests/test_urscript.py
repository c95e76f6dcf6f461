"""exporters/urscript.py: URScript moves in metres, blends inside strokes, and times read back in seconds."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fixtures_machine import LINE_SHEET, TOY_ARM, random_glyph_gestures

from igae_robot.exporters.urscript import read_urscript, write_urscript
from igae_robot.exporters.waypoints import read_waypoints_json, write_waypoints_json
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import plan_sheet


def text(writer, sheet, machine=TOY_ARM) -> str:
    out = io.StringIO()
    writer(sheet, out, machine)
    return out.getvalue()


def test_urscript_exact_moves_in_metres():
    lines = text(write_urscript, LINE_SHEET).splitlines()
    assert lines[-7:] == [
        "def igae_draw():",
        "  # igae stroke 0 glyph 0",
        "  movel(p[0.1, 0.05, 0.02, 0, 3.14159, 0], a=1, v=0.1)",
        "  movel(p[0.1, 0.05, 0.0095, 0, 3.14159, 0], a=1, v=0.01)",
        "  movel(p[0.11, 0.05, 0.0095, 0, 3.14159, 0], a=1, v=0.01)",
        "  movel(p[0.11, 0.05, 0.02, 0, 3.14159, 0], a=1, v=0.01)",
        "end",
    ]


def test_urscript_blends_inside_strokes_only():
    sheet = plan_sheet(random_glyph_gestures(3, seed=1), Page.from_spec("A5"))
    script = text(write_urscript, sheet, load_machine("ur-table"))
    movep = [line for line in script.splitlines() if "movep(" in line]
    assert movep and all(", r=" in line for line in movep)
    radii = [float(line.rsplit("r=", 1)[1].rstrip(")")) for line in movep]
    assert max(radii) <= 0.0005  # blend_mm 0.5 -> metres


def test_reader_times_are_seconds_from_the_moves():
    """t_s holds seconds: each move's length over its speed v, as the waypoints' own clock says."""
    (stroke,) = read_urscript(io.StringIO(text(write_urscript, LINE_SHEET))).polylines
    assert stroke.t_s.tolist() == pytest.approx([0.0, 1.0])  # 10 mm at v=0.01 m/s
    (same,) = read_waypoints_json(io.StringIO(text(write_waypoints_json, LINE_SHEET))).polylines
    assert np.diff(stroke.t_s) == pytest.approx(np.diff(same.t_s))
