"""The centreline planner: every line of the ink drawn, with as few pen lifts as the drawing allows."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from igae_robot.images.trace import plan_strokes, prune_spurs, stroke_graph, trace_strokes


def _ink(lines, size=64, width=5, dots=()):
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    for line in lines:
        d.line(line, fill=255, width=width, joint="curve")
    for x, y in dots:
        d.ellipse((x - 3, y - 3, x + 3, y + 3), fill=255)
    return np.asarray(im) > 127


def _covers_skeleton(strokes, binary, tolerance=2.5):
    """Every skeleton pixel within half the pen (5 px) of a stroke: the pen covers it (spurs shorter than
    the pen's width are left out on purpose)."""
    from skimage.morphology import skeletonize

    pixels = np.argwhere(skeletonize(binary))[:, ::-1] + 0.5  # (x, y) centres
    points = np.concatenate([_dense(s) for s in strokes])
    dist = np.linalg.norm(pixels[:, None] - points[None], axis=2).min(axis=1)
    return dist.max() <= tolerance, dist.max()


def _dense(stroke):
    if len(stroke) < 2:
        return stroke
    parts = [np.linspace(a, b, max(2, int(np.linalg.norm(b - a) * 2) + 1)) for a, b in zip(stroke[:-1], stroke[1:])]
    return np.concatenate(parts)


SHAPES = {
    "line": ([[(10, 32), (54, 32)]], 1),
    "T": ([[(18, 12), (46, 12)], [(32, 12), (32, 56)]], 1),  # half the bar (14 px) drawn twice
    "X": ([[(10, 10), (54, 54)], [(54, 10), (10, 54)]], 2),  # two arms (62 px) to redraw: a lift is cheaper
    "E": ([[(50, 8), (14, 8), (14, 56), (50, 56)], [(14, 32), (30, 32)]], 1),  # the short bar twice
    "O": ([[(32, 8), (54, 32), (32, 56), (10, 32), (32, 8)]], 1),
    "two pieces": ([[(8, 10), (8, 54)], [(30, 10), (56, 54)]], 2),
}


@pytest.mark.parametrize("name", SHAPES)
def test_draws_every_line_with_the_fewest_lifts(name):
    lines, strokes_expected = SHAPES[name]
    binary = _ink(lines)
    strokes = trace_strokes(binary, width=5.0)
    ok, worst = _covers_skeleton(strokes, binary)
    assert ok, f"{name}: a skeleton pixel is {worst:.2f} px from every stroke"
    assert len(strokes) == strokes_expected, [len(s) for s in strokes]


def test_without_retracing_a_junction_costs_a_lift():
    binary = _ink(SHAPES["T"][0])
    graph = prune_spurs(stroke_graph(binary), 5.0)
    assert len(plan_strokes(graph, max_retrace=0.0)) == 2
    assert len(plan_strokes(graph, max_retrace=100.0)) == 1


def test_a_far_retrace_is_a_lift_instead():
    # An H: six odd nodes (four ends, two junctions), every pair at least a 24-pixel half post apart.
    binary = _ink([[(8, 8), (8, 56)], [(56, 8), (56, 56)], [(8, 32), (56, 32)]])
    assert len(trace_strokes(binary, width=5.0, max_retrace=20.0)) == 3
    assert len(trace_strokes(binary, width=5.0, max_retrace=200.0)) == 1


def test_dots_are_strokes_of_one_point_and_blank_is_nothing():
    binary = _ink([], dots=[(20, 20), (40, 40)])
    strokes = trace_strokes(binary, width=5.0)
    assert len(strokes) == 2 and all(len(s) <= 3 for s in strokes)
    assert trace_strokes(np.zeros((16, 16), bool), width=2.0) == []


def test_spurs_go_and_real_branches_stay():
    graph = stroke_graph(_ink(SHAPES["T"][0]))
    kept = prune_spurs(graph, 5.0)
    assert sorted(kept.degrees()[kept.degrees() > 0].tolist()) == [1, 1, 1, 3]


def test_strokes_start_and_end_on_the_ink():
    binary = _ink(SHAPES["E"][0])
    for stroke in trace_strokes(binary, width=5.0):
        cols, rows = np.floor(stroke).astype(int).T
        assert binary[rows, cols].mean() > 0.95


def test_dust_is_not_drawn():
    binary = _ink(SHAPES["line"][0])
    dusty = binary.copy()
    dusty[5, 5] = dusty[50, 40] = dusty[58, 10:12] = True  # specks of 1-2 pixels, far from the line
    assert len(trace_strokes(dusty, width=5.0)) == len(trace_strokes(binary, width=5.0)) == 1
    assert len(trace_strokes(dusty, width=1.0)) == 4  # with a one-pixel pen a speck is a dot worth drawing


def test_a_large_page_s_stroke_width_is_measured_on_bands_of_it(monkeypatch):
    import igae_robot.images.trace as trace

    rng = np.random.default_rng(3)
    im = Image.new("L", (400, 600), 0)
    d = ImageDraw.Draw(im)
    for _ in range(60):
        d.line([tuple(p) for p in rng.uniform(0, 400, (3, 2)) * (1, 1.5)], fill=255, width=int(rng.choice([5, 7, 9])))
    binary = np.asarray(im) > 127
    whole = trace.median_stroke_width(binary)
    monkeypatch.setattr(trace, "WIDTH_SAMPLE_PIXELS", 40_000)  # bands of 64 rows, a third of the page
    assert trace.median_stroke_width(binary) == pytest.approx(whole, abs=1.0)
    assert trace.median_stroke_width(np.zeros((600, 400), bool)) == 0.0


def test_stroke_depths_are_the_distance_transform_s_at_every_skeleton_pixel():
    """The k-d tree of the ink's edge gives the exact distances of distance_transform_edt (image edge as paper),
    ink touching the border and thick blobs included."""
    from scipy import ndimage

    import igae_robot.images.trace as trace

    rng = np.random.default_rng(5)
    for k in range(4):
        im = Image.new("L", (90, 70), 0)
        d = ImageDraw.Draw(im)
        for _ in range(6):  # lines and blobs, some off the canvas (ink on the border)
            d.line([tuple(p) for p in rng.uniform(-10, 100, (3, 2))], fill=255, width=int(rng.integers(1, 15)))
        binary = np.asarray(im) > 127
        rows, cols = np.nonzero(trace.skeleton(binary))
        expected = ndimage.distance_transform_edt(np.pad(binary, 1))[1:-1, 1:-1][rows, cols]
        np.testing.assert_array_equal(trace._depths(binary, rows, cols), expected)


def test_a_large_box_thinned_in_halves_is_the_whole_s_skeleton(monkeypatch):
    """Split at a blank row, or a blank column when no row is blank, the halves thin to the whole's skeleton,
    pixel for pixel; with neither, or on one CPU, the image is thinned whole."""
    from skimage.morphology import skeletonize

    import igae_robot.images.trace as trace

    monkeypatch.setattr(trace, "THIN_SPLIT_PIXELS", 0)
    monkeypatch.setattr(trace, "_cpus", lambda: 2)
    rng = np.random.default_rng(3)
    im = Image.new("L", (160, 120), 0)
    d = ImageDraw.Draw(im)
    for _ in range(12):  # strokes and blobs everywhere, thick ones too
        d.line([tuple(p) for p in rng.uniform(-5, 165, (3, 2))], fill=255, width=int(rng.integers(1, 12)))
    ink = np.asarray(im) > 127
    rows, cols = ink.copy(), ink.copy()
    rows[55:58] = False  # a blank band across: a blank row near the middle
    cols[:, 70:73] = False  # a blank band down, every row inked: only a column splits it
    cols[:, 0] = True
    assert trace._middle_blank(rows)[0] == 0 and trace._middle_blank(cols)[0] == 1
    assert trace._middle_blank(ink | np.eye(120, 160, dtype=bool) | np.eye(120, 160, 40, dtype=bool)) is None
    for image in (rows, cols, ink):
        np.testing.assert_array_equal(trace._thin(image), skeletonize(image))
    # Thinning has a direction: the column split must not be done on the transposed image.
    assert not np.array_equal(skeletonize(cols.T).T, skeletonize(cols))


def test_dust_goes_as_whole_page_labels_would_take_it():
    """Dust found within the ink's bounding box is the dust of the whole page's labels, to the pixel."""
    from scipy import ndimage

    import igae_robot.images.trace as trace

    rng = np.random.default_rng(8)
    for k in range(4):
        binary = np.zeros((70, 90), bool)
        binary[10 + k : 50, 20 : 60 + k] = rng.random((40 - k, 40 + k)) < 0.35  # specks of every size, away from the edge
        binary[30, 25:55] = True
        labels, count = ndimage.label(binary, structure=np.ones((3, 3), bool))
        sizes = np.bincount(labels.ravel())
        for min_area in (2.0, 4.5, 30.0):
            keep = sizes >= min_area
            keep[0] = False
            np.testing.assert_array_equal(trace._without_dust(binary, min_area), keep[labels])
    assert not trace._without_dust(np.zeros((5, 6), bool), 4.0).any()


def test_the_skeleton_thins_only_the_ink_s_box_and_knows_it_again_cropped(monkeypatch):
    """skeleton() is scikit-image's skeletonize to the pixel, ink on the border included; it thins the ink's box
    once, and the same ink cropped out of the page (as the pen engine crops it) is not thinned again."""
    import skimage.morphology

    import igae_robot.images.trace as trace

    rng = np.random.default_rng(11)
    im = Image.new("L", (300, 200), 0)
    d = ImageDraw.Draw(im)
    for _ in range(5):
        d.line([tuple(p) for p in rng.uniform([-10, 100], [120, 210], (3, 2))], fill=255, width=int(rng.integers(2, 12)))
    page = np.asarray(im) > 127  # ink in the bottom-left corner, touching the page's edge
    expected = skimage.morphology.skeletonize(page)
    calls = []
    real = skimage.morphology.skeletonize
    monkeypatch.setattr(skimage.morphology, "skeletonize", lambda image: calls.append(image.shape) or real(image))
    trace._LAST_SKELETON.clear()
    np.testing.assert_array_equal(trace.skeleton(page), expected)
    assert len(calls) == 1 and calls[0][0] * calls[0][1] < page.size / 2
    crop = trace.around_ink(page, 7)
    np.testing.assert_array_equal(trace.skeleton(page[crop]), expected[crop])
    assert len(calls) == 1
    assert not trace.skeleton(np.zeros((5, 5), bool)).any() and trace.around_ink(np.zeros((5, 5), bool)) is None
