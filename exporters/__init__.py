"""Writers and readers for machines (installed as ``igae_robot.exporters``).  Never imports torch.

A writer is ``write_x(sheet, stream, machine, **options)``: deterministic text to a stream.
A reader is ``read_x(stream, source) -> Sheet``: the strokes back in page millimetres, with the
layout metadata the file carries.  :func:`export_file` / :func:`read_file` add atomic files and
dispatch by format name or file suffix through two plain dicts; :func:`export_files` writes many
sheets, one file each (``igae vectorize``), through a writer's many-sheet form where it has one.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable, Sequence

from igae_robot.atomic import atomic_text_writer, atomic_write_text
from igae_robot.errors import CheckError, ExportError
from igae_robot.paper.machine import Machine
from igae_robot.paper.sheet import Sheet

from .gcode import read_gcode, write_gcode
from .svg import read_svg, svg_texts, write_svg
from .urscript import read_urscript, write_urscript
from .waypoints import read_waypoints_csv, read_waypoints_json, write_waypoints_csv, write_waypoints_json

__all__ = ["WRITERS", "READERS", "FORMATS", "export_file", "export_files", "read_file", "format_for"]

# format name -> writer
WRITERS: dict[str, Callable] = {
    "svg": write_svg,
    "gcode": write_gcode,
    "waypoints-json": write_waypoints_json,
    "waypoints-csv": write_waypoints_csv,
    "urscript": write_urscript,
}

# format name -> the texts of many sheets at once (formats whose writer has such a form)
MANY_WRITERS: dict[str, Callable] = {"svg": svg_texts}

# file suffix -> reader
READERS: dict[str, Callable] = {
    ".svg": read_svg,
    ".gcode": read_gcode,
    ".nc": read_gcode,
    ".ngc": read_gcode,
    ".json": read_waypoints_json,
    ".csv": read_waypoints_csv,
    ".script": read_urscript,
    ".urscript": read_urscript,
}

# what users type after --format
FORMATS = ("svg", "gcode", "waypoints", "urscript")


def format_for(fmt: str | None, path: str | os.PathLike) -> str:
    """Writer name for ``--format`` (or, if None, the output suffix).  ``waypoints`` -> json or csv by suffix."""
    suffix = Path(path).suffix.lower()
    if fmt is None:
        by_suffix = {".svg": "svg", ".gcode": "gcode", ".nc": "gcode", ".ngc": "gcode", ".json": "waypoints",
                     ".csv": "waypoints", ".script": "urscript", ".urscript": "urscript"}
        if suffix not in by_suffix:
            raise ExportError(f"cannot tell the format of {str(path)!r}; pass --format ({', '.join(FORMATS)})")
        fmt = by_suffix[suffix]
    if fmt == "waypoints":
        return "waypoints-csv" if suffix == ".csv" else "waypoints-json"
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return fmt


def export_file(sheet: Sheet, path: str | os.PathLike, fmt: str, machine: Machine | None = None, **options) -> Path:
    """Write ``sheet`` to ``path`` with writer ``fmt``: all or nothing (temp file, then rename).

    Every check (work area, reach) runs before the file appears, so a refused export leaves no file.
    """
    writer = WRITERS[fmt]
    with atomic_text_writer(path) as stream:
        writer(sheet, stream, machine, **options)
    return Path(path)


def export_files(
    sheets: Sequence[Sheet], paths: Sequence[str | os.PathLike], fmt: str, machine: Machine | None = None, **options
) -> list[str | os.PathLike | Exception]:
    """Write each sheet to its path with writer ``fmt``, each file all or nothing (as :func:`export_file`).

    Returns, per sheet, the path written (as given) or the exception that refused it (an ExportError for a move
    outside the work area, an OSError for a full disk): one sheet's failure does not stop the others.
    """
    out: list[str | os.PathLike | Exception] = []
    for path, text in zip(paths, _texts(sheets, fmt, machine, options)):
        if isinstance(text, Exception):
            out.append(text)
            continue
        try:
            atomic_write_text(path, text)
            out.append(path)
        except OSError as exc:
            out.append(exc)
    return out


def _texts(sheets: Sequence[Sheet], fmt: str, machine: Machine | None, options: dict) -> list[str | Exception]:
    """Each sheet's file content, or the exception its writer raised."""
    if fmt in MANY_WRITERS:
        try:
            return MANY_WRITERS[fmt](sheets, **options)
        except Exception:  # e.g. one sheet with a bad number: find which, one by one
            pass
    texts: list[str | Exception] = []
    for sheet in sheets:
        stream = io.StringIO()
        try:
            WRITERS[fmt](sheet, stream, machine, **options)
            texts.append(stream.getvalue())
        except Exception as exc:
            texts.append(exc)
    return texts


def read_file(path: str | os.PathLike) -> Sheet:
    """Read any exported file back to a Sheet, choosing the reader by suffix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CheckError(f"{path}: unknown file type {path.suffix!r}; readable: {', '.join(sorted(READERS))}")
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as stream:
            return reader(stream, str(path))
    except UnicodeDecodeError:
        raise CheckError(f"{path}: not a text file (expected {path.suffix} written by igae export)") from None
