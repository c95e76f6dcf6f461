"""Flatbed scans of a page narrower than the bed, made another way than build_unseen_pages.py's, into a folder
pages.py reads.

    .venv/bin/python benchmarks/build_bed_scans.py                         # seed 303, 24 scans: ~/.cache/igae-bed-scans
    .venv/bin/python benchmarks/pages.py --pages ~/.cache/igae-bed-scans   # drawn with the pen, the three methods

build_unseen_pages.py has one such scan a seed: a black band 22 px wide, straight, down the left side.  These vary
what a lid left open varies: the side (left, right, top, bottom, or two of them), the band's width (8-45 px), the
page turned on the glass (up to 1.5 degrees, so the band narrows along the side), the bed's shade (near black to
dark grey), a soft shadow where the page lifts off the glass, grain, blur and JPEG; words may run up to the band.
A quarter of the scans have no band (the lid closed): nothing there may change.  images/bed_edge.py was written
before this script, looking at build_unseen_pages.py's band; seed 303 was first run after it.  The truth is the
page's ink.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_pages as bp  # noqa: E402
from build_table_photos import writing  # noqa: E402

W, H = 1200, 1400


def scan(rng) -> tuple[np.ndarray, np.ndarray, str]:
    """(gray uint8 (H,W), truth uint8 (H,W) 0 = ink, what the bed left) of one scan."""
    pen = rng.uniform(2.5, 6)
    ink = writing(rng, W, H, int(rng.integers(40, 160)), pen)
    img = np.where(ink, rng.uniform(0.05, 0.3), rng.uniform(0.82, 0.97)).astype(np.float32)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    sides = [] if rng.random() < 0.25 else list(rng.choice(["left", "right", "top", "bottom"], size=int(rng.integers(1, 3)), replace=False))
    for side in sides:
        across, along, n = {"left": (xs, ys, H), "right": (W - 1 - xs, ys, H), "top": (ys, xs, W), "bottom": (H - 1 - ys, xs, W)}[side]
        width = rng.uniform(8, 45)
        tilt = np.tan(np.radians(rng.uniform(-1.5, 1.5)))
        edge = np.maximum(2.0, width + tilt * (along - n / 2))  # the page's edge, turned on the glass
        bed = rng.uniform(0.03, 0.25)
        shadow = rng.uniform(0.5, 6)  # where the page lifts off the glass, its edge fades into the bed
        reach = 1 / (1 + np.exp((across - edge) / shadow * 4))  # 1 on the bed, 0 on the page
        img = reach * bed + (1 - reach) * img
        ink &= ~(reach > 0.5)  # writing under the bed is not on the page
    img = ndimage.gaussian_filter(img, rng.uniform(0.5, 1.2)) + rng.uniform(0.005, 0.03) * rng.standard_normal((H, W))
    gray = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return gray, np.where(ink, 0, 255).astype(np.uint8), "-".join(sides) or "closed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "igae-bed-scans")
    parser.add_argument("--seed", type=int, default=303)
    parser.add_argument("--count", type=int, default=24)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    pages = []
    for i in range(args.count):
        gray, truth, bed = scan(rng)
        pages.append(bp.save_page(args.out, f"bed-{i}-{bed}", "bed", 300, gray, 255 - truth, {"jpeg": int(rng.integers(70, 95))}))
    (args.out / "pages.json").write_text(json.dumps(pages, indent=1))
    print(f"{len(pages)} scans in {args.out}")


if __name__ == "__main__":
    main()
