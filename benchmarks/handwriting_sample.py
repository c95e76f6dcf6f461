"""Write the README's sample pages (docs/handwriting-*.svg, each rendered to a .png): the default style, the
default style joined up (--connect), the script style joined up, the cursive style and the old model hand.

    python benchmarks/handwriting_sample.py

The PNG is drawn from the SVG read back (igae_robot.exporters.read_file), each stroke at its pen
width, so it shows what a plotter fed that file would draw.  Prints the plot figures of the page.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from igae_robot.exporters import read_file  # noqa: E402

TEXT = """Dear Ada,

the plotter writes this letter with a pen, one gesture per character: call me at 555 0123 (or 555 0124).

Every letter is sampled anew, so no two are alike. Words can also be joined up (--connect).
"""
CONNECTED = "handwriting joins the letters of every word"


def render_png(svg: Path, png: Path) -> None:
    sheets = [read_file(svg)]
    page = sheets[0].page
    fig = plt.figure(figsize=(page.width_mm / 25.4, page.height_mm / 25.4), dpi=150)
    ax = fig.add_axes([0, 0, 1, 1])
    for sheet in sheets:
        for p in sheet.polylines:
            ax.plot(p.points[:, 0], p.points[:, 1], color="#1a2a6c", linewidth=0.5 + 0.8 * float(p.pressure.mean()),
                    solid_capstyle="round", solid_joinstyle="round")
    ax.set_xlim(0, page.width_mm)
    ax.set_ylim(page.height_mm, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(png, facecolor="white")
    plt.close(fig)


def main() -> None:
    docs = Path("docs")
    igae = [sys.executable, "-m", "igae_robot.cli.main", "handwrite"]
    runs = [
        ("handwriting-sample", [TEXT, "--page", "A5", "--size", "5mm", "--seed", "7"]),
        ("handwriting-connected", [CONNECTED, "--page", "148x50mm", "--margin", "6mm", "--size", "6mm", "--seed", "7", "--connect", "--align", "centre"]),
        ("handwriting-script", [CONNECTED, "--page", "148x50mm", "--margin", "6mm", "--size", "6mm", "--seed", "7", "--connect", "--align", "centre",
                                "--style", "script"]),
        ("handwriting-cursive", [CONNECTED, "--page", "148x50mm", "--margin", "6mm", "--size", "6mm", "--seed", "7", "--align", "centre",
                                 "--style", "cursive"]),
        ("handwriting-model", [CONNECTED, "--page", "148x50mm", "--margin", "6mm", "--size", "6mm", "--seed", "7", "--align", "centre",
                               "--style", "model"]),
    ]
    for name, args in runs:
        tic = time.perf_counter()
        subprocess.run(igae + args + ["-o", str(docs / f"{name}.svg")], check=True)
        print(f"{name}: igae handwrite took {time.perf_counter() - tic:.1f} s (with interpreter start)")
        render_png(docs / f"{name}.svg", docs / f"{name}.png")
    print(f"wrote docs/{{{','.join(name for name, _ in runs)}}}.{{svg,png}}")


if __name__ == "__main__":
    main()
