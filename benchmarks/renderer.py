"""Renderer throughput, forward + backward: the reference form against the fast form, in the same run.

    python benchmarks/renderer.py                              # CPU (and CUDA when present), default sizes
    python benchmarks/renderer.py --device cpu --threads 2,1   # the CPU at 2 and at 1 intra-op threads
    python benchmarks/renderer.py --sizes 1024x25x28 --rounds 10

For every size B x T x H (B glyphs, T steps, an H x H canvas) both forms render the same random markers
and back-propagate a random weighting of the canvas.  The forms take turns (one reference pass, then
``--fast-per-round`` fast passes, for ``--rounds`` rounds), so both see the same machine load; the table
gives glyphs/s of the best pass (the least disturbed by other processes) and of the median pass, and the
speed-up of each.  It also checks, per size, that outputs agree within 1e-5 and gradients within 1e-5 of
their largest value.  On CUDA every pass ends with torch.cuda.synchronize().

OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE) unless the environment says otherwise: on a CPU
shared with other busy processes, torch's default spinning makes every parallel op wait for a descheduled
thread (measured here at 2 threads: the fast form's median pass 2.4 s spinning, 84 ms passive).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

# Before torch loads OpenMP (see the docstring).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from igae_robot.model.render import render_markers, render_reference  # noqa: E402

CPU_SIZES = "1024x25x28,256x25x28,1024x40x28,256x100x28,256x25x64,64x25x128"
CUDA_SIZES = "1024x25x28,8192x25x28,8192x40x28,4096x25x64,1024x25x128,4096x25x128"


def _markers(b: int, t: int, h: int, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(b, t, 2, generator=g)
    var = torch.rand(b, t, generator=g) * 0.01 + 1e-4  # the article's range: pressure in [0,1] * 0.01 + 1e-4
    ink = torch.rand(b, t, generator=g)
    weight = torch.randn(b, 1, h, h, generator=g)
    return [a.to(device) for a in (xy, var, ink, weight)]


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


def measure(b: int, t: int, h: int, device: torch.device, rounds: int, fast_per_round: int) -> dict:
    markers = _markers(b, t, h, device)
    _, ref_canvas, ref_grads = _pass(render_reference, markers, h)  # warm-up, and the values to compare
    _, fast_canvas, fast_grads = _pass(_fast, markers, h)
    out_diff = (fast_canvas - ref_canvas).abs().max().item()
    grad_diff = max(((a - r).abs().max() / r.abs().max()).item() for a, r in zip(fast_grads, ref_grads))
    del ref_canvas, ref_grads, fast_canvas, fast_grads
    ref_s, fast_s = [], []
    for _ in range(rounds):
        ref_s.append(_pass(render_reference, markers, h)[0])
        fast_s.extend(_pass(_fast, markers, h)[0] for _ in range(fast_per_round))
    return {
        "size": f"{b}x{t}x{h}x{h}",
        "ref_best": b / min(ref_s), "ref_median": b / statistics.median(ref_s),
        "fast_best": b / min(fast_s), "fast_median": b / statistics.median(fast_s),
        "out_diff": out_diff, "grad_diff": grad_diff,
    }


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (CPU, and CUDA when present), cpu or cuda")
    parser.add_argument("--sizes", default=None, help=f"BxTxH,... (default CPU {CPU_SIZES}; CUDA {CUDA_SIZES})")
    parser.add_argument("--threads", default=None, help="CPU intra-op thread counts to run, e.g. 2,1 (default: torch's)")
    parser.add_argument("--rounds", type=int, default=5, help="reference passes per size")
    parser.add_argument("--fast-per-round", type=int, default=4, help="fast passes after each reference pass")
    args = parser.parse_args()

    devices = ["cpu", "cuda"] if args.device == "auto" and torch.cuda.is_available() else [args.device.replace("auto", "cpu")]
    for name in devices:
        device = torch.device(name)
        sizes = args.sizes or (CUDA_SIZES if device.type == "cuda" else CPU_SIZES)
        threads = [int(n) for n in args.threads.split(",")] if args.threads and device.type == "cpu" else [torch.get_num_threads()]
        for n in threads:
            torch.set_num_threads(n)
            load = "" if device.type == "cuda" else f"; load average before: {os.getloadavg()[0]:.1f}"
            print(f"\nrenderer forward+backward on {_machine(device)}, torch {torch.__version__}{load}\n", flush=True)
            print("| B x T x H x W | reference glyphs/s (best / median) | fast glyphs/s (best / median) | speed-up (best / median) "
                  "| max output diff | max gradient diff / scale |")
            print("|---|---:|---:|---:|---:|---:|")
            for spec in sizes.split(","):
                b, t, h = (int(v) for v in spec.lower().split("x"))
                r = measure(b, t, h, device, args.rounds, args.fast_per_round)
                print(f"| {r['size']} | {r['ref_best']:,.0f} / {r['ref_median']:,.0f} | {r['fast_best']:,.0f} / "
                      f"{r['fast_median']:,.0f} | {r['fast_best'] / r['ref_best']:.1f}x / {r['fast_median'] / r['ref_median']:.1f}x "
                      f"| {r['out_diff']:.1e} | {r['grad_diff']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
