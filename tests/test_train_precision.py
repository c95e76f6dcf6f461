"""bf16 autocast and the precision option: training still learns; bad values are clear errors."""

from __future__ import annotations

import math

import pytest

from igae_robot.config import apply_overrides, load_preset
from igae_robot.errors import ConfigError
from igae_robot.training.train import train

TINY = ["model.hidden=[32]", "train.batch_size=64", "train.epochs=2", "data.limit=128", 'train.device="cpu"']


def test_bf16_autocast_follows_the_fp32_curve(tmp_path):
    fp32 = train(apply_overrides(load_preset("dynamic"), TINY), tmp_path / "fp32")
    bf16 = train(apply_overrides(load_preset("dynamic"), [*TINY, 'train.precision="bf16"']), tmp_path / "bf16")
    for a, b in zip(fp32.history, bf16.history):
        # bf16 keeps ~3 significant digits in the encoder: not the same numbers, the same curve within 2%.
        assert math.isfinite(b["val_mse"]) and b["val_mse"] != a["val_mse"], "autocast changed nothing"
        assert b["val_mse"] == pytest.approx(a["val_mse"], rel=0.02)
        assert b["train_mse"] == pytest.approx(a["train_mse"], rel=0.02)


def test_unknown_precision_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown train.precision 'fp8'; known: bf16, fp32"):
        train(apply_overrides(load_preset("dynamic"), [*TINY, 'train.precision="fp8"']), tmp_path)
