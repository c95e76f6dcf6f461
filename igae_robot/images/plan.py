"""How a pen walks a stroke graph: every line drawn, with as few pen lifts as the drawing allows.

The trick is the postman's: a pen may go over a short piece of line it has already drawn (ink on ink
changes nothing on paper), so in each connected piece

1. nodes where an odd number of lines meet are paired, nearest first, while the shortest path between a
   pair is at most ``max_retrace`` pixels; the paths are drawn twice.  A piece with ``2k`` odd nodes left
   needs ``k`` strokes (at least one);
2. the piece is walked edge by edge (Hierholzer), going on as straight as possible through junctions,
   and cut where a path would need a pen lift.

Pieces are planned one at a time (:func:`~igae_robot.images.stroke_graph.split_pieces`): on a page of
2 000 pieces every search stays inside its piece (planning the whole page at once was quadratic in its
nodes: 2.0 s of a 3.0 s trace on a 1200x1350 page of 400 digits).
"""

from __future__ import annotations

import math

from collections import Counter

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from igae_robot.images.stroke_graph import StrokeGraph, path_length, pieces, split_pieces

__all__ = ["plan_strokes"]


def plan_strokes(graph: StrokeGraph, max_retrace: float) -> list[np.ndarray]:
    """Pen-down strokes (N,2) covering every line of the graph, going over lines twice where that saves a
    lift; piece after piece, top first."""
    # Each part is one piece by construction: its piece labels are all 0, no need to search them again.
    return [stroke for part in split_pieces(graph) for stroke in _plan_piece(part, max_retrace, np.zeros(len(part.nodes), int))]


def _pair_odd_nodes(graph: StrokeGraph, max_retrace: float, piece: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """The lines to draw twice: shortest paths between odd nodes of the same piece (``piece``: each node's),
    nearest pairs first, leaving two odd nodes per piece for the stroke's start and end."""
    n = len(graph.nodes)
    odd = np.flatnonzero(graph.degrees() % 2 == 1)
    if not graph.edges or len(odd) <= 2:
        return []
    a, b, lengths = zip(*[(a, b, max(path_length(p), 1e-6)) for a, b, p in graph.edges])
    # Per node pair the shortest line between them, and which edge it is.
    best: dict[tuple[int, int], int] = {}
    for k, (u, v) in enumerate(zip(a, b)):
        key = (min(u, v), max(u, v))
        if u != v and (key not in best or lengths[k] < lengths[best[key]]):
            best[key] = k
    rows, cols = zip(*best) if best else ((), ())
    weights = [lengths[k] for k in best.values()]
    matrix = coo_matrix((weights, (rows, cols)), shape=(n, n)).tocsr()
    dist, pred = dijkstra(matrix, directed=False, indices=odd, return_predecessors=True)
    left = Counter(piece[odd].tolist())  # odd nodes still unpaired, per piece
    pairs = sorted((dist[x, odd[y]], x, y) for x in range(len(odd)) for y in range(x + 1, len(odd)))
    used: set[int] = set()
    doubled = []
    for d, x, y in pairs:
        if d > max_retrace or x in used or y in used or piece[odd[x]] != piece[odd[y]] or left[piece[odd[x]]] <= 2:
            continue
        used.update((x, y))
        left[piece[odd[x]]] -= 2
        node = odd[y]
        while node != odd[x]:  # walk the predecessor chain back, doubling each line on it
            prev = pred[x, node]
            k = best[(min(prev, node), max(prev, node))]
            doubled.append(graph.edges[k])
            node = prev
    return doubled


def _plan_piece(graph: StrokeGraph, max_retrace: float, piece: np.ndarray | None = None) -> list[np.ndarray]:
    """plan_strokes of one connected piece (or of several: each is walked, then the next); ``piece``: each
    node's piece, if known."""
    piece = pieces(graph)[1] if piece is None else piece
    edges = list(graph.edges) + _pair_odd_nodes(graph, max_retrace, piece)
    dots = [graph.nodes[k : k + 1] for k in graph.dots]
    if not edges:
        return dots
    # Pen lifts as lines without a path, joining the odd nodes left over, so that every piece can be
    # walked in one go (Hierholzer needs at most two odd nodes) and then cut where it lifts.
    edges += _lifts(graph, edges, piece)
    unused = set(range(len(edges)))
    incident: dict[int, list[int]] = {}
    for k, (a, b, _) in enumerate(edges):
        incident.setdefault(a, []).append(k)
        incident.setdefault(b, []).append(k)
    strokes = []
    while unused:
        strokes += _cut_at_lifts(edges, _tour(edges, incident, unused, _start_node(edges, incident, unused)))
    return strokes + dots


def _lifts(graph: StrokeGraph, edges, piece: np.ndarray) -> list[tuple[int, int, None]]:
    """Pen-up joins between odd nodes of the same piece (``piece``: each node's), nearest first, leaving two per piece."""
    deg = np.zeros(len(graph.nodes), dtype=int)
    for a, b, _ in edges:
        deg[a] += 1
        deg[b] += 1
    lifts = []
    for p in np.unique(piece):
        odd = [v for v in np.flatnonzero((piece == p) & (deg % 2 == 1))]
        while len(odd) > 2:
            v = odd.pop(0)
            u = min(odd, key=lambda u: float(np.linalg.norm(graph.nodes[u] - graph.nodes[v])))
            odd.remove(u)
            lifts.append((v, u, None))
    return lifts


def _start_node(edges, incident, unused) -> int:
    """An odd node (by unused lines) if there is one, leftmost then topmost; else any node of an unused line."""
    odd = [v for v, ks in incident.items() if sum(k in unused for k in ks) % 2 == 1]
    candidates = odd or [edges[min(unused)][0]]
    return min(candidates, key=lambda v: _node_position(edges, incident, v))


def _node_position(edges, incident, v) -> tuple[float, float]:
    a, b, path = edges[incident[v][0]]
    x, y = path[0] if a == v else path[-1]
    return (round(y / 4), x)  # rows of 4 px, then left to right: top first, as people start writing


def _tour(edges, incident, unused, start: int) -> list[tuple[int, int | None]]:
    """An Euler walk from ``start`` by Hierholzer's algorithm (sub-tours spliced in), straightest line first:
    (node, edge that led there) in walking order."""
    stack: list[tuple[int, int | None]] = [(start, None)]
    tour: list[tuple[int, int | None]] = []
    while stack:
        node, came = stack[-1]
        options = [k for k in incident.get(node, []) if k in unused]
        if not options:
            tour.append(stack.pop())
            continue
        k = _straightest(edges, node, came, options)
        unused.discard(k)
        a, b, _ = edges[k]
        stack.append((b if a == node else a, k))
    tour.reverse()
    return tour


def _cut_at_lifts(edges, tour) -> list[np.ndarray]:
    """The walk's strokes: edge paths oriented along the walk, a new stroke after every lift."""
    strokes, points, node = [], [], tour[0][0]
    for nxt, k in tour[1:]:
        a, _, path = edges[k]
        if path is None:
            if points:
                strokes.append(np.concatenate(points))
            points = []
        else:
            piece = path if a == node else path[::-1]
            points.append(piece if not points else piece[1:])
        node = nxt
    if points:
        strokes.append(np.concatenate(points))
    return strokes


def _straightest(edges, node: int, came: int | None, options: list[int]) -> int:
    if came is None or edges[came][2] is None or len(options) == 1:  # fresh from a lift: a line, not another lift
        return min(options, key=lambda k: edges[k][2] is None)
    a, b, path = edges[came]
    into = path[-1] - path[max(0, len(path) - 4)] if b == node else path[0] - path[min(len(path) - 1, 3)]

    def turn(k: int) -> float:
        u, v, p = edges[k]
        if p is None:  # a lift only when no line goes on
            return 2.0
        out = p[min(len(p) - 1, 3)] - p[0] if u == node else p[max(0, len(p) - 4)] - p[-1]
        ix, iy, ox, oy = float(into[0]), float(into[1]), float(out[0]), float(out[1])  # floats: np.linalg costs 10x
        return -(ix * ox + iy * oy) / (math.hypot(ix, iy) * math.hypot(ox, oy) + 1e-9)

    return min(options, key=turn)
