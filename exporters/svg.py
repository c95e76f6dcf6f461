"""SVG for pen plotters: millimetre page, one ``<path>`` per stroke, Inkscape layers.

The page is ``width="210mm" height="297mm" viewBox="0 0 210 297"``, so one user unit is one
millimetre.  Top-level groups are Inkscape layers, ``inkscape:groupmode="layer"``, labelled with their
number first, ``inkscape:label="3 row-3"`` (id ``layer3``), in that order in the file: AxiDraw's
software reads a label's leading number as the layer number (its Layers tab plots one) and plots layers
in file order; vpype takes the first group of digits of the label as the layer id.  Layers are one per
glyph row (``layers="row"``), per glyph (``"glyph"``), per pen width (``"pen"``: strokes binned by mean
pressure into ``pens`` layers, for a plotter with several pens) or a single layer (``"one"``, label
``"1"``).  With pens, an empty layer labelled ``"!pause: pen 2 next"`` (id ``pause2``) comes before
every pen's layer but the first: AxiDraw pauses at a layer whose label starts with ``!`` so the pen can
be changed, and vpype skips it (empty).  The pause is a layer of its own, not a ``!`` before the pen's
label, because AxiDraw reads the layer number from the label's first characters: a ``!`` there hides it.

Stroke width follows the stroke's mean pressure, ``width_mm[0] .. width_mm[1]``; every point must be
finite and on the page, every pressure in 0..1, or nothing is written (ExportError).  A path cannot
change width, so each path also keeps its per-point pressure in ``data-igae-pressure`` (ignored by
other software) for the re-render check.  A dot (a stroke of one point, or of no length) is a
``DOT_MM`` long segment at its point: vpype drops zero-length paths, so plotters fed through it
would skip a true ``M x,y L x,y``.

The document is built from string templates; :func:`svg_texts` writes many sheets at once and
formats the coordinates and pressures of all of them in one vectorised pass
(:func:`igae_robot.units.join_numbers`), which is what ``igae vectorize`` needs for thousands of
small files.  :func:`write_svg` is the same function for one sheet.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from typing import Sequence, TextIO
from xml.sax.saxutils import escape

import numpy as np

from igae_robot.errors import CheckError, ExportError
from igae_robot.paper.geometry import Polyline
from igae_robot.paper.machine import Machine
from igae_robot.paper.sheet import Sheet
from igae_robot.units import MM_DIGITS, format_number, format_numbers, join_numbers

from ._limits import TOL, check_polylines, locate
from ._meta import Meta, parse_meta, sheet_meta_lines

__all__ = ["write_svg", "svg_texts", "read_svg", "LAYER_MODES"]

LAYER_MODES = ("row", "glyph", "pen", "one")
DEFAULT_WIDTH_MM = (0.2, 0.6)
DOT_MM = 0.01  # length of the segment that draws a dot

# The document around the layers: the namespaces and attributes the svgwrite-based writer of
# igae 0.1 produced, so a file is the same document, byte for byte, as earlier runs wrote.
_NAMESPACES = (
    'xmlns="http://www.w3.org/2000/svg" xmlns:ev="http://www.w3.org/2001/xml-events" '
    'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
    'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" xmlns:xlink="http://www.w3.org/1999/xlink"'
)
_LAYER_STYLE = 'stroke="black" stroke-linecap="round" stroke-linejoin="round"'
# Before each pen's layer but the first: an empty layer at which AxiDraw pauses for the pen change.
_PAUSE = ' <g id="pause{i}" inkscape:groupmode="layer" inkscape:label="!pause: pen {i} next"/>\n'


def write_svg(
    sheet: Sheet,
    stream: TextIO,
    machine: Machine | None = None,
    layers: str = "row",
    pens: int = 3,
    width_mm: tuple[float, float] = DEFAULT_WIDTH_MM,
) -> None:
    """Write ``sheet`` as SVG to a text stream.  ``machine`` is not used (an SVG is page-only)."""
    stream.write(svg_texts([sheet], layers, pens, width_mm)[0])


def svg_texts(
    sheets: Sequence[Sheet], layers: str = "row", pens: int = 3, width_mm: tuple[float, float] = DEFAULT_WIDTH_MM
) -> list[str]:
    """The SVG document of each sheet, as :func:`write_svg` writes it.

    For many sheets at once (``igae vectorize``): the numbers of every stroke of every sheet are
    formatted in one vectorised pass, which is most of the work for small sheets.
    """
    if layers not in LAYER_MODES:
        raise ExportError(f"unknown SVG layer mode {layers!r}; known: {', '.join(LAYER_MODES)}")
    if pens < 1:
        raise ExportError(f"--pens must be at least 1, got {pens}")
    polylines = [poly for sheet in sheets for poly in sheet.polylines]
    check_polylines(polylines)
    for sheet in sheets:
        _check_on_page(sheet)
    points, pressure, mean_pressure = _drawn(polylines)
    coords, pressures = _stroke_texts(points, pressure)
    widths = format_numbers(width_mm[0] + (width_mm[1] - width_mm[0]) * mean_pressure, 4)
    extra = [f"igae svg-width {format_number(width_mm[0], 6)} {format_number(width_mm[1], 6)}"]
    texts, k = [], 0
    for sheet in sheets:
        n = len(sheet.polylines)
        paths = zip(sheet.polylines, coords[k : k + n], pressures[k : k + n], widths[k : k + n], mean_pressure[k : k + n])
        texts.append(_document(sheet, extra, _layers(sheet, paths, layers, pens)))
        k += n
    return texts


def _check_on_page(sheet: Sheet) -> None:
    """Every point on the sheet of paper (a plotter fed this SVG would leave the paper otherwise)."""
    if not sheet.polylines:
        return
    points = np.concatenate([p.points for p in sheet.polylines])
    w, h = sheet.page.width_mm, sheet.page.height_mm
    off = ~((points >= -TOL) & (points <= [w + TOL, h + TOL])).all(axis=1)
    if off.any():
        k, i = locate(sheet.polylines, int(np.argmax(off)))
        x, y = sheet.polylines[k].points[i]
        raise ExportError(
            f"stroke {k} of glyph {sheet.polylines[k].glyph}, point {i} at ({x:g}, {y:g}) mm lies off the page "
            f"({format_number(w)} x {format_number(h)} mm)"
        )


def _drawn(polylines: list[Polyline]) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """What each path draws: its points (N,2) mm and pressures, and its mean pressure (stroke width).

    A dot (one point, or a stroke of no length) is a ``DOT_MM`` segment at its first point with
    its highest pressure: that marker covers the others.
    """
    if not polylines:
        return [], [], np.zeros(0)
    counts = np.array([len(p) for p in polylines])
    ends = np.cumsum(counts)  # path i is rows ends[i] - counts[i] .. ends[i] - 1 of the concatenation
    all_points = np.concatenate([p.points for p in polylines])
    moved = np.any(all_points[1:] != all_points[:-1], axis=1)  # (total-1,) between consecutive rows
    moved[ends[:-1] - 1] = False  # from one path's last point to the next path's first: not drawn
    moved_before = np.concatenate([[0], np.cumsum(moved)])  # segments that move, before each row
    is_dot = moved_before[ends - 1] == moved_before[ends - counts]
    points = [poly.points for poly in polylines]
    pressure = [poly.pressure for poly in polylines]
    for i in np.flatnonzero(is_dot):
        points[i] = points[i][:1] + np.array([[0.0, 0.0], [DOT_MM, 0.0]])
        pressure[i] = pressure[i].max(keepdims=True)
    sizes = np.array([len(p) for p in pressure])
    means = np.add.reduceat(np.concatenate(pressure), np.cumsum(sizes) - sizes) / sizes
    return points, pressure, means


def _stroke_texts(points: list[np.ndarray], pressure: list[np.ndarray]) -> tuple[list[tuple[str, str]], list[str]]:
    """Per path: ("x0,y0", "x1,y1 x2,y2 ...") and "p0 p1 ...", from two vectorised passes."""
    if not points:
        return [], []
    xy = np.concatenate(points)  # (total, 2); every path has at least two points
    counts = np.array([len(p) for p in points])
    last = np.cumsum(counts) - 1
    seps = np.full(xy.shape, ord(" "), np.uint8)
    seps[:, 0] = ord(",")
    seps[last - counts + 1, 1] = ord("|")  # after the first point: " L " goes there
    seps[last, 1] = ord("\n")  # one line per path
    coords = [tuple(line.split("|")) for line in join_numbers(xy, MM_DIGITS, seps).split("\n")[:-1]]
    p = np.concatenate(pressure)
    pseps = np.full(len(p), ord(" "), np.uint8)
    pseps[np.cumsum([len(q) for q in pressure]) - 1] = ord("\n")
    return coords, join_numbers(p, 6, pseps).split("\n")[:-1]


def _layers(sheet: Sheet, paths, mode: str, pens: int) -> str:
    """The layer groups of a sheet, in layer order, each with its paths in drawing order."""
    rows = {p.glyph: p.row for p in sheet.placements}
    groups: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for poly, (start, rest), pressure, width, mean in paths:
        layer_id, names[layer_id] = _layer_of(poly.glyph, mean, rows, mode, pens)
        groups.setdefault(layer_id, []).append(
            f'  <path d="M {start} L {rest}" data-igae-glyph="{poly.glyph}" data-igae-pressure="{pressure}" '
            f'stroke-width="{width}"/>\n'
        )
    return "".join(
        (_PAUSE.format(i=i) if mode == "pen" and k else "")
        + f' <g fill="none" id="layer{i}" inkscape:groupmode="layer" inkscape:label="{_label(i, names[i])}" '
        + f"{_LAYER_STYLE}>\n"
        + "".join(groups[i])
        + " </g>\n"
        for k, i in enumerate(sorted(groups))
    )


def _label(layer: int, word: str) -> str:
    """The layer number first (AxiDraw reads a leading number, vpype the first digits): "3 row-3", or "1" alone."""
    return f"{layer} {word}-{layer}" if word else str(layer)


def _document(sheet: Sheet, extra: list[str], layers: str) -> str:
    desc = escape("\n".join(sheet_meta_lines(sheet, extra)))
    return f"{_head(sheet.page.width_mm, sheet.page.height_mm)} <desc>{desc}</desc>\n <defs/>\n{layers}</svg>\n"


@functools.lru_cache(maxsize=64)  # a batch of sheets mostly shares one page size
def _head(width_mm: float, height_mm: float) -> str:
    w, h = format_number(width_mm), format_number(height_mm)
    return (
        f'<?xml version="1.0" encoding="utf-8" ?>\n<svg {_NAMESPACES} baseProfile="full" height="{h}mm" version="1.1" '
        f'viewBox="0 0 {w} {h}" width="{w}mm">\n <title>igae sheet</title>\n'
    )


def _layer_of(glyph: int, mean_pressure: float, rows: dict[int, int], mode: str, pens: int) -> tuple[int, str]:
    """(layer id >= 1, label word; "" for the one layer)."""
    if mode == "row":
        return rows.get(glyph, 0) + 1, "row"
    if mode == "glyph":
        return max(glyph, 0) + 1, "glyph"
    if mode == "pen":
        return min(pens - 1, int(mean_pressure * pens)) + 1, "pen"
    return 1, ""


# ---- reader ----------------------------------------------------------------------------------

_SVG = "{http://www.w3.org/2000/svg}"
_TOKEN = re.compile(r"[MmLlHhVvZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_svg(stream: TextIO, source: str = "svg") -> Sheet:
    """Read an SVG written by :func:`write_svg` (or any SVG of straight-line paths) back to a Sheet.

    An SVG stores no timing, so every stroke's t_s is 0 (no time known)."""
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
        # An SVG keeps no time: t_s is 0 throughout, "no time known" (a segment of no time is drawn at
        # full speed, see pen_speeds_mm_s), never step indices posing as seconds.
        out.append(Polyline(pts, pressure, np.zeros(len(pts)), glyph))
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
