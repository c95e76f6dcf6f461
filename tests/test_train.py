"""Training: learns, is reproducible, resumes exactly, stops cleanly on NaN, checkpoints rebuild models."""

from __future__ import annotations

import pytest
import torch

from igae_robot.model.checkpoint import load_checkpoint
from igae_robot.config import apply_overrides, load_preset
from igae_robot.training.data import load_dataset
from igae_robot.errors import CheckpointError, ConfigError, TrainingDiverged
from igae_robot.model.metrics import batch_metrics, evaluate
from igae_robot.training.train import train

TINY = ["model.hidden=[32]", "train.batch_size=64", "train.epochs=2", "data.limit=256"]


def _config(*extra, preset="dynamic"):
    return apply_overrides(load_preset(preset), [*TINY, *extra])


def test_metrics_by_hand():
    target = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    recon = torch.tensor([[[[0.0, 0.6], [0.4, 0.2]]]])
    m = batch_metrics(recon, target)
    assert m["pixel_accuracy"].item() == pytest.approx(0.75)  # |0.6| error at (1,0) is the only miss
    assert m["mse"].item() == pytest.approx((0.16 + 0.36 + 0.04) / 4)
    assert m["iou"].item() == pytest.approx(0.5)  # {(0,1)} / {(0,1),(1,0)}


def test_same_seed_same_weights_and_resume_matches_one_run(tmp_path):
    one = train(_config(), tmp_path / "one")
    again = train(_config(), tmp_path / "again")
    first_half = train(_config("train.epochs=1"), tmp_path / "resumed")
    resumed = train(_config(), tmp_path / "resumed", resume=True)
    assert first_half.epoch == 1 and resumed.epoch == 2 and len(resumed.history) == 2
    for (name, a), b, c in zip(one.model.state_dict().items(), again.model.state_dict().values(),
                               resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=f"{name} differs between identical runs")
        torch.testing.assert_close(a, c, rtol=0, atol=0, msg=f"{name} differs after resume")


def test_checkpoint_alone_rebuilds_the_model(tmp_path):
    result = train(_config(preset="static"), tmp_path)
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # no pickled code needed
    assert raw["config"]["model"]["decoder"] == "points"
    loaded = load_checkpoint(tmp_path)
    x = load_dataset("digits").images[:8]
    torch.testing.assert_close(loaded.model(x)[0], result.model(x)[0])
    assert loaded.history == result.history and loaded.config == result.config
    assert not list(tmp_path.glob("*.tmp")), "temporary checkpoint files left behind"


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    train(_config("train.epochs=1"), tmp_path)
    good = (tmp_path / "checkpoint.pt").read_bytes()
    import igae_robot.training.train as train_module

    calls = {"n": 0}
    real_mse = train_module.F.mse_loss

    def poisoned(a, b):  # second epoch, third batch: the loss turns NaN
        calls["n"] += 1
        return real_mse(a, b) * (float("nan") if calls["n"] == 3 else 1.0)

    monkeypatch.setattr(train_module.F, "mse_loss", poisoned)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 2, batch 3.*checkpoint.pt \(epoch 1\) was kept"):
        train(_config(), tmp_path, resume=True)
    assert (tmp_path / "checkpoint.pt").read_bytes() == good


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="checkpoint.pt: not a readable igae checkpoint"):
        load_checkpoint(tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.slow
def test_learns_real_mnist_digits(mnist_dir, tmp_path):
    """Two epochs on 3000 real MNIST digits: test reconstruction clearly beats the blank canvas."""
    config = apply_overrides(load_preset("igae"), ["train.epochs=2", "data.name=mnist", f"data.dir={str(mnist_dir)!r}",
                                                   "data.limit=3000"])
    result = train(config, tmp_path)
    test = load_dataset("mnist", mnist_dir, "test").images[:1000]
    blank = batch_metrics(torch.zeros_like(test), test)["mse"].mean().item()
    metrics = evaluate(result.model, test)
    assert result.history[-1]["val_mse"] < result.history[0]["val_mse"]
    assert metrics["mse"] < 0.75 * blank, (metrics, blank)


@pytest.mark.parametrize("name", ["meta", "mps", "", "cuda:-1", "tpu"])
def test_devices_we_do_not_run_on_are_refused(name):
    from igae_robot.training.device import resolve_device

    with pytest.raises(ConfigError, match="unknown device|no CUDA GPU"):
        resolve_device(name)


def test_resume_asking_for_fewer_epochs_than_done(tmp_path):
    train(_config(), tmp_path)  # 2 epochs
    with pytest.raises(ConfigError, match="already trained 2 epochs, more than train.epochs 1"):
        train(_config("train.epochs=1"), tmp_path, resume=True)


def test_steps_are_reported_through_a_callback(tmp_path):
    from igae_robot.training.train import TrainingProgress

    heard: list[TrainingProgress] = []
    train(_config("train.epochs=1"), tmp_path, on_step=heard.append)
    steps = len(heard)  # 256 digits, 10% held out: 230 training images in batches of 64
    assert steps == 4 and [p.done for p in heard] == [1, 2, 3, 4] and {p.total for p in heard} == {4}
    assert {(p.epoch, p.epochs) for p in heard} == {(1, 1)} and all(p.loss > 0 for p in heard)
    heard.clear()
    train(_config(), tmp_path, resume=True, on_step=heard.append)  # a resumed run counts what is left
    assert [p.done for p in heard] == [1, 2, 3, 4] and {(p.total, p.epoch, p.epochs) for p in heard} == {(4, 2, 2)}


def test_given_images_are_used_as_given(tmp_path):
    data = load_dataset("digits").first(100)
    heard = []
    train(_config("data.limit=20", "train.epochs=1"), tmp_path, data=data, on_step=heard.append)
    assert heard[-1].total == 2, "90 training images in batches of 64; data.limit cuts only what train() loads"
    assert len(data.first(0)) == 100 and len(data.first(30)) == 30 and len(data.first(1000)) == 100


def test_the_recurrent_decoder_trains_and_its_checkpoint_rebuilds_it(tmp_path):
    result = train(_config("model.decoder=recurrent", "model.start=none", preset="igae"), tmp_path)
    rebuilt = load_checkpoint(tmp_path / "checkpoint.pt")
    x = load_dataset("digits", split="test").images[:4]
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.model.encode(x).positions(), result.model.encode(x).positions())
    assert result.history[-1]["train_mse"] < result.history[0]["train_mse"]
