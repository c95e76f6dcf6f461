"""Renderer throughput, forward + backward: the reference form against the fast form, in the same run.

    python benchmarks/renderer.py                              # CPU (and CUDA when present), default sizes
    python benchmarks/renderer.py --device cpu --threads 2,1   # the CPU at 2 and at 1 intra-op threads
    python benchmarks/renderer.py --sizes 1024x25x28 --rounds 10
    python benchmarks/renderer.py --renderer pen --device cpu --threads 2   # the pen renderer (issue 13)
    python benchmarks/renderer.py --renderer pen-soft --device cpu          # ... with soft pen states

For every size B x T x H (B glyphs, T steps, an H x H canvas) both forms render the same random markers
(``--renderer pen``: the same random gestures, below) and back-propagate a random weighting of the
canvas, to every input (for the pen: positions, pen states and widths).  The forms take turns (one reference pass, then
``--fast-per-round`` fast passes, for ``--rounds`` rounds), so both see the same machine load; the table
gives glyphs/s of the best pass (the least disturbed by other processes) and of the median pass, and the
speed-up of each.  It also checks, per size, that outputs agree within 1e-5 and gradients within 1e-5 of
their largest value.  On CUDA every pass ends with torch.cuda.synchronize().

The pen's gestures are random walks of T steps of 1-3 px (pixels of the canvas at hand) in random
directions, about the canvas centre, with ~15% pen-up steps (pen states exactly 0 or 1, as the
straight-through pen state gives them; ``--renderer pen-soft``: uniform in [0, 1], as a soft pen
state may be, so that every piece, dots included, draws) and widths of 1.5-3 px.  Its reference form
holds B x (2T - 1) x H x W intermediates for autograd (~50 bytes each): above 2^25 of them it renders
fewer glyphs, its glyphs/s is scaled from those (the table says on how many), and the outputs are
compared on those.

A CPU run is refused when the 1-minute load average is above ``--max-load`` (0.75 per core), unless
``--allow-busy``, and then its tables say BUSY; the date, the command and the load before and after are printed.

OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE) unless the environment says otherwise: on a CPU
shared with other busy processes, torch's default spinning makes every parallel op wait for a descheduled
thread (measured here at 2 threads: the fast form's median pass 2.4 s spinning, 84 ms passive).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import statistics
import sys
import time

# Before torch loads OpenMP (see the docstring).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from igae_robot.model.render import render_markers, render_reference  # noqa: E402
from igae_robot.model.render_pen import render_pen, render_pen_reference  # noqa: E402

CPU_SIZES = "1024x25x28,256x25x28,1024x40x28,256x100x28,256x25x64,64x25x128"
CUDA_SIZES = "1024x25x28,8192x25x28,8192x40x28,4096x25x64,1024x25x128,4096x25x128"
PEN_CPU_SIZES = "1024x40x28,256x40x64,64x40x128"
PEN_CUDA_SIZES = "8192x40x28,4096x40x64,1024x40x128"
PEN_REFERENCE_ELEMENTS = 1 << 25  # B x S x H x W of the pen's reference form, at most (about 1.7 GB)


def _markers(b: int, t: int, h: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(b, t, 2, generator=g)
    var = torch.rand(b, t, generator=g) * 0.01 + 1e-4  # the article's range: pressure in [0,1] * 0.01 + 1e-4
    ink = torch.rand(b, t, generator=g)
    weight = torch.randn(b, 1, h, h, generator=g)
    return [a.to(device) for a in (xy, var, ink, weight)]


def _pen_gestures(b: int, t: int, h: int, device: torch.device, seed: int = 0, soft: bool = False):
    """xy (B,T,2), down (B,T), width (B,T), weight (B,1,H,H): see the module docstring."""
    g = torch.Generator().manual_seed(seed)
    angle = torch.rand(b, t, generator=g) * 2 * math.pi
    steps = torch.stack([angle.cos(), angle.sin()], -1) * (1 + 2 * torch.rand(b, t, 1, generator=g)) / h
    walk = steps.cumsum(1)
    xy = walk - walk.mean(1, keepdim=True) + 0.4 + 0.2 * torch.rand(b, 1, 2, generator=g)
    down = torch.rand(b, t, generator=g)
    down = down if soft else (down >= 0.15).float()
    width = (1.5 + 1.5 * torch.rand(b, t, generator=g)) / h
    weight = torch.randn(b, 1, h, h, generator=g)
    return [a.to(device) for a in (xy, down, width, weight)]


def _pass(render, markers, h: int):
    """One forward + backward; returns (seconds, canvas, gradients)."""
    xy, var, ink, weight = markers
    inputs = [a.clone().requires_grad_() for a in (xy, var, ink)]
    sync = torch.cuda.synchronize if xy.device.type == "cuda" else (lambda: None)
    sync()
    tic = time.perf_counter()
    canvas = render(*inputs, (h, h))
    grads = torch.autograd.grad((canvas * weight).sum(), inputs)
    sync()
    return time.perf_counter() - tic, canvas.detach(), grads


def _fast(xy, var, ink, size):
    return render_markers(xy, var, ink, size, check=False)  # as training calls it


# Per renderer: the reference form, the fast form, the inputs, default CPU and CUDA sizes.
RENDERERS = {
    "marker": (render_reference, _fast, _markers, CPU_SIZES, CUDA_SIZES),
    "pen": (render_pen_reference, render_pen, _pen_gestures, PEN_CPU_SIZES, PEN_CUDA_SIZES),
    "pen-soft": (render_pen_reference, render_pen, functools.partial(_pen_gestures, soft=True), PEN_CPU_SIZES, PEN_CUDA_SIZES),
}


def measure(b: int, t: int, h: int, device: torch.device, rounds: int, fast_per_round: int, renderer: str = "marker") -> dict:
    reference, fast, make, _, _ = RENDERERS[renderer]
    inputs = make(b, t, h, device)
    b_ref = b if renderer == "marker" else max(1, min(b, PEN_REFERENCE_ELEMENTS // ((2 * t - 1) * h * h)))
    ref_inputs = [a[:b_ref] for a in inputs]
    _, ref_canvas, ref_grads = _pass(reference, ref_inputs, h)  # warm-up, and the values to compare
    _, fast_canvas, fast_grads = _pass(fast, ref_inputs, h)
    _pass(fast, inputs, h)
    out_diff = (fast_canvas - ref_canvas).abs().max().item()
    grad_diff = max(((a - r).abs().max() / r.abs().max()).item() for a, r in zip(fast_grads, ref_grads))
    del ref_canvas, ref_grads, fast_canvas, fast_grads
    ref_s, fast_s = [], []
    for _ in range(rounds):
        ref_s.append(_pass(reference, ref_inputs, h)[0])
        fast_s.extend(_pass(fast, inputs, h)[0] for _ in range(fast_per_round))
    return {
        "size": f"{b}x{t}x{h}x{h}", "ref_glyphs": b_ref,
        "ref_best": b_ref / min(ref_s), "ref_median": b_ref / statistics.median(ref_s),
        "fast_best": b / min(fast_s), "fast_median": b / statistics.median(fast_s),
        "out_diff": out_diff, "grad_diff": grad_diff,
    }


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")


def _load_line(max_load: float, allow_busy: bool) -> str:
    """The load average for the table's title; a busy CPU refuses the run (exit 3) unless ``allow_busy``, and
    then the title says BUSY.  A figure taken on a busy machine is one a user cannot reproduce: the
    reference form suffers more from a busy CPU than the fast one, so ratios grow with the load (issue 17)."""
    load = os.getloadavg()[0]
    if load <= max_load:
        return f"; load average before: {load:.2f} (quiet: <= {max_load:.2f})"
    if not allow_busy:
        print(f"refused: the 1-minute load average is {load:.2f}, above --max-load {max_load:.2f}; wait for a quiet "
              "machine, or pass --allow-busy and the table is marked BUSY", file=sys.stderr)
        raise SystemExit(3)
    return f"; BUSY: load average before {load:.2f} (> {max_load:.2f}), not a figure to quote"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (CPU, and CUDA when present), cpu or cuda")
    parser.add_argument("--renderer", default="marker", choices=sorted(RENDERERS), help="marker (default), pen or pen-soft")
    parser.add_argument("--sizes", default=None, help=f"BxTxH,... (default CPU {CPU_SIZES}; CUDA {CUDA_SIZES}; "
                        f"pen, pen-soft: CPU {PEN_CPU_SIZES}; CUDA {PEN_CUDA_SIZES})")
    parser.add_argument("--threads", default=None, help="CPU intra-op thread counts to run, e.g. 2,1 (default: torch's)")
    parser.add_argument("--rounds", type=int, default=5, help="reference passes per size")
    parser.add_argument("--fast-per-round", type=int, default=4, help="fast passes after each reference pass")
    parser.add_argument("--max-load", type=float, default=0.75 * (os.cpu_count() or 1),
                        help="refuse a CPU run when the 1-minute load average is above this (default 0.75 per core)")
    parser.add_argument("--allow-busy", action="store_true", help="run on a busy CPU anyway; the tables are then marked BUSY")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, command: benchmarks/renderer.py {' '.join(sys.argv[1:])}", flush=True)

    devices = ["cpu", "cuda"] if args.device == "auto" and torch.cuda.is_available() else [args.device.replace("auto", "cpu")]
    for name in devices:
        device = torch.device(name)
        sizes = args.sizes or RENDERERS[args.renderer][4 if device.type == "cuda" else 3]
        threads = [int(n) for n in args.threads.split(",")] if args.threads and device.type == "cpu" else [torch.get_num_threads()]
        for n in threads:
            torch.set_num_threads(n)
            load = "" if device.type == "cuda" else _load_line(args.max_load, args.allow_busy)
            print(f"\n{args.renderer} renderer forward+backward on {_machine(device)}, torch {torch.__version__}{load}\n", flush=True)
            print("| B x T x H x W | reference glyphs/s (best / median) | fast glyphs/s (best / median) | speed-up (best / median) "
                  "| max output diff | max gradient diff / scale |")
            print("|---|---:|---:|---:|---:|---:|")
            for spec in sizes.split(","):
                b, t, h = (int(v) for v in spec.lower().split("x"))
                r = measure(b, t, h, device, args.rounds, args.fast_per_round, args.renderer)
                on = f" (on {r['ref_glyphs']} glyphs)" if r["ref_glyphs"] < b else ""
                print(f"| {r['size']} | {r['ref_best']:,.0f} / {r['ref_median']:,.0f}{on} | {r['fast_best']:,.0f} / "
                      f"{r['fast_median']:,.0f} | {r['fast_best'] / r['ref_best']:.1f}x / {r['fast_median'] / r['ref_median']:.1f}x "
                      f"| {r['out_diff']:.1e} | {r['grad_diff']:.1e} |", flush=True)
            if device.type == "cpu":
                # The run's own threads count in the load it leaves: others' work is what lies above them.
                after, limit = os.getloadavg()[0], args.max_load + n
                busy = f" -- BUSY: above {limit:.2f} (--max-load + this run's {n} threads), not comparable" if after > limit else ""
                print(f"\nload average after: {after:.2f}{busy}", flush=True)


if __name__ == "__main__":
    main()
