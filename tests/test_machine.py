"""paper/machine.py: machine profiles (TOML), errors that name the problem, page -> machine maps."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_machine import TOY_ARM, TOY_MACHINE

from igae_robot.errors import MachineError
from igae_robot.paper.machine import apply_affine, invert_affine, load_machine, machine_profiles
from igae_robot.paper.page import Page


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
