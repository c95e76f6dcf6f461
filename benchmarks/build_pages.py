"""Benchmark pages with their ground truth, for reading real scans (issue 14); written OUTSIDE the repo.

    .venv/bin/python benchmarks/build_pages.py                  # every kind, seed 1, into ~/.cache/igae-pages
    .venv/bin/python benchmarks/build_pages.py --out /tmp/pages --seed 2 --kinds text,edge

What lands in OUT (the benchmark runner reads this layout; keep it):

* ``pages.json``: a JSON list, one object per page: {"name": "digits-1", "kind": "digits", "scan":
  "digits-1.png" (``.jpg`` for JPEG-compressed pages), "truth": "digits-1.truth.png", "dpi": 300,
  "pen_px": median stroke width of the truth ink (:func:`~igae_robot.images.trace.median_stroke_width`),
  "width": W, "height": H}.
* ``NAME.png`` / ``NAME.jpg``: the scan, what a scanner would give (RGB; grayscale for clean pages).
* ``NAME.truth.png``: 8-bit grayscale, black ink (0) on white (255), the scan's size: the clean ink before any
  scan artefact (anti-aliased, so its ink is ``truth < 128``).  Ruled lines are paper, not ink: never in it.

Kinds (a few pages each, about 1200 x 1400 px unless said; ~35 s for all on two busy cores):

* ``digits``: MNIST test digits from index 5000 on (held out), bicubic 2x or 3x, in lines whose neighbours
  sometimes touch or overlap; clean.
* ``omniglot``: Japanese (katakana), Sanskrit and Tagalog drawings (strokes_background_small2), redrawn from the
  writers' strokes with a round pen 3-5 px wide at 60-90 px a character, neighbours touching; mild scan
  artefacts on some.
* ``text``: sentences in the handwriting faces of ``pen_fidelity.HANDS`` with scan artefacts: uneven lighting,
  grey or yellowish paper, grain, JPEG at quality 50-70, rotation up to 2 degrees, blue ink, faint pencil,
  blue-grey ruled lines under the writing (and a red margin line).
* ``drawing``: diagrams (boxes, circles, arrows between them), smooth Bézier curves, spirals and hatched areas,
  pen widths 2-7 px; artefacts on some.
* ``a4-300``, ``a4-600``: one A4 page of handwriting each, 2480 x 3508 and 4960 x 7016 px, letters ~5 mm high.
* ``edge``: a blank page (paper, lighting, grain and JPEG only), one small word in the corner of an A4 page
  of margin, a single dot.

The truth is exact: the ink is drawn first (and rotated, when the page is), the artefacts go onto a copy.
Every page has its own generator seeded by (seed, kind, page), so a page is the same whichever kinds are built.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from scipy import ndimage  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pen_fidelity import HANDS  # noqa: E402

from igae_robot.images.trace import median_stroke_width  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
FONTS = Path("/usr/share/fonts/truetype")
KINDS = ("digits", "omniglot", "text", "drawing", "a4-300", "a4-600", "edge")
ALPHABETS = ("Japanese_(katakana)", "Sanskrit", "Tagalog")
PAGE = (1200, 1400)  # width, height of the ordinary pages, pixels
A4 = {300: (2480, 3508), 600: (4960, 7016)}  # dpi -> width, height, pixels
WHITE, GREY, YELLOWISH = (0.96, 0.96, 0.95), (0.80, 0.80, 0.79), (0.94, 0.89, 0.74)  # paper, RGB in [0,1]
BLACK, BLUE = (0.10, 0.10, 0.12), (0.12, 0.20, 0.62)  # ink, RGB in [0,1] (pencil: a grey drawn per page)
RULED, MARGIN = (0.55, 0.66, 0.85), (0.88, 0.45, 0.47)  # printed lines of ruled paper, RGB in [0,1]
SENTENCES = (
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
    "A robot holds the pen and draws each word as a hand would, one stroke after another. "
    "Sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump! "
    "Every page was scanned on a Tuesday, in a hurry, under a lamp that leaned to the left. "
    "Meet me at 7:45 by the old mill, bring 3 maps and 12 pencils. Grey skies, warm tea, long letters. "
    "Jackdaws love my big sphinx of quartz. Five boxing wizards jump quickly over 29 hedges."
).split()


# ---- ink: (H,W) float32 in [0,1], 1 = ink --------------------------------------------------------------


def _canvas(width: int, height: int, ss: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A black 'L' canvas ``ss`` times the page size (ink is drawn white), and its pen."""
    im = Image.new("L", (width * ss, height * ss), 0)
    return im, ImageDraw.Draw(im)


def _down(im: Image.Image, ss: int) -> np.ndarray:
    """A supersampled canvas -> ink (H,W) float32 in [0,1], anti-aliased by area averaging."""
    if ss > 1:
        im = im.resize((im.width // ss, im.height // ss), Image.BOX)
    return np.asarray(im, dtype=np.float32) / 255


def round_line(draw: ImageDraw.ImageDraw, points: np.ndarray, width: float) -> None:
    """A polyline (n,2) in canvas pixels drawn with a round pen (round joins and round caps)."""
    pts = [tuple(map(float, p)) for p in points]
    if len(pts) > 1:
        draw.line(pts, fill=255, width=max(1, round(width)), joint="curve")
    r = width / 2
    for x, y in (pts[0], pts[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _mnist_test() -> np.ndarray:
    """MNIST's test images (10000,28,28) uint8, light ink on black, read from the shared IDX file."""
    raw = gzip.open(SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").read()
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)


def digits_ink(rng: np.random.Generator, start: int, size: tuple[int, int] = PAGE) -> tuple[np.ndarray, int]:
    """Lines of MNIST test digits from index ``start`` on -> (ink (H,W), the next unused index).

    Gaps between neighbours are drawn from -12%..+30% of the digit box and lines are 75-100% of it apart,
    so some digits touch or overlap their neighbours, side by side and line to line."""
    width, height = size
    digits, scale = _mnist_test(), int(rng.choice([2, 3]))
    side, margin = 28 * scale, 40
    ink, k, y = np.zeros((height, width), np.float32), start, margin
    while y + side <= height - margin:
        edge = margin + int(rng.integers(0, side))  # where the next digit's ink begins
        while True:
            d = np.asarray(Image.fromarray(digits[k]).resize((side, side), Image.BICUBIC), np.float32) / 255
            cols = np.flatnonzero(d.max(axis=0) > 0.1)
            x = edge - int(cols[0])
            if x + side > width - margin:
                break
            ink[y : y + side, x : x + side] = np.maximum(ink[y : y + side, x : x + side], d)
            edge = x + int(cols[-1]) + int(rng.uniform(-0.12, 0.30) * side)
            k += 1
        y += int(side * rng.uniform(0.75, 1.0))
    return ink, k


def _omniglot_drawings(rng: np.random.Generator, n: int) -> list[list[np.ndarray]]:
    """``n`` random drawings of the three alphabets, each a list of strokes (m,2): (column, row) pixels."""
    path = SHARED / "omniglot" / "strokes_background_small2.zip"
    with zipfile.ZipFile(path) as z:
        names = sorted(x for x in z.namelist() if x.endswith(".txt") and x.split("/")[1] in ALPHABETS)
        out = []
        for k in rng.choice(len(names), n, replace=False):
            strokes, cur = [], []
            for line in z.read(names[k]).decode("ascii").splitlines():
                if line == "BREAK":
                    strokes.append(np.array(cur))
                    cur = []
                elif line != "START":
                    x, y, _ = map(float, line.split(","))
                    cur.append((x, -y))  # pixel (row, col) = (-y, x): SOURCE.md
            out.append(strokes)
    return out


def omniglot_ink(rng: np.random.Generator, size: tuple[int, int] = PAGE, ss: int = 3) -> np.ndarray:
    """Lines of Omniglot characters 60-90 px, drawn from the writers' strokes with one round pen of 3-5 px."""
    width, height = size
    im, draw = _canvas(width, height, ss)
    pen, margin = float(rng.uniform(3, 5)), 40
    drawings = iter(_omniglot_drawings(rng, 400))
    y = margin
    while y + 90 <= height - margin:
        x = margin + float(rng.uniform(0, 30))
        while True:
            strokes = next(drawings)
            pts = np.concatenate(strokes)
            lo, span = pts.min(axis=0), max(1.0, float((pts.max(axis=0) - pts.min(axis=0)).max()))
            scale = float(rng.uniform(60, 90)) / span
            w = float((pts[:, 0].max() - lo[0]) * scale)
            if x + w > width - margin:
                break
            for s in strokes:
                round_line(draw, ((s - lo) * scale + (x, y + rng.uniform(-4, 4))) * ss, pen * ss)
            x += w + float(rng.uniform(-0.08, 0.25)) * 75  # negative: the neighbours touch
        y += float(rng.uniform(85, 105))
    return _down(im, ss)


def _wrap(words: list[str], font: ImageFont.FreeTypeFont, room: float) -> list[str]:
    """Words (used cyclically) into lines no wider than ``room`` pixels."""
    lines, line = [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if font.getlength(trial) > room and line:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + [line]


def text_ink(rng: np.random.Generator, size: tuple[int, int], font_px: int, margin: int) -> tuple[np.ndarray, list[float], float]:
    """Lines of handwriting in one face of HANDS -> (ink (H,W), the baselines' rows, the line pitch px).

    Faces are thickened by a 1/50-of-the-size outline: hairline faces (script hairlines) otherwise come out of
    any scan as dust, and a threshold would be judged against dust."""
    width, height = size
    faces = [str((FONTS / f).resolve()) for f in HANDS if (FONTS / f).exists()]
    if not faces:
        raise SystemExit("no handwriting fonts: run `make bench-deps` (Debian font packages)")
    font = ImageFont.truetype(faces[int(rng.integers(len(faces)))], font_px)
    pitch = font_px * float(rng.uniform(1.3, 1.6))
    start = int(rng.integers(len(SENTENCES)))
    words = (SENTENCES[start:] + SENTENCES[:start]) * (1 + width * height // (40 * font_px * font_px))
    lines = _wrap(words, font, width - 2 * margin - font_px)
    im, draw = _canvas(width, height, 1)
    ascent = font.getmetrics()[0]
    baselines, top = [], float(margin)
    for line in lines:
        if top + pitch > height - margin:
            break
        draw.text((margin + float(rng.uniform(0, font_px)), top), line, font=font, fill=255, stroke_width=font_px // 50, stroke_fill=255)
        baselines.append(top + ascent)
        top += pitch
    return _down(im, 1), baselines, pitch


def _bezier(p: np.ndarray, n: int = 80) -> np.ndarray:
    """Points (n,2) along the cubic Bézier curve of control points p (4,2)."""
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]


def _hatch(draw, im: Image.Image, box: tuple[float, float, float, float], pen: float, rng) -> None:
    """An ellipse or rectangle outlined and filled with parallel lines 3-5 pens apart, on ``im``."""
    mask = Image.new("L", im.size, 0)
    shape = ImageDraw.Draw(mask).ellipse if rng.random() < 0.5 else ImageDraw.Draw(mask).rectangle
    shape(box, fill=255)
    lines = Image.new("L", im.size, 0)
    ld, (x0, y0, x1, y1) = ImageDraw.Draw(lines), box
    step, slope = pen * float(rng.uniform(3, 5)), float(rng.choice([-1, 1]))
    for c in np.arange(-(y1 - y0), x1 - x0, step):
        ld.line([(x0 + c, y0 if slope > 0 else y1), (x0 + c + (y1 - y0), y1 if slope > 0 else y0)], fill=255, width=round(pen))
    im.paste(255, mask=Image.fromarray(np.minimum(np.asarray(mask), np.asarray(lines))))
    (draw.ellipse if shape.__name__ == "ellipse" else draw.rectangle)(box, outline=255, width=round(pen))


def _arrow(draw, a: np.ndarray, b: np.ndarray, pen: float) -> None:
    """A line from a to b with a two-stroke head at b."""
    round_line(draw, np.array([a, b]), pen)
    d = (b - a) / max(1e-9, float(np.hypot(*(b - a))))
    for turn in (0.45, -0.45):
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        round_line(draw, np.array([b, b - 6 * pen * (rot @ d)]), pen)


def drawing_ink(rng: np.random.Generator, size: tuple[int, int] = PAGE, ss: int = 3) -> np.ndarray:
    """A 3 x 4 grid of cells: boxes and circles joined by arrows, Bézier curves, spirals, hatched areas."""
    width, height = size
    im, draw = _canvas(width, height, ss)
    cw, ch = width / 3, height / 4
    nodes = []
    for cell in rng.permutation(12):
        pen = float(rng.uniform(2, 7)) * ss
        cx, cy = (cell % 3 + 0.5) * cw * ss, (cell // 3 + 0.5) * ch * ss
        rx, ry = cw * ss * rng.uniform(0.2, 0.35), ch * ss * rng.uniform(0.2, 0.33)
        box = (cx - rx, cy - ry, cx + rx, cy + ry)
        what = rng.choice(["box", "circle", "curves", "spiral", "hatch"], p=[0.25, 0.2, 0.25, 0.15, 0.15])
        if what in ("box", "circle"):
            (draw.rectangle if what == "box" else draw.ellipse)(box, outline=255, width=round(pen))
            nodes.append((np.array([cx, cy]), rx, ry, pen))
        elif what == "curves":
            for _ in range(int(rng.integers(1, 4))):
                round_line(draw, _bezier(rng.uniform([box[0], box[1]], [box[2], box[3]], (4, 2))), pen)
        elif what == "spiral":
            t = np.linspace(0, 2 * np.pi * rng.uniform(2, 4), 400)
            r = t / t[-1]
            round_line(draw, np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)]), pen)
        else:
            _hatch(draw, im, box, pen, rng)
    for (a, ra, qa, pen), (b, rb, qb, _) in zip(nodes[:-1], nodes[1:]):  # joined like a diagram
        d = (b - a) / max(1e-9, float(np.hypot(*(b - a))))
        reach = lambda rx, ry: 1.0 / np.hypot(d[0] / rx, d[1] / ry)  # noqa: E731 (the ellipse's radius along d)
        _arrow(draw, a + d * reach(ra, qa), b - d * (reach(rb, qb) + pen), pen)
    return _down(im, ss)


# ---- scan artefacts ------------------------------------------------------------------------------------


def _lighting(rng: np.random.Generator, size: tuple[int, int], depth: float) -> np.ndarray:
    """A smooth light field (H,W) float32 in [1-depth, 1]: a ramp in a random direction and an off-centre fall-off."""
    width, height = size
    ys, xs = np.mgrid[0:1:33j, 0:1:33j]
    angle, (cx, cy) = rng.uniform(0, 2 * np.pi), rng.uniform(0, 1, 2)
    g = (np.cos(angle) * xs + np.sin(angle) * ys) + 1.5 * ((xs - cx) ** 2 + (ys - cy) ** 2)
    g = (g - g.min()) / max(1e-9, np.ptp(g))
    small = Image.fromarray((1 - depth * g).astype(np.float32), mode="F")
    return np.asarray(small.resize((width, height), Image.BILINEAR))


def ruled_layers(size: tuple[int, int], baselines: list[float], pitch: float, margin_x: float | None) -> list:
    """Ruled paper as [(coverage (H,W) float32, RGB)]: blue-grey lines on the baselines every ``pitch`` px, and a
    red margin line at column ``margin_x`` (None: none)."""
    width, height = size
    thick = max(1, round(pitch / 30))
    im, draw = _canvas(width, height, 1)
    for y in np.arange(baselines[0] % pitch, height, pitch) if baselines else []:
        draw.line([(0, y), (width, y)], fill=255, width=thick)
    layers = [(_down(im, 1), RULED)]
    if margin_x is not None:
        im, draw = _canvas(width, height, 1)
        draw.line([(margin_x, 0), (margin_x, height)], fill=255, width=thick)
        layers.append((_down(im, 1), MARGIN))
    return layers


def _rotate(cover: np.ndarray, degrees: float) -> Image.Image:
    """Coverage (H,W) in [0,1] -> 8-bit 'L' image, rotated about the centre (counter-clockwise) when asked."""
    im = Image.fromarray(np.round(cover * 255).astype(np.uint8))
    return im.rotate(degrees, Image.BILINEAR, fillcolor=0) if degrees else im


def scan(ink: np.ndarray, rng: np.random.Generator, recipe: dict, layers: list = ()) -> tuple[np.ndarray, np.ndarray]:
    """Clean ink (H,W) in [0,1] -> (scan RGB uint8 (H,W,3), truth ink (H,W) uint8, 255 = ink).

    recipe: rotate (degrees), paper and ink (RGB in [0,1]), pencil (bool), blur (sigma px), lighting (depth in
    [0,1]), grain (sigma); layers: printed lines under the ink (:func:`ruled_layers`).  A multiplicative model:
    paper x ruled lines x ink x light, then sensor grain.  The truth is the ink rotated as the page is (and the
    ruled lines with it); the artefacts go on a copy."""
    h, w = ink.shape
    truth = np.asarray(_rotate(ink, recipe.get("rotate", 0.0)))
    a = truth.astype(np.float32) / 255
    if recipe.get("pencil"):  # graphite: patchy, never a solid line
        tooth = ndimage.gaussian_filter(rng.standard_normal((h, w), np.float32), 1.0) * 3.5  # ~unit deviation
        a *= np.clip(0.8 + 0.2 * tooth, 0.45, 1.0)
    page = np.empty((h, w, 3), np.float32)
    page[:] = recipe.get("paper", WHITE)
    for cover, rgb in layers:
        cover = ndimage.gaussian_filter(np.asarray(_rotate(cover, recipe.get("rotate", 0.0)), np.float32) / 255, 0.6)
        page *= 1 - cover[..., None] * (1 - np.array(rgb, np.float32))
    if recipe.get("blur"):
        a = ndimage.gaussian_filter(a, recipe["blur"])
    page *= 1 - a[..., None] * (1 - np.array(recipe.get("ink", BLACK), np.float32))
    if recipe.get("lighting"):
        page *= _lighting(rng, (w, h), recipe["lighting"])[..., None]
    if recipe.get("grain"):
        page += recipe["grain"] * rng.standard_normal((h, w), np.float32)[..., None]
    return np.clip(page * 255 + 0.5, 0, 255).astype(np.uint8), truth


# ---- pages: artefacts by name, then each kind's pages ---------------------------------------------------

ARTEFACTS = ("lighting", "grey", "yellowish", "grain", "jpeg", "rotate", "blur", "blue", "pencil", "ruled", "margin")


def recipe(tags: tuple[str, ...], rng: np.random.Generator) -> dict:
    """Artefact names -> :func:`scan`'s recipe with drawn strengths (and "jpeg": the quality, or absent)."""
    unknown = set(tags) - set(ARTEFACTS)
    if unknown:
        raise SystemExit(f"unknown artefacts {sorted(unknown)}; known: {', '.join(ARTEFACTS)}")
    out: dict = {"tags": tuple(tags), "paper": GREY if "grey" in tags else YELLOWISH if "yellowish" in tags else WHITE, "ink": BLACK}
    if "blue" in tags:
        out["ink"] = BLUE
    if "pencil" in tags:  # faint: 28-40% darker than the paper, patchy
        v = float(rng.uniform(0.60, 0.72))
        out.update(ink=(v, v, v + 0.02), pencil=True)
    draws = {"lighting": (0.25, 0.45), "grain": (0.015, 0.04), "blur": (0.5, 1.0), "jpeg": (50, 70)}
    out.update({k: float(rng.uniform(*v)) for k, v in draws.items() if k in tags})
    if tags and "grain" not in tags:
        out["grain"] = 0.008  # a scanner's own noise (about two 8-bit grey levels): no scan is noise-free
    if "jpeg" in tags:
        out["jpeg"] = int(out["jpeg"])
    if "rotate" in tags:
        out["rotate"] = float(rng.choice([-1, 1]) * rng.uniform(0.3, 2.0))
    return out


def scan_text(rng, tags: tuple[str, ...], size: tuple[int, int] = PAGE, font_px: int = 56, margin: int = 60):
    """A page of handwriting with the artefacts ``tags`` -> (scan RGB, truth uint8 (255 = ink), recipe)."""
    ink, baselines, pitch = text_ink(rng, size, font_px, margin + (font_px if "margin" in tags else 0))
    layers = ruled_layers(size, baselines, pitch, margin + font_px / 2 if "margin" in tags else None) if "ruled" in tags else []
    r = recipe(tags, rng)
    return (*scan(ink, rng, r, layers), r)


def jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """What a JPEG file at ``quality`` gives back of an RGB (H,W,3) uint8 image."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


TEXT = [("lighting", "grey", "grain", "jpeg", "rotate"), ("blue", "yellowish", "ruled", "jpeg", "lighting"),
        ("pencil", "grain", "rotate", "blur"), ("pencil", "grey", "lighting", "ruled"),
        ("blue", "lighting", "grain", "jpeg", "rotate", "blur"), ("yellowish", "ruled", "margin", "grain", "jpeg")]
OMNIGLOT = [(), ("grain", "blur"), ("lighting", "jpeg")]
DRAWING = [(), ("lighting", "grain"), ("blue", "grey", "jpeg"), ("pencil", "rotate", "blur")]


def kind_pages(kind: str, seed: int):
    """Yield (name, dpi, scan RGB or gray uint8, truth uint8 255 = ink, recipe) for every page of ``kind``."""
    rng = lambda page: np.random.default_rng([seed, KINDS.index(kind), page])  # noqa: E731
    if kind == "digits":
        start = 5000  # MNIST test digits 5000 on: held out, as in pen_fidelity
        for k in range(3):
            ink, start = digits_ink(rng(k), start)
            yield f"digits-{k + 1}", 300, np.round(255 - ink * 255).astype(np.uint8), np.round(ink * 255).astype(np.uint8), {}
    elif kind in ("omniglot", "drawing"):
        make = omniglot_ink if kind == "omniglot" else drawing_ink
        for k, tags in enumerate(OMNIGLOT if kind == "omniglot" else DRAWING):
            g = rng(k)
            ink, r = make(g), recipe(tags, g)
            yield f"{kind}-{k + 1}", 300, *scan(ink, g, r), r
    elif kind == "text":
        for k, tags in enumerate(TEXT):
            yield f"text-{k + 1}", 300, *scan_text(rng(k), tags)
    elif kind in ("a4-300", "a4-600"):
        dpi = int(kind[3:])
        size, font_px = A4[dpi], round(7 / 25.4 * dpi)  # em 7 mm: letters ~5 mm
        tags = ("lighting", "grain", "jpeg", "rotate") + (("yellowish", "blur") if dpi == 600 else ())
        yield f"{kind}-1", dpi, *scan_text(rng(0), tags, size, font_px, margin=round(20 / 25.4 * dpi))
    else:
        yield from _edge_pages(rng)


def _edge_pages(rng):
    """A blank page, one small word in the corner of an A4 page of margin, a single dot (as :func:`kind_pages`)."""
    g = rng(0)
    r = recipe(("grey", "lighting", "grain", "jpeg"), g)
    yield "edge-1", 300, *scan(np.zeros(PAGE[::-1], np.float32), g, r), r
    g, a4 = rng(1), A4[300]
    im, draw = _canvas(*a4, 1)
    face = next(str((FONTS / f).resolve()) for f in HANDS if (FONTS / f).exists())
    draw.text((a4[0] - 320, a4[1] - 160), "hello", font=ImageFont.truetype(face, 60), fill=255)
    r = recipe(("lighting", "grain"), g)
    yield "edge-2", 300, *scan(_down(im, 1), g, r), r
    g = rng(2)
    im, draw = _canvas(*PAGE, 1)
    x, y = g.uniform(100, PAGE[0] - 100), g.uniform(100, PAGE[1] - 100)
    draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=255)
    r = recipe(("grain",), g)
    yield "edge-3", 300, *scan(_down(im, 1), g, r), r


def save_page(out: Path, name: str, kind: str, dpi: int, scan_px: np.ndarray, truth: np.ndarray, r: dict) -> dict:
    """Write the scan and its truth; return the page's pages.json entry."""
    suffix = ".jpg" if r.get("jpeg") else ".png"
    im = Image.fromarray(scan_px)
    if suffix == ".jpg":
        im.save(out / f"{name}{suffix}", "JPEG", quality=r["jpeg"])
    else:
        im.save(out / f"{name}{suffix}", compress_level=3)
    Image.fromarray(255 - truth).save(out / f"{name}.truth.png", compress_level=3)
    h, w = truth.shape
    return {"name": name, "kind": kind, "scan": f"{name}{suffix}", "truth": f"{name}.truth.png", "dpi": dpi,
            "pen_px": round(median_stroke_width(truth >= 128), 2), "width": w, "height": h}


def _describe(r: dict) -> str:
    """A recipe as one line: each artefact, with its drawn strength where it has one."""
    parts = []
    for tag in r.get("tags", ()):
        value = r.get(tag)
        parts.append(f"{tag}={value:.3g}" if isinstance(value, float) else f"{tag}={value}" if tag == "jpeg" else tag)
    return ", ".join(parts) or "clean"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "igae-pages", help="folder to write (outside the repo)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of: {', '.join(KINDS)}")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    if set(kinds) - set(KINDS):
        raise SystemExit(f"unknown kinds {sorted(set(kinds) - set(KINDS))}; known: {', '.join(KINDS)}")
    out = args.out.expanduser().resolve()
    if out == REPO or REPO in out.parents:
        raise SystemExit(f"{out}: benchmark pages stay out of the repo; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    entries, t0 = [], time.perf_counter()
    for kind in kinds:
        for name, dpi, scan_px, truth, r in kind_pages(kind, args.seed):
            entries.append(save_page(out, name, kind, dpi, scan_px, truth, r))
            e = entries[-1]
            print(f"{name:11s} {e['width']}x{e['height']} {dpi} dpi  pen {e['pen_px']:5.2f} px  ink {(truth >= 128).mean():6.2%}"
                  f"  {_describe(r)}  -> {e['scan']}", flush=True)
    (out / "pages.json").write_text(json.dumps(entries, indent=1) + "\n")
    print(f"{len(entries)} pages in {out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
