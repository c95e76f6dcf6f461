"""Test-time refinement: improve the encoder's gestures for given images by gradient descent.

The encoder is amortised: one forward pass guesses a gesture for any glyph, and on glyphs unlike its
training set (letters for an MNIST model, a user's drawings) the guess is rough.  The renderer is
differentiable, so the gesture itself can be optimised against the image, starting from the guess:

    params --(sigmoid / tanh)--> GestureTensors --the model's renderer--> canvas (B,1,S,S)   loss = MSE vs image

Parameters are unconstrained (logits), mapped through the same squashing functions the model's
head uses, so a refined gesture obeys the same limits (steps of at most ``step_size_px``, pressure
and ink in [0,1], start on the canvas) and exports like any other.
"""

from __future__ import annotations

import torch
from torch import Tensor

from igae_robot.config import ModelConfig
from igae_robot.errors import ConfigError, GestureError
from igae_robot.model.tensors import GestureTensors
from igae_robot.model.canvas import draw

__all__ = ["refine", "reconstruction_mse", "MAX_REFINE_STEPS"]

# Far more than refinement ever gains from (it levels off within a few hundred steps), and a bound
# that turns a typo (--refine 1000000000) into an error instead of days of work.
MAX_REFINE_STEPS = 10_000

_EPS = 1e-4  # keeps logit/atanh of values at their bounds finite


def _logit(p: Tensor) -> Tensor:
    return torch.logit(p.clamp(_EPS, 1 - _EPS))


def reconstruction_mse(gestures: GestureTensors, images: Tensor, cfg: ModelConfig) -> Tensor:
    """(B,) per-image MSE of the gestures drawn as the model draws them (markers or pen) against images (B,1,S,S)."""
    canvas = draw(gestures, cfg, tuple(images.shape[-2:]))
    return ((canvas - images) ** 2).flatten(1).mean(1)


def refine(cfg: ModelConfig, gestures: GestureTensors, images: Tensor, steps: int, lr: float = 0.05) -> GestureTensors:
    """Optimise ``gestures`` (B glyphs) to redraw ``images`` (B,1,S,S) in [0,1]; returns new, detached gestures.

    cfg: the model's config (canvas size, marker variance, largest step, whether ink is predicted).
    steps: Adam iterations (0 returns the input); lr: Adam learning rate on the logits.
    Each glyph keeps the parameters of its lowest loss seen, so no glyph ends worse than it started.
    The loss is a *sum* of per-image means: each glyph's optimisation is independent of the batch
    it is in, so results do not depend on how images were batched.
    """
    if images.dim() != 4 or images.shape[0] != gestures.batch or images.shape[1] != 1:
        raise GestureError(f"refine needs images of shape ({gestures.batch}, 1, S, S), got {tuple(images.shape)}")
    if steps > MAX_REFINE_STEPS or not lr > 0 or lr == float("inf"):
        raise ConfigError(f"refinement takes 0..{MAX_REFINE_STEPS} steps with a positive, finite learning rate; "
                          f"got {steps} steps at lr {lr}")
    if steps <= 0:
        return gestures.detach()
    points = cfg.decoder == "points"
    max_step = cfg.step_size_px / cfg.image_size  # largest move per step, canvas units
    g = gestures.detach()
    with torch.no_grad():
        if points:  # absolute positions in [0,1], as the points head predicts them
            shape = _logit(g.positions())
        else:
            shape = torch.atanh((g.velocity / max_step).clamp(-1 + _EPS, 1 - _EPS))
        params = {"shape": shape, "pressure": _logit(g.pressure)}
        if not points:
            params["start"] = _logit(g.start)
        if cfg.intensity:  # else the model draws every step at full ink; keep it so
            params["intensity"] = _logit(g.intensity)
    for p in params.values():
        p.requires_grad_(True)

    def build(p: dict[str, Tensor]) -> GestureTensors:
        pressure = torch.sigmoid(p["pressure"])
        intensity = torch.sigmoid(p["intensity"]) if "intensity" in p else g.intensity
        if points:
            return GestureTensors.from_positions(torch.sigmoid(p["shape"]), pressure, intensity)
        return GestureTensors(torch.sigmoid(p["start"]), torch.tanh(p["shape"]) * max_step, pressure, intensity)

    optimizer = torch.optim.Adam(list(params.values()), lr=lr)
    best = {k: v.detach().clone() for k, v in params.items()}
    best_loss = torch.full((g.batch,), float("inf"), device=images.device)
    for step in range(steps + 1):  # the last pass only scores the final update
        loss = reconstruction_mse(build(params), images, cfg)  # (B,)
        with torch.no_grad():
            better = loss < best_loss
            best_loss = torch.where(better, loss, best_loss)
            for k, v in params.items():
                mask = better.view(-1, *([1] * (v.dim() - 1)))
                best[k] = torch.where(mask, v, best[k])
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()
    with torch.no_grad():
        return build(best).detach()
