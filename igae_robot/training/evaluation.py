"""Evaluate a trained model on a data set: metrics, and the pictures that go with them."""

from __future__ import annotations

from pathlib import Path

import torch

from igae_robot.model.checkpoint import Checkpoint, load_checkpoint
from igae_robot.model.metrics import evaluate
from igae_robot.training.data import GlyphSet, load_dataset
from igae_robot.training.device import resolve_device
from igae_robot.training.pictures import save_gesture_tracks, save_reconstructions, save_training_curves

__all__ = ["evaluate_checkpoint", "evaluate_checkpoint_file", "write_pictures"]


def evaluate_checkpoint(ckpt: Checkpoint, data: GlyphSet, device: str | torch.device = "cpu") -> dict[str, float]:
    """Mean pixel accuracy, MSE and IoU of the checkpoint's model on ``data``."""
    model = ckpt.model.to(device)
    return {**evaluate(model, data.images, device=device), "images": len(data)}


def evaluate_checkpoint_file(
    checkpoint: str | Path,
    data: str = "digits",
    data_dir: str | Path = "",
    split: str = "test",
    limit: int = 0,
    device: str = "auto",
    pictures: str | Path | None = None,
) -> tuple[dict[str, float], list[Path]]:
    """``igae eval``: metrics of a saved checkpoint on the first ``limit`` images (0: all) of a data
    set's split, and the pictures written into the folder ``pictures`` (none when it is None)."""
    ckpt = load_checkpoint(checkpoint)
    glyphs = load_dataset(data, data_dir, split).first(limit)
    metrics = evaluate_checkpoint(ckpt, glyphs, resolve_device(device))
    written = write_pictures(ckpt, glyphs, pictures) if pictures else []
    return metrics, written


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
