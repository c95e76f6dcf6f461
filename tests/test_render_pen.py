"""The pen renderer against what a pen draws: an independent rasteriser (Pillow, round pen), densely
sampled polylines (as wide as the pen, where the union of pieces widened them), pen-up steps, line
width, dots, and gradients (gradcheck in float64, on cases where no two pieces tie at a pixel: the max
is not differentiable there); and the fast form against the reference form, values and gradients, on
random gestures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from igae_robot.model import render_pen as pen_module
from igae_robot.model.render_pen import pen_state, render_pen, render_pen_fast, render_pen_reference

SIZE = 64
FORMS = pytest.mark.parametrize("render", [render_pen_reference, render_pen_fast], ids=["reference", "fast"])


def _pillow(points: np.ndarray, down: np.ndarray, width_px: float, size: int = SIZE, scale: int = 8) -> np.ndarray:
    """What a round pen draws, by Pillow at 8x resolution then averaged: lines between consecutive
    pen-down steps and a dot for an isolated one.  points (T,2) canvas units."""
    big = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(big)
    px = points * size * scale - 0.5  # Pillow's pixel centres are at integers
    r = width_px * scale / 2
    t = len(points)
    for i in range(t):
        if not down[i]:
            continue
        draw.ellipse([px[i, 0] - r, px[i, 1] - r, px[i, 0] + r, px[i, 1] + r], fill=255)  # caps and joints
        if i + 1 < t and down[i + 1]:
            draw.line([tuple(px[i]), tuple(px[i + 1])], fill=255, width=max(1, round(2 * r)))
    return np.asarray(big, dtype=np.float64).reshape(size, scale, size, scale).mean(axis=(1, 3)) / 255


def _render(points: np.ndarray, down: np.ndarray, width_px: float, render=render_pen) -> np.ndarray:
    xy = torch.tensor(points[None], dtype=torch.float64)
    d = torch.tensor(down[None], dtype=torch.float64)
    w = torch.full(d.shape, width_px / SIZE, dtype=torch.float64)
    return render(xy, d, w, (SIZE, SIZE))[0, 0].numpy()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def _densify(points: np.ndarray, down: np.ndarray, spacing_px: float) -> tuple[np.ndarray, np.ndarray]:
    """The same drawing with every pen-down segment cut into pieces at most spacing_px long."""
    out_points, out_down = [], []
    for i in range(len(points)):
        after = points[min(i + 1, len(points) - 1)]
        joined = i + 1 < len(points) and down[i] and down[i + 1]
        cuts = max(1, int(np.ceil(np.linalg.norm(after - points[i]) * SIZE / spacing_px))) if joined else 1
        out_points += [points[i] + (after - points[i]) * k / cuts for k in range(cuts)]
        out_down += [down[i]] * cuts
    return np.array(out_points), np.array(out_down)


def _union(xy: torch.Tensor, down: torch.Tensor, width: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The first definition, 1 - prod(1 - c) over pieces: what the max replaced (for comparison)."""
    start, end, weight, radius = pen_module._pieces(xy, down, width)
    dist = pen_module._distance_to_segments(pen_module._pixel_centres(*size, xy), start, end)
    coverage = torch.sigmoid((radius[..., None] - dist) * max(size) / pen_module.EDGE_PX) * weight[..., None]
    return (1 - (1 - coverage).prod(dim=1)).reshape(len(xy), 1, *size)


@FORMS
@pytest.mark.parametrize("spacing", [None, 1.0], ids=["as-drawn", "every-pixel"])
@pytest.mark.parametrize("seed", range(10))
def test_draws_what_a_round_pen_draws(seed, spacing, render):
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.15, 0.85, (12, 2))
    down = rng.random(12) > 0.25
    width = float(rng.uniform(2.0, 5.0))
    pillow = _pillow(points, down, width)
    ours = _render(*(_densify(points, down, spacing) if spacing else (points, down)), width, render)
    # Measured IoU 0.933-0.976 over ten seeds, as drawn and with a point every pixel alike (the union of
    # pieces: 0.919-0.975 as drawn, 0.804-0.888 every pixel).  A one-pixel shift scores ~0.6, drawing the
    # pen-up travel ~0.7; the rest is where anti-aliased edges sit near 0.5.  Total ink: measured within
    # -2.0%..+2.3% (the union +1.0%..+4.5% as drawn, +14%..+31% every pixel).
    assert _iou(ours, pillow) > 0.925, _iou(ours, pillow)
    assert abs(ours.sum() / pillow.sum() - 1) < 0.03, ours.sum() / pillow.sum()


@pytest.mark.parametrize("width", [2.0, 3.0, 5.0])
def test_a_densely_sampled_curve_is_as_wide_as_the_pen(width):
    """Three quarters of a circle, a point every half pixel: as wide as Pillow draws the curve (from a
    point every 2 px, where its raster is 1.3-1.4% over the exact area; from the dense points Pillow
    itself adds 3-6%) and as the exact area, length x width + the round caps (measured +0.1..+0.8%;
    -0.5..-1.1% against Pillow).  The union of pieces widens it by 24-54%: every edge pixel sits in
    the soft edge of several pieces."""
    def arc(spacing_px):
        angle = np.linspace(0, 1.5 * np.pi, int(2 * np.pi * 0.3 * SIZE / spacing_px))
        return np.stack([0.5 + 0.3 * np.cos(angle), 0.5 + 0.3 * np.sin(angle)], 1)

    points = arc(0.5)
    down = np.ones(len(points), bool)
    exact = np.linalg.norm(np.diff(points, axis=0), axis=1).sum() * SIZE * width + np.pi * width**2 / 4
    pillow = _pillow(arc(2.0), np.ones(len(arc(2.0)), bool), width).sum()
    for render in (render_pen_reference, render_pen_fast):
        ink = _render(points, down, width, render).sum()
        assert abs(ink / pillow - 1) < 0.03 and abs(ink / exact - 1) < 0.01, (ink, pillow, exact)
    assert _render(points, down, width, _union).sum() / exact > 1.2


@FORMS
def test_pen_up_steps_leave_no_ink(render):
    points = np.array([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]])
    canvas = _render(points, np.array([True, True, False, False]), 3.0, render)
    assert canvas[: SIZE // 2].max() > 0.99  # the top edge is drawn
    assert canvas[SIZE * 5 // 8 :].max() < 1e-3  # the travel down the right and along the bottom is not


@FORMS
def test_line_is_as_wide_as_the_pen(render):
    points = np.array([[0.1, 0.5], [0.9, 0.5]])
    for width in (2.0, 4.0, 6.0):
        column = _render(points, np.array([True, True]), width, render)[:, SIZE // 2]
        assert abs(column.sum() - width) < 0.1, (width, column.sum())


@FORMS
def test_an_isolated_pen_down_step_is_a_dot(render):
    points = np.array([[0.2, 0.2], [0.5, 0.5], [0.8, 0.8]])
    canvas = _render(points, np.array([False, True, False]), 4.0, render)
    assert canvas[SIZE // 2, SIZE // 2] > 0.99
    assert abs(canvas.sum() - np.pi * 2.0**2) < 1.0  # the area of a disc of the pen's width


def test_pen_state_modes():
    intensity = torch.tensor([[0.2, 0.6, 0.5]], requires_grad=True)
    assert pen_state(intensity, "hard").tolist() == [[0.0, 1.0, 1.0]]
    st = pen_state(intensity, "straight-through")
    assert st.tolist() == [[0.0, 1.0, 1.0]]
    st.sum().backward()
    assert intensity.grad.tolist() == [[1.0, 1.0, 1.0]]  # the soft gradient passes through
    with pytest.raises(ValueError, match="unknown pen mode"):
        pen_state(intensity, "bogus")


@FORMS
def test_gradcheck(render):
    """Soft pen states and a width per step: no two pieces tie at any pixel (the max is not
    differentiable where they do), so the central differences see one piece per pixel."""
    torch.manual_seed(0)
    xy = (0.2 + 0.6 * torch.rand(2, 4, 2, dtype=torch.float64)).requires_grad_()
    down = torch.rand(2, 4, dtype=torch.float64).requires_grad_()
    width = (0.05 + 0.1 * torch.rand(2, 4, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b, c: render(a, b, c, (8, 8)), (xy, down, width))


@FORMS
def test_gradcheck_hard_pen(render):
    """Pen states exactly 0 and 1, as the straight-through form gives them: pieces of weight 0 are never
    evaluated, weight-1 pieces take the hard pen's path.  Positions and widths only: at a hard pen state
    the canvas has a kink in the pen state (raising a pen-up step's 0 draws a new piece that takes the
    pixels where it beats the others; lowering it changes nothing), which central differences average."""
    torch.manual_seed(1)
    xy = (0.25 + 0.5 * torch.rand(2, 6, 2, dtype=torch.float64)).requires_grad_()
    down = torch.tensor([[1.0, 1, 0, 1, 1, 1], [0, 1, 0, 0, 1, 1]], dtype=torch.float64)
    width = (0.08 + 0.04 * torch.rand(2, 6, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, c: render(a, down, c, (10, 12)), (xy, width))


@FORMS
def test_pen_states_learn_only_through_drawn_pieces(render):
    """A piece gets gradient only from the pixels it wins, and a piece of weight 0 wins none: a pen-up
    step between two strokes gets no gradient (its segments have weight 0), a pen-up step next to a lone
    dot gets the dot's (raising it lowers the dot's weight, a factor 1 - down); pen-down steps get
    their segments' and dots'."""
    xy = torch.tensor([[[0.2, 0.2], [0.5, 0.2], [0.5, 0.5], [0.8, 0.5], [0.8, 0.8], [0.5, 0.8]]], dtype=torch.float64)
    down = torch.tensor([[1.0, 1, 0, 1, 0, 1]], dtype=torch.float64, requires_grad=True)  # dots at steps 3 and 5
    width = torch.full((1, 6), 0.05, dtype=torch.float64)
    (grad,) = torch.autograd.grad(render(xy, down, width, (32, 32)).sum(), down)
    assert grad[0, 2] < 0 and grad[0, 4] < 0  # each next to a dot
    assert grad[0, 0] > 0 and grad[0, 1] > 0 and grad[0, 3] > 0 and grad[0, 5] > 0
    down_between = torch.tensor([[1.0, 1, 0, 1, 1, 1]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(render(xy, down_between, width, (32, 32)).sum(), down_between)
    assert grad[0, 2] == 0


def test_ties_go_to_the_first_piece():
    """There and back along one line, one pen: every pixel ties between the two segments (bit for bit in
    the fast form, to rounding in the reference) and its gradient goes to one of them, in the fast form
    the first; the sum over both matches the reference's."""
    xy = torch.tensor([[[0.3, 0.4], [0.7, 0.6], [0.3, 0.4]]], requires_grad=True)
    down, width = torch.ones(1, 3), torch.full((1, 3), 0.1)
    forms = (render_pen_reference, render_pen_fast)
    grads = [torch.autograd.grad(render(xy, down, width, (16, 16)).sum(), xy)[0] for render in forms]
    assert grads[1][0, 2].abs().max() == 0 and grads[1][0, 0].abs().max() > 0
    assert (grads[0][0, 0] + grads[0][0, 2] - grads[1][0, 0] - grads[1][0, 2]).abs().max() <= 1e-4 * grads[0].abs().max()
    assert (grads[0][0, 1] - grads[1][0, 1]).abs().max() <= 1e-4 * grads[0].abs().max()


def test_shapes_are_checked():
    for render in (render_pen_reference, render_pen_fast):
        with pytest.raises(ValueError, match="must have shape"):
            render(torch.zeros(1, 3, 2), torch.zeros(1, 2), torch.zeros(1, 3), (8, 8))


# ---- the fast form against the reference form ---------------------------------------------------


def _gestures(seed: int, b: int, t: int, size: tuple[int, int], dtype=torch.float64, soft: bool = False):
    """Random walks of t steps of 0.5-3 px, ~20% pen up, widths 1-4 px, with a zero-length segment
    (steps 4 and 5 at one point), an isolated dot (step 9), and glyph 0 partly off the canvas."""
    g = torch.Generator().manual_seed(seed)
    px = 1.0 / max(size)
    angle = torch.rand(b, t, generator=g, dtype=torch.float64) * 2 * math.pi
    steps = torch.stack([angle.cos(), angle.sin()], -1) * ((0.5 + 2.5 * torch.rand(b, t, 1, generator=g, dtype=torch.float64)) * px)
    xy = steps.cumsum(1) + 0.3 + 0.4 * torch.rand(b, 1, 2, generator=g, dtype=torch.float64)
    xy[:, 5] = xy[:, 4]
    xy[0] += 0.55
    down = torch.rand(b, t, generator=g, dtype=torch.float64) if soft else (torch.rand(b, t, generator=g) > 0.2).double()
    down[:, 8:11] = torch.tensor([0.0, 1.0, 0.0]) if not soft else down[:, 8:11]
    width = (1.0 + 3.0 * torch.rand(b, t, generator=g, dtype=torch.float64)) * px
    return xy.to(dtype), down.to(dtype), width.to(dtype)


def _forward_backward(render, xy, down, width, size, seed: int = 0):
    """The canvas and the gradients w.r.t. xy, down, width of a random weighting of it."""
    inputs = [a.clone().requires_grad_() for a in (xy, down, width)]
    canvas = render(*inputs, size)
    weight = torch.randn(canvas.shape, generator=torch.Generator().manual_seed(seed), dtype=canvas.dtype)
    return canvas.detach(), torch.autograd.grad((canvas * weight).sum(), inputs)


def _assert_same(xy, down, width, size, value_tol: float = 1e-5, grad_tol: float = 1e-4):
    ref, ref_grads = _forward_backward(render_pen_reference, xy, down, width, size)
    fast, fast_grads = _forward_backward(render_pen_fast, xy, down, width, size)
    assert fast.shape == ref.shape and fast.dtype == ref.dtype
    assert (fast - ref).abs().max() <= value_tol, (fast - ref).abs().max()
    for name, a, r in zip(("xy", "down", "width"), fast_grads, ref_grads):
        assert (a - r).abs().max() <= grad_tol * r.abs().max(), (name, ((a - r).abs().max() / r.abs().max()).item())


@pytest.mark.parametrize("block", [pen_module._BLOCK_ELEMENTS, 700])
@pytest.mark.parametrize(
    "b, t, size, dtype",
    [
        (7, 40, (28, 28), torch.float32),
        (5, 25, (40, 28), torch.float32),
        (3, 40, (64, 64), torch.float32),
        (6, 12, (28, 28), torch.float64),
    ],
)
def test_fast_form_matches_the_reference(b, t, size, dtype, block, monkeypatch):
    """Values within 1e-5 (what the culling leaves out is below 8.3e-7 a piece), gradients within 1e-4 of
    the largest; a 700 piece-pixel block splits every kind of piece into many uneven chunks."""
    monkeypatch.setattr(pen_module, "_block_elements", lambda device: block)
    _assert_same(*_gestures(b + t, b, t, size, dtype), size)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fast_form_matches_with_soft_pen_states(dtype):
    _assert_same(*_gestures(3, 5, 30, (28, 28), dtype, soft=True), (28, 28))


def test_fast_form_matches_with_wide_pens_and_weights_above_one():
    """Pens wide enough for the reference's clamp (coverage <= 1 - 1e-6) and pen states above 1 (outside
    their range): the fast form renders both as the reference does."""
    xy, down, width = _gestures(4, 4, 20, (28, 28))
    down[1] *= 1.3
    _assert_same(xy, down, width * 4, (28, 28))


def test_fast_form_gradients_of_one_input_and_the_straight_through_pen():
    xy, down, width = _gestures(5, 4, 20, (28, 28), torch.float32)
    grads = []
    for render in (render_pen_reference, render_pen_fast):
        inputs = [xy.clone().requires_grad_(), torch.rand(down.shape, generator=torch.Generator().manual_seed(0), requires_grad=True)]
        canvas = render(inputs[0], pen_state(inputs[1], "straight-through"), width, (28, 28))
        grads.append(torch.autograd.grad(canvas.square().sum(), inputs))
        only_xy = render(inputs[0], down, width, (28, 28))  # down without gradient: no piece of weight 0 is needed
        grads.append(torch.autograd.grad(only_xy.sum(), inputs[0]))
    for a, r in zip(grads[2] + grads[3], grads[0] + grads[1]):
        assert (a - r).abs().max() <= 1e-4 * r.abs().max()


def test_fast_form_edge_cases():
    """A non-finite glyph renders as NaN, alone; no glyphs, one step, and a pen always up render."""
    xy, down, width = _gestures(6, 3, 12, (16, 16), torch.float32)
    xy[1, 3, 0] = float("nan")
    canvas = render_pen_fast(xy, down, width, (16, 16))
    assert torch.isnan(canvas[1]).all() and torch.isfinite(canvas[[0, 2]]).all()
    ref = render_pen_reference(xy[[0, 2]], down[[0, 2]], width[[0, 2]], (16, 16))
    assert (canvas[[0, 2]] - ref).abs().max() <= 1e-5
    assert render_pen_fast(torch.zeros(0, 4, 2), torch.zeros(0, 4), torch.zeros(0, 4), (8, 8)).shape == (0, 1, 8, 8)
    one_step = torch.full((2, 1, 2), 0.5), torch.ones(2, 1), torch.full((2, 1), 0.2)
    assert (render_pen_fast(*one_step, (8, 8)) - render_pen_reference(*one_step, (8, 8))).abs().max() <= 1e-5
    assert render_pen_fast(xy[[0]], torch.zeros(1, 12), width[[0]], (16, 16)).abs().max() == 0


def test_fast_form_works_in_chunks_of_bounded_size():
    """Memory: every chunk's piece-pixels within the block (whatever the batch), so forward holds a dozen
    arrays of that size, backward as many of that many winning pixels; only the canvases grow with B."""
    xy, down, width = _gestures(7, 64, 40, (64, 64), torch.float32)
    start, end, weight, radius = pen_module._pieces(xy, down, width)
    plan = pen_module._plan(start, end, weight, radius, (64, 64))
    assert len(plan.chunks) > 1
    assert max((c.last - c.first) * c.ky * c.kx for c in plan.chunks) <= pen_module._block_elements(xy.device)
    # Pieces of weight 0 are never evaluated; drawn ones are unless off the canvas (only glyph 0 goes off).
    assert int((weight[1:] > 0).sum()) <= len(plan.rank) < int((weight > 0).sum())


def test_render_pen_is_the_fast_form():
    assert render_pen is render_pen_fast


def test_one_thread_renders_in_larger_chunks_with_the_same_result():
    """A process on one torch thread works in chunks of _ONE_THREAD_BLOCK_ELEMENTS (no thread to wake for a
    large op); the canvas is the same to the last bit or two and the gradients the same to float32 summation
    order.  (Bit for bit on one host, not on another: the chunks' sizes decide which elements an elementwise
    kernel takes in its vector loop and which in its scalar tail, whose exp can differ by an ulp.)"""
    xy, down, width = _gestures(9, 48, 60, (96, 96), torch.float32)
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (2, 1):
            torch.set_num_threads(n)
            assert pen_module._block_elements(xy.device) == (pen_module._ONE_THREAD_BLOCK_ELEMENTS if n == 1 else pen_module._BLOCK_ELEMENTS)
            leaf = xy.clone().requires_grad_()
            canvas = render_pen_fast(leaf, down, width, (96, 96))
            results.append((canvas.detach(), torch.autograd.grad(canvas.square().sum(), leaf)[0]))
    finally:
        torch.set_num_threads(threads)
    ulp = torch.finfo(results[0][0].dtype).eps
    assert (results[0][0] - results[1][0]).abs().max() <= 4 * ulp
    assert (results[0][1] - results[1][1]).abs().max() <= 1e-5 * results[0][1].abs().max()
