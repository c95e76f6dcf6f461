"""Machine profiles: what a pen plotter or a robot arm can do, as data (TOML).

Built-in profiles live in ``igae_robot/machines/*.toml``; a user passes ``--machine my.toml`` (a
file may say ``extends = "grbl-servo"`` and override a few keys).  Two kinds:

* ``plotter`` -- G-code.  The page lies in the work area's ``origin`` corner; machine X points
  right, machine Y points ``y_axis`` ("up" or "down" the page).  The pen is a ``servo``
  (M3 S / M5, pressure -> S) or on ``z`` (pressure -> Z depth).
* ``arm`` -- waypoints / URScript.  The page lies on the table at ``paper_origin_mm`` (its top-left
  corner in the robot base frame) turned by ``paper_rotation_deg``; the tool must stay inside the
  ``reach_mm`` annulus around the base axis.

Both kinds map page millimetres (x right, y down) to machine XY by one affine map,
:meth:`Machine.page_transform`, that exporters store in their files so readers can undo it.

Profile text never becomes a command.  A profile's strings reach the machine (``name`` and
``description`` inside comments, ``header`` / ``home`` / ``footer`` as program lines), so:

* every string field must be printable text: no newline, tab or other control character (nor
  Unicode line separators) that could end a comment and start a command of its own;
* every number must be finite;
* each header / footer line of a plotter is one command from a short list, checked word by word
  (case-insensitive, no comments)::

      $H  $X            GRBL homing cycle, unlock
      G28               home (no axis words: RS274 would first travel through them)
      G17 G21 G90 G94   XY plane, millimetres, absolute, feed per minute (what the program assumes)
      G4 P<s>           dwell, 0..60 s
      M5                pen up (servo) / spindle off
      M18 M84           motors off (Marlin)
      G0 X.. Y.. Z..    footer only: travel inside the work area, a Z pen no lower than z_up_mm

  ``home`` is ``$H`` or ``G28``.  Header lines run before the program first lifts the pen, so they
  may not move; G1, M3, G20, G91, M2 and anything else are refused.  One list for every firmware:
  a GRBL word sent to Marlin (or the reverse) is answered "unknown command", never a move.
* arm profiles have no G-code lines; URScript takes only numbers from a profile, and its name
  and description only inside ``#`` comments.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from igae_robot.errors import MachineError
from igae_robot.paper.page import Page
from igae_robot.units import format_number

__all__ = ["Machine", "Affine", "machine_profiles", "load_machine", "KINDS", "ORIGINS"]

KINDS = ("plotter", "arm")
ORIGINS = ("bottom-left", "top-left", "bottom-right", "top-right")

# (a, b, c, d, e, f): x' = a x + b y + c,  y' = d x + e y + f
Affine = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class Machine:
    """One machine profile.  Every length is in mm, every speed in mm/min (G-code) or mm/s (arms)."""

    name: str
    kind: str  # "plotter" or "arm"
    description: str = ""
    # plotter: work area and axes
    work_area_mm: tuple[float, float] = (300.0, 300.0)  # X, Y travel
    origin: str = "bottom-left"  # corner of the work area where X0 Y0 is; the page lies in that corner
    y_axis: str = "up"  # machine +Y points "up" or "down" the page
    # plotter: pen
    pen: str = "servo"  # "servo" (M3 S / M5) or "z" (Z-axis lift)
    s_range: tuple[float, float] = (600.0, 1000.0)  # servo S while down, for pressure 0 .. 1
    z_up_mm: float = 5.0  # pen-up height (plotter: absolute Z; arm: above the paper)
    z_down_mm: float = 0.0  # plotter: Z touching the paper at pressure 0
    depth_mm: float = 0.5  # pressed this much deeper at pressure 1
    z_range_mm: tuple[float, float] = (-5.0, 20.0)  # plotter Z travel
    plunge_mm_min: float = 600.0  # plotter: feed of the pen-down Z move
    dwell_s: float = 0.0  # plotter: G4 after each pen move (servo settling)
    feed: str = "velocity"  # "velocity": feed follows the gesture's step speed; "constant": feed_mm_min[1]
    feed_mm_min: tuple[float, float] = (1000.0, 3000.0)  # plotter pen-down feed range
    travel_mm_min: float = 5000.0  # plotter G0 rate (time estimate)
    home: str = ""  # homing command written with --home ("$H", "G28"); "" = none
    header: tuple[str, ...] = ()  # extra lines after G21/G90
    footer: tuple[str, ...] = ()  # extra lines before the program end (M2)
    firmware_specific: tuple[str, ...] = ()  # commands that are not RS274/NGC (left out of interpreter checks)
    # arm
    reach_mm: tuple[float, float] = (150.0, 850.0)  # annulus around the base z axis
    paper_origin_mm: tuple[float, float, float] = (250.0, 150.0, 0.0)  # page top-left corner, base frame
    paper_rotation_deg: float = 0.0  # page x axis from base x, counter-clockwise seen from above
    speed_mm_s: tuple[float, float] = (20.0, 80.0)  # arm pen-down speed range
    travel_speed_mm_s: float = 200.0
    z_speed_mm_s: float = 50.0
    accel_mm_s2: float = 500.0
    blend_mm: float = 0.5  # URScript movep blend radius
    tool_rotation: tuple[float, float, float] = (0.0, math.pi, 0.0)  # rotation vector (rad), tool z down
    source: str = field(default="", compare=False)  # file the profile came from

    def __post_init__(self) -> None:
        _check_text(self)
        _check_finite(self)
        _choice(self, "kind", KINDS)
        _choice(self, "origin", ORIGINS)
        _choice(self, "y_axis", ("up", "down"))
        _choice(self, "pen", ("servo", "z"))
        _choice(self, "feed", ("velocity", "constant"))
        for name in ("s_range", "z_range_mm", "feed_mm_min", "reach_mm", "speed_mm_s"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise MachineError(f"machine {self.name!r}: {name} must be [min, max] with min <= max, got [{lo}, {hi}]")
        positive = ("travel_mm_min", "plunge_mm_min", "travel_speed_mm_s", "z_speed_mm_s", "accel_mm_s2")
        for name in positive:
            if not getattr(self, name) > 0:
                raise MachineError(f"machine {self.name!r}: {name} must be positive, got {getattr(self, name)}")
        if min(self.work_area_mm) <= 0 or self.feed_mm_min[0] <= 0 or self.speed_mm_s[0] <= 0:
            raise MachineError(f"machine {self.name!r}: work area, feeds and speeds must be positive")
        if self.dwell_s < 0 or self.depth_mm < 0 or self.blend_mm < 0:
            raise MachineError(f"machine {self.name!r}: dwell_s, depth_mm and blend_mm must not be negative")
        paper = self.z_down_mm if self.kind == "plotter" and self.pen == "z" else 0.0
        if (self.kind == "arm" or self.pen == "z") and not self.z_up_mm > paper:
            raise MachineError(
                f"machine {self.name!r}: z_up_mm {format_number(self.z_up_mm)} must be above the paper "
                f"({format_number(paper)}), or every travel drags the pen"
            )
        _check_lines(self)

    # ---- geometry -------------------------------------------------------------------------

    def page_transform(self, page: Page) -> Affine:
        """Page mm (x right, y down, origin top-left) -> machine XY mm."""
        if self.kind == "arm":
            # Page y points down the sheet, i.e. -y of a right-handed frame seen from above.
            t = math.radians(self.paper_rotation_deg)
            c, s = math.cos(t), math.sin(t)
            ox, oy, _ = self.paper_origin_mm
            return (c, s, ox, s, -c, oy)
        x_shift = -page.width_mm if self.origin.endswith("right") else 0.0
        y_origin = page.height_mm if self.origin.startswith("bottom") else 0.0
        sign = -1.0 if self.y_axis == "up" else 1.0
        return (1.0, 0.0, x_shift, 0.0, sign, -sign * y_origin)

    def bounds_mm(self) -> tuple[float, float, float, float]:
        """Plotter: (xmin, ymin, xmax, ymax) of the work area in machine coordinates."""
        w, h = self.work_area_mm
        xs = (-w, 0.0) if self.origin.endswith("right") else (0.0, w)
        # Y grows away from the origin corner when it points into the work area.
        into = (self.origin.startswith("bottom") and self.y_axis == "up") or (
            self.origin.startswith("top") and self.y_axis == "down"
        )
        ys = (0.0, h) if into else (-h, 0.0)
        return (xs[0], ys[0], xs[1], ys[1])

    def pen_z_mm(self, pressure: np.ndarray) -> np.ndarray:
        """Z of the pen tip while down, for pressure (N,) in [0,1]: plotter absolute Z, arm above the paper."""
        surface = self.z_down_mm if self.kind == "plotter" else 0.0
        return surface - np.asarray(pressure) * self.depth_mm

    def pen_up_gcode(self) -> tuple[str, ...]:
        """The G-code lines that lift this plotter's pen and wait for it (the exporter writes them after every
        stroke; ``igae plot`` sends them after a stop)."""
        lift = "M5" if self.pen == "servo" else f"G0 Z{format_number(self.z_up_mm)}"
        return (lift, f"G4 P{format_number(self.dwell_s)}") if self.dwell_s > 0 else (lift,)

    def describe_work_area(self) -> str:
        if self.kind == "arm":
            lo, hi = self.reach_mm
            return f"reach {format_number(lo)}-{format_number(hi)} mm around the base"
        x0, y0, x1, y1 = self.bounds_mm()
        return (
            f"X {format_number(x0)}..{format_number(x1)} Y {format_number(y0)}..{format_number(y1)} mm, "
            f"origin {self.origin}, Y {self.y_axis}"
        )


def apply_affine(transform: Affine, points: np.ndarray) -> np.ndarray:
    """points (N,2) -> (N,2) through x' = a x + b y + c, y' = d x + e y + f."""
    a, b, c, d, e, f = transform
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.stack([a * pts[:, 0] + b * pts[:, 1] + c, d * pts[:, 0] + e * pts[:, 1] + f], axis=1)


def invert_affine(transform: Affine) -> Affine:
    a, b, c, d, e, f = transform
    det = a * e - b * d
    if abs(det) < 1e-12:
        raise MachineError(f"page transform {transform} cannot be inverted")
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return (ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f))


_TEXT_FIELDS = ("name", "kind", "description", "origin", "y_axis", "pen", "feed", "home", "header", "footer", "firmware_specific")


def _check_text(m: Machine) -> None:
    """Every string field printable: a newline in a description would end its comment and run the rest."""
    for key in _TEXT_FIELDS:
        value = getattr(m, key)
        for text in value if isinstance(value, tuple) else (value,):
            if not isinstance(text, str):
                raise MachineError(f"machine {m.name!r}: {key} must be text, got {text!r}")
            if not text.isprintable():
                raise MachineError(
                    f"machine {m.name!r}: {key} {text!r} holds a control character (newline, tab...); profile text must be printable"
                )


def _check_finite(m: Machine) -> None:
    for f in fields(m):
        value = getattr(m, f.name)
        numbers = value if isinstance(value, tuple) else (value,)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) and numbers:
            if not all(math.isfinite(v) for v in numbers):
                raise MachineError(f"machine {m.name!r}: {f.name} must be finite numbers, got {value!r}")


# The G-code a profile's header / footer may hold (see the module docstring): command -> its parameter letters.
_SYSTEM_COMMANDS = ("$H", "$X")
_PROFILE_COMMANDS = {"G17": "", "G21": "", "G90": "", "G94": "", "G28": "", "G4": "P", "M5": "", "M18": "", "M84": "", "G0": "XYZ"}
_HOMING = ("$H", "G28")
_MAX_DWELL_S = 60.0
_KNOWN_LINES = "$H $X G28 G17 G21 G90 G94 G4 P<s> M5 M18 M84, and in the footer G0 X.. Y.. Z.. inside the work area"
_GCODE_WORD = re.compile(r"([A-Z])\s*([-+]?(?:\d+\.?\d*|\.\d+))")


def _check_lines(m: Machine) -> None:
    """home is a homing command; header and footer lines are known commands, footer moves stay inside."""
    if m.kind == "arm":
        for key in ("home", "header", "footer"):
            if getattr(m, key):
                raise MachineError(f"machine {m.name!r}: {key} is G-code for plotters; an arm profile has none")
        return
    if m.home and m.home.strip().upper() not in _HOMING:
        raise MachineError(f"machine {m.name!r}: home {m.home!r} is not a homing command; known: $H (GRBL), G28")
    for key in ("header", "footer"):
        for line in getattr(m, key):
            problem = _line_problem(m, line, may_move=key == "footer")
            if problem:
                raise MachineError(f"machine {m.name!r}: {key} line {line!r} {problem}")


def _line_problem(m: Machine, line: str, may_move: bool) -> str | None:
    """Why a header / footer line may not go to the machine, or None."""
    text = line.strip().upper()
    if text in _SYSTEM_COMMANDS:
        return None
    words = _GCODE_WORD.findall(text)
    if not words or "".join(a + b for a, b in words) != re.sub(r"\s+", "", text):
        return f"is not one plain G-code command (no comments); known: {_KNOWN_LINES}"
    letter, number = words[0]
    command = f"{letter}{int(float(number))}" if float(number).is_integer() else text
    params = {a: float(b) for a, b in words[1:]}
    if command not in _PROFILE_COMMANDS or len(params) != len(words) - 1 or not set(params) <= set(_PROFILE_COMMANDS[command]):
        return f"is not a command a profile may send; known: {_KNOWN_LINES}"
    if command == "G4" and not 0 <= params.get("P", -1) <= _MAX_DWELL_S:
        return f"must dwell P0..{format_number(_MAX_DWELL_S)} seconds"
    if command == "G0":
        return _move_problem(m, params) if may_move else "moves before the program lifts the pen; only footer lines may travel"
    return None


def _move_problem(m: Machine, target: dict[str, float]) -> str | None:
    x0, y0, x1, y1 = m.bounds_mm()
    if not target:
        return "is a G0 without a target"
    if not (x0 <= target.get("X", x0) <= x1 and y0 <= target.get("Y", y0) <= y1):
        return f"travels outside the work area ({m.describe_work_area()})"
    lo, hi = m.z_range_mm
    if m.pen == "z":
        lo = max(lo, m.z_up_mm)  # never lower the pen: a footer travel would drag it
    if "Z" in target and not lo <= target["Z"] <= hi:
        return f"moves Z outside {format_number(lo)}..{format_number(hi)} mm (pen up, inside the Z range)"
    return None


def _choice(m: Machine, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(m, name)
    if value not in choices:
        raise MachineError(f"machine {m.name!r}: unknown {name} {value!r}; known: {', '.join(choices)}")


# ---- loading ---------------------------------------------------------------------------------

_FIELDS = {f.name: f for f in fields(Machine) if f.name != "source"}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise MachineError(f"{path}: cannot read machine profile ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise MachineError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise MachineError(f"{path}: not a UTF-8 text file; a machine profile is TOML text") from None


def _builtin_tables() -> dict[str, dict[str, Any]]:
    tables = {}
    for entry in sorted(resources.files("igae_robot.paper.machines").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            table = tomllib.loads(entry.read_text(encoding="utf-8"))
            table.setdefault("name", entry.name[: -len(".toml")])
            table["source"] = f"built-in ({entry.name})"
            tables[table["name"]] = table
    return tables


def _resolve(table: dict[str, Any], tables: dict[str, dict[str, Any]], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The table with its ``extends`` chain merged in (child keys win)."""
    own = {k: v for k, v in table.items() if k != "extends"}
    parent = table.get("extends")
    if parent is None:
        return own
    if parent in seen or parent not in tables:
        known = ", ".join(sorted(tables))
        raise MachineError(f"machine {table.get('name', '?')!r} extends unknown or circular profile {parent!r}; known: {known}")
    return {**_resolve(tables[parent], tables, (*seen, parent)), **own}


def _build(table: dict[str, Any], tables: dict[str, dict[str, Any]]) -> Machine:
    """Resolve ``extends``, check keys and types, build the Machine."""
    merged = _resolve(table, tables, (table.get("name", "?"),))
    name = merged.get("name", "?")
    unknown = sorted(set(merged) - set(_FIELDS) - {"source"})
    if unknown:
        raise MachineError(f"machine {name!r}: unknown keys {unknown}; known: {', '.join(sorted(_FIELDS))}")
    kwargs = {k: _coerce(name, k, v) for k, v in merged.items() if k != "source"}
    if "kind" not in kwargs or "name" not in kwargs:
        raise MachineError(f"machine profile {name!r} needs at least 'name' and 'kind' ({' or '.join(KINDS)})")
    return Machine(**kwargs, source=str(merged.get("source", "")))


def _coerce(machine: str, key: str, value: Any) -> Any:
    default = _FIELDS[key].default
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise MachineError(f"machine {machine!r}: {key} must be a list, got {value!r}")
        if default and not isinstance(default[0], str):
            if len(value) != len(default) or not all(isinstance(v, (int, float)) for v in value):
                raise MachineError(f"machine {machine!r}: {key} must be a list of {len(default)} numbers, got {value!r}")
            return tuple(float(v) for v in value)
        return tuple(str(v) for v in value)
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise MachineError(f"machine {machine!r}: {key} must be a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise MachineError(f"machine {machine!r}: {key} must be a string, got {value!r}")
    return value


def machine_profiles(*files: str | Path) -> dict[str, Machine]:
    """Built-in profiles plus the profiles in ``files`` (a user file may extend a built-in one)."""
    tables = _builtin_tables()
    for file in files:
        path = Path(file)
        table = _read_toml(path)
        table.setdefault("name", path.stem)
        table["source"] = str(path)
        tables[table["name"]] = table
    return {name: _build(table, tables) for name, table in sorted(tables.items())}


def load_machine(name_or_path: str | Path) -> Machine:
    """A built-in profile by name (``"grbl-servo"``) or a user profile from a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise MachineError(f"{path}: no such machine profile file")
        table = _read_toml(path)
        table.setdefault("name", path.stem)
        table["source"] = str(path)
        return _build(table, _builtin_tables())
    tables = _builtin_tables()
    if text not in tables:
        raise MachineError(f"unknown machine {text!r}; known: {', '.join(sorted(tables))} (or a path to a .toml profile)")
    return _build(tables[text], tables)
