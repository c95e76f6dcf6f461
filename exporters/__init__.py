"""Writers and readers for machines (installed as ``igae_robot.exporters``).  Never imports torch.

A writer is ``write_x(sheet, stream, machine, **options)``: deterministic text to a stream.
A reader is ``read_x(stream, source) -> Sheet``: the strokes back in page millimetres, with the
layout metadata the file carries.  :func:`export_file` / :func:`read_file` add atomic files and
dispatch by format name or file suffix through the one format table (:data:`TABLE`: suffixes,
writer, reader, machine kind, default machine, many-sheet writer); :func:`export_files` writes many
sheets, one file each (``igae vectorize``), through a writer's many-sheet form where it has one.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
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

__all__ = [
    "Format", "TABLE", "WRITERS", "READERS", "FORMATS",
    "export_file", "export_files", "read_file", "format_for", "format_named", "default_machine",
]


@dataclass(frozen=True)
class Format:
    """One writer and its reader: how a format is named, which files it reads and writes, which machine draws it."""

    name: str  # the writer's name (export_file's ``fmt``)
    family: str  # what users type after --format
    suffixes: tuple[str, ...]  # file suffixes it reads; the first is the one vectorize writes
    write: Callable  # write_x(sheet, stream, machine, **options)
    read: Callable  # read_x(stream, source) -> Sheet
    machine_kind: str | None = None  # the profile kind it needs: "plotter", "arm", or None (SVG: none)
    default_machine: str | None = None  # the built-in profile used when none is named
    write_many: Callable | None = None  # the texts of many sheets at once, where the writer has such a form


# The one format table: every other name below is a view of it.
TABLE: tuple[Format, ...] = (
    Format("svg", "svg", (".svg",), write_svg, read_svg, write_many=svg_texts),
    Format("gcode", "gcode", (".gcode", ".nc", ".ngc"), write_gcode, read_gcode, "plotter", "grbl-servo"),
    Format("waypoints-json", "waypoints", (".json",), write_waypoints_json, read_waypoints_json, "arm", "arm-table"),
    Format("waypoints-csv", "waypoints", (".csv",), write_waypoints_csv, read_waypoints_csv, "arm", "arm-table"),
    Format("urscript", "urscript", (".script", ".urscript"), write_urscript, read_urscript, "arm", "ur-table"),
)

# writer name -> writer
WRITERS: dict[str, Callable] = {f.name: f.write for f in TABLE}

# file suffix -> reader
READERS: dict[str, Callable] = {suffix: f.read for f in TABLE for suffix in f.suffixes}

# what users type after --format
FORMATS = tuple(dict.fromkeys(f.family for f in TABLE))

_BY_NAME = {f.name: f for f in TABLE}
_BY_SUFFIX = {suffix: f for f in TABLE for suffix in f.suffixes}


def format_named(family: str) -> Format:
    """The format users call ``family`` (``--format``), its first writer for a family of several
    (``waypoints``: JSON); ExportError listing the known names otherwise."""
    for f in TABLE:
        if family in (f.family, f.name):
            return f
    raise ExportError(f"unknown format {family!r}; known: {', '.join(FORMATS)}")


def default_machine(fmt: str) -> str | None:
    """The built-in profile that draws writer or family ``fmt`` when none is named (None for SVG)."""
    return format_named(fmt).default_machine


def format_for(fmt: str | None, path: str | os.PathLike) -> str:
    """Writer name for ``--format`` (or, if None, the output suffix).  ``waypoints`` -> json or csv by suffix."""
    suffix = Path(path).suffix.lower()
    if fmt is None:
        if suffix not in _BY_SUFFIX:
            raise ExportError(f"cannot tell the format of {str(path)!r}; pass --format ({', '.join(FORMATS)})")
        fmt = _BY_SUFFIX[suffix].family
    if fmt == "waypoints":
        return "waypoints-csv" if suffix == ".csv" else "waypoints-json"
    if fmt not in _BY_NAME:
        raise ExportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return fmt


def export_file(sheet: Sheet, path: str | os.PathLike, fmt: str, machine: Machine | None = None, **options) -> Path:
    """Write ``sheet`` to ``path`` with writer ``fmt``: all or nothing (temp file, then rename).

    Every check (work area, reach) runs before the file appears, so a refused export leaves no file.
    """
    writer = _BY_NAME[fmt].write
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
    many = _BY_NAME[fmt].write_many
    if many is not None:
        try:
            return many(sheets, **options)
        except Exception:  # e.g. one sheet with a bad number: find which, one by one
            pass
    texts: list[str | Exception] = []
    for sheet in sheets:
        stream = io.StringIO()
        try:
            _BY_NAME[fmt].write(sheet, stream, machine, **options)
            texts.append(stream.getvalue())
        except Exception as exc:
            texts.append(exc)
    return texts


def read_file(path: str | os.PathLike) -> Sheet:
    """Read any exported file back to a Sheet, choosing the reader by suffix."""
    path = Path(path)
    found = _BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise CheckError(f"{path}: unknown file type {path.suffix!r}; readable: {', '.join(sorted(READERS))}")
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as stream:
            return found.read(stream, str(path))
    except UnicodeDecodeError:
        raise CheckError(f"{path}: not a text file (expected {path.suffix} written by igae export)") from None
