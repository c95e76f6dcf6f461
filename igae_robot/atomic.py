"""Write a file all at once or not at all: a temp file in the same folder, then ``os.replace``.

A failed export (a move outside the work area, a full disk, Ctrl-C) never leaves half a file
that a plotter could start drawing.  Temp files are named ``.<name>.<random or pid>.tmp``, so a
run that was killed can find and remove its leftovers (``igae vectorize`` does at start).
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


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends as given).

    The fast form for many small files (``igae vectorize`` writes thousands): four system calls and
    no Python file object.  The temp file is named after this process; a file of that name can only
    be left by a killed process whose pid was reused, and then the random-name form takes over.
    """
    name = os.fspath(path)  # strings, not pathlib: for a small file, Path arithmetic costs as much as the disk
    folder, base = os.path.split(name)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, 0o600)  # 0600, as mkstemp
        except FileNotFoundError:
            os.makedirs(folder or ".", exist_ok=True)
            fd = os.open(tmp, flags, 0o600)
    except FileExistsError:
        with atomic_text_writer(name) as stream:
            stream.write(text)
        return
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.close(fd)
        fd = -1
        os.replace(tmp, name)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
