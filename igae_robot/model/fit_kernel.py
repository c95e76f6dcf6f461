"""The pen fit's inner loop as one compiled kernel: render, soft IoU, gradient and Adam step, per drawing.

:func:`~igae_robot.model.pen_fit.fit_drawings` moves a drawing's points so that the pen's picture covers the
ink.  Through :func:`~igae_robot.model.render_pen.render_pen` each step is some thirty tensor operations over
chunks of pieces (patch coordinates, distance, sigmoid, a packed key, a scatter of the maximum, then the same
again backward); on a page those ops, not the arithmetic, were the time: about 90 ms for 8 windows of 384 px
on one thread, where this kernel takes about 20 ms.  This module does the same sums in one pass of plain loops, compiled by numba, for the fit's
special case -- a hard pen (every piece drawn or not) of one width per drawing -- where the render needs no
sigmoid per piece: with one radius, the piece that covers a pixel most is simply the nearest one, so the
pass keeps each pixel's nearest squared distance and its piece, and the coverage

    c = sigmoid((radius - distance) / edge)          edge = a quarter pixel (render_pen.EDGE_PX)

is taken once per pixel.  A piece is evaluated on the renderer's square patch: the pixels within ``margin_px``
of its reach (the fit's FIT_MARGIN_EDGES: 1 px past the pen) round its bounding box, squared to the box's
longer side; elsewhere it covers nothing.  That truncation is the one the fit was tuned with, and it matters
for thin pens: cut round each piece at the same 1 px instead, three seed-3 benchmark pages drawn with a 3-px
pen lost 0.01-0.04 of pen-drawn IoU (omniglot-1 0.935 -> 0.920, drawing-2 0.833 -> 0.791), and a round reach
of 3.5 px won back only a fifth of it.  Pieces are the renderer's, in its order (segments i -> i+1 with the
pen down at both ends, then dots: a down step whose neighbours are up), and ties go to the first, as there.
The gradient is the renderer's hand-written backward, per pixel through its winning piece: with u the
projection onto the piece (0 at its start) and e the pixel centre minus its nearest point,

    dL/d start = dL/dc * c (1 - c) / edge * (1 - u) e / |e|,     dL/d end = the same with u for (1 - u)

and the loss the fit's soft IoU, L = 1 - I / U, I = sum(c t), U = sum(c + t - c t), so dL/dc = -(t U - I (1 - t)) / U^2.

Adam is torch's, on points in canvas units (pixels / the longer side) as the torch fit had them, so that its
epsilon meets gradients of the same size.  Everything runs in float64 without the GIL: drawings fit in
parallel on Python threads.  tests/test_fit_kernel.py holds the loss and gradient to the torch renderer's.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit

__all__ = ["fit_points", "load", "loss_and_gradient"]

# torch.optim.Adam's betas; its eps well above float noise in the gradients: a point whose gradient is only
# noise (mid-way along a straight line) must stay put, not drift by Adam's full step in a random direction.
_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-4
_EDGE_PX = 0.25  # render_pen.EDGE_PX, repeated so that this module needs no torch


def _compiled(function):
    """``function`` compiled by numba without the GIL, its machine code cached on disk.  Where numba finds no
    writable place for the cache (a read-only install and no usable HOME) it refuses to cache at import; the
    kernel is then compiled in each process (a few seconds) instead of failing to import."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        warnings.warn(f"{exc}: the pen fit is compiled at each start; set NUMBA_CACHE_DIR to a writable folder to keep it",
                      RuntimeWarning, stacklevel=2)
        return njit(nogil=True)(function)


@_compiled
def _piece(points: np.ndarray, down: np.ndarray, k: int) -> tuple[bool, int, int]:
    """Piece k of the renderer's order: (drawn, its start step, its end step).  Pieces 0..T-2 are the
    segments i -> i+1, drawn where the pen is down at both ends; T-1..2T-2 the dots, a down step whose
    neighbours (or the page's edge) are up."""
    t = len(points)
    if k < t - 1:
        return bool(down[k] and down[k + 1]), k, k + 1
    i = k - (t - 1)
    alone = down[i] and (i == 0 or not down[i - 1]) and (i == t - 1 or not down[i + 1])
    return bool(alone), i, i


@_compiled
def _span(lo: float, hi: float, reach: float, n: int) -> tuple[int, int]:
    """The pixels first..last (inclusive) whose centres lie within lo - reach .. hi + reach, on n pixels
    (last < first: none)."""
    first = math.ceil(max(-1.0, min(float(n), lo - reach)) - 0.5)
    last = math.floor(max(-1.0, min(float(n), hi + reach)) - 0.5)
    return max(0, first), min(n - 1, last)


@_compiled
def _nearest(points, down, reach, best, owner, touched) -> int:
    """Each pixel's squared distance to its nearest drawn piece among those whose patch holds it (the pixels
    within ``reach`` of the piece's box, squared), and that piece, into best and owner (H,W), which hold inf
    and -1 everywhere on entry (:func:`_forget`).  A strict comparison keeps the first of equal pieces.  The
    pixels some piece reaches are listed in ``touched`` (flat indices); returns how many.  Later passes visit
    those alone: a fifth to a quarter of a 384-px window of a page of text or digits (28 000-36 000 pixels);
    visiting every pixel made a step 30% longer (3.3 against 2.6 ms a window, omniglot-1 of seed 7)."""
    h, w = best.shape
    n = 0
    for k in range(2 * len(points) - 1):
        drawn, a, b = _piece(points, down, k)
        ax, ay, bx, by = points[a, 0], points[a, 1], points[b, 0], points[b, 1]
        if not drawn or not (math.isfinite(ax + ay) and math.isfinite(bx + by)):
            continue
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        x0, x1 = _span(min(ax, bx), max(ax, bx), reach, w)
        y0, y1 = _span(min(ay, by), max(ay, by), reach, h)
        if x1 < x0 or y1 < y0:  # off the canvas
            continue
        # The renderer's square patch: as wide as the box's longer side, moved back inside the canvas.
        side_x, side_y = min(w, max(x1 - x0, y1 - y0) + 1), min(h, max(x1 - x0, y1 - y0) + 1)
        x0, y0 = min(x0, w - side_x), min(y0, h - side_y)
        for y in range(y0, y0 + side_y):
            ry = y + 0.5 - ay
            for x in range(x0, x0 + side_x):
                rx = x + 0.5 - ax
                u = 0.0
                if length2 > 0.0:
                    u = min(1.0, max(0.0, (rx * dx + ry * dy) / length2))
                ex, ey = rx - u * dx, ry - u * dy
                d2 = ex * ex + ey * ey
                if d2 < best[y, x]:
                    if owner[y, x] < 0:
                        touched[n] = y * w + x
                        n += 1
                    best[y, x] = d2
                    owner[y, x] = k
    return n


@_compiled
def _coverage(best, owner, ink, radius, touched, n) -> tuple[float, float]:
    """Turn best (squared distances) into the pen's coverage in place at the ``n`` touched pixels (elsewhere
    the coverage is 0); returns (sum c t, sum c)."""
    w = best.shape[1]
    inter, covered = 0.0, 0.0
    for i in range(n):
        y, x = divmod(touched[i], w)
        c = 1.0 / (1.0 + math.exp(-(radius - math.sqrt(best[y, x])) / _EDGE_PX))
        best[y, x] = c
        inter += c * ink[y, x]
        covered += c
    return inter, covered


@_compiled
def _backward(points, down, cover, owner, ink, inter, union, grad, touched, n) -> None:
    """d loss / d points (T,2), pixels, into grad, through each touched pixel's winning piece (see the module)."""
    w = cover.shape[1]
    grad[:] = 0.0
    for i in range(n):
        y, x = divmod(touched[i], w)
        c, t = cover[y, x], ink[y, x]
        g = -(t * union - inter * (1.0 - t)) / (union * union) * c * (1.0 - c) / _EDGE_PX
        _, a, b = _piece(points, down, owner[y, x])
        ax, ay = points[a, 0], points[a, 1]
        dx, dy = points[b, 0] - ax, points[b, 1] - ay
        rx, ry = x + 0.5 - ax, y + 0.5 - ay
        length2 = dx * dx + dy * dy
        u = min(1.0, max(0.0, (rx * dx + ry * dy) / length2)) if length2 > 0.0 else 0.0
        ex, ey = rx - u * dx, ry - u * dy
        d = math.sqrt(ex * ex + ey * ey)
        if d == 0.0:  # on the line: no direction to move it (the renderer's epsilon gives ~0 too)
            continue
        fx, fy = g * ex / d, g * ey / d
        grad[a, 0] += (1.0 - u) * fx
        grad[a, 1] += (1.0 - u) * fy
        grad[b, 0] += u * fx
        grad[b, 1] += u * fy


@_compiled
def _forget(best, owner, touched, n) -> None:
    """best and owner back to inf and -1 at the touched pixels: blank for the next render."""
    w = best.shape[1]
    for i in range(n):
        y, x = divmod(touched[i], w)
        best[y, x] = math.inf
        owner[y, x] = -1


@_compiled
def _step_loss(points, down, ink, ink_sum, pen_px, margin_px, best, owner, touched, grad) -> float:
    """One render, loss and gradient (pixels) of a drawing with a pen ``pen_px`` wide whose pieces reach
    ``margin_px`` past it; ink_sum: the ink's sum.  The work arrays best, owner (H,W) (inf and -1) and touched
    (H*W,) are reused, and left as they came."""
    radius = pen_px / 2
    n = _nearest(points, down, radius + margin_px, best, owner, touched)
    inter, covered = _coverage(best, owner, ink, radius, touched, n)
    union = max(covered + ink_sum - inter, 1e-6)
    _backward(points, down, best, owner, ink, inter, union, grad, touched, n)
    _forget(best, owner, touched, n)
    return 1.0 - inter / union


def _work(ink: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """What every step of a fit against ``ink`` (H,W) needs besides the drawing: the ink's sum (in float64), and
    blank work arrays best (inf), owner (-1), touched."""
    h, w = ink.shape
    return float(ink.sum(dtype=np.float64)), np.full((h, w), np.inf), np.full((h, w), -1, np.int32), np.empty(h * w, np.int64)


def loss_and_gradient(points: np.ndarray, down: np.ndarray, ink: np.ndarray, pen_px: float, margin_px: float) -> tuple[float, np.ndarray]:
    """The fit's loss 1 - soft IoU of one drawing -- points (T,2) pixels, down (T,) bool -- drawn with a pen
    ``pen_px`` wide against ink (H,W) in [0,1], and its gradient (T,2) w.r.t. the points in pixels."""
    points, ink = np.ascontiguousarray(points, np.float64), np.ascontiguousarray(ink, np.float32)
    grad = np.zeros_like(points)
    ink_sum, *work = _work(ink)
    loss = _step_loss(points, np.ascontiguousarray(down, np.bool_), ink, ink_sum, float(pen_px), float(margin_px), *work, grad)
    return loss, grad


@_compiled
def _fit(points, down, ink, pen_px, margin_px, steps, lr_first, lr_last, ink_sum, best, owner, touched) -> None:
    """fit_points' steps, on ``points`` in place."""
    side = max(ink.shape)
    grad, m, v = np.zeros_like(points), np.zeros_like(points), np.zeros_like(points)
    for step in range(steps):
        lr = lr_first + (lr_last - lr_first) * step / max(1, steps - 1)
        _step_loss(points, down, ink, ink_sum, pen_px, margin_px, best, owner, touched, grad)
        # Adam on points in canvas units (pixels / side): its gradient is side x the pixels' one, its step
        # lr / side canvas units, i.e. lr pixels.
        b1, b2 = 1.0 - _BETA1 ** (step + 1), 1.0 - _BETA2 ** (step + 1)
        for i in range(len(points)):
            for j in range(2):
                g = grad[i, j] * side
                m[i, j] += (g - m[i, j]) * (1.0 - _BETA1)
                v[i, j] = v[i, j] * _BETA2 + (1.0 - _BETA2) * g * g
                points[i, j] -= lr / b1 * m[i, j] / (math.sqrt(v[i, j]) / math.sqrt(b2) + _ADAM_EPS)


def fit_points(points: np.ndarray, down: np.ndarray, ink: np.ndarray, pen_px: float, margin_px: float,
               steps: int, lr_px: tuple[float, float]) -> np.ndarray:
    """``steps`` of Adam on a drawing's points (T,2) pixels (down (T,) bool), to cover ink (H,W) in [0,1]
    with a pen ``pen_px`` wide; lr_px (first, last) pixels, linearly between.  Returns the new points (T,2)."""
    out = np.array(points, np.float64, order="C", copy=True)
    if len(out):
        ink = np.ascontiguousarray(ink, np.float32)
        _fit(out, np.ascontiguousarray(down, np.bool_), ink, float(pen_px), float(margin_px),
             int(steps), float(lr_px[0]), float(lr_px[1]), *_work(ink))
    return out


def load() -> None:
    """Load the compiled fit now (numba's cache, or a compile of a few seconds the first time on a machine):
    half a second a process, which the first fit would otherwise pay."""
    fit_points(np.zeros((2, 2)), np.ones(2, np.bool_), np.zeros((4, 4), np.float32), 1.0, 1.0, 1, (0.1, 0.1))
