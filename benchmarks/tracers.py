"""Baselines and the pen-drawn score for benchmarks/vectorize_mnist.py (needs the ``bench`` extra: scikit-image).

* :func:`skeleton_polylines` -- centreline tracing: scikit-image ``skeletonize``, then a walk over the
  8-connected skeleton graph that goes on through junctions while an unused edge is left, so each
  pen-down stroke is as long as the graph allows (fewer lifts than one stroke per junction-to-junction branch).
* :func:`read_potrace_svg` -- the outlines potrace wrote, as polylines (Béziers flattened).
* :func:`pen_iou` -- the fidelity of a drawing *as a pen draws it*: the library's judge
  (:func:`igae_robot.images.pen_draw.pen_iou`), re-exported for the benchmarks.

All coordinates are source pixels, x right, y down, pixel (row i, column j) covering [j, j+1] x [i, i+1].
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from igae_robot.images.pen_draw import pen_iou

__all__ = ["skeleton_polylines", "write_polylines_svg", "read_potrace_svg", "pen_iou", "polyline_stats"]

_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def skeleton_polylines(binary: np.ndarray) -> list[np.ndarray]:
    """Centreline polylines (N,2) of a binary image (H,W), pixel centres at (j + 0.5, i + 0.5)."""
    from skimage.morphology import skeletonize

    skel = skeletonize(binary)
    pixels = {(int(i), int(j)) for i, j in zip(*np.nonzero(skel))}
    adjacency = {p: [(p[0] + di, p[1] + dj) for di, dj in _NEIGHBOURS if (p[0] + di, p[1] + dj) in pixels] for p in pixels}
    used: set[frozenset] = set()

    def free(p):
        return [q for q in adjacency[p] if frozenset((p, q)) not in used]

    def walk(p) -> list:
        path = [p]
        while True:
            options = free(p)
            if not options:
                return path
            if len(path) > 1:  # go on as straight as possible through a junction
                d = np.subtract(p, path[-2])
                options.sort(key=lambda q: -float(np.dot(np.subtract(q, p), d)))
            q = options[0]
            used.add(frozenset((p, q)))
            path.append(q)
            p = q

    strokes = []
    # Ends first (degree 1), then whatever is left (loops, isolated pixels), in a fixed order.
    for start in sorted(pixels, key=lambda p: (len(adjacency[p]) != 1, p)):
        while free(start):
            strokes.append(walk(start))
        if not adjacency[start]:
            strokes.append([start])
    return [np.array([(j + 0.5, i + 0.5) for i, j in s], dtype=np.float64) for s in strokes]


def write_polylines_svg(polylines: list[np.ndarray], width: float, height: float, path: str | Path) -> None:
    """A minimal plotter SVG: one ``<path>`` per polyline, user unit = source pixel."""
    body = "".join(
        '<path d="M' + " L".join(f"{x:.2f},{y:.2f}" for x, y in p) + '"/>\n' for p in polylines
    )
    Path(path).write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n'
        f'<g fill="none" stroke="black">\n{body}</g>\n</svg>\n'
    )


_TOKEN = re.compile(r"[MmLlCcZz]|[-+]?(?:\d+\.?\d*|\.\d+)")
_ARITY = {"m": 2, "l": 2, "c": 6, "z": 0}


def read_potrace_svg(path: str | Path, height: float, samples: int = 8) -> list[np.ndarray]:
    """Polylines (closed outlines) of a potrace SVG for an image ``height`` pixels high.

    potrace writes M/m, c, l, z in 0.1 px under ``translate(0,H) scale(0.1,-0.1)``; cubic Béziers are
    flattened into ``samples`` segments.
    """
    out: list[np.ndarray] = []
    for d in re.findall(r'\sd="([^"]*)"', Path(path).read_text()):
        tokens = _TOKEN.findall(d)
        i, cmd, point, start, current = 0, None, np.zeros(2), np.zeros(2), []
        while i < len(tokens):
            if tokens[i].isalpha():
                cmd = tokens[i]
                i += 1
                if cmd in "Zz":
                    if current:
                        out.append(np.array(current + [start]))
                    current, point = [], start
                    continue
            n = _ARITY[cmd.lower()]
            args = np.array([float(t) for t in tokens[i : i + n]]).reshape(-1, 2)
            i += n
            base = point if cmd.islower() else np.zeros(2)
            if cmd in "Mm":
                if current:
                    out.append(np.array(current))
                point = start = args[0] + base
                current = [point]
                cmd = "l" if cmd == "m" else "L"  # implicit lineto after a moveto
            elif cmd in "Ll":
                point = args[0] + base
                current.append(point)
            else:  # cubic Bézier from point through two controls to the end
                c1, c2, end = args + base
                t = np.linspace(0, 1, samples + 1)[1:, None]
                current.extend((1 - t) ** 3 * point + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * end)
                point = end
        if current:
            out.append(np.array(current))
    # 0.1 px units, y up from the bottom edge -> px, y down
    return [np.stack([p[:, 0] * 0.1, height - p[:, 1] * 0.1], axis=1) for p in out]


def polyline_stats(polylines: list[np.ndarray]) -> tuple[int, float]:
    """(pen lifts = strokes, pen-down length in px)."""
    length = sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for p in polylines if len(p) > 1)
    return len(polylines), length
