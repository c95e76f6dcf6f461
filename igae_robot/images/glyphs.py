"""From a grayscale image to model inputs, torch-free (numpy + scipy.ndimage): ink, stroke width,
glyph-sized pieces, and the MNIST-like canvas with its :class:`GlyphTransform` back to the source.

The model sees MNIST-like glyphs: light ink on a dark 28×28 canvas, the glyph's bounding box
scaled to fit a 20×20 square and centred (as MNIST was made).  :func:`to_glyph` returns that
canvas *and* the transform back to the source image's pixel coordinates, so a vectorized
drawing can be placed on the original scan.

The model draws one glyph on its canvas (28×28), with strokes a tenth or so of the glyph's size.
A page of handwriting, or a line drawing, is cut into pieces of that shape:

* the ink is binarised and its connected components found (8-connected);
* components closer than ``join_strokes`` stroke widths are grouped (the dot of an i, a broken
  stroke of a 5);
* a group wider or taller than ``glyph_strokes`` stroke widths (a cursive word, a drawing) is cut
  into a grid of square tiles.

Each piece becomes one model input plus the :class:`GlyphTransform` that maps the
model's canvas back onto the *source image's* pixels (:func:`glyph_crops`), so the gestures of all
pieces land where their ink was and a page comes out as a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from igae_robot.errors import ConfigError, DataError
from igae_robot.images.read import light_backgrounds

__all__ = [
    "GlyphTransform", "Piece", "SPLIT_MODES", "ink_image", "ink_images", "stroke_width", "stroke_widths", "find_pieces",
    "to_glyph", "to_canvas", "glyph_crops", "glyph_inputs",
]

SPLIT_MODES = ("auto", "none", "components")

_INK = 0.5  # binarisation level of the ink image for components and stroke width
_CONTENT = 0.2  # ink above this is content (as to_glyph): faint scanner noise does not stretch the box
_FAINT_EDGE = 1  # px kept round the ink's box when it is put on a canvas (its anti-aliased edge)
_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connectivity


@dataclass(frozen=True, eq=False)
class Piece:
    """A glyph-sized part of an image: a box (x0, y0, x1, y1) in source pixels (x1, y1 exclusive)
    and ``mask`` (y1-y0, x1-x0) bool, the pixels of the box that belong to it (None: all)."""

    box: tuple[int, int, int, int]
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class GlyphTransform:
    """canvas units [0,1] -> source pixels: ``src = offset + canvas * scale`` (x and y alike)."""

    scale: float  # source pixels per canvas unit
    offset_x: float
    offset_y: float
    source_size: tuple[int, int]  # (width, height) of the source image, pixels

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """points (...,2) canvas units -> source image pixels."""
        return points * self.scale + np.array([self.offset_x, self.offset_y])


def ink_image(gray: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """Grayscale (H,W) in [0,1] (1 = white) -> ink (H,W) float32 in [0,1] (1 = full ink).

    invert: None = detect from the border (as :func:`to_glyph`); True = dark ink
    on light paper; False = light ink on dark.  Contrast is stretched as ``to_glyph`` does: the 5th
    percentile becomes 0 (paper), the darkest ink 1.
    """
    return ink_images(gray[None], invert)[0]


def ink_images(grays: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """:func:`ink_image` of each image of a stack (N,H,W) of same-size images -> (N,H,W) float32."""
    n = len(grays)
    dark_on_light = light_backgrounds(grays) if invert is None else np.full(n, bool(invert))
    ink = np.where(dark_on_light[:, None, None], 1.0 - grays, grays)
    flat = ink.reshape(n, -1)
    lo = np.percentile(flat, 5, axis=1)
    # As one image's arithmetic: lo and the range in double precision, applied in the ink's precision.
    span = np.maximum(1e-6, flat.max(axis=1).astype(np.float64) - lo.astype(np.float64)).astype(ink.dtype)
    stretched = (ink - lo.astype(ink.dtype)[:, None, None]) / span[:, None, None]
    return np.clip(stretched, 0.0, 1.0).astype(np.float32)


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width of the ink, pixels (0 for a blank image).

    A stroke of width w and length L covers w·L pixels and has about 2·L boundary pixels, so
    w ≈ 2 · area / boundary.  (Strokes one pixel wide read as 2; that only makes pieces larger.)
    """
    return float(stroke_widths(ink[None])[0])


def stroke_widths(inks: np.ndarray) -> np.ndarray:
    """:func:`stroke_width` of each ink of a stack (N,H,W) -> (N,) float."""
    binary = inks > _INK
    area = binary.reshape(len(inks), -1).sum(axis=1)
    # Ink pixels with ink on all four sides, the image's edge counting as paper: ndimage.binary_erosion's
    # count, from four shifted views (a 1200x1400 page: 5 ms against 25-35 ms).
    eroded = binary.copy()
    eroded[:, 0], eroded[:, -1], eroded[:, :, 0], eroded[:, :, -1] = False, False, False, False
    inner = eroded[:, 1:-1, 1:-1]
    inner &= binary[:, :-2, 1:-1] & binary[:, 2:, 1:-1] & binary[:, 1:-1, :-2] & binary[:, 1:-1, 2:]
    boundary = area - eroded.reshape(len(inks), -1).sum(axis=1)
    return np.where(area > 0, 2.0 * area / np.maximum(1, boundary), 0.0)


def find_pieces(
    ink: np.ndarray, split: str = "auto", glyph_strokes: float = 12.0, join_strokes: float = 2.0, width: float | None = None
) -> list[Piece]:
    """The glyph-sized pieces of an ink image (H,W) in [0,1], in reading order (top to bottom, left to right).

    split: ``"none"`` = the whole image is one glyph; ``"components"`` = always cut into grouped
    components and tiles; ``"auto"`` = one glyph when the ink fits in a square of ``glyph_strokes``
    stroke widths (a glyph, e.g. an MNIST digit), else as ``"components"``.
    width: the ink's :func:`stroke_width` if the caller has it already.
    Returns [] when there is no ink to cut (the caller draws nothing).
    """
    if split not in SPLIT_MODES:
        raise ConfigError(f"unknown split mode {split!r}; known: {', '.join(SPLIT_MODES)}")
    h, w = ink.shape
    if split == "none":
        return [Piece((0, 0, w, h))]
    width = stroke_width(ink) if width is None else width
    if width == 0:
        return []
    if split == "auto" and fits_one_glyph(ink[None], np.array([width]), glyph_strokes)[0]:
        return [Piece((0, 0, w, h))]
    limit = max(4, math.ceil(glyph_strokes * width))  # largest glyph side, pixels
    binary = ink > _INK
    # Grow every component by half the join distance: components closer than it merge into one group.
    # The grown region also keeps the faint anti-aliased fringe of the ink with its group.
    reach = max(1, round(join_strokes * width / 2))
    grown = ndimage.binary_dilation(binary, iterations=reach)
    labels, _ = ndimage.label(grown, structure=_EIGHT)
    min_area = max(2.0, width * width / 2)  # specks smaller than half a stroke-width square are noise
    pieces = []
    for index, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        ys, xs = region
        mask = labels[region] == index
        if int((binary[region] & mask).sum()) < min_area:
            continue
        pieces += _tiles((xs.start, ys.start, xs.stop, ys.stop), mask, binary[region], limit, min_area)
    return sorted(pieces, key=lambda p: (p.box[1] // limit, p.box[0]))


def fits_one_glyph(inks: np.ndarray, widths: np.ndarray, glyph_strokes: float = 12.0, canvas: int | None = None) -> np.ndarray:
    """(N,) bool: the ink (N,H,W) fits a square of ``glyph_strokes`` stroke widths (``widths`` > 0), and, when
    ``canvas`` is given, a canvas that size as it is (:func:`to_canvas` with ``whole_factors`` then never shrinks it)."""
    limit = np.maximum(4, np.ceil(glyph_strokes * np.asarray(widths, dtype=np.float64)))  # largest glyph side
    if canvas is not None:
        limit = np.minimum(limit, canvas - 2 * _FAINT_EDGE)
    binary = inks > _INK
    extent = np.zeros(len(inks))
    for axis in (1, 2):  # rows with ink, then columns with ink
        inked = binary.any(axis=3 - axis)
        first, last = inked.argmax(axis=1), inked.shape[1] - 1 - inked[:, ::-1].argmax(axis=1)
        extent = np.maximum(extent, last - first)
    return extent + 1 <= limit


def _tiles(box: tuple[int, int, int, int], mask: np.ndarray, binary: np.ndarray, limit: int, min_area: float) -> list[Piece]:
    """Cut a group larger than ``limit`` pixels into a grid of equal tiles no larger than ``limit``."""
    x0, y0, x1, y1 = box
    nx, ny = math.ceil((x1 - x0) / limit), math.ceil((y1 - y0) / limit)
    xs = np.linspace(0, x1 - x0, nx + 1).round().astype(int)
    ys = np.linspace(0, y1 - y0, ny + 1).round().astype(int)
    out = []
    for i in range(ny):
        for j in range(nx):
            tile = mask[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]
            if int((tile & binary[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]).sum()) >= min_area:
                out.append(Piece((x0 + xs[j], y0 + ys[i], x0 + xs[j + 1], y0 + ys[i + 1]), tile))
    return out


def to_glyph(
    gray: np.ndarray, invert: bool | None = None, size: int = 28, box: int = 20, whole_factors: bool = False,
) -> tuple[np.ndarray, GlyphTransform]:
    """Grayscale (H,W) in [0,1] -> MNIST-like glyph (size,size) float32 in [0,1] + its transform.

    invert: None = detect from the border; True = dark ink on light paper; False = already light on dark.
    One preparation for every path into the model (training folders, ``igae encode``, ``igae check
    --against``, ``igae vectorize``): ink with stretched contrast, then MNIST's own normalisation
    (:func:`~igae_robot.images.glyphs.to_canvas`), so a score never depends on which command made the input.
    """
    if gray.ndim != 2 or gray.size == 0:
        raise DataError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    return to_canvas(ink_image(gray.astype(np.float32, copy=False), invert), size, box, whole_factors=whole_factors)


def to_canvas(
    ink: np.ndarray, size: int = 28, box: int = 20, keep_scale: tuple[float, float] = (0.85, 1.2), whole_factors: bool = False,
) -> tuple[np.ndarray, GlyphTransform]:
    """Ink (H,W) in [0,1] -> model input (size,size) float32 + its transform back to the ink's pixels.

    MNIST's own normalisation, which the model was trained on: the ink's bounding box scaled to fit a
    ``box`` x ``box`` square (aspect kept), then shifted by whole pixels so that its centre of mass is
    at the canvas centre.  A scale within ``keep_scale`` is taken as 1: resampling by a few percent
    blurs a glyph more than the size mismatch changes it, and an MNIST digit then passes through
    unchanged.  (:func:`to_glyph` centres the box instead and always resamples.)

    whole_factors (the pen engine's crops): the ink is enlarged by a whole factor, the largest that keeps it
    in the box, and not resampled at all when it is larger than the box but fits the canvas (see
    :func:`_whole_factor`).
    """
    h, w = ink.shape
    rows, cols = np.flatnonzero(ink.max(axis=1) > _CONTENT), np.flatnonzero(ink.max(axis=0) > _CONTENT)
    canvas = np.zeros((size, size), dtype=np.float32)
    if len(rows) == 0:  # nothing to draw: the whole frame, as to_glyph does
        side = max(h, w)
        return canvas, GlyphTransform(side, (w - side) / 2, (h - side) / 2, (w, h))
    if _is_model_input(ink[None], size, box, keep_scale)[0]:
        # Already a model input (an MNIST digit): pass it through untouched, not even moved by a pixel.
        return ink.astype(np.float32), GlyphTransform(float(size), 0.0, 0.0, (w, h))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    extent = max(y1 - y0, x1 - x0)
    scale = _whole_factor(extent, size, box) if whole_factors else box / extent  # canvas pixels per source pixel
    if keep_scale[0] <= scale <= keep_scale[1]:
        scale = 1.0
    pad = _FAINT_EDGE
    y0, x0, y1, x1 = max(0, y0 - pad), max(0, x0 - pad), min(h, y1 + pad), min(w, x1 + pad)
    crop = ink[y0:y1, x0:x1]
    if scale != 1.0:
        out_w, out_h = max(1, math.ceil((x1 - x0) * scale)), max(1, math.ceil((y1 - y0) * scale))
        # Pad so the source box (out / scale, a little past the crop) lies inside the image Pillow resizes.
        padded = np.zeros((math.ceil(out_h / scale) + 1, math.ceil(out_w / scale) + 1), dtype=np.float32)
        padded[: crop.shape[0], : crop.shape[1]] = crop
        filt = Image.LANCZOS if scale < 1 else Image.BILINEAR  # anti-alias when shrinking
        crop = np.asarray(Image.fromarray(padded).resize((out_w, out_h), filt, box=(0, 0, out_w / scale, out_h / scale)))
        crop = np.clip(crop, 0.0, 1.0)
    ch, cw = crop.shape
    ch, cw = min(ch, size), min(cw, size)  # a glyph larger than the canvas (keep_scale > size / box) is cut
    crop = crop[:ch, :cw]
    mass = float(crop.sum())
    com_y = float((crop.sum(axis=1) * (np.arange(ch) + 0.5)).sum()) / mass
    com_x = float((crop.sum(axis=0) * (np.arange(cw) + 0.5)).sum()) / mass
    px = int(np.clip(round(size / 2 - com_x), 0, size - cw))
    py = int(np.clip(round(size / 2 - com_y), 0, size - ch))
    canvas[py : py + ch, px : px + cw] = crop
    # canvas pixel c = (source pixel - x0) * scale + px; canvas unit u = c / size
    return canvas, GlyphTransform(size / scale, x0 - px / scale, y0 - py / scale, (w, h))


def _whole_factor(extent: int, size: int, box: int) -> float:
    """The pen engine's scale for ink ``extent`` pixels across: a whole factor, never a fraction.

    A pen fit follows the binarised ink's edge, and ink resampled by a fraction has a staircase along its
    lines (a 3-px line enlarged 1.33x is 4 px wide here and 5 px there).  Held-out glyphs (benchmarks/
    pen_fidelity.py sets, seed 5, 6 each) scored 0.9455 against 0.9275 at 28 px (Omniglot), 0.954 against 0.947
    and 0.946 against 0.939 at 112 px (handwriting and printed faces), MNIST the same; one glyph or a short
    word on a 1200x1400 scan (7 of them), 0.93-0.997 against 0.79-0.955.  Ink larger than the canvas is still
    shrunk (the pen engine draws such ink whole instead, :class:`~igae_robot.vectorize.stages.Crop`)."""
    if extent + 2 * _FAINT_EDGE > size:
        return box / extent
    return float(max(1, box // extent))


def _is_model_input(inks: np.ndarray, size: int, box: int, keep_scale: tuple[float, float] = (0.85, 1.2)) -> np.ndarray:
    """(N,) bool: each ink of a stack (N,H,W) is already what :func:`to_canvas` would make of it (a
    size x size image whose content box, scaled within ``keep_scale``, fits ``box`` and whose centre
    of mass is within a pixel of the centre), so it passes through unchanged."""
    n, h, w = inks.shape
    if (h, w) != (size, size):
        return np.zeros(n, dtype=bool)
    rows, cols = inks.max(axis=2) > _CONTENT, inks.max(axis=1) > _CONTENT  # (N,H), (N,W)
    extent = np.maximum(
        h - rows[:, ::-1].argmax(axis=1) - rows.argmax(axis=1), w - cols[:, ::-1].argmax(axis=1) - cols.argmax(axis=1)
    )
    scale = box / np.maximum(1, extent)  # canvas pixels per source pixel
    keeps = ((keep_scale[0] <= scale) & (scale <= keep_scale[1])) | (scale == 1.0)
    return rows.any(axis=1) & keeps & (_com_offsets(inks) <= 1.0)


def _com_offsets(inks: np.ndarray) -> np.ndarray:
    """(N,): largest distance (pixels, per axis) from each ink's centre of mass to the image centre."""
    n, h, w = inks.shape
    mass = inks.reshape(n, h * w).sum(axis=1).astype(np.float64)  # h * w, not -1: a stack may hold no image
    with np.errstate(invalid="ignore", divide="ignore"):  # blank images: not a model input anyway
        com_y = (inks.sum(axis=2) * (np.arange(h) + 0.5)).sum(axis=1) / mass
        com_x = (inks.sum(axis=1) * (np.arange(w) + 0.5)).sum(axis=1) / mass
    return np.maximum(np.abs(com_x - w / 2), np.abs(com_y - h / 2))


def glyph_inputs(
    inks: np.ndarray, widths: np.ndarray, split: str = "auto", size: int = 28, box: int = 20, glyph_strokes: float = 12.0,
    whole_factors: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model inputs of every image of a stack (N,H,W) of same-size inks, as :func:`glyph_crops`
    of :func:`find_pieces` makes them one by one.

    Returns glyphs (K,size,size) float32 image after image, counts (N,) glyphs per image, and
    transforms (K,3): scale, offset_x, offset_y of each glyph's :class:`GlyphTransform`.  Images that
    are one glyph already in the model's format (the MNIST digits) are recognised for the whole
    stack at once and pass through; the others are cut one by one.  glyph_strokes: the largest glyph,
    in stroke widths, that ``"auto"`` keeps whole (see :func:`find_pieces`); whole_factors: see :func:`to_canvas`.
    """
    if split not in SPLIT_MODES:
        raise ConfigError(f"unknown split mode {split!r}; known: {', '.join(SPLIT_MODES)}")
    n, h, w = inks.shape
    whole = np.full(n, split == "none") | ((split == "auto") & (widths > 0) & fits_one_glyph(inks, widths, glyph_strokes))
    through = whole & _is_model_input(inks, size, box)
    if through.all():
        return inks.astype(np.float32), np.ones(n, dtype=np.intp), np.tile([float(size), 0.0, 0.0], (n, 1))
    glyphs, transforms, counts = [], [], np.zeros(n, dtype=np.intp)
    for i in range(n):
        if through[i]:
            g, ts = inks[i : i + 1].astype(np.float32), [GlyphTransform(float(size), 0.0, 0.0, (w, h))]
        else:
            g, ts = glyph_crops(inks[i], find_pieces(inks[i], split, glyph_strokes, width=float(widths[i])), size, box, whole_factors)
        glyphs.append(g)
        transforms += [(t.scale, t.offset_x, t.offset_y) for t in ts]
        counts[i] = len(ts)
    return np.concatenate(glyphs), counts, np.array(transforms, dtype=np.float64).reshape(-1, 3)


def glyph_crops(
    ink: np.ndarray, pieces: list[Piece], size: int = 28, box: int = 20, whole_factors: bool = False,
) -> tuple[np.ndarray, list[GlyphTransform]]:
    """Model inputs for ``pieces`` of an ink image (H,W): glyphs (K,size,size) float32 in [0,1] and,
    per glyph, the transform from its canvas units to the *source image's* pixels (see :func:`to_canvas`)."""
    h, w = ink.shape
    glyphs, transforms = [], []
    for piece in pieces:
        x0, y0, x1, y1 = piece.box
        crop = ink[y0:y1, x0:x1] if piece.mask is None else ink[y0:y1, x0:x1] * piece.mask
        glyph, t = to_canvas(crop, size, box, whole_factors=whole_factors)
        glyphs.append(glyph)
        transforms.append(GlyphTransform(t.scale, t.offset_x + x0, t.offset_y + y0, (w, h)))
    stack = np.stack(glyphs) if glyphs else np.zeros((0, size, size), dtype=np.float32)
    return stack, transforms
