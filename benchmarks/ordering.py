"""Stroke ordering: igae's ``ordering.order`` (``paper/ordering.py``) vs vpype ``linesort``, time and pen-up travel on the same strokes.

    python benchmarks/ordering.py --synthetic                       # 1 000, 4 000, 12 000 glyph-like gestures
    python benchmarks/ordering.py --synthetic --counts 500 2000 --runs 5
    python benchmarks/ordering.py --checkpoint runs/bench/igae/checkpoint.pt --data-dir ../shared/data/mnist --counts 100
    python benchmarks/ordering.py --quick-train 2 --data-dir ../shared/data/mnist --counts 100  # no checkpoint yet

For each count, the gestures are laid out on one page exactly as ``igae export`` does
(simplified and merged, not yet ordered): by default a square page of 10 mm cells sized to hold
them (``--page A4`` etc. to choose one).  The same strokes are then ordered by igae
``ordering.order``, vpype ``linesort`` (greedy, vpype's KD-tree ``LineIndex``) and, up to
``--two-opt-max`` glyphs (it is quadratic), vpype ``linesort --two-opt``.  The table gives
pen-up travel (between consecutive strokes, vpype's ``pen_up_length``), the ratio to linesort's,
and the median wall-clock seconds (and CPU seconds: the machine may be shared) of ``--runs`` runs.

``--synthetic`` gestures are smooth random walks with 0-2 pen lifts each (1-3 strokes, as
MNIST digits drawn by the model); ``--checkpoint`` / ``--quick-train`` encode MNIST test glyphs.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import vpype as vp
import vpype_cli

from igae_robot.paper import geometry, ordering
from igae_robot.gesture import Gesture
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import SheetOptions, plan_sheet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures_machine import random_glyph_gestures  # noqa: E402  (the benchmark already needs the test extras)

CELL_MM = 10.0  # glyph cell side on the default page, spacing included
SPACING_MM = 2.0


def synthetic_gestures(count: int, seed: int = 0, steps: int = 25) -> list[Gesture]:
    """Glyph-like gestures: the tests' generator (a smooth random walk with 0-2 pen lifts), one definition for both."""
    return random_glyph_gestures(count, seed, steps)


def mnist_gestures(args: argparse.Namespace, count: int) -> list[Gesture]:
    """``count`` MNIST test glyphs encoded by a checkpoint (or a model trained here for a few epochs)."""
    import torch

    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.config import apply_overrides, load_preset
    from igae_robot.training.data import load_dataset
    from igae_robot.training.train import train

    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint)
    else:
        cfg = apply_overrides(load_preset("igae"), {"train.epochs": args.quick_train, "data.name": "mnist", "data.dir": args.data_dir, "data.limit": 10000})
        ckpt = train(cfg, Path("runs/ordering-quick"))
    test = load_dataset("mnist", args.data_dir, "test")
    with torch.no_grad():
        gt = ckpt.model.encode(test.images[:count])
    return gt.to_gestures(ckpt.model.variance(gt), ckpt.config.train.dt_s, test.labels[:count])


def page_for(count: int, spec: str | None) -> Page:
    """``spec``, or a square page of CELL_MM cells that holds ``count`` glyphs (10 mm margins)."""
    if spec:
        return Page.from_spec(spec)
    side = math.ceil(math.sqrt(count)) * CELL_MM + 2 * 10.0 + SPACING_MM
    return Page.from_spec(f"{side:g}x{side:g}mm")


def timed(fn: Callable[[], object], runs: int) -> tuple[object, float, float]:
    """(last result, median wall seconds, median CPU seconds) of ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, statistics.median(walls), statistics.median(cpus)


def vpype_document(polylines: list[geometry.Polyline]) -> vp.Document:
    """One layer of the strokes (mm), as vpype sees them."""
    # vpype drops one-point lines; a dot is written to SVG as a zero-length segment, so give it two points.
    lc = vp.LineCollection([np.repeat(p.points, 2 if len(p) == 1 else 1, axis=0) @ np.array([1, 1j]) for p in polylines])
    doc = vp.Document()
    doc.add(lc, 1)
    return doc


def vpype_row(polylines: list[geometry.Polyline], pipeline: str, runs: int) -> tuple[float, float, float]:
    """(pen-up travel, median wall s, median CPU s) of a vpype pipeline on the strokes."""
    doc, wall, cpu = timed(lambda: vpype_cli.execute(pipeline, document=vpype_document(polylines)), runs)
    return doc.layers[1].pen_up_length()[0], wall, cpu


def measure(gestures: list[Gesture], page: Page, args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    """Rows (ordering, pen-up mm, wall s, CPU s) for one page of gestures."""
    strokes = list(plan_sheet(gestures, page, SheetOptions(order=False, spacing_mm=SPACING_MM)).polylines)
    ours, wall, cpu = timed(lambda: ordering.order(strokes), args.runs)
    assert math.isclose(geometry.length(ours), geometry.length(strokes)), "ordering lost or changed a stroke"
    rows = [
        ("as laid out (--no-order)", geometry.travel_length(strokes), 0.0, 0.0),
        ("igae order", geometry.travel_length(ours), wall, cpu),
        ("vpype linesort", *vpype_row(strokes, "linesort", args.runs)),
    ]
    if len(gestures) <= args.two_opt_max:
        rows.append(("vpype linesort --two-opt", *vpype_row(strokes, "linesort --two-opt", 1)))
    print(f"{len(gestures)} glyphs, {len(strokes)} strokes on {page.describe()}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", action="store_true", help="glyph-like random gestures (no model needed)")
    source.add_argument("--checkpoint", type=Path, help="a trained checkpoint.pt: encode MNIST test glyphs")
    source.add_argument("--quick-train", type=int, default=0, metavar="EPOCHS", help="no checkpoint: train the igae preset this many epochs on 10k images")
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 4000, 12000], help="glyphs per page")
    parser.add_argument("--page", help="page size (default: a square page of 10 mm cells that holds them)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per ordering (median)")
    parser.add_argument("--two-opt-max", type=int, default=4000, help="vpype linesort --two-opt only up to this many glyphs (quadratic)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    table = []
    for count in args.counts:
        gestures = synthetic_gestures(count, args.seed) if args.synthetic else mnist_gestures(args, count)
        table.append((count, measure(gestures, page_for(count, args.page), args)))

    print(f"\n{'glyphs':>7}  {'ordering':<26} {'pen-up mm':>10} {'/ linesort':>10} {'wall s':>7} {'CPU s':>7}")
    worse = []
    for count, rows in table:
        linesort = rows[2][1]
        for name, up, wall, cpu in rows:
            seconds = f"{wall:>7.2f} {cpu:>7.2f}" if wall else f"{'-':>7} {'-':>7}"
            print(f"{count:>7}  {name:<26} {up:>10.0f} {up / linesort:>10.3f} {seconds}")
        if rows[1][1] > linesort + 1e-6:
            worse.append(count)
    print(f"\nigae order travel <= vpype linesort: {'yes, every count' if not worse else f'NO at {worse}'}")


if __name__ == "__main__":
    np.set_printoptions(suppress=True)
    main()
