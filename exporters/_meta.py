"""The igae metadata every exported file carries, as plain text lines, and its reader.

Each writer puts these lines in its own comment syntax (``; `` in G-code, ``# `` in CSV and
URScript, ``<desc>`` in SVG; JSON has the same facts as fields).  They say where each glyph sits
on the page and how machine coordinates and pen values map back to page millimetres and
pressure, so a reader can turn a plotted file back into strokes on the model's canvas::

    igae sheet 1
    igae page 210 297 margin 10 name A4
    igae pen-threshold 0.5 0.35
    igae glyph 0 label 3 row 0 col 0 scale 19.5 at 10 10
    igae machine grbl-servo
    igae transform 1 0 0 0 -1 297          (page mm -> machine mm, see Machine.page_transform)
    igae pen servo 600 1000                (or: pen z <up> <down> <depth>, pen arm <paper z> <up> <depth>)
    igae stroke 7 glyph 3                  (before each stroke)

Lines are short (GRBL senders choke on long ones) and contain no parentheses.
"""

from __future__ import annotations

import functools
from typing import Iterable

from igae_robot.errors import CheckError
from igae_robot.gesture import release_level
from igae_robot.paper.layout import Placement
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet
from igae_robot.units import format_number

__all__ = ["META_VERSION", "sheet_meta_lines", "stroke_line", "Meta", "parse_meta"]

META_VERSION = 1


def _n(x: float) -> str:
    return format_number(x, 9)


def sheet_meta_lines(sheet: Sheet, extra: Iterable[str] = ()) -> list[str]:
    """The metadata lines of a sheet (without comment prefix), then ``extra`` lines (already prefixed "igae ")."""
    release = release_level(sheet.threshold, sheet.release)
    lines = [f"igae sheet {META_VERSION}", _page_line(sheet.page), _threshold_line(sheet.threshold, release)]
    lines += map(_glyph_line, sheet.placements)
    return lines + list(extra)


# Cached: a batch of sheets (igae vectorize) repeats the same page, thresholds and placements.
@functools.lru_cache(maxsize=256)
def _page_line(page: Page) -> str:
    return f"igae page {_n(page.width_mm)} {_n(page.height_mm)} margin {_n(page.margin_mm)} name {page.name}"


@functools.lru_cache(maxsize=16)
def _threshold_line(threshold: float, release: float) -> str:
    return f"igae pen-threshold {_n(threshold)} {_n(release)}"


@functools.lru_cache(maxsize=4096)
def _glyph_line(p: Placement) -> str:
    return f"igae glyph {p.glyph} label {p.label} row {p.row} col {p.col} scale {_n(p.scale_mm)} at {_n(p.x_mm)} {_n(p.y_mm)}"


def stroke_line(index: int, glyph: int) -> str:
    return f"igae stroke {index} glyph {glyph}"


class Meta:
    """What :func:`parse_meta` found: page, placements, thresholds, and the format's extra keys."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.page: Page | None = None
        self.placements: list[Placement] = []
        self.threshold: float = 0.5
        self.release: float | None = None
        self.fields: dict[str, list[str]] = {}  # machine, transform, pen, svg-width ... -> their words

    def numbers(self, key: str) -> list[float] | None:
        words = self.fields.get(key)
        return None if words is None else [float(w) for w in words]

    def to_sheet(self, polylines, source: str) -> Sheet:
        if self.version is None or self.page is None:
            raise CheckError(f"{source}: no igae metadata (igae sheet / igae page lines); was it written by igae export?")
        meta = {k: " ".join(v) for k, v in self.fields.items()}
        return Sheet(self.page, tuple(self.placements), tuple(polylines), self.threshold, self.release, meta)


def parse_meta(line: str, meta: Meta, source: str = "file") -> int | None:
    """Read one comment text into ``meta``.  Returns the glyph index for an ``igae stroke`` line, else None."""
    words = line.split()
    if len(words) < 2 or words[0] != "igae":
        return None
    key, rest = words[1], words[2:]
    try:
        if key == "sheet":
            meta.version = int(rest[0])
            if meta.version > META_VERSION:
                raise CheckError(f"{source}: igae sheet format {meta.version} is newer than this reader ({META_VERSION})")
        elif key == "page":
            kv = dict(zip(rest[2::2], rest[3::2]))
            meta.page = Page(float(rest[0]), float(rest[1]), float(kv.get("margin", 0)), kv.get("name", "custom"))
        elif key == "pen-threshold":
            meta.threshold, meta.release = float(rest[0]), float(rest[1])
        elif key == "glyph":
            kv = dict(zip(rest[1::2], rest[2::2]))
            at = rest.index("at")
            meta.placements.append(
                Placement(
                    int(rest[0]), int(kv["label"]), float(kv["scale"]), float(rest[at + 1]), float(rest[at + 2]),
                    int(kv["row"]), int(kv["col"]),
                )
            )
        elif key == "stroke":
            return int(rest[2])
        else:
            meta.fields[key] = rest
    except (IndexError, KeyError, ValueError) as exc:
        raise CheckError(f"{source}: malformed igae metadata line {line.strip()!r} ({exc})") from None
    return None
