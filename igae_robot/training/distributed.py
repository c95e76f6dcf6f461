"""Several processes working as one: the torch.distributed helpers training (and batch work) share.

Launch with torchrun; one process per GPU (or per CPU share), on one node or many:

    torchrun --nproc_per_node 2 -m igae_robot.cli.main train ...                       # one node
    torchrun --nnodes 2 --node_rank 0 --master_addr HOST --nproc_per_node 8 -m igae_robot.cli.main train ...

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; :func:`init_from_env` reads
them and joins the process group (gloo on CPU, nccl on CUDA).  Without torchrun every helper here is
the one-process identity, so callers need no special case.

Work is split by :func:`shard`: every process computes the same list (e.g. the same seeded shuffle)
and takes its own contiguous part, so the processes together cover the list exactly once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence, TypeVar

import torch
import torch.distributed as dist

from igae_robot.errors import ConfigError

__all__ = ["Ranks", "init_from_env", "shard_bounds", "shard", "barrier", "all_reduce_sum", "finish"]

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: its rank among world_size processes, and its rank on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs, writes checkpoints and draws pictures."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} must be an integer (set by torchrun)") from None


def init_from_env(device_type: str = "cpu") -> Ranks:
    """Join the process group torchrun described in the environment; Ranks() when not under torchrun.

    device_type "cuda" uses nccl and makes cuda:LOCAL_RANK this process's GPU; "cpu" uses gloo.
    Calling it again returns the group already joined.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return Ranks()
    ranks = Ranks(_env_int("RANK", 0), world_size, _env_int("LOCAL_RANK", 0))
    if not dist.is_initialized():
        if device_type == "cuda":
            if ranks.local_rank >= torch.cuda.device_count():
                raise ConfigError(
                    f"process {ranks.rank} has LOCAL_RANK {ranks.local_rank} but this node has "
                    f"{torch.cuda.device_count()} GPU(s); start at most that many processes per node"
                )
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return ranks


def shard_bounds(n: int, ranks: Ranks) -> tuple[int, int]:
    """[start, end) of this rank's contiguous part of n items; parts differ in size by at most one."""
    base, extra = divmod(n, ranks.world_size)
    start = ranks.rank * base + min(ranks.rank, extra)
    return start, start + base + (ranks.rank < extra)


def shard(items: Sequence[T], ranks: Ranks) -> Sequence[T]:
    """This rank's contiguous part of ``items`` (a list, an array or a tensor)."""
    start, end = shard_bounds(len(items), ranks)
    return items[start:end]


def barrier(ranks: Ranks) -> None:
    """Wait until every process gets here (e.g. rank 0 has written a file the others read)."""
    if ranks.distributed:
        dist.barrier()


def all_reduce_sum(values: Sequence[float], ranks: Ranks) -> list[float]:
    """Sum each value over all processes (in float64, so sums of per-rank sums stay exact enough)."""
    if not ranks.distributed:
        return [float(v) for v in values]
    backend_cuda = dist.get_backend() == "nccl"
    buffer = torch.tensor([float(v) for v in values], dtype=torch.float64, device="cuda" if backend_cuda else "cpu")
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    return buffer.tolist()


def finish(ranks: Ranks) -> None:
    """Leave the process group (at the end of a command)."""
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()
