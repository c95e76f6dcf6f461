"""The renderer: shape, a hand-computed value, fast == reference, gradcheck, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from fixtures_machine import DOT, EMPTY, LINE, SQUARE, random_glyph_gestures

from igae_robot.check import gesture_polylines
from igae_robot.errors import CheckError, GestureError
from igae_robot.model.render import render_gesture, render_markers, render_max, render_polylines, render_reference, render_strokes
from igae_robot.model.tensors import GestureTensors
from igae_robot.paper.geometry import resample

GESTURES = random_glyph_gestures(40, seed=11) + [LINE, SQUARE, DOT, EMPTY]


def _random_markers(b=3, t=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(b, t, 2, generator=g, dtype=dtype)
    var = torch.rand(b, t, generator=g, dtype=dtype) * 0.01 + 1e-3
    ink = torch.rand(b, t, generator=g, dtype=dtype)
    return xy, var, ink


@pytest.mark.parametrize("render", [render_reference, render_markers])
def test_shape(render):
    xy, var, ink = _random_markers(b=4, t=7)
    assert render(xy, var, ink, (9, 11)).shape == (4, 1, 9, 11)


@pytest.mark.parametrize("render", [render_reference, render_markers])
def test_hand_computed_value(render):
    # One marker at the centre of pixel (x=1, y=2) of a 4x4 canvas, variance 0.01, ink 0.8.
    xy = torch.tensor([[[1.5 / 4, 2.5 / 4]]], dtype=torch.float64)
    var = torch.tensor([[0.01]], dtype=torch.float64)
    ink = torch.tensor([[0.8]], dtype=torch.float64)
    canvas = render(xy, var, ink, (4, 4))[0, 0]
    assert canvas[2, 1] == pytest.approx(0.8)
    # Neighbour one pixel (0.25 canvas units) to the right: 0.8 * exp(-0.0625 / 0.02).
    assert canvas[2, 2] == pytest.approx(0.8 * math.exp(-0.0625 / 0.02))


def test_max_join_takes_the_stronger_marker():
    xy = torch.tensor([[[0.5, 0.5], [0.5, 0.5]]], dtype=torch.float64)
    var = torch.tensor([[0.01, 0.01]], dtype=torch.float64)
    ink = torch.tensor([[0.3, 0.9]], dtype=torch.float64)
    assert render_markers(xy, var, ink, (2, 2)).max() == pytest.approx(0.9 * math.exp(-(0.25**2) * 2 / 0.02))


def _grads(render, xy, var, ink, size, weight):
    inputs = [a.detach().clone().requires_grad_() for a in (xy, var, ink)]
    canvas = render(*inputs, size)
    return canvas, torch.autograd.grad((canvas * weight.to(canvas.dtype)).sum(), inputs)


@pytest.mark.parametrize("size", [(28, 28), (5, 13), (64, 64)])
def test_fast_equals_reference_in_float64(size):
    xy, var, ink = _random_markers(b=8, t=25, seed=1)
    weight = torch.randn(8, 1, *size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fast, g_fast = _grads(render_markers, xy, var, ink, size, weight)
    ref, g_ref = _grads(render_reference, xy, var, ink, size, weight)
    torch.testing.assert_close(fast, ref)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("size", [(28, 28), (5, 13)])
def test_fast_equals_reference_within_1e_5_in_float32(size):
    """Outputs within 1e-5; gradients within 1e-5 of their largest value.  Both forms are float32
    roundings of the same sums in different orders (the fast form adds a marker's row and column
    parts separately), so an element that is a near-cancelling sum of large terms cannot match to
    1e-5 of *itself*; the float64 test above checks the forms element by element."""
    xy, var, ink = (a.float() for a in _random_markers(b=128, t=25, seed=1))
    weight = torch.randn(128, 1, *size, generator=torch.Generator().manual_seed(0))
    fast, g_fast = _grads(render_markers, xy, var, ink, size, weight)
    ref, g_ref = _grads(render_reference, xy, var, ink, size, weight)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5)
    for name, a, b in zip(("positions", "variance", "intensity"), g_fast, g_ref):
        scale = b.abs().max().item()
        assert (a - b).abs().max().item() <= 1e-5 * scale, f"{name} gradient differs by more than 1e-5 x {scale:.3g}"


def test_fast_equals_reference_when_blocked_over_glyphs_and_rows(monkeypatch):
    # A block budget of 2 glyphs, then of 3 canvas rows of one glyph: the loops over blocks and bands run.
    xy, var, ink = _random_markers(b=5, t=9, seed=2)
    weight = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref, g_ref = _grads(render_reference, xy, var, ink, (8, 8), weight)
    for budget in (2 * 9 * 8 * 8, 3 * 9 * 8):
        monkeypatch.setattr("igae_robot.model.render._BLOCK_ELEMENTS", budget)
        fast, g_fast = _grads(render_markers, xy, var, ink, (8, 8), weight)
        torch.testing.assert_close(fast, ref)
        for a, b in zip(g_fast, g_ref):
            torch.testing.assert_close(a, b)


def test_ties_send_the_gradient_to_the_earliest_step():
    # Two identical markers: the canvas is one marker, and (as torch.max) the first step wins the pixel.
    xy = torch.tensor([[[0.5, 0.5], [0.5, 0.5]]], dtype=torch.float64, requires_grad=True)
    var = torch.tensor([[0.01, 0.01]], dtype=torch.float64)
    ink = torch.tensor([[0.7, 0.7]], dtype=torch.float64, requires_grad=True)
    render_markers(xy, var, ink, (4, 4)).sum().backward()
    assert ink.grad[0, 0] > 0 and ink.grad[0, 1] == 0


def test_empty_batch_and_half_precision_inputs():
    assert render_markers(torch.zeros(0, 3, 2), torch.ones(0, 3), torch.ones(0, 3), (6, 6)).shape == (0, 1, 6, 6)
    xy, var, ink = (a.float() for a in _random_markers(b=2, t=4, seed=6))
    low = render_markers(xy.bfloat16(), var.bfloat16(), ink.bfloat16(), (6, 6))
    # bf16 markers are drawn in float32: the same canvas as their float32 values.
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, render_markers(xy.bfloat16().float(), var.bfloat16().float(), ink.bfloat16().float(), (6, 6)))


def test_gradcheck_fast_form():
    xy, var, ink = (a.requires_grad_() for a in _random_markers(b=2, t=3, seed=3))
    assert torch.autograd.gradcheck(lambda p, v, i: render_markers(p, v, i, (6, 5)), (xy, var, ink), eps=1e-6, atol=1e-5)


def test_gradcheck_reference_form():
    xy, var, ink = (a.requires_grad_() for a in _random_markers(b=1, t=3, seed=4))
    assert torch.autograd.gradcheck(lambda p, v, i: render_reference(p, v, i, (5, 5)), (xy, var, ink), eps=1e-6, atol=1e-5)


def test_gradcheck_through_gesture_integration():
    g = torch.Generator().manual_seed(5)
    start = (torch.rand(2, 2, generator=g, dtype=torch.float64) * 0.5 + 0.25).requires_grad_()
    vel = (torch.randn(2, 4, 2, generator=g, dtype=torch.float64) * 0.05).requires_grad_()
    pressure = torch.rand(2, 4, generator=g, dtype=torch.float64).requires_grad_()
    ink = torch.rand(2, 4, generator=g, dtype=torch.float64).requires_grad_()
    fn = lambda s, v, p, i: render_gesture(GestureTensors(s, v, p, i), size=(6, 6))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (start, vel, pressure, ink), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("render", [render_reference, render_markers])
def test_bad_shapes_and_values_raise_clear_errors(render):
    xy, var, ink = _random_markers(b=2, t=3)
    with pytest.raises(GestureError, match=r"\(B, T, 2\)"):
        render(xy[..., :1], var, ink, (4, 4))
    with pytest.raises(GestureError, match="variance must have shape"):
        render(xy, var[:, :2], ink, (4, 4))
    bad = xy.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(GestureError, match="NaN"):
        render(bad, var, ink, (4, 4))
    with pytest.raises(GestureError, match="positive"):
        render(xy, -var, ink, (4, 4))


def test_exclusive_cumsum_positions():
    start = torch.tensor([[0.1, 0.5]])
    velocity = torch.tensor([[[0.1, 0.0], [0.0, 0.2], [0.3, 0.3]]])
    gt = GestureTensors(start, velocity, torch.zeros(1, 3), torch.ones(1, 3))
    expected = torch.tensor([[[0.1, 0.5], [0.2, 0.5], [0.2, 0.7]]])
    torch.testing.assert_close(gt.positions(), expected)
    again = GestureTensors.from_positions(gt.positions(), gt.pressure, gt.intensity)
    torch.testing.assert_close(again.positions(), expected)


def test_gesture_tensors_reject_mismatched_shapes():
    with pytest.raises(GestureError, match="velocity"):
        GestureTensors(torch.zeros(2, 2), torch.zeros(2, 4, 3), torch.zeros(2, 4), torch.zeros(2, 4))


# ---- without gradients: the re-render check's renderers ------------------------------------------


def test_render_is_continuous_line_of_markers():
    canvas = render_polylines([gesture_polylines(LINE, 0.5, None)], size=28)
    row = canvas[0, 0, 13:15].amax(0)  # the line runs along y = 0.5, between pixel rows 13 and 14
    assert (row[4:24] > 0.5).all() and (row[:3] < 0.5).all() and (row[25:] < 0.5).all()
    assert render_polylines([[]], size=28).max() == 0  # EMPTY draws nothing


def test_render_max_is_the_training_renderer_without_gradients():
    g = torch.Generator().manual_seed(3)
    for b, t in ((5, 1), (9, 37), (2, 130)):
        xy, var = torch.rand(b, t, 2, generator=g), torch.rand(b, t, generator=g) * 0.01 + 1e-4
        ink = (torch.rand(b, t, generator=g) > 0.2).float()
        with torch.no_grad():
            fast, slow = render_max(xy, var, ink, (28, 28)), render_markers(xy, var, ink, (28, 28))
        seen = slow > 2e-19  # below, render_max keeps its factors above 2e-19 (no denormal floats)
        assert torch.equal(fast[seen], slow[seen]) and (fast - slow).abs().max() <= 2e-19
    assert render_max(torch.zeros(0, 3, 2), torch.ones(0, 3), torch.ones(0, 3), (28, 28)).shape == (0, 1, 28, 28)
    with pytest.raises(CheckError, match="NaN"):
        render_max(torch.full((1, 2, 2), float("nan")), torch.ones(1, 2), torch.ones(1, 2), (28, 28))


def test_render_polylines_is_one_render_per_glyph_of_its_resampled_markers():
    """Many glyphs of different lengths at once (grouped, padded) == each glyph rendered alone, markers by resample."""
    glyphs = [gesture_polylines(g, 0.5, None) for g in GESTURES]
    polylines = [p for g in glyphs for p in g]
    values = np.concatenate([np.column_stack([p.points, p.pressure]) for p in polylines])
    together = render_strokes(values, np.array([len(p) for p in polylines]), np.array([len(g) for g in glyphs]), group=4)
    for i, polylines in enumerate(glyphs):
        dense = [resample(p, 0.25 / 28) for p in polylines]
        xy = np.concatenate([p.points for p in dense]) if dense else np.zeros((1, 2))
        var = np.concatenate([p.pressure for p in dense]) * 0.01 + 1e-4 if dense else np.ones(1)
        ink = np.ones(len(xy)) if dense else np.zeros(1)
        alone = render_markers(*(torch.as_tensor(a[None], dtype=torch.float32) for a in (xy, var, ink)), (28, 28))
        torch.testing.assert_close(together[i : i + 1], alone, rtol=0, atol=1e-6)
