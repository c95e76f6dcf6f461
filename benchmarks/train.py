"""Training epoch time: the fast renderer against the reference form, fp32 / bf16, eager / compiled.

    python benchmarks/train.py --data-dir ../shared/data/mnist                          # dynamic, 2 epochs, CPU
    python benchmarks/train.py --renderers fast,reference --limit 10000                 # what the renderer buys
    python benchmarks/train.py --device cuda --epochs 50 --precisions fp32,bf16 --compile both   # a GPU session
    torchrun --nproc_per_node 2 benchmarks/train.py --device cpu                         # N processes (DDP)

Each variant trains the preset from the same seed on the same images and prints one table row: the
first epoch (which includes torch.compile's compiling, when on), the median of the other epochs,
training images per second over those, the whole wall time and the final validation metrics.  Under
torchrun ``batch_size`` is per process and rank 0 prints.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import statistics
import time

# Before torch loads OpenMP: on a CPU shared with other busy processes, spinning OpenMP threads wait
# for descheduled ones at every parallel op (see benchmarks/renderer.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import igae_robot.model.render as render  # noqa: E402
from igae_robot.config import apply_overrides, load_preset  # noqa: E402
from igae_robot.training.data import load_dataset  # noqa: E402
from igae_robot.training.distributed import init_from_env  # noqa: E402
from igae_robot.training.device import resolve_device  # noqa: E402
from igae_robot.training.train import train  # noqa: E402


@contextlib.contextmanager
def renderer(name: str):
    """Train with the reference form instead of the fast one (the model calls render.render_markers)."""
    if name == "fast":
        yield
        return
    fast = render.render_markers
    render.render_markers = lambda xy, var, ink, size, check=True: render.render_reference(xy, var, ink, size)
    try:
        yield
    finally:
        render.render_markers = fast


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--preset", default="dynamic")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="train on at most this many images (0 = all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--renderers", default="fast", help="fast, reference or both: fast,reference")
    parser.add_argument("--precisions", default="fp32", help="fp32, bf16 or both: fp32,bf16")
    parser.add_argument("--compile", default="off", choices=["off", "on", "both"])
    parser.add_argument("--set", action="append", default=[], help="extra config override, e.g. train.batch_size=256")
    parser.add_argument("--out", default="runs/bench-train")
    args = parser.parse_args()

    device = resolve_device(args.device)
    ranks = init_from_env(device.type)
    data = load_dataset(args.data, args.data_dir, "train")
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    rows = []
    for name, precision, compiled in itertools.product(args.renderers.split(","), args.precisions.split(","), compiles):
        overrides = [f"data.name={args.data}", f"data.dir={json.dumps(args.data_dir)}", f"data.limit={args.limit}",
                     f"train.device={json.dumps(args.device)}", f"train.epochs={args.epochs}",
                     f"train.precision={json.dumps(precision)}", f"train.compile={str(compiled).lower()}", *args.set]
        config = apply_overrides(load_preset(args.preset), overrides)
        tic = time.perf_counter()
        with renderer(name):
            ckpt = train(config, f"{args.out}/{name}-{precision}-{'compiled' if compiled else 'eager'}", data=data.first(args.limit))
        wall = time.perf_counter() - tic
        seconds = [r["seconds"] for r in ckpt.history]
        steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        used = min(args.limit, len(data)) if args.limit else len(data)
        images = used - int(round(used * config.train.val_fraction))  # the training part after the hold-out
        rows.append((name, precision, "on" if compiled else "off", seconds[0], steady, images / steady, wall, ckpt.history[-1]))
        if ranks.is_main:
            print(f"  {name} {precision} compile={compiled}: epochs {', '.join(f'{s:.1f}' for s in seconds)} s", flush=True)

    if not ranks.is_main:
        return
    batch = f"batch {config.train.batch_size} per process x {ranks.world_size} processes" if ranks.distributed else f"batch {config.train.batch_size}"
    print(f"\n{args.preset} on {args.data} ({images} training images, {batch}), {args.epochs} epochs, "
          f"{_machine(device)}, torch {torch.__version__}\n")
    print("| renderer | precision | compile | first epoch | epoch (median of the rest) | train images/s | wall | val MSE | val pixel acc |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for name, precision, compiled, first, steady, rate, wall, last in rows:
        print(f"| {name} | {precision} | {compiled} | {first:.1f} s | {steady:.1f} s | {rate:,.0f} | {wall:.0f} s "
              f"| {last['val_mse']:.4f} | {100 * last['val_pixel_accuracy']:.2f}% |")


if __name__ == "__main__":
    main()
