"""``igae preview``: watch a plot file in time order before a machine draws it.

    igae preview sheet.gcode                      # sheet.gcode.html + sheet.gcode.png
    igae preview page.svg -o page.html --png page.png --machine grbl-z
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import command_group, console, out, user_errors

app = command_group()


@app.command()
@user_errors
def preview(
    file: Path = typer.Argument(..., help="a plot file: .svg, .gcode (.nc .ngc), waypoints .json or .csv, .script"),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="the HTML page (default: FILE.html, e.g. sheet.gcode.html)"),
    png: Optional[Path] = typer.Option(None, "--png", help="the still picture (default: FILE.png)"),
    machine: Optional[str] = typer.Option(
        None, "--machine", "-m", help="profile whose speeds time the plot (default: the file's, else the format's)"),
) -> None:
    """Write one self-contained HTML page that animates the plot in time order (ink, dashed pen-up travel,
    the pen's position, elapsed / total time, play / pause / scrub / speed) and a still PNG of it.

    Open the page at ``PAGE.html?t=end`` (or ``#end``) to see the finished drawing."""
    from igae_robot.exporters.preview import write_preview

    html = output if output is not None else file.with_name(file.name + ".html")
    picture = png if png is not None else file.with_name(file.name + ".png")
    line = write_preview(file, html, picture, machine)
    strokes = sum(m.down for m in line.moves)
    minutes, seconds = divmod(round(line.total_s), 60)
    console.print(f"wrote {html} and {picture}", highlight=False, soft_wrap=True)
    out.print(f"{strokes} strokes, plot time {minutes} min {seconds:02d} s on {line.machine}", highlight=False)
