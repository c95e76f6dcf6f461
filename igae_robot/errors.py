"""Domain errors.  The library raises these; only the CLI turns them into exit codes.

Every message names the thing that is wrong (a file, a value, a key) and what was expected,
so a user can fix the input without reading a traceback.  Bugs are *not* IgaeErrors and keep
their traceback.
"""

from __future__ import annotations

__all__ = [
    "IgaeError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "TrainingDiverged",
    "GestureError",
    "PageError",
    "MachineError",
    "ExportError",
    "CheckError",
    "TextError",
    "OutputError",
    "PlotError",
]


class IgaeError(Exception):
    """Base class of every error a user can cause and fix."""


class ConfigError(IgaeError):
    """Unknown preset, unknown or mistyped config key, bad option value."""


class DataError(IgaeError):
    """A data file or folder is missing, truncated, corrupt or of the wrong kind."""


class CheckpointError(IgaeError):
    """A checkpoint cannot be read or does not describe a model we can rebuild."""


class TrainingDiverged(IgaeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


class GestureError(IgaeError):
    """A gesture has the wrong shape, NaN/inf values, or a gestures file is unreadable."""


class PageError(IgaeError):
    """Unknown page name, bad length or margin, or a drawing that does not fit on the page."""


class MachineError(IgaeError):
    """Unknown or malformed machine profile, or a profile of the wrong kind for a format."""


class ExportError(IgaeError):
    """A drawing cannot be written for a machine: a move outside its work area or reach, a bad format."""


class CheckError(IgaeError):
    """A file cannot be read back or compared (wrong format, missing igae metadata, glyph count mismatch)."""


class TextError(IgaeError):
    """Text the handwriting models cannot write (unknown characters), or a word too long for the line."""


class OutputError(IgaeError, OSError):
    """An output cannot be written: its path is empty, names a device, pipe, socket, folder or symbolic
    link, or the OS refused (a read-only folder, a full disk).  Also an OSError, so that a batch that
    records a failed file and goes on (``export_files``) treats it as the disk error it is."""


class PlotError(IgaeError):
    """A plot over a serial port failed or was stopped: a line GRBL would refuse, an ``error:N`` or
    ``ALARM:N``, a lost connection, Ctrl-C.  ``resume_from`` is the file line ``--from-line`` can resume
    at, when there is one; ``last_acked`` the last line GRBL acknowledged."""

    def __init__(self, message: str, resume_from: int | None = None, last_acked: int | None = None) -> None:
        super().__init__(message)
        self.resume_from = resume_from
        self.last_acked = last_acked
