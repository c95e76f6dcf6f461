"""The sheet of paper: size, orientation and margins, in millimetres.

Page coordinates: origin at the sheet's top-left corner, x to the right, y *down* (as in SVG and
as in glyph units), so a glyph keeps its orientation from canvas to paper.  Where the page lies
on a machine is the machine profile's business (:mod:`igae_robot.paper.machine`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from igae_robot.errors import PageError
from igae_robot.units import format_number, to_mm

__all__ = ["Page", "PAGE_SIZES_MM"]

# Portrait width x height in mm.
PAGE_SIZES_MM = {
    "a3": (297.0, 420.0),
    "a4": (210.0, 297.0),
    "a5": (148.0, 210.0),
    "letter": (215.9, 279.4),
}

_CUSTOM = re.compile(r"^\s*([^x×]+?)\s*[x×]\s*([^x×]+?)\s*$")


@dataclass(frozen=True)
class Page:
    """A sheet: width_mm x height_mm, with the same margin_mm on every side."""

    width_mm: float
    height_mm: float
    margin_mm: float = 10.0
    name: str = "custom"

    def __post_init__(self) -> None:
        if not (0 < self.width_mm < math.inf and 0 < self.height_mm < math.inf):
            raise PageError(f"page size must be positive and finite, got {self.width_mm} x {self.height_mm} mm")
        if not 0 <= self.margin_mm < min(self.width_mm, self.height_mm) / 2:  # also NaN
            raise PageError(
                f"margin {format_number(self.margin_mm)} mm leaves no drawable area on a "
                f"{format_number(self.width_mm)} x {format_number(self.height_mm)} mm page"
            )

    @classmethod
    def from_spec(cls, spec: str, landscape: bool = False, margin: str | float = 10.0) -> "Page":
        """``"A4"``, ``"letter"``, or a custom ``"200x150mm"`` / ``"8.5in x 11in"``; landscape swaps the sides."""
        key = spec.strip().lower()
        if key in PAGE_SIZES_MM:
            w, h = PAGE_SIZES_MM[key]
            name = spec.strip().upper() if key != "letter" else "Letter"
        else:
            match = _CUSTOM.match(key)
            if not match:
                raise PageError(f"unknown page {spec!r}; known: A3, A4, A5, Letter, or WIDTHxHEIGHT like 200x150mm")
            a, b = match.groups()
            unit = re.sub(r"^[-+.\d\s]+", "", b) or "mm"  # "200x150mm": the unit after the height applies to both
            w, h = to_mm(a, default_unit=unit), to_mm(b)
            name = "custom"
        if landscape:
            w, h = max(w, h), min(w, h)
        return cls(w, h, to_mm(margin), name)

    @property
    def is_landscape(self) -> bool:
        return self.width_mm > self.height_mm

    @property
    def drawable(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) mm: the area inside the margins."""
        m = self.margin_mm
        return (m, m, self.width_mm - m, self.height_mm - m)

    def describe(self) -> str:
        orient = "landscape" if self.is_landscape else "portrait"
        return (
            f"{self.name} {orient} {format_number(self.width_mm)} x {format_number(self.height_mm)} mm, "
            f"margin {format_number(self.margin_mm)} mm"
        )
