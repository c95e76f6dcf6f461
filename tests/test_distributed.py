"""Training with several processes: torchrun (gloo, CPU) follows one process at the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from igae_robot.config import apply_overrides, load_preset
from igae_robot.training.distributed import Ranks, all_reduce_sum, init_from_env, shard, shard_bounds
from igae_robot.training.train import train

# 255 digits: 229 train after the 10% hold-out, so the last global batch of 64 has 37 images, split 19 / 18.
TINY = ["model.hidden=[32]", "data.limit=255"]


@pytest.mark.parametrize("n, world", [(0, 2), (1, 2), (37, 2), (64, 3), (10, 7), (5, 1)])
def test_shards_cover_every_item_once_in_order(n, world):
    parts = [shard(list(range(n)), Ranks(rank, world)) for rank in range(world)]
    assert [i for part in parts for i in part] == list(range(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert shard_bounds(n, Ranks(world - 1, world))[1] == n


def test_one_process_is_the_identity(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ranks = init_from_env("cpu")
    assert ranks == Ranks() and ranks.is_main and not ranks.distributed
    assert all_reduce_sum([1.5, 2], ranks) == [1.5, 2.0]


def _torchrun(tmp_path, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "COLUMNS": "200"}  # rich wraps at the width
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "igae_robot.cli.main", "train", "--preset", "dynamic", "--data", "digits", "--device", "cpu",
           "--limit", "255", "--set", "model.hidden=[32]", "--set", "train.batch_size=32",
           "--no-progress", "--out", str(tmp_path / "two"), *args]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_torchrun_two_processes_follow_one_process_and_resume(tmp_path):
    # 2 processes x 32 images, first 1 epoch, then resumed to 2 == 1 process x 64 images, 2 epochs.
    _torchrun(tmp_path, "--epochs", "1")
    result = _torchrun(tmp_path, "--epochs", "2", "--resume")
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["epochs"] == 2
    assert result.stderr.count("epoch   2/2") == 1, "only rank 0 logs epochs"
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    one = train(apply_overrides(load_preset("dynamic"), [*TINY, "train.batch_size=64", "train.epochs=2", "train.device=\"cpu\""]),
                tmp_path / "one")
    assert len(two["history"]) == 2
    for row_one, row_two in zip(one.history, two["history"]):
        for key in ("train_mse", "val_mse", "val_pixel_accuracy", "val_iou"):
            assert row_two[key] == pytest.approx(row_one[key], rel=1e-5), f"epoch {row_one['epoch']} {key}"
    for name, weight in one.model.state_dict().items():
        torch.testing.assert_close(two["model"][name], weight, rtol=1e-4, atol=1e-5, msg=f"{name} differs")
