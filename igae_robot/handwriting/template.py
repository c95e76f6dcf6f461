"""The sheet a writer fills in for ``igae hand learn``: boxes for every character, and marks to find them by.

    igae hand template -o sheet.pdf      # print at 100% on A4, write each character in its 3 boxes

The layout is a pure function of the character set (:func:`template_layout`), so ``learn`` finds every box
from the four registration marks alone: nothing is encoded on the sheet, the same characters give the same
sheet.  All lengths are sheet millimetres, x right, y down from the top-left corner of the A4 page.

* **marks**: four filled black squares (9 mm) 7 mm in from the corners; the top-left one has a white hole
  (4 mm), so a photo taken upside down or sideways is still read the right way round.  Nothing else on the
  sheet is a filled blob.
* **boxes**: 16 rows of 5 groups; a group is one character's label (a serif face, so I, l and 1 differ) and
  ``REPEATS`` = 3 boxes of 9.5 x 15.5 mm for it, in reading order a-z, A-Z, 0-9, punctuation.  77 characters
  take 231 boxes; a sheet holds 80 characters.
* **guides**: in each box a faint baseline (62% down the box, the label sits on it) and a fainter dashed cap
  line (25% down): capitals and digits between them, descenders below.  They are light grey (12% and 8% of
  black), well below the ink threshold of a scan, so only the writing is read.  ``learn`` cuts each box
  ``MARGIN_MM`` inside its printed border.

The sheet is written as SVG (vector, exact) or PDF (rendered at ``dpi``, 300 by default, one page).
Labels and the heading are drawn with single-stroke Hershey faces, as polylines: no font is needed to print.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from igae_robot.errors import ConfigError
from igae_robot.handwriting.fonts import BASELINE, CAP_TOP, glyph_polylines
from igae_robot.units import format_number, format_numbers

__all__ = [
    "TEMPLATE_CHARS", "REPEATS", "MARGIN_MM", "Box", "TemplateLayout", "template_layout", "render_template",
    "template_svg", "write_template", "describe_template", "TEMPLATE_FORMATS",
]

TEMPLATE_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()/&@#"
REPEATS = 3  # boxes per character
PAGE_MM = (210.0, 297.0)  # A4, portrait
MARK_MM = 9.0  # side of a registration mark
MARK_INSET_MM = 7.0  # from the page's edges to a mark's outer edges (inside a printer's unprintable border)
HOLE_MM = 4.0  # the white hole of the top-left mark
GROUPS_PER_ROW, ROWS = 5, 16
GRID_MM = (18.0, 21.0, 192.0, 279.0)  # x0, y0, x1, y1 of the boxes, inside the marks
LABEL_MM = 6.0  # the label column left of each group
BOX_W_MM, BOX_H_MM = 9.5, 15.5
MARGIN_MM = 0.8  # learn cuts this much off each side of a box: its border, and strokes that only touch it
BASELINE_AT, CAPLINE_AT = 0.62, 0.25  # the guides, as fractions of the box height from its top
LABEL_CAP_MM = 3.2  # cap height of the labels (narrowed to fit their column: m, W, @)
INK, BORDER, BASE_GREY, CAP_GREY = 0.0, 0.55, 0.88, 0.92  # grey levels (1 = paper)
LINE_MM, GUIDE_MM = 0.3, 0.25
TEMPLATE_FORMATS = (".svg", ".pdf")


@dataclass(frozen=True)
class Box:
    """One box of the sheet: the character to write in it and its rectangle, mm."""

    char: str
    x0: float
    y0: float
    x1: float
    y1: float
    row: int  # grid row of the sheet
    col: int  # box column of the sheet (group * REPEATS + repeat)

    @property
    def inner(self) -> tuple[float, float, float, float]:
        """The part ``learn`` reads: the box less ``MARGIN_MM`` on every side."""
        return self.x0 + MARGIN_MM, self.y0 + MARGIN_MM, self.x1 - MARGIN_MM, self.y1 - MARGIN_MM

    @property
    def baseline_mm(self) -> float:
        return self.y0 + BASELINE_AT * (self.y1 - self.y0)

    @property
    def capline_mm(self) -> float:
        return self.y0 + CAPLINE_AT * (self.y1 - self.y0)


@dataclass(frozen=True)
class TemplateLayout:
    chars: str
    boxes: tuple[Box, ...]  # REPEATS per character, in the order of ``chars``
    marks: tuple[tuple[float, float], ...]  # mark centres, mm: top-left, top-right, bottom-right, bottom-left
    width_mm: float = PAGE_MM[0]
    height_mm: float = PAGE_MM[1]

    def boxes_of(self, char: str) -> list[Box]:
        return [b for b in self.boxes if b.char == char]


def template_layout(chars: str = TEMPLATE_CHARS) -> TemplateLayout:
    """Where everything is on the sheet for ``chars`` (unique, printable, no spaces, at most 80)."""
    _check_chars(chars)
    x0, y0, x1, y1 = GRID_MM
    group_w = LABEL_MM + REPEATS * BOX_W_MM
    gap_x = (x1 - x0 - GROUPS_PER_ROW * group_w) / (GROUPS_PER_ROW - 1)
    pitch_y = (y1 - y0) / ROWS
    boxes = []
    for i, char in enumerate(chars):
        row, group = divmod(i, GROUPS_PER_ROW)
        left = x0 + group * (group_w + gap_x) + LABEL_MM
        top = y0 + row * pitch_y
        for k in range(REPEATS):
            boxes.append(Box(char, left + k * BOX_W_MM, top, left + (k + 1) * BOX_W_MM, top + BOX_H_MM, row, group * REPEATS + k))
    near, far_x, far_y = MARK_INSET_MM + MARK_MM / 2, PAGE_MM[0] - MARK_INSET_MM - MARK_MM / 2, PAGE_MM[1] - MARK_INSET_MM - MARK_MM / 2
    return TemplateLayout(chars, tuple(boxes), ((near, near), (far_x, near), (far_x, far_y), (near, far_y)))


def _check_chars(chars: str) -> None:
    if not chars:
        raise ConfigError("the template needs at least one character")
    bad = sorted({c for c in chars if c.isspace() or not c.isprintable()})
    if bad:
        raise ConfigError(f"template characters must be printable and not spaces; got {', '.join(repr(c) for c in bad)}")
    twice = sorted({c for c in chars if chars.count(c) > 1})
    if twice:
        raise ConfigError(f"template characters must each appear once; repeated: {' '.join(twice)}")
    if len(chars) > GROUPS_PER_ROW * ROWS:
        raise ConfigError(f"a template sheet holds {GROUPS_PER_ROW * ROWS} characters, got {len(chars)}; split them over two sheets")
    for c in chars:
        try:
            glyph_polylines(c, "timesr")
        except Exception:
            raise ConfigError(f"cannot print the label of {c!r} (not in the label font); use ASCII characters") from None


# ---- what is drawn: filled polygons and lines, mm ----------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    points: np.ndarray  # (N,2) mm
    grey: float  # 0 black .. 1 paper
    width_mm: float = 0.0  # 0: a filled polygon, else a line this wide


def _shapes(layout: TemplateLayout) -> list[_Shape]:
    """Everything printed on the sheet, in drawing order."""
    shapes = []
    for k, (cx, cy) in enumerate(layout.marks):
        shapes.append(_Shape(_square(cx, cy, MARK_MM), INK))
        if k == 0:
            shapes.append(_Shape(_square(cx, cy, HOLE_MM), 1.0))
    for box in layout.boxes:
        shapes += _dashes(box.x0, box.x1, box.capline_mm, CAP_GREY)
        shapes.append(_Shape(np.array([[box.x0, box.baseline_mm], [box.x1, box.baseline_mm]]), BASE_GREY, GUIDE_MM))
    for box in layout.boxes:
        corners = [[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1], [box.x0, box.y0]]
        shapes.append(_Shape(np.array(corners), BORDER, LINE_MM / 2))
    for box in layout.boxes[::REPEATS]:
        shapes += _text(box.char, box.x0 - LABEL_MM / 2, box.baseline_mm, LABEL_CAP_MM, "timesr", fit_mm=LABEL_MM - 1.0)
    title = f"igae hand template: write each character in its {REPEATS} boxes, sitting on the line. Print at 100% (A4)."
    shapes += _text(title, GRID_MM[0], MARK_INSET_MM + MARK_MM / 2 + 1.2, 2.6, "futural")
    return shapes


def _square(cx: float, cy: float, side: float) -> np.ndarray:
    h = side / 2
    return np.array([[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]])


def _dashes(x0: float, x1: float, y: float, grey: float, dash: float = 0.8) -> list[_Shape]:
    starts = np.arange(x0 + dash / 2, x1 - dash, 2 * dash)
    return [_Shape(np.array([[s, y], [s + dash, y]]), grey, GUIDE_MM) for s in starts]


def _text(text: str, x: float, baseline: float, cap_mm: float, font: str, fit_mm: float = 0.0) -> list[_Shape]:
    """``text`` as Hershey strokes sitting on ``baseline``, mm: from ``x``, or (``fit_mm`` > 0) centred on ``x``
    and narrowed to at most ``fit_mm`` wide."""
    scale = cap_mm / (BASELINE - CAP_TOP)  # mm per glyph unit
    glyphs = [[] if c == " " else glyph_polylines(c, font) for c in text]
    widths = [0.45 if not g else float(np.ptp(np.concatenate(g)[:, 0])) + 0.12 for g in glyphs]
    if fit_mm:
        scale = min(scale, fit_mm / sum(widths))
    left = x - sum(widths) * scale / 2 if fit_mm else x
    shapes = []
    for polylines, width in zip(glyphs, widths):
        for p in polylines:
            xy = np.stack([left + (p[:, 0] - 0.5 + width / 2) * scale, baseline + (p[:, 1] - BASELINE) * scale], axis=1)
            shapes.append(_Shape(xy, INK, LINE_MM))
        left += width * scale
    return shapes


# ---- writers ------------------------------------------------------------------------------------------------


def template_svg(layout: TemplateLayout) -> str:
    """The sheet as SVG text (mm user units), deterministic."""
    w, h = format_number(layout.width_mm), format_number(layout.height_mm)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">',
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        '<g stroke-linecap="round" stroke-linejoin="round" fill="none">',
    ]
    for s in _shapes(layout):
        coords = format_numbers(s.points.ravel(), 3)
        points = " ".join(f"{coords[i]},{coords[i + 1]}" for i in range(0, len(coords), 2))
        colour = "#{0:02x}{0:02x}{0:02x}".format(round(255 * s.grey))
        if s.width_mm:
            lines.append(f'<polyline points="{points}" stroke="{colour}" stroke-width="{format_number(s.width_mm)}"/>')
        else:
            lines.append(f'<polygon points="{points}" fill="{colour}" stroke="none"/>')
    return "\n".join(lines + ["</g>", "</svg>", ""])


def render_template(layout: TemplateLayout, dpi: float = 300.0) -> np.ndarray:
    """The sheet as a grayscale image (H,W) float32 in [0,1] (1 = paper) at ``dpi``, drawn 2x supersampled."""
    s = 2
    px = dpi / 25.4 * s  # supersampled pixels per mm
    w, h = round(layout.width_mm * dpi / 25.4), round(layout.height_mm * dpi / 25.4)
    image = Image.new("L", (w * s, h * s), 255)
    draw = ImageDraw.Draw(image)
    for shape in _shapes(layout):
        xy = [(float(x), float(y)) for x, y in shape.points * px]
        grey = round(255 * shape.grey)
        if not shape.width_mm:
            draw.polygon(xy, fill=grey)
            continue
        width = max(1, round(shape.width_mm * px))
        draw.line(xy, fill=grey, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            r = width / 2
            draw.ellipse((x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5), fill=grey)
    small = image.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0



def write_template(path: str | os.PathLike, chars: str = TEMPLATE_CHARS, dpi: float = 300.0) -> TemplateLayout:
    """Write the sheet for ``chars`` to ``path`` (.svg, or .pdf rendered at ``dpi``), atomically."""
    from igae_robot.atomic import atomic_binary_writer, atomic_write_text, check_output

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TEMPLATE_FORMATS:
        raise ConfigError(f"{path}: unknown template format {suffix or '(none)'!r}; known: {', '.join(TEMPLATE_FORMATS)}")
    if not 72 <= dpi <= 1200:
        raise ConfigError(f"--dpi must be between 72 and 1200, got {dpi}")
    check_output(path)
    layout = template_layout(chars)
    if suffix == ".svg":
        atomic_write_text(path, template_svg(layout))
        return layout
    gray = render_template(layout, dpi)
    image = Image.fromarray(np.round(gray * 255).astype(np.uint8), mode="L")
    with atomic_binary_writer(path) as stream:
        image.save(stream, format="PDF", resolution=dpi)
    return layout


def describe_template(layout: TemplateLayout) -> str:
    """One line about a written sheet."""
    n = len(layout.chars)
    rows = math.ceil(n / GROUPS_PER_ROW)
    return f"A4, {n} characters x {REPEATS} boxes ({len(layout.boxes)} boxes in {rows} rows); print at 100% scale"
