"""Can an independent reader read igae's handwriting?  Tesseract on sentences written by ``igae handwrite``.

    make bench-deps     # tesseract-ocr (Debian), once
    .venv/bin/python benchmarks/handwriting_ocr.py               # 12 sentences x 3 seeds x 4 styles x 2 modes, ~5 min on 2 cores
    .venv/bin/python benchmarks/handwriting_ocr.py --styles comic model
    .venv/bin/python benchmarks/handwriting_ocr.py --tuning --no-long   # the sentences the default style was chosen on
    .venv/bin/python benchmarks/handwriting_ocr.py --keep /tmp/ocr   # also keep every SVG and PNG

What is measured (issue 15's acceptance):

* each sentence below (ordinary sentences written for this benchmark: mixed case, digits, punctuation) is written
  on one line by :func:`igae_robot.handwriting.writing.write_text` (the library call behind ``igae handwrite``,
  6 mm capitals, neatness 0.8, the style's default slant: 6 degrees, 0 for cursive) in each ``--styles``
  (default: the default style, cursive, script, rufscript and ``model``, the gesture models igae wrote with
  before styles) for seeds 0, 1, 2, letter by letter and joined up (``--connect``; cursive is always joined),
  and saved as SVG;
* each SVG is read back by **vpype** (``vpype.read_svg``) and drawn by **Pillow** with a round pen 0.5 mm wide
  (a segment of that width and a disc at every vertex), dark on white, at 300 dpi, with 4 mm of white around the ink;
* **Tesseract** (Debian ``tesseract-ocr``, ``--psm 7``: one line of text, ``-l eng``) reads each line;
* character error rate = Levenshtein distance / reference length, on the text with runs of white space made one
  space and typographic quotes and dashes made ASCII (Tesseract writes ’ “ ” — for ' " -);
* the reference: the same sentences drawn by vpype's ``text`` (Hershey ``futural``, single-stroke) at the same cap
  height, through the same pen, raster and reader;
* "two seeds differ", per style: each glyph of seed 0 and of seed 1 (letter by letter; the same character at the same place
  in the text), read back from the SVG (its placement maps page mm to glyph units), drawn alone in glyph units on a
  64 px canvas with the same 0.5 mm pen; IoU of the two, mean over all glyphs of all sentences.

And the time of a long text: 20 000 characters (the sentences over and over, in paragraphs) written by
``igae handwrite --file ... --pages`` on A4, as SVG and as G-code (grbl-servo), interpreter start included.

Prints a markdown table, the characters read wrong most often per mode, and the long text's timings.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import vpype
from PIL import Image, ImageDraw

from igae_robot.exporters import export_file, read_file
from igae_robot.handwriting.styles import CURSIVE_STYLE, DEFAULT_STYLE, MODEL_STYLE, default_slant, style_hands, style_names
from igae_robot.handwriting.writing import WritingStyle, write_text
from igae_robot.paper.page import Page

SENTENCES = [
    "Meet me at 7:45 by the old mill, Sarah.",
    "The parcel weighs 2.3 kg and costs 14 euros.",
    "Why did Tom leave the back door open again?",
    "Please call Dr. Lewis before noon (ext. 208).",
    "We planted 36 tulips; only 9 came up!",
    "Jack's van is parked on Queen Street, No. 51.",
    "Buy milk, eggs, bread & a jar of honey.",
    "Her flight lands at 10:20 on Friday, June 6.",
    "The train to Oxford was 25 minutes late.",
    "Vera sent 3 postcards from Zurich and Kyiv.",
    "Is it 8 or 18 chairs for the party, Mum?",
    "Write to grace@mail.com or call #40-17 \"soon\".",
]
# Sentences the default style was chosen on (--tuning), so that the figures above are not fitted to SENTENCES.
TUNING = [
    "Grandma keeps 17 jars of plum jam in the cellar.",
    "Quickly, Felix! The bus leaves at 6:50 sharp.",
    "Order no. 4823 ships on Monday (via Hamburg).",
    "Would you water the ferns while I'm away?",
    "Yes; the wizard gave Olga 9 gold coins & a map.",
    "Mail bob@post.net about the 3 broken vases.",
    "Our kitchen clock stopped at 11:05 last night.",
    "Pavel jogged past the zoo, then went home.",
    "Dear Xavier, thank you for the 12 lovely tulips!",
    "Is Kim's \"new\" bike red, blue or #2 green?",
]
SIZE_MM = 6.0  # cap height, the CLI's default
PEN_MM = 0.5
DPI = 300
PAD_MM = 4.0
PX_PER_MM = DPI / 25.4
VPYPE_PX_MM = 25.4 / 96  # vpype's unit, the CSS pixel, in mm
LINE_PAGE = Page.from_spec("420x40mm", margin="5mm")  # wide enough for any sentence on one line
ASCII = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "—": "-", "–": "-"})


# ---- drawing ----------------------------------------------------------------------------------


def draw_lines(lines_mm: list[np.ndarray], px_per_mm: float, pen_mm: float, pad_mm: float) -> Image.Image:
    """Polylines (N,2) in mm (y down) drawn with a round pen, dark on white, cropped to the ink plus ``pad_mm``."""
    pts = np.concatenate(lines_mm)
    lo = pts.min(axis=0) - pad_mm - pen_mm
    hi = pts.max(axis=0) + pad_mm + pen_mm
    size = np.ceil((hi - lo) * px_per_mm).astype(int)
    im = Image.new("L", (int(size[0]), int(size[1])), 255)
    return _stroke(im, [(line - lo) * px_per_mm for line in lines_mm], pen_mm * px_per_mm)


def _stroke(im: Image.Image, lines_px: list[np.ndarray], width_px: float) -> Image.Image:
    d = ImageDraw.Draw(im)
    r = width_px / 2
    for line in lines_px:
        if len(line) > 1:
            d.line([tuple(p) for p in line], fill=0, width=max(1, round(width_px)))
        for x, y in line:
            d.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return im


def svg_lines_mm(path: Path) -> list[np.ndarray]:
    """The polylines of an SVG as vpype reads them, in mm."""
    lc, _, _ = vpype.read_svg(str(path), quantization=0.05 / VPYPE_PX_MM)
    return [np.stack([line.real, line.imag], axis=1) * VPYPE_PX_MM for line in lc if len(line)]


def hershey_lines_mm(text: str) -> list[np.ndarray]:
    """``text`` through vpype's ``text`` (Hershey futural), scaled to capitals SIZE_MM high."""
    probe = vpype.text_line("H", "futural", size=100.0)
    ys = np.concatenate([line.imag for line in probe])
    scale = SIZE_MM / (ys.max() - ys.min())
    lc = vpype.text_line(text, "futural", size=100.0)
    return [np.stack([line.real, line.imag], axis=1) * scale for line in lc if len(line)]


# ---- reading ----------------------------------------------------------------------------------


def tesseract(png: Path) -> str:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run(["tesseract", str(png), "stdout", "--psm", "7", "-l", "eng", "--dpi", str(DPI)],
                          capture_output=True, text=True, env=env, check=True)
    return normalise(proc.stdout)


def normalise(text: str) -> str:
    return " ".join(text.translate(ASCII).split())


def edit_ops(ref: str, hyp: str) -> list[tuple[str, str]]:
    """The Levenshtein alignment of ``hyp`` to ``ref`` as (ref char or '', hyp char or '') pairs that differ."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=int)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    ops, i, j = [], n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            if ref[i - 1] != hyp[j - 1]:
                ops.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            ops.append((ref[i - 1], ""))
            i -= 1
        else:
            ops.append(("", hyp[j - 1]))
            j -= 1
    return ops[::-1]


def cer(ref: str, hyp: str) -> float:
    return len(edit_ops(ref, hyp)) / len(ref)


# ---- the two-seeds measure ----------------------------------------------------------------------


def glyph_images(svg: Path) -> list[np.ndarray]:
    """Each glyph of a letter-by-letter SVG alone, in glyph units on a 64 px canvas ([-0.25, 1.25]²), as booleans."""
    sheet = read_file(svg)
    side, lo, span = 64, -0.25, 1.5
    out = []
    for place in sheet.placements:
        lines = [place.from_page(p.points) for p in sheet.polylines if p.glyph == place.glyph]
        im = Image.new("L", (side, side), 255)
        px = side / span
        _stroke(im, [(line - lo) * px for line in lines], PEN_MM / place.scale_mm * px)
        out.append(np.asarray(im) < 128)
    return out


def mean_iou(a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    return [float((x & y).sum() / max((x | y).sum(), 1)) for x, y in zip(a, b)]


# ---- the run --------------------------------------------------------------------------------------


def read_line(lines_mm: list[np.ndarray], png: Path) -> str:
    draw_lines(lines_mm, PX_PER_MM, PEN_MM, PAD_MM).save(png)
    return tesseract(png)


def mode_name(style: str, connect: bool) -> str:
    return f"{style}{' (default)' if style == DEFAULT_STYLE else ''}, {'joined-up (--connect)' if connect else 'letter by letter'}"


def run(seeds: list[int], styles: list[str], work: Path) -> dict:
    modes = {mode_name(style, connect): (style, connect) for style in styles for connect in (False, True)}
    readings: dict[str, dict[int, list[str]]] = {mode: {s: [] for s in seeds} for mode in modes}
    timing = collections.defaultdict(float)
    ious: dict[str, list[float]] = {style: [] for style in styles}
    for k, sentence in enumerate(SENTENCES):
        for mode, (style, connect) in modes.items():
            hands = style_hands(style)
            for seed in seeds:
                tic = time.perf_counter()
                style_of = WritingStyle(size_mm=SIZE_MM, connect=connect, seed=seed, slant_deg=default_slant(style))
                sheet = write_text(sentence, hands, LINE_PAGE, style_of)
                svg = export_file(sheet, work / f"s{k:02d}-{style}-{'joined' if connect else 'letters'}-seed{seed}.svg", "svg")
                timing["write"] += time.perf_counter() - tic
                tic = time.perf_counter()
                readings[mode][seed].append(read_line(svg_lines_mm(svg), svg.with_suffix(".png")))
                timing["read"] += time.perf_counter() - tic
        for style in styles if len(seeds) > 1 else []:
            ious[style] += mean_iou(*(glyph_images(work / f"s{k:02d}-{style}-letters-seed{s}.svg") for s in seeds[:2]))
        readings.setdefault("Hershey futural (vpype text)", {0: []})[0].append(read_line(hershey_lines_mm(sentence), work / f"s{k:02d}-hershey.png"))
        print(f"  sentence {k + 1}/{len(SENTENCES)} done", file=sys.stderr, flush=True)
    return {"readings": readings, "ious": ious, "timing": dict(timing)}


def long_text_timing(work: Path, chars: int = 20_000) -> list[str]:
    """``igae handwrite --file --pages`` on ``chars`` characters, SVG and G-code: one line each."""
    words = " ".join(SENTENCES * (chars // len(" ".join(SENTENCES)) + 1))
    text = "\n\n".join(words[i : i + 1000] for i in range(0, chars, 1000))[:chars]  # paragraphs of ~1000 characters
    (work / "long.txt").write_text(text)
    out = []
    for suffix in ("svg", "gcode"):
        tic = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "igae_robot.cli.main", "handwrite", "--file", str(work / "long.txt"),
                               "-o", str(work / f"long.{suffix}"), "--pages"], capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - tic
        pages = (proc.stdout + proc.stderr).count("wrote ")
        out.append(f"- a {len(text)}-character text, `igae handwrite --file long.txt -o long.{suffix} --pages` (A4, 6 mm, "
                   f"default style): {pages} pages in {elapsed:.1f} s, interpreter start included")
    return out


def report(result: dict, seeds: list[int], command: str, elapsed_s: float) -> str:
    rows, lines = [], []
    for mode, by_seed in result["readings"].items():
        per_seed = {s: statistics.mean(cer(ref, hyp) for ref, hyp in zip(SENTENCES, hyps)) for s, hyps in by_seed.items()}
        per_sentence = [statistics.mean(cer(SENTENCES[k], by_seed[s][k]) for s in by_seed) for k in range(len(SENTENCES))]
        worst = int(np.argmax(per_sentence))
        seed_text = ", ".join(f"{s}: {100 * v:.1f}%" for s, v in per_seed.items()) if len(by_seed) > 1 else "(no seed)"
        worst_text = f"{SENTENCES[worst]!r} {100 * per_sentence[worst]:.1f}% → {next(iter(by_seed.values()))[worst]!r}"
        rows.append(f"| {mode} | {100 * statistics.mean(per_seed.values()):.2f}% | {seed_text} | {worst_text.replace('|', '/')} |")
        lines.append(_confusions(mode, by_seed))
    head = [
        f"Handwriting read by Tesseract — {datetime.datetime.now().isoformat(timespec='seconds')}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {_tesseract_version()}",
        f"command: `{command}` ({elapsed_s:.0f} s: writing {result['timing']['write']:.1f} s, drawing + reading "
        f"{result['timing']['read']:.1f} s)",
        f"{len(SENTENCES)} sentences, seeds {', '.join(map(str, seeds))}, {SIZE_MM:g} mm capitals, {PEN_MM:g} mm round pen, "
        f"{DPI} dpi, tesseract --psm 7 per line; CER = Levenshtein distance / reference length",
        "",
        "| mode | CER mean | CER per seed | worst sentence (mean CER over seeds → reading of the first seed) |",
        "|---|---|---|---|",
        *rows,
    ]
    for style, iou in result["ious"].items():
        if iou:
            head.append(f"| two seeds differ ({style}): mean per-glyph IoU, seed {seeds[0]} vs {seeds[1]} (letter by letter, glyph by "
                        f"glyph) | {statistics.mean(iou):.3f} | {len(iou)} glyphs | median {statistics.median(iou):.3f} |")
    return "\n".join(head + [""] + lines + result.get("long", []))


def _confusions(mode: str, by_seed: dict[int, list[str]]) -> str:
    """The reference characters read wrong most often (substituted or dropped), with what they were read as."""
    wrong: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    seen = collections.Counter(ch for hyps in by_seed.values() for s in SENTENCES[: len(hyps)] for ch in s)
    inserted = 0
    for hyps in by_seed.values():
        for ref, hyp in zip(SENTENCES, hyps):
            for a, b in edit_ops(ref, hyp):
                if a:
                    wrong[a][b or "∅"] += 1
                else:
                    inserted += 1
    top = sorted(wrong, key=lambda c: -sum(wrong[c].values()))[:12]
    parts = [f"{c!r} {sum(wrong[c].values())}/{seen[c]} (→ {', '.join(f'{b!r}' for b, _ in wrong[c].most_common(3))})" for c in top]
    return f"- {mode}: most misread: {'; '.join(parts) or 'none'}; inserted characters: {inserted}"


def _tesseract_version() -> str:
    out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()
    return out[0] if out else "tesseract ?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep", type=Path, help="keep every SVG and PNG in this folder")
    parser.add_argument("--styles", nargs="+", default=[DEFAULT_STYLE, CURSIVE_STYLE, "script", "rufscript", MODEL_STYLE], choices=style_names(),
                        help="the styles to read, each letter by letter and joined up")
    parser.add_argument("--tuning", action="store_true", help="read the TUNING sentences (the default style's choice) instead")
    parser.add_argument("--no-long", action="store_true", help="skip the 20 000-character timing")
    args = parser.parse_args()
    if args.tuning:
        SENTENCES[:] = TUNING
    if shutil.which("tesseract") is None:
        raise SystemExit("tesseract not found: run `make bench-deps` (Debian tesseract-ocr)")
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = run(args.seeds, args.styles, work)
        result["long"] = [] if args.no_long else long_text_timing(work)
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    print(report(result, args.seeds, command, time.perf_counter() - tic))


if __name__ == "__main__":
    main()
