"""Entry point: ``igae``, composed of one typer app per command group (``*_commands.py``).

The order below is the order ``igae --help`` lists the commands in.
"""

from __future__ import annotations

import os

# OpenMP threads that spin while they wait make training crawl when another process holds a core (a
# shared machine, a CI runner): one epoch 11.0 s spinning vs 6.2 s passive with two busy processes on
# this 2-core CPU; on an idle machine the two measured runs disagreed (equal, or passive 20% slower).
# See benchmarks/busy_cpu.py.  OpenMP reads this once, when torch loads it; the commands import torch
# lazily, after this line.  A user's own setting wins (OMP_WAIT_POLICY=ACTIVE for a dedicated machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402

from . import (  # noqa: E402
    cluster_commands,
    export_commands,
    hand_commands,
    handwrite_commands,
    plot_commands,
    preview_commands,
    train_commands,
    vectorize_commands,
)
from .app import out  # noqa: E402

__all__ = ["app"]

app = typer.Typer(
    name="igae",
    help="Teach a network to draw glyphs as gestures, then drive pen plotters and robot arms with them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (train_commands, cluster_commands, export_commands, handwrite_commands, vectorize_commands):
    app.add_typer(group.app)
app.add_typer(hand_commands.app)
app.add_typer(preview_commands.app)
app.add_typer(plot_commands.app)


def _version(value: bool) -> None:
    if value:
        from igae_robot import __version__

        out.print(f"igae {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version and exit"),
) -> None:
    pass


if __name__ == "__main__":  # pragma: no cover
    app()
