"""Where the fast marker renderer's time goes: ``python benchmarks/renderer.py --profile`` (issue 17).

A few forward + backward passes of ``render_markers`` under torch.profiler (CPU), after warm-up passes.
The backward pass starts from ``grad_outputs`` (a random weighting of the canvas), so every op in it is
the renderer's.  Two tables: the top ops by self CPU time, and the same time grouped into phases, each
as a share of the measured wall time of the profiled passes.  Shares are relative, so they hold on a
busy machine better than absolute times do, at one thread: at two or more, a parallel op waits for
its slowest thread, and on a busy machine that inflates the parallel ops' shares (seen here: the backward
pass's index arithmetic 5% of the pass at one thread, 10-23% at two).  The profiler adds its own cost per
op; the median unprofiled pass is printed too.  Minor page faults per pass (getrusage) say how
much of the time is the kernel handing out fresh memory pages.
"""

from __future__ import annotations

import collections
import resource
import time

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from cpu_load import OthersCpu

ALLOCATION = {"aten::empty", "aten::empty_strided", "aten::empty_like", "aten::new_empty", "aten::zeros", "aten::zeros_like",
              "aten::zero_", "aten::fill_", "aten::resize_", "aten::new_zeros"}
# Phase of an op by the nearest labelled ancestor (innermost first), then by its own name.
PHASES = [
    ("_MaxOfOuterProductsBackward", "max over steps, backward: gather / scatter-add to the profiles"),
    ("_MaxOfOuterProducts", "max over steps, forward: outer products, max, winning step"),
    ("_ProfilesBackward", "profiles, backward: to positions, variances, inks"),
    ("_Profiles", "profiles, forward: exp(-(c - p)^2 / 2var), times ink"),
    ("autograd::engine::evaluate_function", "backward, other autograd nodes (the marker renderer: casts, unsqueeze)"),
    ("forward", "forward, other ops (the marker renderer: casts, shape checks)"),
    ("backward", "autograd engine outside any node"),
]


def _phase(event) -> str:
    if event.name in ALLOCATION:
        return "allocation: empty / zeros / fill (page faults land in the op that first writes)"
    if event.name.startswith("autograd::engine::evaluate_function") or event.name.endswith(("Backward0", "Backward1")):
        return "autograd overhead: the engine's own time per node"
    node = event  # the custom Function's own time (its Python: slicing, the loop over blocks) is its phase's
    while node is not None:
        for prefix, phase in PHASES:
            if node.name.startswith(prefix):
                return phase
        node = node.cpu_parent
    return "outside the pass"


def _one_pass(render, inputs, weight, size):
    leaves = [a.clone().requires_grad_() for a in inputs]
    with record_function("forward"):
        canvas = render(*leaves, size)
    with record_function("backward"):
        torch.autograd.grad(canvas, leaves, grad_outputs=weight)


def profile_fast(render, inputs, weight, size: tuple[int, int], passes: int = 5, warmup: int = 3, top: int = 15) -> None:
    """Print the op table and the phase table for ``passes`` profiled passes (after ``warmup``)."""
    for _ in range(warmup):
        _one_pass(render, inputs, weight, size)
    plain, faults = [], []
    for _ in range(passes):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        tic = time.perf_counter()
        _one_pass(render, inputs, weight, size)
        plain.append(time.perf_counter() - tic)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    watch = OthersCpu()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        tic = time.perf_counter()
        for _ in range(passes):
            _one_pass(render, inputs, weight, size)
        wall = time.perf_counter() - tic
    others = watch.cores()
    events = [e for e in prof.events() if e.name not in ("forward", "backward")]
    per_pass_us = wall * 1e6 / passes
    b = len(inputs[0])
    plain.sort()
    print(f"unprofiled passes: median {plain[len(plain) // 2] * 1e3:.1f} ms ({b / plain[len(plain) // 2]:,.0f} glyphs/s), "
          f"{sorted(faults)[len(faults) // 2]:,} minor page faults per pass; profiled: {per_pass_us / 1e3:.1f} ms per pass"
          + (f"; other processes used {others[0]:.2f} cores meanwhile, {others[1]:.2f} stolen" if others else "") + "\n")
    _op_table(events, per_pass_us, passes, top)
    _phase_table(events, per_pass_us, passes)


def _op_table(events, per_pass_us: float, passes: int, top: int) -> None:
    ops = collections.defaultdict(lambda: [0.0, 0])
    for e in events:
        ops[e.name][0] += e.self_cpu_time_total
        ops[e.name][1] += 1
    print("| op (self CPU time) | calls per pass | ms per pass | share of the pass |")
    print("|---|---:|---:|---:|")
    for name, (us, calls) in sorted(ops.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"| {name} | {calls / passes:.0f} | {us / passes / 1e3:.2f} | {100 * us / passes / per_pass_us:.1f}% |")


def _phase_table(events, per_pass_us: float, passes: int) -> None:
    phases = collections.defaultdict(float)
    tops = collections.defaultdict(lambda: collections.defaultdict(float))
    for e in events:
        phase = _phase(e)
        phases[phase] += e.self_cpu_time_total
        tops[phase][e.name] += e.self_cpu_time_total
    phases["untracked: Python, op dispatch between events, profiler"] = max(0.0, per_pass_us * passes - sum(phases.values()))
    print("\n| phase | ms per pass | share of the pass | largest ops |")
    print("|---|---:|---:|---|")
    for phase, us in sorted(phases.items(), key=lambda kv: -kv[1]):
        largest = ", ".join(f"{n.removeprefix('aten::')} {100 * t / per_pass_us / passes:.1f}%"
                            for n, t in sorted(tops[phase].items(), key=lambda kv: -kv[1])[:4])
        print(f"| {phase} | {us / passes / 1e3:.2f} | {100 * us / passes / per_pass_us:.1f}% | {largest} |")

