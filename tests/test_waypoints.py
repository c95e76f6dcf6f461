"""exporters/waypoints.py: robot-arm waypoints (JSON, CSV): exact text, reach errors, readers (URScript's round trip too)."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from fixtures_machine import DOT, EMPTY, EMPTY_SHEET, LINE_SHEET, TOY_ARM, assert_same_drawing, random_glyph_gestures

from igae_robot.errors import CheckError, ExportError
from igae_robot.exporters.urscript import read_urscript, write_urscript
from igae_robot.exporters.waypoints import (
    COLUMNS, arm_waypoints, read_waypoints_csv, read_waypoints_json, write_waypoints_csv, write_waypoints_json,
)
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import plan_sheet


def text(writer, sheet, machine=TOY_ARM) -> str:
    out = io.StringIO()
    writer(sheet, out, machine)
    return out.getvalue()


def test_line_waypoints_hand_computed():
    # Page (0,0)-(10,0) mm lies at base (100,50)-(110,50); paper z 10, pen-up 10 above, pressure 0.5 x depth 1 mm.
    wp = arm_waypoints(LINE_SHEET, TOY_ARM)
    assert wp.xyz_mm.tolist() == [[100, 50, 20], [100, 50, 9.5], [110, 50, 9.5], [110, 50, 20]]
    assert wp.down.tolist() == [False, True, True, False]
    # lower 10.5 mm at 10 mm/s, draw 10 mm at 10 mm/s, lift 10.5 mm at 10 mm/s
    assert wp.t_s.tolist() == pytest.approx([0, 1.05, 2.05, 3.1])


def test_json_exact_rows_and_schema():
    doc_text = text(write_waypoints_json, LINE_SHEET)
    assert doc_text.splitlines()[-7:] == [
        '  "waypoints": [',
        '    [0, 100, 50, 20, "up", 0, 0, 0],',
        '    [1.05, 100, 50, 9.5, "down", 0.5, 0, 0],',
        '    [2.05, 110, 50, 9.5, "down", 0.5, 0, 0],',
        '    [3.1, 110, 50, 20, "up", 0, 0, 0]',
        "  ]",
        "}",
    ]
    doc = json.loads(doc_text)
    assert (doc["schema"], doc["version"], doc["columns"]) == ("igae-waypoints", 1, list(COLUMNS))
    assert doc["units"] == {"length": "mm", "time": "s"} and doc["page_to_base"] == [1, 0, 100, 0, -1, 50]


def test_csv_exact_rows():
    lines = text(write_waypoints_csv, LINE_SHEET).splitlines()
    assert lines[0] == "# igae sheet 1"
    assert lines[-5:] == [
        "t_s,x_mm,y_mm,z_mm,pen,pressure,stroke,glyph",
        "0,100,50,20,up,0,0,0",
        "1.05,100,50,9.5,down,0.5,0,0",
        "2.05,110,50,9.5,down,0.5,0,0",
        "3.1,110,50,20,up,0,0,0",
    ]


def test_empty_sheet_all_formats():
    assert json.loads(text(write_waypoints_json, EMPTY_SHEET))["waypoints"] == []
    assert text(write_waypoints_csv, EMPTY_SHEET).splitlines()[-1] == ",".join(COLUMNS)
    assert 'textmsg("igae: nothing to draw")' in text(write_urscript, EMPTY_SHEET)
    assert len(arm_waypoints(EMPTY_SHEET, TOY_ARM)) == 0


def test_unreachable_point_is_named():
    short = dataclasses.replace(TOY_ARM, reach_mm=(50.0, 115.0))  # (100, 50) is 111.8 mm out, (110, 50) 120.8 mm
    with pytest.raises(ExportError, match=r"waypoint 2 \(stroke 0 of glyph 0, pen down\) at x=110 y=50 z=9.5 mm is 120.8 mm"):
        arm_waypoints(LINE_SHEET, short)


def test_plotter_profile_refused():
    with pytest.raises(ExportError, match="waypoints need an arm profile"):
        arm_waypoints(LINE_SHEET, load_machine("grbl-servo"))


@pytest.mark.parametrize(
    "writer, reader, machine",
    [
        (write_waypoints_json, read_waypoints_json, "arm-table"),
        (write_waypoints_csv, read_waypoints_csv, "arm-table"),
        (write_urscript, read_urscript, "ur-table"),
    ],
)
def test_round_trip(writer, reader, machine):
    sheet = plan_sheet(random_glyph_gestures(8, seed=9) + [DOT, EMPTY], Page.from_spec("A4"))
    back = reader(io.StringIO(text(writer, sheet, load_machine(machine))))
    assert_same_drawing(back, sheet, atol=1e-3)


def test_readers_refuse_other_files():
    with pytest.raises(CheckError, match="not an igae-waypoints file"):
        read_waypoints_json(io.StringIO('{"hello": 1}'))
    with pytest.raises(CheckError, match="version 9 is not supported"):
        read_waypoints_json(io.StringIO('{"schema": "igae-waypoints", "version": 9}'))
    with pytest.raises(CheckError, match="missing columns"):
        read_waypoints_csv(io.StringIO("a,b\n1,2\n"))
    with pytest.raises(CheckError, match="igae pen arm"):
        read_urscript(io.StringIO("def f():\n  movel(p[0,0,0,0,0,0])\nend\n"))
