"""Reconstruction metrics: the article's pixel accuracy, MSE, and IoU of binarised images."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["batch_metrics", "evaluate", "METRIC_NAMES"]

METRIC_NAMES = ("pixel_accuracy", "mse", "iou")


def batch_metrics(recon: Tensor, target: Tensor, threshold: float = 0.5) -> dict[str, Tensor]:
    """Per-image metrics, each (B,).

    pixel_accuracy: fraction of pixels with |recon - target| < 0.5 (the article's measure);
    mse: mean squared error; iou: intersection over union of the two images binarised at
    ``threshold`` (1.0 when both are blank).
    """
    err = (recon - target).flatten(1)
    a, b = (recon > threshold).flatten(1), (target > threshold).flatten(1)
    inter = (a & b).sum(1).float()
    union = (a | b).sum(1).float()
    return {
        "pixel_accuracy": (err.abs() < 0.5).float().mean(1),
        "mse": (err * err).mean(1),
        "iou": torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union)),
    }


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: Tensor, batch_size: int = 1000, device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean metrics of ``model`` reconstructing ``images`` (N,1,H,W)."""
    was_training = model.training
    model.eval()
    sums = {k: 0.0 for k in METRIC_NAMES}
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device, non_blocking=True)
        recon, _ = model(x)
        for k, v in batch_metrics(recon, x).items():
            sums[k] += float(v.sum())
    model.train(was_training)
    return {k: v / max(1, len(images)) for k, v in sums.items()}
