"""The differentiable renderer: every step stamps a 2-D Gaussian marker; markers join by max.

    canvas[b, y, x] = max_t  ink[b,t] * exp(-((x - px[b,t])² + (y - py[b,t])²) / (2 var[b,t]))

with pixel centres at (i + 0.5) / size in canvas units, and var = pressure * var_coef + var_eps
(the article's "variance = size * 0.01 + 1e-4").

Two forms give the same numbers:

* :func:`render_reference` -- the naive form, B×T×H×W exponentials, autograd through everything.
  Kept as the definition the fast form is tested against.
* :func:`render_markers` -- the fast form.  A Gaussian with one variance is separable: each marker is
  the outer product of a row profile ``ink * exp(-(y - py)² / 2var)`` (B,T,H) and a column profile
  ``exp(-(x - px)² / 2var)`` (B,T,W), so it takes B×T×(H+W) exponentials (:class:`_Profiles`, whose
  hand-written backward takes the gradient on to the positions, variances and inks).  The max of
  those outer products over steps is one custom autograd Function (:class:`_MaxOfOuterProducts`)
  that works on cache-sized blocks of glyphs and keeps only the winning step per pixel (B,H,W) for
  its backward pass, never B×T×H×W intermediates.

Without gradients (the re-render check and ``igae vectorize`` score thousands of glyphs):

* :func:`render_max` -- the same canvas as :func:`render_markers`, laid out for a fast max and
  without the winning-step index a backward pass needs.
* :func:`render_polylines` / :func:`render_strokes` -- strokes read back from a file (glyph units)
  as continuous lines: resampled every fraction of a pixel, one marker of full ink per point.

Memory is bounded before anything is allocated: the canvas side is 1..``MAX_IMAGE_SIZE`` pixels,
and a glyph whose strokes would need more markers than ``MAX_RENDER_BYTES`` allows (a file
written with an absurd glyph scale: its strokes span 1e30 canvases) is a CheckError naming it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from igae_robot.errors import CheckError, GestureError
from igae_robot.gesture import MAX_IMAGE_SIZE
from igae_robot.model.tensors import GestureTensors
from igae_robot.paper.geometry import Polyline, resample_arrays

__all__ = [
    "render_reference", "render_markers", "render_gesture", "marker_variance", "MarkerRenderer",
    "render_max", "render_polylines", "render_strokes", "MAX_RENDER_BYTES",
]

# Elements of one (glyphs, T, rows, W) block of marker products.  On CPU a 4 MB block stays in cache
# for the five passes over it (measured at B=1024, T=25, 28x28, one thread, best of 25: forward 25 ms,
# against 39-40 ms with 1, 2 or 16 MB blocks).  On a GPU, large blocks keep the kernel launches few
# (not yet measured on a GPU).
_BLOCK_ELEMENTS = 1 << 20
_GPU_BLOCK_ELEMENTS = 1 << 26

# The most memory one render may take: render_max multiplies a block of glyphs' markers on the canvas
# (block x size² x markers floats), and the resampled markers of all glyphs are held at once.
MAX_RENDER_BYTES = 1 << 30
_MAX_GLYPHS = 8  # glyphs per block in render_max


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


class _Profiles(torch.autograd.Function):
    """rows = ink * exp(-(y - py)² / 2var) (B,T,H) and cols = exp(-(x - px)² / 2var) (B,T,W), with a
    hand-written backward: a few passes over the profiles instead of autograd's ~25 small ops (the
    profiles' forward + backward were ~30% of a pass; measured 11-14% faster per pass, interleaved A/B)."""

    @staticmethod
    def forward(ctx, xy: Tensor, var: Tensor, ink: Tensor, h: int, w: int):
        two_var = 2 * var[..., None]  # (B,T,1)
        ey = _pixel_centres(h, xy).sub(xy[..., 1, None]).square_().neg_().div_(two_var).exp_()
        cols = _pixel_centres(w, xy).sub(xy[..., 0, None]).square_().neg_().div_(two_var).exp_()
        rows = ey * ink[..., None]
        ctx.save_for_backward(xy, var, ink, ey, rows, cols)
        ctx.size = (h, w)
        return rows, cols

    @staticmethod
    def backward(ctx, grad_rows: Tensor, grad_cols: Tensor):
        """d profile / d pos = profile * d / var and d profile / d var = profile * d² / 2var², d = centre - pos."""
        xy, var, ink, ey, rows, cols = ctx.saved_tensors
        grad_xy, grad_var, grad_ink = xy.new_zeros(xy.shape), var.new_zeros(var.shape), None
        for g, profile, axis, n in ((grad_rows, rows, 1, ctx.size[0]), (grad_cols, cols, 0, ctx.size[1])):
            if g is not None:
                gd = _pixel_centres(n, xy).sub(xy[..., axis, None]).mul_(g * profile)  # (B,T,N): g * profile * d
                grad_xy[..., axis] = gd.sum(-1)
                grad_var += gd.mul_(_pixel_centres(n, xy).sub(xy[..., axis, None])).sum(-1)
        if ctx.needs_input_grad[2] and grad_rows is not None:
            grad_ink = (grad_rows * ey).sum(-1)
        return grad_xy.div_(var[..., None]), grad_var.div_(2 * var * var), grad_ink, None, None


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
        rows, cols = _Profiles.apply(xy, var, ink, h, w)  # (B,T,H), (B,T,W)
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


# ---- without gradients: the re-render check and vectorize's fidelity ------------------------------


def render_polylines(
    glyphs: Sequence[Sequence[Polyline]],
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    spacing_px: float = 0.25,
) -> torch.Tensor:
    """Render per-glyph polylines (glyph units) as continuous lines of markers -> (B,1,size,size).

    Each polyline is resampled every ``spacing_px`` pixels; each point is a marker of ink 1 and
    variance pressure * var_coef + var_eps (glyph units²).  B = len(glyphs).
    """
    polylines = [p for polylines in glyphs for p in polylines]
    values = np.concatenate([np.column_stack([p.points, p.pressure]) for p in polylines]) if polylines else np.zeros((0, 3))
    counts = np.array([len(p) for p in polylines], dtype=np.intp)
    return render_strokes(values, counts, np.array([len(g) for g in glyphs], dtype=np.intp), size, var_coef, var_eps, spacing_px)


def render_strokes(
    values: np.ndarray,
    counts: np.ndarray,
    per_glyph: np.ndarray,
    size: int = 28,
    var_coef: float = 0.01,
    var_eps: float = 1e-4,
    spacing_px: float = 0.25,
    group: int = 128,
) -> torch.Tensor:
    """:func:`render_polylines` of arrays, for many glyphs at once (``igae vectorize`` scores thousands).

    values (N,3): x, y (glyph units), pressure of every point of every polyline, one polyline after
    the other; counts (M,) points per polyline; per_glyph (B,) polylines per glyph, glyph after glyph.
    Glyphs are rendered ``group`` at a time, those with similar marker counts together (each group
    padded to its longest glyph with markers of no ink): a glyph's canvas does not depend on its group.
    """
    _check_render_size(values, counts, per_glyph, size, spacing_px)
    dense, per_polyline = resample_arrays(values, counts, spacing_px / size)
    glyph_of = np.repeat(np.arange(len(per_glyph)), per_glyph)  # (M,)
    markers = np.bincount(glyph_of, weights=per_polyline, minlength=len(per_glyph)).astype(np.intp)  # (B,)
    points, variance = dense[:, :2], np.clip(dense[:, 2], 0.0, 1.0) * var_coef + var_eps
    out = torch.zeros(len(per_glyph), 1, size, size)
    order = np.argsort(markers, kind="stable")
    first = np.cumsum(markers) - markers  # each glyph's first marker
    for part in np.array_split(order, max(1, -(-len(order) // group))) if len(order) else []:
        steps = 32 * max(1, -(-int(markers[part].max()) // 32))  # see render_max
        row = np.repeat(np.arange(len(part)), markers[part])
        col = np.arange(len(row)) - np.repeat(np.cumsum(markers[part]) - markers[part], markers[part])
        src = first[part][row] + col
        xy, var, ink = np.zeros((len(part), steps, 2)), np.ones((len(part), steps)), np.zeros((len(part), steps))
        xy[row, col], var[row, col], ink[row, col] = points[src], variance[src], 1.0
        out[torch.from_numpy(part)] = render_max(
            torch.as_tensor(xy, dtype=torch.float32),
            torch.as_tensor(var, dtype=torch.float32),
            torch.as_tensor(ink, dtype=torch.float32),
            (size, size),
        )
    return out


def _check_render_size(values: np.ndarray, counts: np.ndarray, per_glyph: np.ndarray, size: int, spacing_px: float) -> None:
    """Refuse, before allocating, a render whose markers would not fit in MAX_RENDER_BYTES."""
    if not (isinstance(size, (int, np.integer)) and 1 <= size <= MAX_IMAGE_SIZE):
        raise CheckError(f"canvas size {size!r} must be a whole number of pixels in 1..{MAX_IMAGE_SIZE}")
    if len(values) == 0:
        return
    glyph_of = np.repeat(np.arange(len(per_glyph)), per_glyph)  # (M,) glyph of each polyline
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        row = int(np.argmax(~finite))
        glyph = int(glyph_of[np.repeat(np.arange(len(counts)), counts)[row]])
        raise CheckError(f"glyph {glyph}: stroke values {values[row].tolist()} are not finite numbers; was its glyph scale 0?")
    # Markers per glyph as resample_arrays makes them: ceil(length / spacing) per segment, 1 per end.
    seg = np.hypot(*np.diff(values[:, :2], axis=0).T) / (spacing_px / size)
    last = np.cumsum(counts) - 1
    markers = np.append(np.maximum(1.0, np.ceil(seg)), 1.0)
    markers[last] = 1.0
    per_polyline = np.add.reduceat(markers, last - counts + 1)
    per_glyph_markers = np.bincount(glyph_of, weights=per_polyline, minlength=len(per_glyph))
    most = MAX_RENDER_BYTES // (_MAX_GLYPHS * size * size * 4)  # float32 products of one block
    worst = int(np.argmax(per_glyph_markers))
    if per_glyph_markers[worst] > most:
        raise CheckError(
            f"glyph {worst} would need {per_glyph_markers[worst]:.3g} markers to render at {size}x{size} "
            f"(at most {most}): its strokes span {per_glyph_markers[worst] * spacing_px / size:.3g} canvas units; "
            f"was it exported with an outlier glyph or an absurd scale?"
        )
    if per_glyph_markers.sum() * 64 > MAX_RENDER_BYTES:
        raise CheckError(f"{per_glyph_markers.sum():.3g} markers to render: too many for one check; check fewer glyphs at a time")


_TINY = 2e-19  # the smallest factor; (2e-19)² = 4e-38 is above the smallest normal float32 (1.2e-38)


def _gaussian(centres: torch.Tensor, pos: torch.Tensor, two_var: torch.Tensor) -> torch.Tensor:
    """exp(-(centres - pos)² / two_var) as render_markers computes it, laid out (B,N,T), and never below
    _TINY: no product of two factors is then a denormal float (x86 CPUs compute those tens of times
    slower) and exp never underflows (its slow path).  centres (N,); pos (B,T); two_var (B,1,T)."""
    arg = (centres[:, None] - pos[:, None, :]).square_().neg_().div_(two_var)
    return arg.clamp_(min=math.log(_TINY)).exp_()


def render_max(xy: torch.Tensor, var: torch.Tensor, ink: torch.Tensor, size: tuple[int, int], block: int = _MAX_GLYPHS) -> torch.Tensor:
    """:func:`~igae_robot.model.render.render_markers` without gradients: the same canvas, float for float
    wherever it is above 2e-19 (below, within 2e-19: factors are kept above it, see _gaussian).

    xy (B,T,2) canvas units; var, ink (B,T); returns (B,1,H,W).  The markers are laid along the last
    axis (B,H,W,T), so the max over steps is a reduction over contiguous memory, ``block`` glyphs at a
    time; without the winning-step index the training renderer keeps for its backward pass, this is
    several times faster.  Pad T to a multiple of 32 with markers of no ink: torch's CPU max over
    a last axis of other lengths runs several times slower (measured: T=88 6x slower than T=96).
    """
    if not (torch.isfinite(xy).all() and torch.isfinite(var).all() and torch.isfinite(ink).all()):
        raise CheckError("markers to render contain NaN or infinite values")
    h, w = size
    ys = (torch.arange(h, dtype=xy.dtype) + 0.5) / h
    xs = (torch.arange(w, dtype=xy.dtype) + 0.5) / w
    with torch.no_grad():
        two_var = 2 * var[:, None, :]
        ex = _gaussian(xs, xy[..., 0], two_var)  # (B,W,T)
        ay = ink[:, None, :] * _gaussian(ys, xy[..., 1], two_var)  # (B,H,T)
        out = torch.empty(len(xy), h, w, dtype=xy.dtype)
        products = torch.empty(min(block, len(xy)), h, w, xy.shape[1], dtype=xy.dtype)  # reused: a fresh
        for b in range(0, len(xy), block):  # large tensor per block costs page faults, not arithmetic
            n = min(block, len(xy) - b)
            torch.mul(ay[b : b + n, :, None, :], ex[b : b + n, None, :, :], out=products[:n])
            torch.amax(products[:n], dim=-1, out=out[b : b + n])
    return out[:, None]
