"""Joined-up writing (``igae handwrite --connect``): the pen stays down through a word; dots and crossings come after.

    letters of a word, each its pen-down runs (page mm)
        --the longest run of each letter is its body; the others (the dot of an i, the bar of a t) are marks
        --each pair of neighbours joined where they come closest, near the line (the link)
        --each body traced from where the link enters it to where the next link leaves it--> one stroke
        --then the marks, letter by letter, each its own stroke: the pen is lifted for them after the word

A link joins two neighbouring letters' bodies at the pair of points that are closest, counting a point's height
off the baseline as distance too (``LINE_PULL``): joins low down, as a cursive hand joins -- but at the top of
an o, v, w or r (``HIGH_EXITS``), as a cursive hand leaves them.  To enter a body in
the middle and leave it elsewhere, the pen runs along the body to one end and back over it: a stretch drawn
twice looks drawn once, so the page shows the letters as the pen engine drew them and the links, nothing else.
In a script (a style with advances, where letters stand so that one's exit stroke meets the next one's entry)
the links are a pen width or less.
"""

from __future__ import annotations

import numpy as np

from igae_robot.images.stroke_graph import path_length
from igae_robot.paper.geometry import Polyline

__all__ = ["cursive_word", "touching_chains", "LINE_PULL"]

LINE_PULL = 0.5  # mm of link length a join point's height off the baseline counts as, per mm
HIGH_EXITS = set("ovwr")  # letters a cursive hand leaves at the top: joined at the bottom, an o reads as an a


def _joins(a: np.ndarray, b: np.ndarray, base_a: float, base_b: float, pull: float = LINE_PULL) -> tuple[int, int]:
    """Where to join body ``a`` to the next body ``b`` (N,2)/(M,2) page mm: the indices of the closest pair,
    each point's distance from its baseline (page y) counting ``pull`` times."""
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    cost += pull * (np.abs(a[:, 1] - base_a)[:, None] + np.abs(b[:, 1] - base_b)[None, :])
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return int(i), int(j)


def _trace(run: np.ndarray, enter: int, leave: int | None) -> np.ndarray:
    """The whole run, from point ``enter`` to point ``leave`` (None: to whichever end comes last), by way of both
    ends: the shorter of enter -> start -> end -> leave and enter -> end -> start -> leave."""
    last = len(run) - 1
    if leave is None:
        return np.concatenate([run[enter::-1], run[1:]]) if enter <= last - enter else np.concatenate([run[enter:], run[-2::-1]])
    if enter + last + (last - leave) <= (last - enter) + last + leave:
        return np.concatenate([run[enter::-1], run[1:], run[last - 1 : leave - 1 if leave else None : -1]])
    return np.concatenate([run[enter:], run[-2::-1], run[1 : leave + 1]])


def cursive_word(chars: str, letters: list[list[np.ndarray]], glyphs: list[int], baselines: list[float], dt_s: float) -> list[Polyline]:
    """One word joined up: ``chars`` its letters, ``letters`` each one's pen-down runs (N,2) page mm (at least one),
    ``glyphs`` their placement numbers, ``baselines`` the page y of their baselines.  Returns the joined stroke
    (labelled with the first letter's glyph), then every mark (labelled with its own letter's glyph), each drawn
    ``dt_s`` seconds per point."""
    mains = [int(np.argmax([path_length(r) for r in runs])) for runs in letters]
    bodies = [runs[m] for runs, m in zip(letters, mains)]
    lines = [(float(a[:, 1].min()),) * 2 if c in HIGH_EXITS else (ya, yb) for a, c, ya, yb in zip(bodies, chars, baselines, baselines[1:])]
    out = [_polyline(_path(bodies, [_joins(a, b, *line) for a, b, line in zip(bodies, bodies[1:], lines)]), glyphs[0], dt_s)]
    for runs, m, glyph in zip(letters, mains, glyphs):
        out += [_polyline(r, glyph, dt_s) for k, r in enumerate(runs) if k != m]
    return out


def _path(bodies: list[np.ndarray], joins: list[tuple[int, int]]) -> np.ndarray:
    """The bodies traced in turn, each from where the join before it enters to where the join after it leaves."""
    enters = [0] + [j for _, j in joins]
    leaves: list[int | None] = [i for i, _ in joins] + [None]
    return np.concatenate([_trace(b, e, x) for b, e, x in zip(bodies, enters, leaves)])


def touching_chains(runs: list[np.ndarray], reach: float) -> list[np.ndarray]:
    """The pen-down runs (N,2) of one drawing as few strokes: taken left to right (by their leftmost point), a run
    that comes within ``reach`` of the run before it is joined to it (through their closest points, each traced
    whole, so nothing is drawn but a link shorter than ``reach``), else it starts a stroke of its own."""
    chains: list[list[np.ndarray]] = []
    for run in sorted(runs, key=lambda r: float(r[:, 0].min())):
        if chains and np.linalg.norm(chains[-1][-1][:, None, :] - run[None, :, :], axis=2).min() <= reach:
            chains[-1].append(run)
        else:
            chains.append([run])
    return [_path(c, [_joins(a, b, 0.0, 0.0, pull=0.0) for a, b in zip(c, c[1:])]) for c in chains]


def _polyline(points: np.ndarray, glyph: int, dt_s: float) -> Polyline:
    return Polyline(points, np.full(len(points), 0.5), np.arange(1, len(points) + 1) * dt_s, glyph)
