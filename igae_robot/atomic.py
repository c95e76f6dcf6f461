"""Write a file all at once or not at all: a temp file in the same folder, then ``os.replace``.

A failed export (a move outside the work area, a full disk, Ctrl-C) never leaves half a file
that a plotter could start drawing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, TextIO

__all__ = ["atomic_text_writer", "atomic_write_text"]


@contextlib.contextmanager
def atomic_text_writer(path: str | os.PathLike, newline: str = "\n") -> Iterator[TextIO]:
    """Yield a text stream; on a clean exit it becomes ``path``, on an exception it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends)."""
    with atomic_text_writer(path) as stream:
        stream.write(text)
    return Path(path)
