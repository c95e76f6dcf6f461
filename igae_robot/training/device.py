"""Where a command computes: the device a user names, and this process's share under torchrun."""

from __future__ import annotations

import torch

from igae_robot.errors import ConfigError
from igae_robot.training.distributed import Ranks, init_from_env

__all__ = ["resolve_device", "process_device"]


def resolve_device(name: str) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` -> a device this machine has; anything else is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):  # torch knows more (meta, mps, xpu...) than we run on
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this machine has no CUDA GPU (use --device cpu or auto)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def process_device(name: str) -> tuple[torch.device, Ranks]:
    """The device this process trains on, and its place among torchrun's processes (Ranks() alone).

    Under torchrun on GPUs each process takes its own, cuda:LOCAL_RANK."""
    device = resolve_device(name)
    ranks = init_from_env(device.type)
    if ranks.distributed and device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
    return device, ranks
