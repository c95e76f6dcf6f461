"""``igae handwrite``: text in, plotter-ready handwriting out.

    igae handwrite "Call me at 555 0123" -o note.svg --size 8mm --page A5 --seed 7
    igae handwrite --file letter.txt -o letter.gcode --machine grbl-servo --width 150mm --line-spacing 1.6
    igae handwrite --file novel.txt -o novel.svg --pages      # novel-1.svg, novel-2.svg, ... one per page
    igae handwrite --styles                                    # the writing styles; --style NAME picks one
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer

from .app import command_group, console, out, user_errors

app = command_group()

# Below this many characters a text is written in about a second: a bar would only flicker.
_PROGRESS_CHARS = 2000


@contextlib.contextmanager
def _writing_progress(text: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback for writing a long text (a bar on stderr), else None."""
    if sum(not ch.isspace() for ch in text) < _PROGRESS_CHARS:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("writing"), BarColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("write", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _page_paths(output: Path, count: int) -> list[Path]:
    """``note.svg`` -> ``note-1.svg``, ``note-2.svg``, ... (``count`` of them)."""
    return [output.with_name(f"{output.stem}-{k}{output.suffix}") for k in range(1, count + 1)]


def _export_pages(sheets, output: Path, writer: str, profile, **options) -> list[Path]:
    """One numbered file per sheet, or none at all: every page is written to text first (a page that a machine
    refuses stops it before any file), each file appears whole (temp file, rename), and if the disk refuses one,
    the pages this run already wrote are removed again."""
    from igae_robot.atomic import check_output
    from igae_robot.errors import IgaeError
    from igae_robot.exporters import export_files

    paths = _page_paths(output, len(sheets))
    for path in paths:
        check_output(path)
    results = export_files(sheets, paths, writer, profile, **options)
    failed = [(path, r) for path, r in zip(paths, results) if isinstance(r, Exception)]
    if failed:
        for r in results:
            if not isinstance(r, Exception):
                with contextlib.suppress(OSError):
                    os.unlink(r)
        path, exc = failed[0]
        if isinstance(exc, IgaeError):  # which page: the writer's message names no file
            raise type(exc)(f"{path}: {exc} (no page written)") from None
        raise exc
    return paths


def _hands(style: str | None, hand: Path | None, digits_model: Path | None, letters_model: Path | None, data_dir: str, text: str) -> list:
    """The hands that write: the style's (default: the default style), or the given models; a learned hand first."""
    from igae_robot.errors import TextError
    from igae_robot.handwriting.styles import DEFAULT_STYLE, style_hands

    if digits_model or letters_model:
        if style:
            raise TextError("give --style or --digits-model/--letters-model, not both")
        from igae_robot.handwriting.writing import load_hands

        hands = load_hands(digits_model, letters_model, data_dir)
    else:
        hands = style_hands(style or DEFAULT_STYLE)
    if hand is None:
        return hands
    from igae_robot.handwriting.sample_hand import hands_with

    return hands_with(hand, hands, text)  # the learned hand first


@app.command()
@user_errors
def handwrite(
    text: Optional[str] = typer.Argument(None, help="the text to write (or --file); blank lines separate paragraphs"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="file to write: .svg .gcode .json .csv .script"),
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
    slant: Optional[float] = typer.Option(None, help="mean slant to the right, degrees (default 6; 0 with --hand, the writer's own, and for --style cursive)"),
    style: Optional[str] = typer.Option(None, "--style", help="the writing style (see --styles); with --hand, it writes what the hand lacks"),
    styles: bool = typer.Option(False, "--styles", help="list the writing styles and stop"),
    hand: Optional[Path] = typer.Option(None, "--hand", help="a hand learned with `igae hand learn`; characters it lacks come from --style, with a warning"),
    connect: bool = typer.Option(False, "--connect", help="join the letters of each word into one pen-down stroke"),
    fallback: bool = typer.Option(False, "--fallback", help="draw characters the style lacks from a single-stroke font"),
    digits_model: Optional[Path] = typer.Option(None, help="a trained checkpoint (e.g. igae train --data mnist) or hand .pt for digits"),
    letters_model: Optional[Path] = typer.Option(None, help="a trained checkpoint (e.g. igae train --data emnist-letters) or hand .pt for letters"),
    data_dir: str = typer.Option("", help="where a checkpoint's training data is (default: the folder it was trained from)"),
    home: bool = typer.Option(False, "--home", help="G-code: home the machine first ($H / G28)"),
    pages: bool = typer.Option(False, "--pages", help="a text longer than a page: one file per page, NAME-1.svg, NAME-2.svg, ..."),
) -> None:
    """Write text as handwriting drawn by gesture models, ready for a pen plotter (SVG, G-code, waypoints)."""
    from igae_robot.atomic import check_output
    from igae_robot.errors import TextError
    from igae_robot.exporters import default_machine, export_file, format_for
    from igae_robot.handwriting.writing import WritingStyle, write_pages, write_text
    from igae_robot.paper.machine import load_machine
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import plot_stats
    from igae_robot.units import to_mm

    if styles:
        from igae_robot.handwriting.styles import describe_styles

        for line in describe_styles():
            out.print(line, highlight=False, soft_wrap=True)
        return
    if output is None:
        raise TextError("give the file to write with -o/--output (e.g. -o note.svg)")
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
    hands = _hands(style, hand, digits_model, letters_model, data_dir, text)
    if slant is None:
        from igae_robot.handwriting.styles import DEFAULT_STYLE, default_slant

        slant = 0.0 if hand is not None else default_slant(style or DEFAULT_STYLE)
    style = WritingStyle(
        size_mm=to_mm(size), line_spacing=line_spacing, width_mm=to_mm(width), align=align.replace("center", "centre"),
        neatness=neatness, slant_deg=slant, connect=connect, fallback=fallback, seed=seed,
    )
    with _writing_progress(text) as progress:  # without --pages, a text longer than the page is one error line
        write = write_pages if pages else lambda *args: [write_text(*args)]
        sheets = write(text, hands, Page.from_spec(page, landscape, margin), style, progress)
    extra = {"home": home} if writer == "gcode" else {}
    written = _export_pages(sheets, output, writer, profile, **extra) if pages else [export_file(sheets[0], output, writer, profile, **extra)]
    target = f" for {profile.name}" if profile else ""
    for path, sheet in zip(written, sheets):
        console.print(f"wrote {path} ({writer}{target}, {len(sheet.placements)} glyphs on {sheet.page.describe()})", highlight=False, soft_wrap=True)
        out.print(plot_stats(sheet, profile).describe(), highlight=False, soft_wrap=True)
