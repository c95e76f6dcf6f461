"""Write a file all at once or not at all: a temp file in the same folder, then ``os.replace``.

A failed export (a move outside the work area, a full disk, Ctrl-C) never leaves half a file
that a plotter could start drawing.  Temp files are named ``.<name>.<pid>[-<random>].tmp``, so a
run that was killed can find and remove its leftovers (``igae vectorize`` does at start).

What an output may replace: nothing, or a regular file.  Anything else at the path is refused
with :class:`~igae_robot.errors.OutputError`, one line naming the path, before any work:

* a device, named pipe (FIFO), socket or folder: renaming over ``/dev/null`` as root would put a
  regular file in its place and break the system;
* a symbolic link, even to a regular file.  A rename replaces the link, not its target; writing
  through it instead would let a link planted in a shared folder send a root's output anywhere.
  Write to the link's target, or remove the link;
* an empty path, or one ending in a separator (a folder's name).

The check is repeated just before the rename, which narrows (cannot close) the window in which
something else could appear at the path.  An OS refusal (a read-only folder, a file where a
folder should be, a full disk) is an OutputError too.

Permissions: a new file gets ``0666 & ~umask``, as every other tool makes it (``mkstemp`` would
make 0600); a file that is replaced keeps its permission bits.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from typing import BinaryIO, Iterator, TextIO

from igae_robot.errors import IgaeError, OutputError

__all__ = ["atomic_binary_writer", "atomic_text_writer", "atomic_write_bytes", "atomic_write_text", "check_output"]

_NOT_REGULAR = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)
# Raised by writes in the caller's block that are the disk's fault, not the caller's.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def check_output(path: str | os.PathLike) -> os.stat_result | None:
    """The ``lstat`` of the regular file at ``path``, or None when nothing is there yet.

    Raises OutputError for an empty path, a folder's name, or anything at the path that is not a
    regular file (see the module doc).
    """
    name = os.fspath(path)
    if not name or name == ".":  # (an empty -o reaches us as ".": pathlib's name for "")
        raise OutputError(f"the output path is empty ({name!r}); give a file name")
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)) or os.path.basename(name) in (".", ".."):
        raise OutputError(f"{name}: names a folder; give a file name")
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        return None
    except OSError as exc:  # e.g. a file where a folder on the path should be
        raise _refused(name, exc, "cannot write") from None
    if stat.S_ISREG(st.st_mode):
        return st
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{name}: is a symbolic link (to {os.readlink(name)}); igae replaces only regular files: "
                          "write to the link's target, or remove the link")
    kind = next((kind for test, kind in _NOT_REGULAR if test(st.st_mode)), "not a regular file")
    raise OutputError(f"{name}: is {kind}, not a regular file; igae writes only new or regular files")


@contextlib.contextmanager
def atomic_text_writer(path: str | os.PathLike, newline: str = "\n") -> Iterator[TextIO]:
    """Yield a UTF-8 text stream; on a clean exit it becomes ``path``, on an exception it is deleted."""
    with _atomic_stream(path, binary=False, newline=newline) as stream:
        yield stream


@contextlib.contextmanager
def atomic_binary_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary stream (for ``torch.save``, ``np.savez``, ``savefig``); on a clean exit it becomes
    ``path``, on an exception it is deleted."""
    with _atomic_stream(path, binary=True) as stream:
        yield stream


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    The fast form for many small files (``igae vectorize`` writes thousands): a handful of system
    calls and no Python file object.
    """
    name = os.fspath(path)  # strings, not pathlib: for a small file, Path arithmetic costs as much as the disk
    existing = check_output(name)
    fd, tmp = _open_temp(name)
    try:
        _keep_mode(fd, existing)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.close(fd)
        fd = -1
        _replace(tmp, name)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        _remove(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, IgaeError):  # every call here is ours
            raise _refused(name, exc, "cannot write") from None
        raise


@contextlib.contextmanager
def _atomic_stream(path: str | os.PathLike, binary: bool, newline: str = "\n"):
    name = os.fspath(path)
    existing = check_output(name)
    fd, tmp = _open_temp(name)
    try:
        _keep_mode(fd, existing)
        stream = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline=newline)
    except BaseException as exc:
        os.close(fd)
        _remove(tmp)
        if isinstance(exc, OSError):
            raise _refused(name, exc, "cannot write") from None
        raise
    try:
        try:
            yield stream
        except OSError as exc:
            # The caller's own errors (e.g. reading an input) stay as they are; a full disk is ours to name.
            if exc.errno in _DISK_FULL and not isinstance(exc, IgaeError):
                raise _refused(name, exc, "cannot write") from None
            raise
        try:
            stream.close()  # flushes: a full disk shows here
            _replace(tmp, name)
        except OSError as exc:
            if isinstance(exc, IgaeError):
                raise
            raise _refused(name, exc, "cannot write") from None
    except BaseException:
        with contextlib.suppress(OSError):
            stream.close()
        _remove(tmp)
        raise


def _open_temp(name: str) -> tuple[int, str]:
    """Create the temp file next to ``name`` (its folder made if need be): (fd, temp path).

    Named after this process first (cheap); a file of that name is left only by a killed process whose
    pid was reused, or is another thread's, and then a random suffix is added.  Mode 0666: the kernel
    applies the umask.
    """
    folder, base = os.path.split(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_BINARY", 0)
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp")
    for attempt in range(100):
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            tmp = os.path.join(folder, f".{base}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        except FileNotFoundError as exc:
            if attempt:  # the folder was made, and is gone again
                raise _refused(name, exc, f"cannot write in its folder {folder or '.'}") from None
            try:
                os.makedirs(folder or ".", exist_ok=True)
            except OSError as exc:
                raise _refused(name, exc, f"cannot create its folder {folder}") from None
        except OSError as exc:
            raise _refused(name, exc, f"cannot write in its folder {folder or '.'}") from None
    raise OutputError(f"{name}: cannot create a temp file next to it (100 names taken)")


def _keep_mode(fd: int, existing: os.stat_result | None) -> None:
    """A file that is replaced keeps its permission bits (not set-id bits: the new file is ours)."""
    if existing is not None and hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(existing.st_mode) & 0o777)


def _replace(tmp: str, name: str) -> None:
    check_output(name)  # again: something may have appeared there while we wrote
    os.replace(tmp, name)


def _remove(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _refused(name: str, exc: OSError, what: str) -> OutputError:
    """One line: the path, what failed, the OS's reason."""
    reason = "a folder on its path is a file" if exc.errno == errno.ENOTDIR else exc.strerror or type(exc).__name__
    return OutputError(f"{name}: {what} ({reason})")
