"""Property tests over random gestures, across every exporter: finite fixed-point numbers, motion
inside bounds (or a refusal), pen up before every travel, same input -> same bytes in two fresh
processes, and rs274 accepting every G-code program."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from fixtures_machine import assert_moves_inside, require_rs274, run_rs274
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igae_robot.errors import PageError
from igae_robot.exporters import WRITERS
from igae_robot.exporters.gcode import read_gcode
from igae_robot.exporters.svg import read_svg
from igae_robot.gesture import Gesture
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet

unit = st.floats(0.0, 1.0, allow_nan=False)
coord = st.floats(-0.5, 1.5, allow_nan=False)


@st.composite
def gestures(draw) -> list[Gesture]:
    steps = draw(st.integers(1, 30))
    out = []
    for _ in range(draw(st.integers(1, 4))):
        points = draw(st.lists(st.tuples(coord, coord), min_size=steps, max_size=steps))
        pressure = draw(st.lists(unit, min_size=steps, max_size=steps))
        intensity = draw(st.lists(st.sampled_from([0.0, 0.2, 0.4, 0.6, 1.0]) | unit, min_size=steps, max_size=steps))
        out.append(Gesture(np.array(points), np.array(pressure), np.array(intensity)))
    return out


options = st.builds(
    SheetOptions,
    simplify_mm=st.sampled_from([0.0, 0.05, 1.0]),
    merge_mm=st.sampled_from([0.0, 0.05]),
    order=st.booleans(),
    frame=st.sampled_from(["fit", "canvas"]),
    clip=st.booleans(),  # not forced: without clipping, a drawing off its page must be refused
)

MACHINES = {"gcode": ["grbl-servo", "grbl-z"], "waypoints-json": ["arm-table"], "waypoints-csv": ["arm-table"], "urscript": ["ur-table"], "svg": [None]}
_EXPONENT = re.compile(r"\d[eE][-+]?\d")
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plan(gs, page: str, opts: SheetOptions):
    """The sheet, or None where plan_sheet refuses it: only a drawing that leaves the page
    unclipped may be refused (clipping, or fitting the frame, always has a sheet)."""
    try:
        return plan_sheet(gs, Page.from_spec(page), opts)
    except PageError as exc:
        assert not opts.clip and opts.frame == "canvas", exc
        assert "leaves the drawable area" in str(exc), exc
        return None


def write(fmt: str, sheet, machine) -> str:
    out = io.StringIO()
    WRITERS[fmt](sheet, out, machine)
    return out.getvalue()


@SETTINGS
@given(gestures(), options)
def test_every_format_is_finite_and_fixed_point(gs, opts):
    sheet = plan(gs, "A4", opts)
    for fmt, names in MACHINES.items() if sheet is not None else ():
        for name in names:
            machine = load_machine(name) if name else None
            text = write(fmt, sheet, machine)
            lowered = text.lower()
            assert "nan" not in lowered and "inf" not in lowered.replace("info", "")
            assert not _EXPONENT.search(text), f"{fmt}: scientific notation in {_EXPONENT.search(text).group()}"


def _pen_down_states(text: str, pen: str) -> list[tuple[str, bool]]:
    """(line, pen is down while it runs) for every motion line of a program."""
    down, z, states = False, None, []
    for raw in text.splitlines():
        line = raw.split(";")[0].strip()
        if not line:
            continue
        if pen == "servo":
            if line.startswith("M3"):
                down = True
            elif line.startswith("M5"):
                down = False
        else:
            match = re.search(r"Z(-?[\d.]+)", line)
            z = float(match.group(1)) if match else z
            down = z is not None and z < 2.5
        states.append((line, down))
    return states


@SETTINGS
@given(gestures(), options)
def test_gcode_pen_up_before_every_travel_and_inside_bounds(gs, opts):
    sheet = plan(gs, "A4", opts)
    for name in ("grbl-servo", "grbl-z") if sheet is not None else ():
        machine = load_machine(name)
        text = write("gcode", sheet, machine)
        for line, down in _pen_down_states(text, machine.pen):
            if line.startswith("G0") and ("X" in line or "Y" in line):
                assert not down, f"{name}: travel with the pen down: {line}"
        x0, y0, x1, y1 = machine.bounds_mm()
        code = "\n".join(line for line in text.splitlines() if not line.startswith(";"))
        xy = np.array([[float(v) for v in m] for m in re.findall(r"X(-?[\d.]+) Y(-?[\d.]+)", code)]).reshape(-1, 2)
        assert ((xy >= [x0, y0]) & (xy <= [x1, y1])).all()
        back = read_gcode(io.StringIO(text))
        assert len(back.polylines) == len(sheet.polylines)


def test_rs274_accepts_every_random_gcode_program():
    """LinuxCNC's interpreter runs every program, every move inside the work area (skips loudly
    with REQUIRED-IN-CI where rs274 is missing: CI has it)."""
    require_rs274()

    @SETTINGS
    @given(gestures(), options)
    def run(gs, opts):
        sheet = plan(gs, "A4", opts)
        for name in ("grbl-servo", "grbl-z") if sheet is not None else ():
            machine = load_machine(name)
            with tempfile.TemporaryDirectory() as tmp:
                assert_moves_inside(run_rs274(write("gcode", sheet, machine), machine, Path(tmp)), machine)

    run()


@SETTINGS
@given(gestures(), options)
def test_svg_strokes_stay_on_the_page(gs, opts):
    sheet = plan(gs, "A5", opts)
    if sheet is None:
        return
    back = read_svg(io.StringIO(write("svg", sheet, None)))
    assert len(back.polylines) == len(sheet.polylines)
    x0, y0, x1, y1 = sheet.page.drawable
    for p in back.polylines:
        assert ((p.points >= [x0 - 1e-3, y0 - 1e-3]) & (p.points <= [x1 + 1e-3, y1 + 1e-3])).all()


# Writes every format of one planned sheet into a folder; run in a fresh interpreter each time.
_WRITE_ALL = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from fixtures_machine import random_glyph_gestures
from igae_robot.exporters import WRITERS
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import plan_sheet
sheet = plan_sheet(random_glyph_gestures(12, seed=4), Page.from_spec("A4"))
for fmt, names in {machines!r}.items():
    for name in names:
        with open(Path({out!r}) / f"{{fmt}}-{{name}}.txt", "w", encoding="utf-8", newline="") as f:
            WRITERS[fmt](sheet, f, load_machine(name) if name else None)
"""


def test_every_format_is_byte_identical_across_two_processes(tmp_path):
    """Determinism that can fail: two fresh interpreters (different hash seeds, so any set or dict
    order that leaked into a file would show) write every format; the bytes must match."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        out.mkdir()
        code = _WRITE_ALL.format(tests=str(Path(__file__).parent), machines=MACHINES, out=str(out))
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert len(outputs[0]) == sum(len(v) for v in MACHINES.values())
    assert outputs[0] == outputs[1]
