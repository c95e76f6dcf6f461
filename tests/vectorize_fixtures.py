"""Small images, bad files and a tiny model for the vectorize tests (all made in a few milliseconds)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from igae_robot.model.checkpoint import Checkpoint, save_checkpoint
from igae_robot.config import Config, ModelConfig
from igae_robot.model.network import GestureAutoencoder

TINY = ModelConfig(steps=12, hidden=(32,), activation="relu", start=None)


def tiny_checkpoint(path: Path, cfg: ModelConfig = TINY, seed: int = 0) -> Path:
    """An untrained model: its drawings are arbitrary but deterministic, which is all the pipeline needs."""
    torch.manual_seed(seed)
    return save_checkpoint(path, Checkpoint(GestureAutoencoder(cfg), Config(preset="tiny", model=cfg)))


def glyph_image(kind: str, size: int = 40, dark_on_light: bool = True, width: int = 3) -> Image.Image:
    """A glyph-like drawing: "line", "ring" or "cross" on a size x size canvas."""
    paper, ink = (255, 0) if dark_on_light else (0, 255)
    im = Image.new("L", (size, size), paper)
    d = ImageDraw.Draw(im)
    m = size // 5
    if kind == "line":
        d.line([(m, m), (size - m, size - m)], fill=ink, width=width)
    elif kind == "ring":
        d.ellipse([m, m, size - m, size - m], outline=ink, width=width)
    else:
        d.line([(m, size // 2), (size - m, size // 2)], fill=ink, width=width)
        d.line([(size // 2, m), (size // 2, size - m)], fill=ink, width=width)
    return im


def page_image(path: Path) -> Path:
    """Three separate glyphs on a 200 x 80 page, dark on light (a 'page of handwriting')."""
    page = Image.new("L", (200, 80), 255)
    for i, kind in enumerate(("line", "ring", "cross")):
        page.paste(glyph_image(kind, 40), (15 + 65 * i, 20))
    page.save(path)
    return path


def huge_png(path: Path, side: int = 20000) -> Path:
    """A valid 1-bit PNG of side x side pixels that is only a few tens of kilobytes (a decompression bomb)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte + packed bits
    raw = zlib.compress(row * side, 9)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


def good_and_bad_folder(root: Path) -> tuple[list[str], list[str]]:
    """Good images in every format (one in a sub-folder) and the four bad files.  Returns (good, bad) names."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir()
    glyph_image("line").save(root / "line.png")
    glyph_image("ring", dark_on_light=False).convert("RGB").save(root / "ring.jpg", quality=95)
    glyph_image("cross").save(root / "cross.bmp")
    glyph_image("ring", 60).save(root / "sub" / "big_ring.tif")
    glyph_image("line", 28, dark_on_light=False).save(root / "sub" / "small.gif")
    buf = root / "whole.png"
    glyph_image("cross", 64).save(buf)
    (root / "truncated.png").write_bytes(buf.read_bytes()[:100])
    buf.unlink()
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("this is not an image\n")
    huge_png(root / "huge.png")
    (root / "notes.txt").write_text("not an image suffix: ignored\n")
    good = ["cross.bmp", "line.png", "ring.jpg", "sub/big_ring.tif", "sub/small.gif"]
    bad = ["empty.png", "huge.png", "text.png", "truncated.png"]
    return good, bad


def mnist_like(n: int, seed: int = 0) -> np.ndarray:
    """(n,28,28) float32 light-on-dark strokes in a 20-pixel box, as MNIST digits are."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), dtype=np.float32)
    for i in range(n):
        im = Image.new("L", (28, 28), 0)
        d = ImageDraw.Draw(im)
        pts = [tuple(rng.uniform(6, 22, 2)) for _ in range(3)]
        d.line(pts, fill=255, width=2)
        out[i] = np.asarray(im, dtype=np.float32) / 255
    return out
