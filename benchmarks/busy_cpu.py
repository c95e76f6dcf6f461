"""Training on a shared CPU: epoch time with and without the CLI's passive OpenMP wait, quiet and busy.

    python benchmarks/busy_cpu.py --data-dir ../shared/data/mnist                  # 3 rounds, 6 000 digits
    python benchmarks/busy_cpu.py --limit 60000 --rounds 1                          # a full MNIST epoch

``igae`` sets ``OMP_WAIT_POLICY=PASSIVE`` before torch loads (cli/main.py) unless the user set it.
"before" runs the same command with ``OMP_WAIT_POLICY=`` (empty: libgomp ignores it and falls back
to its default spin-then-sleep wait, which is what every run got before that line); "after" leaves
the variable unset, so the CLI's default applies.  "busy" adds competing processes
(``--competitors``, default 1) that each spin on a core for the whole run, as another job on a shared machine or CI runner would.  Variants run in
turns, round after round, and the table shows the median of the rounds: the load drifts, turns
spread it evenly.  Each run is ``igae train`` for one epoch of the default preset; the figure is
``train_wall_s`` from its summary.json (training only, not the evaluation after it).
:func:`competitors` also serves ``benchmarks/train.py --busy``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IGAE = str(Path(sys.executable).with_name("igae"))


@contextlib.contextmanager
def competitors(count: int):
    """``count`` processes, each spinning on a core, while the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def epoch_seconds(args: argparse.Namespace, policy: str | None, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    cmd = [IGAE, "train", "--data", "mnist", "--data-dir", args.data_dir, "--limit", str(args.limit), "--epochs", "1",
           "--device", "cpu", "--no-progress", "--overwrite", "--out", str(out)]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "summary.json").read_text())["train_wall_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--limit", type=int, default=6000, help="training digits per epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--competitors", type=int, default=1, help="busy processes in the busy variants")
    args = parser.parse_args()
    variants = {  # name -> (OMP_WAIT_POLICY given to igae, competing process)
        "quiet, before (libgomp default)": ("", False),
        "quiet, after (igae: PASSIVE)": (None, False),
        "busy, before (libgomp default)": ("", True),
        "busy, after (igae: PASSIVE)": (None, True),
    }
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}, command: benchmarks/busy_cpu.py {' '.join(sys.argv[1:])}; "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (policy, busy) in variants.items():
                with competitors(args.competitors if busy else 0):
                    times[name].append(epoch_seconds(args, policy, Path(tmp) / "run"))
                print(f"round {r + 1}: {name}: {times[name][-1]:.1f} s", file=sys.stderr)
    load = os.getloadavg()[0]
    print(f"\nepoch of the default preset on {args.limit} MNIST digits, {os.cpu_count()} CPUs, "
          f"{args.competitors} busy process(es) in the busy rows, "
          f"median of {args.rounds} rounds (load average at the end {load:.2f})\n")
    print(f"| {'variant':<34} | epoch s (median) | runs |")
    print(f"|{'-' * 36}|-----------------:|------|")
    for name, values in times.items():
        runs = " ".join(f"{v:.1f}" for v in values)
        print(f"| {name:<34} | {statistics.median(values):16.1f} | {runs} |")


if __name__ == "__main__":
    main()
