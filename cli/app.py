"""The typer application and the one place domain errors become exit codes.

Command modules import torch (and other heavy libraries) inside their functions, so that
``igae --help`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from typing import Callable

import typer
from rich.console import Console

from igae_robot.errors import IgaeError

app = typer.Typer(
    name="igae",
    help="Teach a network to draw glyphs as gestures, then drive pen plotters and robot arms with them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console(stderr=True)
out = Console()

# Exit codes: 0 ok, 1 a check failed (e.g. re-render below threshold), 2 the user's input is wrong.
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2


def user_errors(fn: Callable) -> Callable:
    """Turn an :class:`IgaeError` into one red line on stderr and exit code 2; bugs keep their traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IgaeError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            sys.exit(130)

    return wrapper
