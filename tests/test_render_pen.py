"""The pen renderer against what a pen draws: an independent rasteriser (Pillow, round pen), pen-up
steps, line width, dots, and gradients (gradcheck in float64); and the fast form against the reference
form, values and gradients, on random gestures."""

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


@FORMS
@pytest.mark.parametrize("seed", range(10))
def test_draws_what_a_round_pen_draws(seed, render):
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.15, 0.85, (12, 2))
    down = rng.random(12) > 0.25
    width = float(rng.uniform(2.0, 5.0))
    ours, pillow = _render(points, down, width, render), _pillow(points, down, width)
    # Measured 0.92-0.975 over ten seeds (a one-pixel shift scores ~0.6, drawing the pen-up travel ~0.7);
    # the rest is where anti-aliased edges sit near 0.5.  Total ink agrees within 5%.
    assert _iou(ours, pillow) > 0.9, _iou(ours, pillow)
    assert abs(ours.sum() / pillow.sum() - 1) < 0.06


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
    torch.manual_seed(0)
    xy = (0.2 + 0.6 * torch.rand(2, 4, 2, dtype=torch.float64)).requires_grad_()
    down = torch.rand(2, 4, dtype=torch.float64).requires_grad_()
    width = (0.05 + 0.1 * torch.rand(2, 4, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b, c: render(a, b, c, (8, 8)), (xy, down, width))


def test_gradcheck_fast_hard_pen():
    """Pen states exactly 0 and 1, as the straight-through form gives them: pieces of weight 0 take part
    in backward only (the pen states' gradient), and weight-1 pieces take the hard pen's path."""
    torch.manual_seed(1)
    xy = (0.25 + 0.5 * torch.rand(2, 6, 2, dtype=torch.float64)).requires_grad_()
    down = torch.tensor([[1.0, 1, 0, 1, 1, 1], [0, 1, 0, 0, 1, 1]], dtype=torch.float64, requires_grad=True)
    width = torch.full((2, 6), 0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: render_pen_fast(a, b, c, (10, 12)), (xy, down, width))


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
    monkeypatch.setattr(pen_module, "_BLOCK_ELEMENTS", block)
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
    """Memory: every chunk's piece-pixels within the block (whatever the batch), so backward's
    recomputation holds a few dozen arrays of that size; only the canvases grow with B."""
    xy, down, width = _gestures(7, 64, 40, (64, 64), torch.float32)
    start, end, weight, radius = pen_module._pieces(xy, down, width)
    plan = pen_module._plan(start, end, weight, radius, pen_module._live_weights(down), (64, 64))
    assert len(plan.chunks) > 1
    assert max((c.last - c.first) * c.ky * c.kx for c in plan.chunks) <= pen_module._BLOCK_ELEMENTS


def test_render_pen_is_the_fast_form():
    assert render_pen is render_pen_fast
