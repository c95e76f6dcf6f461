"""Entry point: ``igae``.  Importing the command modules registers their commands on the app."""

from __future__ import annotations

from . import (  # noqa: F401  (importing a command module registers its commands)
    cluster_commands,
    export_commands,
    handwrite_commands,
    train_commands,
    vectorize_commands,
)
from .app import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
