"""A line drawing as a graph: ends and junctions are nodes, the lines between them edges with their pixel paths.

:mod:`~igae_robot.images.trace` builds it from the ink's skeleton and cleans it up; :mod:`~igae_robot.images.plan`
walks it with a pen.  Coordinates are source pixels, x right, y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["StrokeGraph", "path_length", "pieces", "split_pieces"]


@dataclass
class StrokeGraph:
    """Nodes (N,2) positions in pixels; edges as (a, b, path (K,2) from node a to node b); dots: nodes
    that are a speck of ink on their own (no line at all)."""

    nodes: np.ndarray
    edges: list[tuple[int, int, np.ndarray]] = field(default_factory=list)
    dots: list[int] = field(default_factory=list)

    def degrees(self) -> np.ndarray:
        deg = np.zeros(len(self.nodes), dtype=int)
        for a, b, _ in self.edges:
            deg[a] += 1
            deg[b] += 1
        return deg


def path_length(path: np.ndarray) -> float:
    if len(path) < 2:
        return 0.0
    d = np.diff(path, axis=0)
    return float(np.sqrt(np.einsum("ij,ij->i", d, d)).sum())  # np.linalg.norm's checks cost more than this sum


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
    local = np.empty(len(graph.nodes), dtype=np.intp)
    members = [order[starts[p] : starts[p + 1]] for p in range(count)]
    for m in members:
        local[m] = np.arange(len(m))
    edges: list[list] = [[] for _ in range(count)]
    for a, b, path in graph.edges:
        edges[piece[a]].append((int(local[a]), int(local[b]), path))
    dots: list[list[int]] = [[] for _ in range(count)]
    for v in graph.dots:
        dots[piece[v]].append(int(local[v]))
    top_left = [min((round(float(y) / 4), float(x)) for x, y in graph.nodes[m]) for m in members]
    return [StrokeGraph(graph.nodes[members[p]], edges[p], dots[p]) for p in sorted(range(count), key=top_left.__getitem__)]
