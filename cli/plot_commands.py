"""The plotting command: stream a G-code file to a GRBL 1.1 controller over a serial port.

    igae plot sheet.gcode --port /dev/ttyUSB0
    igae plot sheet.gcode --port /dev/ttyUSB0 --check           # GRBL's check mode ($C) runs the file first
    igae plot sheet.gcode --port /dev/ttyUSB0 --from-line 812   # resume after a stop (the pen is lifted first)
    igae plot sheet.gcode --dry-run                             # what would be sent; no port is opened

Space (or p / r) pauses and resumes the plot: GRBL's feed hold ``!`` and resume ``~``.  Ctrl-C stops cleanly:
feed hold, soft reset, pen up.  Never loads torch.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.markup import escape

from .app import EXIT_USER_ERROR, command_group, console, out, user_errors

app = command_group()


@app.command()
@user_errors
def plot(
    gcode: Path = typer.Argument(..., help="G-code file to plot (from igae export, vectorize or handwrite, or any GRBL program)"),
    port: Optional[str] = typer.Option(None, "--port", "-p", help="serial port: /dev/ttyUSB0, COM3, or a pyserial URL like socket://host:23"),
    baud: int = typer.Option(115200, help="baud rate (GRBL 1.1: 115200)"),
    mode: str = typer.Option("counting", help="counting: keep GRBL's 128-byte buffer full (smooth); simple: send a line, wait for its ok"),
    from_line: int = typer.Option(1, "--from-line", help="start at this line of the file, to resume after a stop"),
    check: bool = typer.Option(False, "--check", help="first run the file through GRBL's check mode ($C); plot only if every line passes"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the lines that would be sent, with their line numbers; open no port"),
    machine: Optional[str] = typer.Option(None, "--machine", "-m", help="profile whose pen-up lines lift the pen after a stop (default: the file's)"),
) -> None:
    """Plot a G-code file on a GRBL 1.1 plotter over a serial port, with progress; Ctrl-C stops cleanly (pen up)."""
    from igae_robot.errors import ConfigError
    from igae_robot.plotter import dry_run as plan
    from igae_robot.plotter import plot_file

    if dry_run:
        _print_dry_run(plan(gcode, from_line, machine))
        return
    if not port:
        raise ConfigError("--port is required (e.g. --port /dev/ttyUSB0), or use --dry-run to see what would be sent")
    if baud <= 0:
        raise ConfigError(f"--baud must be a positive baud rate, got {baud}")
    senders: list = []
    with _keyboard() as key, _progress_bar() as show:

        def on_progress(p) -> None:
            action = key_action(key(), p.state)
            if action and senders:
                getattr(senders[0], action)()  # hold() or resume(): GRBL's ! or ~
            show(p)

        report = plot_file(gcode, port, baud=baud, mode=mode, from_line=from_line, check=check, machine=machine,
                           on_progress=on_progress, on_sender=senders.append)
    console.print(f"plotted {gcode}: {report.acked} lines in {_duration(report.elapsed_s)}", highlight=False, soft_wrap=True)


def _print_dry_run(run) -> None:
    for line in run.lines:
        where = f"{line.number:>6}" if line.number else "resume"
        out.print(f"{where}  {escape(line.text)}", highlight=False, soft_wrap=True)
    for refusal in run.refusals:
        console.print(f"[bold red]refused:[/] {escape(run.program.source)}:{refusal.number}: {escape(refusal.reason)}",
                      highlight=False, soft_wrap=True)
    pen = " / ".join(run.pen_up) or "none known (give --machine)"
    refused = f", {len(run.refusals)} line(s) refused: nothing would be sent" if run.refusals else ""
    console.print(f"{len(run.lines)} lines to send{refused}; pen up after a stop: {escape(pen)}", highlight=False, soft_wrap=True)
    if run.refusals:
        raise typer.Exit(EXIT_USER_ERROR)


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable]:
    """An on_progress callback drawing a bar on stderr: lines, file line, GRBL state, position, ETA."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("line {task.fields[line]}"),
               TextColumn("{task.fields[state]}"), TextColumn("{task.fields[position]}"), TimeElapsedColumn(),
               TextColumn("ETA {task.fields[eta]}"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("connecting", total=None, line="-", state="", position="", eta="--:--")
        console.print("space: pause / resume, Ctrl-C: stop (pen up)", highlight=False)

        def on_progress(p) -> None:
            position = " ".join(f"{axis}{v:.2f}" for axis, v in zip("XYZ", p.position or ()))
            eta = _duration(p.eta_s) if p.eta_s is not None else "--:--"
            bar.update(task, description=p.phase, completed=p.acked, total=p.total, line=p.line or "-",
                       state=p.state, position=position, eta=eta)

        yield on_progress


def key_action(key: str | None, state: str) -> str | None:
    """What a key pressed during a plot asks the sender: "hold" (space or p while running), "resume" (space
    or r while held), or nothing."""
    if key in (" ", "p", "P") and state != "Hold":
        return "hold"
    if key in (" ", "r", "R") and state == "Hold":
        return "resume"
    return None


@contextlib.contextmanager
def _keyboard() -> Iterator[Callable[[], str | None]]:
    """A function returning the key pressed since the last call (or None), with the terminal in cbreak mode
    (keys arrive unbuffered, Ctrl-C still interrupts) while the plot runs; None always without a terminal."""
    import select
    import sys

    if not sys.stdin.isatty():
        yield lambda: None
        return
    import termios
    import tty

    saved = termios.tcgetattr(sys.stdin)
    tty.setcbreak(sys.stdin)
    try:
        yield lambda: sys.stdin.read(1) if select.select([sys.stdin], [], [], 0)[0] else None
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
