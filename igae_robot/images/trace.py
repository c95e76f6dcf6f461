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

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from igae_robot.images.plan import plan_strokes
from igae_robot.images.stroke_graph import StrokeGraph, path_length, pieces

__all__ = ["StrokeGraph", "median_stroke_width", "skeleton", "stroke_graph", "prune_spurs", "plan_strokes", "trace_strokes"]

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
    """scikit-image's ``skeletonize`` of ``binary`` (H,W) bool, remembered for the last image.

    A page is skeletonized for its stroke width when it is read, and again when it is traced: on a page
    with thick or hatched ink each took 0.27 s, more than the fit.  The two stages meet only through the
    image, so the last skeleton is kept with a digest of the pixels it came from (a few ms) and used
    again for the same pixels.  Thinning decides each pixel from its 3x3 neighbours, so 8-connected
    pieces are thinned independently: the skeleton of the image less some pieces is the skeleton less
    theirs (how :func:`trace_strokes` reuses it after removing dust)."""
    from skimage.morphology import skeletonize

    binary = np.asarray(binary, dtype=bool)
    key = (binary.shape, hashlib.blake2b(np.packbits(binary).tobytes(), digest_size=16).digest())
    if _LAST_SKELETON and _LAST_SKELETON[0][0] == key:
        return _LAST_SKELETON[0][1].copy()
    skel = skeletonize(binary)
    _LAST_SKELETON[:] = [(key, skel.copy())]
    return skel


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
    ink_rows, ink_cols = np.flatnonzero(binary.any(1)), np.flatnonzero(binary.any(0))
    top, left = ink_rows[0], ink_cols[0]
    box = np.pad(binary[top : ink_rows[-1] + 1, left : ink_cols[-1] + 1], 2)
    inner = box[1:-1, 1:-1]  # the ink's bounding box and a ring of paper around it
    edge = ~inner & (box[:-2, 1:-1] | box[2:, 1:-1] | box[1:-1, :-2] | box[1:-1, 2:])
    edge_rows, edge_cols = np.nonzero(edge)
    paper = np.column_stack([edge_rows + (top - 1), edge_cols + (left - 1)]).astype(np.float64)
    tree = cKDTree(paper, balanced_tree=False, compact_nodes=False)  # built once, queried once: quicker so
    return tree.query(np.column_stack([rows, cols]).astype(np.float64))[0]


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
    (``skel``: that skeleton, when already known)."""
    skel = skeleton(binary) if skel is None else skel
    count = ndimage.convolve(skel.astype(np.int32), _EIGHT.astype(np.int32), mode="constant") - 1
    is_node = skel & (count != 2)
    clusters, n_clusters = ndimage.label(is_node, structure=_EIGHT)
    # A closed loop has no end or junction: its first pixel (row-major) becomes a node.  Found among the
    # skeleton's pixels only (a loop over every label of a page compared the whole page per label).
    loops, _ = ndimage.label(skel, structure=_EIGHT)
    flat = np.flatnonzero(skel)
    labels = loops.ravel()[flat]
    has_node = np.zeros(labels.max(initial=0) + 1, bool)
    has_node[labels[clusters.ravel()[flat] > 0]] = True
    found, first = np.unique(labels, return_index=True)  # skeleton pixels are in row-major order
    for k in first[~has_node[found]]:
        n_clusters += 1
        clusters.ravel()[flat[k]] = n_clusters
    nodes = _cluster_centres(clusters, n_clusters)
    edges = _edges(skel, clusters, nodes)
    joined = {a for a, _, _ in edges} | {b for _, b, _ in edges}
    return StrokeGraph(nodes, edges, [k for k in range(len(nodes)) if k not in joined])


def _cluster_centres(clusters: np.ndarray, count: int) -> np.ndarray:
    """The centre (x, y) of each labelled cluster 1..count, pixel centres at +0.5: ndimage.center_of_mass's
    value (sums of whole pixel indices are exact either way), from one bincount instead of its per-label pass."""
    flat = np.flatnonzero(clusters)
    labels = clusters.ravel()[flat]
    rows, cols = np.divmod(flat, clusters.shape[1])
    size = np.bincount(labels, minlength=count + 1)[1:].astype(np.float64)
    x = np.bincount(labels, weights=cols, minlength=count + 1)[1:] / size
    y = np.bincount(labels, weights=rows, minlength=count + 1)[1:] / size
    return np.column_stack([x + 0.5, y + 0.5]).reshape(-1, 2)


def _edges(skel: np.ndarray, clusters: np.ndarray, nodes: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Walk from every node pixel along the line pixels to the next node; each line once.

    Pixels are flat indices into the skeleton padded by one pixel (no bounds to check), looked up in a set
    and a dict: the walk is a Python loop over every skeleton pixel of a page, and this keeps it at about
    a microsecond a pixel (tuples and array lookups cost five times that)."""
    width = skel.shape[1] + 2
    flat = np.flatnonzero(np.pad(skel, 1))
    on = set(flat.tolist())
    labels = np.pad(clusters, 1).ravel()[flat]
    node_of = {int(f): int(c) - 1 for f, c in zip(flat[labels > 0], labels[labels > 0])}  # pixel -> node
    steps = [di * width + dj for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]
    seen: set[int] = set()  # line pixels already on an edge
    touching: set[tuple[int, int]] = set()  # node pixel pairs already joined directly
    edges = []
    for p, start in node_of.items():
        for q in [p + d for d in steps if p + d in on]:
            end = node_of.get(q)
            if end == start:
                continue
            if end is not None:  # two nodes side by side: a one-pixel line
                if (min(p, q), max(p, q)) not in touching:
                    touching.add((min(p, q), max(p, q)))
                    edges.append((start, end, np.array([nodes[start], nodes[end]])))
                continue
            if q in seen:
                continue
            end, pixels = _walk(on, node_of, steps, p, q, seen)
            rows, cols = np.divmod(np.array(pixels), width)
            inner = np.column_stack([cols - 0.5, rows - 0.5])  # padded (row, col) -> pixel centre (x, y)
            path = [nodes[start][None], inner] + ([nodes[end][None]] if end is not None else [])
            edges.append((start, start if end is None else end, np.concatenate(path).astype(np.float64)))
    return edges


def _walk(on: set[int], node_of: dict[int, int], steps: list[int], prev: int, q: int, seen: set[int]):
    """Line pixels from ``q`` (leaving ``prev``) up to the next node; returns (node index or None, pixels)."""
    pixels = []
    while True:
        seen.add(q)
        pixels.append(q)
        around = [q + d for d in steps if q + d in on]
        options = [r for r in around if r != prev and r not in seen]
        nodes = [r for r in options if r in node_of]
        if nodes:
            return node_of[nodes[0]], pixels
        if not options:  # back at where a loop started, or a dead end of odd thinning
            back = [r for r in around if r in node_of and r != prev]
            return (node_of[back[0]] if back else None), pixels
        prev, q = q, options[0]


def prune_spurs(graph: StrokeGraph, min_length: float) -> StrokeGraph:
    """Remove lines shorter than ``min_length`` that end in nothing and start at a junction (repeated once
    more, as removing one spur can leave another)."""
    edges = list(graph.edges)
    for _ in range(2):
        deg = np.zeros(len(graph.nodes), dtype=int)
        for a, b, _ in edges:
            deg[a] += 1
            deg[b] += 1
        keep = []
        for a, b, path in edges:
            spur = a != b and min(deg[a], deg[b]) == 1 and max(deg[a], deg[b]) >= 3 and path_length(path) < min_length
            if spur:
                deg[a] -= 1
                deg[b] -= 1
            else:
                keep.append((a, b, path))
        edges = keep
    return StrokeGraph(graph.nodes, edges, graph.dots)


def _without_dust(binary: np.ndarray, min_area: float) -> np.ndarray:
    """``binary`` without its 8-connected specks of fewer than ``min_area`` pixels (a scan's dust would
    each cost a pen lift); a one-pixel pen keeps every speck."""
    binary = np.asarray(binary, dtype=bool)
    if min_area <= 1:
        return binary
    labels, count = ndimage.label(binary, structure=_EIGHT)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= min_area
    keep[0] = False
    return keep[labels]


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
