"""Photos of a page lying on a table, made another way than build_unseen_pages.py's, into a folder pages.py reads.

    .venv/bin/python benchmarks/build_table_photos.py                       # seed 202, 30 photos: ~/.cache/igae-table-photos
    .venv/bin/python benchmarks/pages.py --pages ~/.cache/igae-table-photos  # drawn with the pen, the three methods
    .venv/bin/python benchmarks/scan_threshold.py --seeds 11 --pages ~/.cache/igae-table-photos  # the ink read, pixel IoU

build_unseen_pages.py has one table photo a seed, always the same brown wood at the same margins.  These vary what a
phone photo of a page varies: the surface (black, grey, green felt, blue, mid-grey, wood; its grain from fine to
coarse and along or across), how much of the frame the page fills (55-90% of its width), its turn (up to 15 degrees),
a page that leaves the frame on a side, the paper's shade, light falling off across the picture, a soft shadow,
camera blur, grain and JPEG.  The writing is scribbled words 2.5-6 px wide, dark grey to near black.

images/surround.py was built looking at seed 101 of this script and at build_unseen_pages.py's table photos; seed
202 was first run after its last setting.  The truth is the page's ink, turned and placed as the page is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_pages as bp  # noqa: E402

W, H = 1200, 1400
SURFACES = {"black": 0.06, "grey": 0.25, "green": 0.2, "blue": 0.18, "mid": 0.42, "wood": 0.3}  # their light


def writing(rng, w: int, h: int, words: int, pen: float) -> np.ndarray:
    """Scribbled words (bool (h,w)): short wavy polylines anywhere on the page."""
    im = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(im)
    for _ in range(words):
        x0, y0 = rng.uniform(0.03, 0.85) * w, rng.uniform(0.05, 0.95) * h
        draw.line([(x0 + i * rng.uniform(6, 14), y0 + rng.normal(0, 8)) for i in range(rng.integers(4, 14))],
                  fill=255, width=int(pen), joint="curve")
    return np.asarray(im) > 127


def _placed(layer: Image.Image, ox: int, oy: int) -> np.ndarray:
    """A turned layer on the frame (H,W) float32, its top left at (ox, oy), cut by the frame's edges."""
    a, out = np.asarray(layer), np.zeros((H, W), np.float32)
    x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + a.shape[1]), min(H, oy + a.shape[0])
    out[y0:y1, x0:x1] = a[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    return out


def photo(rng) -> tuple[np.ndarray, np.ndarray, str]:
    """(gray uint8 (H,W), truth uint8 (H,W) 0 = ink, the surface's name) of one photo."""
    pw = int(W * rng.uniform(0.55, 0.9))
    ph = min(int(pw * 1.414), int(H * 0.95))
    pw = min(pw, int(ph / 1.414) + 1)
    pen = rng.uniform(2.5, 6)
    ink = writing(rng, pw, ph, int(rng.integers(40, 160)), pen)
    page = np.where(ink, rng.uniform(0.05, 0.25), rng.uniform(0.8, 0.95)).astype(np.float32)
    angle = rng.uniform(-15, 15)
    turned = [Image.fromarray(a.astype(np.float32), mode="F").rotate(angle, Image.BILINEAR, expand=True)
              for a in (page, np.ones_like(page), ink)]
    surface = str(rng.choice(list(SURFACES)))
    scale = rng.uniform(3, 40)
    grain = ndimage.gaussian_filter(rng.standard_normal((H, W)).astype(np.float32), (scale * rng.uniform(0.1, 1), scale))
    table = SURFACES[surface] * (1 + rng.uniform(0.02, 0.15) * grain / (grain.std() + 1e-6))
    ox = int((W - turned[0].width) / 2 + rng.uniform(-0.15, 0.15) * W)  # may leave the frame on a side
    oy = int((H - turned[0].height) / 2 + rng.uniform(-0.1, 0.1) * H)
    paper, area, truth = (_placed(layer, ox, oy) for layer in turned)
    img = area * paper + (1 - area) * table
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1 - rng.uniform(0, 0.35) * ((xs / W) if rng.random() < 0.5 else (ys / H))
    if rng.random() < 0.5:  # a soft shadow
        a = rng.uniform(0, 2 * np.pi)
        d = np.cos(a) * (xs - W * rng.uniform(0.3, 0.7)) + np.sin(a) * (ys - H * rng.uniform(0.3, 0.7))
        light *= 1 - rng.uniform(0.2, 0.5) / (1 + np.exp(-d / rng.uniform(20, 80)))
    img = ndimage.gaussian_filter(img * light, rng.uniform(0.6, 1.5)) + rng.uniform(0.005, 0.03) * rng.standard_normal((H, W))
    gray = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return gray, np.where(truth > 0.5, 0, 255).astype(np.uint8), surface


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "igae-table-photos")
    parser.add_argument("--seed", type=int, default=202, help="101 was looked at while building images/surround.py")
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    pages = []
    for i in range(args.count):
        gray, truth, surface = photo(rng)
        pages.append(bp.save_page(args.out, f"table-{i}-{surface}", "table", 300, gray, 255 - truth, {"jpeg": int(rng.integers(60, 92))}))
    (args.out / "pages.json").write_text(json.dumps(pages, indent=1))
    print(f"{len(pages)} photos in {args.out}")


if __name__ == "__main__":
    main()
