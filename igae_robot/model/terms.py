"""Loss terms on the gesture itself, added to the image MSE for handwriting models.

The MSE only asks that the drawing *look* like the glyph; a plotter also cares how it is drawn:

* ``intensity_tv``: total variation of the ink over the steps, mean |i[t+1] - i[t]|.  Every flicker
  of the intensity across the pen-down threshold is a pen lift on the machine; penalising the
  variation trains a model that keeps the pen down through a stroke (the trained default models
  flicker to ~8 pen-down pieces per digit without it).
* ``edge``: the article's next step for connected writing.  The glyph's last step should end on the
  right edge of its ink, so that the letters of a word can be joined into one pen-down stroke
  (``igae handwrite --connect``) by a link from there to where the next letter starts.  Squared
  distance in canvas units, x only: where the link sits vertically is the writer's choice.  Only the
  end: asking the first step to start on the left edge too made every letter that a pen starts on
  the right (c, a, s, d, g, q) travel there from the left edge, and the travel closed a c into an o
  and an s into an 8 (measured: a->o and c->o were the judge's most common misreadings).

* ``pen_up_travel``: the distance moved with the pen up, canvas units per glyph.  A model trained on
  markers never pays for a move that draws nothing, and wanders in zigzags between strokes; a plotter
  pays for every millimetre.  A move from step t-1 to step t draws when the pen is down at both ends,
  so the undrawn share of it is 1 - down[t-1] * down[t].

They are off (weight 0) in the article's presets; ``train.intensity_tv``, ``train.edge`` and
``train.pen_up_travel`` switch them on (the ``pen`` preset does).
"""

from __future__ import annotations

import torch
from torch import Tensor

from igae_robot.model.tensors import GestureTensors

__all__ = ["intensity_tv", "ink_edges", "edge_loss", "pen_up_travel", "gesture_terms"]

# A pixel counts as ink for the edge targets above this value (images are in [0, 1]).
INK_LEVEL = 0.5


def intensity_tv(gesture: GestureTensors) -> Tensor:
    """Mean absolute change of intensity from one step to the next (a scalar)."""
    return (gesture.intensity[:, 1:] - gesture.intensity[:, :-1]).abs().mean()


def ink_edges(images: Tensor) -> tuple[Tensor, Tensor]:
    """Left and right edges of each image's ink, canvas units (B,) each; a blank image gives 0 and 1.

    images (B,1,H,W) in [0,1].  The edge is the outer side of the outermost inked pixel column.
    """
    width = images.shape[-1]
    inked = (images[:, 0] > INK_LEVEL).any(dim=1)  # (B,W): columns holding ink
    cols = torch.arange(width, device=images.device, dtype=images.dtype)
    big = torch.full_like(cols, float(width))
    left = torch.where(inked, cols, big).amin(dim=1)  # (B,)
    right = torch.where(inked, cols, -big).amax(dim=1) + 1
    blank = ~inked.any(dim=1)
    left = torch.where(blank, torch.zeros_like(left), left)
    right = torch.where(blank, torch.full_like(right, float(width)), right)
    return left / width, right / width


def edge_loss(gesture: GestureTensors, images: Tensor) -> Tensor:
    """Mean squared x distance of the last step from the ink's right edge."""
    _, right = ink_edges(images)
    positions = gesture.positions()  # (B,T,2)
    return ((positions[:, -1, 0] - right) ** 2).mean()


def pen_up_travel(gesture: GestureTensors) -> Tensor:
    """Mean over glyphs of the distance moved with the pen up (canvas units); intensity is the pen state."""
    moves = gesture.positions().diff(dim=1).norm(dim=-1)  # (B,T-1)
    down = gesture.intensity
    return ((1 - down[:, :-1] * down[:, 1:]) * moves).sum(1).mean()


def gesture_terms(
    gesture: GestureTensors, images: Tensor, tv_weight: float, edge_weight: float, travel_weight: float = 0.0,
) -> Tensor | float:
    """The weighted sum of the terms that are switched on (0.0 when none is, so plain training is unchanged)."""
    total: Tensor | float = 0.0
    if travel_weight:
        total = total + travel_weight * pen_up_travel(gesture)
    if tv_weight:
        total = total + tv_weight * intensity_tv(gesture)
    if edge_weight:
        total = total + edge_weight * edge_loss(gesture, images)
    return total
