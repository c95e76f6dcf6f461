"""igae plot's two streaming modes against the GRBL simulator of the tests: a 10 000-line file, wall time.

    .venv/bin/python benchmarks/plot_streaming.py                       # 10 000 lines, 3 runs per mode
    .venv/bin/python benchmarks/plot_streaming.py --lines 2000 --link-ms 1.0

What is measured: ``igae_robot.plotter.plot.plot_file`` (the library call behind ``igae plot``) streams a
G-code file of short pen-down moves (a square spiral in 1-mm steps, the pen lifted every 50 moves, as a
handwritten page's G-code is) to ``tests/grbl_sim.py``'s GRBL 1.1 on a pseudo-terminal:

* the simulator's planner has 15 blocks (GRBL's 16 less the one it keeps), each move runs ``--exec-ms``;
* the link delays every byte ``--link-ms`` each way (a USB-serial adapter: about half a millisecond), so a
  sender that waits for every ``ok`` pays a round trip a line, and one that counts characters does not;
* the simulator counts bytes lost to a full 128-byte receive buffer (``overflows``): it must stay 0.

Prints a markdown table (median of ``--runs``), with the date, the load average and the command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from grbl_sim import GrblSim  # noqa: E402

from igae_robot.plotter.plot import plot_file  # noqa: E402


def gcode(lines: int) -> str:
    """A grbl-servo-style program of ``lines`` lines: a square spiral of 1-mm moves, pen lifted every 50."""
    out = ["; igae machine grbl-servo", "G21", "G90", "M5", "G4 P0.15"]
    x = y = 100.0
    step, direction, run = 1.0, 0, 0
    while len(out) < lines - 2:
        if run % 50 == 0:
            out += ["M5", "G4 P0.15", f"G0 X{x:.3f} Y{y:.3f}", "M3 S1000", "G4 P0.15"]
        dx, dy = [(1, 0), (0, 1), (-1, 0), (0, -1)][direction]
        x, y = x + dx * step, y + dy * step
        out.append(f"G1 X{x:.3f} Y{y:.3f} F3000")
        run += 1
        if run % (10 + 2 * (run // 200)) == 0:
            direction = (direction + 1) % 4
    return "\n".join((out + ["M5", "G4 P0.15"])[:lines]) + "\n"


def one_run(path: Path, mode: str, exec_s: float, link_s: float) -> tuple[float, int, int]:
    """(seconds, lines acknowledged, bytes lost to overflow) of one plot."""
    with GrblSim(planner_blocks=15, exec_s=exec_s, link_s=link_s) as sim:
        tic = time.perf_counter()
        report = plot_file(path, sim.port, mode=mode, machine="grbl-servo")
        return time.perf_counter() - tic, report.acked, sim.overflows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--exec-ms", type=float, default=0.2, help="time GRBL takes to run one move")
    parser.add_argument("--link-ms", type=float, default=0.5, help="the serial link's one-way delay")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"# igae plot streaming, {time.strftime('%Y-%m-%d %H:%M')}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"command: {' '.join(['benchmarks/plot_streaming.py'] + sys.argv[1:])}\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spiral.gcode"
        path.write_text(gcode(args.lines))
        rows = {}
        for mode in ("counting", "simple"):
            runs = [one_run(path, mode, args.exec_ms / 1000, args.link_ms / 1000) for _ in range(args.runs)]
            rows[mode] = (statistics.median(r[0] for r in runs), runs[0][1], max(r[2] for r in runs))
    print(f"| mode | {args.lines}-line file, s (median of {args.runs}) | lines/s | lines acked | bytes lost to overflow |")
    print("|---|---:|---:|---:|---:|")
    for mode, (seconds, acked, lost) in rows.items():
        print(f"| {mode} | {seconds:.2f} | {acked / seconds:.0f} | {acked} | {lost} |")
    print(f"\ncharacter counting is {rows['simple'][0] / rows['counting'][0]:.1f}x faster than send-and-wait "
          f"(link {args.link_ms} ms each way, {args.exec_ms} ms a move, 15 planner blocks)")


if __name__ == "__main__":
    main()
