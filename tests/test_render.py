"""The renderer: shape, a hand-computed value, fast == reference, gradcheck, clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from igae_robot.errors import GestureError
from igae_robot.gesture_tensors import GestureTensors
from igae_robot.render import render_gesture, render_markers, render_reference


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


@pytest.mark.parametrize("size", [(28, 28), (5, 13)])
def test_fast_equals_reference_values_and_gradients(size):
    xy, var, ink = (a.float().requires_grad_() for a in _random_markers(b=16, t=25, seed=1))
    fast, ref = render_markers(xy, var, ink, size), render_reference(xy, var, ink, size)
    torch.testing.assert_close(fast, ref, atol=1e-6, rtol=1e-5)
    weight = torch.randn_like(ref)
    g_fast = torch.autograd.grad((fast * weight).sum(), (xy, var, ink))
    g_ref = torch.autograd.grad((ref * weight).sum(), (xy, var, ink))
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_fast_equals_reference_when_blocked_over_steps(monkeypatch):
    # Force several blocks over T so the running max across blocks is exercised.
    monkeypatch.setattr("igae_robot.render._BLOCK_ELEMENTS", 2 * 8 * 8)
    xy, var, ink = (a.requires_grad_() for a in _random_markers(b=2, t=9, seed=2))
    fast, ref = render_markers(xy, var, ink, (8, 8)), render_reference(xy, var, ink, (8, 8))
    torch.testing.assert_close(fast, ref)
    g_fast = torch.autograd.grad(fast.sum(), (xy, var, ink))
    g_ref = torch.autograd.grad(ref.sum(), (xy, var, ink))
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b)


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
