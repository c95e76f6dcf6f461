"""Evaluate a trained model on a data set: metrics, and the pictures that go with them."""

from __future__ import annotations

from pathlib import Path

import torch

from igae_robot.model.checkpoint import Checkpoint
from igae_robot.training.data import GlyphSet
from igae_robot.model.metrics import evaluate
from igae_robot.training.pictures import save_gesture_tracks, save_reconstructions, save_training_curves

__all__ = ["evaluate_checkpoint", "write_pictures"]


def evaluate_checkpoint(ckpt: Checkpoint, data: GlyphSet, device: str | torch.device = "cpu") -> dict[str, float]:
    """Mean pixel accuracy, MSE and IoU of the checkpoint's model on ``data``."""
    model = ckpt.model.to(device)
    return {**evaluate(model, data.images, device=device), "images": len(data)}


@torch.no_grad()
def write_pictures(ckpt: Checkpoint, data: GlyphSet, out_dir: str | Path, count: int = 32) -> list[Path]:
    """reconstructions.png, gestures.png (tracks with marker size and colour) and, when the checkpoint
    has a history, training_curves.png, for the first ``count`` glyphs of ``data``."""
    out_dir = Path(out_dir)
    model = ckpt.model.cpu().eval()
    x = data.images[:count]
    recon, gesture = model(x)
    gestures = gesture.to_gestures(variance=model.variance(gesture), dt_s=ckpt.config.train.dt_s)
    images = x[:, 0].numpy()
    paths = [
        save_reconstructions(out_dir / "reconstructions.png", images, recon[:, 0].numpy()),
        save_gesture_tracks(out_dir / "gestures.png", gestures, images),
    ]
    if ckpt.history:
        paths.append(save_training_curves(out_dir / "training_curves.png", ckpt.history))
    return paths
