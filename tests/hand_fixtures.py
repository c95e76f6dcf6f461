"""A filled hand template without a writer, for tests/test_hand_learn.py and benchmarks/hand_learn.py.

:func:`font_fill` writes every box's character with a handwriting font (each box a little rotated, resized
and moved, as a person's three tries differ), sitting on the box's baseline with its capitals as tall as the
guides, shrunk where a glyph would leave its box; :func:`photograph` turns the page into a phone photo: on a
darker table, rotated, under uneven light, with noise; :func:`template_glyphs` cuts the clean page's boxes as
``learn`` cuts the photo's (the template's glyphs a learned hand is compared with).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from igae_robot.handwriting.learn import box_pixels, square_crops
from igae_robot.handwriting.template import MARGIN_MM, TemplateLayout, render_template

FONT_DIR = "/usr/share/fonts/"
WRITING_GREY = 0.1  # the pen's ink on white paper


@lru_cache(maxsize=None)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _size_px(path: str, cap_px: float) -> float:
    """The font size whose capital H is ``cap_px`` tall."""
    top = -_font(path, 200).getbbox("H", anchor="ls")[1]
    return 200 * cap_px / top


def font_fill(layout: TemplateLayout, font_path: str, dpi: float = 200.0, seed: int = 0, thicken_mm: float = 0.1) -> np.ndarray:
    """The template for ``layout`` at ``dpi`` with every box written in the font, its strokes ``thicken_mm``
    thicker on each side (a fine font as a ballpoint writes it): grayscale (H,W), 1 = paper."""
    gray = render_template(layout, dpi)
    px = dpi / 25.4
    ink = np.zeros(gray.shape, np.float32)
    rng = np.random.default_rng(seed)
    for box in layout.boxes:
        x0, y0, x1, y1 = box.x0 + MARGIN_MM + 0.3, box.y0 + MARGIN_MM + 0.3, box.x1 - MARGIN_MM - 0.3, box.y1 - MARGIN_MM - 0.3
        size = _size_px(font_path, (box.baseline_mm - box.capline_mm) * px) * rng.uniform(0.92, 1.05)
        left, top, right, bottom = _font(font_path, 200).getbbox(box.char, anchor="ls")
        fit = min(1.0, (box.baseline_mm - y0) * px / max(1e-6, -top * size / 200), (x1 - x0) * px / max(1e-6, (right - left) * size / 200))
        if bottom > 0:
            fit = min(fit, (y1 - box.baseline_mm) * px / (bottom * size / 200))
        font = _font(font_path, max(4, int(size * fit * 0.97)))
        w, h = round((box.x1 - box.x0) * px), round((box.y1 - box.y0) * px)
        patch = Image.new("L", (w, h), 0)
        foot = (w / 2 + rng.uniform(-0.3, 0.3) * px, (box.baseline_mm - box.y0) * px + rng.uniform(-0.2, 0.2) * px)
        ImageDraw.Draw(patch).text(foot, box.char, fill=255, font=font, anchor="ms", stroke_width=round(thicken_mm * px), stroke_fill=255)
        patch = patch.rotate(rng.uniform(-4, 4), resample=Image.Resampling.BICUBIC, center=foot)
        r, c = round(box.y0 * px), round(box.x0 * px)
        region = ink[r : r + h, c : c + w]
        np.maximum(region, np.asarray(patch, np.float32)[: region.shape[0], : region.shape[1]] / 255.0, out=region)
    return gray * (1.0 - ink * (1.0 - WRITING_GREY))


def photograph(gray: np.ndarray, angle_deg: float = 3.0, seed: int = 0, noise: float = 0.03, keystone: float = 0.0) -> np.ndarray:
    """The page as a phone photo: on a darker table (5% around it), rotated by ``angle_deg``, seen at a slant
    (``keystone``: the top edge that much narrower than the bottom), lit unevenly (from full light at one corner
    to 45% at the other, and a soft shadow), with Gaussian noise ``noise``."""
    rng = np.random.default_rng(seed)
    h, w = gray.shape
    pad = round(0.05 * max(h, w))
    table = np.full((h + 2 * pad, w + 2 * pad), 0.3, np.float32)
    table[pad : pad + h, pad : pad + w] = gray
    image = Image.fromarray(table, mode="F").rotate(angle_deg, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0.3)
    if keystone:
        image = image.transform(image.size, Image.Transform.PERSPECTIVE, _keystone(image.size, keystone), Image.Resampling.BILINEAR, fillcolor=0.3)
    out = np.asarray(image, dtype=np.float32).copy()
    yy, xx = np.mgrid[0 : out.shape[0], 0 : out.shape[1]].astype(np.float32)
    yy /= out.shape[0]
    xx /= out.shape[1]
    light = 1.0 - 0.55 * (0.6 * xx + 0.4 * yy)
    light -= 0.2 * np.exp(-((xx - 0.3) ** 2 + (yy - 0.7) ** 2) / 0.02)  # a soft shadow
    out = out * light + rng.normal(0.0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def _keystone(size: tuple[int, int], amount: float) -> list[float]:
    """Pillow's 8 perspective coefficients (output pixel -> input pixel) that narrow the top edge by ``amount``."""
    w, h = size
    out = [(amount * w / 2, 0), (w - amount * w / 2, 0), (w, h), (0, h)]  # where the input's corners go
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    rows, rhs = [], []
    for (x, y), (u, v) in zip(out, src):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return list(np.linalg.solve(np.array(rows, float), np.array(rhs, float)))


def template_glyphs(clean: np.ndarray, layout: TemplateLayout, dpi: float) -> np.ndarray:
    """The written glyphs of a clean filled page (not photographed), cut as ``learn`` cuts the boxes: ink (N,S,S)."""
    px = dpi / 25.4
    scale = np.array([[px, 0.0, -0.5], [0.0, px, -0.5], [0.0, 0.0, 1.0]])  # sheet mm -> pixel centres
    return square_crops(1.0 - box_pixels(clean, layout, scale))
