"""The differentiable renderer: every step stamps a 2-D Gaussian marker; markers join by max.

    canvas[b, y, x] = max_t  ink[b,t] * exp(-((x - px[b,t])² + (y - py[b,t])²) / (2 var[b,t]))

with pixel centres at (i + 0.5) / size in canvas units, and var = pressure * var_coef + var_eps
(the article's "variance = size * 0.01 + 1e-4").

Two forms give the same numbers:

* :func:`render_reference` -- the naive form, B×T×H×W exponentials, autograd through everything.
  Kept as the definition the fast form is tested against.
* :func:`render_markers` -- the fast form.  A Gaussian with one variance is separable, so it takes
  B×T×(H+W) exponentials and one multiply per (b,t,y,x).  Its backward goes only through the step
  that won the max at each pixel, so it stores a (B,H,W) index instead of B×T×H×W intermediates.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .errors import GestureError
from .gesture_tensors import GestureTensors

__all__ = ["render_reference", "render_markers", "render_gesture", "marker_variance", "MarkerRenderer"]

# Elements of one (B, chunk, H, W) product block in the fast forward; bounds peak memory (~32 MB).
_BLOCK_ELEMENTS = 8_000_000


def marker_variance(pressure: Tensor, var_coef: float = 0.01, var_eps: float = 1e-4) -> Tensor:
    """Marker variance in canvas units² from pressure in [0,1]."""
    return pressure * var_coef + var_eps


def _check(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int]) -> None:
    if xy.dim() != 3 or xy.shape[-1] != 2:
        raise GestureError(f"marker positions must have shape (B, T, 2), got {tuple(xy.shape)}")
    bt = tuple(xy.shape[:2])
    for name, t in (("variance", var), ("intensity", ink)):
        if tuple(t.shape) != bt:
            raise GestureError(f"marker {name} must have shape {bt} to match positions (B, T, 2), got {tuple(t.shape)}")
    if len(size) != 2 or min(size) < 1:
        raise GestureError(f"canvas size must be (H, W) with H, W >= 1, got {size}")
    for name, t in (("positions", xy), ("variance", var), ("intensity", ink)):
        if not torch.isfinite(t).all():
            raise GestureError(f"marker {name} contain NaN or infinite values")
    if (var <= 0).any():
        raise GestureError("marker variance must be positive")


def _pixel_centres(n: int, like: Tensor) -> Tensor:
    return (torch.arange(n, device=like.device, dtype=like.dtype) + 0.5) / n


def render_reference(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int]) -> Tensor:
    """Naive renderer.  xy (B,T,2) canvas units; var, ink (B,T); returns (B,1,H,W)."""
    _check(xy, var, ink, size)
    h, w = size
    ys = _pixel_centres(h, xy)[:, None]  # (H,1)
    xs = _pixel_centres(w, xy)[None, :]  # (1,W)
    px = xy[..., 0, None, None]  # (B,T,1,1)
    py = xy[..., 1, None, None]
    d2 = (xs - px) ** 2 + (ys - py) ** 2  # (B,T,H,W)
    markers = ink[..., None, None] * torch.exp(-d2 / (2 * var[..., None, None]))
    return markers.amax(dim=1, keepdim=True)


class _SeparableMaxRender(torch.autograd.Function):
    """Forward: separable Gaussians, running max over T in blocks.  Backward: through the argmax."""

    @staticmethod
    def forward(ctx, px: Tensor, py: Tensor, var: Tensor, ink: Tensor, h: int, w: int):
        ys = _pixel_centres(h, px)
        xs = _pixel_centres(w, px)
        two_var = 2 * var[..., None]
        ex = torch.exp(-((xs - px[..., None]) ** 2) / two_var)  # (B,T,W)
        ay = ink[..., None] * torch.exp(-((ys - py[..., None]) ** 2) / two_var)  # (B,T,H)
        b, t = px.shape
        chunk = max(1, min(t, _BLOCK_ELEMENTS // max(1, b * h * w)))
        best = best_idx = None
        for t0 in range(0, t, chunk):
            block = ay[:, t0 : t0 + chunk, :, None] * ex[:, t0 : t0 + chunk, None, :]  # (B,c,H,W)
            val, idx = block.max(dim=1)
            if best is None:
                best, best_idx = val, idx
            else:
                # ">" keeps the earliest step on ties, as torch.max does within a block.
                better = val > best
                best = torch.where(better, val, best)
                best_idx = torch.where(better, idx + t0, best_idx)
        ctx.save_for_backward(px, py, var, ink, best_idx)
        ctx.size = (h, w)
        return best.unsqueeze(1)  # (B,1,H,W)

    @staticmethod
    def backward(ctx, grad_canvas: Tensor):
        px, py, var, ink, idx = ctx.saved_tensors
        h, w = ctx.size
        b, t = px.shape
        idx = idx.reshape(b, h * w)  # winning step per pixel
        g = grad_canvas.reshape(b, h * w)
        xs = _pixel_centres(w, px).repeat(h)  # (HW,) pixel x, row-major
        ys = _pixel_centres(h, px).repeat_interleave(w)  # (HW,) pixel y
        wx, wy, wv, wi = (a.gather(1, idx) for a in (px, py, var, ink))  # (B,HW) winner's params
        dx, dy = xs - wx, ys - wy
        d2 = dx * dx + dy * dy
        e = torch.exp(-d2 / (2 * wv))
        gm = g * wi * e  # dL/dcanvas * marker value
        grads = {
            "px": gm * dx / wv,
            "py": gm * dy / wv,
            "var": gm * d2 / (2 * wv * wv),
            "ink": g * e,
        }
        out = []
        for name, needs in zip(("px", "py", "var", "ink"), ctx.needs_input_grad[:4]):
            if needs:
                out.append(torch.zeros(b, t, dtype=g.dtype, device=g.device).scatter_add_(1, idx, grads[name]))
            else:
                out.append(None)
        return (*out, None, None)


def render_markers(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int], check: bool = True) -> Tensor:
    """Fast renderer, same result as :func:`render_reference`.

    xy (B,T,2) canvas units; var (B,T) canvas units²; ink (B,T) in [0,1]; returns (B,1,H,W).
    ``check=False`` skips the NaN scan (the training loop checks its loss instead).
    """
    if check:
        _check(xy, var, ink, size)
    elif xy.dim() != 3 or xy.shape[-1] != 2:
        raise GestureError(f"marker positions must have shape (B, T, 2), got {tuple(xy.shape)}")
    return _SeparableMaxRender.apply(xy[..., 0], xy[..., 1], var, ink, int(size[0]), int(size[1]))


def render_gesture(
    gesture: GestureTensors,
    size: tuple[int, int] = (28, 28),
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    reference: bool = False,
    check: bool = True,
) -> Tensor:
    """Render a batch of gestures to (B,1,H,W) canvases in [0,1]."""
    var = marker_variance(gesture.pressure, var_coef, var_eps)
    xy = gesture.positions()
    if reference:
        return render_reference(xy, var, gesture.intensity, size)
    return render_markers(xy, var, gesture.intensity, size, check=check)


class MarkerRenderer(torch.nn.Module):
    """Thin module around :func:`render_gesture` holding the canvas size and variance mapping."""

    def __init__(self, size: tuple[int, int] = (28, 28), var_coef: float = 0.01, var_eps: float = 1e-4):
        super().__init__()
        self.size = tuple(size)
        self.var_coef = var_coef
        self.var_eps = var_eps

    def forward(self, gesture: GestureTensors, check: bool = True) -> Tensor:
        return render_gesture(gesture, self.size, self.var_coef, self.var_eps, check=check)

    def extra_repr(self) -> str:
        return f"size={self.size}, var_coef={self.var_coef}, var_eps={self.var_eps}"
