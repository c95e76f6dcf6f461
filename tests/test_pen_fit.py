"""Fitting through the pen renderer: the fit improves what the pen draws, keeps the pen lifts, and each
glyph of a batch is fitted as if alone."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from igae_robot.images.pen_draw import pen_iou
from igae_robot.images.trace import trace_strokes
from igae_robot.model.pen_fit import PenDrawing, fit_drawings, to_steps


def _ink(seed: int, size: int = 40) -> np.ndarray:
    """A curve and a bar of uneven width, as a scan shows them."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (size * 4, size * 4), 0)
    d = ImageDraw.Draw(im)
    pts = [tuple(p) for p in rng.uniform(30, size * 4 - 30, (4, 2))]
    d.line(pts, fill=255, width=int(rng.integers(14, 22)), joint="curve")
    d.line([(30, 40), (size * 4 - 30, 50)], fill=255, width=12)
    return np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255


def _start(ink: np.ndarray, pen: float) -> PenDrawing:
    return to_steps(trace_strokes(ink > 0.5, pen), max(1.0, pen / 2))


def test_steps_end_every_stroke_with_the_pen_up():
    d = to_steps([np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[5.0, 5.0]])], spacing=2.0)
    assert d.down.tolist() == [True] * 6 + [False] + [True, False]
    assert [len(s) for s in d.strokes()] == [6, 1]
    assert np.allclose(np.diff(d.points[:6, 0]), 2.0)


def test_steps_can_keep_a_stroke_s_corners():
    """With ``corner_px`` a corner is a step (even steps would cut it), no step is further than ``spacing``
    from the next, a wiggle below the tolerance goes, a dot stays one step and a stroke of one repeated
    point stays two."""
    hook = np.array([[0.0, 0.0], [3.0, 0.0], [5.0, 0.1], [7.0, 0.0], [7.0, 5.0]])
    dot, still = np.array([[9.0, 9.0]]), np.array([[1.0, 1.0], [1.0, 1.0]])
    d = to_steps([hook, dot, still], spacing=2.0, corner_px=0.3)
    strokes = d.strokes()
    assert [len(s) for s in strokes] == [8, 1, 2] and d.down.tolist().count(False) == 3
    assert any(np.allclose(p, [7.0, 0.0]) for p in strokes[0])  # the corner
    assert not any(np.allclose(p, [5.0, 0.1]) for p in strokes[0])  # the wiggle
    assert np.linalg.norm(np.diff(strokes[0], axis=0), axis=1).max() <= 2.0 + 1e-9
    assert np.allclose(strokes[0][[0, -1]], hook[[0, -1]]) and np.allclose(strokes[1], dot)
    even = to_steps([hook], spacing=2.0)
    assert not any(np.allclose(p, [7.0, 0.0]) for p in even.points)
    assert len(to_steps([], 2.0, corner_px=0.3).points) == 0


def test_the_fit_draws_the_ink_better_and_keeps_the_lifts():
    inks = np.stack([_ink(seed) for seed in range(3)])
    pen = 3.5
    start = [_start(ink, pen) for ink in inks]
    fitted = fit_drawings(start, inks, pen, steps=40)
    for s, f, ink in zip(start, fitted, inks):
        before, after = pen_iou(s.strokes(), ink, pen), pen_iou(f.strokes(), ink, pen)
        assert after > before + 0.02, (before, after)
        assert np.array_equal(s.down, f.down)


def test_each_glyph_is_fitted_as_if_alone():
    inks = np.stack([_ink(seed) for seed in range(3)])
    start = [_start(ink, 3.5) for ink in inks]
    together = fit_drawings(start, inks, np.array([3.5, 3.0, 4.0]), steps=10)
    alone = fit_drawings(start[1:2], inks[1:2], 3.0, steps=10)
    # Float32 sums run in another order in a batch (its windows are larger); with Adam's eps at 1e-8 that
    # noise, where the true gradient is zero, moved points by 0.4 px; the fit's eps of 1e-4 keeps them put.
    assert np.abs(together[1].points - alone[0].points).max() < 1e-3


def test_no_steps_or_no_glyphs_change_nothing():
    ink = _ink(0)[None]
    start = [_start(ink[0], 3.5)]
    assert fit_drawings(start, ink, 3.5, steps=0) == start
    assert fit_drawings([], np.zeros((0, 8, 8)), 3.5) == []


def _page(width: int = 420, height: int = 260) -> np.ndarray:
    """Long strokes across several fit windows: a wave, a loop and a diagonal, 5-7 px wide."""
    im = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(im)
    xs = np.linspace(15, width - 15, 60)
    d.line([(float(x), 70 + 40 * np.sin(x / 30)) for x in xs], fill=255, width=7, joint="curve")
    d.ellipse((60, 140, 200, 240), outline=255, width=6)
    d.line([(230, 250), (400, 120)], fill=255, width=5)
    return np.asarray(im, dtype=np.float32) / 255


def test_a_page_is_fitted_window_by_window_and_its_strokes_stay_whole():
    from igae_robot.model.pen_fit import fit_page

    ink = _page()
    pen = 6.0
    start = _start(ink, pen)
    calls = []
    fitted = fit_page(start, ink, pen, steps=20, window=96, progress=lambda *a: calls.append(a))  # cells of 70 px
    assert len(calls) >= 2 and calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert pen_iou(fitted.strokes(), ink, pen) > pen_iou(start.strokes(), ink, pen) + 0.02
    assert np.array_equal(fitted.down, start.down)
    # No point jumps where two windows meet: consecutive steps stay about a step apart.
    gaps = np.linalg.norm(np.diff(fitted.points, axis=0), axis=1)[start.down[:-1] & start.down[1:]]
    assert gaps.max() < 3 * pen, gaps.max()


def test_a_page_within_one_window_is_fitted_as_the_glyph_fit_does():
    from igae_robot.model.pen_fit import fit_page

    ink = _ink(0)
    start = _start(ink, 3.5)
    # One cell, the window padded past the ink: the same points to within the float noise of another size.
    fitted = fit_page(start, ink, 3.5, steps=10, window=64)
    padded = np.zeros((64, 64), np.float32)
    margin = int(np.ceil(2 * 3.5)) + 2
    padded[margin : margin + 40, margin : margin + 40] = ink
    shifted = PenDrawing(start.points + margin, start.down)
    alone = fit_drawings([shifted], padded[None], 3.5, steps=10)[0]
    assert np.abs(fitted.points - (alone.points - margin)).max() < 1e-3


def test_a_page_is_drawn_as_its_inked_part_alone():
    """draw_whole works on the ink's box: a drawing in the corner of a large page is the drawing of that corner
    (cut on even pixels) moved there."""
    from igae_robot.vectorize.engines import draw_whole

    small = _page()
    page = np.zeros((900, 1300), np.float32)
    page[600 : 600 + small.shape[0], 40 : 40 + small.shape[1]] = small
    whole = draw_whole(page, 6.0)
    alone = draw_whole(page[580:880, 20:480], 6.0)
    assert len(whole.points) > 50 and np.array_equal(whole.down, alone.down)
    np.testing.assert_allclose(whole.points, alone.points + (20, 580), rtol=0, atol=1e-9)
    assert len(draw_whole(np.zeros((50, 60), np.float32), 3.0).points) == 0
