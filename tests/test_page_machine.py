"""Units, pages and machine profiles: parsing, errors that name the problem, page -> machine maps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from fixtures_machine import TOY_ARM, TOY_MACHINE

from igae_robot.errors import MachineError, PageError
from igae_robot.paper.machine import apply_affine, invert_affine, load_machine, machine_profiles
from igae_robot.paper.page import Page
from igae_robot.units import format_number, format_numbers, join_numbers, to_mm


@pytest.mark.parametrize(
    "text, mm", [("10", 10.0), ("2.5cm", 25.0), ("8.5in", 215.9), ("96px", 25.4), (" 3 mm ", 3.0), (7, 7.0), ("-1.5mm", -1.5)]
)
def test_to_mm(text, mm):
    assert to_mm(text) == pytest.approx(mm)


@pytest.mark.parametrize("text", ["ten", "5 furlongs", "", "1e999mm"])
def test_to_mm_rejects(text):
    with pytest.raises(PageError):
        to_mm(text)


@pytest.mark.parametrize(
    "x, text", [(10.0, "10"), (0.5, "0.5"), (-0.0004, "0"), (1e-5, "0"), (1234567.891, "1234567.891"), (2.0004, "2"), (-12.3456, "-12.346")]
)
def test_format_number_is_fixed_point(x, text):
    assert format_number(x) == text


def test_format_number_refuses_nan():
    with pytest.raises(ValueError):
        format_number(float("nan"))
    with pytest.raises(ValueError):
        format_numbers([1.0, float("inf")])


# Values where the vectorised formatter must fall back or round exactly: halves at the last decimal
# (0.03125 is exactly representable: "%.4f" rounds it to even), -0, tiny negatives, carries.
EDGES = [0.0, -0.0, 5e-324, -1e-20, 0.5, -0.5, 2.5, 0.03125, -0.03125, 9999.99999, 99999.5, 1e4, 0.1, 1234567.891, 2.0**53, -3e17]


@pytest.mark.parametrize("digits", [0, 1, 3, 4, 6, 9])
def test_format_numbers_is_format_number(digits):
    rng = np.random.default_rng(digits)
    x = np.concatenate([EDGES, rng.normal(0, 30, 500), rng.normal(0, 1e9, 100), (rng.integers(-9999, 9999, 200) + 0.5) / 10**digits])
    assert format_numbers(x, digits) == [format_number(v, digits) for v in x]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e16, max_value=1e16), max_size=40),
       st.integers(0, 9))
def test_format_numbers_property(values, digits):
    assert format_numbers(values, digits) == [format_number(v, digits) for v in values]


def test_join_numbers_puts_each_separator_after_its_number():
    seps = np.array([ord(","), ord(" "), ord(","), 0], np.uint8)
    assert join_numbers([1.0, -2.25, 0.00001, 10.0], 4, seps) == "1,-2.25 0,10"
    assert join_numbers([], 3, np.zeros(0, np.uint8)) == "" and format_numbers(np.zeros((0, 2))) == []


def test_page_named_sizes_and_orientation():
    a4 = Page.from_spec("a4")
    assert (a4.width_mm, a4.height_mm, a4.name) == (210.0, 297.0, "A4")
    assert Page.from_spec("A4", landscape=True).width_mm == 297.0
    assert Page.from_spec("Letter").width_mm == pytest.approx(215.9)
    assert Page.from_spec("A3", margin="1cm").drawable == (10.0, 10.0, 287.0, 410.0)


def test_page_custom_size():
    page = Page.from_spec("200x150mm")
    assert (page.width_mm, page.height_mm) == (200.0, 150.0)
    assert Page.from_spec("8.5in x 11in").height_mm == pytest.approx(279.4)


@pytest.mark.parametrize("spec, margin", [("B17", "10mm"), ("A4", "120mm"), ("0x10mm", "0")])
def test_page_errors_name_the_problem(spec, margin):
    with pytest.raises(PageError, match="page|margin|size"):
        Page.from_spec(spec, margin=margin)


def test_builtin_profiles_load():
    profiles = machine_profiles()
    assert {"grbl-servo", "grbl-z", "marlin", "arm-table", "ur-table"} <= set(profiles)
    assert profiles["ur-table"].kind == "arm" and profiles["ur-table"].blend_mm == profiles["arm-table"].blend_mm  # extends


def test_unknown_machine_lists_known():
    with pytest.raises(MachineError, match="unknown machine 'plotty'.*grbl-servo"):
        load_machine("plotty")


def test_user_profile_extends_builtin(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('extends = "grbl-servo"\nwork_area_mm = [420, 297]\ndescription = "my A3 plotter"\n')
    mine = load_machine(str(path))
    assert mine.name == "mine" and mine.pen == "servo" and mine.work_area_mm == (420.0, 297.0)
    assert "mine" in machine_profiles(path)


@pytest.mark.parametrize(
    "text, match",
    [
        ('name = "x"\nkind = "plotter"\nwork_aera_mm = [1, 2]\n', "unknown keys.*work_aera_mm"),
        ('name = "x"\nkind = "boat"\n', "unknown kind 'boat'"),
        ('name = "x"\nkind = "plotter"\nfeed_mm_min = [3000, 1000]\n', "min <= max"),
        ('name = "x"\nkind = "plotter"\nwork_area_mm = "big"\n', "must be a list"),
        ('name = "x"\nkind = "plotter"\nextends = "nothing"\n', "extends unknown"),
        ("name = [", "not valid TOML"),
    ],
)
def test_bad_profiles_are_named(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(MachineError, match=match):
        load_machine(str(path))


def test_missing_profile_file(tmp_path):
    with pytest.raises(MachineError, match="no such machine profile"):
        load_machine(str(tmp_path / "nope.toml"))


PAGE = Page(200.0, 100.0, 10.0)


@pytest.mark.parametrize(
    "origin, y_axis, page_point, machine_point, bounds",
    [
        ("bottom-left", "up", (0, 0), (0, 100), (0, 0, 300, 300)),  # page top-left is 100 mm up
        ("top-left", "down", (10, 20), (10, 20), (0, 0, 300, 300)),  # AxiDraw-like
        ("top-right", "up", (200, 0), (0, 0), (-300, -300, 0, 0)),  # GRBL homed to the back-right corner
        ("bottom-right", "up", (0, 100), (-200, 0), (-300, 0, 0, 300)),
    ],
)
def test_plotter_page_transform(origin, y_axis, page_point, machine_point, bounds):
    m = load_machine("grbl-servo").__class__(name="t", kind="plotter", origin=origin, y_axis=y_axis)
    xy = apply_affine(m.page_transform(PAGE), np.array([page_point]))[0]
    assert xy == pytest.approx(machine_point)
    assert m.bounds_mm() == bounds


def test_arm_transform_places_page_on_table():
    # Page x along base x, page y (down the sheet) along base -y, top-left corner at the paper origin.
    t = TOY_ARM.page_transform(PAGE)
    assert apply_affine(t, np.array([[0, 0], [10, 0], [0, 10]])) == pytest.approx(np.array([[100, 50], [110, 50], [100, 40]]))
    turned = TOY_ARM.__class__(name="t", kind="arm", paper_origin_mm=(0, 0, 0), paper_rotation_deg=90)
    assert apply_affine(turned.page_transform(PAGE), np.array([[10, 0]])) == pytest.approx(np.array([[0, 10]]))


def test_affine_inverse_round_trip():
    for m in (TOY_MACHINE, TOY_ARM, load_machine("ur-table"), load_machine("grbl-servo")):
        t = m.page_transform(PAGE)
        pts = np.array([[1.5, 2.5], [150, 80]])
        assert apply_affine(invert_affine(t), apply_affine(t, pts)) == pytest.approx(pts)


def test_describe_work_area():
    assert load_machine("grbl-servo").describe_work_area() == "X 0..300 Y 0..300 mm, origin bottom-left, Y up"
    assert load_machine("arm-table").describe_work_area() == "reach 150-850 mm around the base"
