"""The skeleton's graph: the chains found at once are the lines a pixel-by-pixel walk finds, in the same order."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from igae_robot.images.stroke_graph import skeleton_graph
from igae_robot.images.trace import skeleton

_EIGHT = np.ones((3, 3), bool)


def _walked_graph(skel: np.ndarray):
    """(nodes, edges, dots) as the pixel walk that skeleton_graph replaced built them: the reference."""
    count = ndimage.convolve(skel.astype(int), _EIGHT.astype(int), mode="constant") - 1
    clusters, n = ndimage.label(skel & (count != 2), structure=_EIGHT)
    parts, n_parts = ndimage.label(skel, structure=_EIGHT)
    for k in range(1, n_parts + 1):  # a closed loop without a node: its first pixel becomes one
        if not clusters[parts == k].any():
            n += 1
            clusters[tuple(np.argwhere(parts == k)[0])] = n
    nodes = np.array([np.argwhere(clusters == k).mean(0)[::-1] + 0.5 for k in range(1, n + 1)]).reshape(-1, 2)
    width = skel.shape[1] + 2
    on = set(np.flatnonzero(np.pad(skel, 1)).tolist())
    padded = np.pad(clusters, 1).ravel()
    node_of = {f: int(padded[f]) - 1 for f in np.flatnonzero(padded).tolist()}
    steps = [di * width + dj for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj]
    seen, touching, edges = set(), set(), []
    for p, start in node_of.items():
        for q in [p + d for d in steps if p + d in on]:
            end = node_of.get(q)
            if end is not None:  # two node pixels side by side: a one-pixel line between different nodes
                if end != start and (min(p, q), max(p, q)) not in touching:
                    touching.add((min(p, q), max(p, q)))
                    edges.append((start, end, np.array([nodes[start], nodes[end]])))
                continue
            if q in seen:
                continue
            prev, pixels = p, []
            while True:
                seen.add(q)
                pixels.append(q)
                around = [q + d for d in steps if q + d in on]
                options = [r for r in around if r != prev and r not in seen]
                ends = [r for r in options if r in node_of]
                if ends or not options:
                    ends = ends or [r for r in around if r in node_of and r != prev]
                    break
                prev, q = q, options[0]
            rows, cols = np.divmod(np.array(pixels), width)
            inner = [nodes[start][None], np.column_stack([cols - 0.5, rows - 0.5])]
            end = node_of[ends[0]] if ends else None
            path = np.concatenate(inner + ([nodes[end][None]] if ends else [])).astype(np.float64)
            edges.append((start, start if end is None else end, path))
    joined = {a for a, _, _ in edges} | {b for _, b, _ in edges}
    return nodes, edges, [k for k in range(len(nodes)) if k not in joined]


def _drawn(seed: int, size=(120, 90)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    im = Image.new("L", size, 0)
    d = ImageDraw.Draw(im)
    for _ in range(8):  # lines, curves and blobs, some running off the canvas (ink on the border)
        d.line([tuple(p) for p in rng.uniform(-10, 130, (4, 2))], fill=255, width=int(rng.integers(1, 9)))
        x, y = rng.uniform(0, 120, 2)
        d.ellipse((x, y, x + rng.uniform(4, 30), y + rng.uniform(4, 30)), outline=255, width=int(rng.integers(1, 4)))
    return np.asarray(im) > 127


def _ring_triangle_and_specks() -> np.ndarray:
    image = np.zeros((20, 24), bool)
    image[2, 3:8] = image[8, 3:8] = image[3:8, 2] = image[3:8, 8] = True  # a closed loop with no end or junction
    image[12, 12] = image[12, 13] = image[13, 12] = True  # three pixels, each touching the other two
    image[0, 20] = image[19, 0] = image[19, 23] = True  # specks in corners
    image[15:19, 18] = True  # a short line ending on the bottom edge
    return image


SKELETONS = {
    **{f"drawn {k}": (lambda k=k: skeleton(_drawn(k))) for k in range(4)},
    **{f"pixels {k}": (lambda k=k: np.random.default_rng(k).random((50, 60)) < 0.3) for k in range(3)},
    "ring, triangle and specks": _ring_triangle_and_specks,
    "blank": lambda: np.zeros((8, 9), bool),
}


@pytest.mark.parametrize("name", SKELETONS)
def test_lines_are_the_pixel_walk_s_lines_in_its_order(name):
    skel = SKELETONS[name]()
    nodes, edges, dots = _walked_graph(skel)
    graph = skeleton_graph(skel)
    np.testing.assert_array_equal(graph.nodes, nodes)
    assert [(a, b) for a, b, _ in graph.edges] == [(a, b) for a, b, _ in edges]
    for (_, _, path), (_, _, expected) in zip(graph.edges, edges):
        np.testing.assert_array_equal(path, expected)
    assert graph.dots == dots


def test_a_closed_loop_is_one_line_from_its_first_pixel_back_to_it():
    graph = skeleton_graph(_ring_triangle_and_specks())
    loops = [(a, path) for a, b, path in graph.edges if a == b]
    assert len(loops) == 2  # the ring and the triangle
    (ring, path), _ = loops
    assert tuple(graph.nodes[ring]) == (3.5, 2.5) and len(path) == 2 + 20 - 1
    assert len(graph.dots) == 3


def test_path_lengths_are_path_length_s_bit_for_bit():
    from igae_robot.images.stroke_graph import path_length, path_lengths

    rng = np.random.default_rng(4)
    sizes = [0, 1, 2, 3, 8, 9, 17, 129, 300, 1, 5] + rng.integers(0, 200, 300).tolist()  # pairwise sum blocks
    paths = [rng.normal(0, 3, (n, 2)) * rng.uniform(0.1, 100) for n in sizes]
    assert path_lengths(paths).tolist() == [path_length(p) for p in paths]
    assert path_lengths([]).shape == (0,)
