"""Many glyphs on one page: a grid of square cells inside the drawable area.

Every glyph gets the same *frame* (a box in glyph units) mapped into its cell, so all glyphs on
a sheet share one scale.  The frame is the model's canvas [0,1]² (``frame="canvas"``), or that
canvas grown to hold every pen-down point of every glyph (``frame="fit"``, the default), so a
drawing that wanders off its canvas still fits the page instead of being cut.

A :class:`Placement` is the glyph-units -> page-mm map of one glyph; exporters store it in their
files so the re-render check can map a plotted stroke back onto the model's canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from igae_robot.errors import PageError
from igae_robot.paper.geometry import Box, fit_transform
from igae_robot.paper.page import Page
from igae_robot.units import format_number

__all__ = ["Placement", "layout_grid", "CANVAS"]

CANVAS: Box = (0.0, 0.0, 1.0, 1.0)  # the model's canvas in glyph units


@dataclass(frozen=True)
class Placement:
    """Glyph ``glyph`` (index in the gestures file) drawn at page mm = glyph units * scale_mm + (x_mm, y_mm)."""

    glyph: int
    label: int
    scale_mm: float  # mm per glyph unit
    x_mm: float
    y_mm: float
    row: int = 0
    col: int = 0

    def to_page(self, points: np.ndarray) -> np.ndarray:
        """(N,2) glyph units -> (N,2) page mm."""
        return np.asarray(points, dtype=np.float64) * self.scale_mm + np.array([self.x_mm, self.y_mm])

    def from_page(self, points: np.ndarray) -> np.ndarray:
        """(N,2) page mm -> (N,2) glyph units: the inverse of :meth:`to_page`.  (Not ``to_glyph``:
        that name is the image -> model-input preparation in :mod:`igae_robot.images.glyphs`.)"""
        return (np.asarray(points, dtype=np.float64) - np.array([self.x_mm, self.y_mm])) / self.scale_mm


def layout_grid(
    count: int,
    page: Page,
    frame: Box = CANVAS,
    cols: int = 0,
    cell_mm: float = 0.0,
    spacing_mm: float = 5.0,
    labels: list[int] | None = None,
) -> list[Placement]:
    """Place ``count`` glyphs row by row on the page's drawable area.

    cols 0 = choose so cells are as large as possible; cell_mm 0 = the largest square cell that
    fits.  A fixed cell size or column count that does not fit the page raises PageError.
    """
    if count < 0 or cols < 0 or not (cell_mm >= 0 and spacing_mm >= 0 and math.isfinite(cell_mm + spacing_mm)):
        raise PageError(f"layout needs non-negative counts and sizes, got cols={cols}, cell={cell_mm}, spacing={spacing_mm}")
    x0, y0, x1, y1 = page.drawable
    width, height = x1 - x0, y1 - y0
    if count == 0:
        return []
    if cols == 0:
        cols = _best_cols(count, width, height, spacing_mm, cell_mm)
    cols = min(cols, count)
    rows = math.ceil(count / cols)
    largest = min((width - (cols - 1) * spacing_mm) / cols, (height - (rows - 1) * spacing_mm) / rows)
    if largest <= 0:  # the spacing alone fills the page: no cell size would fit
        raise PageError(
            f"page too small for {cols} columns x {rows} rows with {format_number(spacing_mm)} mm spacing: the drawable "
            f"area of {page.describe()} is {format_number(width)} x {format_number(height)} mm; use fewer --cols, "
            f"less --spacing, a smaller --margin or a larger --page"
        )
    if cell_mm == 0:
        cell_mm = largest
    if cell_mm > largest + 1e-9:
        need_w = cols * cell_mm + (cols - 1) * spacing_mm
        need_h = rows * cell_mm + (rows - 1) * spacing_mm
        raise PageError(
            f"page too small: {count} glyphs in {rows} rows x {cols} columns of {format_number(cell_mm)} mm cells "
            f"with {format_number(spacing_mm)} mm spacing need {format_number(need_w)} x {format_number(need_h)} mm, "
            f"the drawable area of {page.describe()} is {format_number(width)} x {format_number(height)} mm"
        )
    labels = labels or [-1] * count
    # Centre the grid on the drawable area.
    gx = x0 + (width - (cols * cell_mm + (cols - 1) * spacing_mm)) / 2
    gy = y0 + (height - (rows * cell_mm + (rows - 1) * spacing_mm)) / 2
    out = []
    for i in range(count):
        r, c = divmod(i, cols)
        cx, cy = gx + c * (cell_mm + spacing_mm), gy + r * (cell_mm + spacing_mm)
        scale, dx, dy = fit_transform(frame, (cx, cy, cx + cell_mm, cy + cell_mm))
        out.append(Placement(i, int(labels[i]), scale, dx, dy, r, c))
    return out


def _best_cols(count: int, width: float, height: float, spacing: float, cell_mm: float) -> int:
    """Columns that give the largest cells (or, for a fixed cell, as many as fit on a row)."""
    if cell_mm > 0:
        return max(1, min(count, int((width + spacing) // (cell_mm + spacing))))
    best, best_cell = 1, -math.inf
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        cell = min((width - (cols - 1) * spacing) / cols, (height - (rows - 1) * spacing) / rows)
        if cell > best_cell + 1e-12:
            best, best_cell = cols, cell
    return best
