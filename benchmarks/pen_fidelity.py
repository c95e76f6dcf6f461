"""Pen-drawn fidelity on held-out line images: the pen engine against a skeleton tracer and potrace, one run.

    make bench-deps     # potrace and the fonts (Debian packages), once
    .venv/bin/python benchmarks/pen_fidelity.py --per-set 50 --seed 11   # ~6 min on 2 cores (the README table)
    .venv/bin/python benchmarks/pen_fidelity.py --per-set 20 --sets mnist-28,omniglot-105

What is measured, for every method alike (issue 13's acceptance):

* each method writes one SVG per image: igae through :func:`igae_robot.vectorize.vectorize` (the library call
  behind ``igae vectorize``, default options, the pen engine), the skeleton tracer (scikit-image
  ``skeletonize`` + a graph walk, benchmarks/tracers.py), potrace (``-b svg``, outlines);
* every SVG is read back by **vpype** (``vpype.read_svg``) and drawn by **Pillow** with a round pen as wide
  as the source's median stroke (:func:`~igae_robot.images.trace.median_stroke_width`), 4x supersampled:
  IoU against the source binarised at 0.5; pen lifts (= polylines), pen-down length and pen-up travel
  (from each polyline's end to the next one's start, in the file's order), in source pixels; seconds
  per image (wall, each method alone, same worker count);
* igae only: the read-back file drawn by Pillow against the same file drawn by our pen renderer
  (:func:`~igae_robot.model.render_pen.render_pen`, what the fit trains on), IoU: what trains is what plots.

Sets, none of them seen while the engine was built (it was tried on the first MNIST test digits and
on Omniglot's background_small1 alphabets; all of these differ):

* ``mnist``: MNIST test digits 5000 on, at 28 px and bicubic 4x (112 px);
* ``omniglot``: the three alphabets only in background_small2 (Japanese katakana, Sanskrit, Tagalog), at
  105 px as drawn and area-downscaled to 28 px;
* ``fonts``: letters and digits of printed faces (Liberation, FreeFont, Lohit Devanagari, UnDotum Korean);
* ``hands``: letters and digits of handwriting faces (dkg, Breip, Femke Klaver, Humor Sans, Rufscript,
  Ecolier, Dancing Script, Because We ...) with scan noise: blur, grain, uneven paper, slight rotation (thickened by a 1% outline so hairlines survive).

Prints one markdown table per set and the mean over all; ``--json`` saves every number.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracers import skeleton_polylines, write_polylines_svg  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabdefghkmnpqrty0123456789"
PRINTED = ["liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSans-Bold.ttf", "freefont/FreeSerifItalic.ttf",
           "freefont/FreeMono.ttf", "lohit-devanagari/Lohit-Devanagari.ttf", "unfonts-core/UnDotum.ttf"]
HANDS = ["fifthhorseman/dkg.ttf", "breip/Breip.ttf", "femkeklaver/femkeklaver.ttf", "humor-sans/Humor-Sans.ttf",
         "rufscript/Rufscript010.ttf", "ecolier-court/Ecolier-court.ttf", "../opentype/dancingscript/DancingScript-Regular.otf",
         "../opentype/bwht/BecauseWeLearn-Regular.otf"]
DEVANAGARI = "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह"
HANGUL = "가나다라마바사아자차카타파하강남동른믈빛숲읽"


# ---- inputs: grayscale images, 0 = ink, 1 = paper -----------------------------------------------


def mnist(n: int, scale: int, rng) -> list[np.ndarray]:
    from igae_robot.training.data import load_dataset

    digits = load_dataset("mnist", str(SHARED / "mnist"), "test").images[5000 : 5000 + n, 0].numpy()
    out = []
    for a in digits:
        im = Image.fromarray(np.round(a * 255).astype(np.uint8))
        if scale > 1:
            im = im.resize((28 * scale, 28 * scale), Image.BICUBIC)
        out.append(1.0 - np.asarray(im, dtype=np.float32) / 255)
    return out


def omniglot(n: int, side: int, rng) -> list[np.ndarray]:
    path = SHARED / "omniglot" / "images_background_small2.zip"
    with zipfile.ZipFile(path) as z:
        names = sorted(x for x in z.namelist() if x.endswith(".png")
                       and x.split("/")[1] in ("Japanese_(katakana)", "Sanskrit", "Tagalog"))
        pick = sorted(rng.choice(len(names), n, replace=False))
        out = []
        for k in pick:
            im = Image.open(io.BytesIO(z.read(names[k]))).convert("L")
            if side != im.width:
                im = im.resize((side, side), Image.BOX)
            out.append(np.asarray(im, dtype=np.float32) / 255)
    return out


def _glyph(font_path: str, char: str, side: int, rng, noisy: bool) -> np.ndarray:
    big = side * 4
    font = ImageFont.truetype(font_path, int(big * 0.7))
    im = Image.new("L", (big, big), 255)
    d = ImageDraw.Draw(im)
    box = d.textbbox((0, 0), char, font=font)
    # Handwriting faces thickened by a 1%-of-the-glyph outline: hairline faces (outlined capitals, script
    # hairlines) would otherwise come out of the scan as dust, and every method would be judged against dust.
    weight = max(1, big // 100) if noisy else 0
    d.text(((big - box[2] - box[0]) / 2, (big - box[3] - box[1]) / 2), char, font=font, fill=0, stroke_width=weight, stroke_fill=0)
    if noisy:
        im = im.rotate(float(rng.uniform(-6, 6)), resample=Image.BILINEAR, fillcolor=255)
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    a = np.asarray(im.resize((side, side), Image.BOX), dtype=np.float32) / 255
    if noisy:  # grain, uneven paper, ink that is not black
        a = 0.15 + 0.8 * a + rng.normal(0, 0.05, a.shape) + np.linspace(0, rng.uniform(-0.1, 0.1), side)[None]
    return np.clip(a, 0, 1).astype(np.float32)


def fonts(n: int, side: int, rng, faces=PRINTED, noisy=False) -> list[np.ndarray]:
    root = Path("/usr/share/fonts/truetype")
    paths = [str((root / f).resolve()) for f in faces if (root / f).exists()]
    if not paths:
        raise SystemExit("no fonts: run `make bench-deps` (Debian font packages)")
    out = []
    for k in range(n):
        path = paths[k % len(paths)]
        chars = DEVANAGARI if "Devanagari" in path else HANGUL if "UnDotum" in path else CHARS
        out.append(_glyph(path, chars[int(rng.integers(len(chars)))], side, rng, noisy))
    return out


SETS = {
    "mnist-28": lambda n, rng: mnist(n, 1, rng),
    "mnist-112": lambda n, rng: mnist(n, 4, rng),
    "omniglot-105": lambda n, rng: omniglot(n, 105, rng),
    "omniglot-28": lambda n, rng: omniglot(n, 28, rng),
    "fonts-112": lambda n, rng: fonts(n, 112, rng),
    "fonts-28": lambda n, rng: fonts(n, 28, rng),
    "hands-112": lambda n, rng: fonts(n, 112, rng, HANDS, noisy=True),
    "hands-28": lambda n, rng: fonts(n, 28, rng, HANDS, noisy=True),
}


# ---- methods: a folder of PNG in, one SVG per image out ---------------------------------------------


def run_igae(folder: Path, out: Path, model: str | None = None) -> None:
    """``igae vectorize`` as the library runs it: the pen engine, or the trained model ``model`` (a checkpoint)."""
    from igae_robot.exporters import export_files
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.vectorize import VectorizeOptions, discover_images, vectorize
    from igae_robot.vectorize.engines import PenEngine

    writers = {".svg": functools.partial(export_files, fmt="svg", machine=None)}
    engine = PenEngine() if model is None else load_checkpoint(model)
    # 25.4 dpi: one source pixel is one millimetre, so the SVG reads back in source pixels.
    summary = vectorize(discover_images([folder]), out, engine, writers, VectorizeOptions(dpi=25.4, workers=0))
    failed = [r for r in summary.records if r["status"] != "ok"]
    if failed:
        print(f"  igae: {len(failed)} images failed, e.g. {failed[0].get('reason')}", file=sys.stderr)


def run_skeleton(folder: Path, out: Path, inks: list[np.ndarray]) -> None:
    out.mkdir()
    for k, ink in enumerate(inks):
        h, w = ink.shape
        write_polylines_svg(skeleton_polylines(ink > 0.5), w, h, out / f"{k:04d}.svg")


def run_potrace(folder: Path, out: Path, inks: list[np.ndarray]) -> None:
    out.mkdir()
    for k, ink in enumerate(inks):
        bmp = out / f"{k:04d}.bmp"
        Image.fromarray(np.where(ink > 0.5, 0, 255).astype(np.uint8)).convert("1").save(bmp)
        subprocess.run(["potrace", "-b", "svg", "-o", str(out / f"{k:04d}.svg"), str(bmp)], check=True)
        bmp.unlink()


# ---- scoring: read back by vpype, drawn by Pillow -----------------------------------------------------


def read_back(path: Path, px_per_unit: float) -> list[np.ndarray]:
    """The SVG's polylines, read by vpype, in source pixels (vpype's unit is the CSS pixel)."""
    import vpype

    lines, _, _ = vpype.read_svg(str(path), quantization=0.05 * px_per_unit, crop=False)
    return [np.column_stack([line.real, line.imag]) / px_per_unit for line in lines]


def travel(lines: list[np.ndarray]) -> tuple[float, float]:
    """(pen-down length, pen-up travel between consecutive polylines), in the polylines' unit."""
    down = sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for p in lines if len(p) > 1)
    up = sum(float(np.linalg.norm(b[0] - a[-1])) for a, b in zip(lines[:-1], lines[1:]))
    return down, up


def renderer_agreement(lines: list[np.ndarray], shape: tuple[int, int], pen: float, supersample: int = 4) -> tuple[float, float]:
    """(IoU at 0.5, soft IoU) of Pillow's drawing and our pen renderer's drawing of the same polylines, both
    as pixel areas: ours at ``supersample`` times the resolution averaged back, as Pillow's is (and as the
    fit sees a small source: a 28-px glyph is fitted on a 112-px crop).  Soft IoU = sum(min) / sum(max) of
    the two coverages: with a pen one or two pixels wide most inked pixels are edge pixels near 0.5, and
    the thresholded IoU of Pillow against itself (4x vs 8x supersampling) is 0.56-0.97 there."""
    import torch

    from igae_robot.images.pen_draw import pen_coverage
    from igae_robot.model.render_pen import render_pen

    if not lines:
        return 1.0, 1.0
    s = supersample
    side = max(shape) * s
    # The file's own points, a pen-up step after each polyline.
    points = np.concatenate([np.concatenate([p, p[-1:]]) for p in lines]) * s
    pen_down = np.concatenate([np.r_[np.ones(len(p)), 0.0] for p in lines])
    xy = torch.tensor(points[None] / side, dtype=torch.float64)
    down = torch.tensor(pen_down[None], dtype=torch.float64)
    fine = render_pen(xy, down, torch.full_like(down, pen * s / side), (side, side))[0, 0].numpy()
    h, w = shape
    ours = fine[: h * s, : w * s].reshape(h, s, w, s).mean(axis=(1, 3))
    pillow = pen_coverage(lines, shape, pen)
    a, b = ours > 0.5, pillow > 0.5
    union = (a | b).sum()
    soft = float(np.minimum(ours, pillow).sum() / max(1e-9, np.maximum(ours, pillow).sum()))
    return (float((a & b).sum() / union) if union else 1.0), soft


def score(method: str, svgs: list[Path], inks: list[np.ndarray], pens: list[float], px_per_unit: float) -> dict:
    from igae_robot.images.pen_draw import pen_iou

    rows = []
    for path, ink, pen in zip(svgs, inks, pens):
        lines = read_back(path, px_per_unit) if path.exists() else []
        down, up = travel(lines)
        row = {"iou": pen_iou(lines, ink, pen), "lifts": len(lines), "down_px": down, "up_px": up}
        if method == "igae":
            row["agree"], row["agree_soft"] = renderer_agreement(lines, ink.shape, pen)
        rows.append(row)
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def one_set(name: str, n: int, seed: int, root: Path, models: dict[str, str]) -> list[dict]:
    from igae_robot.images.trace import median_stroke_width

    rng = np.random.default_rng(seed)
    grays = SETS[name](n, rng)
    inks = [1.0 - g for g in grays]
    pens = [median_stroke_width(ink > 0.5) for ink in inks]
    folder = root / name / "png"
    folder.mkdir(parents=True)
    for k, g in enumerate(grays):
        Image.fromarray(np.round(g * 255).astype(np.uint8)).save(folder / f"{k:04d}.png")
    results = []
    methods = {
        "igae (pen engine)": (lambda out: run_igae(folder, out), 96 / 25.4),  # the SVG is in mm = source px
        **{f"model {label}": (functools.partial(lambda out, path: run_igae(folder, out, path), path=path), 96 / 25.4)
           for label, path in models.items()},
        "skeleton": (lambda out: run_skeleton(folder, out, inks), 1.0),
        "potrace": (lambda out: run_potrace(folder, out, inks), 96 / 72),  # potrace sizes its SVG in points
    }
    for method, (run, px_per_unit) in methods.items():
        out = root / name / method.replace(" ", "_").replace("(", "").replace(")", "")
        tic = time.perf_counter()
        run(out)
        seconds = (time.perf_counter() - tic) / n
        svgs = [out / f"{k:04d}.svg" for k in range(n)]
        s = score("igae" if method.startswith("igae") else method, svgs, inks, pens, px_per_unit)
        results.append({"set": name, "method": method, "images": n, "pen_px": statistics.median(pens), "s_per_image": seconds, **s})
    return results


def print_table(rows: list[dict]) -> None:
    print("| set | method | pen-drawn IoU | pen lifts | pen-down px | pen-up px | s/image | file vs our pen render (IoU / soft) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        agree = f"{r['agree']:.3f} / {r['agree_soft']:.3f}" if "agree" in r else ""
        print(f"| {r['set']} (pen {r['pen_px']:.1f} px) | {r['method']} | {r['iou']:.3f} | {r['lifts']:.2f} | {r['down_px']:.0f} "
              f"| {r['up_px']:.0f} | {r['s_per_image']:.3f} | {agree} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-set", type=int, default=80, help="images per set")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", default=None, help="save every number here")
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=CHECKPOINT",
                        help="also vectorize with a trained model (repeatable), e.g. pen=runs/pen/checkpoint.pt")
    args = parser.parse_args()
    import torch

    print(f"# pen-drawn fidelity, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}\n", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pen-fidelity-") as tmp:
        for name in args.sets.split(","):
            models = dict(m.split("=", 1) for m in args.model)
            set_rows = one_set(name.strip(), args.per_set, args.seed, Path(tmp), models)
            print_table(set_rows)
            print()
            rows += set_rows
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
