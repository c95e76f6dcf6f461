"""The pen renderer: a gesture drawn as a pen draws it (issue 13's reference form).

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

This is the definition, B x S x H x W distances with autograd through everything; a blocked fast
form will be tested against it.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["pen_state", "render_pen"]

# The anti-aliased edge in pixels: a quarter pixel keeps a line's edge within about one pixel
# (sigmoid 0.02..0.98 over +-1 pixel) while giving gradients a pixel beyond the ink.
EDGE_PX = 0.25


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


def render_pen(xy: Tensor, down: Tensor, width: Tensor, size: tuple[int, int]) -> Tensor:
    """xy (B,T,2) canvas units (x right, y down, [0,1] is the canvas); down (B,T) in [0,1]; width (B,T)
    pen width in canvas units.  Returns the canvas (B,1,H,W) in [0,1]."""
    b, t, _ = xy.shape
    h, w = size
    if down.shape != (b, t) or width.shape != (b, t):
        raise ValueError(f"down and width must have shape {(b, t)}, got {tuple(down.shape)} and {tuple(width.shape)}")
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
