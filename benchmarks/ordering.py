"""Pen-up travel of igae's stroke ordering vs vpype ``linesort`` on real MNIST glyphs.

    python benchmarks/ordering.py --checkpoint runs/bench/igae/checkpoint.pt --data-dir ../shared/data/mnist
    python benchmarks/ordering.py --quick-train 2 --data-dir ../shared/data/mnist   # no checkpoint yet

Encodes ``--count`` test glyphs (default 100), lays them out on one page exactly as ``igae export``
does (simplified and merged, not yet ordered), then orders the same strokes four ways and prints
pen-down length and pen-up travel (between consecutive strokes, vpype's ``pen_up_length``):
as encoded, igae ``geometry.order``, vpype ``linesort``, and vpype ``linesort --two-opt``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import vpype as vp
import vpype_cli

from igae_robot import geometry
from igae_robot.checkpoint import load_checkpoint
from igae_robot.config import apply_overrides, load_preset
from igae_robot.data import load_dataset
from igae_robot.page import Page
from igae_robot.sheet import SheetOptions, plan_sheet
from igae_robot.train import train


def vpype_travel(polylines: list[geometry.Polyline], pipeline: str) -> tuple[float, float, float]:
    """(pen-down length, pen-up travel, seconds) after running a vpype pipeline on one layer of strokes (mm)."""
    # vpype drops one-point lines; a dot is written to SVG as a zero-length segment, so give it two points.
    lc = vp.LineCollection([np.repeat(p.points, 2 if len(p) == 1 else 1, axis=0) @ np.array([1, 1j]) for p in polylines])
    doc = vp.Document()
    doc.add(lc, 1)
    tic = time.perf_counter()
    doc = vpype_cli.execute(pipeline, document=doc)
    seconds = time.perf_counter() - tic
    layer = doc.layers[1]
    return layer.length(), layer.pen_up_length()[0], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="a trained checkpoint.pt")
    parser.add_argument("--quick-train", type=int, default=0, metavar="EPOCHS", help="no checkpoint: train the igae preset this many epochs on 10k images")
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--count", type=int, default=100, help="glyphs on the page")
    parser.add_argument("--page", default="A4")
    args = parser.parse_args()

    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint)
    elif args.quick_train:
        cfg = apply_overrides(load_preset("igae"), {"train.epochs": args.quick_train, "data.name": "mnist", "data.dir": args.data_dir, "data.limit": 10000})
        ckpt = train(cfg, Path("runs/ordering-quick"))
    else:
        parser.error("give --checkpoint or --quick-train EPOCHS")
    test = load_dataset("mnist", args.data_dir, "test")
    with torch.no_grad():
        gt = ckpt.model.encode(test.images[: args.count])
    gestures = gt.to_gestures(ckpt.model.variance(gt), ckpt.config.train.dt_s, test.labels[: args.count])
    sheet = plan_sheet(gestures, Page.from_spec(args.page), SheetOptions(order=False))
    strokes = list(sheet.polylines)

    tic = time.perf_counter()
    ours = geometry.order(strokes)
    ours_s = time.perf_counter() - tic
    rows = [
        ("as encoded", geometry.length(strokes), geometry.travel_length(strokes), 0.0),
        ("igae order (greedy + 2-opt)", geometry.length(ours), geometry.travel_length(ours), ours_s),
        ("vpype linesort", *vpype_travel(strokes, "linesort")),
        ("vpype linesort --two-opt", *vpype_travel(strokes, "linesort --two-opt")),
    ]
    print(f"{args.count} MNIST test glyphs, {len(strokes)} strokes on {sheet.page.describe()}")
    print(f"{'ordering':<30} {'pen-down mm':>12} {'pen-up mm':>10} {'seconds':>8}")
    for name, down, up, seconds in rows:
        print(f"{name:<30} {down:>12.1f} {up:>10.1f} {seconds:>8.2f}")
    ratio = rows[1][2] / rows[2][2] if rows[2][2] else float("nan")
    print(f"igae / linesort pen-up travel: {ratio:.3f} ({'ok' if rows[1][2] <= rows[2][2] + 1e-9 else 'WORSE'})")


if __name__ == "__main__":
    np.set_printoptions(suppress=True)
    main()
