"""Whole words drawn by the pen engine, read by Tesseract: the other way to join up (issue 15), measured.

    .venv/bin/python benchmarks/handwriting_whole_words.py                    # Dancing Script, the benchmark's sentences
    .venv/bin/python benchmarks/handwriting_whole_words.py --tuning --font /usr/share/fonts/truetype/rufscript/Rufscript010.ttf

Each sentence is typeset on one line in a joined script font (Pillow, capitals 6 mm high at 300 dpi, so the font's
own joins and spacing), drawn whole by the pen engine (:func:`igae_robot.vectorize.engines.draw_whole`: traced, then
fitted window by window, with the font's median stroke as the pen), and the drawing is read exactly as
``handwriting_ocr.py`` reads ``igae handwrite``'s lines: a 0.5 mm round pen at 300 dpi, ``tesseract --psm 7``.
There is no per-glyph variation here (one drawing per sentence), so this is the best such a mode could read.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import handwriting_ocr as ho
from igae_robot.images.trace import median_stroke_width
from igae_robot.vectorize.engines import draw_whole

DANCING = "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf"


def typeset_ink(sentence: str, font_path: str) -> np.ndarray:
    """The sentence in the font, capitals ``ho.SIZE_MM`` high at ``ho.DPI``: ink (H,W) float32, 1 = ink."""
    probe = ImageFont.truetype(font_path, 200)
    size = round(200 * ho.SIZE_MM * ho.PX_PER_MM / -probe.getbbox("H", anchor="ls")[1])
    font = ImageFont.truetype(font_path, size)
    image = Image.new("L", (round(len(sentence) * size * 0.8) + 100, size * 3), 0)
    ImageDraw.Draw(image).text((50, size * 2), sentence, fill=255, font=font, anchor="ls")
    return np.asarray(image, np.float32) / 255.0


def engine_lines_mm(ink: np.ndarray) -> list[np.ndarray]:
    """The pen engine's drawing of ``ink`` (at ``ho.DPI``) as pen-down polylines in mm."""
    drawing = draw_whole(ink, median_stroke_width(ink > 0.5))
    return [run / ho.PX_PER_MM for run in drawing.strokes() if len(run)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", default=DANCING, help="a joined script font")
    parser.add_argument("--tuning", action="store_true", help="the tuning sentences of handwriting_ocr.py instead of its benchmark sentences")
    args = parser.parse_args()
    sentences = ho.TUNING if args.tuning else ho.SENTENCES
    tic, load = time.perf_counter(), os.getloadavg()
    cers, drawing_s = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for k, sentence in enumerate(sentences):
            t = time.perf_counter()
            lines = engine_lines_mm(typeset_ink(sentence, args.font))
            drawing_s += time.perf_counter() - t
            got = ho.read_line(lines, Path(tmp) / f"{k}.png")
            cers.append(ho.cer(sentence, got))
            print(f"  {100 * cers[-1]:5.1f}%  {sentence!r} -> {got!r}", flush=True)
    print(f"\n`python {' '.join(sys.argv)}` -- {datetime.datetime.now().isoformat(timespec='seconds')}, load "
          f"{' '.join(f'{x:.2f}' for x in load)}, {time.perf_counter() - tic:.0f} s ({drawing_s:.1f} s drawing)")
    print(f"{Path(args.font).name}, whole lines drawn by the pen engine, {len(sentences)} sentences: CER {100 * statistics.mean(cers):.2f}%")


if __name__ == "__main__":
    main()
