"""Reading image files as grayscale arrays, torch-free (numpy + Pillow): the fast PNG path,
Pillow for the rest, blank detection and the paper's polarity.

Turning what was read into a model input (:func:`~igae_robot.images.glyphs.to_glyph`) is the job
of :mod:`igae_robot.images.glyphs`, which builds on this module and never the other way round.

Transparency: what drawing apps export is ink in the alpha channel (often black or any colour
everywhere, transparent paper).  Every reader here composites onto white paper, the fast PNG path
and Pillow's alike, so transparent paper reads as paper and the strokes as ink.  (White ink on
transparent paper therefore reads as blank: flatten such a drawing onto black first.)

Blank images: one with no contrast (all white, all black, fully transparent) or too small to hold a
glyph has nothing to draw; :func:`blank_reason` says why, :func:`read_image` warns with
:class:`BlankImageWarning` naming the file, and ``igae vectorize`` records it in its manifest.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path
from stat import S_ISREG
from typing import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from igae_robot.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES", "BlankImageWarning", "blank_reason", "read_image", "read_image_stat",
    "read_image_stats", "is_light_background", "light_backgrounds",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")
MIN_GLYPH_PX = 4  # a glyph needs at least this many pixels on each side
BLANK_CONTRAST = 1 / 32  # grey levels spanning less than this (8 of 255): no ink, only paper and noise


class BlankImageWarning(UserWarning):
    """An image with nothing to draw (see :func:`blank_reason`); the message names the file."""


def read_image(path: str | Path, max_pixels: int = 50_000_000) -> np.ndarray:
    """Read any Pillow-readable image as grayscale float (H,W) in [0,1] (1 = white), transparent
    parts as white paper.

    Raises :class:`DataError` naming the file for a missing, empty, truncated, unreadable or
    over-large (decompression bomb) image; warns (:class:`BlankImageWarning`) for a blank one.
    """
    return read_image_stat(path, max_pixels)[0]


def read_image_stat(path: str | Path, max_pixels: int = 50_000_000) -> tuple[np.ndarray, os.stat_result]:
    """:func:`read_image`, and the ``os.stat`` of the file as it was read (one open: its size and
    modification time describe the bytes decoded, which is what a resumed batch compares)."""
    (result,) = read_image_stats([path], max_pixels)
    if isinstance(result, DataError):
        raise result
    reason = blank_reason(result[0])
    if reason is not None:
        warnings.warn(f"{path}: {reason}", BlankImageWarning, stacklevel=3)
    return result


def blank_reason(gray: np.ndarray) -> str | None:
    """Why a grayscale image (H,W) in [0,1] has nothing to draw, or None when it has ink: smaller
    than :data:`MIN_GLYPH_PX` on a side, or no contrast (all white or transparent, all black, one grey)."""
    h, w = gray.shape
    if min(h, w) < MIN_GLYPH_PX:
        return f"image too small for a glyph ({w}x{h} pixels; at least {MIN_GLYPH_PX}x{MIN_GLYPH_PX})"
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo >= BLANK_CONTRAST:
        return None
    what = "all white or transparent" if lo > 0.9 else "all black" if hi < 0.1 else f"one grey level ({lo:.2f})"
    return f"blank image ({what}): no ink to draw"


def read_image_stats(paths: Sequence[str | Path], max_pixels: int = 50_000_000) -> list[tuple[np.ndarray, os.stat_result] | DataError]:
    """:func:`read_image_stat` of many files; a file that cannot be read gives its DataError in its place.

    Transparent parts are composited onto white (the module doc).  No warning for blank images: a
    batch records them (:func:`blank_reason`).

    8-bit PNGs (grey, grey+alpha, RGB, RGBA; what scanners and MNIST exports write) of one size are
    decoded together by one call into Pillow's PNG decoder (:func:`_decode_pngs`): Pillow's own work
    per file, not the decoding, is what costs for small images.  Any other file, or a PNG that is not
    plain, goes through Pillow one by one.
    """
    out: list = [None] * len(paths)
    pngs: dict[tuple[int, int, int], list[tuple[int, bytes, os.stat_result]]] = {}
    for i, path in enumerate(paths):
        try:
            data, stat = _read_bytes(path)
            png = _png_scanlines(data, max_pixels)
            if png is None:
                out[i] = _decode(data, path, max_pixels), stat
            else:
                pngs.setdefault(png[:3], []).append((i, png[3], stat))
        except DataError as exc:
            out[i] = exc
    for (width, height, colour), items in pngs.items():
        grays = _decode_pngs(width, height, colour, [scanlines for _, scanlines, _ in items])
        for gray, (i, _, stat) in zip(grays, items):
            out[i] = gray, stat
    return out


def _read_bytes(path: Path) -> tuple[bytes, os.stat_result]:
    """The whole file and its stat, from one open."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # a str or Path; named as given in errors
    except FileNotFoundError:
        raise DataError(f"{path}: no such image file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot open the image ({exc.strerror})") from None
    try:
        stat = os.fstat(fd)
        if not S_ISREG(stat.st_mode):
            raise DataError(f"{path}: no such image file")
        if stat.st_size == 0:
            raise DataError(f"{path}: empty file (0 bytes)")
        chunks = []
        while chunk := os.read(fd, max(stat.st_size + 1, 1 << 16)):  # to the end, even if the file grew
            chunks.append(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the image ({exc.strerror})") from None
    finally:
        os.close(fd)
    return b"".join(chunks), stat


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The largest PNG decoded in a stack, pixels.  Stacking saves Pillow's per-file work, which only small images
# notice; a page pays for inflating, storing and inflating again: 0.36 s against Pillow's 0.27 s on a
# 2480x3508 scan, 0.023 against 0.019 s on 1200x1400 (the same pixels either way).
_STACK_MAX_PIXELS = 1 << 16
_PNG_MODES = {0: ("L", 1), 2: ("RGB", 3), 4: ("LA", 2), 6: ("RGBA", 4)}  # colour type -> mode, bytes per pixel


def _png_scanlines(data: bytes, max_pixels: int) -> tuple[int, int, int, bytes] | None:
    """(width, height, colour type, filtered scanlines) of a plain 8-bit PNG, or None for anything else:
    other formats and depths, palettes, transparency chunks, interlacing, a bad checksum, a truncated
    or overlong stream, more than ``max_pixels`` (Pillow then reads the file and names the problem), an image
    too large to gain from a stack (:data:`_STACK_MAX_PIXELS`)."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos, header, idat = 8, None, []
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data) or zlib.crc32(data[pos + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
            return None
        body = data[pos + 8 : end - 4]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body) if length == 13 else None
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif kind[0] < 97 or kind == b"tRNS":  # an unknown critical chunk (upper-case first letter), or transparency
            return None
        pos = end
    else:
        return None  # no IEND: truncated
    if header is None or not idat:
        return None
    width, height, depth, colour, compression, filtering, interlace = header
    if (depth, compression, filtering, interlace) != (8, 0, 0, 0) or colour not in _PNG_MODES:
        return None
    # Pillow's own bomb limit may be switched off (None), as applications reading huge scans do.
    if not 0 < width * height <= min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels, _STACK_MAX_PIXELS):
        return None
    inflate = zlib.decompressobj()
    try:
        scanlines = inflate.decompress(b"".join(idat))
    except zlib.error:
        return None
    if not inflate.eof or inflate.unused_data or len(scanlines) != height * (1 + width * _PNG_MODES[colour][1]):
        return None
    return width, height, colour, scanlines


def _decode_pngs(width: int, height: int, colour: int, scanlines: list[bytes]) -> np.ndarray:
    """Many PNGs of one size and colour type -> grayscale (N,H,W) float32 in [0,1], in one Pillow call.

    Their scanlines are stacked into one tall image for Pillow's PNG decoder (it undoes the row
    filters in C).  Each image is preceded by a scanline of zeros with filter "none": PNG defines an
    image's first row as predicted from zeros, and the row above it is then exactly that.
    """
    mode, bpp = _PNG_MODES[colour]
    blank = bytes(1 + width * bpp)
    stacked = zlib.compress(b"".join(blank + lines for lines in scanlines), 0)  # stored: no compression work
    tall = Image.frombytes(mode, (width, len(scanlines) * (height + 1)), stacked, "zip", mode)
    return _gray(tall).reshape(len(scanlines), height + 1, width)[:, 1:]


def _gray(im: Image.Image) -> np.ndarray:
    """A decoded image -> grayscale float32 (H,W) in [0,1], transparent parts composited onto white.

    Both readers (the fast PNG path and Pillow's) end here, so a file reads the same whichever took it.
    """
    if im.mode in ("LA", "RGBA") or im.has_transparency_data:
        la = np.asarray(im.convert("LA") if im.mode in ("LA", "RGBA") else im.convert("RGBA").convert("LA"))
        return _on_white(la[..., 0], la[..., 1])
    return np.asarray(im.convert("L") if im.mode != "L" else im, dtype=np.float32) / 255.0


def _on_white(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Grey and alpha (uint8) -> the grey of that ink over white paper, float32 in [0,1].

    In whole numbers up to 255², exact in float32, so an opaque pixel reads exactly as ``gray / 255``.
    """
    g, a = gray.astype(np.float32), alpha.astype(np.float32)
    return (g * a + np.float32(255) * (np.float32(255) - a)) / np.float32(255 * 255)


def _decode(data: bytes, path: Path, max_pixels: int) -> np.ndarray:
    """Image file bytes -> grayscale float (H,W) in [0,1]; DataError naming ``path`` when they are not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise DataError(f"{path}: image is {w}x{h} pixels, more than the limit of {max_pixels}")
                im.load()
                gray = _gray(im)
    except DataError:
        raise
    except UnidentifiedImageError:  # (Pillow's own message would name the in-memory buffer)
        raise DataError(f"{path}: not a readable image (UnidentifiedImageError: cannot identify image file {str(path)!r})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from None
    return gray


def is_light_background(gray: np.ndarray) -> bool:
    """True when the image looks like dark ink on light paper (its border is mostly light)."""
    return bool(light_backgrounds(gray[None])[0])


def light_backgrounds(grays: np.ndarray) -> np.ndarray:
    """:func:`is_light_background` of each image of a stack (N,H,W) -> (N,) bool."""
    border = np.concatenate([grays[:, 0], grays[:, -1], grays[:, :, 0], grays[:, :, -1]], axis=1)
    return np.median(border, axis=1) > 0.5
