"""Checkpoints: weights + the full config + metrics history, written atomically.

A checkpoint holds only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(..., weights_only=True)`` (no pickled code runs), and the config inside it alone
rebuilds the model.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import Config
from .errors import CheckpointError, IgaeError
from .model import GestureAutoencoder, build_model

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "encode_gestures", "gesture_meta", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = 1


@dataclass
class Checkpoint:
    model: GestureAutoencoder
    config: Config
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)  # one row of metrics per epoch
    optimizer_state: dict | None = None
    scheduler_state: dict | None = None
    path: Path | None = None


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> Path:
    """Write atomically: a temp file in the same folder, then rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": ckpt.config.to_dict(),
        "model": {k: v.detach().cpu() for k, v in ckpt.model.state_dict().items()},
        "epoch": ckpt.epoch,
        "history": ckpt.history,
        "optimizer": ckpt.optimizer_state,
        "scheduler": ckpt.scheduler_state,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint and rebuild its model (in eval mode) from the config stored inside."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state: dict[str, Any] = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable igae checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an igae checkpoint of format {CHECKPOINT_FORMAT}")
    try:
        config = Config.from_dict(state["config"])
        model = build_model(config.model)
        model.load_state_dict(state["model"])
    except (IgaeError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model ({exc})") from None
    model.eval()
    return Checkpoint(
        model, config, int(state["epoch"]), list(state["history"]), state.get("optimizer"), state.get("scheduler"), path
    )


@torch.no_grad()
def encode_gestures(ckpt: Checkpoint, images: torch.Tensor, labels: torch.Tensor | None = None) -> list:
    """images (N,1,S,S) in [0,1] -> torch-free :class:`~igae_robot.gesture.Gesture` list, with the
    marker variances and step timing the model uses (what ``igae encode`` saves)."""
    model = ckpt.model.eval()
    gesture = model.encode(images.float().to(next(model.parameters()).device))
    return gesture.to_gestures(variance=model.variance(gesture), dt_s=ckpt.config.train.dt_s, labels=labels)


def gesture_meta(ckpt: Checkpoint) -> dict[str, float]:
    """What a gestures file records of the model so ``igae check`` re-renders at its resolution."""
    m = ckpt.config.model
    return {"image_size": m.image_size, "var_coef": m.var_coef, "var_eps": m.var_eps}
