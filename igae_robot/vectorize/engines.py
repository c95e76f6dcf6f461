"""What draws the glyphs of a run: the trained model, or the pen engine (issue 13).

Both take the glyph crops of stage 1 (K,S,S) and give gesture arrays {points (K,T,2) canvas units,
pressure (K,T), intensity (K,T)} that the one sheet pipeline places and writes; each also says how
its glyphs are cropped (``crop``) and what shapes its output (``key``, for resume).

* :class:`ModelEngine` -- a checkpoint's encoder [+ ``--refine`` through its marker renderer].
* :class:`PenEngine` -- the ink's centreline planned for few pen lifts
  (:func:`~igae_robot.images.trace.trace_strokes`), then fitted through the pen renderer so that a pen as wide
  as the source's strokes covers the ink (:func:`~igae_robot.model.pen_fit.fit_drawings`).

Both are judged as a plotter draws: the exported strokes stroked by Pillow with a round pen as wide as the
glyph's median stroke, IoU against the glyph's ink (:func:`~igae_robot.check.score_sheets_pen`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

from igae_robot.gesture import Gesture
from igae_robot.images.hatch import hatch_strokes
from igae_robot.images.pen_habit import load_pen_habit
from igae_robot.images.trace import around_ink, trace_strokes
from igae_robot.model import fit_kernel
from igae_robot.model.checkpoint import Checkpoint
from igae_robot.model.encode import glyph_box, read_inked
from igae_robot.model.pen_fit import PenDrawing, fit_drawings, fit_page, page_windows, to_steps
from igae_robot.model.refine import refine
from igae_robot.model.tensors import GestureTensors
from igae_robot.vectorize.options import VectorizeOptions
from igae_robot.vectorize.stages import Crop

__all__ = ["ModelEngine", "PenEngine", "PAGE_FIT_STEPS", "PEN_CANVAS", "PEN_FIT_STEPS", "draw_whole", "glyph_strokes", "pen_gestures", "read_pen_glyphs"]

# The pen engine's glyph crop, pixels: a 28-pixel digit is drawn at 4x (its strokes about 8 pixels
# wide, enough for the fit to place lines to a fraction of a pixel), a 105-pixel Omniglot drawing at
# about its own resolution.
PEN_CANVAS = 112
PEN_FIT_STEPS = 60  # Adam steps of the fit (``--refine`` sets another number; 0 = the trace as is)
# Adam steps of the fit of ink drawn whole (pages, words, sketches): first PAGE_COARSE_STEPS on the ink at half
# its resolution (a quarter of the pixels: the lines move most of the way to their ink cheaply), then
# PAGE_FIT_STEPS at full resolution (they settle).  On the 16 held-out 1200x1400 pages of
# benchmarks/build_pages.py --seed 3 (pens 3-7 px), 5 + 3 steps scored a mean IoU of 0.887 where 8 full steps
# scored 0.888, and traced and fitted a page in 0.44 s where those took 0.59 s (median; 4 + 3: 0.880 in 0.43 s).
PAGE_COARSE_STEPS = 5
PAGE_FIT_STEPS = 3
# Adam's step while a page is fitted, pixels of the ink it is fitted on, shrinking from the first value to the
# second: large steps move a line to its ink sooner, small ones let it settle (on 6 held-out pages, 5 full steps
# from 0.5 to 0.2 px scored 0.012 more IoU than 5 steps of 0.3 px).  The coarse steps' are half-resolution
# pixels: 0.6 -> 0.3 px of the page.
PAGE_FIT_LR = (0.3, 0.2)
PAGE_COARSE_LR = (0.3, 0.15)
# A traced page's corners, kept as steps of its drawing (pen_fit.to_steps): Douglas-Peucker's tolerance, pixels.
PAGE_CORNER_PX = 0.3
# The widest pen a page is fitted with, pixels: a thicker one (13 px at 600 dpi) is drawn on the ink shrunk
# until the pen is this wide.  On a 1800x1800 crop of a 600-dpi page (pen 13 px): IoU 0.887 at full size,
# 0.877 at 8 px in a third of the time, 0.862 at 5 px; on a 300-dpi page (pen 4.7 px) shrinking to 4 px
# already cost 0.05.
PAGE_WORK_PEN = 8.0
PEN_DT_S = 0.02  # seconds per pen step at nominal speed (steps are half a pen width apart)


@dataclass
class ModelEngine:
    """A trained model's encoder; ``options.refine_steps`` Adam steps through its marker renderer."""

    checkpoint: Checkpoint

    @property
    def crop(self) -> Crop:
        """MNIST's framing, which the model was trained on: a 20/28 box, glyphs up to 12 stroke widths."""
        size = self.checkpoint.config.model.image_size
        return Crop(size, glyph_box(size), 12.0)

    @property
    def dt_s(self) -> float:
        return self.checkpoint.config.train.dt_s

    def key(self, h: "hashlib._Hash") -> None:
        for name, tensor in sorted(self.checkpoint.model.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        h.update(repr(self.checkpoint.config.model).encode())
        h.update(repr(self.checkpoint.config.train.dt_s).encode())

    def prepare(self, device: str) -> None:
        self.checkpoint.model.to(device).eval()

    def draw(self, glyphs: np.ndarray, pens: np.ndarray, options) -> tuple[dict, dict | None]:
        """glyphs (N,S,S) -> gesture arrays in canvas units, refined when asked (then also the encoder's
        own, for the before/after fidelity).  Batches are padded to ``options.batch_size``: the same shape
        every time, so an image's output does not depend on which images shared its batch."""
        model, cfg, b = self.checkpoint.model, self.checkpoint.config.model, options.batch_size
        device = next(model.parameters()).device
        encoded, refined = [], []
        for start in range(0, len(glyphs), b):
            chunk = torch.from_numpy(glyphs[start : start + b])
            x = torch.zeros(b, 1, *chunk.shape[1:])
            x[: len(chunk), 0] = chunk
            x = x.to(device)
            with torch.no_grad():
                g = model.encode(x)
            encoded.append(_arrays(g, len(chunk)))
            if options.refine_steps:  # per glyph independent (see refine), so the padding need not be refined
                n = len(chunk)
                refined.append(_arrays(refine(cfg, g[:n], x[:n], options.refine_steps, options.refine_lr), n))
        before = _concat(encoded, cfg.steps)
        return (_concat(refined, cfg.steps), before) if options.refine_steps else (before, None)


@dataclass
class PenEngine:
    """The pen engine: centreline planned for few lifts, fitted through the pen renderer (module doc).

    ``fit_steps``: Adam steps of the fit (``--refine``); ``lr_px``: its step, crop pixels; ``hatch``: ink drawn
    whole fills its areas many pens wide with hatching (``--hatch``, :mod:`~igae_robot.images.hatch`)."""

    fit_steps: int = PEN_FIT_STEPS
    lr_px: float = 0.3
    page_fit_steps: int = PAGE_FIT_STEPS
    page_lr_px: tuple[float, float] = PAGE_FIT_LR
    page_coarse_steps: int = PAGE_COARSE_STEPS
    hatch: bool = False
    # progress(windows done, windows) while a page is fitted (a 600-dpi page takes seconds); not a setting
    progress: Callable[[int, int], None] | None = dataclasses.field(default=None, compare=False, repr=False)
    size: int = PEN_CANVAS
    dt_s: float = PEN_DT_S

    @property
    def crop(self) -> Crop:
        """A glyph enlarged by a whole factor towards a box of 5/7 of the crop, never shrunk, while it spans up
        to 32 stroke widths (the pen is then still 2.5 crop pixels wide; a model needs glyphs of 12 widths or
        less, the fit does not) and fits the crop.  Larger ink -- a word, a page, a sketch, a glyph larger than
        the crop -- is drawn whole at its own scale (``native``)."""
        return Crop(self.size, round(self.size * 5 / 7), 32.0, native=True, whole_factors=True)

    def key(self, h: "hashlib._Hash") -> None:
        # 4: pages keep their traced corners and are fitted coarse first (session 7); 5: the fit's pieces reach
        # 1 px past the pen, not 1.5 (pen_fit.FIT_MARGIN_EDGES); 6: glyphs enlarged by whole factors only; 7: the
        # fit in float64 in a compiled kernel (model/fit_kernel.py), where torch's was float32: other files.
        h.update(repr(("pen engine", 7, self.fit_steps, self.page_fit_steps, self.page_coarse_steps, self.lr_px, self.page_lr_px,
                       self.size, self.dt_s) + (("hatch",) if self.hatch else ())).encode())

    def prepare(self, device: str) -> None:
        """Load the compiled fit (half a second).  It runs on the CPU whatever ``device``: a glyph's few
        hundred steps are too small a job for a GPU launch."""
        fit_kernel.load()

    def draw(self, glyphs: np.ndarray, pens: np.ndarray, options) -> tuple[dict, None]:
        """glyphs: crops (K,S,S) ink in [0,1], or (K,) objects, each a crop or a whole ink of any size (see
        :class:`~igae_robot.vectorize.stages.Crop`); pens (K,) canvas units (the source's median stroke; a
        glyph's canvas unit is its longer side) -> gesture arrays."""
        sides = np.array([max(g.shape) for g in glyphs], dtype=np.float64)
        pen_px = np.maximum(1.0, np.asarray(pens, dtype=np.float64) * sides)
        crops = [k for k, g in enumerate(glyphs) if g.shape == (self.size, self.size)]
        drawings: list = [None] * len(glyphs)
        for start in range(0, len(crops), options.batch_size):
            part = crops[start : start + options.batch_size]
            for k, d in zip(part, self._fit_crops(np.stack([glyphs[k] for k in part]), pen_px[part])):
                drawings[k] = d
        for k in (k for k, d in enumerate(drawings) if d is None):
            drawings[k] = draw_whole(glyphs[k], pen_px[k], self.page_fit_steps, self.page_lr_px, self.progress, self.page_coarse_steps,
                                     self.hatch)
        return _pen_arrays(drawings, sides), None

    def _fit_crops(self, glyphs: np.ndarray, pen_px: np.ndarray) -> list[PenDrawing]:
        """A batch of crops (B,S,S) traced and fitted together."""
        drawings = [to_steps(glyph_strokes(g > 0.5, p), max(1.0, p / 2)) for g, p in zip(glyphs, pen_px)]
        # The ink a pen can reproduce is ink or paper: fitted to the crop's grey levels, the drawing of a
        # 28-px glyph (upsampled 4x, every edge grey) scored 0.776 on Omniglot and 0.643 on noisy
        # handwriting faces, fitted to the crop binarised at 0.5 0.914 and 0.846 (30 each, seed 2026).
        ink = (glyphs > 0.5).astype(np.float32)
        return fit_drawings(drawings, ink, pen_px, self.fit_steps, self.lr_px)


def glyph_strokes(binary: np.ndarray, pen_px: float) -> list[np.ndarray]:
    """A glyph's centreline strokes, each run the way people draw it and in the order they would
    (:mod:`~igae_robot.images.pen_habit`, learned from Omniglot's writers).  Pages and drawings larger than a
    glyph keep the planner's order: top first, then left to right, piece by piece."""
    return load_pen_habit().arrange(trace_strokes(binary, pen_px))


def draw_whole(
    ink: np.ndarray, pen_px: float, fit_steps: int = PAGE_FIT_STEPS, lr_px: float | tuple[float, float] = PAGE_FIT_LR,
    progress: Callable[[int, int], None] | None = None, coarse_steps: int = PAGE_COARSE_STEPS, hatch: bool = False,
) -> PenDrawing:
    """Ink of any size (H,W) in [0,1] drawn at its own scale: traced whole (strokes run on across the page,
    planned for few lifts), then fitted window by window (:func:`~igae_robot.model.pen_fit.fit_page`):
    ``coarse_steps`` on the ink at half its resolution, then ``fit_steps`` at full (see PAGE_COARSE_STEPS).

    A pen wider than :data:`PAGE_WORK_PEN` pixels (a 600-dpi scan) is drawn on the ink shrunk until the pen
    is that wide, and the drawing scaled back; ``lr_px`` is in pixels of the ink it is fitted on.  Only the
    ink's box and a margin of paper (where the pen may reach) is worked on: a signature on an A4 scan is not
    shrunk and searched whole.  ``hatch``: areas many pens wide are filled with hatching too
    (:func:`~igae_robot.images.hatch.hatch_strokes`), and fitted with the rest."""
    around = around_ink(np.asarray(ink) > 0.5, int(np.ceil(pen_px)) + 4)
    if around is None:
        return PenDrawing(np.zeros((0, 2)), np.zeros(0, bool))
    around = tuple(_even(part, n) for part, n in zip(around, ink.shape))
    corner = np.array([around[1].start, around[0].start], dtype=np.float64)  # (x, y) of the box in the ink
    drawing = _draw_box(ink[around], pen_px, fit_steps, lr_px, progress, coarse_steps, hatch)
    return PenDrawing(drawing.points + corner, drawing.down)


def _even(part: slice, n: int) -> slice:
    """``part`` of 0..n grown to start on an even pixel and to span an even number of them (or to reach n), so
    that the coarse fit's half-resolution pixels are the page's own pairs.  Cut at odd places, the crop is
    shrunk by a ratio just off 0.5, which blurs thin lines: 0.935 -> 0.906 on a page drawn with a 3-px pen."""
    start = part.start - part.start % 2
    stop = part.stop + (part.stop - start) % 2
    return slice(start, min(n, stop))


def _draw_box(
    ink: np.ndarray, pen_px: float, fit_steps: int, lr_px: float | tuple[float, float],
    progress: Callable[[int, int], None] | None, coarse_steps: int, hatch: bool = False,
) -> PenDrawing:
    """draw_whole on ink cropped to its box."""
    ink, scale = _shrunk(ink, min(1.0, PAGE_WORK_PEN / max(pen_px, 1e-6)))
    binary = ink > 0.5
    pen = pen_px * scale[0]
    strokes = trace_strokes(binary, pen) + (hatch_strokes(binary, pen) if hatch else [])
    drawing = to_steps(strokes, max(1.0, pen / 2), PAGE_CORNER_PX)
    if fit_steps <= 0:  # the trace as it is
        coarse_steps = 0
    elif pen < 3.0:  # under 1.5 px at half resolution: every step at full resolution
        fit_steps, coarse_steps = fit_steps + coarse_steps, 0
    small, half = _shrunk(binary, 0.5) if coarse_steps > 0 else (None, np.ones(2))
    start = PenDrawing(drawing.points * half, drawing.down)
    windows = [0, 0]  # the coarse and the full-resolution fit's: what a progress bar counts to
    if progress is not None:
        windows = [page_windows(start, pen * half[0]) if small is not None else 0, page_windows(drawing, pen)]
    if small is not None:
        report = None if progress is None else lambda n, _: progress(n, sum(windows))
        start = fit_page(start, (small > 0.5).astype(np.float32), pen * half[0], coarse_steps, PAGE_COARSE_LR, progress=report)
        drawing = PenDrawing(start.points / half, drawing.down)
    report = None if progress is None else lambda n, _: progress(windows[0] + n, sum(windows))
    fitted = fit_page(drawing, binary.astype(np.float32), pen, fit_steps, lr_px, progress=report)
    return PenDrawing(fitted.points / scale, fitted.down)


def _shrunk(ink: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``ink`` (H,W) area-averaged to ``scale`` of its size (as it is at 1), and the scale (x, y) its pixels
    really have (sizes are whole pixels)."""
    if scale >= 1.0:
        return ink, np.ones(2)
    h, w = ink.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    shrunk = np.asarray(Image.fromarray(np.asarray(ink, np.float32), mode="F").resize(size, Image.BOX))
    return shrunk, np.array([size[0] / w, size[1] / h])


def pen_gestures(glyphs: np.ndarray, pens: np.ndarray, labels: np.ndarray | None = None, engine: PenEngine | None = None) -> list[Gesture]:
    """The pen engine's drawings of glyphs (K,S,S) with pens (K,) canvas units, as :class:`Gesture` objects
    (canvas units, ready for :func:`~igae_robot.paper.sheet.plan_sheet`); the glyphs are drawn on their own
    canvas (``engine.size`` is the crop size of a vectorize run, not used here)."""
    engine = engine or PenEngine()
    side = glyphs.shape[-1]
    at_size = dataclasses.replace(engine, size=side)
    arrays, _ = at_size.draw(glyphs, pens, VectorizeOptions())
    labels = np.full(len(glyphs), -1) if labels is None else np.asarray(labels)
    return [Gesture(arrays["points"][k], arrays["pressure"][k], arrays["intensity"][k], dt_s=engine.dt_s, label=int(labels[k]))
            for k in range(len(glyphs))]


def read_pen_glyphs(paths, invert: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Image files (any size) as the pen engine's glyphs: crops (N,PEN_CANVAS,PEN_CANVAS) and each one's pen,
    pixels of the crop (the source's median stroke).  A blank image warns, naming its file, and is left out;
    when none has ink it is a DataError."""
    from igae_robot.check import source_glyph

    crop = PenEngine().crop
    glyphs, pens = zip(*(source_glyph(g, crop.size, crop.box, invert, crop.whole_factors) for g in read_inked(paths)))
    return np.stack(glyphs).astype(np.float32), np.array(pens)


def _pen_arrays(drawings, sides: np.ndarray) -> dict[str, np.ndarray]:
    """Drawings (their glyph's pixels) as gesture arrays in canvas units (``sides`` (K,): pixels per unit),
    padded with pen-up steps to one length."""
    t = max([1] + [len(d.points) for d in drawings])
    points = np.zeros((len(drawings), t, 2))
    intensity = np.zeros((len(drawings), t))
    for k, (d, side) in enumerate(zip(drawings, np.broadcast_to(sides, (len(drawings),)))):
        n = len(d.points)
        points[k, :n] = d.points / side
        points[k, n:] = points[k, n - 1] if n else 0.5
        intensity[k, :n] = d.down
    return {"points": points, "pressure": np.full((len(drawings), t), 0.5), "intensity": intensity}


def _concat(parts: list[dict], steps: int) -> dict[str, np.ndarray]:
    if not parts:  # no glyph in the whole batch (blank images)
        return {"points": np.zeros((0, steps, 2)), "pressure": np.zeros((0, steps)), "intensity": np.zeros((0, steps))}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _arrays(g: GestureTensors, n: int) -> dict[str, np.ndarray]:
    g = g[:n]
    return {
        "points": g.positions().detach().cpu().double().numpy(),
        "pressure": g.pressure.detach().cpu().double().numpy(),
        "intensity": g.intensity.detach().cpu().double().numpy(),
    }
