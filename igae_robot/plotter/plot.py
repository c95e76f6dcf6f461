"""``igae plot`` as library calls: read a G-code file for GRBL, find how its machine lifts the pen,
open the port, check and stream it (:func:`plot_file`), or only show what would be sent (:func:`dry_run`).

The pen-up lines after a stop come from, in order: ``--machine`` (a profile, the way
exporters/gcode.py lifts the pen: servo ``M5``, Z pen ``G0 Z<z_up_mm>``, each then ``G4 P<dwell_s>``
when the profile dwells); the file's own ``; igae machine`` / ``; igae pen`` lines (every file
``igae export`` writes has them); else none, and a stop says the pen may still be down.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from igae_robot.errors import MachineError, PlotError
from igae_robot.paper.machine import Machine, load_machine
from igae_robot.units import format_number

from .grbl import Line, Program, Refusal, describe_error, lines_to_send, parse_program
from .sender import MODES, GrblSender, PlotReport, Progress

__all__ = ["read_program", "pen_up_lines", "pen_up_for", "open_port", "plot_file", "dry_run", "DryRun"]


def read_program(path: str | Path) -> Program:
    """A G-code file read for GRBL (OSError when it cannot be read: the CLI names the path)."""
    return parse_program(Path(path).read_bytes(), str(path))


def pen_up_lines(machine: Machine) -> tuple[str, ...]:
    """The lines that lift ``machine``'s pen, as the G-code exporter writes them."""
    if machine.kind != "plotter":
        raise PlotError(f"igae plot needs a plotter profile (grbl-servo, grbl-z...), got {machine.name!r} ({machine.kind})")
    return machine.pen_up_gcode()


def pen_up_for(program: Program, machine: str | None = None) -> tuple[str, ...]:
    """The pen-up lines for ``program``: ``machine`` (a profile name or .toml), else the file's igae metadata."""
    if machine:
        return pen_up_lines(load_machine(machine))
    pen = program.meta.get("pen", ())
    named = program.meta.get("machine", ())
    with contextlib.suppress(MachineError):
        profile = load_machine(named[0]) if named and not named[0].endswith(".toml") else None
        if profile is not None and profile.kind == "plotter" and pen[:1] == (profile.pen,):
            return pen_up_lines(profile)
    if pen[:1] == ("servo",):
        return ("M5",)
    if pen[:1] == ("z",) and len(pen) > 1 and _finite(pen[1]):
        return (f"G0 Z{format_number(float(pen[1]))}",)
    return ()


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def open_port(name: str, baud: int = 115200):
    """A pyserial port (a device like /dev/ttyUSB0 or COM3, or a pyserial URL like socket://host:23)."""
    import serial

    try:
        return serial.serial_for_url(name, baudrate=baud, timeout=0.01)
    except (serial.SerialException, ValueError) as exc:
        raise PlotError(f"cannot open serial port {name}: {exc}") from None


def _checked(program: Program, from_line: int) -> None:
    """PlotError for a refused line, or a --from-line that does not lie in the file."""
    message = program.refusal_message()
    if message:
        raise PlotError(message)
    last = program.lines[-1].number if program.lines else 0
    if not 1 <= from_line <= last:
        raise PlotError(f"{program.source}: --from-line {from_line} is outside the lines to send (1..{last})")


def _check_message(program: Program, report: PlotReport) -> str:
    shown = "; ".join(f"{program.source}:{n}: {describe_error(code)}" for n, code in report.errors[:3])
    more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
    return f"GRBL's check mode ($C) refused {len(report.errors)} line(s): {shown}{more}; nothing was plotted"


def plot_file(
    path: str | Path, port: str, *, baud: int = 115200, mode: str = "counting", from_line: int = 1,
    check: bool = False, machine: str | None = None, on_progress: Callable[[Progress], None] | None = None,
    opener: Callable = open_port, on_sender: Callable[[GrblSender], None] | None = None, **sender_options,
) -> PlotReport:
    """Plot a G-code file on the GRBL controller at ``port``: every line checked before the port opens;
    with ``check``, the file first runs through GRBL's check mode and any refused line stops everything.
    PlotError for every stop (naming the line and the --from-line to resume at).  ``on_sender`` gets the
    sender before it connects, for a caller that pauses and resumes it (its hold and resume only queue a byte)."""
    if mode not in MODES:
        raise PlotError(f"unknown --mode {mode!r}; known: {', '.join(MODES)}")
    program = read_program(path)
    _checked(program, from_line)
    pen_up = pen_up_for(program, machine)
    with contextlib.closing(opener(port, baud)) as stream:
        sender = GrblSender(stream, port_name=port, mode=mode, pen_up=pen_up, on_progress=on_progress, **sender_options)
        if on_sender is not None:
            on_sender(sender)
        sender.connect()
        if check:
            report = sender.check(program, from_line)
            if report.errors:
                raise PlotError(_check_message(program, report))
        return sender.stream(program, from_line)


@dataclass(frozen=True)
class DryRun:
    program: Program
    lines: tuple[Line, ...]  # what would be sent, in order (number 0: the resume prelude)
    refusals: tuple[Refusal, ...]
    pen_up: tuple[str, ...]


def dry_run(path: str | Path, from_line: int = 1, machine: str | None = None) -> DryRun:
    """What :func:`plot_file` would send, without opening a port; refused lines are listed, not raised."""
    program = read_program(path)
    last = program.lines[-1].number if program.lines else 0
    if not 1 <= from_line <= max(last, 1):
        raise PlotError(f"{program.source}: --from-line {from_line} is outside the lines to send (1..{last})")
    pen_up = pen_up_for(program, machine)
    return DryRun(program, lines_to_send(program, from_line, pen_up), program.refusals, pen_up)
