"""The first stage of a run: read images and cut them into glyph crops for the engine.

    read, ink, cut into glyph pieces, crop to the engine's input    (DataLoader workers, a batch of images at a time)

The second stage, drawing the crops, is the engine's (:mod:`igae_robot.vectorize.engines`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from igae_robot.errors import IgaeError
from igae_robot.images.glyphs import fits_one_glyph, glyph_inputs, ink_images, stroke_widths
from igae_robot.images.ruled_lines import remove_ruled_lines
from igae_robot.images.scan import scan_ink
from igae_robot.images.read import blank_reason, read_image_stats
from igae_robot.images.trace import median_stroke_width
from igae_robot.vectorize.options import Source, VectorizeOptions


# ---- stage 1: read and cut (DataLoader workers), a batch of images at a time -----------------------


@dataclass
class _Loaded:
    """A batch of images read and cut into model inputs: arrays, so that it crosses processes cheaply."""

    index: np.ndarray  # (N,) positions in the run's todo list
    glyphs: np.ndarray  # (K,S,S) float32 model inputs, image after image; native crops: (K,) object, each (S,S) or a whole ink (H,W)
    counts: np.ndarray  # (N,) glyphs per image (0 for a failed image: blank, no glyph, unreadable)
    transforms: np.ndarray  # (K,3) each glyph's GlyphTransform: scale, offset_x, offset_y (canvas -> source px)
    size_px: np.ndarray  # (N,2) source width, height
    stroke_px: np.ndarray  # (N,) typical stroke width of the source ink, pixels
    pen_px: np.ndarray  # (N,) median stroke width of the source ink, pixels: the pen that draws it as it is
    stat: np.ndarray  # (N,2) int64 file size and mtime_ns as read
    seconds: np.ndarray  # (N,) time spent on each image, its share of the batched steps included
    errors: dict[int, str]  # position in the batch -> why that image failed


@dataclass(frozen=True)
class Crop:
    """How an engine wants its glyphs: crops ``size`` pixels square, the ink scaled into ``box`` pixels,
    and one glyph per image while the ink fits ``glyph_strokes`` stroke widths; larger ink is cut into
    glyph pieces, or with ``native`` handed over whole, at the source's own scale (a page, a word, a
    sketch: the pen engine draws it in windows, see :func:`~igae_robot.model.pen_fit.fit_page`).  With
    ``whole_factors`` a glyph is enlarged by a whole factor only, never shrunk (see
    :func:`~igae_robot.images.glyphs.to_canvas`): with ``native``, ink that does not fit the crop as it is
    is handed over whole."""

    size: int
    box: int
    glyph_strokes: float
    native: bool = False
    whole_factors: bool = False


BATCH_PIXELS = 24_000_000  # source pixels a loader batch holds at most: an A4 page at 300 dpi is 8.7 million


class PixelBatches:
    """The loader's batches: up to ``batch_size`` images and :data:`BATCH_PIXELS` source pixels each (a
    batch of 256 page scans would hold 9 GB of ink; 256 digits hold 0.2 MB).  Sizes come from each file's
    header (20 us a file); an unreadable one counts as nothing here and fails when it is read."""

    def __init__(self, sources: Sequence[Source], batch_size: int, max_pixels: int = BATCH_PIXELS):
        self.sources, self.batch_size, self.max_pixels = list(sources), batch_size, max_pixels

    def __iter__(self):
        if len(self.sources) == 1:  # one batch whatever its size: no header to read (Pillow's first open is 3-9 ms)
            yield [0]
            return
        batch: list[int] = []
        total = 0
        for i, source in enumerate(self.sources):
            pixels = _header_pixels(source.path)
            if batch and (len(batch) == self.batch_size or total + pixels > self.max_pixels):
                yield batch
                batch, total = [], 0
            batch.append(i)
            total += pixels
        if batch:
            yield batch


def _header_pixels(path: Path) -> int:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.width * im.height
    except Exception:  # the loader reads it again and records why it fails
        return 0


class _ImageSet(torch.utils.data.Dataset):
    """The todo list; a loader batch of images is read and cut together (``__getitems__``)."""

    def __init__(self, sources: Sequence[Source], options: VectorizeOptions, crop: Crop):
        self.sources, self.options, self.crop = list(sources), options, crop

    def __len__(self) -> int:
        return len(self.sources)

    def __getitems__(self, indices: list[int]) -> _Loaded:
        return _load(self.sources, indices, self.options, self.crop)


def _load(sources: Sequence[Source], indices: list[int], options: VectorizeOptions, crop: Crop) -> _Loaded:
    """Read images ``indices`` of ``sources`` and cut them into model inputs.  A bad file becomes an
    error of its own; the others go on.  Same-size images are cut as one stack (an MNIST folder is
    one stack per batch), which costs a few array operations instead of dozens per image."""
    n = len(indices)
    tic = time.perf_counter()
    grays: list[np.ndarray | None] = [None] * n
    stat = np.zeros((n, 2), dtype=np.int64)
    errors: dict[int, str] = {}
    for j, result in enumerate(_read([sources[i].path for i in indices], options.max_pixels)):
        if isinstance(result, Exception):  # one bad file must not stop the batch; the manifest says why
            errors[j] = _reason(result, sources[indices[j]].path)
        else:
            gray, st = result
            stat[j] = st.st_size, st.st_mtime_ns
            blank = blank_reason(gray)
            if blank is None:
                grays[j] = gray
            else:  # nothing to draw: a warning in the manifest, not an empty drawing
                errors[j] = _reason_text(blank, sources[indices[j]].path)
    seconds = np.full(n, (time.perf_counter() - tic) / max(1, n))
    cut: dict[int, tuple[np.ndarray, np.ndarray, float, float]] = {}  # position -> (glyphs, transforms, stroke px, pen px)
    shapes: dict[tuple[int, int], list[int]] = {}
    for j, gray in enumerate(grays):
        if gray is not None:
            shapes.setdefault(gray.shape, []).append(j)
    for same in shapes.values():
        tic = time.perf_counter()
        for part in _cut(_stacked([grays[j] for j in same]), options, crop, same):
            if isinstance(part[1], str):
                errors[part[0]] = _reason_text(part[1], sources[indices[part[0]]].path)
            elif not len(part[1][0]):  # ink, but only specks: nothing the model could draw
                errors[part[0]] = _reason_text(_NO_GLYPH, sources[indices[part[0]]].path)
            else:
                cut[part[0]] = part[1]
        seconds[same] += (time.perf_counter() - tic) / len(same)
    counts = np.array([len(cut[j][0]) if j in cut else 0 for j in range(n)], dtype=np.intp)
    sizes = np.array([(g.shape[1], g.shape[0]) if g is not None else (0, 0) for g in grays], dtype=np.int64)
    done = [j for j in range(n) if j in cut]  # image order (the stacks were cut size by size)
    return _Loaded(
        np.asarray(indices, dtype=np.intp),
        np.concatenate([cut[j][0] for j in done] or [np.zeros((0, crop.size, crop.size), np.float32)]),
        counts,
        np.concatenate([cut[j][1] for j in done] or [np.zeros((0, 3))]),
        sizes,
        np.array([cut[j][2] if j in cut else 0.0 for j in range(n)]),
        np.array([cut[j][3] if j in cut else 0.0 for j in range(n)]),
        stat,
        seconds,
        errors,
    )


_BLANK_SCAN = "blank scan: nothing stands out of the paper and its grain as ink (no drawing written)"
_NO_GLYPH = "no glyph found: the ink is only specks smaller than half a stroke width"


def _read(paths: list[Path], max_pixels: int) -> list:
    """read_image_stats, and if reading them together fails on something unforeseen, one by one,
    so that only the file that caused it fails."""
    try:
        return read_image_stats(paths, max_pixels)
    except Exception:
        out = []
        for path in paths:
            try:
                out += read_image_stats([path], max_pixels)
            except Exception as exc:
                out.append(exc)
        return out


def _cut(grays: np.ndarray, options: VectorizeOptions, crop: Crop, positions: list[int]):
    """Yield (position, (glyphs, transforms, stroke px, pen px)) for a stack (N,H,W) of same-size images, or
    (position, error text) for an image that failed; if the stack as a whole fails, one image at a time."""
    try:
        inks = _inks(grays, options)
        widths = stroke_widths(inks)
        if crop.native:
            glyphs, counts, transforms = _native_inputs(inks, widths, options.split, crop)
        else:
            glyphs, counts, transforms = glyph_inputs(inks, widths, options.split, crop.size, crop.box, crop.glyph_strokes)
        pens = [median_stroke_width(ink > 0.5) for ink in inks]
    except Exception as exc:
        if len(grays) == 1:
            yield positions[0], f"{type(exc).__name__}: {exc}" if not isinstance(exc, IgaeError) else str(exc)
            return
        for k, j in enumerate(positions):
            yield from _cut(grays[k : k + 1], options, crop, [j])
        return
    ends = np.cumsum(counts)
    for k, j in enumerate(positions):
        if widths[k] == 0:  # contrast, but nothing stands out of the paper: grain, a shadow, a blank scan
            yield j, _BLANK_SCAN
            continue
        part = slice(ends[k] - counts[k], ends[k])
        yield j, (glyphs[part], transforms[part], float(widths[k]), pens[k])


# Images smaller than this on a side are glyphs, not scans of paper: their ink is the stretched image
# (ink_images).  scan_ink's paper estimate and speck removal are for pages: on 50 noisy 28-px handwriting
# glyphs (pen 1 px) it took the pen engine from 0.849 to 0.715 (benchmarks/pen_fidelity.py --seed 11).
SCAN_MIN_SIDE = 64


def _inks(grays: np.ndarray, options: VectorizeOptions) -> np.ndarray:
    """The ink of each image of a stack (N,H,W): a scan's paper, light and grain taken out (:func:`scan_ink`;
    a clean digital image comes out as it is), ruled lines too with ``options.remove_lines``; a glyph-sized
    image stretched as before (:data:`SCAN_MIN_SIDE`)."""
    if min(grays.shape[1:]) < SCAN_MIN_SIDE:
        return ink_images(grays, options.invert)
    inks = _stacked([scan_ink(g, options.invert) for g in grays])
    if options.remove_lines:
        inks = _stacked([remove_ruled_lines(ink) for ink in inks])
    return inks


def _stacked(images: list[np.ndarray]) -> np.ndarray:
    """Images of one size as a stack (N,H,W); one image is a view of itself, not a copy (an A4 scan at 300 dpi
    is 35 MB, and its two copies on the way in took 34 ms of a 1 s page)."""
    return images[0][None] if len(images) == 1 else np.stack(images)


def _native_inputs(inks: np.ndarray, widths: np.ndarray, split: str, crop: Crop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """glyph_inputs for an engine that draws ink of any size whole (``crop.native``): an image that is one
    glyph (``split``, as :func:`~igae_robot.images.glyphs.find_pieces` decides it) becomes a crop as
    before; any other image is one glyph at its own scale, its ink as it is, canvas unit = its longer side.
    Returns glyphs (K,) object arrays, counts (N,), transforms (K,3)."""
    n, h, w = inks.shape
    if split == "none":
        whole = np.ones(n, bool)
    else:
        canvas = crop.size if crop.whole_factors else None  # a glyph never shrunk must fit the crop as it is
        whole = (split == "auto") & (widths > 0) & fits_one_glyph(inks, widths, crop.glyph_strokes, canvas)
    crops, counts, transforms = glyph_inputs(inks[whole], widths[whole], split, crop.size, crop.box, crop.glyph_strokes,
                                             crop.whole_factors)
    crop_of = np.cumsum(counts) - counts  # each whole image's crop
    glyphs, out_counts, out_transforms = [], np.zeros(n, np.intp), []
    for i, k in zip(range(n), np.cumsum(whole) - 1):
        if whole[i]:
            glyphs.append(crops[crop_of[k]])
            out_transforms.append(transforms[crop_of[k]])
        elif widths[i] > 0:
            glyphs.append(inks[i])
            out_transforms.append((float(max(h, w)), 0.0, 0.0))
        out_counts[i] = 1 if (whole[i] or widths[i] > 0) else 0
    return ragged(glyphs), out_counts, np.array(out_transforms, dtype=np.float64).reshape(-1, 3)


def ragged(arrays: list[np.ndarray]) -> np.ndarray:
    """(K,) object array of the given arrays (numpy would stack same-shape arrays into one)."""
    out = np.empty(len(arrays), dtype=object)
    for k, a in enumerate(arrays):
        out[k] = a
    return out


def _reason(exc: Exception, path: Path) -> str:
    if isinstance(exc, IgaeError):
        return str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    return f"{path}: {type(exc).__name__}: {exc}"


def _reason_text(text: str, path: Path) -> str:
    return text if str(path) in text else f"{path}: {text}"


def glyph_pens(loaded: _Loaded) -> np.ndarray:
    """(K,) each glyph's pen in its canvas units: its source's median stroke width (``pen_px``), through its
    transform (source pixels per canvas unit)."""
    return np.repeat(loaded.pen_px, loaded.counts) / np.maximum(1e-9, loaded.transforms[:, 0])
