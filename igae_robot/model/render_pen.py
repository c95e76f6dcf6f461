"""The pen renderer: a gesture drawn as a pen draws it (issue 13).

The marker renderer (:mod:`igae_robot.model.render`) stamps soft Gaussian dots whose ink varies step by
step; a plotter draws something else: constant-width lines between consecutive pen-down steps, round
at their ends and joints, and nothing at all where the pen is up.  Training on the marker picture
teaches the model a drawing the pen never makes, so this module renders the pen's picture:

    segment i joins step i to step i+1; it is drawn when the pen is down at both ends:
        weight_i = down[i] * down[i+1]
    a step whose neighbours are both up is a dot:
        dot_i    = down[i] * (1 - down[i-1]) * (1 - down[i+1])
    coverage of a pixel by a segment: the distance d from its centre to the segment (so caps and
    joints are round), the half-width r = (width[i] + width[i+1]) / 4, and an anti-aliased edge
        c = weight_i * sigmoid((r - d) / edge),  edge = a quarter of a pixel
    canvas = max(0, max_i c_i)     each pixel takes its most-covering piece (blank paper is 0)

With hard pen states the max is the coverage of the pixel's nearest segment: the pen's own picture.
The union 1 - prod_i (1 - c_i) (this module's first definition) is not: along a polyline every edge
pixel lies in the soft edge of two or three overlapping segments and the union widens the line.
Fitting drawings through the union and drawing them with Pillow scored IoU 0.954 on Omniglot,
through the max 0.983.  An arc with a point every half pixel renders within 1% of its exact area
(length x width + the round caps) where the union's is 24-54% wider, and random drawings with a point
every pixel score IoU 0.933-0.976 against Pillow's round pen (the union 0.804-0.888); tests/test_render_pen.py.

The max is not differentiable where two pieces tie at a pixel; its gradient there goes to one of
them, the first in piece order (segments 0..T-2, then dots 0..T-1), as torch.max gives it.  A piece
gets gradient only from the pixels it wins, so a piece of weight 0 (it never wins) gets none: the pen
state of a pen-up step learns only through the drawn pieces whose weight it is a factor of (the
(1 - down) of a neighbouring dot), not from ink missing along its travel, as under the union.

``down`` is the pen state in [0, 1]: soft while training (gradients reach the pen state), hard at
export.  :func:`pen_state` gives either, and the straight-through form (hard forward, soft
gradient) that lets training see exactly what the plotter will draw.  Widths are in canvas units:
a machine's pen range or a fixed pen.

Two forms give the same canvas and gradients (tests/test_render_pen.py holds them to 1e-5):

* :func:`render_pen_reference` -- the definition: B x S x H x W coverages, autograd through everything.
* :func:`render_pen_fast` (= :func:`render_pen`) -- one autograd Function (:class:`_PenCanvas`) with a
  hand-written backward.  Each drawn piece (weight > 0) is evaluated only on a patch of pixels around
  it, in chunks of pieces with the same patch size; forward keeps the canvas and each pixel's winning
  piece, backward recomputes only that piece at that pixel (B x H x W work, whatever the pieces).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["pen_state", "render_pen", "render_pen_fast", "render_pen_reference"]

# The anti-aliased edge in pixels: a quarter pixel keeps a line's edge within about one pixel
# (sigmoid 0.02..0.98 over +-1 pixel) while giving gradients a pixel beyond the ink.
EDGE_PX = 0.25

# The fast form evaluates a piece on the pixels within radius + 14 edges of its bounding box: beyond,
# coverage < sigmoid(-14) = 8.3e-7, which the max can only pass on (a pixel no patch reaches is 0).
_MARGIN_EDGES = 14.0
_EPS2 = 1e-12  # the reference's epsilon under the square root of a distance
# Piece-pixels (and winning pixels in backward) per chunk.  On CPU, just under torch's parallel grain
# (32768 elements): every op of a chunk runs on the calling thread.  Waking a passive OpenMP thread
# costs ~50 us per op on the 2-vCPU machine measured, more than the op (union form, 2 threads, B=1024
# T=40 28x28, forward + backward: best 98-106 ms in chunks of 2^15 - 1, 124-172 ms in chunks of 2^18).
# On a GPU large chunks keep the launches few.
# A process whose ops run on one thread anyway (torch.set_num_threads(1), as vectorize's worker processes
# set it) has no thread to wake: there chunks of 2^17 make a quarter as many ops for the same work, 50 -> 40 ms
# a step on a batch of eight 384-px windows of a page of text.
_BLOCK_ELEMENTS = (1 << 15) - 1
_ONE_THREAD_BLOCK_ELEMENTS = 1 << 17
_GPU_BLOCK_ELEMENTS = 1 << 24


def _block_elements(device: torch.device) -> int:
    """Piece-pixels per chunk on ``device`` (see _BLOCK_ELEMENTS)."""
    if device.type != "cpu":
        return _GPU_BLOCK_ELEMENTS
    return _ONE_THREAD_BLOCK_ELEMENTS if torch.get_num_threads() == 1 else _BLOCK_ELEMENTS


def pen_state(intensity: Tensor, mode: str = "soft", threshold: float = 0.5) -> Tensor:
    """Pen down-ness (B,T) in [0,1] from intensity: ``soft`` as is, ``hard`` thresholded (the plotter),
    ``straight-through`` hard in the forward pass with the soft gradient."""
    if mode == "soft":
        return intensity
    hard = (intensity >= threshold).to(intensity.dtype)
    if mode == "hard":
        return hard
    if mode == "straight-through":
        return hard + intensity - intensity.detach()
    raise ValueError(f"unknown pen mode {mode!r}; known: soft, hard, straight-through")


def _check(xy: Tensor, down: Tensor, width: Tensor, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(B, T, H, W) after checking the shapes."""
    b, t, _ = xy.shape
    if down.shape != (b, t) or width.shape != (b, t):
        raise ValueError(f"down and width must have shape {(b, t)}, got {tuple(down.shape)} and {tuple(width.shape)}")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"canvas size must be (H, W) with H, W >= 1, got {size}")
    return b, t, int(size[0]), int(size[1])


def render_pen_reference(xy: Tensor, down: Tensor, width: Tensor, size: tuple[int, int]) -> Tensor:
    """xy (B,T,2) canvas units (x right, y down, [0,1] is the canvas); down (B,T) in [0,1]; width (B,T)
    pen width in canvas units.  Returns the canvas (B,1,H,W) in [0,1].  The definition, slow: B x S x H x W
    intermediates (S = 2T - 1 pieces)."""
    b, t, h, w = _check(xy, down, width, size)
    start, end, weight, radius = _pieces(xy, down, width)  # (B,S,2) x2, (B,S), (B,S)
    pixels = _pixel_centres(h, w, xy)  # (H*W, 2)
    dist = _distance_to_segments(pixels, start, end)  # (B,S,H*W)
    edge = EDGE_PX / max(h, w)
    coverage = torch.sigmoid((radius[..., None] - dist) / edge) * weight[..., None]
    # Blank paper first: it wins where every piece covers 0 (ties go to the first maximum, torch.max's
    # rule), so a piece of weight 0 never takes a pixel's gradient.
    paper = coverage.new_zeros(b, 1, h * w)
    return torch.cat([paper, coverage], dim=1).max(dim=1).values.reshape(b, 1, h, w)


def _pieces(xy: Tensor, down: Tensor, width: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Every segment and every dot as a (start, end, weight, radius) piece: dots are zero-length segments."""
    up_before = torch.nn.functional.pad(1 - down[:, :-1], (1, 0), value=1.0)  # pen up before step 0
    up_after = torch.nn.functional.pad(1 - down[:, 1:], (0, 1), value=1.0)  # and after the last step
    seg_weight = down[:, :-1] * down[:, 1:]
    seg_radius = (width[:, :-1] + width[:, 1:]) / 4
    dot_weight = down * up_before * up_after
    start = torch.cat([xy[:, :-1], xy], dim=1)
    end = torch.cat([xy[:, 1:], xy], dim=1)
    return start, end, torch.cat([seg_weight, dot_weight], dim=1), torch.cat([seg_radius, width / 2], dim=1)


def _pixel_centres(h: int, w: int, like: Tensor) -> Tensor:
    """Pixel centres (H*W, 2) as (x, y) in canvas units, row by row."""
    ys = (torch.arange(h, dtype=like.dtype, device=like.device) + 0.5) / h
    xs = (torch.arange(w, dtype=like.dtype, device=like.device) + 0.5) / w
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)


def _distance_to_segments(pixels: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """Distance (B,S,P) from every pixel centre (P,2) to every segment start->end (B,S,2)."""
    direction = end - start  # (B,S,2)
    length2 = (direction * direction).sum(-1, keepdim=True)  # (B,S,1)
    rel = pixels[None, None] - start[:, :, None]  # (B,S,P,2)
    # Projection onto the segment, clamped to its ends (round caps); a dot (length 0) projects to its point.
    # The epsilon keeps the gradient of a zero-length segment finite.
    along = ((rel * direction[:, :, None]).sum(-1) / (length2 + 1e-12)).clamp(0.0, 1.0)  # (B,S,P)
    nearest = start[:, :, None] + along[..., None] * direction[:, :, None]
    diff = pixels[None, None] - nearest
    return torch.sqrt((diff * diff).sum(-1) + 1e-12)


# ---- the fast form ----------------------------------------------------------------------------


@dataclass
class _Chunk:
    """Pieces first..last-1 of a plan, each evaluated on a ky x kx patch of pixels: all points or all
    lines; all of weight 1 (``weighted`` False: a hard pen, no product with the weight) or not."""

    first: int
    last: int
    ky: int
    kx: int
    point: bool
    weighted: bool


@dataclass
class _Plan:
    """The N drawn pieces to evaluate, chunk after chunk.  rank (N,) int64 S - piece index within its
    glyph (1..S: higher wins ties, so the first piece does, as in the reference); base (N,) flat canvas
    index (B*H*W,) of the patch's top-left pixel; geom (8,N): that pixel's centre x, y relative to the
    piece's centre (canvas units), half length, -half length, radius / edge, weight, unit direction x, y
    ((1,0) for a point); bad (B,) glyphs with a non-finite piece (their canvas is NaN, as the
    reference form's is)."""

    rank: Tensor
    base: Tensor
    geom: Tensor
    chunks: list[_Chunk]
    bad: Tensor


def _pixel_span(lo: Tensor, hi: Tensor, n: Tensor) -> tuple[Tensor, Tensor]:
    """For boxes lo..hi (P,2) in canvas units (x, y) on n (2,) = (W, H) pixels: the first pixel column
    and row (clipped to 0) and the number of pixels whose centres (i+0.5)/n lie inside (0: off the
    canvas), (P,2) each."""
    first = torch.ceil(lo.nan_to_num(2.0).clamp(-1.0, 2.0) * n - 0.5).clamp_(min=0)
    last = torch.minimum(torch.floor(hi.nan_to_num(-1.0).clamp(-1.0, 2.0) * n - 0.5), n - 1)
    return first.long(), (last - first + 1).clamp_(min=0).long()


def _plan(start: Tensor, end: Tensor, weight: Tensor, radius: Tensor, size: tuple[int, int], margin_edges: float = _MARGIN_EDGES) -> _Plan:
    """Cull and sort the pieces (B,S).  A piece is evaluated when it draws (weight > 0: any other never
    beats the blank paper), on a square patch covering the pixels within radius + the margin of its
    bounding box.  Square patches sorted by kind and side make few chunk shapes (each chunk costs a
    few dozen tensor ops' overhead) for 12% more pixels than each piece's own box (measured on random
    walks)."""
    (b, s), inv_edge, n = weight.shape, max(size) / EDGE_PX, start.new_tensor([size[1], size[0]])
    p, q, r, wt = start.reshape(-1, 2), end.reshape(-1, 2), radius.reshape(-1), weight.reshape(-1)
    reach = (r + margin_edges / inv_edge)[:, None]
    corner, count = _pixel_span(torch.minimum(p, q) - reach, torch.maximum(p, q) + reach, n)
    finite = torch.isfinite(p[:, 0] + p[:, 1] + q[:, 0] + q[:, 1] + r + wt)  # inf - inf is NaN too
    point = (p[:, 0] == q[:, 0]) & (p[:, 1] == q[:, 1])
    side = torch.maximum(count[:, 0], count[:, 1])
    order = (finite & (wt > 0) & (torch.minimum(count[:, 0], count[:, 1]) > 0)).nonzero().squeeze(1)
    kind = point.long() * 2 + (wt != 1).long()
    # stable: a glyph's pieces stay together, and their pixels in the cache while scattered
    key, at = torch.sort((kind * (max(size) + 1) + side).index_select(0, order), stable=True)
    order = order.index_select(0, at)
    p, q, r, wt = (x.index_select(0, order) for x in (p, q, r, wt))
    half = (q - p).norm(dim=1) / 2
    unit = torch.where(half[:, None] > 0, (q - p) / (2 * half[:, None]), p.new_tensor([1.0, 0.0]))
    # The square patch, moved back inside the canvas where it would overhang.
    corner = torch.minimum(corner.index_select(0, order), n.long() - torch.minimum(side.index_select(0, order)[:, None], n.long()))
    base = ((order // s) * size[0] + corner[:, 1]) * size[1] + corner[:, 0]
    x0, y0 = ((corner + 0.5) / n - (p + q) / 2).unbind(1)  # as _pixel_centres computes the centres
    geom = torch.stack([x0, y0, half, -half, r * inv_edge, wt, *unit.unbind(1)])
    return _Plan(s - order % s, base, geom, _chunks(key, size, start.device), ~finite.view(b, s).all(1))


def _chunks(key: Tensor, size: tuple[int, int], device: torch.device) -> list[_Chunk]:
    """Runs of equal sort key (kind * (max(H, W) + 1) + patch side), cut into chunks of equal size and at
    most _block_elements piece-pixels."""
    keys, counts = torch.unique_consecutive(key, return_counts=True)
    budget, chunks, first = _block_elements(device), [], 0
    for k, n in zip(keys.tolist(), counts.tolist()):
        kind, side = divmod(k, max(size) + 1)
        ky, kx = min(size[0], side), min(size[1], side)
        step = -(-n // -(-n * ky * kx // budget))  # n pieces in equal chunks (one piece at least)
        for a in range(first, first + n, step):
            chunks.append(_Chunk(a, min(first + n, a + step), ky, kx, point=kind >= 2, weighted=kind % 2 == 1))
        first += n
    return chunks


def _patch(plan: _Plan, chunk: _Chunk, size: tuple[int, int], steps: dict) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A chunk's N pieces and pixels: geom (8,N) as in _Plan; the patch's rows and columns (Ky,1), (Kx,1)
    from its first, in canvas units; index (Ky,Kx,N) into the flat canvases.  ``steps`` caches the
    per-shape tensors of a call.  Pieces are the last axis: every elementwise op runs along long
    contiguous rows."""
    if (chunk.ky, chunk.kx) not in steps:
        j, i = (torch.arange(k, device=plan.base.device)[:, None] for k in (chunk.ky, chunk.kx))
        offsets = (j * size[1] + i.T)[..., None]  # (Ky,Kx,1)
        steps[chunk.ky, chunk.kx] = j.to(plan.geom.dtype) / size[0], i.to(plan.geom.dtype) / size[1], offsets
    j, i, offsets = steps[chunk.ky, chunk.kx]
    at = slice(chunk.first, chunk.last)
    return plan.geom[:, at], j, i, plan.base[at] + offsets


# Ops without MKL's VML kernels (sqrt, exp, ...): those split anything over 2048 elements across
# threads, and waking a passive OpenMP thread costs ~50 us, several times the op itself at a chunk's size
# (measured here at 2 threads).  rsqrt and sigmoid run on one thread below torch's grain size.
def _chunk_coverage(chunk: _Chunk, g: Tensor, j: Tensor, i: Tensor, inv_edge: float) -> Tensor:
    """Coverage (Ky,Kx,N) of a chunk's pieces at their patches' pixels; g (8,N) is the chunk's geom.
    The distance is measured in the piece's frame from its centre (small numbers, few roundings): along
    it t, clamped to the half length, across it v; d2 = v^2 + (t - clamped t)^2 + the reference's eps."""
    x, y = i + g[0], j + g[1]  # (Kx,N), (Ky,N)
    if chunk.point:
        d2 = torch.add(y.square()[:, None], x.square().add_(_EPS2)[None])
    else:
        t = torch.add((y * g[7])[:, None], (x * g[6])[None])
        v = torch.sub((y * g[6])[:, None], (x * g[7])[None])
        beyond = t.sub_(torch.clamp(t, g[3], g[2]))
        d2 = torch.addcmul(g.new_tensor(_EPS2), v, v).addcmul_(beyond, beyond)
    coverage = torch.addcmul(g[4], d2, d2.rsqrt(), value=-inv_edge).sigmoid_()
    return coverage.mul_(g[5]) if chunk.weighted else coverage


def _pixel_grads(cols: Tensor, pixels: Tensor, grad: Tensor, size: tuple[int, int]) -> Tensor:
    """The gradient (6,n) w.r.t. start x, y, end x, y, radius, weight of each pixel's winning piece, from
    its cols (6,n) (the same six values), the pixels (n,) flat canvas indices and d loss/d canvas there
    grad (n,).  With u the clamped projection (0 at the start, 1 at the end) and e the pixel centre minus
    its nearest point on the piece: d d/d start = -(1 - u) e / d, d d/d end = -u e / d (u's own
    derivative meets e at right angles), as the reference's autograd gives them; a point's u is 0."""
    (h, w), inv_edge = size, max(size) / EDGE_PX
    ax, ay, bx, by, r, wt = cols
    rx = (pixels % w).to(cols.dtype).add_(0.5).div_(w).sub_(ax)
    ry = (pixels.div(w, rounding_mode="floor") % h).to(cols.dtype).add_(0.5).div_(h).sub_(ay)
    dx, dy = bx - ax, by - ay
    along = torch.addcmul(rx * dx, ry, dy).div_(torch.addcmul(dx * dx, dy, dy).add_(1e-12)).clamp_(0.0, 1.0)
    ex, ey = rx.addcmul_(along, dx, value=-1.0), ry.addcmul_(along, dy, value=-1.0)
    d2 = torch.addcmul(ex * ex, ey, ey).add_(_EPS2)
    inv_d = d2.rsqrt()  # rsqrt, not sqrt: see _chunk_coverage
    sig = torch.addcmul(r * inv_edge, d2, inv_d, value=-inv_edge).sigmoid_()
    g_weight = grad * sig
    g_radius = torch.rsub(sig, 1.0).mul_(g_weight).mul_(wt).mul_(inv_edge)  # d loss/d z / edge
    g_start = g_radius * inv_d
    g_end = g_start * along
    g_start.sub_(g_end)
    return torch.stack([g_start * ex, g_start * ey, g_end * ex, g_end * ey, g_radius, g_weight])


def _first_to_reach(plan: _Plan, canvas: Tensor, size: tuple[int, int], steps: dict) -> Tensor:
    """The rank (B*H*W,) int32 of the first piece whose coverage is the canvas's (B*H*W,) at each pixel,
    0 where none is: pieces evaluated again, chunk after chunk, as the forward pass did (bit for bit)."""
    rank = torch.zeros(canvas.shape, dtype=torch.int64, device=canvas.device)
    for chunk in plan.chunks:
        g, j, i, index = _patch(plan, chunk, size, steps)
        coverage = _chunk_coverage(chunk, g, j, i, max(size) / EDGE_PX).view(-1, chunk.last - chunk.first)
        index = index.view(-1)
        reach = (coverage == canvas.index_select(0, index).view(coverage.shape)) * plan.rank[chunk.first : chunk.last]
        rank.scatter_reduce_(0, index, reach.view(-1), "amax")
    return rank.int()


class _PenCanvas(torch.autograd.Function):
    """canvas (B,1,H,W) = max(0, max over pieces of weight * sigmoid((radius - distance) / edge)), from
    the pieces (start, end (B,S,2), weight, radius (B,S)).  Forward takes each chunk's maximum into the
    canvases (scatter_reduce_ amax) together with the winning piece: in float32 one int64 key per pixel,
    the coverage's bits (a non-negative float orders as its bits do) above the piece's rank, so the
    largest key is the largest coverage and, among equal ones, the first piece; in float64 the exact
    maximum, then a second pass for the first piece that reaches it.  Backward evaluates each pixel's
    winner at that pixel only.  Memory: the canvases and their winners plus one chunk, whatever B, T
    and the canvas size."""

    @staticmethod
    def forward(ctx, start: Tensor, end: Tensor, weight: Tensor, radius: Tensor, size: tuple[int, int], margin_edges: float):
        (b, s), n = weight.shape, len(weight) * size[0] * size[1]
        plan, steps, inv_edge = _plan(start, end, weight, radius, size, margin_edges), {}, max(size) / EDGE_PX
        packed = start.dtype == torch.float32  # one int64 key per pixel; other dtypes: values, then winners
        keys = torch.zeros(n, dtype=torch.int64 if packed else start.dtype, device=start.device)  # 0: blank paper
        for chunk in plan.chunks:
            g, j, i, index = _patch(plan, chunk, size, steps)
            coverage = _chunk_coverage(chunk, g, j, i, inv_edge).view(-1, chunk.last - chunk.first)
            if packed:  # the key: coverage bits above the rank
                coverage = torch.add(plan.rank[chunk.first : chunk.last], coverage.view(torch.int32), alpha=1 << 32)
            keys.scatter_reduce_(0, index.view(-1), coverage.view(-1), "amax")
        if packed:
            halves = keys.view(torch.int32).view(-1, 2).unbind(1)  # (low, high) words: faster than shifts
            rank, canvas = (h.contiguous() for h in (halves if sys.byteorder == "little" else halves[::-1]))
            canvas = canvas.view(torch.float32)
        else:  # keys holds the exact maximum; a second pass finds who reaches it
            canvas, rank = keys, _first_to_reach(plan, keys, size, steps)
        if plan.bad.any():
            canvas.view(b, -1)[plan.bad] = float("nan")
        ctx.save_for_backward(start, end, weight, radius, rank)
        ctx.size, ctx.bad = size, plan.bad
        return canvas.view(b, 1, *size)

    @staticmethod
    def backward(ctx, grad_canvas: Tensor):
        start, end, weight, radius, rank = ctx.saved_tensors
        (b, s), (h, w) = weight.shape, ctx.size
        table = torch.cat([start.reshape(-1, 2).T, end.reshape(-1, 2).T, radius.reshape(1, -1), weight.reshape(1, -1)])
        grads, grad = torch.zeros_like(table), grad_canvas.reshape(-1)
        pixels = rank.nonzero().squeeze(1)  # the pixels some piece wins, and their winners (flat B*S)
        piece = pixels.div(h * w, rounding_mode="floor") * s + (s - rank.index_select(0, pixels))
        block = _block_elements(grad.device)
        for a in range(0, len(pixels), block):
            p, k = pixels[a : a + block], piece[a : a + block]
            grads.index_add_(1, k, _pixel_grads(table.index_select(1, k), p, grad.index_select(0, p), ctx.size))
        grads.view(6, b, s)[:, ctx.bad] = float("nan")  # as the canvas: a non-finite glyph is NaN throughout
        return grads[0:2].T.reshape(b, s, 2), grads[2:4].T.reshape(b, s, 2), grads[5].view(b, s), grads[4].view(b, s), None, None


def render_pen_fast(xy: Tensor, down: Tensor, width: Tensor, size: tuple[int, int], margin_edges: float = _MARGIN_EDGES) -> Tensor:
    """:func:`render_pen_reference`'s canvas and gradients, fast: xy (B,T,2) canvas units, down (B,T) in
    [0,1], width (B,T) canvas units; returns (B,1,H,W) in [0,1].

    Each piece of weight > 0 is evaluated only on the pixels within its radius + ``margin_edges`` edges
    (default 14: 3.5 px) of its bounding box (beyond, its coverage is below sigmoid(-14) = 8.3e-7, so the
    canvas moves by less than that; a caller that needs less, like a fit, may pass fewer); pieces of
    weight 0 are never evaluated (they never win a pixel).  A glyph with a non-finite input renders as NaN.
    Half precision is rendered in float32.  Pure torch ops, so CUDA tensors work too (not yet run on a GPU);
    no second derivatives."""
    b, t, h, w = _check(xy, down, width, size)
    dtype = torch.promote_types(xy.dtype, torch.float32)
    xy, down, width = xy.to(dtype), down.to(dtype), width.to(dtype)
    with torch.autocast(xy.device.type, enabled=False):
        return _PenCanvas.apply(*_pieces(xy, down, width), (h, w), float(margin_edges))


# The public name: the fast form (same values and gradients as the reference form).
render_pen = render_pen_fast
