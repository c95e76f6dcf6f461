"""Outputs replace only regular files, carry the user's umask, and fail in one line naming the path.

Every writer of the project goes through :mod:`igae_robot.atomic`; the savers of gestures, checkpoints and
pictures are tested here too, so that none of them keeps a temp-file-then-rename of its own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

from igae_robot import atomic
from igae_robot.atomic import atomic_text_writer, atomic_write_text
from igae_robot.errors import IgaeError


def _text_writer(path, data: bytes) -> None:
    with atomic_text_writer(path) as stream:
        stream.write(data.decode())


def _binary_writer(path, data: bytes) -> None:
    with atomic.atomic_binary_writer(path) as stream:
        stream.write(data)


WRITERS = {
    "text_writer": _text_writer,
    "write_text": lambda path, data: atomic_write_text(path, data.decode()),
    "binary_writer": _binary_writer,
    "write_bytes": lambda path, data: atomic.atomic_write_bytes(path, data),
}


def _make(kind: str, path) -> None:
    """Something that is not a regular file at ``path``."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        os.mkdir(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(path))
        except OSError as exc:  # e.g. a path longer than sun_path
            pytest.skip(f"cannot bind a unix socket at {path}: {exc}")
        finally:
            sock.close()
    elif kind == "device":  # a copy of /dev/null's node: never the real one, in case the writer is wrong
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root")
    elif kind == "symlink":
        (path.parent / "target.txt").write_text("the target\n")
        os.symlink("target.txt", path)
    elif kind == "dangling symlink":
        os.symlink("nowhere.txt", path)


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def short_tmp():
    """A folder with a short path (a unix socket's path is limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="igae-") as folder:
        yield Path(folder)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("kind", ["fifo", "folder", "socket", "device", "symlink", "dangling symlink"])
def test_only_a_regular_file_is_ever_replaced(short_tmp, writer, kind):
    target = short_tmp / "out.svg"
    _make(kind, target)
    before = os.lstat(target)
    with pytest.raises(IgaeError) as refused:
        WRITERS[writer](target, b"<svg/>\n")
    message = str(refused.value)
    assert str(target) in message and "\n" not in message, message
    after = os.lstat(target)  # the same thing is still there, untouched
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    if kind == "symlink":
        assert (short_tmp / "target.txt").read_text() == "the target\n" and "symbolic link" in message
    assert not [p for p in os.listdir(short_tmp) if p.endswith(".tmp")]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_empty_path_is_refused(tmp_path, monkeypatch, writer):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IgaeError, match="empty"):
        WRITERS[writer]("", b"x")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_a_path_naming_a_folder_is_refused(tmp_path, writer):
    with pytest.raises(IgaeError, match="folder"):
        WRITERS[writer](f"{tmp_path}/new/", b"x")
    assert os.listdir(tmp_path) == []


def test_the_error_is_an_output_error_and_still_an_oserror(tmp_path):
    """OutputError is an IgaeError (one red line, exit 2) and an OSError (callers that record a failed
    file and go on, like ``export_files`` in a batch, keep working)."""
    from igae_robot.errors import OutputError

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(OutputError) as refused:
        atomic_write_text(tmp_path / "pipe", "x")
    assert isinstance(refused.value, OSError) and "named pipe" in str(refused.value)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask(tmp_path, writer, mask):
    with _umask(mask):
        WRITERS[writer](tmp_path / "sub" / "new.txt", b"hello\n")
    assert stat.S_IMODE((tmp_path / "sub" / "new.txt").stat().st_mode) == 0o666 & ~mask
    assert (tmp_path / "sub" / "new.txt").read_bytes() == b"hello\n"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_replaced_file_keeps_its_mode(tmp_path, writer):
    path = tmp_path / "old.txt"
    path.write_text("old\n")
    path.chmod(0o640)
    with _umask(0o022):
        WRITERS[writer](path, b"new\n")
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize("writer", WRITERS)
def test_a_folder_we_may_not_write_is_one_line(tmp_path, monkeypatch, writer):
    """A read-only output folder: an IgaeError naming the file, not a PermissionError traceback.
    (Root may write anywhere, so the refusal is the OS's answer, simulated.)"""
    real_open = os.open

    def refuse(name, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)  # tempfile.mkstemp uses it too
    with pytest.raises(IgaeError) as refused:
        WRITERS[writer](tmp_path / "out.gcode", b"G0 X0\n")
    message = str(refused.value)
    assert str(tmp_path / "out.gcode") in message and "ermission denied" in message and "\n" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_for_real(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(IgaeError, match="out.svg"):
            atomic_write_text(tmp_path / "out.svg", "x")
    finally:
        tmp_path.chmod(0o755)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_file_in_the_way_of_the_folder_is_one_line(tmp_path, writer):
    (tmp_path / "plots").write_text("a file, not a folder\n")
    with pytest.raises(IgaeError, match="plots"):
        WRITERS[writer](tmp_path / "plots" / "a.svg", b"x")


def test_a_failure_while_writing_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic.atomic_binary_writer(path) as stream:
            stream.write(b"half")
            raise RuntimeError("the writer refused a move")
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["keep.txt"]


# ---- the savers use the one writer --------------------------------------------------------------


def _gestures(path):
    from igae_robot.gesture import Gesture, save_gestures

    g = Gesture(np.zeros((4, 2)), np.full(4, 0.5), np.ones(4), 0.01, label=3)
    return save_gestures(path, [g])


def _checkpoint(path):
    from igae_robot.model.checkpoint import Checkpoint, save_checkpoint
    from igae_robot.config import Config, ModelConfig
    from igae_robot.model.network import GestureAutoencoder

    cfg = ModelConfig(steps=4, hidden=(8,), activation="relu", start=None)
    return save_checkpoint(path, Checkpoint(GestureAutoencoder(cfg), Config(preset="tiny", model=cfg)))


def _picture(path):
    from igae_robot.training.pictures import save_training_curves

    history = [{"epoch": e, "train_mse": 1.0 / e, "val_mse": 1.2 / e, "val_pixel_accuracy": 0.9} for e in (1, 2)]
    return save_training_curves(path, history)


SAVERS = {"gestures": (_gestures, "g.npz"), "checkpoint": (_checkpoint, "checkpoint.pt"), "picture": (_picture, "curves.png")}


@pytest.mark.parametrize("saver", SAVERS)
def test_savers_respect_the_umask(tmp_path, saver):
    save, name = SAVERS[saver]
    with _umask(0o022):
        save(tmp_path / name)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    with _umask(0o027):
        save(tmp_path / "new" / name)
    assert stat.S_IMODE((tmp_path / "new" / name).stat().st_mode) == 0o640


@pytest.mark.parametrize("saver", SAVERS)
def test_savers_refuse_a_fifo_and_a_symlink(short_tmp, saver):
    save, name = SAVERS[saver]
    os.mkfifo(short_tmp / name)
    with pytest.raises(IgaeError, match="named pipe"):
        save(short_tmp / name)
    assert stat.S_ISFIFO(os.lstat(short_tmp / name).st_mode)
    os.symlink(short_tmp / "elsewhere", short_tmp / f"link-{name}")
    with pytest.raises(IgaeError, match="symbolic link"):
        save(short_tmp / f"link-{name}")
    assert os.path.islink(short_tmp / f"link-{name}") and not (short_tmp / "elsewhere").exists()
