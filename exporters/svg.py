"""SVG for pen plotters: millimetre page, one ``<path>`` per stroke, Inkscape layers.

The page is ``width="210mm" height="297mm" viewBox="0 0 210 297"``, so one user unit is one
millimetre.  Top-level groups carry ``inkscape:groupmode="layer"`` and ``inkscape:label="row 3"``
(id ``layer3``): Inkscape shows them as layers, and vpype / AxiDraw software take the first number
of the label as the layer (pen) id.  Layers are one per glyph row (``layers="row"``), per glyph
(``"glyph"``), per pen width (``"pen"``: strokes binned by mean pressure into ``pens`` layers, for
a plotter with several pens) or a single layer (``"one"``).

Stroke width follows the stroke's mean pressure, ``width_mm[0] .. width_mm[1]``.  A path cannot
change width, so each path also keeps its per-point pressure in ``data-igae-pressure`` (ignored by
other software) for the re-render check.  A dot (a stroke of one point, or of no length) is a
``DOT_MM`` long segment at its point: vpype drops zero-length paths, so plotters fed through it
would skip a true ``M x,y L x,y``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

import numpy as np
import svgwrite
from svgwrite.extensions import Inkscape

from igae_robot.errors import CheckError, ExportError
from igae_robot.geometry import Polyline
from igae_robot.machine import Machine
from igae_robot.sheet import Sheet
from igae_robot.units import MM_DIGITS, format_number

from ._meta import Meta, parse_meta, sheet_meta_lines

__all__ = ["write_svg", "read_svg", "LAYER_MODES"]

LAYER_MODES = ("row", "glyph", "pen", "one")
DEFAULT_WIDTH_MM = (0.2, 0.6)
DOT_MM = 0.01  # length of the segment that draws a dot


def write_svg(
    sheet: Sheet,
    stream: TextIO,
    machine: Machine | None = None,
    layers: str = "row",
    pens: int = 3,
    width_mm: tuple[float, float] = DEFAULT_WIDTH_MM,
) -> None:
    """Write ``sheet`` as SVG to a text stream.  ``machine`` is not used (an SVG is page-only)."""
    if layers not in LAYER_MODES:
        raise ExportError(f"unknown SVG layer mode {layers!r}; known: {', '.join(LAYER_MODES)}")
    if pens < 1:
        raise ExportError(f"--pens must be at least 1, got {pens}")
    page = sheet.page
    w, h = format_number(page.width_mm), format_number(page.height_mm)
    dwg = svgwrite.Drawing(size=(f"{w}mm", f"{h}mm"), viewBox=f"0 0 {w} {h}", debug=False)
    extra = [f"igae svg-width {format_number(width_mm[0], 6)} {format_number(width_mm[1], 6)}"]
    dwg.set_desc("igae sheet", "\n".join(sheet_meta_lines(sheet, extra)))
    inkscape = Inkscape(dwg)
    groups: dict[int, svgwrite.container.Group] = {}
    rows = {p.glyph: p.row for p in sheet.placements}
    for poly in sheet.polylines:
        layer_id, name = _layer_of(poly, rows, layers, pens)
        if layer_id not in groups:
            group = inkscape.layer(label=f"{name} {layer_id}")
            group["id"] = f"layer{layer_id}"
            group.update({"fill": "none", "stroke": "black", "stroke-linecap": "round", "stroke-linejoin": "round"})
            groups[layer_id] = group
        groups[layer_id].add(_path(dwg, poly, width_mm))
    for layer_id in sorted(groups):
        dwg.add(groups[layer_id])
    dwg.write(stream, pretty=True, indent=1)


def _layer_of(poly: Polyline, rows: dict[int, int], mode: str, pens: int) -> tuple[int, str]:
    """(layer id >= 1, label word)."""
    if mode == "row":
        return rows.get(poly.glyph, 0) + 1, "row"
    if mode == "glyph":
        return max(poly.glyph, 0) + 1, "glyph"
    if mode == "pen":
        return min(pens - 1, int(float(np.mean(poly.pressure)) * pens)) + 1, "pen"
    return 1, "layer"


def _path(dwg: svgwrite.Drawing, poly: Polyline, width_mm: tuple[float, float]):
    if poly.length == 0:  # a dot: its biggest marker covers the others, so one point at max pressure
        pts = poly.points[:1] + np.array([[0.0, 0.0], [DOT_MM, 0.0]])
        pressure = np.array([poly.pressure.max()])
    else:
        pts, pressure = poly.points, poly.pressure
    coords = [f"{format_number(x, MM_DIGITS)},{format_number(y, MM_DIGITS)}" for x, y in pts]
    d = f"M {coords[0]} L {' '.join(coords[1:])}"
    width = width_mm[0] + (width_mm[1] - width_mm[0]) * float(np.mean(pressure))
    return dwg.path(
        d=d,
        **{
            "stroke-width": format_number(width, 4),
            "data-igae-glyph": str(poly.glyph),
            "data-igae-pressure": " ".join(format_number(p, 6) for p in pressure),
        },
    )


# ---- reader ----------------------------------------------------------------------------------

_SVG = "{http://www.w3.org/2000/svg}"
_TOKEN = re.compile(r"[MmLlHhVvZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_svg(stream: TextIO, source: str = "svg") -> Sheet:
    """Read an SVG written by :func:`write_svg` (or any SVG of straight-line paths) back to a Sheet."""
    try:
        root = ET.fromstring(stream.read())
    except ET.ParseError as exc:
        raise CheckError(f"{source}: not a readable SVG ({exc})") from None
    if root.tag != f"{_SVG}svg":
        raise CheckError(f"{source}: not an SVG file (root element {root.tag!r})")
    meta = Meta()
    desc = root.find(f"{_SVG}desc")
    for line in (desc.text or "").splitlines() if desc is not None else []:
        parse_meta(line, meta, source)
    width = meta.numbers("svg-width") or list(DEFAULT_WIDTH_MM)
    polylines = []
    for path in root.iter(f"{_SVG}path"):
        polylines.extend(_read_path(path, width, source))
    return meta.to_sheet(polylines, source)


def _read_path(path: ET.Element, width: list[float], source: str) -> list[Polyline]:
    runs = _parse_d(path.get("d", ""), source)
    glyph = int(path.get("data-igae-glyph", "-1"))
    pressure_text = path.get("data-igae-pressure")
    out = []
    for pts in runs:
        if pressure_text is not None and len(runs) == 1:
            pressure = np.array([float(v) for v in pressure_text.split()])
            if len(pressure) == 1 and len(pts) == 2:
                pts = pts[:1]  # a dot was written as a DOT_MM segment
        else:
            w = float(path.get("stroke-width", width[0]))
            p = 0.0 if width[1] == width[0] else (w - width[0]) / (width[1] - width[0])
            pressure = np.full(len(pts), float(np.clip(p, 0.0, 1.0)))
        if len(pressure) != len(pts):
            raise CheckError(f"{source}: path has {len(pts)} points but {len(pressure)} pressure values")
        out.append(Polyline(pts, pressure, np.arange(len(pts), dtype=np.float64), glyph))
    return out


def _parse_d(d: str, source: str) -> list[np.ndarray]:
    """Polylines of a path's ``d`` (M/L/H/V/Z, absolute or relative); curves are refused."""
    if re.search(r"[CcSsQqTtAa]", d):
        raise CheckError(f"{source}: path with curves is not supported by the igae reader: {d[:60]!r}")
    runs: list[list[tuple[float, float]]] = []
    x = y = 0.0
    cmd = None
    tokens = _TOKEN.findall(d)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.isalpha():
            cmd = tok
            i += 1
            if cmd in "Zz" and runs and runs[-1]:
                x, y = runs[-1][0]
                runs[-1].append((x, y))
            continue
        if cmd is None:
            raise CheckError(f"{source}: path data does not start with a command: {d[:60]!r}")
        rel = cmd.islower()
        if cmd in "MmLl":
            dx, dy = float(tokens[i]), float(tokens[i + 1])
            i += 2
            x, y = (x + dx, y + dy) if rel else (dx, dy)
            if cmd in "Mm":
                runs.append([])
                cmd = "l" if rel else "L"  # implicit lineto after moveto
            runs[-1].append((x, y))
        elif cmd in "HhVv":
            v = float(tokens[i])
            i += 1
            if cmd in "Hh":
                x = x + v if rel else v
            else:
                y = y + v if rel else v
            runs[-1].append((x, y))
    return [np.array(r) for r in runs if r]
