"""Build the writing styles shipped with igae (``igae handwrite --style NAME``) from Debian's handwriting fonts.

    make system-deps   # or: apt-get install fonts-comic-neue fonts-dancingscript fonts-rufscript
    .venv/bin/python benchmarks/build_styles.py                 # every style below -> igae_robot/handwriting/models/
    .venv/bin/python benchmarks/build_styles.py --only comic --samples 6

Each character of the template's set is rendered ``--samples`` times (a small random rotation, slant and stretch
each, the recipe's fonts in turn) and drawn by the pen engine, as ``igae hand learn`` draws the boxes
of a filled template (:mod:`igae_robot.handwriting.style_build`).  Purisa is never used: it is the held-out font of
``benchmarks/hand_learn.py``.  The same fonts and seed give the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from igae_robot.handwriting.sample_hand import save_sample_hand
from igae_robot.handwriting.style_build import StyleRecipe, build_style
from igae_robot.handwriting.styles import STYLE_SUFFIX

FONTS = Path("/usr/share/fonts")
OUT = Path(__file__).resolve().parents[1] / "igae_robot" / "handwriting" / "models"

RECIPES = [
    # One weight per style: the pen engine draws a font's strokes with one pen, and a lighter weight's thinner
    # strokes were drawn worse (IoU 0.6-0.8 against 0.99; a u came out as a hook).
    StyleRecipe("comic", (str(FONTS / "opentype/comic-neue/ComicNeue-Regular.otf"),),
                "Comic Neue (fonts-comic-neue): a round casual print hand"),
    StyleRecipe("script", (str(FONTS / "opentype/dancingscript/DancingScript-Regular.otf"),),
                "Dancing Script (fonts-dancingscript): a joined script", joins=True),
    StyleRecipe("rufscript", (str(FONTS / "truetype/rufscript/Rufscript010.ttf"),), "Rufscript (fonts-rufscript): a marker script"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="build only these styles")
    parser.add_argument("--samples", type=int, help="samples per character (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the .hand.gz files go")
    args = parser.parse_args()
    for recipe in RECIPES:
        if args.only and recipe.name not in args.only:
            continue
        missing = [f for f in recipe.fonts if not Path(f).is_file()]
        if missing:
            sys.exit(f"{recipe.name}: font not found: {', '.join(missing)}")
        if args.samples:
            recipe = StyleRecipe(**{**recipe.__dict__, "samples": args.samples})
        tic = time.perf_counter()
        hand = build_style(recipe)
        hand.source = recipe.description
        path = save_sample_hand(args.out / f"{recipe.name}{STYLE_SUFFIX}", hand)
        print(f"{path}: {len(hand.chars)} characters x {recipe.samples} samples, {path.stat().st_size / 1024:.0f} KiB, "
              f"{time.perf_counter() - tic:.0f} s", flush=True)


if __name__ == "__main__":
    main()
