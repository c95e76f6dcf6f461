"""What every command group shares: the consoles, exit codes, and the one place domain errors
become exit codes.

Command modules import torch (and other heavy libraries) inside their functions, so that
``igae --help`` starts fast.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Callable

import typer
from rich.console import Console
from rich.markup import escape

from igae_robot.errors import IgaeError, OutputError


def command_group() -> typer.Typer:
    """The typer app of one command group (one ``*_commands.py``); cli/main.py composes them."""
    return typer.Typer()


console = Console(stderr=True)
out = Console()

# Exit codes: 0 ok, 1 a check failed (e.g. re-render below threshold), 2 the user's input is wrong.
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2

# What the OS says about a path the user gave (a read-only folder, a file where a folder should
# be, a full disk): the user's to fix.  Any other OSError, or one without a path, is a bug.
_USER_PATH_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOENT,
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENAMETOOLONG, errno.ELOOP, errno.EBUSY, errno.ETXTBSY,
}


def error_line(message: str) -> None:
    """One red line on stderr, printed verbatim: a message's [brackets] are text, not rich markup."""
    one_line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    console.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)


def warning_line(message: str) -> None:
    console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _user_path_error(exc: OSError) -> str | None:
    """``"PATH: reason"`` for the OS refusing a path, None for an OSError that is a bug."""
    path = exc.filename2 or exc.filename  # a rename names its target second
    if path is None or exc.errno not in _USER_PATH_ERRNOS:
        return None
    return f"{os.fsdecode(path)}: {exc.strerror or os.strerror(exc.errno)}"


def user_errors(fn: Callable) -> Callable:
    """Turn an :class:`IgaeError`, or the OS refusing a user's path, into one red line on stderr and
    exit code 2; bugs keep their traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                # The library warns (a blank image, a fresh start on --resume); Python would print two
                # lines with our source file in them.  The user gets one line naming their file.
                warnings.showwarning = lambda message, *rest, **kw: warning_line(str(message))
                return fn(*args, **kwargs)
        except IgaeError as exc:
            error_line(str(exc))
            raise typer.Exit(EXIT_USER_ERROR) from None
        except OSError as exc:
            message = _user_path_error(exc)
            if message is None:
                raise
            error_line(message)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            sys.exit(130)

    return wrapper


def output_folder(path: str | Path, option: str) -> Path:
    """Refuse, before any work, a folder option (``--out``, ``--pictures``) that is empty, names a file,
    or lies in a folder this process cannot write in.  Creates nothing.

    Folder options are typed ``str`` on the command line: typer reads ``""`` as ``Path(".")``, and an
    empty option would quietly mean "wherever the command runs"."""
    if not str(path).strip():
        raise OutputError(f"{option} is empty; give a folder")
    path = existing = Path(path)
    while not existing.exists() and existing != existing.parent:  # the folder the new ones will be made in
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == path else f" ({existing} is a file)"
        raise OutputError(f"{option} {path}: not a folder{where}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {existing} (permission denied or a read-only disk)")
    return path


def length_option(option: str, text: str) -> float:
    """A length option in mm (``"0.05mm"``, ``"2in"``); ConfigError naming the option when it is not one, or negative."""
    from igae_robot.errors import ConfigError, IgaeError
    from igae_robot.units import to_mm

    try:
        value = to_mm(text)
    except IgaeError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    if not value >= 0:
        raise ConfigError(f"{option} must be a length >= 0, got {text!r}")
    return value
