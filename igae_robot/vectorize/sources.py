"""Which images a run does: discovery and output names, the manifest, and resume.

Resume: an image is skipped when its last manifest line says ``ok``, its source file has the same
size and modification time, the run's settings (model weights, formats, machines, sizes, options)
hash to the same key, and every output file exists.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

from igae_robot.atomic import check_output
from igae_robot.errors import DataError, OutputError
from igae_robot.images.read import IMAGE_SUFFIXES
from igae_robot.training.distributed import Ranks
from igae_robot.vectorize.options import MANIFEST, Source, VectorizeOptions, Writer

__all__ = ["discover_images", "read_manifest"]

# per-rank manifests of a distributed run, folded in at its end
PARTS = ".manifest.part*.jsonl"


def discover_images(paths: Sequence[str | os.PathLike], exclude: str | os.PathLike | None = None) -> list[Source]:
    """Image files (``IMAGE_SUFFIXES``, any case) among ``paths`` and, recursively, in folders among them.

    Names are relative to the folder given (or, for several paths, to their common parent).  Files
    under ``exclude`` (the output folder) are left out.  Every source gets its own output stem
    (:func:`_output_stems`): ``a.png`` -> ``a``, but ``a.png`` and ``a.jpg`` -> ``a.png``, ``a.jpg``.
    Raises DataError for a path that does not exist or when nothing is found.
    """
    roots = [Path(p) for p in paths]
    if not roots:
        raise DataError("no input images or folders given")
    skip = None if exclude is None else Path(exclude).resolve()
    found: list[tuple[Path, Path, str]] = []  # (file, folder it is named from, its name there)
    for root in roots:
        if root.is_dir():
            found += [(root / name, root, name) for name in _image_names(root, skip)]
        elif root.is_file():
            if skip is None or not root.resolve().is_relative_to(skip):
                found.append((root, root.parent, root.name))
        else:
            raise DataError(f"{root}: no such file or folder")
    if not found:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {', '.join(map(str, roots))}")
    if len(roots) == 1 and roots[0].is_dir():
        names = [name for _, _, name in found]
    else:  # relative to the common parent of the folders (resolved once each, not per file)
        resolved = {folder: folder.resolve() for folder in {folder for _, folder, _ in found}}
        base = Path(os.path.commonpath(list(resolved.values())))
        names = [(resolved[folder] / name).relative_to(base).as_posix() for _, folder, name in found]
    unique: dict[str, Path] = {}
    for (path, _, _), name in zip(found, names):
        unique.setdefault(name, path)
    return [Source(path, name, stem) for (name, path), stem in zip(unique.items(), _output_stems(list(unique)))]


def _output_stems(names: Sequence[str]) -> list[str]:
    """One output stem per source name, unique and the same for the same set of names.

    A name without its suffix (``a.png`` -> ``a``); where stems clash, the whole name (``a.png``,
    ``a.jpg``), and again where that clashes with another's stem (``a.png.png`` -> ``a.png.png``);
    where whole names still clash, a hash of the name is added (``A.png.<hash>``).  Names that differ
    only in case clash: on FAT and macOS disks (a plotter's SD card) they are one file.
    """
    stems = [name.rsplit(".", 1)[0] for name in names]
    for widen in (lambda i: names[i], lambda i: f"{names[i]}.{hashlib.sha256(names[i].encode()).hexdigest()[:8]}"):
        while True:
            changed = False
            for i in _clashing(stems):
                changed |= stems[i] != widen(i)
                stems[i] = widen(i)
            if not changed:
                break
    return stems


def _clashing(stems: Sequence[str]) -> list[int]:
    """Positions of the stems that equal another one, ignoring case."""
    count = collections.Counter(stem.casefold() for stem in stems)
    return [i for i, stem in enumerate(stems) if count[stem.casefold()] > 1]


def _check_outputs(sources: Sequence[Source], suffixes: Sequence[str]) -> None:
    """DataError, before anything is written, when two sources would write one file (names equal
    ignoring case), or one's output is a folder holding another's (``x.svg`` and ``x.svg/a.svg``)."""
    owner: dict[str, tuple[str, str]] = {}  # output name, casefolded -> (source, output name)
    for source in sources:
        for name in source.outputs(suffixes):
            other = owner.setdefault(name.casefold(), (source.name, name))
            if other[0] != source.name:
                raise DataError(f"{other[0]} and {source.name} would both be written to {name}; rename one of them")
    for key, (source, name) in owner.items():
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = owner.get("/".join(parts[:depth]))
            if folder is not None:
                raise DataError(f"{folder[0]} would be written to {folder[1]}, the folder of {source}'s {name}; rename one of them")


def _image_names(root: Path, skip: Path | None) -> list[str]:
    """Relative names (``a/b.png``) of the image files under folder ``root``, in path order, as
    ``root.rglob`` finds them (symlinked folders are not entered), without folders under ``skip``.
    One ``scandir`` per folder: no ``stat`` per file (a folder of 10 000 digits costs milliseconds)."""
    out: list[tuple[str, ...]] = []
    folders: list[tuple[tuple[str, ...], Path]] = [((), root)]
    while folders:
        parts, folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir() and not entry.is_symlink():
                    if skip is None or not Path(entry.path).resolve().is_relative_to(skip):
                        folders.append(((*parts, entry.name), Path(entry.path)))
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file():
                    out.append((*parts, entry.name))
    return ["/".join(parts) for parts in sorted(out)]


def read_manifest(path: str | os.PathLike) -> dict[str, dict]:
    """The latest record of each source in a manifest (a partly written last line is ignored)."""
    records: dict[str, dict] = {}
    path = Path(path)
    if not path.is_file():
        return records
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
                records[record["source"]] = record
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by a kill, or not ours
    return records


class _Manifest:
    """Append-only manifest: one JSON line per image, flushed at once, fsynced by :meth:`sync`."""

    def __init__(self, path: Path):
        check_output(path)  # appended to: never a pipe, device or link
        self.path = path
        with open(path, "ab+") as raw:
            cut = raw.seek(0, os.SEEK_END) > 0 and raw.seek(-1, os.SEEK_END) >= 0 and raw.read(1) != b"\n"
        self.stream = open(path, "a", encoding="utf-8")
        if cut:  # a killed run left half a line: end it so ours stay parseable
            self.stream.write("\n")

    def write(self, record: dict) -> None:
        self.write_lines([json.dumps(record)])

    def write_lines(self, lines: list[str]) -> None:
        """Append JSON lines, handed to the OS at once: a killed process loses none of them."""
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()

    def sync(self) -> None:
        os.fsync(self.stream.fileno())

    def close(self) -> None:
        self.sync()
        self.stream.close()


def _settings_key(engine, options: VectorizeOptions, writers: Mapping[str, Writer]) -> str:
    """Hash of everything that shapes the outputs: the engine (model weights and config), options, writers
    (with machines)."""
    h = hashlib.sha256()
    engine.key(h)
    shaping = (options.dpi, options.width_mm, options.invert, options.split, options.join, options.refine_steps,
               options.refine_lr, options.sheet)
    h.update(repr(shaping).encode())
    h.update(repr(sorted((suffix, _describe(w)) for suffix, w in writers.items())).encode())
    return h.hexdigest()[:16]


def _describe(writer: Writer) -> str:
    """A writer as stable text (``repr`` of a function holds its memory address, different every run)."""
    if isinstance(writer, functools.partial):
        return f"{_describe(writer.func)}{writer.args!r}{sorted(writer.keywords.items())!r}"
    return f"{getattr(writer, '__module__', '')}.{getattr(writer, '__qualname__', type(writer).__qualname__)}"


def _is_done(record: dict | None, source: Source, out_dir: Path, suffixes: Sequence[str], key: str) -> bool:
    if not record or record.get("status") != "ok" or record.get("settings") != key:
        return False
    if record.get("outputs") != source.outputs(suffixes):  # its name moved (a clashing source was added)
        return False
    try:
        stat = source.path.stat()
    except OSError:
        return False
    if record.get("bytes") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return False
    return all((out_dir / name).is_file() for name in source.outputs(suffixes))


def _base_record(source: Source, key: str) -> dict:
    try:
        stat = source.path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size = mtime = None
    return {"source": source.name, "status": "error", "settings": key, "bytes": size, "mtime_ns": mtime}


def _make_folder(out_dir: Path) -> None:
    """The output folder, made if need be; OutputError in one line when it cannot be."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{out_dir}: is a file; the output of vectorize is a folder") from None
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot make the output folder ({exc.strerror})") from None


def _part_path(out_dir: Path, ranks: Ranks) -> Path:
    """Where this process appends its records: the manifest itself, or its rank's part under torchrun."""
    return out_dir / (f".manifest.part{ranks.rank}.jsonl" if ranks.distributed else MANIFEST)


def _read_previous(out_dir: Path) -> dict[str, dict]:
    """The latest record per source: the manifest, then the parts a killed distributed run left."""
    records = read_manifest(out_dir / MANIFEST)
    for part in sorted(out_dir.glob(PARTS)):
        records.update(read_manifest(part))
    return records
