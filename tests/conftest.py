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
