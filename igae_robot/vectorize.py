"""Batch vectorization: a folder of images -> plotter-ready files (one per image and format) + a manifest.

    discover --> read, ink, cut into glyph pieces, crop to model inputs    (DataLoader workers, a batch of
                                                                            images at a time)
             --> encoder in fixed-size batches [--> refine]                (this process, CPU or GPU)
             --> gestures placed at source coordinates -> Sheets
                 -> writers (atomic files) -> fidelity -> manifest records (export workers, a chunk of
                                                                            images at a time)
             --> ``manifest.jsonl``: one line per image, appended and flushed chunk by chunk

Speed: a 28x28 digit is a few hundred bytes in and a few kilobytes out, so per-image Python costs
more than the model.  Every stage works on arrays of many images: same-size images are cut as one
stack, the pen-down runs of a whole chunk are found at once, the SVG numbers of a chunk are
formatted in one pass (:func:`igae_robot.exporters.export_files`), the fidelity render is one batched
render per chunk.  While the export workers write one batch, this process encodes the next.

Coordinates: every piece's :class:`~igae_robot.images.read.GlyphTransform` maps the model's canvas to the
source image's pixels; pixels become millimetres by ``dpi`` (or a fixed ``width_mm``), and the page
of each output is the source image itself (origin top-left, y down), so a scanned page comes out as
the same page, at its physical size.

Pen lifts: the model draws a stroke in several pen-down pieces (under max compositing a pen-up
step costs nothing).  Pieces whose ends are closer than ``join`` stroke widths of the source ink are
joined (:func:`place_sheet`, :func:`_sheets`): the joint hides inside the line, and the pen lifts about 1.6 times per
MNIST digit instead of 8.

Fidelity: the strokes as exported are re-rendered with the model's markers (as ``igae check`` does)
and scored against the model input: IoU at 0.5 and MSE, averaged over an image's glyphs.

Resume: an image is skipped when its last manifest line says ``ok``, its source file has the same
size and modification time, the run's settings (model weights, formats, machines, sizes, options)
hash to the same key, and every output file exists.  Outputs are written all-or-nothing and the
manifest lines of a chunk only after the worker that wrote its files has returned, so an interrupted
run (Ctrl-C, kill -9) redoes at most the images in flight.  Manifest lines are handed to the OS per
chunk (a killed process loses none it wrote) and fsynced per batch (an fsync per line costs
milliseconds).  Encoder batches always have the same shape,
so an image's output does not depend on which images shared its batch: a resumed run writes the
same bytes as an uninterrupted one.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from igae_robot.paper import geometry
from igae_robot.atomic import atomic_text_writer, check_output
from igae_robot.check import render_strokes
from igae_robot.model.checkpoint import Checkpoint
from igae_robot.images.glyphs import SPLIT_MODES, glyph_inputs, ink_images, stroke_widths
from igae_robot.config import ModelConfig
from igae_robot.training.distributed import Ranks, all_reduce_sum, barrier, shard
from igae_robot.errors import ConfigError, DataError, GestureError, IgaeError, OutputError
from igae_robot.paper.geometry import Polyline
from igae_robot.gesture import Gesture, pen_down
from igae_robot.model.tensors import GestureTensors
from igae_robot.images.read import IMAGE_SUFFIXES, blank_reason, read_image_stats
from igae_robot.paper.layout import Placement
from igae_robot.model.metrics import batch_metrics
from igae_robot.paper.page import Page
from igae_robot.model.refine import MAX_REFINE_STEPS, refine
from igae_robot.paper.sheet import Sheet, SheetOptions

__all__ = [
    "MANIFEST",
    "Source",
    "VectorizeOptions",
    "VectorizeSummary",
    "Writer",
    "discover_images",
    "place_sheet",
    "read_manifest",
    "vectorize",
]

MANIFEST = "manifest.jsonl"
MAX_BATCH = 65536  # glyphs per encoder batch: every batch is padded to this size, 200 MB at 28x28
MAX_WORKERS_PER_CPU = 4

# writer(sheets, paths): writes each sheet to its path (each file all or nothing) and returns, per sheet,
# the path or the exception that refused it; e.g. functools.partial(export_files, fmt="svg").
# Must be picklable (a module-level function or a partial of one) to reach worker processes.
Writer = Callable[[Sequence[Sheet], Sequence[Path]], list]


@dataclass(frozen=True)
class VectorizeOptions:
    """How images become drawings.  Lengths in mm, resolutions in dots per inch."""

    dpi: float = 96.0  # source pixels per inch (96: the CSS pixel, as SVG and vpype use)
    width_mm: float = 0.0  # physical width of every source image; 0 = from dpi
    invert: bool | None = None  # True: dark ink on light paper; False: light on dark; None: detect per image
    split: str = "auto"  # "auto", "none", "components" (see components.find_pieces)
    join: float = 1.0  # join strokes whose ends are closer than this many stroke widths of the source ink
    refine_steps: int = 0  # Adam steps of test-time refinement per glyph (0 = encoder only)
    refine_lr: float = 0.05
    # pen threshold, merge, order (layout fields unused); no simplification: a glyph has only T steps anyway
    sheet: SheetOptions = SheetOptions(simplify_mm=0.0)
    max_pixels: int = 50_000_000  # larger images are refused (decompression bombs)
    force: bool = False  # redo images the manifest says are done
    batch_size: int = 256  # glyphs per encoder batch (every batch is padded to this size)
    workers: int = 2  # loader processes and export processes (0 = everything in this process)
    device: str = "cpu"

    def __post_init__(self) -> None:
        """Every option checked here, before any image is read: a bad one fails the run, not each image."""
        if self.split not in SPLIT_MODES:
            raise ConfigError(f"unknown split mode {self.split!r}; known: {', '.join(SPLIT_MODES)}")
        _check(math.isfinite(self.dpi) and self.dpi > 0, f"--dpi must be a positive number of pixels per inch, got {self.dpi}")
        _check(math.isfinite(self.width_mm) and self.width_mm >= 0, f"--width must be a length >= 0 (0: from --dpi), got {self.width_mm} mm")
        _check(math.isfinite(self.join) and self.join >= 0, f"--join must be a number of stroke widths >= 0, got {self.join}")
        _check(0 <= self.refine_steps <= MAX_REFINE_STEPS,
               f"--refine must be a number of steps in 0..{MAX_REFINE_STEPS}, got {self.refine_steps}")
        _check(math.isfinite(self.refine_lr) and self.refine_lr > 0, f"--refine-lr must be a positive number, got {self.refine_lr}")
        _check(self.max_pixels >= 1, f"--max-pixels must be at least 1, got {self.max_pixels}")
        _check(1 <= self.batch_size <= MAX_BATCH, f"--batch-size must be 1..{MAX_BATCH} glyphs, got {self.batch_size}")
        most = MAX_WORKERS_PER_CPU * (os.cpu_count() or 1)
        _check(0 <= self.workers <= most, f"--workers must be 0..{most} ({MAX_WORKERS_PER_CPU} per CPU), got {self.workers}")
        t, release = self.sheet.threshold, self.sheet.release
        _check(0 < t <= 1, f"--threshold must be an intensity in (0, 1], got {t}")
        _check(release is None or 0 <= release <= t, f"--release must be an intensity in [0, threshold = {t}], got {release}")

    def mm_per_px(self, width_px: int) -> float:
        return self.width_mm / width_px if self.width_mm > 0 else 25.4 / self.dpi


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True)
class Source:
    """One input image: ``path`` on disk, ``name`` in the manifest, ``stem`` of its outputs (both relative)."""

    path: Path
    name: str
    stem: str

    def outputs(self, suffixes: Sequence[str]) -> list[str]:
        return [f"{self.stem}{suffix}" for suffix in suffixes]


@dataclass
class VectorizeSummary:
    """What a run did.  ``records``: the latest manifest record of every source, in source order."""

    records: list[dict]
    processed: int  # images handled by this run (ok or error)
    skipped: int  # already done by an earlier run
    seconds: float  # wall time of this run

    @property
    def errors(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def images_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def means(self) -> dict[str, float]:
        """Mean of each numeric field over the ok records."""
        ok = [r for r in self.records if r["status"] == "ok"]
        keys = ("iou", "mse", "iou_encoder", "mse_encoder", "glyphs", "strokes", "pen_down_mm", "pen_up_mm", "seconds")
        return {k: float(np.mean([r[k] for r in ok])) for k in keys if ok and all(k in r for r in ok)}


# ---- discovery and the manifest -------------------------------------------------------------------


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


def _settings_key(checkpoint: Checkpoint, options: VectorizeOptions, writers: Mapping[str, Writer]) -> str:
    """Hash of everything that shapes the outputs: model weights and config, options, writers (with machines)."""
    h = hashlib.sha256()
    for name, tensor in sorted(checkpoint.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    h.update(repr(checkpoint.config.model).encode())
    h.update(repr(checkpoint.config.train.dt_s).encode())
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


# ---- stage 1: read and cut (DataLoader workers), a batch of images at a time -----------------------


@dataclass
class _Loaded:
    """A batch of images read and cut into model inputs: arrays, so that it crosses processes cheaply."""

    index: np.ndarray  # (N,) positions in the run's todo list
    glyphs: np.ndarray  # (K,S,S) float32 model inputs, image after image
    counts: np.ndarray  # (N,) glyphs per image (0 for a failed image: blank, no glyph, unreadable)
    transforms: np.ndarray  # (K,3) each glyph's GlyphTransform: scale, offset_x, offset_y (canvas -> source px)
    size_px: np.ndarray  # (N,2) source width, height
    stroke_px: np.ndarray  # (N,) typical stroke width of the source ink, pixels
    stat: np.ndarray  # (N,2) int64 file size and mtime_ns as read
    seconds: np.ndarray  # (N,) time spent on each image, its share of the batched steps included
    errors: dict[int, str]  # position in the batch -> why that image failed


class _ImageSet(torch.utils.data.Dataset):
    """The todo list; a loader batch of images is read and cut together (``__getitems__``)."""

    def __init__(self, sources: Sequence[Source], options: VectorizeOptions, size: int):
        self.sources, self.options, self.size = list(sources), options, size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitems__(self, indices: list[int]) -> _Loaded:
        return _load(self.sources, indices, self.options, self.size)


def _load(sources: Sequence[Source], indices: list[int], options: VectorizeOptions, size: int) -> _Loaded:
    """Read images ``indices`` of ``sources`` and cut them into model inputs.  A bad file becomes an
    error of its own; the others go on.  Same-size images are cut as one stack (an MNIST folder is
    one stack per batch), which costs a few array operations instead of dozens per image."""
    n = len(indices)
    tic = time.perf_counter()
    grays: list[np.ndarray | None] = [None] * n
    stat = np.zeros((n, 2), dtype=np.int64)
    errors: dict[int, str] = {}
    for j, result in enumerate(_read([sources[i].path for i in indices], options.max_pixels)):
        if isinstance(result, Exception):  # one bad file must not stop the batch; the manifest says why
            errors[j] = _reason(result, sources[indices[j]].path)
        else:
            gray, st = result
            stat[j] = st.st_size, st.st_mtime_ns
            blank = blank_reason(gray)
            if blank is None:
                grays[j] = gray
            else:  # nothing to draw: a warning in the manifest, not an empty drawing
                errors[j] = _reason_text(blank, sources[indices[j]].path)
    seconds = np.full(n, (time.perf_counter() - tic) / max(1, n))
    cut: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}  # position -> (glyphs, transforms, stroke px)
    shapes: dict[tuple[int, int], list[int]] = {}
    for j, gray in enumerate(grays):
        if gray is not None:
            shapes.setdefault(gray.shape, []).append(j)
    for same in shapes.values():
        tic = time.perf_counter()
        for part in _cut(np.stack([grays[j] for j in same]), options, size, same):
            if isinstance(part[1], str):
                errors[part[0]] = _reason_text(part[1], sources[indices[part[0]]].path)
            elif not len(part[1][0]):  # ink, but only specks: nothing the model could draw
                errors[part[0]] = _reason_text(_NO_GLYPH, sources[indices[part[0]]].path)
            else:
                cut[part[0]] = part[1]
        seconds[same] += (time.perf_counter() - tic) / len(same)
    counts = np.array([len(cut[j][0]) if j in cut else 0 for j in range(n)], dtype=np.intp)
    sizes = np.array([(g.shape[1], g.shape[0]) if g is not None else (0, 0) for g in grays], dtype=np.int64)
    done = [j for j in range(n) if j in cut]  # image order (the stacks were cut size by size)
    return _Loaded(
        np.asarray(indices, dtype=np.intp),
        np.concatenate([cut[j][0] for j in done] or [np.zeros((0, size, size), np.float32)]),
        counts,
        np.concatenate([cut[j][1] for j in done] or [np.zeros((0, 3))]),
        sizes,
        np.array([cut[j][2] if j in cut else 0.0 for j in range(n)]),
        stat,
        seconds,
        errors,
    )


_NO_GLYPH = "no glyph found: the ink is only specks smaller than half a stroke width"


def _read(paths: list[Path], max_pixels: int) -> list:
    """read_image_stats, and if reading them together fails on something unforeseen, one by one,
    so that only the file that caused it fails."""
    try:
        return read_image_stats(paths, max_pixels)
    except Exception:
        out = []
        for path in paths:
            try:
                out += read_image_stats([path], max_pixels)
            except Exception as exc:
                out.append(exc)
        return out


def _cut(grays: np.ndarray, options: VectorizeOptions, size: int, positions: list[int]):
    """Yield (position, (glyphs, transforms, stroke px)) for a stack (N,H,W) of same-size images, or
    (position, error text) for an image that failed; if the stack as a whole fails, one image at a time."""
    try:
        inks = ink_images(grays, options.invert)
        widths = stroke_widths(inks)
        glyphs, counts, transforms = glyph_inputs(inks, widths, options.split, size, round(size * 20 / 28))
    except Exception as exc:
        if len(grays) == 1:
            yield positions[0], f"{type(exc).__name__}: {exc}" if not isinstance(exc, IgaeError) else str(exc)
            return
        for k, j in enumerate(positions):
            yield from _cut(grays[k : k + 1], options, size, [j])
        return
    ends = np.cumsum(counts)
    for k, j in enumerate(positions):
        part = slice(ends[k] - counts[k], ends[k])
        yield j, (glyphs[part], transforms[part], float(widths[k]))


def _reason(exc: Exception, path: Path) -> str:
    if isinstance(exc, IgaeError):
        return str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    return f"{path}: {type(exc).__name__}: {exc}"


def _reason_text(text: str, path: Path) -> str:
    return text if str(path) in text else f"{path}: {text}"


# ---- stage 2: encode (and refine) in fixed-size batches -------------------------------------------


def _encode(checkpoint: Checkpoint, glyphs: np.ndarray, options: VectorizeOptions) -> tuple[dict, dict | None]:
    """glyphs (N,S,S) -> gesture arrays {points (N,T,2), pressure (N,T), intensity (N,T)} in canvas units,
    refined when asked (then also the encoder's own, for the before/after fidelity)."""
    model, cfg, b = checkpoint.model, checkpoint.config.model, options.batch_size
    device = next(model.parameters()).device
    encoded, refined = [], []
    for start in range(0, len(glyphs), b):
        chunk = torch.from_numpy(glyphs[start : start + b])
        x = torch.zeros(b, 1, *chunk.shape[1:])  # padded: the same shape every time, see the module doc
        x[: len(chunk), 0] = chunk
        x = x.to(device)
        with torch.no_grad():
            g = model.encode(x)
        encoded.append(_arrays(g, len(chunk)))
        if options.refine_steps:  # per glyph independent (see refine), so the padding need not be refined
            n = len(chunk)
            refined.append(_arrays(refine(cfg, g[:n], x[:n], options.refine_steps, options.refine_lr), n))
    before = _concat(encoded, cfg.steps)
    return (_concat(refined, cfg.steps), before) if options.refine_steps else (before, None)


def _concat(parts: list[dict], steps: int) -> dict[str, np.ndarray]:
    if not parts:  # no glyph in the whole batch (blank images)
        return {"points": np.zeros((0, steps, 2)), "pressure": np.zeros((0, steps)), "intensity": np.zeros((0, steps))}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _arrays(g: GestureTensors, n: int) -> dict[str, np.ndarray]:
    g = g[:n]
    return {
        "points": g.positions().detach().cpu().double().numpy(),
        "pressure": g.pressure.detach().cpu().double().numpy(),
        "intensity": g.intensity.detach().cpu().double().numpy(),
    }


# ---- stage 3: place, write, score (export workers), a chunk of images at a time -------------------


def place_sheet(
    gestures: Sequence[Gesture], placements: Sequence[Placement], page: Page, options: SheetOptions = SheetOptions()
) -> Sheet:
    """Gestures at given placements (glyph units -> page mm) -> a Sheet of ordered pen-down polylines.

    As :func:`~igae_robot.paper.sheet.plan_sheet` without the grid: strokes whose ends are within
    ``options.merge_mm`` are chained and merged, simplified as ``options`` say, cut at the page edge
    (the source image's frame), and ordered.  (``igae vectorize`` builds the same sheets for a whole
    chunk of images at once, :func:`_sheets`.)
    """
    counts = np.array([len(g) for g in gestures])
    steps = int(counts.max()) if len(counts) else 0
    if len(gestures) and not (counts == steps).all():
        raise GestureError("place_sheet needs gestures of the same number of steps")
    arrays = {
        "points": np.array([g.points for g in gestures]).reshape(len(gestures), steps, 2),
        "pressure": np.array([g.pressure for g in gestures]).reshape(len(gestures), steps),
        "intensity": np.array([g.intensity for g in gestures]).reshape(len(gestures), steps),
    }
    scale = np.array([[p.scale_mm, p.x_mm, p.y_mm] for p in placements]).reshape(-1, 3)
    dt_s = gestures[0].dt_s if gestures else 0.05
    (sheet,) = _sheets([page], [tuple(placements)], arrays, scale, [options.merge_mm], options, dt_s)
    return sheet


def _sheets(
    pages: Sequence[Page],
    placements: Sequence[tuple[Placement, ...]],
    arrays: dict,
    scale: np.ndarray,
    join_mm: Sequence[float],
    options: SheetOptions,
    dt_s: float,
) -> list[Sheet]:
    """The sheet of each image of a chunk: its glyphs' pen-down runs placed on its page, chained,
    merged, cut at the page edge and ordered.

    arrays: gestures of all K glyphs, image after image (see _encode); scale (K,3): each glyph's
    placement (scale_mm, x_mm, y_mm); join_mm: per image, the distance below which consecutive
    runs of a glyph are chained (and ends merged).  The pen-down runs and their page coordinates
    are found for the whole chunk in a few array operations.
    """
    steps = arrays["intensity"].shape[1]
    per_image = np.array([len(p) for p in placements], dtype=np.intp)
    image_of = np.repeat(np.arange(len(pages)), per_image)  # (K,)
    page_xy = arrays["points"] * scale[:, None, :1] + scale[:, None, 1:]  # (K,T,2) mm, as Placement.to_page
    down = pen_down(arrays["intensity"], options.threshold, options.release).reshape(-1)
    idx = np.flatnonzero(down)  # pen-down steps of all glyphs, glyph after glyph: g * T + step
    glyph, step = np.divmod(idx, max(steps, 1))
    xy = page_xy.reshape(-1, 2)[idx]
    # A run starts where the pen comes down; it continues the chain of the run before it (same glyph)
    # when it starts within join_mm of that run's end: the model draws one stroke in several pieces.
    starts = (step == 0) | ~down[np.maximum(idx - 1, 0)]
    tol = np.asarray(join_mm, dtype=np.float64)[image_of[glyph]]
    gap = np.hypot(*(xy - np.roll(xy, 1, axis=0)).T)  # from the previous pen-down point
    same_glyph = np.concatenate([[False], glyph[1:] == glyph[:-1]])
    new_chain = starts & ~(same_glyph & (tol > 0) & (gap <= tol))
    bounds = np.flatnonzero(new_chain)
    chain_end = np.append(bounds[1:], len(idx))
    pressure = arrays["pressure"].reshape(-1)[idx]
    t_s = step * dt_s
    first_glyph = np.cumsum(per_image) - per_image  # each image's first glyph
    chains: list[list[Polyline]] = [[] for _ in pages]
    for a, b in zip(bounds.tolist(), chain_end.tolist()):
        g = int(glyph[a])
        i = int(image_of[g])
        chains[i].append(Polyline(xy[a:b], pressure[a:b], t_s[a:b], g - int(first_glyph[i])))
    inside = _inside_pages(pages, xy, image_of[glyph]) if options.simplify_mm <= 0 else None
    return [
        _finish_sheet(page, places, polylines, tol_i, options, None if inside is None else inside[i])
        for i, (page, places, polylines, tol_i) in enumerate(zip(pages, placements, chains, join_mm))
    ]


def _inside_pages(pages: Sequence[Page], xy: np.ndarray, image: np.ndarray) -> np.ndarray:
    """(N,) bool: every pen-down point of each image lies on its page's drawable area.  xy (P,2) mm
    of all pen-down points, image (P,) the image of each."""
    box = np.array([page.drawable for page in pages]).reshape(-1, 4)[image]  # (P,4) per point
    ok = (xy[:, 0] >= box[:, 0]) & (xy[:, 1] >= box[:, 1]) & (xy[:, 0] <= box[:, 2]) & (xy[:, 1] <= box[:, 3])
    return np.bincount(image[~ok], minlength=len(pages)) == 0


def _finish_sheet(
    page: Page, placements: tuple, polylines: list[Polyline], join_mm: float, options: SheetOptions, inside: bool | None
) -> Sheet:
    """Chained runs of one image -> its Sheet: simplified, merged, clipped to the page if they leave it, ordered."""
    polylines = geometry.simplify(polylines, options.simplify_mm)
    polylines = geometry.merge(polylines, join_mm)
    if inside is None:  # simplification may have moved points: measure again
        box = geometry.bounds(polylines)
        x0, y0, x1, y1 = page.drawable
        inside = box is None or (box[0] >= x0 and box[1] >= y0 and box[2] <= x1 and box[3] <= y1)
    if not inside:
        polylines = geometry.clip(polylines, page.drawable)
    if options.order:
        polylines = geometry.order(polylines)
    return Sheet(page, placements, tuple(polylines), options.threshold, options.release)


@dataclass(frozen=True)
class _Context:
    """What every export worker needs; set once per worker process."""

    out_dir: Path
    writers: Mapping[str, Writer]  # output suffix -> writer
    options: VectorizeOptions
    model: ModelConfig
    dt_s: float
    key: str


@dataclass
class _Chunk:
    """Some images of a loaded batch, with their gestures: the work of one export task."""

    sources: list[Source]
    loaded: _Loaded  # the loader's arrays, cut to these images
    gestures: dict  # arrays of their K glyphs (see _encode)
    before: dict | None  # the encoder's, when refined


_CONTEXT: _Context | None = None


def _init_worker(context: _Context, parent: int | None = None) -> None:
    """Set the worker's context; in a pool worker (``parent``: the run's pid) also one thread,
    Ctrl-C left to the run, and an exit when the run dies."""
    global _CONTEXT
    _CONTEXT = context
    if parent is not None:
        torch.set_num_threads(1)  # the pool is the parallelism
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
        _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """End this worker process when the run that started it is gone.

    ``kill -9`` of the run sends its workers nothing, and a worker blocked on a queue it shares with
    the dead run would wait forever (each holds both ends of the pipe); a daemon thread watches.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="igae-exit-with-parent", daemon=True).start()


def _loader_worker_init(parent: int, worker_id: int) -> None:
    _exit_with_parent(parent)


def _chunk_sheets(chunk: _Chunk, arrays: dict) -> list[Sheet]:
    """The images' gestures on pages that are the source images, in mm (see the module doc)."""
    ctx = _CONTEXT
    loaded = chunk.loaded
    options = ctx.options
    mm = np.array([options.mm_per_px(w) for w in loaded.size_px[:, 0].tolist()])  # (N,) mm per source pixel
    pages = [_page(w * k, h * k) for (w, h), k in zip(loaded.size_px.tolist(), mm.tolist())]
    glyph_mm = np.repeat(mm, loaded.counts)[:, None]
    scale = loaded.transforms * glyph_mm  # (K,3) placement: scale_mm, x_mm, y_mm
    places = [_placement(i, *t) for i, t in zip(_glyph_numbers(loaded.counts).tolist(), scale.tolist())]
    ends = np.cumsum(loaded.counts).tolist()
    placements = [tuple(places[end - n : end]) for end, n in zip(ends, loaded.counts.tolist())]
    # The model draws a stroke in pieces (a pen-up step costs nothing under max compositing).  Ends
    # closer than a stroke width join: on paper the joint hides inside the line, and the pen lifts
    # once or twice per glyph instead of about eight times.
    join_mm = np.maximum(options.sheet.merge_mm, options.join * loaded.stroke_px * mm)
    return _sheets(pages, placements, arrays, scale, join_mm.tolist(), options.sheet, ctx.dt_s)


# Shared, not rebuilt per image: a folder of scans has few page sizes, a folder of digits one placement.
@functools.lru_cache(maxsize=1024)
def _page(width_mm: float, height_mm: float) -> Page:
    return Page(width_mm, height_mm, 0.0, "image")


@functools.lru_cache(maxsize=4096)
def _placement(glyph: int, scale_mm: float, x_mm: float, y_mm: float) -> Placement:
    return Placement(glyph, -1, scale_mm, x_mm, y_mm, 0, glyph)


def _glyph_numbers(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., counts[i] - 1 for each image i, concatenated: each glyph's number within its image."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _finish(chunk: _Chunk) -> tuple[list[dict], list[str]]:
    """Place each image's gestures on its page, write every output, score them: their manifest
    records and lines.  One image failing (a page outside the machine's work area) fails alone."""
    tic = time.perf_counter()
    errors: dict[int, str] = {}  # image -> why it failed
    sheets = _sheets_of(chunk, chunk.gestures, errors)
    # With --refine, also the encoder's own gestures, for the before/after fidelity.
    before = None if chunk.before is None else _sheets_of(chunk, chunk.before, errors)
    outputs = _write(chunk, sheets, errors)
    ok = [i for i in range(len(chunk.sources)) if i not in errors]
    lengths = dict(zip(ok, zip(*_plot_lengths([sheets[i] for i in ok]))))
    glyph_start = np.cumsum(chunk.loaded.counts) - chunk.loaded.counts
    targets = [chunk.loaded.glyphs[glyph_start[i] : glyph_start[i] + chunk.loaded.counts[i]] for i in ok]
    scores = {"": dict(zip(ok, zip(*_fidelity([sheets[i] for i in ok], targets))))}
    if before is not None:
        scores["_encoder"] = dict(zip(ok, zip(*_fidelity([before[i] for i in ok], targets))))
    share = (time.perf_counter() - tic) / max(1, len(chunk.sources))
    records = [
        _record(chunk, i, outputs[i], errors.get(i), lengths.get(i), {k: v[i] for k, v in scores.items() if i in v}, share)
        for i in range(len(chunk.sources))
    ]
    return records, [json.dumps(r) for r in records]


def _sheets_of(chunk: _Chunk, arrays: dict, errors: dict[int, str]) -> list[Sheet | None]:
    """The chunk's sheets for gesture ``arrays`` (``chunk.gestures`` or ``chunk.before``); if building
    them together fails, image by image, each failure recorded in ``errors``."""
    try:
        return _chunk_sheets(chunk, arrays)
    except Exception:
        glyph_start = np.cumsum(chunk.loaded.counts) - chunk.loaded.counts
        sheets: list[Sheet | None] = []
        for i, (start, n) in enumerate(zip(glyph_start.tolist(), chunk.loaded.counts.tolist())):
            try:
                sheets += _chunk_sheets(_image_of(chunk, i), {k: v[start : start + n] for k, v in arrays.items()})
            except Exception as exc:
                errors[i] = _reason(exc, chunk.sources[i].path)
                sheets.append(None)
        return sheets


def _write(chunk: _Chunk, sheets: list[Sheet | None], errors: dict[int, str]) -> list[list[str]]:
    """Every writer's file for every image that has not failed; per image, the names written.
    An image whose writer refuses it (``errors``) gets no further outputs."""
    ctx = _CONTEXT
    outputs: list[list[str]] = [[] for _ in chunk.sources]
    for suffix, writer in ctx.writers.items():
        todo = [i for i in range(len(chunk.sources)) if i not in errors]
        names = [f"{chunk.sources[i].stem}{suffix}" for i in todo]
        paths = [os.path.join(ctx.out_dir, name) for name in names]  # strings: a Path per file costs more than its write
        for i, name, result in zip(todo, names, writer([sheets[i] for i in todo], paths)):
            if isinstance(result, Exception):
                errors[i] = _reason(result, chunk.sources[i].path)
            else:
                outputs[i].append(name)
    return outputs


def _record(chunk: _Chunk, i: int, outputs: list[str], error: str | None, lengths, scores: dict, share: float) -> dict:
    """Image i's manifest record.  lengths: (strokes, pen-down mm, pen-up mm); scores: field suffix ->
    (IoU, MSE); share: the image's part of the chunk's time."""
    loaded = chunk.loaded
    w, h = (int(v) for v in loaded.size_px[i])
    k = _CONTEXT.options.mm_per_px(w)
    record = {
        "source": chunk.sources[i].name, "status": "error", "settings": _CONTEXT.key,
        "bytes": int(loaded.stat[i, 0]), "mtime_ns": int(loaded.stat[i, 1]), "width_px": w, "height_px": h,
        "width_mm": round(w * k, 3), "height_mm": round(h * k, 3), "glyphs": int(loaded.counts[i]),
    }
    if error is not None:
        record.update(reason=error, outputs=outputs)
    else:
        strokes, down_mm, up_mm = lengths
        record.update(status="ok", outputs=outputs, strokes=int(strokes), pen_down_mm=round(float(down_mm), 3),
                      pen_up_mm=round(float(up_mm), 3))
    record["seconds"] = round(float(loaded.seconds[i]) + share, 6)
    for suffix, (iou, mse) in scores.items():
        record[f"iou{suffix}"], record[f"mse{suffix}"] = round(iou, 6), round(mse, 6)
    return record


def _image_of(chunk: _Chunk, i: int) -> _Chunk:
    """Image i of a chunk as a chunk of its own."""
    return _chunk_of(chunk.sources[i : i + 1], chunk.loaded, np.array([i]), chunk.gestures, chunk.before)


def _chunk_of(sources: list[Source], loaded: _Loaded, images: np.ndarray, gestures: dict, before: dict | None) -> _Chunk:
    """Images ``images`` (positions in ``loaded``) with their glyphs and gestures, as an export task."""
    part, glyphs = _select(loaded, images)
    take = lambda arrays: None if arrays is None else {k: v[glyphs] for k, v in arrays.items()}  # noqa: E731
    return _Chunk(sources, part, take(gestures), take(before))


def _select(loaded: _Loaded, images: np.ndarray) -> tuple[_Loaded, np.ndarray]:
    """Images ``images`` (positions) of a loaded batch, and the indices of their glyphs in it."""
    counts = loaded.counts[images]
    first = (np.cumsum(loaded.counts) - loaded.counts)[images]
    glyphs = np.repeat(first, counts) + _glyph_numbers(counts)
    part = _Loaded(
        loaded.index[images], loaded.glyphs[glyphs], counts, loaded.transforms[glyphs], loaded.size_px[images],
        loaded.stroke_px[images], loaded.stat[images], loaded.seconds[images], {},
    )
    return part, glyphs


def _plot_lengths(sheets: Sequence[Sheet]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sheet: strokes, pen-down length and pen-up travel in mm (as plot_stats), all sheets in one pass."""
    counts = np.array([len(s.polylines) for s in sheets], dtype=np.intp)
    polylines = [p for s in sheets for p in s.polylines]
    if not polylines:
        return counts, np.zeros(len(sheets)), np.zeros(len(sheets))
    points = np.concatenate([p.points for p in polylines])
    step = np.diff(points, axis=0)
    seg = np.sqrt(step[:, 0] * step[:, 0] + step[:, 1] * step[:, 1])  # (P-1,) from each row to the next
    polyline_of = np.repeat(np.arange(len(polylines)), [len(p) for p in polylines])  # (P,)
    sheet_of = np.repeat(np.arange(len(sheets)), counts)[polyline_of]  # (P,)
    drawn = polyline_of[1:] == polyline_of[:-1]  # within a stroke: pen down
    travel = ~drawn & (sheet_of[1:] == sheet_of[:-1])  # from a stroke's end to the next one's start
    down = np.bincount(sheet_of[:-1][drawn], weights=seg[drawn], minlength=len(sheets))
    up = np.bincount(sheet_of[:-1][travel], weights=seg[travel], minlength=len(sheets))
    return counts, down, up


def _fidelity(sheets: Sequence[Sheet], targets: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """(IoU, MSE) per image: its exported strokes re-rendered as the re-render check does (markers of full
    ink along the lines, :func:`~igae_robot.check.render_strokes`) against its model inputs (K,S,S),
    averaged over its K glyphs (an image without glyphs scores (1, 0)).  All images in one pass."""
    cfg = _CONTEXT.model
    per_image = np.array([len(t) for t in targets], dtype=np.intp)
    if not per_image.sum():
        return [1.0] * len(sheets), [0.0] * len(sheets)
    # Every stroke back on its glyph's canvas (glyph units), glyph after glyph, as check_sheet maps them.
    glyph_base = np.cumsum(per_image) - per_image
    polylines = sorted(
        ((int(glyph_base[i]) + p.glyph, p, s.placements[p.glyph]) for i, s in enumerate(sheets) for p in s.polylines),
        key=lambda item: item[0],
    )
    per_glyph = np.bincount([g for g, _, _ in polylines], minlength=int(per_image.sum())).astype(np.intp)
    counts = np.array([len(p) for _, p, _ in polylines], dtype=np.intp)
    values = np.zeros((0, 3))
    if polylines:
        place = np.repeat([[pl.scale_mm, pl.x_mm, pl.y_mm] for _, _, pl in polylines], counts, axis=0)  # per point
        points = np.concatenate([p.points for _, p, _ in polylines])
        values = np.column_stack([(points - place[:, 1:]) / place[:, :1], np.concatenate([p.pressure for _, p, _ in polylines])])
    # Markers every half pixel (the check uses a quarter): even the thinnest marker (sigma 0.28 px)
    # stays above 0.5 between two of them, so the IoU at 0.5 is the same, at half the cost.
    canvas = render_strokes(values, counts, per_glyph, cfg.image_size, cfg.var_coef, cfg.var_eps, spacing_px=0.5)
    m = batch_metrics(canvas, torch.from_numpy(np.concatenate(targets))[:, None])
    # Mean over each image's glyphs; an image without glyphs scores (1, 0).
    has = per_image > 0
    iou, mse = np.ones(len(per_image)), np.zeros(len(per_image))
    for mean, values in ((iou, m["iou"]), (mse, m["mse"])):
        mean[has] = np.add.reduceat(values.double().numpy(), glyph_base[has]) / per_image[has]
    return iou.tolist(), mse.tolist()


# ---- the run --------------------------------------------------------------------------------------


def _batches(sources: Sequence[Source], options: VectorizeOptions, size: int) -> Iterator[_Loaded]:
    loader = torch.utils.data.DataLoader(
        _ImageSet(sources, options, size),
        batch_size=options.batch_size,
        num_workers=options.workers,
        collate_fn=_as_is,  # __getitems__ made the whole batch already
        prefetch_factor=2 if options.workers else None,
        worker_init_fn=functools.partial(_loader_worker_init, os.getpid()) if options.workers else None,
    )
    yield from loader


def _as_is(loaded: _Loaded) -> _Loaded:
    return loaded


@contextlib.contextmanager
def _encoder_threads(options: VectorizeOptions) -> Iterator[None]:
    """One torch thread for the encoder on CPU while worker processes run: the processes are the
    parallelism, and idle torch threads spinning for work take CPU from them (measured: 25 % more
    CPU per image at 2 threads on 2 cores).  The encoder's numbers do not depend on the thread count.
    Refinement keeps every thread: it is most of the run's work, done in this process."""
    if not options.workers or options.refine_steps or not str(options.device).startswith("cpu"):
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def vectorize(
    sources: Sequence[Source],
    out_dir: str | os.PathLike,
    checkpoint: Checkpoint,
    writers: Mapping[str, Writer],
    options: VectorizeOptions = VectorizeOptions(),
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[dict], None] | None = None,
    ranks: Ranks = Ranks(),
) -> VectorizeSummary:
    """Vectorize ``sources`` (see :func:`discover_images`) into ``out_dir``: for each image, one file per
    writer (``writers``: output suffix like ``".svg"`` -> writer of many sheets, see :data:`Writer`) and
    a line in ``out_dir/manifest.jsonl``.

    on_start(todo, skipped) is called once before the work, on_record(record) after each image.
    The manifest is rewritten at the end of a complete run: one line per source, in source order.

    Under torchrun (``ranks`` from :func:`~igae_robot.training.distributed.init_from_env`) every process takes
    its own contiguous share of the images still to do and appends to its own manifest part; rank 0
    folds the parts into ``manifest.jsonl`` at the end, and a killed run's parts are read on resume.
    """
    tic = time.perf_counter()
    out_dir = Path(out_dir)
    suffixes = list(writers)
    _check_outputs(sources, suffixes)
    _make_folder(out_dir)
    manifest_path = out_dir / MANIFEST
    previous = _read_previous(out_dir)
    cfg = checkpoint.config
    key = _settings_key(checkpoint, options, writers)
    todo = [s for s in sources if options.force or not _is_done(previous.get(s.name), s, out_dir, suffixes, key)]
    if ranks.is_main:
        for stale in out_dir.rglob(".*.tmp"):  # half-written temp files of a killed run (see igae_robot.atomic)
            if not stale.is_dir():
                stale.unlink(missing_ok=True)
    barrier(ranks)  # every rank has read the manifest and no rank writes before the clean-up
    mine = list(shard(todo, ranks))
    if on_start:
        on_start(len(mine), len(sources) - len(todo))
    records, lines = _run(mine, out_dir, checkpoint, writers, options, key, on_record, _part_path(out_dir, ranks))
    if ranks.distributed:
        barrier(ranks)  # every rank's part is complete
        records = _read_previous(out_dir)
        lines = {}
    else:
        records = {**previous, **records}
    if ranks.is_main:
        ordered = [records[s.name] for s in sources]
        names = {s.name for s in sources}
        others = [r for name, r in sorted(records.items()) if name not in names]
        with atomic_text_writer(manifest_path) as stream:  # compact: the latest line per source, in order
            stream.writelines((lines.get(r["source"]) or json.dumps(r)) + "\n" for r in ordered + others)
        for part in out_dir.glob(_PARTS):
            part.unlink()
    barrier(ranks)
    processed = int(all_reduce_sum([len(mine)], ranks)[0])
    return VectorizeSummary([records[s.name] for s in sources], processed, len(sources) - len(todo), time.perf_counter() - tic)


_PARTS = ".manifest.part*.jsonl"  # per-rank manifests of a distributed run, folded in at its end


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
    for part in sorted(out_dir.glob(_PARTS)):
        records.update(read_manifest(part))
    return records


def _run(
    todo: Sequence[Source], out_dir: Path, checkpoint: Checkpoint, writers: Mapping[str, Writer],
    options: VectorizeOptions, key: str, on_record: Callable[[dict], None] | None, manifest_path: Path,
) -> tuple[dict[str, dict], dict[str, str]]:
    """This process's share of the work: (record, manifest line) per source it vectorized."""
    cfg = checkpoint.config
    checkpoint.model.to(options.device).eval()
    context = _Context(out_dir, dict(writers), options, cfg.model, cfg.train.dt_s, key)
    records: dict[str, dict] = {}
    lines: dict[str, str] = {}  # this run's manifest line per source, for the compaction
    manifest = _Manifest(manifest_path)
    pool = None
    try:
        if options.workers:
            import multiprocessing

            pool = multiprocessing.get_context().Pool(options.workers, _init_worker, (context, os.getpid()))
        else:
            _init_worker(context)
        pending: collections.deque = collections.deque()  # batches being exported, oldest first
        with _encoder_threads(options):
            for batch in itertools.chain(_batches(todo, options, cfg.model.image_size), [None]):
                if batch is not None:  # encode this batch while the workers export the one before
                    pending.append(_submit(batch, todo, checkpoint, options, key, pool))
                while pending and (batch is None or len(pending) > 1):
                    done = _collect(pending.popleft())  # the workers have written these images' files
                    manifest.write_lines([line for _, line in done])
                    for record, line in done:
                        records[record["source"]], lines[record["source"]] = record, line
                        if on_record:
                            on_record(record)
                    manifest.sync()
    finally:
        if pool is not None:
            pool.terminate()
        manifest.close()
    return records, lines


@dataclass
class _Submitted:
    """A loaded batch on its way: records of the images that failed to load, and its export tasks."""

    errors: list[dict]
    exports: list  # per chunk of images: a pool AsyncResult, or the result itself without workers


def _submit(loaded: _Loaded, todo: Sequence[Source], checkpoint: Checkpoint, options: VectorizeOptions, key: str, pool) -> _Submitted:
    """Encode a loaded batch and hand its images to the export workers, one chunk per worker."""
    errors = []
    for j, reason in sorted(loaded.errors.items()):
        record = _base_record(todo[loaded.index[j]], key)
        record.update(reason=reason, seconds=round(float(loaded.seconds[j]), 6))
        errors.append(record)
    good = np.array([j for j in range(len(loaded.index)) if j not in loaded.errors], dtype=np.intp)
    if not len(good):
        return _Submitted(errors, [])
    tic = time.perf_counter()
    gestures, before = _encode(checkpoint, loaded.glyphs, options)  # failed images have no glyphs
    loaded.seconds[good] += (time.perf_counter() - tic) / len(good)
    exports = []
    for part in np.array_split(good, min(len(good), max(1, options.workers))):
        chunk = _chunk_of([todo[i] for i in loaded.index[part]], loaded, part, gestures, before)
        exports.append(pool.apply_async(_finish, (chunk,)) if pool is not None else _finish(chunk))
    return _Submitted(errors, exports)


def _collect(submitted: _Submitted) -> list[tuple[dict, str]]:
    """(record, manifest line) of every image of a submitted batch, in order, once its exports are done."""
    done = [(r, json.dumps(r)) for r in submitted.errors]
    for export in submitted.exports:
        records, lines = export.get() if hasattr(export, "get") else export
        done += zip(records, lines)
    return done


def _base_record(source: Source, key: str) -> dict:
    try:
        stat = source.path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size = mtime = None
    return {"source": source.name, "status": "error", "settings": key, "bytes": size, "mtime_ns": mtime}
