"""Training throughput: epoch time and images/s per preset, quiet and beside a busy process, fp32 / bf16,
eager / compiled, fast renderer / reference form.

    python benchmarks/train.py                                                   # igae preset, full MNIST, 2 epochs
    python benchmarks/train.py --busy 0,1                                        # ... quiet, then beside 1 busy process
    python benchmarks/train.py --limit 10000 --precisions fp32,bf16 --compile both   # what bf16 and compile buy
    python benchmarks/train.py --preset pen --limit 10000                        # the pen renderer's training step
    python benchmarks/train.py --renderers fast,reference --limit 10000           # what the fast renderer buys
    python benchmarks/train.py --device cuda --epochs 50 --precisions fp32,bf16 --compile both   # a GPU session
    torchrun --nproc_per_node 2 benchmarks/train.py --device cpu                  # N processes (DDP)

Each variant trains its preset (default ``igae``, the CLI's default) from the same seed on the same images
and prints one table row: the first epoch (which includes torch.compile's compiling, when on), the median
of the other epochs (training and validation), training images/s of the optimizer steps alone (timed
from the first to the last step of each epoch after the first, median), the whole wall time and the final
validation metrics.  ``--busy 0,1`` runs every variant quiet and then beside one busy process that this
script starts (a Python loop spinning on a core, as in benchmarks/busy_cpu.py), as another job on a shared
machine or CI runner would be.  Each row says how many cores other processes used while it ran (the busy
process included), from /proc/stat (benchmarks/cpu_load.py), and BUSY where the rest of the machine used
more than ``--max-others`` cores besides.

The date, the command and the load before and after are printed; a CPU run is refused when the machine is
busy before it starts (``--max-load``, ``--max-others``) unless ``--allow-busy``, and its title then says
BUSY.  Under torchrun ``batch_size`` is per process and rank 0 prints (and alone starts busy processes).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import statistics
import sys
import time

# Before torch loads OpenMP: on a CPU shared with other busy processes, spinning OpenMP threads wait
# for descheduled ones at every parallel op (see benchmarks/renderer.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import igae_robot.model.render as render  # noqa: E402
from busy_cpu import competitors  # noqa: E402  (benchmarks/, this script's folder)
from cpu_load import OthersCpu, quiet_line  # noqa: E402
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


class StepClock:
    """``on_step`` for train(): the time of every optimizer step, by epoch."""

    def __init__(self):
        self.times: dict[int, list[float]] = {}

    def __call__(self, progress) -> None:
        self.times.setdefault(progress.epoch, []).append(time.perf_counter())

    def images_per_second(self, batch: int) -> float:
        """Median over the epochs after the first (all, with one) of batch x steps / the time they took
        (the time from the first step's end to the last's: steps - 1 steps; the last, partial batch counts whole)."""
        rates = [batch * (len(t) - 1) / (t[-1] - t[0]) for e, t in sorted(self.times.items()) if len(t) > 1 and t[-1] > t[0]]
        return statistics.median(rates[1:] or rates) if rates else float("nan")


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', '0')}")


def run_variant(args, data, ranks, preset: str, name: str, precision: str, compiled: bool, busy: int) -> dict:
    """Train one variant; returns its table row's values."""
    overrides = [f"data.name={args.data}", f"data.dir={json.dumps(args.data_dir)}", f"data.limit={args.limit}",
                 f"train.device={json.dumps(args.device)}", f"train.epochs={args.epochs}",
                 f"train.precision={json.dumps(precision)}", f"train.compile={str(compiled).lower()}", *args.set]
    config = apply_overrides(load_preset(preset), overrides)
    clock, watch = StepClock(), OthersCpu()
    tic = time.perf_counter()
    with competitors(busy if ranks.is_main else 0), renderer(name):
        out = f"{args.out}/{preset}-{name}-{precision}-{'compiled' if compiled else 'eager'}-busy{busy}"
        ckpt = train(config, out, data=data.first(args.limit), on_step=clock)
    wall = time.perf_counter() - tic
    others = watch.cores()
    seconds = [r["seconds"] for r in ckpt.history]
    used = min(args.limit, len(data)) if args.limit else len(data)
    images = used - int(round(used * config.train.val_fraction))  # the training part after the hold-out
    if ranks.is_main:
        print(f"  {preset} {name} {precision} compile={compiled} busy={busy}: epochs {', '.join(f'{s:.1f}' for s in seconds)} s",
              flush=True)
    return {"preset": preset, "renderer": name, "precision": precision, "compile": "on" if compiled else "off", "busy": busy,
            "first": seconds[0], "steady": statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0],
            "images": images, "step_rate": clock.images_per_second(config.train.batch_size * ranks.world_size),
            "wall": wall, "last": ckpt.history[-1], "others": others, "batch": config.train.batch_size}


def _print_table(rows: list[dict], max_others: float) -> None:
    """One row per variant; "others' cores" counts the busy processes this script started, and BUSY marks a
    row where the rest of the machine used more than ``max_others`` cores besides them."""
    print("| preset | renderer | precision | compile | busy processes | others' cores | training images | first epoch "
          "| epoch (median of the rest) | images/s (epoch) | images/s (steps) | wall | val MSE | val pixel acc |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        others = f"{r['others'][0]:.2f}" + (" BUSY" if r["others"][0] - r["busy"] > max_others else "") if r["others"] else "?"
        print(f"| {r['preset']} | {r['renderer']} | {r['precision']} | {r['compile']} | {r['busy']} | {others} | {r['images']:,} "
              f"| {r['first']:.1f} s | {r['steady']:.1f} s | {r['images'] / r['steady']:,.0f} | {r['step_rate']:,.0f} "
              f"| {r['wall']:.0f} s | {r['last']['val_mse']:.4f} | {100 * r['last']['val_pixel_accuracy']:.2f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--preset", default="igae", help="preset(s), comma-separated: igae (the CLI's default), pen, dynamic...")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="train on at most this many images (0 = all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--renderers", default="fast", help="fast, reference or both: fast,reference")
    parser.add_argument("--precisions", default="fp32", help="fp32, bf16 or both: fp32,bf16")
    parser.add_argument("--compile", default="off", choices=["off", "on", "both"])
    parser.add_argument("--busy", default="0", help="competing busy processes per variant, comma-separated: 0,1 runs each "
                        "variant quiet and then beside one busy process")
    parser.add_argument("--set", action="append", default=[], help="extra config override, e.g. train.batch_size=256")
    parser.add_argument("--out", default="runs/bench-train")
    parser.add_argument("--max-load", type=float, default=0.75 * (os.cpu_count() or 1),
                        help="refuse a CPU run when the 1-minute load average is above this (default 0.75 per core)")
    parser.add_argument("--max-others", type=float, default=0.25, help="refuse a CPU run when other processes use more cores")
    parser.add_argument("--allow-busy", action="store_true", help="run on a busy CPU anyway; the title then says BUSY")
    args = parser.parse_args()

    device = resolve_device(args.device)
    ranks = init_from_env(device.type)
    if ranks.is_main:
        print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}, command: benchmarks/train.py {' '.join(sys.argv[1:])}", flush=True)
    others_limit = float("inf") if ranks.distributed else args.max_others  # the other ranks are other processes
    load = "" if device.type == "cuda" else quiet_line(args.max_load, others_limit, args.allow_busy)
    data = load_dataset(args.data, args.data_dir, "train")
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    variants = itertools.product(args.preset.split(","), args.renderers.split(","), args.precisions.split(","), compiles,
                                 [int(n) for n in args.busy.split(",")])
    rows = [run_variant(args, data, ranks, *v) for v in variants]
    if not ranks.is_main:
        return
    batch = f"batch {rows[0]['batch']} per process x {ranks.world_size} processes" if ranks.distributed else f"batch {rows[0]['batch']}"
    print(f"\n{args.data}, {batch}, {args.epochs} epochs, {_machine(device)}, torch {torch.__version__}{load}\n")
    _print_table(rows, others_limit)
    if device.type == "cpu":
        print(f"\nload average after: {os.getloadavg()[0]:.2f} (this run's own threads and busy processes count in it)")


if __name__ == "__main__":
    main()
