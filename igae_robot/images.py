"""Turning an arbitrary image into a model input, torch-free (numpy + Pillow).

The model sees MNIST-like glyphs: light ink on a dark 28×28 canvas, the glyph's bounding box
scaled to fit a 20×20 square and centred (as MNIST was made).  :func:`to_glyph` returns that
canvas *and* the transform back to the source image's pixel coordinates, so a vectorized
drawing can be placed on the original scan.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import DataError

__all__ = ["IMAGE_SUFFIXES", "GlyphTransform", "read_image", "to_glyph", "is_light_background"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")


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


def read_image(path: str | Path, max_pixels: int = 50_000_000) -> np.ndarray:
    """Read any Pillow-readable image as grayscale float (H,W) in [0,1] (1 = white).

    Raises :class:`DataError` naming the file for a missing, empty, truncated, unreadable or
    over-large (decompression bomb) image.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise DataError(f"{path}: image is {w}x{h} pixels, more than the limit of {max_pixels}")
                im.load()
                gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from None
    return gray


def is_light_background(gray: np.ndarray) -> bool:
    """True when the image looks like dark ink on light paper (its border is mostly light)."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) > 0.5


def to_glyph(gray: np.ndarray, invert: bool | None = None, size: int = 28, box: int = 20) -> tuple[np.ndarray, GlyphTransform]:
    """Grayscale (H,W) in [0,1] -> MNIST-like glyph (size,size) float32 in [0,1] + its transform.

    invert: None = detect from the border; True = dark ink on light paper; False = already light on dark.
    """
    if gray.ndim != 2 or gray.size == 0:
        raise DataError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    ink = 1.0 - gray if (is_light_background(gray) if invert is None else invert) else gray
    lo = float(np.percentile(ink, 5))
    ink = np.clip((ink - lo) / max(1e-6, float(ink.max()) - lo), 0.0, 1.0)
    h, w = ink.shape
    rows = np.flatnonzero(ink.max(axis=1) > 0.2)
    cols = np.flatnonzero(ink.max(axis=0) > 0.2)
    if len(rows) == 0:  # blank image: keep the whole frame
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = max(y1 - y0, x1 - x0)  # square crop around the content
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    scale_box = box / side  # glyph pixels per source pixel
    # Canvas pixel (i+0.5) <-> source coordinate: source = (canvas_px - size/2) / scale_box + centre.
    src_per_canvas = size / scale_box
    transform = GlyphTransform(src_per_canvas, cx - src_per_canvas / 2, cy - src_per_canvas / 2, (w, h))
    crop = np.zeros((side, side), dtype=np.float32)
    sy0, sx0 = int(round(cy - side / 2)), int(round(cx - side / 2))
    ys, xs = slice(max(0, sy0), min(h, sy0 + side)), slice(max(0, sx0), min(w, sx0 + side))
    crop[ys.start - sy0 : ys.stop - sy0, xs.start - sx0 : xs.stop - sx0] = ink[ys, xs]
    small = np.asarray(Image.fromarray(crop).resize((box, box), Image.BILINEAR if side < box else Image.LANCZOS))
    glyph = np.zeros((size, size), dtype=np.float32)
    pad = (size - box) // 2
    glyph[pad : pad + box, pad : pad + box] = np.clip(small, 0.0, 1.0)
    return glyph, transform
