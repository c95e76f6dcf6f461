"""Entry point: ``igae``.  Importing the command modules registers their commands on the app."""

from __future__ import annotations

from . import cluster_commands, export_commands, train_commands, vectorize_commands  # noqa: F401  (registers commands)
from .app import app

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
