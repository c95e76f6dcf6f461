"""Nothing unchecked reaches a machine (issue 11, items 1-3 and 10): pressure, profile text, outlier
glyphs, the check's memory; and the acceptance property over >= 10 000 hostile gestures."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from fixtures_machine import LINE, LINE_SHEET, SQUARE, TOY_ARM, TOY_MACHINE, gesture, polyline, random_glyph_gestures, toy_sheet

from igae_robot.errors import CheckError, ExportError, GestureError, MachineError
from igae_robot.exporters import WRITERS
from igae_robot.gesture import Gesture, load_gestures, load_gestures_meta, save_gestures
from igae_robot.paper.layout import Placement
from igae_robot.paper.machine import Machine, load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet, SheetOptions, plan_sheet

PLOTTERS = ["grbl-servo", "grbl-z", "marlin"]
ARMS = ["arm-table", "ur-table"]


def write(fmt: str, sheet, machine) -> str:
    out = io.StringIO()
    WRITERS[fmt](sheet, out, machine)
    return out.getvalue()


def save_raw(path: Path, gestures=None, **arrays) -> Path:
    """A gestures .npz as a hostile user writes it: any arrays, no checks."""
    gs = gestures or random_glyph_gestures(6, seed=3)
    data = {
        "format": np.array(1),
        "points": np.stack([g.points for g in gs]),
        "pressure": np.stack([g.pressure for g in gs]),
        "intensity": np.stack([g.intensity for g in gs]),
        "dt_s": np.array([g.dt_s for g in gs]),
        "label": np.array([g.label for g in gs]),
    }
    data.update(arrays)
    np.savez(path, **data)
    return path


def with_pressure(sheet: Sheet, value: float) -> Sheet:
    p = sheet.polylines[0]
    bad = dataclasses.replace(p, pressure=np.full(len(p), value))
    return dataclasses.replace(sheet, polylines=(bad, *sheet.polylines[1:]))


# ---- 1. every emitted value is checked against the machine ----------------------------------------


@pytest.mark.parametrize("value", [1e9, -1.0, float("nan")])
def test_gestures_file_with_pressure_outside_0_1_is_refused_naming_file_glyph_step_value(tmp_path, value):
    pressure = np.stack([g.pressure for g in random_glyph_gestures(6, seed=3)])
    pressure[3, 5] = value
    path = save_raw(tmp_path / "hostile.npz", pressure=pressure)
    with pytest.raises(GestureError) as err:
        load_gestures(path)
    message = str(err.value)
    assert "hostile.npz" in message and "glyph 3" in message and "step 5" in message and "pressure" in message
    assert format(value, "g") in message and "\n" not in message


@pytest.mark.parametrize("name, value", [("pressure", 1.5), ("pressure", -0.1), ("intensity", 2.0), ("intensity", -1.0)])
def test_gesture_refuses_pressure_and_intensity_outside_0_1(name, value):
    values = {"pressure": 0.5, "intensity": 1.0, name: [0.5, value, 0.5]}
    with pytest.raises(GestureError, match=rf"{name} .*step 1.*{value:g}"):
        gesture([[0, 0], [0.5, 0.5], [1, 1]], **values)


@pytest.mark.parametrize("machine_name", PLOTTERS)
@pytest.mark.parametrize("value", [1e9, -1.0, float("nan")])
def test_gcode_refuses_pressure_that_leaves_the_pen_range(machine_name, value):
    # pressure 1e9 wrote G1 Z-500000000 (grbl-z), Z-299999999.7 (marlin), M3 S400000000600 (grbl-servo);
    # -1 wrote M3 S200 (below s_range) or a Z pen hovering above the paper.
    with pytest.raises(ExportError, match=r"glyph 0.*pressure"):
        write("gcode", with_pressure(LINE_SHEET, value), load_machine(machine_name))


@pytest.mark.parametrize("fmt", ["waypoints-json", "waypoints-csv", "urscript"])
@pytest.mark.parametrize("machine_name", ARMS)
@pytest.mark.parametrize("value", [1e9, -1.0])
def test_arm_writers_refuse_pressure_that_leaves_the_pen_range(fmt, machine_name, value):
    # pressure 1e9 sent ur-table to z = -1 000 000 mm.
    with pytest.raises(ExportError, match=r"glyph 0.*pressure"):
        write(fmt, with_pressure(LINE_SHEET, value), load_machine(machine_name))


def test_svg_refuses_pressure_outside_0_1():
    with pytest.raises(ExportError, match=r"glyph 0.*pressure"):
        write("svg", with_pressure(LINE_SHEET, 7.0), None)


def test_writers_refuse_non_finite_coordinates():
    bad = toy_sheet(polyline([[0, 0], [float("nan"), 5]]))
    for fmt, machine in (("gcode", TOY_MACHINE), ("waypoints-json", TOY_ARM), ("urscript", TOY_ARM), ("svg", None)):
        with pytest.raises(ExportError, match="glyph 0"):
            write(fmt, bad, machine)


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"meta_image_size": np.array(0)}, "image_size"),
        ({"meta_image_size": np.array(1e9)}, "image_size"),
        ({"meta_var_coef": np.array(float("nan"))}, "var_coef"),
        ({"label": np.array(["a"] * 6)}, "label"),
        ({"label": np.array([1.5] * 6)}, "label"),
        ({"dt_s": np.array(["x"] * 6)}, "dt_s"),
        ({"points": np.zeros((6, 25, 2), dtype="<U3")}, "points"),
        ({"dt_s": np.array([0.05, -1, 0.05, 0.05, 0.05, 0.05])}, "glyph 1.*dt_s"),
    ],
)
def test_hostile_gestures_file_is_one_clear_error(tmp_path, arrays, match):
    path = save_raw(tmp_path / "bad.npz", **arrays)
    for load in (load_gestures, load_gestures_meta) if any(k.startswith("meta_") for k in arrays) else (load_gestures,):
        with pytest.raises(GestureError, match=match) as err:
            load(path)
        assert "bad.npz" in str(err.value) and "\n" not in str(err.value)


def test_pickled_gestures_file_says_untrusted_not_allow_pickle(tmp_path):
    path = save_raw(tmp_path / "pickled.npz", label=np.array([object()] * 6, dtype=object))
    for load in (load_gestures, load_gestures_meta):
        with pytest.raises(GestureError, match="not a trusted gestures file") as err:
            load(path)
        assert "allow_pickle" not in str(err.value)
    (tmp_path / "notes.npz").write_text("not numpy")
    with pytest.raises(GestureError, match="not a gestures .npz file") as err:
        load_gestures(tmp_path / "notes.npz")
    assert "allow_pickle" not in str(err.value) and "pickled data" not in str(err.value)


def test_valid_gestures_round_trip_through_the_checks(tmp_path):
    edge = np.linspace([0.0, 0.0], [1.0, 1.0], 25)
    gs = random_glyph_gestures(5, seed=1) + [gesture(edge, pressure=np.r_[0.0, np.ones(24)], intensity=np.r_[1.0, np.zeros(24)], dt_s=1e9, label=2**62)]
    path = save_gestures(tmp_path / "ok.npz", gs, {"image_size": 28, "var_coef": 0.01, "var_eps": 1e-4})
    back = load_gestures(path)
    assert [g.label for g in back] == [g.label for g in gs] and back[-1].dt_s == 1e9
    assert load_gestures_meta(path) == {"image_size": 28, "var_coef": 0.01, "var_eps": 1e-4}


# ---- 2. profile text can never become a command ----------------------------------------------------


def profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("key", ["name", "description", "home"])
@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\u2028", "\x85", "\t"])
def test_control_characters_in_profile_strings_are_refused(tmp_path, key, char):
    value = json.dumps(f"nice{char}G0 X-999")  # JSON escapes are TOML escapes
    path = profile(tmp_path, f'extends = "grbl-servo"\n{key} = {value}\n')
    with pytest.raises(MachineError, match=rf"{key}.*control|{key}.*printable"):
        load_machine(str(path))


def test_control_characters_in_any_string_field_are_refused():
    for key in ("name", "description", "home", "header", "footer", "firmware_specific"):
        value = ("M84", "x\nG0 X-999") if key in ("header", "footer", "firmware_specific") else "x\nG0 X-999"
        with pytest.raises(MachineError, match=key):
            dataclasses.replace(load_machine("grbl-servo"), **{key: value})


def test_urscript_name_cannot_inject_code(tmp_path):
    path = profile(tmp_path, 'extends = "ur-table"\nname = "ur\\nmovej([0,0,0,0,0,0])"\n')
    with pytest.raises(MachineError, match="name"):
        load_machine(str(path))


@pytest.mark.parametrize(
    "key, value",
    [
        ("footer", ["G0 X9999 Y9999"]),
        ("home", "G0 X9999"),
        ("header", ["G1 X10 Y10 F100"]),
        ("header", ["M3 S1000"]),
        ("header", ["G20"]),
        ("header", ["G91"]),
        ("footer", ["G0 Z-4"]),  # pen down into the paper (Z pen, pen-up at 5)
        ("footer", ["G0 X10 Y10 Z30"]),  # above the Z range
        ("header", ["G0 X10 Y10"]),  # a header runs before the first pen-up
        ("home", "G28 X9999"),  # RS274 G28 goes through X9999 first
        ("footer", ["G4 P-1"]),
        ("footer", ["G4 P1e9"]),
        ("footer", ["M84 ; G0 X-999"]),
        ("footer", ["M84 (G0 X-999)"]),
        ("footer", ["$J=G91 X9999"]),
        ("footer", ["M2"]),
    ],
)
def test_profile_lines_outside_the_known_words_or_work_area_are_refused(key, value):
    with pytest.raises(MachineError, match=key):
        dataclasses.replace(load_machine("grbl-z"), **{key: tuple(value) if isinstance(value, list) else value})


@pytest.mark.parametrize(
    "key, value",
    [("home", "$H"), ("home", "G28"), ("footer", ["M84", "M18", "M5", "G4 P0.5", "G0 X10 Y290", "G0 Z10", "G0 X0 Y0 Z5"]),
     ("header", ["G17", "G94", "M5", "$X", "g4 p1"])],
)
def test_known_profile_lines_are_accepted(key, value):
    m = dataclasses.replace(load_machine("grbl-z"), **{key: tuple(value) if isinstance(value, list) else value})
    assert write("gcode", LINE_SHEET, m)


def test_arm_profile_has_no_gcode_lines():
    with pytest.raises(MachineError, match="footer"):
        dataclasses.replace(load_machine("arm-table"), footer=("M84",))


@pytest.mark.parametrize("text", ["work_area_mm = [inf, inf]", "z_up_mm = nan", "reach_mm = [0.0, inf]", "tool_rotation = [0.0, inf, 0.0]"])
def test_non_finite_profile_numbers_are_refused(tmp_path, text):
    base = "grbl-z" if "reach" not in text and "tool" not in text else "ur-table"
    with pytest.raises(MachineError, match=text.split()[0]):
        load_machine(str(profile(tmp_path, f'extends = "{base}"\n{text}\n')))


def test_z_pen_must_lift_above_the_paper():
    with pytest.raises(MachineError, match="z_up_mm"):
        dataclasses.replace(load_machine("grbl-z"), z_up_mm=-0.5)


def test_builtin_profiles_pass_their_own_checks():
    for name in PLOTTERS + ARMS:
        m = load_machine(name)
        assert dataclasses.replace(m) == m


# ---- 3. one outlier glyph must not shrink a whole sheet -----------------------------------------


def outlier_gestures() -> list[Gesture]:
    gs = random_glyph_gestures(24, seed=1)
    points = gs[4].points.copy()
    points[6] = [1e30, 0.5]
    gs[4] = Gesture(points, gs[4].pressure, np.ones(len(points)), gs[4].dt_s, gs[4].label)
    return gs


def test_outlier_glyph_is_refused_by_name():
    with pytest.raises(GestureError, match=r"glyph 4 .*step 6"):
        plan_sheet(outlier_gestures(), Page.from_spec("A4"))
    with pytest.raises(GestureError, match=r"glyph 4"):
        plan_sheet(outlier_gestures(), Page.from_spec("A4"), SheetOptions(frame="canvas", clip=True))


def test_outlier_glyph_can_be_dropped_and_the_others_keep_their_size():
    gs = outlier_gestures()
    sheet = plan_sheet(gs, Page.from_spec("A4"), SheetOptions(drop_outliers=True))
    clean = plan_sheet(gs[:4] + [LINE] + gs[5:], Page.from_spec("A4"))
    assert sheet.dropped == (4,)
    assert not [p for p in sheet.polylines if p.glyph == 4]
    assert sheet.placements[0].scale_mm == pytest.approx(clean.placements[0].scale_mm, rel=0.5)
    assert sheet.placements[0].scale_mm > 5


def test_gestures_a_little_off_their_canvas_still_fit():
    near = gesture([[-1.5, 0.5], [2.5, 0.5]])
    sheet = plan_sheet([near, SQUARE], Page.from_spec("A5"))
    assert sheet.dropped == () and len(sheet.polylines) == 2


def test_check_refuses_a_render_that_would_not_fit_in_memory():
    from igae_robot.check import check_sheet

    # What igae 0.1 wrote for the outlier: every glyph at scale 1e-29 mm per glyph unit.
    tiny = Placement(0, -1, 1e-29, 10.0, 10.0)
    sheet = Sheet(Page.from_spec("A5"), (tiny,), (polyline([[10, 10], [20, 10]]),))
    with pytest.raises(CheckError, match=r"glyph 0.*markers"):
        check_sheet(sheet, gestures=[LINE])


def test_check_refuses_a_file_with_glyph_scale_0():
    from igae_robot.check import check_sheet

    zero = Placement(0, -1, 0.0, 10.0, 10.0)  # 1e-29 written with 9 decimals
    sheet = Sheet(Page.from_spec("A5"), (zero,), (polyline([[10, 10], [20, 10]]),))
    with pytest.raises(CheckError, match=r"glyph 0 is placed at scale 0"):
        check_sheet(sheet, gestures=[LINE])


@pytest.mark.parametrize("size", [0, -5, 100000])
def test_check_refuses_absurd_sizes(size):
    from igae_robot.check import check_sheet

    with pytest.raises(CheckError, match="size"):
        check_sheet(plan_sheet([LINE], Page.from_spec("A5")), gestures=[LINE], size=size)


# ---- 10. messages that mislead ------------------------------------------------------------------


def test_urscript_for_a_plotter_names_urscript():
    with pytest.raises(ExportError, match=r"^URScript needs an arm profile"):
        write("urscript", LINE_SHEET, load_machine("grbl-servo"))
    with pytest.raises(ExportError, match=r"^waypoints need an arm profile"):
        write("waypoints-json", LINE_SHEET, load_machine("grbl-servo"))


def test_check_count_mismatch_reads_correctly():
    from igae_robot.check import check_sheet

    sheet = plan_sheet([LINE, SQUARE], Page.from_spec("A5"))
    with pytest.raises(CheckError) as err:
        check_sheet(sheet, images=np.zeros((1, 28, 28)), against="1 image(s)")
    assert str(err.value) == "file lays out 2 glyphs but the source (1 image(s)) has 1 glyph; check a file against the source it was exported from"


# ---- acceptance: >= 10 000 hostile gestures, every built-in profile, every writer ------------------
#
# Each example is one gestures file of 60-80 glyphs (so 10 000 gestures are ~150 programs, not
# thousands), written as a hostile user would (raw np.savez, no checks), with pressure, intensity,
# dt, labels and points at extreme values.  It goes through what `igae export` does (load_gestures,
# plan_sheet, export_file) for every profile x writer: a domain error and no file, or a file whose
# every X, Y, Z, S, F, arm pose and speed lies inside the profile's ranges, which rs274 accepts.

import csv  # noqa: E402
import tempfile  # noqa: E402

from fixtures_machine import assert_moves_inside, require_rs274, run_rs274  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from igae_robot.errors import IgaeError  # noqa: E402
from igae_robot.exporters import export_file  # noqa: E402
from igae_robot.exporters.svg import DEFAULT_WIDTH_MM  # noqa: E402

NAN, INF = float("nan"), float("inf")
PRESSURES = [NAN, INF, -INF, 1e9, -1.0, 1.0 + 1e-9, -1e-300]  # each refused
LEGAL_PRESSURES = [0.0, 1.0, 1e-300, 1.0 - 1e-16]
INTENSITIES = [NAN, 2.0, -1.0]
DTS = [NAN, INF, 0.0, -1.0, -0.05]
LEGAL_DTS = [1e-9, 0.05, 1e9, 1e300]
POINTS = [NAN, INF, 1e30, -1e30, 4.5, -3.5, 1e3]
LABELS = ["int", "int", "int", "extreme", "float", "nan", "str"]
PAGES = ["A5", "120x120mm", "90x140mm"]
FORMATS = {"svg": ".svg", "gcode": ".gcode", "waypoints-json": ".json", "waypoints-csv": ".csv", "urscript": ".script"}
_EXPONENT = re.compile(r"\d[eE][-+]?\d")


@st.composite
def hostile_files(draw) -> dict:
    """The knobs of one hostile gestures file; the arrays come from a seeded generator (fast, and shrinkable)."""
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n": draw(st.integers(60, 80)),
        "steps": draw(st.integers(2, 14)),
        "bad_rate": draw(st.sampled_from([0.0, 0.0, 0.0, 0.001, 0.01])),
        "pressure": draw(st.sampled_from(PRESSURES)),
        "intensity": draw(st.sampled_from(INTENSITIES)),
        "dt": draw(st.sampled_from(DTS)),
        "point": draw(st.sampled_from(POINTS)),
        "labels": draw(st.sampled_from(LABELS)),
        "legal_dt": draw(st.sampled_from(LEGAL_DTS)),
        "page": draw(st.sampled_from(PAGES)),
        "frame": draw(st.sampled_from(["fit", "canvas"])),
        "clip": draw(st.booleans()),
        "drop": draw(st.booleans()),
    }


def hostile_arrays(k: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(k["seed"])
    n, t = k["n"], k["steps"]
    points = np.clip(0.5 + np.cumsum(rng.normal(0, 0.15, (n, t, 2)), axis=1), -0.4, 1.4)
    pressure = rng.random((n, t))
    pressure[rng.random((n, t)) < 0.1] = rng.choice(LEGAL_PRESSURES)
    intensity = rng.choice([0.0, 0.3, 0.5, 1.0], (n, t))
    dt = np.where(rng.random(n) < 0.3, k["legal_dt"], 0.05)
    for arr, value in ((pressure, k["pressure"]), (intensity, k["intensity"])):
        arr[rng.random(arr.shape) < k["bad_rate"]] = value
    dt[rng.random(n) < k["bad_rate"]] = k["dt"]
    points[rng.random((n, t)) < k["bad_rate"] * 2, rng.integers(0, 2)] = k["point"]
    labels = {
        "int": rng.integers(-1, 10, n),
        "extreme": rng.choice(np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0, 10**9]), n),
        "float": rng.integers(0, 10, n) + 0.5,
        "nan": np.full(n, NAN),
        "str": np.array([str(v) for v in rng.integers(0, 10, n)]),
    }[k["labels"]]
    return {"format": np.array(1), "points": points, "pressure": pressure, "intensity": intensity, "dt_s": dt, "label": labels}


def check_gcode(text: str, m: Machine) -> None:
    x0, y0, x1, y1 = m.bounds_mm()
    for raw in text.splitlines():
        code = raw.split(";")[0].strip()
        if not code or code.startswith("$"):
            continue
        words = dict(re.findall(r"([A-Z])(-?\d+(?:\.\d+)?)", code))
        num = {a: float(v) for a, v in words.items() if a not in "GM"}
        assert x0 - 1e-3 <= num.get("X", x0) <= x1 + 1e-3 and y0 - 1e-3 <= num.get("Y", y0) <= y1 + 1e-3, raw
        if "S" in num:
            assert m.s_range[0] - 1e-3 <= num["S"] <= m.s_range[1] + 1e-3, raw
        if "Z" in num:
            assert m.z_range_mm[0] <= num["Z"] <= m.z_range_mm[1], raw
            up = num["Z"] == m.z_up_mm
            assert up or m.z_down_mm - m.depth_mm - 1e-3 <= num["Z"] <= m.z_down_mm + 1e-3, f"pen neither up nor on the paper: {raw}"
        if "F" in num and words.get("G") == "1":
            allowed = (m.feed_mm_min[0] - 0.1, m.feed_mm_min[1] + 0.1) if "X" in num else (m.plunge_mm_min, m.plunge_mm_min)
            assert allowed[0] <= num["F"] <= allowed[1], raw


def check_pose(x: float, y: float, z: float, m: Machine) -> None:
    r = float(np.hypot(x, y))
    assert m.reach_mm[0] - 1e-3 <= r <= m.reach_mm[1] + 1e-3, (x, y, z)
    paper = m.paper_origin_mm[2]
    assert paper - m.depth_mm - 1e-3 <= z <= paper + m.z_up_mm + 1e-3, (x, y, z)


def check_rows(rows: list[list], m: Machine) -> None:
    t = [float(r[0]) for r in rows]
    assert all(np.isfinite(t)) and t == sorted(t)
    for r in rows:
        check_pose(float(r[1]), float(r[2]), float(r[3]), m)
        assert 0.0 <= float(r[5]) <= 1.0


def check_urscript(text: str, m: Machine) -> None:
    speeds = (*m.speed_mm_s, m.travel_speed_mm_s, m.z_speed_mm_s)
    for match in re.finditer(r"move[lp]\(p\[([^\]]*)\], a=([\d.]+), v=([\d.]+)(?:, r=([\d.]+))?\)", text):
        x, y, z = (float(v) * 1000 for v in match.group(1).split(",")[:3])
        check_pose(x, y, z, m)
        assert float(match.group(2)) == pytest.approx(m.accel_mm_s2 / 1000)
        assert min(speeds) - 1e-3 <= float(match.group(3)) * 1000 <= max(speeds) + 1e-3, match.group(0)
        assert float(match.group(4) or 0) * 1000 <= m.blend_mm + 1e-6
    assert len(re.findall(r"^\s*move[lp]\(", text, re.M)) == len(re.findall(r"move[lp]\(p\[[^\]]*\], a=[\d.]+, v=[\d.]+(?:, r=[\d.]+)?\)", text))


def check_svg(text: str, page: Page) -> None:
    for d in re.findall(r' d="([^"]*)"', text):
        xy = np.array([[float(v) for v in pair.split(",")] for pair in re.findall(r"-?[\d.]+,-?[\d.]+", d)])
        assert ((xy >= -1e-3) & (xy <= [page.width_mm + 0.02, page.height_mm + 1e-3])).all(), d[:80]
    for w in re.findall(r'stroke-width="([^"]*)"', text):
        assert DEFAULT_WIDTH_MM[0] - 1e-4 <= float(w) <= DEFAULT_WIDTH_MM[1] + 1e-4
    for p in re.findall(r'data-igae-pressure="([^"]*)"', text):
        assert all(0.0 <= float(v) <= 1.0 for v in p.split())


def check_written(fmt: str, text: str, m: Machine, page: Page) -> None:
    assert "nan" not in text.lower() and "inf" not in text.lower().replace("info", "") and not _EXPONENT.search(text)
    if fmt == "gcode":
        check_gcode(text, m)
    elif fmt == "waypoints-json":
        check_rows(json.loads(text)["waypoints"], m)
    elif fmt == "waypoints-csv":
        check_rows(list(csv.reader(line for line in text.splitlines() if not line.startswith("#")))[1:], m)
    elif fmt == "urscript":
        check_urscript(text, m)
    else:
        check_svg(text, page)


def test_acceptance_hostile_gestures_never_leave_a_machine_range():
    profiles = {name: load_machine(name) for name in PLOTTERS + ARMS}
    seen = {"gestures": 0, "written": 0, "refused": 0}
    programs: list[tuple[str, Machine]] = []  # every G-code program written, for rs274 at the end

    @settings(max_examples=160, deadline=None, suppress_health_check=list(HealthCheck))
    @given(hostile_files())
    def run(knobs):
        seen["gestures"] += knobs["n"]
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            np.savez(tmp / "g.npz", **hostile_arrays(knobs))
            page = Page.from_spec(knobs["page"])
            try:
                gestures = load_gestures(tmp / "g.npz")
                options = SheetOptions(frame=knobs["frame"], clip=knobs["clip"], drop_outliers=knobs["drop"])
                sheet = plan_sheet(gestures, page, options)
            except IgaeError as exc:
                assert "\n" not in str(exc) and "allow_pickle" not in str(exc)
                seen["refused"] += 1
                return
            for name, machine in profiles.items():
                for fmt, suffix in FORMATS.items():
                    out = tmp / f"{name}-{fmt}{suffix}"
                    try:
                        export_file(sheet, out, fmt, machine)
                    except IgaeError as exc:
                        assert not out.exists() and "\n" not in str(exc)
                        assert not [p for p in tmp.iterdir() if p.name.startswith(".")], "temp file left behind"
                        continue
                    seen["written"] += 1
                    check_written(fmt, out.read_text(), machine, page)
                    if fmt == "gcode":
                        programs.append((out.read_text(), machine))

    run()
    print(f"acceptance: {seen}")
    assert seen["gestures"] >= 10_000, seen
    assert seen["written"] > 100 and seen["refused"] > 5, seen  # both sides of the property were exercised
    # rs274 last, so a machine without it still checks everything above, then skips loudly (REQUIRED-IN-CI).
    require_rs274()
    with tempfile.TemporaryDirectory() as tmp:
        for text, machine in programs:
            assert_moves_inside(run_rs274(text, machine, Path(tmp)), machine)  # bounds on every axis, Z included
