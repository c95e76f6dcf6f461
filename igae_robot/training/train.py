"""The training loop: one function, top to bottom.

Reproducible: the model is initialised from ``train.seed`` and every epoch's shuffle from
(seed, epoch), so ``--resume`` after an interruption reaches the same weights as one run.
A checkpoint is written (atomically) after every epoch; a NaN/inf loss stops the run and
leaves the last good checkpoint in place.

Under torchrun the same function trains with N processes (DistributedDataParallel): every process
draws the same seeded shuffle, each global batch of ``batch_size * N`` images is split into N
contiguous parts, and the gradients are averaged, so N processes follow the loss curve of one
process with an N times larger batch.  Rank 0 alone shows progress and writes checkpoints.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from igae_robot.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from igae_robot.config import Config
from igae_robot.training.data import GlyphSet, load_dataset
from igae_robot.training.distributed import Ranks, all_reduce_sum, barrier, init_from_env, shard_bounds
from igae_robot.errors import ConfigError, TrainingDiverged
from igae_robot.model.terms import gesture_terms
from igae_robot.model.metrics import evaluate
from igae_robot.model.network import build_model

__all__ = ["train", "resolve_device", "split_train_val"]


def resolve_device(name: str) -> torch.device:
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
    progress: bool = True,
) -> Checkpoint:
    """Train a gesture autoencoder; writes ``out_dir/checkpoint.pt`` after every epoch.

    data: training images (default: loaded from ``config.data``); a fraction is held out for validation.
    on_epoch: called with each epoch's metrics row (for logging).
    """
    cfg = config.train
    out_dir = Path(out_dir)
    ckpt_path = out_dir / "checkpoint.pt"
    device = resolve_device(cfg.device)
    ranks = init_from_env(device.type)
    if ranks.distributed and device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)  # one GPU per process
    if cfg.precision not in ("fp32", "bf16"):
        raise ConfigError(f"unknown train.precision {cfg.precision!r}; known: bf16, fp32")

    if data is None:
        data = load_dataset(config.data.name, config.data.dir, "train")
    if config.data.limit:
        data = data.subset(torch.arange(min(config.data.limit, len(data))))
    train_set, val_set = split_train_val(data, cfg.val_fraction, cfg.seed)
    train_x = train_set.images.to(device)
    val_x = val_set.images.to(device)
    if len(train_x) == 0:
        raise ConfigError("no training images left after the validation split; lower train.val_fraction")

    torch.manual_seed(cfg.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(cfg.lr_schedule, cfg.epochs))
    history: list[dict] = []
    start_epoch = 0

    if resume and ckpt_path.is_file():
        previous = load_checkpoint(ckpt_path, map_location=device)
        if previous.config.model != config.model:
            raise ConfigError(f"{ckpt_path}: --resume with a different model config; use another --out")
        if previous.epoch > cfg.epochs:
            raise ConfigError(f"{ckpt_path}: the run has already trained {previous.epoch} epochs, more than "
                              f"train.epochs {cfg.epochs}; to continue it, ask for more epochs")
        model.load_state_dict(previous.model.state_dict())
        optimizer.load_state_dict(previous.optimizer_state)
        scheduler.load_state_dict(previous.scheduler_state)
        history, start_epoch = previous.history, previous.epoch

    net = _for_training(model, ranks, cfg.compile)
    global_batch = cfg.batch_size * ranks.world_size
    steps_per_epoch = math.ceil(len(train_x) / global_batch)
    bar = _progress(progress and ranks.is_main)
    with bar:
        task = bar.add_task("train", total=(cfg.epochs - start_epoch) * steps_per_epoch, loss=float("nan"))
        for epoch in range(start_epoch, cfg.epochs):
            model.train()
            tic = time.perf_counter()
            perm = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
            perm = perm.to(device)  # once per epoch, not one small copy per step
            loss_sum = 0.0
            for step in range(steps_per_epoch):
                batch = perm[step * global_batch : (step + 1) * global_batch]
                start, end = shard_bounds(len(batch), ranks)
                x = train_x[batch[start:end]]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                    recon, gesture = net(x)
                if len(x):
                    mse = F.mse_loss(recon.float(), x)
                    loss = mse + gesture_terms(gesture, x, cfg.intensity_tv, cfg.edge)  # 0 unless switched on
                else:  # more ranks than images in the last batch: this rank takes part with nothing
                    mse = loss = recon.sum() * 0.0
                if ranks.distributed:
                    # DDP averages gradients over ranks: weight each rank's mean by its share of the
                    # batch, so the average is the whole batch's mean (parts may differ in size).
                    share = len(x) * ranks.world_size / len(batch)
                    loss = loss * share
                    loss_value, mse_value = all_reduce_sum(
                        [loss.item() / ranks.world_size, mse.item() * share / ranks.world_size], ranks
                    )
                else:
                    loss_value, mse_value = loss.item(), mse.item()
                if not math.isfinite(loss_value):
                    kept = f"the last good checkpoint {ckpt_path} (epoch {epoch}) was kept" if epoch else "no checkpoint was written"
                    raise TrainingDiverged(
                        f"loss became {loss_value} at epoch {epoch + 1}, batch {step + 1}; {kept}. "
                        f"Try a lower learning rate (--set train.lr=...)"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += mse_value * len(batch)  # train_mse is the image error, without the gesture terms
                bar.update(task, advance=1, loss=loss_value, description=f"epoch {epoch + 1}/{cfg.epochs}")
            scheduler.step()
            row = {
                "epoch": epoch + 1,
                "train_mse": loss_sum / len(train_x),
                **{f"val_{k}": v for k, v in _evaluate_shards(model, val_x, device, ranks).items()},
                "seconds": time.perf_counter() - tic,
                "lr": optimizer.param_groups[0]["lr"],
            }
            history.append(row)
            if ranks.is_main:
                save_checkpoint(
                    ckpt_path,
                    Checkpoint(model, config, epoch + 1, history, optimizer.state_dict(), scheduler.state_dict()),
                )
                if on_epoch:
                    on_epoch(row)
    barrier(ranks)  # every rank returns once rank 0's last checkpoint is on disk
    model.eval()
    return Checkpoint(model, config, cfg.epochs, history, optimizer.state_dict(), scheduler.state_dict(), ckpt_path)


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


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


