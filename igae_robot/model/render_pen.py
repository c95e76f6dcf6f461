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
        c = sigmoid((r - d) / edge),  edge = a quarter of a pixel
    canvas = 1 - prod_i (1 - weight_i * c_i)      (ink never adds past 1 where strokes cross)

``down`` is the pen state in [0, 1]: soft while training (gradients reach the pen state), hard at
export.  :func:`pen_state` gives either, and the straight-through form (hard forward, soft
gradient) that lets training see exactly what the plotter will draw.  Widths are in canvas units:
a machine's pen range or a fixed pen.

Two forms give the same canvas and gradients (tests/test_render_pen.py holds them to 1e-5):

* :func:`render_pen_reference` -- the definition: B x S x H x W distances, autograd through everything.
* :func:`render_pen_fast` (= :func:`render_pen`) -- one autograd Function (:class:`_PenCanvas`) with a
  hand-written backward.  Each piece (segment or dot) is evaluated only on a patch of pixels around
  it, pieces of weight 0 only where the pen states' gradient needs them, in chunks of pieces with the
  same patch size; forward keeps only the canvases, backward recomputes each chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["pen_state", "render_pen", "render_pen_fast", "render_pen_reference"]

# The anti-aliased edge in pixels: a quarter pixel keeps a line's edge within about one pixel
# (sigmoid 0.02..0.98 over +-1 pixel) while giving gradients a pixel beyond the ink.
EDGE_PX = 0.25

# The fast form evaluates a piece on the pixels within radius + 14 edges of its bounding box: beyond,
# coverage < sigmoid(-14) = 8.3e-7 (a dozen pieces all just there would move a pixel by 1e-5).
_MARGIN_EDGES = 14.0
_MAX_COVERAGE = 1 - 1e-6  # the reference's clamp: log(1 - c) stays finite
_EPS2 = 1e-12  # the reference's epsilon under the square root of a distance
# Piece-pixels per chunk.  On CPU, just under torch's parallel grain (32768 elements): every op of a
# chunk runs on the calling thread.  Waking a passive OpenMP thread costs ~50 us per op on the 2-vCPU
# machine measured, more than the op (2 threads, B=1024 T=40 28x28, forward + backward: best 98-106 ms
# in chunks of 2^15 - 1, 124-172 ms in chunks of 2^18).  On a GPU large chunks keep the launches few.
_BLOCK_ELEMENTS = (1 << 15) - 1
_GPU_BLOCK_ELEMENTS = 1 << 24


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
    # 1 - prod(1 - c) as exp(sum(log(1 - c))): the union of strokes, smooth in every segment.
    blank = torch.exp(torch.log1p(-coverage.clamp(max=1 - 1e-6)).sum(dim=1))
    return (1.0 - blank).reshape(b, 1, h, w)


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
    lines; all drawn (weight != 0) or all wanted only for their weight's gradient; of one ``form``:
    0 weight 1 and too narrow to reach the reference's clamp (a hard pen), 1 any other weight <= 1,
    2 weights above 1 (outside the pen states' range, rendered as the reference does)."""

    first: int
    last: int
    ky: int
    kx: int
    point: bool
    draw: bool
    form: int


@dataclass
class _Plan:
    """The N pieces to evaluate, chunk after chunk.  order (N,) flat piece index (glyph * S + piece);
    point (N,) bool; base (N,) flat canvas index (B*H*W,) of the patch's top-left pixel; geom (9,N):
    that pixel's centre x, y relative to the piece's centre (canvas units), half length, -half length,
    radius / edge, weight, log(1 - weight), unit direction x, y ((1,0) for a point); bad (B,) glyphs with
    a non-finite piece (their canvas is NaN, as the reference form's is)."""

    order: Tensor
    point: Tensor
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


def _plan(start: Tensor, end: Tensor, weight: Tensor, radius: Tensor, live: Tensor, size: tuple[int, int]) -> _Plan:
    """Cull and sort the pieces (B,S).  A piece is evaluated when it draws (weight != 0) or its weight's
    gradient is wanted (``live``, see :func:`_live_weights`), on a square patch covering the pixels within
    radius + the margin of its bounding box.  Square patches sorted by kind and side make few chunk
    shapes (each chunk costs a few dozen tensor ops' overhead) for 12% more pixels than each piece's own
    box (measured on random walks)."""
    (b, s), inv_edge, n = weight.shape, max(size) / EDGE_PX, start.new_tensor([size[1], size[0]])
    p, q, r, wt = start.reshape(-1, 2), end.reshape(-1, 2), radius.reshape(-1), weight.reshape(-1)
    reach = (r + _MARGIN_EDGES / inv_edge)[:, None]
    corner, count = _pixel_span(torch.minimum(p, q) - reach, torch.maximum(p, q) + reach, n)
    finite = torch.isfinite(p[:, 0] + p[:, 1] + q[:, 0] + q[:, 1] + r + wt)  # inf - inf is NaN too
    draw = wt != 0
    form = torch.where(wt > 1, 2, ((wt != 1) | (torch.sigmoid(r * inv_edge) * wt.abs() > _MAX_COVERAGE)).long()) * draw
    point = (p[:, 0] == q[:, 0]) & (p[:, 1] == q[:, 1])
    side = torch.maximum(count[:, 0], count[:, 1])
    order = (finite & (draw | live.reshape(-1)) & (torch.minimum(count[:, 0], count[:, 1]) > 0)).nonzero().squeeze(1)
    kind = (~draw).long() * 6 + point.long() * 3 + form
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
    geom = torch.stack([x0, y0, half, -half, r * inv_edge, wt, torch.log1p(-wt.clamp(max=1.0)), *unit.unbind(1)])
    return _Plan(order, point.index_select(0, order), base, geom, _chunks(key, size, start.device), ~finite.view(b, s).all(1))


def _chunks(key: Tensor, size: tuple[int, int], device: torch.device) -> list[_Chunk]:
    """Runs of equal sort key (kind * (max(H, W) + 1) + patch side), cut into chunks of equal size and at
    most _BLOCK_ELEMENTS piece-pixels."""
    keys, counts = torch.unique_consecutive(key, return_counts=True)
    budget, chunks, first = _BLOCK_ELEMENTS if device.type == "cpu" else _GPU_BLOCK_ELEMENTS, [], 0
    for k, n in zip(keys.tolist(), counts.tolist()):
        kind, side = divmod(k, max(size) + 1)
        ky, kx = min(size[0], side), min(size[1], side)
        step = -(-n // -(-n * ky * kx // budget))  # n pieces in equal chunks (one piece at least)
        for a in range(first, first + n, step):
            chunks.append(_Chunk(a, min(first + n, a + step), ky, kx, point=kind % 6 >= 3, draw=kind < 6, form=kind % 3))
        first += n
    return chunks


def _patch(plan: _Plan, chunk: _Chunk, size: tuple[int, int], steps: dict) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A chunk's N pieces and pixels: geom (9,N) as in _Plan; the patch's rows and columns (Ky,1), (Kx,1)
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


def _distance(chunk: _Chunk, g: Tensor, j: Tensor, i: Tensor, keep: bool) -> tuple[Tensor, ...]:
    """Squared distance d2 (Ky,Kx,N) from pixels to pieces, plus the reference's epsilon (which keeps its
    values, and the gradient finite on the segment); g (9,N) is the chunk's geom.  For points, with
    ``keep``, also x (Kx,N) and y (Ky,N) from the point.  For lines, with ``keep``, also (in the
    segment's frame from its centre) the signed excess of t along it past its nearer end, v across it,
    and t clamped to the segment: d2 = v^2 + excess^2 + eps."""
    x, y = i + g[0], j + g[1]  # pixel centres from the piece's centre: small numbers, few roundings
    if chunk.point:
        return torch.add(y.square()[:, None], x.square().add_(_EPS2)[None]), x, y
    t = torch.add((y * g[8])[:, None], (x * g[7])[None])
    v = torch.sub((y * g[7])[:, None], (x * g[8])[None])
    clamped = torch.clamp(t, g[3], g[2])
    beyond = t.sub_(clamped)
    return torch.addcmul(g.new_tensor(_EPS2), v, v).addcmul_(beyond, beyond), beyond, v, clamped


# Ops without MKL's VML kernels (sqrt, log1p, exp, ...): those split anything over 2048 elements across
# threads, and waking a passive OpenMP thread costs ~50 us, several times the op itself at a chunk's size
# (measured here at 2 threads).  rsqrt, sigmoid and softplus run on one thread below torch's grain size.
def _chunk_ink(chunk: _Chunk, g: Tensor, j: Tensor, i: Tensor, inv_edge: float) -> Tensor:
    """-log(1 - coverage) (Ky,Kx,N) of a chunk of drawn pieces, z = (radius - d) / edge:
    softplus(z) for weight 1; softplus(z) - softplus(z + log(1 - weight)) for others up to 1."""
    d2 = _distance(chunk, g, j, i, keep=False)[0]
    z = torch.addcmul(g[4], d2, d2.rsqrt(), value=-inv_edge)
    if chunk.form == 2:
        return torch.sigmoid(z).mul_(g[5]).clamp_(max=_MAX_COVERAGE).neg_().log1p_().neg_()
    ink = torch.nn.functional.softplus(z)
    if chunk.form == 1:  # the reference clamps c at 1 - 1e-6
        ink.sub_(torch.nn.functional.softplus(z.add_(g[6]))).clamp_(max=-math.log1p(-_MAX_COVERAGE))
    return ink


def _coverage_grads(g_weight: Tensor, gb: Tensor, sig: Tensor, wt: Tensor, simple: bool) -> Tensor:
    """From gb = d loss/d canvas * blank and sig = sigmoid(z) (Ky,Kx,N): the gradient w.r.t. z (Ky,Kx,N),
    and w.r.t. the weight into g_weight (N,).  d loss/d c = gb / (1 - c), since canvas = 1 - blank and
    blank = prod(1 - c): a piece's factor divides out.  Overwrites gb and sig."""
    if simple:  # weight 1: d loss/d z = gb sig, d loss/d weight = gb sig / (1 - sig)
        gz = gb.mul_(sig)
        torch.sum(torch.div(gz, torch.rsub(sig, 1.0), out=sig), (0, 1), out=g_weight)
        return gz
    c = sig * wt
    below = c <= _MAX_COVERAGE  # the reference clamps c to 1 - 1e-6: no gradient beyond
    per_pixel = torch.div(gb, c.clamp_(max=_MAX_COVERAGE).neg_().add_(1.0), out=c).mul_(below).mul_(sig)
    torch.sum(per_pixel, (0, 1), out=g_weight)
    return per_pixel.mul_(sig.neg_().add_(1.0)).mul_(wt)


def _chunk_sums(chunk: _Chunk, g: Tensor, j: Tensor, i: Tensor, gb: Tensor, inv_edge: float, sums: Tensor) -> None:
    """Into sums (6,N): the chunk's pixel sums that :func:`_piece_grads` turns into gradients.  With
    q = d loss/d z / d: lines sum q times the signed excess, v, the excess past the end, v times t
    clamped; points q times x and y from the point; then d loss/d weight and d loss/d z.  The values
    are recomputed here, so nothing of size pixels x pieces outlives a chunk."""
    d2, *frame = _distance(chunk, g, j, i, keep=True)
    inv_d = d2.rsqrt()
    sig = torch.addcmul(g[4], d2, inv_d, value=-inv_edge).sigmoid_()
    if not chunk.draw:  # weight 0: only d canvas/d weight = gb * sig is not 0
        torch.sum(gb.mul_(sig), (0, 1), out=sums[4])
        return
    gz = _coverage_grads(sums[4], gb, sig, g[5], chunk.form == 0)
    torch.sum(gz, (0, 1), out=sums[5])
    q = gz.mul_(inv_d)
    if chunk.point:
        x, y = frame
        torch.sum(x * q.sum(0), 0, out=sums[0])
        torch.sum(y * q.sum(1), 0, out=sums[1])
        return
    beyond, v, clamped = frame
    torch.sum(torch.mul(q, beyond, out=d2), (0, 1), out=sums[0])
    torch.sum(torch.mul(q, beyond.relu_(), out=d2), (0, 1), out=sums[2])
    torch.sum(q.mul_(v), (0, 1), out=sums[1])
    torch.sum(q.mul_(clamped), (0, 1), out=sums[3])


def _piece_grads(plan: _Plan, sums: Tensor, inv_edge: float) -> Tensor:
    """Gradients (N,6): start x, y, end x, y, weight, radius, from the sums (6,N) of _chunk_sums.
    d loss/d d = -q d / edge; with u the direction, n its normal, D = end - start: d d/d(pixel - start)
    = (excess u + v n) / d; turning D moves t by v n/|D| and v by -t n/|D|; lengthening D moves the
    end's cap along u.  A point's gradient goes to its start, as the reference gives a zero-length
    segment's."""
    unit, half = plan.geom[7:9].T, plan.geom[2]
    normal = torch.stack([-unit[:, 1], unit[:, 0]], dim=1)
    turn = (sums[3] + half * sums[1]) / (2 * half)  # t measured from the start
    g_rel = (unit * sums[0, :, None] + normal * sums[1, :, None]) * -inv_edge
    g_end = (normal * turn[:, None] + unit * sums[2, :, None]) * inv_edge
    point = plan.point[:, None]
    g_start = torch.where(point, sums[0:2].T * inv_edge, -g_rel - g_end)
    return torch.cat([g_start, torch.where(point, 0.0, g_end), sums[4:5].T, sums[5:6].T * inv_edge], dim=1)


class _PenCanvas(torch.autograd.Function):
    """canvas (B,1,H,W) = 1 - prod over pieces (1 - weight * sigmoid((radius - distance) / edge)), from the
    pieces (start, end (B,S,2), weight, radius (B,S)).  Forward sums each chunk's -log(1 - c) into the
    canvases (scatter_add_); backward recomputes each chunk and reduces its pixels to its pieces'
    gradients: memory is the canvases plus one chunk, whatever B, T and the canvas size."""

    @staticmethod
    def forward(ctx, start: Tensor, end: Tensor, weight: Tensor, radius: Tensor, live: Tensor, size: tuple[int, int]):
        b, h, w = len(weight), size[0], size[1]
        plan = _plan(start, end, weight, radius, live, size)
        ink, steps = start.new_zeros(b * h * w), {}
        for chunk in plan.chunks:
            if chunk.draw:
                g, j, i, index = _patch(plan, chunk, size, steps)
                ink.scatter_add_(0, index.view(-1), _chunk_ink(chunk, g, j, i, max(size) / EDGE_PX).view(-1))
        blank = ink.neg_().exp_().view(b, h, w)
        if plan.bad.any():
            blank[plan.bad] = float("nan")
        ctx.save_for_backward(blank)
        ctx.plan, ctx.size, ctx.shapes = plan, size, (start.shape, weight.shape)
        return (1.0 - blank).unsqueeze(1)

    @staticmethod
    def backward(ctx, grad_canvas: Tensor):
        (blank,) = ctx.saved_tensors
        plan, inv_edge = ctx.plan, max(ctx.size) / EDGE_PX
        gb_all = (grad_canvas.reshape(blank.shape) * blank).view(-1)  # d loss/d canvas * blank
        sums, steps = gb_all.new_zeros(6, len(plan.order)), {}
        for chunk in plan.chunks:
            if chunk.draw or ctx.needs_input_grad[2]:
                g, j, i, index = _patch(plan, chunk, ctx.size, steps)
                gb = gb_all.index_select(0, index.view(-1)).view(index.shape)
                _chunk_sums(chunk, g, j, i, gb, inv_edge, sums[:, chunk.first : chunk.last])
        points, pieces = ctx.shapes
        every = gb_all.new_zeros(pieces.numel(), 6).index_copy_(0, plan.order, _piece_grads(plan, sums, inv_edge))
        grads = every[:, 0:2].reshape(points), every[:, 2:4].reshape(points), every[:, 4].reshape(pieces), every[:, 5].reshape(pieces)
        return *grads, None, None


def _live_weights(down: Tensor) -> Tensor:
    """(B,S) bool, pieces as _pieces orders them: whose weight has a non-zero partial derivative with
    respect to some pen state.  A piece of weight 0 draws nothing, but d canvas/d weight is not 0 (it
    tells a pen-up step that ink is missing there), so backward evaluates it unless every partial of its
    weight vanishes: a segment's down[i] * down[i+1] has the partials down[i+1] and down[i]; a dot's
    product of three factors has a non-zero partial unless two factors are 0."""
    down_ = down != 0
    up_before = torch.nn.functional.pad(down[:, :-1] != 1, (1, 0), value=True)
    up_after = torch.nn.functional.pad(down[:, 1:] != 1, (0, 1), value=True)
    dot = (down_ & up_before) | (down_ & up_after) | (up_before & up_after)
    return torch.cat([down_[:, :-1] | down_[:, 1:], dot], dim=1)


def render_pen_fast(xy: Tensor, down: Tensor, width: Tensor, size: tuple[int, int]) -> Tensor:
    """:func:`render_pen_reference`'s canvas and gradients, fast: xy (B,T,2) canvas units, down (B,T) in
    [0,1], width (B,T) canvas units; returns (B,1,H,W) in [0,1].

    Each piece is evaluated only on the pixels within its radius + 14 edges (3.5 px) of its bounding box
    (beyond, its coverage is below sigmoid(-14) = 8.3e-7: the canvas moves by less than 1e-5 unless a
    dozen pieces sit just there), and a piece of weight 0 only in backward, where the pen states'
    gradient needs it.  A glyph with a non-finite input renders as NaN.  Half precision is rendered in
    float32.  Pure torch ops, so CUDA tensors work too (not yet run on a GPU); no second derivatives."""
    b, t, h, w = _check(xy, down, width, size)
    dtype = torch.promote_types(xy.dtype, torch.float32)
    xy, down, width = xy.to(dtype), down.to(dtype), width.to(dtype)
    with torch.autocast(xy.device.type, enabled=False):
        start, end, weight, radius = _pieces(xy, down, width)
        wanted = down.requires_grad and torch.is_grad_enabled()
        with torch.no_grad():
            live = _live_weights(down) if wanted else torch.zeros_like(weight, dtype=torch.bool)
        return _PenCanvas.apply(start, end, weight, radius, live, (h, w))


# The public name: the fast form (same values and gradients as the reference form).
render_pen = render_pen_fast
