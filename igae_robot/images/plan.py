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
nodes: 2.0 s of a 3.0 s trace on a 1200x1350 page of 400 digits).  The shortest paths of step 1 are searched
for a few hundred pieces at a time, in one graph of disjoint blocks (:func:`_lines_to_retrace`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from igae_robot.images.stroke_graph import StrokeGraph, path_lengths, split_pieces

__all__ = ["plan_strokes"]


PAIRING_BATCH = 1_000_000  # odd nodes x nodes of the pieces searched in one dijkstra call (8 MB of distances)


def plan_strokes(graph: StrokeGraph, max_retrace: float) -> list[np.ndarray]:
    """Pen-down strokes (N,2) covering every line of the graph, going over lines twice where that saves a
    lift; piece after piece, top first."""
    parts = split_pieces(graph)
    twice = _lines_to_retrace(parts, max_retrace)
    return [stroke for part, doubled in zip(parts, twice) for stroke in _plan_piece(part, doubled)]


def _lines_to_retrace(parts: list[StrokeGraph], max_retrace: float) -> list[list[tuple[int, int, np.ndarray]]]:
    """Each piece's lines to draw twice (:func:`_pair_odd_nodes`).  The shortest paths of many pieces are
    searched in one dijkstra call over a graph of disjoint blocks, a few hundred pieces at a time: a page has
    hundreds of pieces with odd nodes to pair, and a call per piece cost 0.5 ms, most of it scipy's checks
    and conversions (pairing 0.11 s -> 0.035 s on a 1200x1400 page of text).  A search from a node stays
    inside its block and meets its nodes in the same order as in the piece alone, so the paths are the same."""
    odd = [np.array(_odd_nodes(part), dtype=np.intp) for part in parts]
    # Pieces with two odd nodes or none have nothing to pair: their odd nodes start and end the stroke.
    paired = [k for k, part in enumerate(parts) if part.edges and len(odd[k]) > 2]
    lengths = np.maximum(path_lengths([path for k in paired for _, _, path in parts[k].edges]), 1e-6).tolist()
    doubled: list[list] = [[] for _ in parts]
    batch: list[tuple[int, np.ndarray, dict, list]] = []
    sources = nodes = first = 0
    for k in paired:
        if batch and (sources + len(odd[k])) * (nodes + len(parts[k].nodes)) > PAIRING_BATCH:
            _search_batch(parts, batch, max_retrace, doubled)
            batch, sources, nodes = [], 0, 0
        part_lengths = lengths[first : first + len(parts[k].edges)]
        first += len(parts[k].edges)
        batch.append((k, odd[k], _shortest_lines(parts[k], part_lengths), part_lengths))
        sources, nodes = sources + len(odd[k]), nodes + len(parts[k].nodes)
    if batch:
        _search_batch(parts, batch, max_retrace, doubled)
    return doubled


def _odd_nodes(graph: StrokeGraph) -> list[int]:
    """The nodes where an odd number of lines meet, in order (a list's counts: a piece has a handful of lines,
    fewer than numpy's calls are worth)."""
    deg = [0] * len(graph.nodes)
    for a, b, _ in graph.edges:
        deg[a] += 1
        deg[b] += 1
    return [v for v, d in enumerate(deg) if d % 2 == 1]


def _shortest_lines(graph: StrokeGraph, lengths: list[float]) -> dict[tuple[int, int], int]:
    """Per node pair (low, high) the shortest line between them (``lengths``: each edge's), as its edge index."""
    best: dict[tuple[int, int], int] = {}
    for k, (u, v, _) in enumerate(graph.edges):
        key = (min(u, v), max(u, v))
        if u != v and (key not in best or lengths[k] < lengths[best[key]]):
            best[key] = k
    return best


def _search_batch(parts: list[StrokeGraph], batch, max_retrace: float, doubled: list[list]) -> None:
    """Shortest paths from the odd nodes of a batch of pieces ((piece, odd nodes, shortest lines, lengths)
    each), in one graph of disjoint blocks, then each piece's pairs: into ``doubled``."""
    offsets = np.cumsum([0] + [len(parts[k].nodes) for k, *_ in batch])
    rows, cols, weights = [], [], []
    for (_, _, best, lengths), offset in zip(batch, offsets):
        rows += [u + offset for u, _ in best]
        cols += [v + offset for _, v in best]
        weights += [lengths[e] for e in best.values()]
    matrix = coo_matrix((weights, (rows, cols)), shape=(offsets[-1], offsets[-1])).tocsr()
    sources = np.concatenate([odd + offset for (_, odd, _, _), offset in zip(batch, offsets)])
    # Paths longer than max_retrace are never drawn twice, so the searches stop there (the same distances and
    # predecessors within it: a search settles nodes in the same order up to the limit).
    dist, pred = dijkstra(matrix, directed=False, indices=sources, return_predecessors=True, limit=max_retrace + 1e-6)
    first = 0
    for (k, odd, best, _), lo, hi in zip(batch, offsets[:-1], offsets[1:]):
        rows_of = slice(first, first + len(odd))
        first += len(odd)
        near, before = dist[rows_of, odd + lo], pred[rows_of, lo:hi] - lo
        doubled[k] = _pair_odd_nodes(parts[k], odd, best, near, before, max_retrace)


def _pair_odd_nodes(
    graph: StrokeGraph, odd: np.ndarray, best: dict, dist: np.ndarray, pred: np.ndarray, max_retrace: float,
) -> list[tuple[int, int, np.ndarray]]:
    """The lines to draw twice in one piece: shortest paths between its odd nodes, nearest pairs first, leaving
    two odd nodes for the stroke's start and end.  ``dist`` (K,K): between the odd nodes; ``pred`` (K,N): the
    node before each node on the shortest path from each odd node; ``best``: see :func:`_shortest_lines`."""
    # The pairs near enough to retrace, nearest first (ties: by the first node, then the second).  Sorted in
    # numpy, not as Python tuples: on a page of pencil text whose ruled lines join it into a few large pieces
    # (up to 250 odd nodes each, 400 000 pairs in all), sorting every pair made the trace 0.29 s instead of
    # 0.15; the far pairs are never used anyway.
    a_of, b_of = np.triu_indices(len(odd), 1)
    d_of = dist[a_of, b_of]
    near = d_of <= max_retrace
    order = np.lexsort((b_of[near], a_of[near], d_of[near]))
    left, used, doubled = len(odd), set(), []
    for a, b in zip(a_of[near][order].tolist(), b_of[near][order].tolist()):
        if left <= 2:
            break
        if a in used or b in used:
            continue
        used.update((a, b))
        left -= 2
        node = int(odd[b])
        while node != odd[a]:  # walk the predecessor chain back, doubling each line on it
            prev = int(pred[a, node])
            doubled.append(graph.edges[best[(min(prev, node), max(prev, node))]])
            node = prev
    return doubled


def _plan_piece(graph: StrokeGraph, doubled: list[tuple[int, int, np.ndarray]]) -> list[np.ndarray]:
    """plan_strokes of one connected piece, with its lines to draw twice."""
    edges = list(graph.edges) + doubled
    dots = [graph.nodes[k : k + 1] for k in graph.dots]
    if not edges:
        return dots
    # Pen lifts as lines without a path, joining the odd nodes left over, so that the piece can be walked
    # in one go (Hierholzer needs at most two odd nodes) and then cut where it lifts.
    edges += _lifts(graph, edges)
    unused = set(range(len(edges)))
    incident: dict[int, list[int]] = {}
    for k, (a, b, _) in enumerate(edges):
        incident.setdefault(a, []).append(k)
        incident.setdefault(b, []).append(k)
    strokes = []
    while unused:
        strokes += _cut_at_lifts(edges, _tour(edges, incident, unused, _start_node(edges, incident, unused)))
    return strokes + dots


def _lifts(graph: StrokeGraph, edges) -> list[tuple[int, int, None]]:
    """Pen-up joins between the odd nodes of one piece, nearest first, leaving two."""
    lifts = []
    odd = _odd_nodes(StrokeGraph(graph.nodes, edges))
    while len(odd) > 2:
        v = odd.pop(0)
        # The nearest, the first of equals; one array operation, not a norm per node (on text-4 of the benchmark
        # pages, pencil text joined by ruled lines, 11 000 norms took 30 ms).
        gap = graph.nodes[odd] - graph.nodes[v]
        u = odd.pop(int(np.argmin(np.sqrt(gap[:, 0] * gap[:, 0] + gap[:, 1] * gap[:, 1]))))
        lifts.append((v, u, None))
    return lifts


def _start_node(edges, incident, unused) -> int:
    """An odd node (by unused lines) if there is one, leftmost then topmost; else any node of an unused line."""
    odd = [v for v, ks in incident.items() if sum(k in unused for k in ks) % 2 == 1]
    candidates = odd or [edges[min(unused)][0]]
    return min(candidates, key=lambda v: _node_position(edges, incident, v))


def _node_position(edges, incident, v) -> tuple[float, float]:
    a, b, path = edges[incident[v][0]]
    x, y = (path[0] if a == v else path[-1]).tolist()  # Python floats: numpy's scalars cost 3x
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
    ix, iy = _direction(path, into=b == node)

    def turn(k: int) -> float:
        u, v, p = edges[k]
        if p is None:  # a lift only when no line goes on
            return 2.0
        ox, oy = _direction(p, into=u != node)  # along line k into the node: minus the way out, so + is -cos
        return (ix * ox + iy * oy) / (math.hypot(ix, iy) * math.hypot(ox, oy) + 1e-9)

    return min(options, key=turn)


def _direction(path: np.ndarray, into: bool) -> tuple[float, float]:
    """The direction (x, y) over three steps into ``path``'s last point (``into``) or into its first, walking it
    backwards; as Python floats (numpy's arithmetic on pairs costs several times more)."""
    if into:
        (x0, y0), (x1, y1) = path[max(0, len(path) - 4)].tolist(), path[-1].tolist()
    else:
        (x0, y0), (x1, y1) = path[min(len(path) - 1, 3)].tolist(), path[0].tolist()
    return x1 - x0, y1 - y0
