"""Shared fixtures.  Real data is read from ../shared/data/mnist, never copied into the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("IGAE_MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"REQUIRED-IN-CI: real MNIST not found at {MNIST_DIR} (set IGAE_MNIST_DIR)")
    return MNIST_DIR


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # Two cores in CI: keep intra-op threads fixed so timings and float reductions are stable.
    torch.set_num_threads(2)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a skip whose reason says REQUIRED-IN-CI is a failure: CI always has those tools and data."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true":
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "REQUIRED-IN-CI" in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, but CI must run it: {reason}"


# ---- small files for the CLI tests (test_cli_errors.py, test_cli_fuzz.py) --------------------------


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained, very small model saved as a checkpoint: enough for every command's plumbing."""
    from igae_robot.model.checkpoint import Checkpoint, save_checkpoint
    from igae_robot.config import Config, ModelConfig
    from igae_robot.model.network import GestureAutoencoder

    torch.manual_seed(0)
    config = Config(model=ModelConfig(hidden=(8,), steps=6))
    return save_checkpoint(tmp_path_factory.mktemp("tiny") / "checkpoint.pt", Checkpoint(GestureAutoencoder(config.model), config))


@pytest.fixture(scope="session")
def tiny_gestures(tmp_path_factory) -> Path:
    """A gestures .npz of 6 glyphs whose pens are down (valid input for export and check)."""
    from fixtures_machine import random_glyph_gestures

    from igae_robot.gesture import save_gestures

    path = tmp_path_factory.mktemp("tiny-g") / "gestures.npz"
    save_gestures(path, random_glyph_gestures(6, seed=3), {"image_size": 28, "var_coef": 0.01, "var_eps": 1e-4})
    return path


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    """Files a hostile or careless user hands to a command: each is refused with one line, never a traceback."""
    import numpy as np

    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "empty": folder / "empty.npz",
        "garbage": folder / "garbage.pt",
        "not-utf8-toml": folder / "latin1.toml",
        "truncated-npz": folder / "truncated.npz",
        "pickle-npz": folder / "objects.npz",
        "text": folder / "notes.svg",
        "folder": folder / "a-folder.npz",
    }
    files["empty"].write_bytes(b"")
    files["garbage"].write_bytes(bytes(range(256)) * 4)
    files["not-utf8-toml"].write_bytes('[model]\nsteps = 7\nname = "caf\xe9"\n'.encode("latin-1"))
    np.savez(files["truncated-npz"], points=np.zeros((3, 5, 2)))
    files["truncated-npz"].write_bytes(files["truncated-npz"].read_bytes()[:100])
    np.savez(files["pickle-npz"], points=np.array([{"a": 1}], dtype=object))
    files["text"].write_text("<svg this is not")
    files["folder"].mkdir()
    return files
