"""A line drawing as a graph: ends and junctions are nodes, the lines between them edges with their pixel paths.

:func:`skeleton_graph` builds it from the ink's skeleton, :mod:`~igae_robot.images.trace` cleans it up and
:mod:`~igae_robot.images.plan` walks it with a pen.  Coordinates are source pixels, x right, y down, pixel
(row i, column j) centred at (j + 0.5, i + 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

__all__ = ["StrokeGraph", "path_length", "path_lengths", "pieces", "skeleton_graph", "split_pieces"]

_STEPS = [(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]  # a pixel's 8 neighbours, row by row


@dataclass
class StrokeGraph:
    """Nodes (N,2) positions in pixels; edges as (a, b, path (K,2) from node a to node b); dots: nodes
    that are a speck of ink on their own (no line at all)."""

    nodes: np.ndarray
    edges: list[tuple[int, int, np.ndarray]] = field(default_factory=list)
    dots: list[int] = field(default_factory=list)

    def degrees(self) -> np.ndarray:
        ends = np.array([v for a, b, _ in self.edges for v in (a, b)], dtype=np.intp)
        return np.bincount(ends, minlength=len(self.nodes))


def path_length(path: np.ndarray) -> float:
    if len(path) < 2:
        return 0.0
    d = np.diff(path, axis=0)
    return float(np.sqrt(np.einsum("ij,ij->i", d, d)).sum())  # np.linalg.norm's checks cost more than this sum


def path_lengths(paths: list[np.ndarray]) -> np.ndarray:
    """:func:`path_length` of each (K,2) float path, bit for bit: the steps of all of them measured at once,
    then each path's summed as path_length sums them (numpy's pairwise sum of the same values).  A page's
    1 700 lines in 3 ms where a call each took 15 ms."""
    counts = np.array([len(p) for p in paths], dtype=np.intp)
    if not counts.any():
        return np.zeros(len(paths))
    points = np.concatenate(paths)
    d = points[1:] - points[:-1]  # a step from one path to the next too: never summed
    steps = np.sqrt(np.einsum("ij,ij->i", d, d))
    ends = np.cumsum(counts)
    add = np.add.reduce
    starts = (ends - counts).tolist()
    return np.array([float(add(steps[a : b - 1])) if b - a > 1 else 0.0 for a, b in zip(starts, ends.tolist())])


def pieces(graph: StrokeGraph) -> tuple[int, np.ndarray]:
    """Connected pieces: (count, piece index of every node)."""
    n = len(graph.nodes)
    rows = [a for a, _, _ in graph.edges]
    cols = [b for _, b, _ in graph.edges]
    matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(matrix, directed=False)


def split_pieces(graph: StrokeGraph) -> list[StrokeGraph]:
    """Each connected piece as a graph of its own (nodes renumbered), top piece first, then left to right.

    A page has thousands of pieces; planning them one by one keeps every search (shortest paths between
    odd nodes, the start of each walk) inside one piece instead of across the page."""
    count, piece = pieces(graph)
    order = np.argsort(piece, kind="stable")
    starts = np.searchsorted(piece[order], np.arange(count + 1))
    members = [order[starts[p] : starts[p + 1]] for p in range(count)]
    local = np.empty(len(graph.nodes), dtype=np.intp)
    local[order] = np.arange(len(order)) - np.repeat(starts[:-1], np.diff(starts))
    piece_of, local_of = piece.tolist(), local.tolist()  # lists: numpy's scalar lookups cost 5x
    edges: list[list] = [[] for _ in range(count)]
    for a, b, path in graph.edges:
        edges[piece_of[a]].append((local_of[a], local_of[b], path))
    dots: list[list[int]] = [[] for _ in range(count)]
    for v in graph.dots:
        dots[piece_of[v]].append(local_of[v])
    # Each piece's top-left node (rows of 4 px, then x), pieces in the order of theirs, ties by piece.
    x, row = graph.nodes[:, 0], np.round(graph.nodes[:, 1] / 4)
    top_left = np.lexsort((x, row, piece))[starts[:-1]]
    ranked = np.lexsort((np.arange(count), x[top_left], row[top_left]))
    return [StrokeGraph(graph.nodes[members[p]], edges[p], dots[p]) for p in ranked.tolist()]


def skeleton_graph(skel: np.ndarray) -> StrokeGraph:
    """The graph of a one-pixel-wide skeleton (H,W) bool.  Pixels with other than two neighbours are node
    pixels, each 8-connected cluster of them one node at its centre (nodes numbered by their first pixel,
    row-major); a closed loop without any gets a node at its first pixel (numbered after the others).  The
    pixels between nodes are lines, each an edge whose path goes from a node's centre through the pixel
    centres to the next node's centre, starting at the node pixel that touches the line first (row-major,
    then neighbours row by row) and listed in that order.

    Every line pixel has two neighbours, so the lines are chains, found for the whole page at once from the
    skeleton's pixels alone (labelled parts, then one breadth-first search from all their first pixels): the
    same graph as a Python walk pixel by pixel after whole-page convolution and labels, in 0.016 s against
    0.12 s on a 1200x1400 page of text, 0.05 s against 0.50 s on a 300-dpi A4 page."""
    rows, cols, around = _pixel_neighbours(np.asarray(skel, dtype=bool))
    if not len(rows):
        return StrokeGraph(np.zeros((0, 2)), [], [])
    touching, step = np.nonzero(around >= 0)  # every (pixel, neighbour) pair, row-major then step order
    other = around[touching, step]
    is_node = np.bincount(touching, minlength=len(rows)) != 2
    part, first = _same_kind_parts(touching, other, is_node)
    # A closed loop has no end or junction (no line of it touches a node): its first pixel becomes a node.
    meets_node = np.zeros(len(first), bool)
    meets_node[part[touching[is_node[other] & ~is_node[touching]]]] = True
    clusters, loops = first[is_node[first]], first[~is_node[first] & ~meets_node]
    node_of = np.full(len(rows), -1)
    node_of[is_node] = np.searchsorted(clusters, first[part[is_node]])
    node_of[loops] = len(clusters) + np.arange(len(loops))
    is_node[loops] = True
    nodes = _node_centres(rows, cols, node_of, len(clusters) + len(loops))
    ends, pixels, sizes = _lines(touching, other, is_node, part, len(first))
    table = np.concatenate([nodes, np.column_stack([cols + 0.5, rows + 0.5])])
    starts, stops = node_of[touching[ends[:, 0]]], node_of[touching[ends[:, 1]]]
    paths = _line_paths(table, len(nodes) + pixels, starts, stops, sizes)
    joined = np.zeros(len(nodes), bool)
    joined[starts], joined[stops] = True, True
    edges = list(zip(starts.tolist(), stops.tolist(), paths))
    return StrokeGraph(nodes, edges, np.flatnonzero(~joined).tolist())


def _pixel_neighbours(skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols) of the skeleton's pixels, row-major, and each one's 8 neighbours (M,8) as pixel numbers
    in that order (-1: none), row above first."""
    h, w = skel.shape
    flat = np.flatnonzero(skel)
    rows, cols = np.divmod(flat, w)
    padded = (rows + 1) * (w + 2) + cols + 1  # a ring of paper around the page: no bounds to check
    number = np.zeros((h + 2) * (w + 2), np.int64)  # zero pages cost nothing until written: only the ink's are
    number[padded] = np.arange(1, len(flat) + 1)
    steps = np.array([di * (w + 2) + dj for di, dj in _STEPS])
    return rows, cols, number[padded[:, None] + steps] - 1


def _same_kind_parts(touching: np.ndarray, other: np.ndarray, is_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected parts of node pixels and of line pixels, numbered by their first pixel: (each pixel's part,
    each part's first pixel)."""
    m = len(is_node)
    same = is_node[touching] == is_node[other]
    adjacency = csr_matrix((np.ones(int(same.sum()), np.int8), (touching[same], other[same])), shape=(m, m))
    count, label = connected_components(adjacency, directed=False)
    _, first = np.unique(label, return_index=True)
    rank = np.empty(count, np.int64)
    rank[np.argsort(first)] = np.arange(count)
    return rank[label], np.sort(first)


def _node_centres(rows: np.ndarray, cols: np.ndarray, node_of: np.ndarray, count: int) -> np.ndarray:
    """The centre (x, y) of each node's pixels, pixel centres at +0.5 (sums of whole pixel indices are exact)."""
    pixels = np.flatnonzero(node_of >= 0)
    labels = node_of[pixels]
    size = np.bincount(labels, minlength=count).astype(np.float64)
    x = np.bincount(labels, weights=cols[pixels], minlength=count) / size
    y = np.bincount(labels, weights=rows[pixels], minlength=count) / size
    return np.column_stack([x + 0.5, y + 0.5]).reshape(-1, 2)


def _lines(touching, other, is_node, part, parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's two (node pixel, line pixel) pairs (L,2) as indices into ``touching``, first met first, lines in
    the order met; the line pixels, line after line, each line's from its first node on; each line's pixel count."""
    entry = np.flatnonzero(is_node[touching] & ~is_node[other])  # row-major, then step: the order of a walk
    line = part[other[entry]]
    _, first_at = np.unique(line, return_index=True)
    _, last_at = np.unique(line[::-1], return_index=True)
    met = np.argsort(first_at)
    ends = np.column_stack([entry[first_at[met]], entry[len(entry) - 1 - last_at[met]]])
    # One breadth-first search from a root before every line's first pixel: along a chain, the order found.
    m = len(is_node)
    inner = ~is_node[touching] & ~is_node[other]
    firsts = other[ends[:, 0]]
    adjacency = csr_matrix(
        (np.ones(int(inner.sum()) + len(firsts), np.int8),
         (np.concatenate([touching[inner], np.full(len(firsts), m)]), np.concatenate([other[inner], firsts]))),
        shape=(m + 1, m + 1),
    )
    found = breadth_first_order(adjacency, m, directed=True, return_predecessors=False)[1:]
    rank = np.full(parts, -1)
    rank[np.unique(line)[met]] = np.arange(len(met))
    line_of = rank[part[found]]
    return ends, found[np.argsort(line_of, kind="stable")], np.bincount(line_of, minlength=len(met))


def _line_paths(
    table: np.ndarray, pixels: np.ndarray, starts: np.ndarray, stops: np.ndarray, sizes: np.ndarray,
) -> list[np.ndarray]:
    """Each line's path (K,2): its start node's row of ``table``, its pixels' rows (``pixels``: line after line,
    ``sizes`` each), its stop node's row; taken from the table at once and split."""
    if not len(sizes):
        return []
    offsets = np.concatenate([[0], np.cumsum(sizes + 2)])
    index = np.empty(offsets[-1], np.int64)
    index[offsets[:-1]], index[offsets[1:] - 1] = starts, stops
    inside = np.ones(offsets[-1], bool)
    inside[offsets[:-1]], inside[offsets[1:] - 1] = False, False
    index[inside] = pixels
    return np.split(table[index], offsets[1:-1])
