"""The differentiable renderer: every step stamps a 2-D Gaussian marker; markers join by max.

    canvas[b, y, x] = max_t  ink[b,t] * exp(-((x - px[b,t])² + (y - py[b,t])²) / (2 var[b,t]))

with pixel centres at (i + 0.5) / size in canvas units, and var = pressure * var_coef + var_eps
(the article's "variance = size * 0.01 + 1e-4").

Two forms give the same numbers:

* :func:`render_reference` -- the naive form, B×T×H×W exponentials, autograd through everything.
  Kept as the definition the fast form is tested against.
* :func:`render_markers` -- the fast form.  A Gaussian with one variance is separable: each marker is
  the outer product of a row profile ``ink * exp(-(y - py)² / 2var)`` (B,T,H) and a column profile
  ``exp(-(x - px)² / 2var)`` (B,T,W), so it takes B×T×(H+W) exponentials.  The max of those outer
  products over steps is one custom autograd Function (:class:`_MaxOfOuterProducts`) that works on
  cache-sized blocks of glyphs and keeps only the winning step per pixel (B,H,W) for its backward
  pass, never B×T×H×W intermediates; autograd takes the gradient from the profiles to the
  positions, variances and inks.
"""

from __future__ import annotations

import torch
from torch import Tensor

from igae_robot.errors import GestureError
from igae_robot.model.tensors import GestureTensors

__all__ = ["render_reference", "render_markers", "render_gesture", "marker_variance", "MarkerRenderer"]

# Elements of one (glyphs, T, rows, W) block of marker products.  On CPU a 4 MB block stays in cache
# for the five passes over it (measured at B=1024, T=25, 28x28, one thread, best of 25: forward 25 ms,
# against 39-40 ms with 1, 2 or 16 MB blocks).  On a GPU, large blocks keep the kernel launches few
# (not yet measured on a GPU).
_BLOCK_ELEMENTS = 1 << 20
_GPU_BLOCK_ELEMENTS = 1 << 26


def marker_variance(pressure: Tensor, var_coef: float = 0.01, var_eps: float = 1e-4) -> Tensor:
    """Marker variance in canvas units² from pressure in [0,1]."""
    return pressure * var_coef + var_eps


def _check(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int]) -> None:
    _check_shapes(xy, var, ink, size)
    for name, t in (("positions", xy), ("variance", var), ("intensity", ink)):
        if not torch.isfinite(t).all():
            raise GestureError(f"marker {name} contain NaN or infinite values")
    if (var <= 0).any():
        raise GestureError("marker variance must be positive")


def _check_shapes(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int]) -> None:
    if xy.dim() != 3 or xy.shape[-1] != 2:
        raise GestureError(f"marker positions must have shape (B, T, 2), got {tuple(xy.shape)}")
    bt = tuple(xy.shape[:2])
    for name, t in (("variance", var), ("intensity", ink)):
        if tuple(t.shape) != bt:
            raise GestureError(f"marker {name} must have shape {bt} to match positions (B, T, 2), got {tuple(t.shape)}")
    if len(size) != 2 or min(size) < 1:
        raise GestureError(f"canvas size must be (H, W) with H, W >= 1, got {size}")


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


def _gaussian_profile(centres: Tensor, pos: Tensor, two_var: Tensor) -> Tensor:
    """exp(-(centres - pos)² / two_var), (B,T,N), for pixel centres (N,), pos (B,T), two_var (B,T,1)."""
    return torch.exp(-((centres - pos[..., None]) ** 2) / two_var)


def _block_elements(device: torch.device) -> int:
    return _BLOCK_ELEMENTS if device.type == "cpu" else _GPU_BLOCK_ELEMENTS


class _MaxOfOuterProducts(torch.autograd.Function):
    """canvas[b,y,x] = max_t rows[b,t,y] * cols[b,t,x]; the gradient goes to the winning step only.

    Forward, per block: the products, their max over steps, then the winning step as the earliest
    step equal to the max (ties go to the earliest step, as torch.max does).  The winner is found
    with three vectorised passes (==, times T-t, max) instead of torch.max's index reduction,
    which is several times slower on CPU.
    """

    @staticmethod
    def forward(ctx, rows: Tensor, cols: Tensor):
        b, t, h = rows.shape
        w = cols.shape[-1]
        canvas = rows.new_empty(b, h, w)
        first = rows.new_empty(b, h, w)  # T - winning step, as a float
        countdown = torch.arange(t, 0, -1, dtype=rows.dtype, device=rows.device)[:, None, None]  # (T,1,1)
        budget = _block_elements(rows.device)
        glyphs = max(1, budget // (t * h * w))  # glyphs per block
        band = h if glyphs > 1 else max(1, min(h, budget // (t * w)))  # canvas rows per block (huge canvases)
        block = rows.new_empty(min(glyphs, b), t, band, w)  # reused: a fresh large tensor per block costs page faults
        for b0 in range(0, b, glyphs):
            b1 = min(b, b0 + glyphs)
            for y0 in range(0, h, band):
                y1 = min(h, y0 + band)
                products = block[: b1 - b0, :, : y1 - y0]
                best = canvas[b0:b1, y0:y1]
                torch.mul(rows[b0:b1, :, y0:y1, None], cols[b0:b1, :, None, :], out=products)
                torch.amax(products, dim=1, out=best)
                torch.eq(products, best[:, None], out=products)  # 1.0 where a step reaches the max
                products.mul_(countdown)
                torch.amax(products, dim=1, out=first[b0:b1, y0:y1])
        # A NaN max equals no step (first == 0); clamp keeps the index valid, the loss check reports the NaN.
        winner = first.neg_().add_(t).clamp_(max=t - 1).long()
        ctx.save_for_backward(rows, cols, winner)
        return canvas

    @staticmethod
    def backward(ctx, grad_canvas: Tensor):
        rows, cols, winner = ctx.saved_tensors
        b, t, h = rows.shape
        w = cols.shape[-1]
        g = grad_canvas.reshape(b, h * w)
        # Flat indices of each pixel's winning step into rows (B, T*H) and cols (B, T*W).
        at_row = (winner * h).add_(torch.arange(h, device=g.device)[:, None]).view(b, h * w)
        at_col = (winner * w).add_(torch.arange(w, device=g.device)).view(b, h * w)
        grad_rows = grad_cols = None
        if ctx.needs_input_grad[0]:
            from_cols = cols.reshape(b, t * w).gather(1, at_col).mul_(g)  # d canvas / d rows = the winner's cols
            grad_rows = torch.zeros(b, t * h, dtype=g.dtype, device=g.device).scatter_add_(1, at_row, from_cols).view(b, t, h)
        if ctx.needs_input_grad[1]:
            from_rows = rows.reshape(b, t * h).gather(1, at_row).mul_(g)
            grad_cols = torch.zeros(b, t * w, dtype=g.dtype, device=g.device).scatter_add_(1, at_col, from_rows).view(b, t, w)
        return grad_rows, grad_cols


def render_markers(xy: Tensor, var: Tensor, ink: Tensor, size: tuple[int, int], check: bool = True) -> Tensor:
    """Fast renderer, same result as :func:`render_reference`.

    xy (B,T,2) canvas units; var (B,T) canvas units²; ink (B,T) in [0,1]; returns (B,1,H,W).
    ``check=False`` skips the NaN scan (the training loop checks its loss instead).
    Half-precision inputs (e.g. under bf16 autocast) are rendered in float32: the max over steps
    and its winning step need the precision, and the renderer has no weights to gain from bf16.
    """
    if check:
        _check(xy, var, ink, size)
    else:
        _check_shapes(xy, var, ink, size)
    h, w = int(size[0]), int(size[1])
    dtype = torch.promote_types(xy.dtype, torch.float32)
    xy, var, ink = xy.to(dtype), var.to(dtype), ink.to(dtype)
    with torch.autocast(xy.device.type, enabled=False):
        two_var = 2 * var[..., None]  # (B,T,1)
        rows = ink[..., None] * _gaussian_profile(_pixel_centres(h, xy), xy[..., 1], two_var)  # (B,T,H)
        cols = _gaussian_profile(_pixel_centres(w, xy), xy[..., 0], two_var)  # (B,T,W)
        return _MaxOfOuterProducts.apply(rows, cols).unsqueeze(1)


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
