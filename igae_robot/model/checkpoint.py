"""Checkpoints: weights + the full config + metrics history, written atomically.

A checkpoint holds only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(..., weights_only=True)`` (no pickled code runs), and the config inside it alone
rebuilds the model.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from igae_robot.config import Config
from igae_robot.errors import CheckpointError, IgaeError
from igae_robot.model.network import GestureAutoencoder, build_model

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "load_trusted", "CHECKPOINT_FORMAT"]

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
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": ckpt.config.to_dict(),
        "model": {k: v.detach().cpu() for k, v in ckpt.model.state_dict().items()},
        "epoch": ckpt.epoch,
        "history": ckpt.history,
        "optimizer": ckpt.optimizer_state,
        "scheduler": ckpt.scheduler_state,
    }
    from igae_robot.atomic import atomic_binary_writer  # refuses devices, pipes and links; keeps the umask

    with atomic_binary_writer(path) as stream:
        torch.save(state, stream)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint and rebuild its model (in eval mode) from the config stored inside."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    state = load_trusted(path, "igae checkpoint", map_location)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not an igae checkpoint of format {CHECKPOINT_FORMAT}")
    try:
        config = Config.from_dict(state["config"])
        model = build_model(config.model)
        model.load_state_dict(state["model"])
        epoch, history = int(state["epoch"]), list(state["history"])
    except (IgaeError, KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model ({first_line(exc)})") from None
    model.eval()
    return Checkpoint(model, config, epoch, history, state.get("optimizer"), state.get("scheduler"), path)


def load_trusted(path: Path, what: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load`` of tensors, numbers and strings only (``weights_only``): no pickled code runs.

    What torch refuses is said in igae's words, in one line: torch's own message advises loading
    again with ``weights_only=False``, i.e. running whatever code the file holds, which a user who
    was handed a file must never be told.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise  # a folder it cannot read: the CLI names the path
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found or any(word in str(exc) for word in _OBJECT_REFUSALS):
            held = f"a pickled Python object ({found.group(1)})" if found else "pickled Python objects"
            raise CheckpointError(f"{path}: not a trusted {what}: it holds {held}, which igae never loads") from None
        raise CheckpointError(f"{path}: not a readable {what} (not a torch file, or damaged or truncated)") from None
    except Exception:  # a zip torch cannot read, a truncated file, another format
        raise CheckpointError(f"{path}: not a readable {what} (not a torch file, or damaged or truncated)") from None


# How torch's weights-only unpickler words refusing an object (rather than bytes it cannot parse).
_OBJECT_REFUSALS = ("Unsupported global", "Unsupported class", "Trying to call reduce", "Can only build")


def first_line(exc: BaseException) -> str:
    """An exception's message on one line (load_state_dict lists every missing key on its own line)."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
