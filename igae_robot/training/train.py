"""The training loop: one function, top to bottom.

Reproducible: the model is initialised from ``train.seed`` and every epoch's shuffle from
(seed, epoch), so ``--resume`` after an interruption reaches the same weights as one run.
A checkpoint is written (atomically) after every epoch; a NaN/inf loss stops the run and
leaves the last good checkpoint in place.

Under torchrun the same function trains with N processes (DistributedDataParallel): every process
draws the same seeded shuffle, each global batch of ``batch_size * N`` images is split into N
contiguous parts, and the gradients are averaged, so N processes follow the loss curve of one
process with an N times larger batch.  Rank 0 alone reports progress and writes checkpoints.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from igae_robot.config import Config, TrainConfig
from igae_robot.errors import ConfigError, TrainingDiverged
from igae_robot.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from igae_robot.model.metrics import evaluate
from igae_robot.model.network import build_model
from igae_robot.model.terms import gesture_terms
from igae_robot.training.data import GlyphSet, training_images
from igae_robot.training.device import process_device
from igae_robot.training.distributed import Ranks, all_reduce_sum, barrier, init_from_env, shard_bounds

__all__ = ["train", "TrainingProgress", "split_train_val"]


@dataclass(frozen=True)
class TrainingProgress:
    """What ``on_step`` hears after every optimizer step (a progress bar draws it)."""

    done: int  # steps taken in this call of train()
    total: int  # steps this call of train() takes (a resumed run counts only what is left)
    epoch: int  # the epoch the step belongs to, from 1
    epochs: int  # train.epochs
    loss: float  # the step's loss (image MSE + gesture terms), averaged over processes


def split_train_val(data: GlyphSet, val_fraction: float, seed: int) -> tuple[GlyphSet, GlyphSet]:
    """A fixed random split of the training images (the test split is never touched in training)."""
    n_val = int(round(len(data) * val_fraction))
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.subset(perm[n_val:]), data.subset(perm[:n_val])


def _lr_factor(schedule: str, epochs: int) -> Callable[[int], float]:
    if schedule == "constant":
        return lambda epoch: 1.0
    if schedule == "cosine":
        return lambda epoch: 0.5 * (1 + math.cos(math.pi * epoch / epochs))
    raise ConfigError(f"unknown lr_schedule {schedule!r}; known: constant, cosine")


def train(
    config: Config,
    out_dir: str | Path,
    resume: bool = False,
    data: GlyphSet | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[TrainingProgress], None] | None = None,
    device: torch.device | None = None,
) -> Checkpoint:
    """Train a gesture autoencoder; writes ``out_dir/checkpoint.pt`` after every epoch.

    data: the training images, used as given (default: :func:`training_images` of ``config.data``,
        cut to data.limit); a fraction is held out for validation.
    on_epoch: called with each epoch's metrics row (for logging); on_step: with a
        :class:`TrainingProgress` after every step.  Under torchrun only rank 0 calls them.
    device: this process's device as :func:`~igae_robot.training.device.process_device` gives it
        (default: resolved from ``config.train.device``).
    """
    cfg = config.train
    ckpt_path = Path(out_dir) / "checkpoint.pt"
    device, ranks = (device, init_from_env(device.type)) if device is not None else process_device(cfg.device)
    train_x, val_x = _train_val_images(training_images(config.data) if data is None else data, cfg, device)

    torch.manual_seed(cfg.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(cfg.lr_schedule, cfg.epochs))
    history, start_epoch = [], 0
    if resume and ckpt_path.is_file():
        history, start_epoch = _resume(ckpt_path, config, device, model, optimizer, scheduler)

    net = _for_training(model, ranks, cfg.compile)
    steps = math.ceil(len(train_x) / (cfg.batch_size * ranks.world_size))
    report = _step_reporter(on_step if ranks.is_main else None, (cfg.epochs - start_epoch) * steps, cfg.epochs)
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        tic = time.perf_counter()
        train_mse = _train_epoch(net, optimizer, train_x, epoch, cfg, ranks, ckpt_path, report)
        scheduler.step()
        row = {
            "epoch": epoch + 1,
            "train_mse": train_mse,
            **{f"val_{k}": v for k, v in _evaluate_shards(model, val_x, device, ranks).items()},
            "seconds": time.perf_counter() - tic,
            "lr": optimizer.param_groups[0]["lr"],
        }
        history.append(row)
        if ranks.is_main:
            save_checkpoint(ckpt_path, Checkpoint(model, config, epoch + 1, history, optimizer.state_dict(), scheduler.state_dict()))
            if on_epoch:
                on_epoch(row)
    barrier(ranks)  # every rank returns once rank 0's last checkpoint is on disk
    model.eval()
    return Checkpoint(model, config, cfg.epochs, history, optimizer.state_dict(), scheduler.state_dict(), ckpt_path)


def _train_epoch(net: torch.nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, epoch: int, cfg: TrainConfig,
                 ranks: Ranks, ckpt_path: Path, report: Callable[[int, float], None]) -> float:
    """One pass over the training images in this epoch's seeded order; returns their mean image MSE."""
    global_batch = cfg.batch_size * ranks.world_size
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
    perm = perm.to(images.device)  # once per epoch, not one small copy per step
    mse_sum = 0.0
    for step in range(math.ceil(len(images) / global_batch)):
        batch = perm[step * global_batch : (step + 1) * global_batch]
        start, end = shard_bounds(len(batch), ranks)
        loss, loss_value, mse_value = _batch_loss(net, images[batch[start:end]], len(batch), cfg, ranks)
        if not math.isfinite(loss_value):
            kept = f"the last good checkpoint {ckpt_path} (epoch {epoch}) was kept" if epoch else "no checkpoint was written"
            raise TrainingDiverged(f"loss became {loss_value} at epoch {epoch + 1}, batch {step + 1}; {kept}. "
                                   f"Try a lower learning rate (--set train.lr=...)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        mse_sum += mse_value * len(batch)  # train_mse is the image error, without the gesture terms
        report(epoch, loss_value)
    return mse_sum / len(images)


def _batch_loss(net: torch.nn.Module, x: torch.Tensor, batch_size: int, cfg: TrainConfig,
                ranks: Ranks) -> tuple[torch.Tensor, float, float]:
    """The loss to step on for this process's part ``x`` of a global batch of ``batch_size`` images,
    and the whole batch's loss and image MSE as numbers (the same on every process)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        recon, gesture = net(x)
    if len(x):
        mse = F.mse_loss(recon.float(), x)
        loss = mse + gesture_terms(gesture, x, cfg.intensity_tv, cfg.edge, cfg.pen_up_travel)  # 0 unless switched on
    else:  # more ranks than images in the last batch: this rank takes part with nothing
        mse = loss = recon.sum() * 0.0
    if not ranks.distributed:
        return loss, loss.item(), mse.item()
    # DDP averages gradients over ranks: weight each rank's mean by its share of the
    # batch, so the average is the whole batch's mean (parts may differ in size).
    share = len(x) * ranks.world_size / batch_size
    loss = loss * share
    loss_value, mse_value = all_reduce_sum([loss.item() / ranks.world_size, mse.item() * share / ranks.world_size], ranks)
    return loss, loss_value, mse_value


def _train_val_images(data: GlyphSet, cfg: TrainConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and validation images, (N,1,S,S) on ``device``."""
    train_set, val_set = split_train_val(data, cfg.val_fraction, cfg.seed)
    if len(train_set) == 0:
        raise ConfigError("no training images left after the validation split; lower train.val_fraction")
    return train_set.images.to(device), val_set.images.to(device)


def _resume(ckpt_path: Path, config: Config, device: torch.device, model: torch.nn.Module,
            optimizer: torch.optim.Optimizer, scheduler) -> tuple[list[dict], int]:
    """Load the run in ``ckpt_path`` into model, optimizer and scheduler; returns (history, epochs done)."""
    previous = load_checkpoint(ckpt_path, map_location=device)
    if previous.config.model != config.model:
        raise ConfigError(f"{ckpt_path}: --resume with a different model config; use another --out")
    if previous.epoch > config.train.epochs:
        raise ConfigError(f"{ckpt_path}: the run has already trained {previous.epoch} epochs, more than "
                          f"train.epochs {config.train.epochs}; to continue it, ask for more epochs")
    model.load_state_dict(previous.model.state_dict())
    optimizer.load_state_dict(previous.optimizer_state)
    scheduler.load_state_dict(previous.scheduler_state)
    return previous.history, previous.epoch


def _step_reporter(on_step: Callable[[TrainingProgress], None] | None, total: int, epochs: int) -> Callable[[int, float], None]:
    """A ``report(epoch, loss)`` for the loop that counts steps and tells ``on_step`` (if any)."""
    done = 0

    def report(epoch: int, loss: float) -> None:
        nonlocal done
        done += 1
        if on_step is not None:
            on_step(TrainingProgress(done, total, epoch + 1, epochs, loss))

    return report


def _for_training(model: torch.nn.Module, ranks: Ranks, compile: bool) -> torch.nn.Module:
    """The module the steps call: DDP around the model under torchrun, compiled with --compile.
    Checkpoints and validation use ``model`` itself (same weights, no wrapper in the state dict)."""
    net = model
    if ranks.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)  # broadcasts rank 0's weights, averages gradients
    if compile:
        net = torch.compile(net)
    return net


def _evaluate_shards(model: torch.nn.Module, images: torch.Tensor, device: torch.device, ranks: Ranks) -> dict[str, float]:
    """Validation metrics of all images, each rank scoring its own part."""
    start, end = shard_bounds(len(images), ranks)
    part = evaluate(model, images[start:end], device=device)
    if not ranks.distributed:
        return part
    sums = all_reduce_sum([v * (end - start) for v in part.values()], ranks)
    return {k: s / max(1, len(images)) for k, s in zip(part, sums)}
