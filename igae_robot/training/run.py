"""A training run, as ``igae train`` and ``igae demo`` make it: train, then evaluate on train and
test, draw pictures and write summary.json beside the checkpoint.

Under torchrun every process trains; rank 0 alone then evaluates, draws and writes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from igae_robot.atomic import atomic_write_text
from igae_robot.config import Config
from igae_robot.training.data import load_dataset, training_images
from igae_robot.training.device import process_device
from igae_robot.training.distributed import Ranks, barrier, finish
from igae_robot.training.evaluation import evaluate_checkpoint, write_pictures
from igae_robot.training.train import TrainingProgress, train

__all__ = ["TrainingRun", "run_training"]


@dataclass(frozen=True)
class TrainingRun:
    """What a finished run reports; ``summary`` is what summary.json holds."""

    summary: dict
    metrics: dict[str, dict[str, float]]  # split ("train", "test") -> evaluate_checkpoint's metrics
    pictures: list[Path]
    checkpoint: Path
    wall_s: float  # seconds of training (summary.json keeps them rounded to 0.1)
    where: str  # "cpu", "cuda", or "2 processes on cuda" under torchrun

    def title(self) -> str:
        """``igae on digits, 30 epochs, 12 s on cpu``: the metrics table's title."""
        s = self.summary
        return f"{s['preset']} on {s['data']}, {s['epochs']} epochs, {self.wall_s:.0f} s on {self.where}"


def run_training(
    config: Config,
    out_dir: str | Path,
    resume: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[TrainingProgress], None] | None = None,
) -> TrainingRun | None:
    """Train (see :func:`~igae_robot.training.train.train`), evaluate on the training images and the
    test split, write pictures and summary.json into ``out_dir``; None on every rank but 0."""
    out_dir = Path(out_dir)
    device, ranks = process_device(config.train.device)  # resolved once, for training and evaluation
    images = training_images(config.data)
    tic = time.perf_counter()
    try:
        ckpt = train(config, out_dir, resume=resume, data=images, on_epoch=on_epoch, on_step=on_step, device=device)
        # Every rank done before any leaves.  Rank 1 of the torchrun test aborted once at its exit ("terminate called
        # without an active exception", one CI run in four today), likely tearing gloo down while rank 0 was still
        # in its last collective.  Not on the way out of an error: the other rank may be in another collective.
        barrier(ranks)
    finally:
        finish(ranks)
    wall = time.perf_counter() - tic
    if not ranks.is_main:
        return None
    test = load_dataset(config.data.name, config.data.dir, "test")
    metrics = {"train": evaluate_checkpoint(ckpt, images, device), "test": evaluate_checkpoint(ckpt, test, device)}
    pictures = write_pictures(ckpt, test, out_dir)
    summary = _summary(config, device, ranks, wall, metrics, pictures, out_dir / "checkpoint.pt")
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    where = f"{ranks.world_size} processes on {device.type}" if ranks.distributed else str(device)
    return TrainingRun(summary, metrics, pictures, out_dir / "checkpoint.pt", wall, where)


def _summary(config: Config, device: torch.device, ranks: Ranks, wall: float, metrics: dict, pictures: list[Path],
             checkpoint: Path) -> dict:
    return {
        "preset": config.preset,
        "data": config.data.name,
        "epochs": config.train.epochs,
        "device": str(device),
        "processes": ranks.world_size,
        "train_wall_s": round(wall, 1),
        "metrics": metrics,
        "pictures": [str(p) for p in pictures],
        "checkpoint": str(checkpoint),
    }
