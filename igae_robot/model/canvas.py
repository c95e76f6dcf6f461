"""The model's picture of a gesture, as its config says: the article's markers or what the pen draws.

``model.renderer = "markers"`` keeps the article's Gaussian dots (its presets are reproductions);
``"pen"`` trains on what a plotter will draw (issue 13): :func:`~igae_robot.model.render_pen.render_pen`,
lines ``pen_px`` wide (or from ``pen_px`` to ``pen_px_max`` with pressure) between consecutive pen-down
steps.  The pen state is the intensity as is (``soft``) or thresholded at 0.5 in the forward pass with the
soft gradient (``straight-through``): the model then sees exactly the strokes the exporter will cut.
"""

from __future__ import annotations

import torch
from torch import Tensor

from igae_robot.config import ModelConfig
from igae_robot.model.render import render_markers, marker_variance
from igae_robot.model.render_pen import pen_state, render_pen
from igae_robot.model.tensors import GestureTensors

__all__ = ["pen_widths", "draw"]


def pen_widths(pressure: Tensor, cfg: ModelConfig) -> Tensor:
    """(B,T) pen width in canvas units: fixed ``pen_px``, or from ``pen_px`` to ``pen_px_max`` with pressure."""
    low = cfg.pen_px / cfg.image_size
    if cfg.pen_px_max <= cfg.pen_px:
        return torch.full_like(pressure, low)
    return low + pressure * (cfg.pen_px_max - cfg.pen_px) / cfg.image_size


def draw(gesture: GestureTensors, cfg: ModelConfig, size: tuple[int, int], check: bool = False) -> Tensor:
    """The canvas (B,1,H,W) in [0,1] that ``gesture`` makes under ``cfg.renderer``."""
    if cfg.renderer == "pen":
        down = pen_state(gesture.intensity, cfg.pen_state)
        return render_pen(gesture.positions(), down, pen_widths(gesture.pressure, cfg), size)
    var = marker_variance(gesture.pressure, cfg.var_coef, cfg.var_eps)
    return render_markers(gesture.positions(), var, gesture.intensity, size, check=check)
