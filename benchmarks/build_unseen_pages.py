"""Held-out benchmark pages of kinds build_pages.py does not make, in its layout; written OUTSIDE the repo.

    .venv/bin/python benchmarks/build_unseen_pages.py                 # 29 pages, seed 8, ~/.cache/igae-unseen-pages
    .venv/bin/python benchmarks/pages.py --pages ~/.cache/igae-unseen-pages --json unseen.json

Nothing here was used to tune the engine or the reading: these pages exist to find where they fail (two reading
bugs were found and fixed with them: camera photos read as negatives, chalk grain read as a sieve).  Kinds:

* ``script``: Hanzi, Hanja, Hangul, Devanagari, Arabic (right to left) and Thai text from Debian's fonts, scanned.
* ``lowdpi``: 150 and 200 dpi pages: handwriting 1.5-2.5 px strokes, a thin-line drawing.
* ``marker``: marker strokes 15-25 px: curves, spirals, arrows, big words in red.
* ``negative``: chalk on a board (light ink on dark, grain through the strokes) and white lines on black.
* ``photo``: camera photos: perspective, vignette, a shadow, blur, JPEG; one with the page on a wooden table.
* ``colour``: yellow, pink and blue paper with red, green and blue ink.
* ``grid``: 5-mm graph paper, 1-mm engineering paper with centimetre lines, a grey photocopied grid.
* ``blob``: a signature scribble, a filled blob, a filled star, a filled disc in a ring, words.
* ``tiny``: text with an x-height of about 10 px.
* ``faint``: very light pencil, text and a drawing.
* ``scanner``: a page narrower than the scanner bed (a dark strip) with three punch holes.

The truth is the clean ink (warped with the page in a photo); the artefacts go onto a copy, as in build_pages.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from scipy import ndimage  # noqa: E402

import build_pages as bp  # noqa: E402

F = str(bp.FONTS) + "/"
PAGE = bp.PAGE

TEXTS = {
    "hanzi": (F + "unfonts-core/UnGungseo.ttf",
              "永和九年歲在癸丑暮春之初會于會稽山陰之蘭亭修禊事也群賢畢至少長咸集此地有崇山峻嶺茂林修竹又有清流激湍映帶左右引以為流觴曲水列坐其次雖無絲竹管弦之盛一觴一詠亦足以暢敘幽情是日也天朗氣清惠風和暢仰觀宇宙之大俯察品類之盛", ""),
    "hanja": (F + "unfonts-core/UnBatang.ttf",
              "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽雲騰致雨露結為霜金生麗水玉出崑岡劍號巨闕珠稱夜光果珍李柰菜重芥薑海鹹河淡鱗潛羽翔", ""),
    "hangul": (F + "unfonts-core/UnPilgi.ttf",
               "다람쥐 헌 쳇바퀴에 타고파 키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다 "
               "동해 물과 백두산이 마르고 닳도록 하느님이 보우하사 우리나라 만세 무궁화 삼천리 화려 강산", " "),
    "devanagari": (F + "lohit-devanagari/Lohit-Devanagari.ttf",
                   "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम "
                   "अयोध्या के महाराज दशरथ के बड़े सपुत्र थे। मेरा नाम लाल है और मैं एक पुस्तक पढ़ रहा हूँ", " "),
    "arabic": (F + "freefont/FreeSerif.ttf",
               "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق "
               "صِف خَلقَ خَودِ كَمِثلِ الشَمسِ إِذ بَزَغَت يَحظى الضَجيعُ بِها نَجلاءَ مِعطارِ", " "),
    "thai": (F + "tlwg/Purisa.ttf",
             "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน จงฝ่าฟันพัฒนาวิชาการ อย่าล้างผลาญฤๅเข่นฆ่าบีฑาใคร", " "),
}


def _has(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    from fontTools.ttLib import TTFont
    cmap = _CMAPS.setdefault(font.path, TTFont(font.path).getBestCmap())
    return ord(ch) in cmap


_CMAPS: dict = {}


def script_ink(rng, size, font_path, text, sep, font_px, margin, thicken=None, direction=None):
    """Lines of text in one font (words joined by ``sep``; CJK with sep '' wraps per character)."""
    width, height = size
    font = ImageFont.truetype(font_path, font_px)
    units = text.split(sep) if sep else [c for c in text if _has(font, c)]
    pitch = font_px * float(rng.uniform(1.35, 1.6))
    start = int(rng.integers(len(units)))
    units = (units[start:] + units[:start]) * 20
    room = width - 2 * margin - font_px
    lines, line = [], ""
    for u in units:
        trial = (line + sep + u) if line else u
        if font.getlength(trial, direction=direction) > room and line:
            lines.append(line)
            line = u
        else:
            line = trial
    im, draw = bp._canvas(width, height, 1)
    top, baselines = float(margin), []
    sw = font_px // 50 if thicken is None else thicken
    for ln in lines:
        if top + pitch > height - margin:
            break
        draw.text((margin + float(rng.uniform(0, font_px)), top), ln, font=font, fill=255, stroke_width=sw, stroke_fill=255,
                  direction=direction)
        baselines.append(top + font.getmetrics()[0])
        top += pitch
    return bp._down(im, 1), baselines, pitch


def hand_ink(rng, size, font_px, margin, thicken=None, face=None):
    """Latin handwriting (build_pages.HANDS) with an optional thickening stroke."""
    faces = [str((bp.FONTS / f).resolve()) for f in bp.HANDS if (bp.FONTS / f).exists()]
    path = faces[int(rng.integers(len(faces)))] if face is None else faces[face % len(faces)]
    return script_ink(rng, size, path, " ".join(bp.SENTENCES), " ", font_px, margin, thicken)


def thin_drawing(rng, size, pen_lo, pen_hi, ss=3, n=14):
    """Bezier curves, boxes, circles and spirals with pens in [pen_lo, pen_hi] px."""
    width, height = size
    im, draw = bp._canvas(width, height, ss)
    for _ in range(n):
        pen = float(rng.uniform(pen_lo, pen_hi)) * ss
        cx, cy = rng.uniform(0.15, 0.85) * width * ss, rng.uniform(0.12, 0.88) * height * ss
        r = rng.uniform(0.06, 0.16) * min(width, height) * ss
        what = rng.choice(["curve", "box", "circle", "spiral"])
        if what == "curve":
            bp.round_line(draw, bp._bezier(rng.uniform([cx - r, cy - r], [cx + r, cy + r], (4, 2)), 120), pen)
        elif what == "box":
            draw.rectangle((cx - r, cy - 0.7 * r, cx + r, cy + 0.7 * r), outline=255, width=max(1, round(pen)))
        elif what == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=max(1, round(pen)))
        else:
            t = np.linspace(0, 2 * np.pi * rng.uniform(2, 4), 500)
            rr = r * t / t[-1]
            bp.round_line(draw, np.column_stack([cx + rr * np.cos(t), cy + rr * np.sin(t)]), pen)
    return bp._down(im, ss)


def marker_drawing(rng, size, ss=2):
    """Thick marker strokes 15-25 px: curves, a spiral, arrows, a few big letters."""
    width, height = size
    im, draw = bp._canvas(width, height, ss)
    for k in range(7):
        pen = float(rng.uniform(15, 25)) * ss
        cx, cy = (k % 2 + 0.5) * width / 2 * ss, (k // 2 + 0.5) * height / 4 * ss
        r = min(width / 2, height / 4) * ss * 0.38
        if k % 3 == 0:
            t = np.linspace(0, 2 * np.pi * 2.2, 300)
            rr = r * (0.15 + 0.85 * t / t[-1])
            bp.round_line(draw, np.column_stack([cx + rr * np.cos(t), cy + rr * np.sin(t)]), pen)
        elif k % 3 == 1:
            bp.round_line(draw, bp._bezier(rng.uniform([cx - r, cy - r], [cx + r, cy + r], (4, 2))), pen)
            bp.round_line(draw, bp._bezier(rng.uniform([cx - r, cy - r], [cx + r, cy + r], (4, 2))), pen)
        else:
            bp._arrow(draw, np.array([cx - r, cy + r * 0.5]), np.array([cx + r, cy - r * 0.5]), pen)
    return bp._down(im, ss)


def scribble_ink(rng, size, ss=2):
    """A signature scribble (loops over loops), a big filled blob, a filled star and some words."""
    width, height = size
    im, draw = bp._canvas(width, height, ss)
    # signature: a looping curve, pen 3-4 px
    t = np.linspace(0, 1, 900)
    x = 150 + 800 * t + 45 * np.sin(2 * np.pi * 9 * t) + 20 * np.sin(2 * np.pi * 23 * t)
    y = 1050 + 80 * np.sin(2 * np.pi * 4.5 * t) * np.cos(2 * np.pi * 1.3 * t) + 45 * np.cos(2 * np.pi * 9 * t)
    bp.round_line(draw, np.column_stack([x, y]) * ss, 3.5 * ss)
    bp.round_line(draw, np.array([[120, 1190], [1000, 1160]]) * ss, 3.5 * ss)  # the underline
    # a filled irregular blob ~260 px
    ang = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    rad = 130 * (1 + 0.25 * np.sin(3 * ang + 1) + 0.1 * np.cos(7 * ang))
    draw.polygon([(float((850 + r * np.cos(a)) * ss), float((300 + r * np.sin(a)) * ss)) for a, r in zip(ang, rad)], fill=255)
    # a filled star and a filled circle with a thin outline ring around it
    star = [(300 + (110 if k % 2 == 0 else 45) * np.cos(np.pi / 5 * k - np.pi / 2),
             300 + (110 if k % 2 == 0 else 45) * np.sin(np.pi / 5 * k - np.pi / 2)) for k in range(10)]
    draw.polygon([(float(a * ss), float(b * ss)) for a, b in star], fill=255)
    draw.ellipse((250 * ss, 560 * ss, 400 * ss, 710 * ss), fill=255)
    draw.ellipse((225 * ss, 535 * ss, 425 * ss, 735 * ss), outline=255, width=4 * ss)
    ink = bp._down(im, ss)
    text, _, _ = hand_ink(rng, (width, 300), 56, 40)
    ink[620:920] = np.maximum(ink[620:920], text[:300] * (np.arange(width) > 480)[None, :])
    return ink


# ---- artefacts of our own ----------------------------------------------------------------------------------


def perspective_coeffs(dst, src):
    """PIL PERSPECTIVE data mapping output points dst[i] -> input points src[i] (4 pairs)."""
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    return np.linalg.solve(np.array(a, float), np.array(b, float)).tolist()


def warp(arr, size, quad):
    """(H,W) float in [0,1] of a full page -> the same page seen as the quadrilateral ``quad`` (4 corners TL TR BR BL)
    in an output of ``size`` (w, h)."""
    h, w = arr.shape
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    im = Image.fromarray(arr.astype(np.float32), mode="F")
    out = im.transform(size, Image.PERSPECTIVE, perspective_coeffs(quad, src), Image.BILINEAR, fillcolor=0)
    return np.clip(np.asarray(out), 0, 1)


def vignette(size, depth, rng):
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6)
    r2 = ((xs - cx) / w) ** 2 + ((ys - cy) / h) ** 2
    return 1 - depth * np.clip(r2 / 0.5, 0, 1)


def shadow(size, depth, rng, soft=60.0):
    """A soft-edged straight shadow (a hand or a phone) over part of the page."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    d = np.cos(ang) * (xs - w * rng.uniform(0.55, 0.8)) + np.sin(ang) * (ys - h * rng.uniform(0.55, 0.8))
    return 1 - depth / (1 + np.exp(-d / soft))


def photo_page(rng, ink_full, paper, ink_rgb, table=None, frame=None, jitter=0.025, vig=0.5, shade=0.45, blur=1.1,
               grain=0.02, quality=72):
    """A camera photo of a page: perspective, the page on a table (``table`` RGB) or filling the frame, vignette,
    a shadow, camera blur, grain, JPEG.  Returns (rgb uint8, truth uint8)."""
    h, w = ink_full.shape
    fw, fh = frame or (w, h)
    if table is None:
        base = [(0, 0), (fw, 0), (fw, fh), (0, fh)]
    else:
        mx, my = 0.07 * fw, 0.06 * fh
        base = [(mx, my), (fw - mx, my), (fw - mx, fh - my), (mx, fh - my)]
    quad = [(x + rng.uniform(-1, 1) * jitter * fw, y + rng.uniform(-1, 1) * jitter * fh) for x, y in base]
    ink = warp(ink_full, (fw, fh), quad)
    truth = np.round(ink * 255).astype(np.uint8)
    a = truth.astype(np.float32) / 255
    mask = warp(np.ones_like(ink_full), (fw, fh), quad)
    img = np.empty((fh, fw, 3), np.float32)
    img[:] = paper
    if table is not None:
        wood = 1 + 0.08 * ndimage.gaussian_filter(rng.standard_normal((fh, fw)).astype(np.float32), (2, 25)) * 8
        img = img * mask[..., None] + (np.array(table, np.float32) * wood[..., None]) * (1 - mask[..., None])
    img *= 1 - a[..., None] * (1 - np.array(ink_rgb, np.float32))
    img *= (vignette((fw, fh), vig, rng) * shadow((fw, fh), shade, rng))[..., None]
    img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img += grain * rng.standard_normal((fh, fw, 1)).astype(np.float32)
    rgb = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return rgb, truth, quality


def chalk(rng, ink, board=(0.16, 0.24, 0.20), chalk_rgb=(0.92, 0.92, 0.88), smudge=0.10, light=0.3):
    """Light chalk on a dark board: patchy chalk, erased haze, lighting.  Returns (rgb, truth)."""
    h, w = ink.shape
    truth = np.round(ink * 255).astype(np.uint8)
    a = truth.astype(np.float32) / 255
    tooth = ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), 0.8) * 3
    a = a * np.clip(0.8 + 0.25 * tooth, 0.35, 1.0)
    haze = np.clip(ndimage.gaussian_filter(rng.standard_normal((h // 8, w // 8)).astype(np.float32), 6) * 12, 0, 1)
    haze = np.asarray(Image.fromarray(haze, mode="F").resize((w, h), Image.BILINEAR)) * smudge
    img = np.empty((h, w, 3), np.float32)
    img[:] = board
    c = np.array(chalk_rgb, np.float32)
    img = img * (1 - haze[..., None]) + c * haze[..., None]
    img = img * (1 - a[..., None]) + c * a[..., None]
    img *= bp._lighting(rng, (w, h), light)[..., None]
    img += 0.015 * rng.standard_normal((h, w, 1)).astype(np.float32)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), truth


def grid_layers(size, step, thick, major=None, major_thick=None, colour=(0.55, 0.72, 0.85), phase=(0, 0)):
    """Graph paper: a square grid every ``step`` px (and a heavier line every ``major`` cells)."""
    w, h = size
    im, draw = bp._canvas(w, h, 1)
    for i, x in enumerate(np.arange(phase[0], w, step)):
        t = major_thick if major and i % major == 0 else thick
        draw.line([(x, 0), (x, h)], fill=255, width=t)
    for i, y in enumerate(np.arange(phase[1], h, step)):
        t = major_thick if major and i % major == 0 else thick
        draw.line([(0, y), (w, y)], fill=255, width=t)
    return [(bp._down(im, 1), colour)]


def scanner_edge(rng, ink, r):
    """A scan of a page narrower than the bed (a dark band at the left) with three punch holes (dark discs)."""
    rgb, truth = bp.scan(ink, rng, r)
    h, w = truth.shape
    out = rgb.astype(np.float32)
    band = 22
    out[:, :band] = 25 + 6 * rng.standard_normal((h, band, 1))
    yy, xx = np.mgrid[0:h, 0:w]
    for cy in (h * 0.2, h * 0.5, h * 0.8):
        disc = (xx - 75) ** 2 + (yy - cy) ** 2 < 33**2
        out[disc] = 30 + 6 * rng.standard_normal((int(disc.sum()), 1))
    return np.clip(out, 0, 255).astype(np.uint8), truth


# ---- pages: one generator per kind, each yielding (name, dpi, scan rgb, truth, recipe) --------------------------


def _script(rng):
    for k, (name, tags, px) in enumerate([("hanzi", ("lighting", "grain", "jpeg"), 64), ("hanja", ("yellowish", "grain"), 52),
                                          ("hangul", ("grey", "jpeg"), 60), ("devanagari", ("lighting", "jpeg", "rotate"), 56),
                                          ("arabic", ("blue", "grain"), 60), ("thai", ("grain", "jpeg"), 60)]):
        g = rng(k)
        path, text, sep = TEXTS[name]
        ink, _, _ = script_ink(g, PAGE, path, text, sep, px, 60, direction="rtl" if name == "arabic" else None)
        r = bp.recipe(tags, g)
        yield f"script-{name}", 300, *bp.scan(ink, g, r), r


def _lowdpi(rng):
    g = rng(0)  # 150 dpi text: letters ~5 mm, pen ~1.5-2 px
    ink, _, _ = hand_ink(g, (900, 1100), 32, 30, thicken=0, face=0)
    r = bp.recipe(("grain", "jpeg"), g)
    yield "lowdpi-150-text", 150, *bp.scan(ink, g, r), r
    g = rng(1)
    ink, _, _ = hand_ink(g, (1200, 1400), 42, 40, thicken=0, face=3)
    r = bp.recipe(("lighting", "grain"), g)
    yield "lowdpi-200-text", 200, *bp.scan(ink, g, r), r
    g = rng(2)
    ink = thin_drawing(g, (900, 1100), 1.5, 2.5)
    r = bp.recipe(("grain", "blur"), g)
    yield "lowdpi-150-drawing", 150, *bp.scan(ink, g, r), r


def _marker(rng):
    g = rng(0)
    ink = marker_drawing(g, PAGE)
    r = bp.recipe(("lighting", "grain", "blur"), g)
    yield "marker-drawing", 300, *bp.scan(ink, g, r), r
    g = rng(1)
    ink, _, _ = hand_ink(g, PAGE, 200, 50, thicken=3, face=3)
    r = bp.recipe(("jpeg",), g) | {"ink": (0.75, 0.1, 0.12)}
    yield "marker-words", 300, *bp.scan(ink, g, r), r


def _negative(rng):
    g = rng(0)
    ink, _, _ = hand_ink(g, PAGE, 64, 60, thicken=2)
    rgb, truth = chalk(g, ink)
    yield "negative-chalk", 300, rgb, truth, {"tags": ("chalk",), "jpeg": 80}
    g = rng(1)
    ink = bp.drawing_ink(g)
    truth = np.round(ink * 255).astype(np.uint8)
    yield "negative-drawing", 300, truth.copy(), truth, {}  # white lines on black, digital


def _photo(rng):
    g = rng(0)
    ink, _, _ = hand_ink(g, PAGE, 56, 60)
    rgb, truth, q = photo_page(g, ink, bp.WHITE, bp.BLUE)
    yield "photo-fill", 300, rgb, truth, {"tags": ("photo",), "jpeg": q}
    g = rng(1)
    ink, _, _ = hand_ink(g, PAGE, 56, 60)
    rgb, truth, q = photo_page(g, ink, (0.93, 0.92, 0.88), bp.BLACK, table=(0.30, 0.20, 0.12))
    yield "photo-table", 300, rgb, truth, {"tags": ("photo", "table"), "jpeg": q}
    g = rng(2)
    ink = bp.drawing_ink(g)
    rgb, truth, q = photo_page(g, ink, bp.WHITE, bp.BLACK, vig=0.6, shade=0.55, blur=1.4)
    yield "photo-drawing", 300, rgb, truth, {"tags": ("photo",), "jpeg": q}


def _colour(rng):
    for k, (paper, ink_rgb) in enumerate([((0.98, 0.93, 0.55), (0.80, 0.12, 0.12)), ((0.98, 0.80, 0.86), (0.10, 0.50, 0.20)),
                                          ((0.72, 0.84, 0.96), (0.12, 0.20, 0.62)), ((0.98, 0.80, 0.86), (0.85, 0.15, 0.20))]):
        g = rng(k)
        ink, _, _ = hand_ink(g, PAGE, 56, 60) if k != 1 else (bp.drawing_ink(g), 0, 0)
        r = bp.recipe(("grain", "jpeg", "lighting"), g) | {"paper": paper, "ink": ink_rgb}
        yield f"colour-{k + 1}", 300, *bp.scan(ink, g, r), r


def _grid(rng):
    g = rng(0)  # 5 mm graph paper, light blue, handwriting
    ink, _, _ = hand_ink(g, PAGE, 56, 60)
    r = bp.recipe(("grain", "jpeg"), g)
    yield "grid-5mm-text", 300, *bp.scan(ink, g, r, grid_layers(PAGE, 59.05, 2)), r
    g = rng(1)  # 1 mm engineering paper, green, heavy cm lines, a drawing
    ink = bp.drawing_ink(g)
    r = bp.recipe(("grain", "lighting"), g)
    yield "grid-1mm-drawing", 300, *bp.scan(ink, g, r, grid_layers(PAGE, 11.81, 1, 10, 3, (0.55, 0.80, 0.60))), r
    g = rng(2)  # a darker grey grid (photocopied), handwriting in pencil-ish grey-black
    ink, _, _ = hand_ink(g, PAGE, 56, 60)
    r = bp.recipe(("grain", "jpeg", "rotate"), g)
    yield "grid-grey-text", 300, *bp.scan(ink, g, r, grid_layers(PAGE, 59.05, 2, colour=(0.45, 0.45, 0.45))), r


def _blob(rng):
    g = rng(0)
    ink = scribble_ink(g, PAGE)
    r = bp.recipe(("grain", "jpeg"), g)
    yield "blob-signature", 300, *bp.scan(ink, g, r), r


def _tiny(rng):
    g = rng(0)
    ink, _, _ = hand_ink(g, PAGE, 24, 50, thicken=0, face=3)
    r = bp.recipe(("grain", "jpeg"), g)
    yield "tiny-text", 300, *bp.scan(ink, g, r), r
    g = rng(1)
    ink, _, _ = hand_ink(g, PAGE, 22, 50, thicken=0, face=1)
    r = bp.recipe(("lighting", "grain"), g)
    yield "tiny-text-2", 300, *bp.scan(ink, g, r), r


def _faint(rng):
    g = rng(0)
    ink, _, _ = hand_ink(g, PAGE, 56, 60)
    r = bp.recipe(("pencil", "grain"), g)
    v = float(g.uniform(0.82, 0.86))
    r["ink"] = (v, v, v + 0.01)
    yield "faint-pencil", 300, *bp.scan(ink, g, r), r
    g = rng(1)
    ink = bp.drawing_ink(g)
    r = bp.recipe(("pencil", "grain", "lighting", "yellowish", "jpeg"), g)
    v = float(g.uniform(0.80, 0.84))
    r["ink"] = (v, v, v + 0.01)
    yield "faint-pencil-drawing", 300, *bp.scan(ink, g, r), r


def _scanner(rng):
    g = rng(0)
    ink, _, _ = hand_ink(g, PAGE, 56, 140)
    r = bp.recipe(("grain",), g)
    yield "scanner-edge-holes", 300, *scanner_edge(g, ink, r), r


KINDS = {"script": _script, "lowdpi": _lowdpi, "marker": _marker, "negative": _negative, "photo": _photo,
         "colour": _colour, "grid": _grid, "blob": _blob, "tiny": _tiny, "faint": _faint, "scanner": _scanner}


def pages(kind: str, seed: int):
    """The pages of ``kind``; each page has its own generator seeded by (seed, kind, page)."""
    index = list(KINDS).index(kind)
    return KINDS[kind](lambda k: np.random.default_rng([seed, 100 + index, k]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path.home() / ".cache" / "igae-unseen-pages")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--kinds", default=",".join(KINDS))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for kind in a.kinds.split(","):
        for name, dpi, px, truth, r in pages(kind, a.seed):
            e = bp.save_page(a.out, name, kind, dpi, px, truth, r)
            entries.append(e)
            print(f"{name:22s} {e['width']}x{e['height']} {dpi} dpi pen {e['pen_px']:5.2f} ink {(truth >= 128).mean():6.2%} {e['scan']}", flush=True)
    (a.out / "pages.json").write_text(json.dumps(entries, indent=1) + "\n")


if __name__ == "__main__":
    main()
