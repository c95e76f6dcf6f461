"""Does the engine draw like a person?  Its strokes against the writer's own, on Omniglot (a report, not a gate).

    .venv/bin/python benchmarks/draw_like_a_person.py --count 200

Omniglot drawings come with the writer's pen strokes (x, y, time).  For drawings of the three alphabets found
only in background_small2 (Japanese katakana, Sanskrit, Tagalog; never used to build the engine), the pen
engine draws each image (trace + fit at the image's own 105 px, pen = its median stroke), and so does the
skeleton tracer; each drawing is compared with the writer's:

* **strokes**: pen-down strokes per drawing, and how often the count equals the writer's;
* **start**: distance from the drawing's first point to the writer's first point, pixels (glyphs are ~60 px);
* **direction**: of the drawing's pen-down length, the share that runs the same way (cosine > 0) as the
  nearest piece of the writer's strokes -- 0.5 is a coin toss, 1 is the writer's direction everywhere;
* **first stroke**: how often the drawing's first stroke runs along the writer's first stroke (its middle
  within 1/8 of the glyph of the writer's first stroke).

The engine is shown twice: with the pen habit (stroke direction and order learned from the writers of
``background_small1``, igae_robot/images/pen_habit.py) and with its planner's own order, as before.

Pixel (row, col) = (-y, x) (SOURCE.md of the data set).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracers import skeleton_polylines  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "omniglot"
HELD_OUT = ("Japanese_(katakana)", "Sanskrit", "Tagalog")


def drawings(count: int, seed: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(ink (105,105) float32, writer's strokes [(N,2) pixels, in drawing order]) of ``count`` held-out drawings."""
    subset = "background_small2"
    with zipfile.ZipFile(DATA / f"images_{subset}.zip") as images, zipfile.ZipFile(DATA / f"strokes_{subset}.zip") as strokes:
        names = sorted(n for n in images.namelist() if n.endswith(".png") and n.split("/")[1] in HELD_OUT)
        pick = np.random.default_rng(seed).choice(len(names), min(count, len(names)), replace=False)
        out = []
        for k in sorted(pick):
            ink = ~np.array(Image.open(io.BytesIO(images.read(names[k]))))
            text = strokes.read(names[k].replace("images_", "strokes_").replace(".png", ".txt")).decode("ascii")
            out.append((ink.astype(np.float32), _strokes(text)))
    return out


def _strokes(text: str) -> list[np.ndarray]:
    out, current = [], []
    for line in text.splitlines():
        if line == "BREAK":
            out.append(np.array(current)[:, :2] * [1, -1])  # (x, -y): pixels, y down
            current = []
        elif line != "START":
            current.append([float(v) for v in line.split(",")])
    return out


def engine(ink: np.ndarray, habit: bool = True) -> list[np.ndarray]:
    """The pen engine's drawing of a glyph as vectorize makes it (``habit`` False: the planner's own order and
    directions, as before the pen habit)."""
    from igae_robot.images.trace import median_stroke_width, trace_strokes
    from igae_robot.model.pen_fit import fit_drawings, to_steps
    from igae_robot.vectorize.engines import glyph_strokes

    pen = median_stroke_width(ink > 0.5)
    strokes = glyph_strokes(ink > 0.5, pen) if habit else trace_strokes(ink > 0.5, pen)
    start = to_steps(strokes, max(1.0, pen / 2))
    return fit_drawings([start], (ink > 0.5)[None].astype(np.float32), pen)[0].strokes()


def direction_agreement(drawing: list[np.ndarray], writer: list[np.ndarray]) -> float:
    """Share of the drawing's pen-down length running the way of the nearest writer segment."""
    w_mid = np.concatenate([(s[1:] + s[:-1]) / 2 for s in writer if len(s) > 1])
    w_dir = np.concatenate([np.diff(s, axis=0) for s in writer if len(s) > 1])
    agree = total = 0.0
    for stroke in drawing:
        if len(stroke) < 2:
            continue
        mid, step = (stroke[1:] + stroke[:-1]) / 2, np.diff(stroke, axis=0)
        nearest = np.argmin(((mid[:, None] - w_mid[None]) ** 2).sum(-1), axis=1)
        length = np.linalg.norm(step, axis=1)
        agree += float(length[(step * w_dir[nearest]).sum(-1) > 0].sum())
        total += float(length.sum())
    return agree / total if total else float("nan")


FIRST_PX = 8.0  # a drawing's first stroke "is" the writer's first when its middle is this close to it (glyphs ~60 px)


def first_stroke_agrees(drawing: list[np.ndarray], writer: list[np.ndarray]) -> float:
    """1 when the middle (by arc length) of the drawing's first stroke lies within FIRST_PX of the writer's first."""
    if not drawing or not writer:
        return float("nan")
    stroke = drawing[0]
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))]
    middle = stroke[int(np.searchsorted(arc, arc[-1] / 2))]
    return float(np.linalg.norm(writer[0] - middle, axis=1).min() <= FIRST_PX)


def compare(drawing: list[np.ndarray], writer: list[np.ndarray]) -> dict:
    return {
        "strokes": len(drawing),
        "same_count": float(len(drawing) == len(writer)),
        "start_px": float(np.linalg.norm(drawing[0][0] - writer[0][0])) if drawing else float("nan"),
        "direction": direction_agreement(drawing, writer),
        "first": first_stroke_agrees(drawing, writer),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    data = drawings(args.count, args.seed)
    print(f"# draw like a person: {len(data)} held-out Omniglot drawings ({', '.join(HELD_OUT)}), {time.strftime('%Y-%m-%d')}, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    writer_strokes = np.mean([len(w) for _, w in data])
    print("| method | strokes / drawing | same count as the writer | start distance px (median) | direction agreement | first stroke is the writer's |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| the writers | {writer_strokes:.2f} | 1.00 | 0 | 1.00 | 1.00 |")
    methods = (("igae pen engine, pen habit (default)", engine), ("igae pen engine, planner's order", lambda ink: engine(ink, False)),
               ("skeleton", lambda ink: skeleton_polylines(ink > 0.5)))
    for name, draw in methods:
        rows = [compare(draw(ink), writer) for ink, writer in data]
        mean = {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
        start = float(np.nanmedian([r["start_px"] for r in rows]))
        print(f"| {name} | {mean['strokes']:.2f} | {mean['same_count']:.2f} | {start:.1f} | {mean['direction']:.2f} | {mean['first']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
