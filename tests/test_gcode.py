"""G-code writer and reader: exact lines, pen discipline, work-area errors, and LinuxCNC's rs274 accepting every file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fixtures_machine import (
    DOT, EMPTY, EMPTY_SHEET, LINE, LINE_SHEET, SQUARE, TOY_MACHINE, TOY_PAGE, TOY_SERVO,
    assert_moves_inside, assert_same_drawing, polyline, random_glyph_gestures, run_rs274, toy_sheet,
)

from igae_robot.errors import CheckError, ExportError
from igae_robot.exporters.gcode import read_gcode, write_gcode
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet


def gcode(sheet, machine, **options) -> str:
    out = io.StringIO()
    write_gcode(sheet, out, machine, **options)
    return out.getvalue()


def code_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(";")]


def test_gcode_one_segment_z_pen():
    assert code_lines(gcode(LINE_SHEET, TOY_MACHINE)) == [
        "G21", "G90", "G0 Z5", "G0 X0 Y0", "G1 Z0 F1500", "G1 X10 Y0", "G0 Z5", "G0 X0 Y0", "M2",
    ]


def test_gcode_one_segment_servo_pen_with_dwell():
    # bottom-left origin, Y up: page y 0 is machine Y 100.
    assert code_lines(gcode(LINE_SHEET, TOY_SERVO, return_to_origin=False)) == [
        "G21", "G90", "M5", "G4 P0.1", "G0 X0 Y100", "M3 S750", "G4 P0.1", "G1 X10 Y100 F1200", "M5", "G4 P0.1", "M2",
    ]


def test_pressure_drives_s_and_z():
    p = polyline([[0, 0], [10, 0], [20, 0]])
    p = type(p)(p.points, np.array([0.0, 0.5, 1.0]), p.t_s, 0)
    servo = code_lines(gcode(toy_sheet(p), TOY_SERVO))
    assert "M3 S500" in servo and "G1 X10 Y100 S750 F1200" in servo and "G1 X20 Y100 S1000" in servo
    z_pen = load_machine("grbl-z")  # paper at Z0, 0.5 mm deeper at pressure 1
    lines = code_lines(gcode(plan_sheet([LINE], Page.from_spec("A5"), SheetOptions(simplify_mm=0)), z_pen))
    assert any(line.startswith("G1 Z-0.25 F600") for line in lines)


def test_header_comments_and_home():
    text = gcode(LINE_SHEET, load_machine("grbl-servo"), home=True)
    assert text.startswith("; igae G-code for grbl-servo: GRBL pen plotter")
    assert "; strokes 1, pen-down 10 mm, pen-up travel 0 mm, pen lifts 1, estimated plot time" in text
    assert "; igae transform 1 0 0 0 -1 100" in text
    assert "\n$H\n" in text
    assert "$H" not in gcode(LINE_SHEET, load_machine("grbl-servo"))


def test_empty_sheet_is_a_complete_program():
    assert code_lines(gcode(EMPTY_SHEET, TOY_MACHINE)) == ["G21", "G90", "G0 Z5", "G0 X0 Y0", "M2"]


def test_dot_is_pen_down_then_up():
    lines = code_lines(gcode(toy_sheet(polyline([[5, 5]])), TOY_MACHINE, return_to_origin=False))
    assert lines == ["G21", "G90", "G0 Z5", "G0 X5 Y5", "G1 Z0 F1500", "G0 Z5", "M2"]


def test_move_outside_work_area_is_an_error_not_a_clip():
    big = load_machine("marlin")  # 220 x 220 mm bed: an A4 page does not fit
    sheet = plan_sheet([SQUARE] * 6, Page.from_spec("A4"))  # squares reach the top of the page
    with pytest.raises(ExportError, match=r"outside the work area of 'marlin' \(X 0..220 Y 0..220 mm"):
        gcode(sheet, big)


def test_arm_profile_refused():
    with pytest.raises(ExportError, match="G-code needs a plotter profile"):
        gcode(LINE_SHEET, load_machine("arm-table"))


def test_numbers_never_scientific():
    tiny = toy_sheet(polyline([[1e-7, 3.0000001], [2e-9, 50]]))
    text = gcode(tiny, TOY_MACHINE)
    assert "e-" not in text.lower().replace("igae", "").replace("here", "") and "nan" not in text.lower()


@pytest.mark.parametrize("machine_name", ["grbl-servo", "grbl-z", "marlin"])
def test_round_trip_through_reader(machine_name):
    machine = load_machine(machine_name)
    sheet = plan_sheet(random_glyph_gestures(8, seed=7) + [DOT, EMPTY], Page.from_spec("A5"))
    back = read_gcode(io.StringIO(gcode(sheet, machine)))
    assert_same_drawing(back, sheet, atol=6e-4)


def test_reader_needs_igae_metadata():
    with pytest.raises(CheckError, match="no 'igae pen' metadata"):
        read_gcode(io.StringIO("G21\nG90\nG1 X1 Y1 F100\nM2\n"))


# ---- rs274: a real interpreter accepts every file, all motion inside the profile's bounds ----------

SHEETS = {
    "line": lambda: plan_sheet([LINE], Page.from_spec("A5")),
    "square-dot-empty": lambda: plan_sheet([SQUARE, DOT, EMPTY], Page.from_spec("A5")),
    "empty": lambda: plan_sheet([EMPTY], Page.from_spec("A5")),
    "glyphs": lambda: plan_sheet(random_glyph_gestures(30, seed=8), Page.from_spec("A5")),
}


@pytest.mark.parametrize("sheet_name", sorted(SHEETS))
@pytest.mark.parametrize("machine_name", ["grbl-servo", "grbl-z", "marlin"])
def test_rs274_accepts_program(machine_name, sheet_name, tmp_path):
    machine = load_machine(machine_name)
    text = gcode(SHEETS[sheet_name](), machine, home=True)
    moves = run_rs274(text, machine, tmp_path)
    assert_moves_inside(moves, machine)


@pytest.mark.parametrize("machine", [TOY_MACHINE, TOY_SERVO], ids=["toy-z", "toy-servo"])
def test_rs274_accepts_toy_programs(machine, tmp_path):
    sheet = plan_sheet([LINE, SQUARE, DOT], TOY_PAGE)
    assert_moves_inside(run_rs274(gcode(sheet, machine), machine, tmp_path), machine)
