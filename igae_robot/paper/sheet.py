"""From gestures to a sheet of pen-down polylines in page millimetres, ready for any exporter.

    gestures --strokes(threshold, release)--> glyph-unit runs --layout--> page mm
             --simplify--> --merge--> --order--> [--clip-->]  Sheet

:func:`plan_sheet` lays gestures out on a grid (``igae export``); :func:`place_sheets` places the
glyphs of many pages at given placements in a few array operations (``igae vectorize``: each page
is a source image), chaining the pieces of a stroke first.  Both end in the same stages
(:func:`_finish`: simplify, merge, meet the page edge, order).  :func:`plot_lengths` measures many
sheets at once; :func:`plot_stats` measures one (pen-down length, pen-up travel, lifts, and with a
machine the plot time) through it.

Outliers: every glyph of a sheet shares one scale (``frame="fit"`` grows the frame to hold all
ink), so one glyph whose pen goes down far off its canvas would shrink every glyph to a dot.  A
pen-down point more than :data:`MAX_GLYPH_REACH` canvas sides outside the model's [0,1]² canvas is
not a drawing but a broken gesture: :func:`plan_sheet` refuses it, naming the glyph and step, or
with ``SheetOptions(drop_outliers=True)`` draws nothing for those glyphs (their cells stay empty,
``Sheet.dropped`` lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from igae_robot.paper import geometry
from igae_robot.errors import ConfigError, GestureError, PageError
from igae_robot.paper.geometry import Polyline
from igae_robot.gesture import PEN_DOWN, Gesture, pen_down
from igae_robot.paper.layout import CANVAS, Placement, layout_grid
from igae_robot.paper.machine import Machine
from igae_robot.paper.page import Page
from igae_robot.units import format_number

__all__ = [
    "SheetOptions", "Sheet", "PlotStats", "plan_sheet", "place_sheet", "place_sheets", "plot_stats", "plot_lengths",
    "pen_speeds_mm_s", "plot_timing", "stroke_polyline", "DEFAULT_SIMPLIFY_MM", "MAX_GLYPH_REACH",
]

# Off by default: a glyph is only T (~25) steps, so simplifying saves little, and on small glyphs
# even 0.05 mm moves line edges by ~0.05 px, enough to flip pixels at the check's 0.5 threshold
# (IoU 0.96-0.99 on 17 mm cells).  ``--simplify 0.05mm`` is there for long, dense gestures.
DEFAULT_SIMPLIFY_MM = 0.0

# How far (in canvas sides) a pen-down point may lie outside the model's [0,1]² canvas.  Models
# wander off the canvas by a fraction of it (a j's tail, a long 7); 3 sides is far beyond that,
# while still keeping every glyph of a "fit" sheet at 1/7 of its size or more.
MAX_GLYPH_REACH = 3.0


@dataclass(frozen=True)
class SheetOptions:
    """How gestures become strokes on a page.  Lengths in mm."""

    threshold: float = PEN_DOWN  # pen down where intensity >= threshold ...
    release: float | None = None  # ... and up again below release (default: gesture.release_level)
    frame: str = "fit"  # "fit": canvas grown to hold all ink; "canvas": the model's [0,1]² canvas
    cols: int = 0  # grid columns (0 = largest cells)
    cell_mm: float = 0.0  # grid cell side (0 = largest that fits)
    spacing_mm: float = 5.0  # gap between cells
    simplify_mm: float = DEFAULT_SIMPLIFY_MM  # Douglas-Peucker tolerance (0 = keep every step)
    merge_mm: float = 0.05  # join strokes whose ends are this close (0 = never)
    order: bool = True  # reorder / reverse strokes to cut pen-up travel
    clip: bool = False  # cut strokes to the drawable area instead of refusing a drawing that leaves it
    drop_outliers: bool = False  # draw nothing for a glyph whose ink reaches absurdly far (else refuse it)

    def __post_init__(self) -> None:
        if self.frame not in ("fit", "canvas"):
            raise PageError(f"unknown frame {self.frame!r}; known: fit, canvas")
        # Intensity lies in [0, 1]: a threshold above 1 draws nothing, 0 draws every pen-up step too.
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"--threshold must be an intensity in (0, 1], got {self.threshold}")
        if self.release is not None and not 0 <= self.release <= self.threshold:
            raise ConfigError(f"--release must be an intensity in [0, threshold = {self.threshold}], got {self.release}")
        for name in ("simplify_mm", "merge_mm", "spacing_mm", "cell_mm"):
            if not getattr(self, name) >= 0:
                raise PageError(f"{name} must be a non-negative length, got {getattr(self, name)!r}")


@dataclass(frozen=True, eq=False)
class Sheet:
    """A page, where each glyph sits on it, and the strokes to draw (page mm, in drawing order)."""

    page: Page
    placements: tuple[Placement, ...]
    polylines: tuple[Polyline, ...]
    threshold: float = PEN_DOWN
    release: float | None = None
    meta: dict[str, str] = field(default_factory=dict)  # anything else a reader found (e.g. machine name)
    dropped: tuple[int, ...] = ()  # glyphs left blank by SheetOptions.drop_outliers

    def placement(self, glyph: int) -> Placement:
        for p in self.placements:
            if p.glyph == glyph:
                return p
        raise KeyError(glyph)


@dataclass(frozen=True)
class PlotStats:
    strokes: int
    pen_down_mm: float
    pen_up_mm: float  # between strokes (as vpype's pen_up_length)
    lifts: int
    time_s: float | None = None  # with a machine profile

    def describe(self) -> str:
        text = (
            f"strokes {self.strokes}, pen-down {format_number(self.pen_down_mm, 1)} mm, "
            f"pen-up travel {format_number(self.pen_up_mm, 1)} mm, pen lifts {self.lifts}"
        )
        if self.time_s is not None:
            minutes, seconds = divmod(round(self.time_s), 60)
            text += f", estimated plot time {minutes} min {seconds:02d} s"
        return text


def plan_sheet(
    gestures: Sequence[Gesture],
    page: Page,
    options: SheetOptions = SheetOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> Sheet:
    """Lay out ``gestures`` on ``page`` and turn their pen-down runs into ordered polylines (mm).

    ``progress(done, total)`` follows the stroke ordering, the only step that takes seconds (12 000 glyphs)."""
    runs = [g.strokes(options.threshold, options.release) for g in gestures]
    dropped = _outliers(runs, options.drop_outliers)
    runs = [[] if i in dropped else r for i, r in enumerate(runs)]
    frame = CANVAS if options.frame == "canvas" else _ink_frame(runs)
    placements = layout_grid(
        len(gestures), page, frame, options.cols, options.cell_mm, options.spacing_mm, [g.label for g in gestures]
    )
    polylines = [
        stroke_polyline(place.to_page(s.points), s.pressure, s.steps, g.dt_s, place.glyph)
        for g, place, strokes in zip(gestures, placements, runs)
        for s in strokes
    ]
    fit = _CLIP if options.clip else _REFUSE
    polylines = _finish(polylines, page, options, options.merge_mm, fit, progress=progress)
    return Sheet(page, tuple(placements), tuple(polylines), options.threshold, options.release, dropped=dropped)


def stroke_polyline(points: np.ndarray, pressure: np.ndarray, steps: np.ndarray, dt_s: float, glyph: int) -> Polyline:
    """A pen-down run as a polyline: points (N,2) (page mm, or glyph units for the check), pressure (N,),
    ``steps`` (N,) the run's step indices, which become seconds (``t_s``) at ``dt_s`` per step."""
    return Polyline(points, pressure, steps * dt_s, glyph)


# How a sheet meets its page's edge (see _fit_page).
_CLIP, _REFUSE, _CLIP_IF_OUTSIDE = "clip", "refuse", "clip if outside"


def _finish(
    polylines: list[Polyline], page: Page, options: SheetOptions, merge_mm: float, fit: str,
    inside: bool | None = None, progress: Callable[[int, int], None] | None = None,
) -> list[Polyline]:
    """The stages every sheet goes through, in this order: simplify, merge ends closer than ``merge_mm``,
    meet the page edge as ``fit`` says, order.  ``inside``: already known to lie on the page (or None)."""
    polylines = geometry.simplify(polylines, options.simplify_mm)
    polylines = geometry.merge(polylines, merge_mm)
    polylines = _fit_page(polylines, page, fit, inside)
    if options.order:
        polylines = geometry.order(polylines, progress=progress)
    return polylines


def _fit_page(polylines: list[Polyline], page: Page, fit: str, inside: bool | None) -> list[Polyline]:
    """_CLIP: cut every stroke to the drawable area; _REFUSE: PageError for a stroke that leaves it;
    _CLIP_IF_OUTSIDE: cut only when something leaves it (vectorize: the page is the source image, so
    only a stroke drawn past the image's edge is cut; clipping also rewrites points that stay inside)."""
    if fit == _CLIP:
        return geometry.clip(polylines, page.drawable)
    if fit == _REFUSE:
        _check_inside(polylines, page)
        return polylines
    if inside is None:  # simplification may have moved points: measure again
        box = geometry.bounds(polylines)
        x0, y0, x1, y1 = page.drawable
        inside = box is None or (box[0] >= x0 and box[1] >= y0 and box[2] <= x1 and box[3] <= y1)
    return polylines if inside else geometry.clip(polylines, page.drawable)


def _outliers(runs: list[list], drop: bool) -> tuple[int, ...]:
    """Glyphs with a pen-down point beyond MAX_GLYPH_REACH; refused (GestureError) unless ``drop``."""
    lo, hi = -MAX_GLYPH_REACH, 1.0 + MAX_GLYPH_REACH
    out = []
    for glyph, strokes in enumerate(runs):
        for s in strokes:
            far = ((s.points < lo) | (s.points > hi)).any(axis=1)
            if far.any():
                if not drop:
                    i = int(np.argmax(far))
                    x, y = s.points[i]
                    raise GestureError(
                        f"glyph {glyph} step {int(s.steps[i])} puts the pen down at ({x:g}, {y:g}) glyph units, more than "
                        f"{format_number(MAX_GLYPH_REACH)} canvas sides off its canvas: it would shrink every glyph of the "
                        f"sheet; fix the gestures file, or leave such glyphs blank with --drop-outliers"
                    )
                out.append(glyph)
                break
    return tuple(out)


def _ink_frame(runs: list[list]) -> tuple[float, float, float, float]:
    """The canvas [0,1]² grown to hold every pen-down point of every glyph (glyph units)."""
    points = [s.points for strokes in runs for s in strokes]
    if not points:
        return CANVAS
    pts = np.concatenate(points)
    lo, hi = np.minimum(pts.min(axis=0), 0.0), np.maximum(pts.max(axis=0), 1.0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _check_inside(polylines: list[Polyline], page: Page) -> None:
    x0, y0, x1, y1 = page.drawable
    for p in polylines:
        outside = (p.points[:, 0] < x0 - 1e-6) | (p.points[:, 0] > x1 + 1e-6)
        outside |= (p.points[:, 1] < y0 - 1e-6) | (p.points[:, 1] > y1 + 1e-6)
        if outside.any():
            x, y = p.points[int(np.argmax(outside))]
            raise PageError(
                f"glyph {p.glyph} leaves the drawable area of {page.describe()}: point "
                f"({format_number(x, 2)}, {format_number(y, 2)}) mm is outside "
                f"{format_number(x0)}..{format_number(x1)} x {format_number(y0)}..{format_number(y1)} mm; "
                f"use --frame fit, a smaller --cell, or --clip"
            )


def place_sheet(
    gestures: Sequence[Gesture], placements: Sequence[Placement], page: Page, options: SheetOptions = SheetOptions()
) -> Sheet:
    """Gestures at given placements (glyph units -> page mm) -> a Sheet of ordered pen-down polylines.

    As :func:`plan_sheet` without the grid: :func:`place_sheets` of one page, the pieces of a stroke
    chained and their ends merged within ``options.merge_mm``.  The gestures need the same number of steps.
    """
    counts = np.array([len(g) for g in gestures])
    steps = int(counts.max()) if len(counts) else 0
    if len(gestures) and not (counts == steps).all():
        raise GestureError("place_sheet needs gestures of the same number of steps")
    arrays = {
        "points": np.array([g.points for g in gestures]).reshape(len(gestures), steps, 2),
        "pressure": np.array([g.pressure for g in gestures]).reshape(len(gestures), steps),
        "intensity": np.array([g.intensity for g in gestures]).reshape(len(gestures), steps),
    }
    scale = np.array([[p.scale_mm, p.x_mm, p.y_mm] for p in placements]).reshape(-1, 3)
    dt_s = gestures[0].dt_s if gestures else 0.05
    (sheet,) = place_sheets([page], [tuple(placements)], arrays, scale, [options.merge_mm], options, dt_s)
    return sheet


def place_sheets(
    pages: Sequence[Page],
    placements: Sequence[tuple[Placement, ...]],
    arrays: dict[str, np.ndarray],
    scale: np.ndarray,
    join_mm: Sequence[float],
    options: SheetOptions,
    dt_s: float,
) -> list[Sheet]:
    """The sheets of many pages at once (``igae vectorize``: one page per source image): each page's
    glyphs' pen-down runs placed on it, chained, merged, cut at the page edge if they cross it, ordered.

    arrays: gestures of all K glyphs, page after page: points (K,T,2) glyph units, pressure and
    intensity (K,T); scale (K,3): each glyph's placement (scale_mm, x_mm, y_mm); join_mm: per page,
    the distance below which consecutive runs of a glyph are chained (and ends merged).  The pen-down
    runs and their page coordinates are found for all pages in a few array operations.
    """
    steps = arrays["intensity"].shape[1]
    per_page = np.array([len(p) for p in placements], dtype=np.intp)
    page_of = np.repeat(np.arange(len(pages)), per_page)  # (K,)
    page_xy = arrays["points"] * scale[:, None, :1] + scale[:, None, 1:]  # (K,T,2) mm, as Placement.to_page
    down = pen_down(arrays["intensity"], options.threshold, options.release).reshape(-1)
    idx = np.flatnonzero(down)  # pen-down steps of all glyphs, glyph after glyph: g * T + step
    glyph, step = np.divmod(idx, max(steps, 1))
    xy = page_xy.reshape(-1, 2)[idx]
    # A run starts where the pen comes down; it continues the chain of the run before it (same glyph)
    # when it starts within join_mm of that run's end: the model draws one stroke in several pieces.
    starts = (step == 0) | ~down[np.maximum(idx - 1, 0)]
    tol = np.asarray(join_mm, dtype=np.float64)[page_of[glyph]]
    gap = np.hypot(*(xy - np.roll(xy, 1, axis=0)).T)  # from the previous pen-down point
    same_glyph = np.concatenate([[False], glyph[1:] == glyph[:-1]])
    bounds = np.flatnonzero(starts & ~(same_glyph & (tol > 0) & (gap <= tol)))
    chain_end = np.append(bounds[1:], len(idx))
    pressure = arrays["pressure"].reshape(-1)[idx]
    first_glyph = np.cumsum(per_page) - per_page  # each page's first glyph
    chains: list[list[Polyline]] = [[] for _ in pages]
    for a, b in zip(bounds.tolist(), chain_end.tolist()):
        g = int(glyph[a])
        i = int(page_of[g])
        chains[i].append(stroke_polyline(xy[a:b], pressure[a:b], step[a:b], dt_s, g - int(first_glyph[i])))
    inside = _inside_pages(pages, xy, page_of[glyph]) if options.simplify_mm <= 0 else [None] * len(pages)
    return [
        Sheet(page, places, tuple(_finish(polylines, page, options, tol_i, _CLIP_IF_OUTSIDE, inside_i)),
              options.threshold, options.release)
        for page, places, polylines, tol_i, inside_i in zip(pages, placements, chains, join_mm, inside)
    ]


def _inside_pages(pages: Sequence[Page], xy: np.ndarray, page_of: np.ndarray) -> list[bool]:
    """Per page: every pen-down point on it lies on its drawable area.  xy (P,2) mm of all pen-down
    points, page_of (P,) the page of each."""
    box = np.array([page.drawable for page in pages]).reshape(-1, 4)[page_of]  # (P,4) per point
    ok = (xy[:, 0] >= box[:, 0]) & (xy[:, 1] >= box[:, 1]) & (xy[:, 0] <= box[:, 2]) & (xy[:, 1] <= box[:, 3])
    return (np.bincount(page_of[~ok], minlength=len(pages)) == 0).tolist()


def plot_lengths(sheets: Sequence[Sheet]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sheet: strokes, pen-down length and pen-up travel (between strokes) in mm, all sheets in one pass."""
    counts = np.array([len(s.polylines) for s in sheets], dtype=np.intp)
    polylines = [p for s in sheets for p in s.polylines]
    if not polylines:
        return counts, np.zeros(len(sheets)), np.zeros(len(sheets))
    points = np.concatenate([p.points for p in polylines])
    step = np.diff(points, axis=0)
    seg = np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1])  # (P-1,) from each row to the next
    polyline_of = np.repeat(np.arange(len(polylines)), [len(p) for p in polylines])  # (P,)
    sheet_of = np.repeat(np.arange(len(sheets)), counts)[polyline_of]  # (P,)
    drawn = polyline_of[1:] == polyline_of[:-1]  # within a stroke: pen down
    travel = ~drawn & (sheet_of[1:] == sheet_of[:-1])  # from a stroke's end to the next one's start
    down = np.bincount(sheet_of[:-1][drawn], weights=seg[drawn], minlength=len(sheets))
    up = np.bincount(sheet_of[:-1][travel], weights=seg[travel], minlength=len(sheets))
    return counts, down, up


def pen_speeds_mm_s(polylines: Sequence[Polyline], machine: Machine) -> list[np.ndarray]:
    """Pen-down speed of every segment, mm/s: one (N-1,) array per polyline.

    ``feed = "velocity"``: the gesture's step speed (segment length / step time) mapped linearly
    from [0, fastest segment on the sheet] onto the profile's [min, max]; ``"constant"``: max.
    """
    lo, hi = np.asarray(machine.feed_mm_min) / 60.0 if machine.kind == "plotter" else np.asarray(machine.speed_mm_s)
    seg_len = [np.linalg.norm(np.diff(p.points, axis=0), axis=1) for p in polylines]
    if machine.feed == "constant":
        return [np.full(len(s), hi) for s in seg_len]
    seg_dt = [np.abs(np.diff(p.t_s)) for p in polylines]
    # A segment with no time (a join made by merge) is drawn at full speed.
    speed = [np.where(dt > 0, s / np.where(dt > 0, dt, 1.0), np.inf) for s, dt in zip(seg_len, seg_dt)]
    finite = [v[np.isfinite(v)] for v in speed]
    fastest = max((float(v.max()) for v in finite if len(v)), default=0.0)
    if fastest <= 0:
        return [np.full(len(v), lo) for v in speed]
    return [lo + (hi - lo) * np.minimum(v / fastest, 1.0) for v in speed]


def plot_timing(sheet: Sheet, machine: Machine) -> tuple[list[np.ndarray], float, float]:
    """What :func:`plot_stats` adds up, kept per stroke for ``igae preview``: each polyline's pen-down
    segment times (N-1,) in s, the travel speed in mm/s, and the seconds a stroke spends lowering and
    lifting the pen.  A file written for ``machine`` and read back (its ``igae machine`` names it) keeps
    its own times: its t_s are already this machine's seconds, not gesture steps to map onto its feeds."""
    polylines = list(sheet.polylines)
    if sheet.meta.get("machine") == machine.name:
        seg_s = [np.abs(np.diff(p.t_s)) for p in polylines]
    else:
        speeds = pen_speeds_mm_s(polylines, machine)
        seg_s = [np.linalg.norm(np.diff(p.points, axis=0), axis=1) / v for p, v in zip(polylines, speeds)]
    if machine.kind == "plotter":
        travel_mm_s = machine.travel_mm_min / 60.0
        pen_move = 2 * machine.dwell_s
        if machine.pen == "z":
            pen_move += 2 * abs(machine.z_up_mm - machine.z_down_mm) / (machine.plunge_mm_min / 60.0)
    else:
        travel_mm_s = machine.travel_speed_mm_s
        pen_move = 2 * machine.z_up_mm / machine.z_speed_mm_s
    return seg_s, travel_mm_s, pen_move


def plot_stats(sheet: Sheet, machine: Machine | None = None) -> PlotStats:
    """Pen-down length, pen-up travel, lifts; with a machine also the plot time (moves at their
    feeds, travel at the travel rate, each lift and lowering at the Z speed plus dwell)."""
    polylines = list(sheet.polylines)
    _, (down,), (up,) = plot_lengths([sheet])
    down, up = float(down), float(up)
    time_s = None
    if machine is not None:
        seg_s, travel_mm_s, pen_move = plot_timing(sheet, machine)
        time_s = sum(float(s.sum()) for s in seg_s) + up / travel_mm_s + len(polylines) * pen_move
    return PlotStats(len(polylines), down, up, len(polylines), time_s)
