"""Which threshold finds the ink of a scan: pixel IoU against the truth, one artefact at a time.

    .venv/bin/python benchmarks/scan_threshold.py                    # seeds 11-13: the table in igae_robot/images/scan.py
    .venv/bin/python benchmarks/scan_threshold.py --seeds 1,2,3,4,5,6  # the seeds scan.py's constants were tuned on
    .venv/bin/python benchmarks/scan_threshold.py --pages ~/.cache/igae-pages   # also build_pages.py's pages, per kind

Pages come from benchmarks/build_pages.py's own makers, made in memory (~30 s on two busy cores): handwriting
(text), diagrams (drawing) and Omniglot lines, 800 x 900 px, each with one artefact plus the scanner's own faint
grain (sigma 0.008; "clean": none at all, a digital image), "ruled" (text pages only, with a margin line), "mix"
(one of the builder's text recipes, several artefacts), and "blank" (paper, light, grain and JPEG, no ink).
Tuning used seeds 1-6 only (1-3 first; 4-6 were added when the first run on 11-13 showed printed ruled lines
pulling the ink level down, a case 1-3 had hidden in their medians); the reported table uses seeds 11-13.

Methods, each binarising the gray image the reader makes of the scan (Pillow's "L"):

* ``ink_images``: today's ``glyphs.ink_image`` (5th percentile -> 0, darkest -> 1) at 0.5;
* ``Otsu``: one global Otsu threshold (skimage ``threshold_otsu``);
* ``Sauvola``: skimage ``threshold_sauvola``, window 31 px, k = 0.2 (its default k);
* ``paper + 0.5``: ink measured against the paper (``scan.paper_level``) at a fixed 0.5;
* ``scan_ink``: :func:`igae_robot.images.scan.scan_ink` at 0.5.

Pages with ruled lines go through :func:`~igae_robot.images.ruled_lines.remove_ruled_lines` after every method (the
truth has no lines).  Each cell is the median IoU over the pages of that artefact (three sources x the seeds); the "blank"
row is the share of pixels marked as ink, in parts per million (0 is right).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import build_pages as pages  # noqa: E402

from igae_robot.images.glyphs import ink_image  # noqa: E402
from igae_robot.images.read import is_light_background  # noqa: E402
from igae_robot.images.ruled_lines import remove_ruled_lines  # noqa: E402
from igae_robot.images.scan import paper_level, scan_ink  # noqa: E402

SIZE = (800, 900)
CONDITIONS = ("clean", "lighting", "grey", "yellowish", "pencil", "grain", "jpeg", "blur", "blue", "ruled", "mix", "blank")
SOURCES = ("text", "drawing", "omniglot")


def otsu(gray: np.ndarray) -> np.ndarray:
    from skimage.filters import threshold_otsu

    dark = is_light_background(gray)
    t = threshold_otsu(gray)
    return gray < t if dark else gray > t


def sauvola(gray: np.ndarray) -> np.ndarray:
    from skimage.filters import threshold_sauvola

    if not is_light_background(gray):
        gray = 1.0 - gray
    return gray < threshold_sauvola(gray, window_size=31, k=0.2)


def paper_half(gray: np.ndarray) -> np.ndarray:
    dark = 1.0 - gray if is_light_background(gray) else gray
    paper = paper_level(dark)
    return (dark - paper) / np.maximum(1e-3, 1.0 - paper) > 0.5


METHODS = {
    "ink_images": lambda g: ink_image(g) > 0.5,
    "Otsu": otsu,
    "Sauvola": sauvola,
    "paper + 0.5": paper_half,
    "scan_ink": lambda g: scan_ink(g) > 0.5,
}


def make_page(condition: str, source: str, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(gray (H,W) float32 in [0,1] as the reader makes it, truth ink (H,W) bool, ruled?) of one benchmark page."""
    rng = np.random.default_rng([seed, CONDITIONS.index(condition), SOURCES.index(source)])
    tags = {"clean": (), "blank": ("grey", "lighting", "grain", "jpeg"), "ruled": ("ruled", "margin")}.get(condition, (condition,))
    if condition == "mix":
        tags = pages.TEXT[seed % len(pages.TEXT)]
    if source == "text" or condition == "ruled":
        rgb, truth, r = pages.scan_text(rng, tags, SIZE, font_px=44, margin=40)
    else:
        ink = np.zeros(SIZE[::-1], np.float32) if condition == "blank" else (
            pages.drawing_ink(rng, SIZE) if source == "drawing" else pages.omniglot_ink(rng, SIZE))
        r = pages.recipe(tuple(t for t in tags if t not in ("ruled", "margin")), rng)
        rgb, truth = pages.scan(ink, rng, r)
    if condition == "blank":
        truth = np.zeros_like(truth)
        rgb, _ = pages.scan(np.zeros(SIZE[::-1], np.float32), rng, r)
    if r.get("jpeg"):
        rgb = pages.jpeg_round_trip(rgb, r["jpeg"])
    gray = np.asarray(Image.fromarray(rgb).convert("L"), np.float32) / 255
    return gray, truth >= 128, "ruled" in tags


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 1.0


def score(condition: str, seeds: list[int]) -> dict[str, list[float]]:
    """Each method's scores on the pages of one condition: IoU, or for "blank" the ink share in ppm."""
    out: dict[str, list[float]] = {m: [] for m in METHODS}
    for seed in seeds:
        for source in SOURCES:
            gray, truth, ruled = make_page(condition, source, seed)
            for name, method in METHODS.items():
                found = method(gray)
                if ruled:
                    found = remove_ruled_lines(found.astype(np.float32)) > 0.5
                out[name].append(1e6 * found.mean() if condition == "blank" else iou(found, truth))
    return out


def score_pages(folder: Path) -> None:
    """A second table: every method on build_pages.py's pages (no line removal), median IoU per kind."""
    import json

    Image.MAX_IMAGE_PIXELS = None  # the 600-dpi A4 page
    by_kind: dict[str, dict[str, list[float]]] = {}
    for page in json.loads((folder / "pages.json").read_text()):
        gray = np.asarray(Image.open(folder / page["scan"]).convert("L"), np.float32) / 255
        truth = np.asarray(Image.open(folder / page["truth"])) < 128
        scores = by_kind.setdefault(page["kind"], {m: [] for m in METHODS})
        for name, method in METHODS.items():
            found = method(gray)
            scores[name].append(iou(found, truth))  # a blank page: 1 when nothing is found, else 0
    print(f"\nbuild_pages.py's pages in {folder}: median IoU per kind (worst page); a blank page scores 1 if nothing is found, else 0\n")
    print("| kind | " + " | ".join(METHODS) + " |")
    print("|---|" + "---:|" * len(METHODS))
    for kind, scores in by_kind.items():
        print(f"| {kind} ({len(scores['scan_ink'])}) | " + " | ".join(f"{statistics.median(v):.3f} ({min(v):.3f})" for v in scores.values()) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="11,12,13", help="comma-separated page seeds (1-3 were used for tuning)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--pages", type=Path, help="also score the pages of this build_pages.py folder")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.perf_counter()
    print(f"median pixel IoU against the truth, seeds {args.seeds}, {len(SOURCES)} sources each ({SIZE[0]}x{SIZE[1]} px)\n")
    print("| artefact | " + " | ".join(METHODS) + " |")
    print("|---|" + "---:|" * len(METHODS))
    for condition in args.conditions.split(","):
        scores = score(condition, seeds)
        fmt = (lambda v: f"{v:.0f} ppm") if condition == "blank" else (lambda v: f"{v:.3f}")
        print(f"| {condition} | " + " | ".join(fmt(statistics.median(v)) for v in scores.values()) + " |", flush=True)
    if args.pages:
        score_pages(args.pages.expanduser())
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
