"""Batch vectorization of MNIST: igae against potrace and a skeleton tracer, all timed in one run.

    .venv/bin/python benchmarks/vectorize_mnist.py --data-dir ../shared/data/mnist --model runs/bench/igae/checkpoint.pt

Needs ``potrace`` (``apt-get install potrace``) and the ``bench`` extra (scikit-image).  The test digits
are written into a temporary folder (never the repo): PNG for igae and the skeleton tracer, BMP for
potrace, which reads no PNG.  Every method gets the same number of worker processes and writes one
SVG per image:

* igae        -- :func:`igae_robot.vectorize.vectorize`, the library call behind ``igae vectorize``
                 (manifest and fidelity included); ``--refine N`` on the first ``--refine-limit`` digits;
* potrace     -- ``potrace -i -b svg`` (outline tracing), many files per process;
* skeleton    -- scikit-image ``skeletonize`` + a graph walk to centreline polylines (benchmarks/tracers.py).

Every written file is read back and scored alike: its polylines drawn by a round pen as wide as the
digits' median stroke, IoU against the digit binarised at 0.5 (what a plotter would put on paper);
pen lifts = strokes; pen-down length in source pixels.  Prints a markdown table, saves the fidelity
vs pen-lifts plot (``--plot``) and, with ``--json``, the numbers.  Then an out-of-distribution set
(letters and shapes drawn with Pillow) is vectorized with and without ``--refine``.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracers import pen_iou, polyline_stats, read_potrace_svg, skeleton_polylines, write_polylines_svg  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# ---- inputs -------------------------------------------------------------------------------------


def write_digits(data_dir: str, limit: int, root: Path) -> np.ndarray:
    from igae_robot.training.data import load_dataset

    digits = load_dataset("mnist", data_dir, "test").images[:limit, 0].numpy()
    pixels = np.round(digits * 255).astype(np.uint8)
    for folder in ("png", "potrace"):
        (root / folder).mkdir(parents=True)
    for i, a in enumerate(pixels):
        im = Image.fromarray(a)
        im.save(root / "png" / f"{i:05d}.png")
        im.save(root / "potrace" / f"{i:05d}.bmp")
    return pixels.astype(np.float32) / 255


def ood_images(root: Path) -> list[np.ndarray]:
    """Letters (Pillow's default font) and hand-made shapes, white on black, 64 x 64: not digits."""
    root.mkdir(parents=True)
    images = []
    font = ImageFont.load_default(size=44)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghkmnpqrstwxyz"
    for ch in letters:
        im = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(im).text((32, 32), ch, fill=255, font=font, anchor="mm")
        images.append(im)
    rng = np.random.default_rng(0)
    for k in range(40):
        im = Image.new("L", (64, 64), 0)
        d = ImageDraw.Draw(im)
        kind, w = k % 5, int(rng.integers(3, 6))
        if kind == 0:
            d.ellipse([10, 14, 54, 50], outline=255, width=w)
        elif kind == 1:
            d.polygon([(12, 52), (32, 10), (52, 52)], outline=255, width=w)
        elif kind == 2:
            d.rectangle([14, 14, 50, 50], outline=255, width=w)
        elif kind == 3:
            t = np.linspace(0, 4 * np.pi, 60)
            d.line([(32 + r * np.cos(a), 32 + r * np.sin(a)) for a, r in zip(t, 2 + 2.1 * t)], fill=255, width=w)
        else:
            xs = np.linspace(10, 54, 6)
            d.line([(x, 16 if i % 2 else 48) for i, x in enumerate(xs)], fill=255, width=w)
        images.append(im.rotate(float(rng.uniform(-30, 30)), resample=Image.BILINEAR))
    for i, im in enumerate(images):
        im.save(root / f"{i:03d}.png")
    return [np.asarray(im, dtype=np.float32) / 255 for im in images]


# ---- the methods --------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (workers, potrace runs)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn, *args, **kwargs):
    """(wall seconds, CPU seconds, result) of fn(*args, **kwargs)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn(*args, **kwargs)
    return time.perf_counter() - wall, cpu_seconds() - cpu, result


def run_igae(model: str, png: Path, out: Path, workers: int, refine: int = 0, limit: int | None = None, batch: int = 256):
    """Manifest records of igae on the PNGs (the first ``limit`` of them), checkpoint loading included."""
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.exporters import export_files
    from igae_robot.vectorize import VectorizeOptions, discover_images, vectorize

    sources = discover_images([png])[:limit]
    ckpt = load_checkpoint(model)
    writers = {".svg": functools.partial(export_files, fmt="svg", machine=None)}
    options = VectorizeOptions(dpi=25.4, workers=workers, refine_steps=refine, batch_size=batch)  # 1 px = 1 mm
    return vectorize(sources, out, ckpt, writers, options).records


def run_potrace(folder: Path, workers: int, per_call: int = 500) -> None:
    files = sorted(p.name for p in folder.glob("*.bmp"))
    parts = [files[i::workers] for i in range(workers)]

    def one_worker(names: list[str]) -> None:
        for i in range(0, len(names), per_call):
            subprocess.run(["potrace", "-i", "-b", "svg", "--", *names[i : i + per_call]], cwd=folder, check=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one_worker, parts))


def _skeleton_files(args: tuple[list[str], str]) -> None:
    names, out = args
    for name in names:
        binary = np.asarray(Image.open(name).convert("L")) > 127
        h, w = binary.shape
        write_polylines_svg(skeleton_polylines(binary), w, h, Path(out) / (Path(name).stem + ".svg"))


def run_skeleton(png: Path, out: Path, workers: int) -> None:
    out.mkdir(parents=True)
    files = sorted(str(p) for p in png.glob("*.png"))
    chunks = [(files[i : i + 200], str(out)) for i in range(0, len(files), 200)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        list(pool.imap_unordered(_skeleton_files, chunks))


# ---- reading back and scoring -------------------------------------------------------------------


def igae_polylines(path: Path) -> list[np.ndarray]:
    from igae_robot.exporters import read_file

    return [p.points for p in read_file(path).polylines]  # mm = source px at 25.4 dpi


def skeleton_svg_polylines(path: Path) -> list[np.ndarray]:
    return [np.array([float(v) for v in re.findall(r"-?\d+\.?\d*", d)]).reshape(-1, 2)
            for d in re.findall(r' d="([^"]*)"', path.read_text())]


def score(read, paths: list[Path], images: list[np.ndarray], pen_px: float) -> dict:
    ious, lifts, lengths, drawings = [], [], [], []
    for path, image in zip(paths, images):
        polylines = read(path)
        n, length = polyline_stats(polylines)
        ious.append(pen_iou(polylines, image > 0.5, pen_px))
        lifts.append(n)
        lengths.append(length)
        drawings.append(polylines)
    return {"iou": ious, "lifts": lifts, "length": lengths, "drawings": drawings}


def pen_sweep(scores: dict[str, dict], images: list[np.ndarray], pen_px: float, count: int) -> dict[str, list[float]]:
    """Mean pen-drawn IoU of the first ``count`` images for pens 0.75, 1 and 1.25 times ``pen_px``."""
    factors = (0.75, 1.0, 1.25)
    return {
        name: [float(np.mean([pen_iou(d, im > 0.5, f * pen_px) for d, im in zip(s["drawings"][:count], images[:count])]))
               for f in factors]
        for name, s in scores.items()
    }


def summary_row(name: str, seconds: float, cpu: float, count: int, s: dict, note: str = "") -> dict:
    return {
        "method": name,
        "images": count,
        "images_per_s": count / seconds,
        "cpu_ms_per_image": 1000 * cpu / count,
        "pen_iou": float(np.mean(s["iou"])),
        "lifts": float(np.mean(s["lifts"])),
        "pen_down_px": float(np.mean(s["length"])),
        "note": note,
    }


def plot(rows: list[dict], scores: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    rng = np.random.default_rng(0)
    for (name, s), colour in zip(scores.items(), ("tab:blue", "tab:green", "tab:orange", "tab:red")):
        lifts = np.asarray(s["lifts"], dtype=float)
        ax.scatter(lifts + rng.uniform(-0.3, 0.3, len(lifts)), s["iou"], s=2, alpha=0.08, color=colour)
        row = next(r for r in rows if r["method"] == name)
        ax.scatter([row["lifts"]], [row["pen_iou"]], s=120, color=colour, edgecolor="black", label=f"{name} (mean)", zorder=3)
    ax.set_xlabel("pen lifts per image (strokes)")
    ax.set_ylabel("pen-drawn IoU vs input")
    ax.set_xlim(0, 10)
    ax.set_title("MNIST test digits: fidelity vs pen lifts (one dot per image)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# ---- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--model", required=True, help="checkpoint.pt of a model trained on MNIST")
    ap.add_argument("--limit", type=int, default=10_000, help="test digits to use")
    ap.add_argument("--workers", type=int, default=2, help="processes per method")
    ap.add_argument("--refine", type=int, default=100, help="refinement steps for the igae --refine rows")
    ap.add_argument("--refine-limit", type=int, default=1000, help="digits for igae --refine (it is ~100x slower)")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "vectorize-fidelity-vs-lifts.png")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if shutil.which("potrace") is None:
        sys.exit("potrace not found: apt-get install -y --no-install-recommends potrace")

    import torch

    from igae_robot.images.glyphs import stroke_width

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    root = Path(tempfile.mkdtemp(prefix="igae-vectorize-bench-"))
    try:
        digits = write_digits(args.data_dir, args.limit, root)
        n = len(digits)
        pen_px = float(np.median([stroke_width(d) for d in digits]))
        print(f"{n} MNIST test digits in {root}; pen width = median stroke width = {pen_px:.2f} px; "
              f"{args.workers} workers per method; {os.cpu_count()} CPU cores", flush=True)

        m = args.refine_limit
        t_potrace, c_potrace, _ = timed(run_potrace, root / "potrace", args.workers)
        t_skeleton, c_skeleton, _ = timed(run_skeleton, root / "png", root / "skeleton", args.workers)
        t_igae, c_igae, records = timed(run_igae, args.model, root / "png", root / "igae", args.workers)
        t_refine, c_refine, _ = timed(run_igae, args.model, root / "png", root / "igae-refine", args.workers, args.refine, m)
        print(f"timed (wall / CPU): potrace {t_potrace:.1f} / {c_potrace:.1f} s, skeleton {t_skeleton:.1f} / {c_skeleton:.1f} s, "
              f"igae {t_igae:.1f} / {c_igae:.1f} s, igae --refine {args.refine} {t_refine:.1f} / {c_refine:.1f} s ({m} digits)",
              flush=True)

        names = [f"{i:05d}" for i in range(n)]
        images = list(digits)
        scores = {
            "igae": score(igae_polylines, [root / "igae" / f"{s}.svg" for s in names], images, pen_px),
            f"igae --refine {args.refine}": score(igae_polylines, [root / "igae-refine" / f"{s}.svg" for s in names[:m]], images[:m], pen_px),
            "potrace": score(lambda p: read_potrace_svg(p, 28), [root / "potrace" / f"{s}.svg" for s in names], images, pen_px),
            "skeleton": score(skeleton_svg_polylines, [root / "skeleton" / f"{s}.svg" for s in names], images, pen_px),
        }
        subset = {k: {f: v[f][:m] for f in v} for k, v in scores.items()}  # the refine row's digits, every method
        rows = [
            summary_row("igae", t_igae, c_igae, n, scores["igae"], "encoder only"),
            summary_row(f"igae --refine {args.refine}", t_refine, c_refine, m, scores[f"igae --refine {args.refine}"],
                        f"first {m} digits"),
            summary_row("potrace", t_potrace, c_potrace, n, scores["potrace"], "outlines"),
            summary_row("skeleton", t_skeleton, c_skeleton, n, scores["skeleton"], "centrelines"),
        ]
        ok = [r for r in records if r["status"] == "ok"]
        marker_iou = float(np.mean([r["iou"] for r in ok]))
        print()
        print("| method | images/s | CPU ms / image | pen-drawn IoU | pen lifts | pen-down length (px) | note |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for r in rows:
            print(f"| {r['method']} | {r['images_per_s']:.0f} | {r['cpu_ms_per_image']:.2f} | {r['pen_iou']:.3f} | "
                  f"{r['lifts']:.2f} | {r['pen_down_px']:.1f} | {r['note']} |")
        print()
        print(f"on the first {m} digits only: " + ", ".join(f"{k} IoU {np.mean(v['iou']):.3f}" for k, v in subset.items()))
        print(f"igae manifest fidelity (markers re-rendered vs input): mean IoU {marker_iou:.3f}, "
              f"errors {len(records) - len(ok)}")
        plot(rows, scores, args.plot)
        print(f"plot: {args.plot}")
        sweep = pen_sweep(subset, images, pen_px, min(m, 1000))
        print()
        print(f"pen-drawn IoU by pen width (first {min(m, 1000)} digits):")
        print(f"| method | {0.75 * pen_px:.2f} px | {pen_px:.2f} px | {1.25 * pen_px:.2f} px |")
        print("|---|---:|---:|---:|")
        for name, values in sweep.items():
            print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")

        ood = ood_results(args, root)
        if args.json:
            result = {"pen_px": pen_px, "rows": rows, "ood": ood, "marker_iou": marker_iou, "pen_sweep": sweep}
            args.json.write_text(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ood_results(args, root: Path) -> dict:
    """igae with and without --refine on letters and shapes the MNIST model never saw."""
    from igae_robot.images.glyphs import ink_image, stroke_width

    images = ood_images(root / "ood")
    pen_px = float(np.median([stroke_width(ink_image(im)) for im in images]))
    out = {}
    for steps in (0, args.refine):
        seconds, _, records = timed(run_igae, args.model, root / "ood", root / f"ood-{steps}", args.workers, steps)
        paths = [root / f"ood-{steps}" / f"{i:03d}.svg" for i in range(len(images))]
        s = score(igae_polylines, paths, [ink_image(im) for im in images], pen_px)
        out[steps] = {
            "images": len(images),
            "seconds": seconds,
            "marker_iou": float(np.mean([r["iou"] for r in records])),
            "marker_iou_encoder": float(np.mean([r.get("iou_encoder", r["iou"]) for r in records])),
            "pen_iou": float(np.mean(s["iou"])),
            "lifts": float(np.mean(s["lifts"])),
        }
    a, b = out[0], out[args.refine]
    print()
    print(f"out of distribution ({a['images']} letters and shapes, pen {pen_px:.2f} px):")
    print("| igae | marker IoU | pen-drawn IoU | pen lifts | seconds |")
    print("|---|---:|---:|---:|---:|")
    print(f"| encoder only | {a['marker_iou']:.3f} | {a['pen_iou']:.3f} | {a['lifts']:.2f} | {a['seconds']:.1f} |")
    print(f"| --refine {args.refine} | {b['marker_iou']:.3f} | {b['pen_iou']:.3f} | {b['lifts']:.2f} | {b['seconds']:.1f} |")
    return out


if __name__ == "__main__":
    main()
