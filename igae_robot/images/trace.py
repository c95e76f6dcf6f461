"""Centreline strokes of a line image, drawn with as few pen lifts as the drawing allows.

A skeleton tracer lifts the pen at every junction it cannot walk through: an "A" costs three or four
strokes, a Korean syllable ten.  A person draws it in one or two.  The trick is the postman's: a pen may
go over a short piece of line it has already drawn (ink on ink changes nothing on paper), so

1. the ink's skeleton (scikit-image ``skeletonize``) becomes a graph: ends and junctions are nodes,
   the lines between them edges, each with its pixel path;
2. spurs shorter than the stroke width go (thinning grows them at every corner; a pen of that width
   covers them anyway), and pieces closer than about a pen width are bridged (a faint line scanned as
   dashes is one stroke);
3. each piece is walked with a pen (:mod:`~igae_robot.images.plan`): odd nodes paired by short lines drawn
   twice, then one walk per piece, as straight as possible through junctions, cut where the pen must lift.

Coordinates are source pixels, x right, y down, pixel (row i, column j) centred at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from igae_robot.images.plan import plan_strokes
from igae_robot.images.stroke_graph import StrokeGraph, path_lengths, pieces, skeleton_graph

__all__ = ["StrokeGraph", "around_ink", "median_stroke_width", "skeleton", "stroke_graph", "prune_spurs", "plan_strokes", "trace_strokes"]

_EIGHT = np.ones((3, 3), dtype=bool)


WIDTH_SAMPLE_PIXELS = 4_000_000  # pixels median_stroke_width measures at most: bands of a large page


def median_stroke_width(binary: np.ndarray) -> float:
    """The median width of the ink's strokes, pixels (0 for no ink): twice the distance from each skeleton
    pixel to the paper, less the half pixel each side by which pixel centres overshoot the edge.

    The pen a plotter would need to draw the image as it is; 2 * area / boundary, the quick estimate of
    :func:`~igae_robot.images.glyphs.stroke_width`, reads a 7-pixel diagonal line as 8.5.  A page larger than
    :data:`WIDTH_SAMPLE_PIXELS` is measured on inked bands spread over it, a few hundred rows each: on a
    600-dpi A4 page the whole took 5.3 s and 1.1 GB over the page (skeleton and float64 distances)."""
    binary = np.asarray(binary, dtype=bool)
    h, w = binary.shape
    if h * w <= WIDTH_SAMPLE_PIXELS:
        widths = _skeleton_widths(binary)[1]
    else:
        parts = []
        for lo, hi, core in _bands(binary):
            rows, values = _skeleton_widths(binary[lo:hi])
            parts.append(values[(rows + lo >= core[0]) & (rows + lo < core[1])])
        widths = np.concatenate(parts or [np.zeros(0)])
    return float(max(1.0, np.median(widths))) if len(widths) else 0.0


_LAST_SKELETON: list = []  # [(key, skeleton)] of the last image skeletonized whole (see skeleton)


def skeleton(binary: np.ndarray) -> np.ndarray:
    """scikit-image's ``skeletonize`` of ``binary`` (H,W) bool, remembered for the last ink.

    A page is skeletonized for its stroke width when it is read, and again when it is traced: on a page
    with thick or hatched ink each took 0.27 s, more than the fit.  The two stages meet only through the
    image, so the last skeleton is kept with a digest of the pixels it came from (a few ms) and used
    again for the same pixels.  Only the ink's box and a ring of paper is thinned (:func:`around_ink`),
    and the digest is of that box, so the same ink cropped (as the pen engine crops a page to its ink)
    finds it too.  Thinning decides each pixel from its 3x3 neighbours, so 8-connected pieces are thinned
    independently: the skeleton of the image less some pieces is the skeleton less theirs (how
    :func:`trace_strokes` reuses it after removing dust)."""
    binary = np.asarray(binary, dtype=bool)
    skel = np.zeros_like(binary)
    around = around_ink(binary)
    if around is None:
        return skel
    box = binary[around]
    key = (box.shape, hashlib.blake2b(np.packbits(box).tobytes(), digest_size=16).digest())
    if not _LAST_SKELETON or _LAST_SKELETON[0][0] != key:
        _LAST_SKELETON[:] = [(key, _thin(box))]
    skel[around] = _LAST_SKELETON[0][1]
    return skel


THIN_SPLIT_PIXELS = 250_000  # ink boxes this large are thinned in two halves at once (see _thin)


def _thin(binary: np.ndarray) -> np.ndarray:
    """scikit-image's ``skeletonize`` of ``binary``; a large image with a blank row (or column) near its middle is
    thinned as the two halves either side of it, on two threads.

    No piece crosses a blank line, and pieces thin independently (see :func:`skeleton`), so the halves'
    skeletons are the whole's, pixel for pixel; scikit-image lets go of the GIL while it thins, and a page
    of digits took 13 ms instead of 22."""
    from skimage.morphology import skeletonize

    cut = _middle_blank(binary) if binary.size >= THIN_SPLIT_PIXELS and _cpus() > 1 else None
    if cut is None:
        return skeletonize(binary)
    axis, at = cut
    # Sliced, not transposed: thinning's passes have a direction, and a transposed image thins differently.
    before, after = (slice(None),) * axis + (slice(None, at),), (slice(None),) * axis + (slice(at + 1, None),)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(skeletonize, [binary[before], binary[after]])
    out = np.zeros_like(binary)
    out[before], out[after] = first, second
    return out


def _middle_blank(binary: np.ndarray) -> tuple[int, int] | None:
    """(axis, index) of the blank row (axis 0) or column (axis 1) nearest the middle of ``binary``, if one lies
    in its middle half (rows first); None otherwise."""
    for axis in (0, 1):
        n = binary.shape[axis]
        blank = np.flatnonzero(~binary.any(axis=1 - axis))
        blank = blank[(blank >= n // 4) & (blank < n - n // 4)]
        if len(blank):
            return axis, int(blank[np.argmin(np.abs(blank - n // 2))])
    return None


def _cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def around_ink(binary: np.ndarray, ring: int = 1) -> tuple[slice, slice] | None:
    """The ink's bounding box and a ring of ``ring`` paper pixels round it (within the image), as slices; None
    for no ink.  Thinning needs a ring of one: a word in the corner of an A4 page was thinned three times
    over its 8.7 Mpx, 0.15 s, where its box is a few thousand pixels."""
    (top, left), box = _ink_box(binary)
    if not box.size:
        return None
    (h, w), (bh, bw) = binary.shape, box.shape
    return slice(max(0, top - ring), min(h, top + bh + ring)), slice(max(0, left - ring), min(w, left + bw + ring))


def _skeleton_widths(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, 2 * depth - 1) of every skeleton pixel of ``binary`` (the depth counts the image edge as paper)."""
    skel = skeleton(binary)
    if not skel.any():
        return np.zeros(0, int), np.zeros(0)
    rows, cols = np.nonzero(skel)
    return rows, 2.0 * _depths(binary, rows, cols) - 1.0


def _depths(binary: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The distance from each of the ink pixels (rows, cols) to the nearest paper pixel centre, the image edge
    counting as paper: ``distance_transform_edt(np.pad(binary, 1))`` there, bit for bit.

    The nearest paper pixel always touches the ink side-on (a step from it towards the ink pixel would be
    nearer, so it is ink), so a k-d tree of those edge pixels answers for the skeleton's pixels alone: on
    1200x1400 pages 0.03-0.05 s where the transform of the whole page took 0.11-0.12 s."""
    (top, left), ink = _ink_box(binary)
    box = np.pad(ink, 2)
    inner = box[1:-1, 1:-1]  # the ink's bounding box and a ring of paper around it
    edge = ~inner & (box[:-2, 1:-1] | box[2:, 1:-1] | box[1:-1, :-2] | box[1:-1, 2:])
    edge_rows, edge_cols = np.nonzero(edge)
    paper = np.column_stack([edge_rows + (top - 1), edge_cols + (left - 1)]).astype(np.float64)
    # Built once, queried once: quicker unbalanced and with leaves of 32 points (a page of digits: build and
    # query 15 -> 11 ms; the nearest point is exact whatever the leaves).
    tree = cKDTree(paper, leafsize=32, balanced_tree=False, compact_nodes=False)
    # The queries are independent: two threads halve the query, the most of the measurement (on a page of
    # digits 18 -> 9 ms of 30 ms); more gain little on a few ten thousand queries.
    return tree.query(np.column_stack([rows, cols]).astype(np.float64), workers=2)[0]


def _ink_box(binary: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
    """((top row, left column), the view of ``binary`` on its ink's bounding box); an inkless image gives an empty box."""
    rows, cols = np.flatnonzero(binary.any(1)), np.flatnonzero(binary.any(0))
    if not len(rows):
        return (0, 0), binary[:0, :0]
    return (int(rows[0]), int(cols[0])), binary[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _bands(binary: np.ndarray):
    """(first row, end row, (core start, core end)) of inked bands spread evenly over a large image, about
    WIDTH_SAMPLE_PIXELS in all; each band reaches half a core beyond its core, so that a stroke cut by the
    band's edge is measured where it is whole."""
    h, w = binary.shape
    core = max(64, WIDTH_SAMPLE_PIXELS // (8 * w))
    starts = [a for a in range(0, h, core) if binary[a : a + core].any()]
    step = max(1, round(len(starts) * 2 * core * w / WIDTH_SAMPLE_PIXELS))
    for a in starts[::step]:
        yield max(0, a - core // 2), min(h, a + core + core // 2), (a, a + core)


def stroke_graph(binary: np.ndarray, skel: np.ndarray | None = None) -> StrokeGraph:
    """The skeleton of ``binary`` (H,W) bool as a graph of ends, junctions and the lines between them
    (``skel``: that skeleton, when already known); see :func:`~igae_robot.images.stroke_graph.skeleton_graph`."""
    return skeleton_graph(skeleton(binary) if skel is None else skel)


def prune_spurs(graph: StrokeGraph, min_length: float) -> StrokeGraph:
    """Remove lines shorter than ``min_length`` that end in nothing and start at a junction (repeated once
    more, as removing one spur can leave another)."""
    edges = list(graph.edges)
    # Every line measured at once: 0.02 s -> 0.005 s on a page of text.
    short = (path_lengths([path for _, _, path in edges]) < min_length).tolist()
    for _ in range(2):
        deg = [0] * len(graph.nodes)
        for a, b, _ in edges:
            deg[a] += 1
            deg[b] += 1
        keep, keep_short = [], []
        for (a, b, path), is_short in zip(edges, short):
            if a != b and is_short and min(deg[a], deg[b]) == 1 and max(deg[a], deg[b]) >= 3:  # a spur
                deg[a] -= 1
                deg[b] -= 1
            else:
                keep.append((a, b, path))
                keep_short.append(is_short)
        edges, short = keep, keep_short
    return StrokeGraph(graph.nodes, edges, graph.dots)


def _without_dust(binary: np.ndarray, min_area: float) -> np.ndarray:
    """``binary`` without its 8-connected specks of fewer than ``min_area`` pixels (a scan's dust would
    each cost a pen lift); a one-pixel pen keeps every speck.  ``binary`` itself when nothing goes.

    Labelled within the ink's bounding box and counted over the ink's pixels alone: 0.09 s -> 0.05 s on a
    300-dpi A4 page, 0.08 s -> 0.001 s on one with a few lines near its edge."""
    binary = np.asarray(binary, dtype=bool)
    (top, left), box = _ink_box(binary)
    if min_area <= 1 or not box.size:
        return binary
    labels, count = ndimage.label(box, structure=_EIGHT)
    ink = np.flatnonzero(box)
    label = labels.ravel()[ink]
    dust = ink[(np.bincount(label, minlength=count + 1) < min_area)[label]]
    if not len(dust):
        return binary
    clean = binary.copy()
    dust_rows, dust_cols = np.divmod(dust, box.shape[1])
    clean[dust_rows + top, dust_cols + left] = False
    return clean


def bridge_gaps(graph: StrokeGraph, max_gap: float) -> StrokeGraph:
    """Join pieces whose nearest nodes are at most ``max_gap`` pixels apart with a straight line, shortest
    first, each join connecting two pieces not yet connected (a spanning forest, as Kruskal builds it).

    A thin line scanned faintly breaks into dashes; a pen that stops at every gap lifts dozens of times
    for what is one stroke.  A gap shorter than about a pen width costs little ink off the source."""
    dots = set(graph.dots)
    ends = [v for v in range(len(graph.nodes)) if v not in dots] + list(graph.dots)
    _, piece = pieces(graph)
    if len(set(piece[ends])) < 2:
        return graph
    pos = graph.nodes[ends]
    # Pairs within reach from a k-d tree: a page has tens of thousands of nodes, too many for all pairs.
    close = cKDTree(pos).query_pairs(max_gap, output_type="ndarray")
    rows, cols = close[:, 0], close[:, 1]
    gaps = np.linalg.norm(pos[rows] - pos[cols], axis=1)
    parent = list(range(len(graph.nodes)))

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    first: dict[int, int] = {}  # the pieces as they are: one set each
    for v, p in enumerate(piece):
        first.setdefault(p, v)
        parent[root(v)] = root(first[p])
    edges = list(graph.edges)
    for k in np.lexsort((cols, rows, gaps)):  # shortest first, ties in a fixed order
        a, b = ends[rows[k]], ends[cols[k]]
        if root(a) != root(b):
            parent[root(a)] = root(b)
            edges.append((a, b, np.array([graph.nodes[a], graph.nodes[b]])))
            dots -= {a, b}
    return StrokeGraph(graph.nodes, edges, sorted(dots))


def trace_strokes(
    binary: np.ndarray, width: float, max_retrace: float | None = None, max_gap: float | None = None,
) -> list[np.ndarray]:
    """Centreline strokes (N,2) of ``binary`` (H,W) bool drawn by a pen ``width`` pixels wide: specks smaller
    than half a pen-width square are dust, spurs shorter than the pen go, gaps up to ``max_gap`` (default 1.5
    pens, at least 2 pixels) are bridged, lines up to ``max_retrace`` (default 6 pens) are drawn twice where
    that saves a lift."""
    clean = _without_dust(binary, 0.5 * width * width)
    graph = prune_spurs(stroke_graph(clean, skeleton(binary) & clean), min_length=width)
    graph = bridge_gaps(graph, max(2.0, 1.5 * width) if max_gap is None else max_gap)
    # 6 pens: on 30 printed letters at 28 px lifts 1.90 -> 1.73, on 30 Omniglot drawings at 105 px 1.87 -> 1.57,
    # for 0.001 of pen-drawn IoU (4 pens before; seed 2026 of benchmarks/pen_fidelity.py).
    return plan_strokes(graph, 6.0 * width if max_retrace is None else max_retrace)
