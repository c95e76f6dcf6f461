"""The fit's compiled kernel computes what the torch pen renderer and torch's Adam compute: the same soft-IoU
loss, the same gradient, the same steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from igae_robot.model.fit_kernel import fit_points, loss_and_gradient
from igae_robot.model.render_pen import EDGE_PX, render_pen

SIDE = 48
EXACT = 14.0  # the renderer's own margin (edges)
FIT = 4.0  # the fit's (pen_fit.FIT_MARGIN_EDGES): both forms cut each piece's coverage at the same patch


def _drawing(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random walk with pen lifts and lone dots, and ink it partly misses."""
    rng = np.random.default_rng(seed)
    points = np.cumsum(rng.normal(0, 2.0, (40, 2)), 0) + SIDE / 2
    down = rng.random(40) > 0.25
    ink = np.zeros((SIDE, SIDE), np.float32)
    ink[10:38, 20:26] = 1.0
    ink[30:34, 5:40] = 0.7  # grey ink counts as a fraction
    return points, down, ink


def _torch_loss(xy: torch.Tensor, down: np.ndarray, ink: np.ndarray, pen_px: float, margin: float) -> torch.Tensor:
    """The loss pen_fit minimised before the kernel: render_pen (canvas units), soft IoU."""
    t = len(down)
    canvas = render_pen(xy[None], torch.tensor(down, dtype=xy.dtype)[None], torch.full((1, t), pen_px / SIDE, dtype=xy.dtype), (SIDE, SIDE), margin)[0, 0]
    target = torch.tensor(ink, dtype=xy.dtype)
    inter = (canvas * target).sum()
    return 1 - inter / (canvas.sum() + target.sum() - inter)


@pytest.mark.parametrize("seed,pen_px,margin", [(0, 1.0, FIT), (1, 3.0, FIT), (2, 5.5, FIT), (3, 3.0, EXACT)])
def test_loss_and_gradient_are_the_torch_renderer_s(seed, pen_px, margin):
    points, down, ink = _drawing(seed)
    loss, grad = loss_and_gradient(points, down, ink, pen_px, margin * EDGE_PX)
    xy = torch.tensor(points / SIDE, requires_grad=True)
    expected = _torch_loss(xy, down, ink, pen_px, margin)
    expected.backward()
    assert loss == pytest.approx(expected.item(), abs=1e-6)
    reference = xy.grad.numpy() / SIDE  # per pixel
    assert np.abs(reference).max() > 1e-4  # the walk does touch the ink
    assert np.abs(grad - reference).max() < 1e-6 * max(1.0, np.abs(reference).max() * 1e3)


def test_fit_steps_are_torch_adam_s_through_the_renderer():
    """fit_points against the loop pen_fit ran before it: Adam (eps 1e-4) on canvas units, lr shrinking."""
    points, down, ink = _drawing(3)
    steps, lr = 6, (0.4, 0.1)
    ours = fit_points(points, down, ink, 3.0, FIT * EDGE_PX, steps, lr)
    xy = torch.tensor(points / SIDE, requires_grad=True)
    adam = torch.optim.Adam([xy], lr=lr[0] / SIDE, eps=1e-4)
    for step in range(steps):
        adam.param_groups[0]["lr"] = (lr[0] + (lr[1] - lr[0]) * step / (steps - 1)) / SIDE
        adam.zero_grad()
        _torch_loss(xy, down, ink, 3.0, FIT).backward()
        adam.step()
    theirs = xy.detach().numpy() * SIDE
    assert np.abs(ours - points).max() > 0.2  # it did move
    assert np.abs(ours - theirs).max() < 1e-5


def test_points_off_the_canvas_or_not_finite_draw_nothing():
    ink = np.ones((8, 8), np.float32)
    far = np.array([[1e12, -1e12], [1e12, 5.0], [np.nan, 2.0], [3.0, np.inf]])
    loss, grad = loss_and_gradient(far, np.ones(4, bool), ink, 2.0, 1.0)
    assert loss == pytest.approx(1.0) and not grad.any()
    assert fit_points(np.zeros((0, 2)), np.zeros(0, bool), ink, 2.0, 1.0, 5, (0.3, 0.3)).shape == (0, 2)


def test_without_a_writable_cache_the_kernel_still_compiles(monkeypatch):
    """numba refuses cache=True where it can write no cache (read-only install, no HOME): the kernel is compiled
    uncached, with a warning that says how to keep it, rather than failing to import."""
    from numba.core import caching

    from igae_robot.model.fit_kernel import _compiled

    def twice(x):
        return 2 * x

    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # _CacheImpl in older numba
    monkeypatch.setattr(impl, "_locator_classes", [])
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        compiled = _compiled(twice)
    assert compiled(21) == 42
