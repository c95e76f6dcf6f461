"""Write in my hand, end to end (issue 15): fill the template with a handwriting font, photograph it, learn the
hand, write sentences with it, read them back with Tesseract.

    python benchmarks/hand_learn.py                       # Purisa, Breip, DkgHandwriting; seeds 0 1 2
    python benchmarks/hand_learn.py --font /path/x.ttf --seeds 0

For each font (none of the built-in models trained on one: they learned MNIST digits and a Hershey face):

1. ``igae hand template``'s sheet at ``--dpi``, every box written in the font (tests/hand_fixtures.py: each box a
   little rotated, resized and moved; strokes thickened 0.1 mm a side, a ballpoint), then photographed: 5% of
   darker table around it, rotated 3 degrees, lit from 100% down to 45% across the sheet with a soft shadow,
   Gaussian noise 0.03; saved as an 8-bit PNG;
2. ``learn_hand_file`` (what ``igae hand learn`` runs) -> a ``.hand``;
3. **glyph IoU**: each box's learned glyph (the pen engine's drawing, where it was in the box) drawn by Pillow
   with a round pen as wide as the written glyph's median stroke, against the glyph written in that box on the
   clean page (pen-drawn IoU); per character the median of its boxes; the table gives the median over the
   characters, the worst one, and the share of characters at 0.7 or more;
4. **CER**: ``SENTENCES`` written with the hand (``write_text``, cap height 6 mm, slant 0 -- the samples carry
   the writer's own slant --, neatness 0.8, each ``--seeds``), each sentence on one line, drawn at 10 px/mm with
   a round pen as wide as the writer's median stroke (the hand's ``pen``) and read by Tesseract 5 (``--psm 7``); character error rate = edit distance / length,
   over all sentences (typographic quotes read as ASCII ones).  The font typeset directly (Pillow, same cap
   height) is read the same way: the font's own legibility, the ceiling for its hand.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hand_fixtures import font_fill, photograph, template_glyphs  # noqa: E402

from igae_robot.handwriting.learn import learn_hand_file  # noqa: E402
from igae_robot.handwriting.sample_hand import Sample, load_sample_hand  # noqa: E402
from igae_robot.handwriting.template import template_layout  # noqa: E402
from igae_robot.handwriting.writing import WritingStyle, write_text  # noqa: E402
from igae_robot.images.pen_draw import pen_coverage, pen_iou  # noqa: E402
from igae_robot.images.trace import median_stroke_width  # noqa: E402
from igae_robot.paper.page import Page  # noqa: E402

# Purisa (Debian's fonts-tlwg-purisa: the Latin letters of a Thai handwriting face) is the acceptance font: a
# neat hand Tesseract reads as typeset at 2.4% CER.  Breip and DkgHandwriting are informal hands it already
# misreads typeset (about 18%): what a learned hand of them scores says more about Tesseract than the hand.
FONTS = ["/usr/share/fonts/truetype/tlwg/Purisa.ttf", "/usr/share/fonts/truetype/breip/Breip.ttf",
         "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf"]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs!",
    "Meet me at the station at 7:45, not 8.",
    "She sold 36 apples and 12 pears (fresh ones).",
    "Is this the way to the old mill?",
    "Write to ada@example.org before Friday.",
    "Room 204 is on the second floor; take the stairs.",
    "My garden has roses, tulips and a pear tree.",
    "We walked 19 miles - a long day - in June.",
    "Call Jim or Kate if the van breaks down again.",
    "Zebras graze quietly while the sun sets.",
    "Bring bread, milk & eggs from the shop #3.",
]
PX_PER_MM, CAP_MM = 10.0, 6.0
QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2014": "-", "\u2013": "-"})


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def ocr(image: np.ndarray) -> str:
    """Tesseract's reading of one line, image (H,W) in [0,1] (1 = paper)."""
    png = Image.fromarray(np.round(image * 255).astype(np.uint8))
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        png.save(f.name)
        out = subprocess.run(["tesseract", f.name, "stdout", "--psm", "7", "-l", "eng"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split()).translate(QUOTES)


def cer(readings: list[str]) -> float:
    return sum(edit_distance(r, s) for r, s in zip(readings, SENTENCES)) / sum(len(s) for s in SENTENCES)


def written_line(sentence: str, hand, seed: int) -> np.ndarray:
    """One sentence in the hand, drawn with a round pen, cropped to its ink with a margin: (H,W), 1 = paper.

    It is written as the second line under a "-": ``write_text`` keeps 1.25 cap heights above its first line,
    and a writer's l and f can be taller (Purisa's: 1.3)."""
    page = Page(600.0, 60.0, 5.0)
    sheet = write_text("-\n" + sentence, [hand], page, WritingStyle(size_mm=CAP_MM, slant_deg=0.0, seed=seed))
    rows = {p.glyph: p.row for p in sheet.placements}
    lines = [p.points * PX_PER_MM for p in sheet.polylines if rows[p.glyph] == 1]
    pen_mm = hand.pen * CAP_MM / hand.cap_height  # the writer's own stroke
    ink = pen_coverage(lines, (round(page.height_mm * PX_PER_MM), round(page.width_mm * PX_PER_MM)), pen_mm * PX_PER_MM)
    return 1.0 - _cropped(ink)


def typeset_line(sentence: str, font_path: str) -> np.ndarray:
    """The sentence typeset in the font with the same cap height, (H,W), 1 = paper."""
    probe = ImageFont.truetype(font_path, 200)
    size = round(200 * CAP_MM * PX_PER_MM / -probe.getbbox("H", anchor="ls")[1])
    font = ImageFont.truetype(font_path, size)
    image = Image.new("L", (round(len(sentence) * size * 0.8) + 100, size * 3), 0)
    ImageDraw.Draw(image).text((50, size * 2), sentence, fill=255, font=font, anchor="ls")
    return 1.0 - _cropped(np.asarray(image, np.float32) / 255.0)


def _cropped(ink: np.ndarray, pad: int = 30) -> np.ndarray:
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.5), np.flatnonzero(ink.max(axis=0) > 0.5)
    return np.pad(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], pad)


def _lines(sample: Sample, scale: float) -> list[np.ndarray]:
    cuts = np.flatnonzero(np.diff(sample.down.astype(np.int8))) + 1
    return [sample.points[r] * scale for r in np.split(np.arange(len(sample.down)), cuts) if sample.down[r[0]]]


def glyph_ious(report, clean: np.ndarray, layout, dpi: float) -> dict[str, float]:
    """Per character: the median pen-drawn IoU of its learned glyphs against the glyphs written in its boxes."""
    written = template_glyphs(clean, layout, dpi)
    per: dict[str, list[float]] = {}
    for box in report.boxes:
        if box.sample is None:
            continue
        glyph = written[box.box]
        pen = median_stroke_width(glyph > 0.5)
        per.setdefault(box.char, []).append(pen_iou(_lines(box.sample, glyph.shape[-1]), glyph, pen))
    return {c: float(np.median(v)) for c, v in per.items()}


def run_font(font: str, dpi: float, seeds: list[int], work: Path) -> dict:
    layout = template_layout()
    clean = font_fill(layout, font, dpi, seed=0)
    photo = work / f"{Path(font).stem}-photo.png"
    Image.fromarray(np.round(photograph(clean, 3.0, seed=0) * 255).astype(np.uint8)).save(photo)
    tic = time.perf_counter()
    report = learn_hand_file(photo, work / f"{Path(font).stem}.hand", layout.chars)
    learn_s = time.perf_counter() - tic
    ious = glyph_ious(report, clean, layout, dpi)
    hand = load_sample_hand(work / f"{Path(font).stem}.hand")
    cers = []
    for seed in seeds:
        readings = [ocr(written_line(s, hand, seed)) for s in SENTENCES]
        cers.append(cer(readings))
        for got, want in zip(readings, SENTENCES):
            if got != want:
                print(f"  {Path(font).stem} seed {seed}: {want!r} read as {got!r}")
    typeset = cer([ocr(typeset_line(s, font)) for s in SENTENCES])
    worst = min(ious, key=ious.get)
    return {
        "font": Path(font).name, "learned": f"{len(report.hand.chars)}/{len(layout.chars)}",
        "iou": float(np.median(list(ious.values()))), "worst": f"{worst!r} {ious[worst]:.2f}",
        "share": float(np.mean([v >= 0.7 for v in ious.values()])), "cers": cers, "typeset": typeset, "learn_s": learn_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", action="append", help="handwriting font(s) to fill the template with")
    parser.add_argument("--dpi", type=float, default=300.0, help="resolution of the photographed sheet")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep", type=Path, help="keep the photos and hands in this folder")
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        sys.exit("tesseract not found: apt-get install -y tesseract-ocr")
    work = args.keep or Path(tempfile.mkdtemp(prefix="hand-learn-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [run_font(f, args.dpi, args.seeds, work) for f in (args.font or FONTS)]
    print(f"\n`python {' '.join(sys.argv)}` -- {datetime.date.today()}, load {os.getloadavg()[0]:.2f}, "
          f"{len(SENTENCES)} sentences, {sum(map(len, SENTENCES))} characters, seeds {' '.join(map(str, args.seeds))}\n")
    print("| font | characters learned | glyph IoU, median per character | worst | characters >= 0.7 | CER learned hand (per seed) | CER font typeset | learn s |")
    print("|---|---:|---:|---|---:|---|---:|---:|")
    for r in rows:
        per_seed = " / ".join(f"{c:.1%}" for c in r["cers"])
        print(f"| {r['font']} | {r['learned']} | {r['iou']:.3f} | {r['worst']} | {r['share']:.0%} | {per_seed} (mean {np.mean(r['cers']):.1%}) "
              f"| {r['typeset']:.1%} | {r['learn_s']:.1f} |")


if __name__ == "__main__":
    main()
