"""``igae handwrite``: text in, plotter-ready handwriting out.

    igae handwrite "Call me at 555 0123" -o note.svg --size 8mm --page A5 --seed 7
    igae handwrite --file letter.txt -o letter.gcode --machine grbl-servo --width 150mm --line-spacing 1.6
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import command_group, console, out, user_errors

app = command_group()


@app.command()
@user_errors
def handwrite(
    text: Optional[str] = typer.Argument(None, help="the text to write (or --file); blank lines separate paragraphs"),
    output: Path = typer.Option(..., "-o", "--output", help="file to write: .svg .gcode .json .csv .script"),
    file: Optional[Path] = typer.Option(None, "--file", help="read the text from this UTF-8 file"),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="svg, gcode, waypoints, urscript; default: from -o"),
    machine: Optional[str] = typer.Option(None, "--machine", "-m", help="profile name (see `igae machines`) or a .toml file"),
    page: str = typer.Option("A4", help="A3, A4, A5, Letter, or WIDTHxHEIGHT like 200x150mm"),
    landscape: bool = typer.Option(False, "--landscape/--portrait", help="page orientation"),
    margin: str = typer.Option("15mm", help="margin on every side"),
    size: str = typer.Option("6mm", help="height of capitals and digits"),
    width: str = typer.Option("0", help="line width, e.g. 150mm (0: the page between its margins)"),
    line_spacing: float = typer.Option(1.5, help="distance of lines, in line heights (cap height + descender)"),
    align: str = typer.Option("left", help="left, centre or right"),
    seed: int = typer.Option(0, help="the same text and seed give the same file; another seed, other glyphs"),
    neatness: float = typer.Option(0.8, help="1: the most typical glyphs, no jitter; 0: 1.5 times the natural spread"),
    slant: float = typer.Option(6.0, help="mean slant to the right, degrees"),
    connect: bool = typer.Option(False, "--connect", help="join the letters of each word into one pen-down stroke"),
    fallback: bool = typer.Option(False, "--fallback", help="draw characters no model knows from a single-stroke font"),
    digits_model: Optional[Path] = typer.Option(None, help="a trained checkpoint (e.g. igae train --data mnist) or hand .pt for digits"),
    letters_model: Optional[Path] = typer.Option(None, help="a trained checkpoint (e.g. igae train --data emnist-letters) or hand .pt for letters"),
    data_dir: str = typer.Option("", help="where a checkpoint's training data is (default: the folder it was trained from)"),
    home: bool = typer.Option(False, "--home", help="G-code: home the machine first ($H / G28)"),
) -> None:
    """Write text as handwriting drawn by gesture models, ready for a pen plotter (SVG, G-code, waypoints)."""
    from igae_robot.atomic import check_output
    from igae_robot.errors import TextError
    from igae_robot.exporters import default_machine, export_file, format_for
    from igae_robot.handwriting.writing import WritingStyle, load_hands, write_text
    from igae_robot.paper.machine import load_machine
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import plot_stats
    from igae_robot.units import to_mm

    if (text is None) == (file is None):
        raise TextError("give the text as an argument or with --file (one of them)")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8-sig")  # a BOM (Windows editors write one) is not text
        except (OSError, UnicodeDecodeError) as exc:
            raise TextError(f"{file}: cannot read the text ({exc})") from None
    writer = format_for(format, output)
    check_output(output)
    default = default_machine(writer)
    profile = load_machine(machine or default) if default or machine else None
    hands = load_hands(digits_model, letters_model, data_dir)
    style = WritingStyle(
        size_mm=to_mm(size), line_spacing=line_spacing, width_mm=to_mm(width), align=align.replace("center", "centre"),
        neatness=neatness, slant_deg=slant, connect=connect, fallback=fallback, seed=seed,
    )
    sheet = write_text(text, hands, Page.from_spec(page, landscape, margin), style)
    extra = {"home": home} if writer == "gcode" else {}
    export_file(sheet, output, writer, profile, **extra)
    target = f" for {profile.name}" if profile else ""
    console.print(f"wrote {output} ({writer}{target}, {len(sheet.placements)} glyphs on {sheet.page.describe()})", highlight=False, soft_wrap=True)
    out.print(plot_stats(sheet, profile).describe(), highlight=False, soft_wrap=True)
