"""Renderer throughput, forward + backward: the reference form against the fast form, in the same run.

    python benchmarks/renderer.py                              # CPU (and CUDA when present), default sizes
    python benchmarks/renderer.py --device cpu --threads 2,1   # the CPU at 2 and at 1 intra-op threads
    python benchmarks/renderer.py --device cpu --sizes 1024x25x28 --threads 2 --rounds 8 --seconds 2
    python benchmarks/renderer.py --device cpu --sizes 1024x25x28 --threads 2 --profile 10   # where the time goes
    python benchmarks/renderer.py --renderer pen --device cpu --threads 2   # the pen renderer (issue 13)
    python benchmarks/renderer.py --renderer pen-soft --device cpu          # ... with soft pen states

For every size B x T x H (B glyphs, T steps, an H x H canvas) both forms render the same random markers
(``--renderer pen``: the same random gestures, below) and back-propagate a random weighting of the canvas,
to every input (for the pen: positions, pen states and widths). The forms take turns, so both see the same
machine: per round, reference passes for ``--seconds`` (at least one), then fast passes for ``--seconds``
(at least ``--fast-per-round``), for ``--rounds`` rounds. Not counted: two warm-up passes of each form (the
first also compares the forms), and the first fast pass after each reference turn (it refills the caches the
reference's large tensors evicted; measured ~5% slower). The table gives glyphs/s of the median pass with
its interquartile range, the number of passes, the kernel's share of the CPU time (page faults: the
reference form's B x T x H x W tensors are fresh memory every pass, see below), the ratio of the medians
with the interquartile range of the rounds' ratios, and the best fast pass. It also checks, per size, that
outputs agree within 1e-5 and gradients within 1e-5 of their largest value. On CUDA every pass ends with
torch.cuda.synchronize().

Why the reference is noisy: at B=1024, T=25, 28x28 each of its passes takes ~350 000 fresh 4 KB pages from
the kernel (its tensors are too large for malloc to keep), and on this CPU that is ~70% of its CPU time:
it measures the kernel's page handling as much as the arithmetic, and varies with what the rest of the
machine does to memory.  ``THP_MEM_ALLOC_ENABLE=1`` (a PyTorch setting: 2 MB pages for tensors of 2 MB or
more) cuts those faults ~35x (measured ~3x faster, on a busy machine); the title line says which was in effect.
``--ref-batch N`` renders the reference on the first N glyphs only and scales per glyph (say so when
quoting it: the reference's speed per glyph depends on B).  ``--profile PASSES`` prints where the fast
form's time goes instead (benchmarks/renderer_profile.py).

The pen's gestures are random walks of T steps of 1-3 px (pixels of the canvas at hand) in random
directions, about the canvas centre, with ~15% pen-up steps (pen states exactly 0 or 1, as the
straight-through pen state gives them; ``--renderer pen-soft``: uniform in [0, 1], as a soft pen
state may be, so that every piece, dots included, draws) and widths of 1.5-3 px.  Its reference form
holds B x (2T - 1) x H x W intermediates for autograd (~50 bytes each): above 2^25 of them it renders
fewer glyphs, its glyphs/s is scaled from those (the table says on how many), and the outputs are
compared on those.

A CPU run is refused when the 1-minute load average is above ``--max-load`` (0.75 per core), or when other
processes used more than ``--max-others`` cores (0.25) over the 2 seconds before it (benchmarks/cpu_load.py),
unless ``--allow-busy``, and then its tables say BUSY.  Each size's row gives the cores other processes used
(and the hypervisor stole) while it was measured, BUSY above ``--max-others``.  The date, the command and the
load before and after are printed.

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
import resource
import statistics
import sys
import time

# Before torch loads OpenMP (see the docstring).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from igae_robot.model.render import render_markers, render_reference  # noqa: E402
from igae_robot.model.render_pen import render_pen, render_pen_reference  # noqa: E402
from cpu_load import OthersCpu, quiet_line  # noqa: E402  (benchmarks/, this script's folder)
from renderer_profile import profile_fast  # noqa: E402

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


def _timed_pass(render, markers, h: int) -> tuple[float, float, float]:
    """One forward + backward: (wall seconds, user CPU seconds, system CPU seconds) of this process."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = _pass(render, markers, h)[0]
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _passes_for(seconds: float, render, markers, h: int, at_least: int) -> list[tuple[float, float, float]]:
    """Passes of one form until ``seconds`` have gone by, and at least ``at_least`` of them."""
    out, tic = [], time.perf_counter()
    while len(out) < at_least or time.perf_counter() - tic < seconds:
        out.append(_timed_pass(render, markers, h))
    return out


def _summary(passes: list[tuple[float, float, float]], glyphs: int) -> dict:
    """Median glyphs/s, its interquartile range, the best pass, and the kernel's share of the CPU time."""
    rates = sorted(glyphs / wall for wall, _, _ in passes)
    q1, _, q3 = statistics.quantiles(rates, n=4, method="inclusive") if len(rates) > 1 else (rates[0],) * 3
    user, system = sum(p[1] for p in passes), sum(p[2] for p in passes)
    return {"median": statistics.median(rates), "q1": q1, "q3": q3, "best": rates[-1], "passes": len(rates),
            "kernel": system / max(user + system, 1e-9)}


def measure(b: int, t: int, h: int, device: torch.device, rounds: int, fast_per_round: int, renderer: str = "marker",
            seconds: float = 0.0, ref_batch: int = 0) -> dict:
    """Both forms in turns: per round, reference passes for ``seconds`` (at least one), then fast passes for
    ``seconds`` (at least ``fast_per_round``).  Not counted: the warm-up passes (two per form), and the first
    fast pass after each reference turn (it refills the caches and TLB the reference's big tensors evicted)."""
    reference, fast, make, _, _ = RENDERERS[renderer]
    inputs = make(b, t, h, device)
    b_ref = b if renderer == "marker" else max(1, min(b, PEN_REFERENCE_ELEMENTS // ((2 * t - 1) * h * h)))
    b_ref = min(b_ref, ref_batch) if ref_batch > 0 else b_ref
    ref_inputs = [a[:b_ref] for a in inputs]
    _, ref_canvas, ref_grads = _pass(reference, ref_inputs, h)  # warm-up, and the values to compare
    _, fast_canvas, fast_grads = _pass(fast, ref_inputs, h)
    out_diff = (fast_canvas - ref_canvas).abs().max().item()
    grad_diff = max(((a - r).abs().max() / r.abs().max()).item() for a, r in zip(fast_grads, ref_grads))
    del ref_canvas, ref_grads, fast_canvas, fast_grads
    _pass(reference, ref_inputs, h)  # warm-up: with the pass above, two per form
    _pass(fast, inputs, h), _pass(fast, inputs, h)
    watch = OthersCpu()
    ref, fast_passes, ratios = [], [], []
    for _ in range(rounds):
        ref_turn = _passes_for(seconds, reference, ref_inputs, h, 1)
        fast_turn = _passes_for(seconds, fast, inputs, h, fast_per_round + 1)[1:]
        ratios.append(statistics.median(p[0] for p in ref_turn) / b_ref * b / statistics.median(p[0] for p in fast_turn))
        ref, fast_passes = ref + ref_turn, fast_passes + fast_turn
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else ratios * 3
    return {"size": f"{b}x{t}x{h}x{h}", "ref_glyphs": b_ref, "ref": _summary(ref, b_ref), "fast": _summary(fast_passes, b),
            "ratio_q1": q1, "ratio_q3": q3, "out_diff": out_diff, "grad_diff": grad_diff, "others": watch.cores()}


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
            f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', '0')}")


def _row(r: dict, b: int, max_others: float) -> str:
    ref, fast, others = r["ref"], r["fast"], r["others"]
    on = f" (on {r['ref_glyphs']} glyphs, scaled per glyph)" if r["ref_glyphs"] < b else ""
    busy = "" if others is None else f"{others[0]:.2f} / {others[1]:.2f}" + (" BUSY" if others[0] > max_others else "")
    return (f"| {r['size']} | {ref['median']:,.0f} [{ref['q1']:,.0f}-{ref['q3']:,.0f}] ({ref['passes']}, kernel "
            f"{100 * ref['kernel']:.0f}%){on} | {fast['median']:,.0f} [{fast['q1']:,.0f}-{fast['q3']:,.0f}] ({fast['passes']}, kernel "
            f"{100 * fast['kernel']:.0f}%) | {fast['median'] / ref['median']:.1f}x [{r['ratio_q1']:.1f}-{r['ratio_q3']:.1f}] "
            f"| {fast['best']:,.0f} "
            f"| {r['out_diff']:.1e} | {r['grad_diff']:.1e} | {busy} |")


def _tables(args, device: torch.device) -> None:
    sizes = args.sizes or RENDERERS[args.renderer][4 if device.type == "cuda" else 3]
    threads = [int(n) for n in args.threads.split(",")] if args.threads and device.type == "cpu" else [torch.get_num_threads()]
    own = 0  # this run's threads so far: they count in the load average of the next table's check
    for n in threads:
        torch.set_num_threads(n)
        load = "" if device.type == "cuda" else quiet_line(args.max_load + own, args.max_others, args.allow_busy)
        own = max(own, n)
        print(f"\n{args.renderer} renderer forward+backward on {_machine(device)}, torch {torch.__version__}{load}\n", flush=True)
        if args.profile:
            for spec in sizes.split(","):
                b, t, h = (int(v) for v in spec.lower().split("x"))
                reference, fast, make, _, _ = RENDERERS[args.renderer]
                *inputs, weight = make(b, t, h, device)
                print(f"profile of the fast form, {b}x{t}x{h}x{h}, {args.profile} passes:\n")
                profile_fast(fast, inputs, weight, (h, h), passes=args.profile)
        else:
            print(f"glyphs/s, median [interquartile range] (passes counted, kernel share of the CPU time); {args.rounds} rounds "
                  f"of {args.seconds:g} s per form, turn about\n")
            print("| B x T x H x W | reference | fast | fast / reference: medians [per round, interquartile] | fast, best pass "
                  "| max output diff | max gradient diff / scale | others' cores / stolen during the size |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for spec in sizes.split(","):
                b, t, h = (int(v) for v in spec.lower().split("x"))
                r = measure(b, t, h, device, args.rounds, args.fast_per_round, args.renderer, args.seconds, args.ref_batch)
                print(_row(r, b, args.max_others), flush=True)
        if device.type == "cpu":
            # The run's own threads count in the load it leaves: others' work is what lies above them.
            after, limit = os.getloadavg()[0], args.max_load + n
            busy = f" -- BUSY: above {limit:.2f} (--max-load + this run's {n} threads), not comparable" if after > limit else ""
            print(f"\nload average after: {after:.2f}{busy}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (CPU, and CUDA when present), cpu or cuda")
    parser.add_argument("--renderer", default="marker", choices=sorted(RENDERERS), help="marker (default), pen or pen-soft")
    parser.add_argument("--sizes", default=None, help=f"BxTxH,... (default CPU {CPU_SIZES}; CUDA {CUDA_SIZES}; "
                        f"pen, pen-soft: CPU {PEN_CPU_SIZES}; CUDA {PEN_CUDA_SIZES})")
    parser.add_argument("--threads", default=None, help="CPU intra-op thread counts to run, e.g. 2,1 (default: torch's)")
    parser.add_argument("--rounds", type=int, default=6, help="turns of each form per size")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds of passes per form per turn")
    parser.add_argument("--fast-per-round", type=int, default=4, help="fast passes per turn, at least")
    parser.add_argument("--ref-batch", type=int, default=0, help="render the reference on the first N glyphs only, "
                        "its glyphs/s scaled per glyph (0: all of them; the reference's speed per glyph depends on B)")
    parser.add_argument("--profile", type=int, default=0, metavar="PASSES",
                        help="instead of the tables: profile PASSES passes of the fast form (torch.profiler, CPU)")
    parser.add_argument("--max-load", type=float, default=0.75 * (os.cpu_count() or 1),
                        help="refuse a CPU run when the 1-minute load average is above this (default 0.75 per core)")
    parser.add_argument("--max-others", type=float, default=0.25,
                        help="refuse a CPU run when other processes use more cores than this (default 0.25), "
                        "and mark a size BUSY when they did while it was measured")
    parser.add_argument("--allow-busy", action="store_true", help="run on a busy CPU anyway; the tables are then marked BUSY")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}, command: benchmarks/renderer.py {' '.join(sys.argv[1:])}", flush=True)
    devices = ["cpu", "cuda"] if args.device == "auto" and torch.cuda.is_available() else [args.device.replace("auto", "cpu")]
    for name in devices:
        _tables(args, torch.device(name))


if __name__ == "__main__":
    main()
