"""Entry point: ``igae``.  Importing the command modules registers their commands on the app."""

from __future__ import annotations

import os

# OpenMP threads that spin while they wait make training ~10x slower when another process holds a
# core (a shared machine, a CI runner).  Waiting passively costs nothing measurable on an idle one.
# OpenMP reads this once, when torch loads it; the commands import torch lazily, after this line.
# A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import (  # noqa: E402,F401  (importing a command module registers its commands)
    cluster_commands,
    export_commands,
    handwrite_commands,
    train_commands,
    vectorize_commands,
)
from .app import app  # noqa: E402

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
