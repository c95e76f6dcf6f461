"""Batch vectorization: a folder of images -> plotter-ready files (one per image and format) + a manifest.

    discover --> read, ink, cut into glyph pieces, crop to model inputs    (DataLoader workers, per image)
             --> encoder in fixed-size batches [--> refine]                (this process, CPU or GPU)
             --> per image: gestures placed at source coordinates -> Sheet
                 -> writers (atomic files) -> fidelity -> manifest record  (export workers, chunks of images)
             --> ``manifest.jsonl``: one line per image, appended and flushed as it finishes

Coordinates: every piece's :class:`~igae_robot.images.GlyphTransform` maps the model's canvas to the
source image's pixels; pixels become millimetres by ``dpi`` (or a fixed ``width_mm``), and the page
of each output is the source image itself (origin top-left, y down), so a scanned page comes out as
the same page, at its physical size.

Pen lifts: the model draws a stroke in several pen-down pieces (under max compositing a pen-up
step costs nothing).  Pieces whose ends are closer than ``join`` stroke widths of the source ink are
joined (:func:`place_sheet`): the joint hides inside the line, and the pen lifts about 1.6 times per
MNIST digit instead of 8.

Fidelity: the strokes as exported are re-rendered with the model's markers (as ``igae check`` does)
and scored against the model input: IoU at 0.5 and MSE, averaged over an image's glyphs.

Resume: an image is skipped when its last manifest line says ``ok``, its source file has the same
size and modification time, the run's settings (model weights, formats, machines, sizes, options)
hash to the same key, and every output file exists.  Outputs are written all-or-nothing and the
manifest line only after them, so an interrupted run (Ctrl-C, kill -9) redoes at most the images in
flight.  Manifest lines are flushed to the OS per image (a killed process loses none) and fsynced
per batch (an fsync per line costs milliseconds).  Encoder batches always have the same shape,
so an image's output does not depend on which images shared its batch: a resumed run writes the
same bytes as an uninterrupted one.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import itertools
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from . import geometry
from .atomic import atomic_text_writer
from .check import render_polylines
from .checkpoint import Checkpoint
from .components import find_pieces, glyph_crops, ink_image, stroke_width
from .config import ModelConfig
from .errors import DataError, IgaeError
from .geometry import Polyline
from .gesture import Gesture
from .gesture_tensors import GestureTensors
from .images import IMAGE_SUFFIXES, GlyphTransform, read_image
from .layout import Placement
from .metrics import batch_metrics
from .page import Page
from .refine import refine
from .sheet import Sheet, SheetOptions, plot_stats

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

# writer(sheet, path): writes one file (all or nothing), e.g. functools.partial(export_file, fmt="svg").
# Must be picklable (a module-level function or a partial of one) to reach worker processes.
Writer = Callable[[Sheet, Path], object]


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
        if not (self.dpi > 0 and self.width_mm >= 0):
            raise DataError(f"dpi must be positive and width non-negative, got dpi={self.dpi}, width={self.width_mm} mm")
        if not self.join >= 0:
            raise DataError(f"join must be a non-negative number of stroke widths, got {self.join}")
        if self.refine_steps < 0 or self.batch_size < 1 or self.workers < 0 or self.max_pixels < 1:
            raise DataError("refine steps, batch size, workers and max pixels must be non-negative (batch size, max pixels >= 1)")

    def mm_per_px(self, width_px: int) -> float:
        return self.width_mm / width_px if self.width_mm > 0 else 25.4 / self.dpi


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
    under ``exclude`` (the output folder) are left out.  Two sources that would share an output name
    (``a.png`` and ``a.jpg``) keep their suffix in it (``a.png.svg``).  Raises DataError for a path
    that does not exist or when nothing is found.
    """
    roots = [Path(p) for p in paths]
    if not roots:
        raise DataError("no input images or folders given")
    found: list[tuple[Path, Path]] = []  # (file, root folder it is named from)
    for root in roots:
        if root.is_dir():
            found += [(p, root) for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        elif root.is_file():
            found.append((root, root.parent))
        else:
            raise DataError(f"{root}: no such file or folder")
    if exclude is not None:
        skip = Path(exclude).resolve()
        found = [(p, r) for p, r in found if not p.resolve().is_relative_to(skip)]
    if not found:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {', '.join(map(str, roots))}")
    base = roots[0] if len(roots) == 1 and roots[0].is_dir() else Path(os.path.commonpath([r.resolve() for _, r in found]))
    names = [(p.resolve() if base.is_absolute() else p).relative_to(base).as_posix() for p, _ in found]
    stems = [name.rsplit(".", 1)[0] for name in names]
    clash = {s for s, n in collections.Counter(stems).items() if n > 1}
    unique: dict[str, Source] = {}
    for (path, _), name, stem in zip(found, names, stems):
        unique.setdefault(name, Source(path, name, name if stem in clash else stem))
    return list(unique.values())


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
        self.path = path
        with open(path, "ab+") as raw:
            cut = raw.seek(0, os.SEEK_END) > 0 and raw.seek(-1, os.SEEK_END) >= 0 and raw.read(1) != b"\n"
        self.stream = open(path, "a", encoding="utf-8")
        if cut:  # a killed run left half a line: end it so ours stay parseable
            self.stream.write("\n")

    def write(self, record: dict) -> None:
        self.stream.write(json.dumps(record) + "\n")
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
    try:
        stat = source.path.stat()
    except OSError:
        return False
    if record.get("bytes") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
        return False
    return all((out_dir / name).is_file() for name in source.outputs(suffixes))


# ---- stage 1: read and cut (DataLoader workers) ---------------------------------------------------


@dataclass
class _Loaded:
    index: int  # into the run's todo list
    glyphs: np.ndarray | None  # (K,S,S) float32 model inputs, None on error
    transforms: list[GlyphTransform] = field(default_factory=list)
    size_px: tuple[int, int] = (0, 0)  # source (width, height)
    stroke_px: float = 0.0  # typical stroke width of the source ink, pixels
    error: str | None = None
    seconds: float = 0.0


class _ImageSet(torch.utils.data.Dataset):
    """Item i: the todo list's image i, read and cut into model inputs; a bad file gives an error, not an exception."""

    def __init__(self, sources: Sequence[Source], options: VectorizeOptions, size: int):
        self.sources, self.options, self.size = list(sources), options, size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> _Loaded:
        tic = time.perf_counter()
        path = self.sources[i].path
        try:
            gray = read_image(path, self.options.max_pixels)
            ink = ink_image(gray, self.options.invert)
            width = stroke_width(ink)
            pieces = find_pieces(ink, self.options.split, width=width)
            glyphs, transforms = glyph_crops(ink, pieces, self.size, round(self.size * 20 / 28))
            size = (gray.shape[1], gray.shape[0])
            return _Loaded(i, glyphs, transforms, size, width, None, time.perf_counter() - tic)
        except Exception as exc:  # one bad file must not stop the batch; the manifest says why
            return _Loaded(i, None, error=_reason(exc, path), seconds=time.perf_counter() - tic)


def _reason(exc: Exception, path: Path) -> str:
    if isinstance(exc, IgaeError):
        return str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    return f"{path}: {type(exc).__name__}: {exc}"


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


# ---- stage 3: place, write, score (export workers) ------------------------------------------------


def place_sheet(
    gestures: Sequence[Gesture], placements: Sequence[Placement], page: Page, options: SheetOptions = SheetOptions()
) -> Sheet:
    """Gestures at given placements (glyph units -> page mm) -> a Sheet of ordered pen-down polylines.

    As :func:`~igae_robot.sheet.plan_sheet` without the grid: strokes are simplified and merged as
    ``options`` say, cut at the page edge (the source image's frame), and ordered.
    """
    polylines = [p for g, place in zip(gestures, placements) for p in _chained_strokes(g, place, options)]
    polylines = geometry.simplify(polylines, options.simplify_mm)
    polylines = geometry.merge(polylines, options.merge_mm)
    box = geometry.bounds(polylines)
    x0, y0, x1, y1 = page.drawable
    if box is not None and (box[0] < x0 or box[1] < y0 or box[2] > x1 or box[3] > y1):
        polylines = geometry.clip(polylines, page.drawable)
    if options.order:
        polylines = geometry.order(polylines)
    return Sheet(page, tuple(placements), tuple(polylines), options.threshold, options.release)


def _chained_strokes(gesture: Gesture, place: Placement, options: SheetOptions) -> list[Polyline]:
    """A gesture's pen-down runs on the page, where each run that starts within ``merge_mm`` of the
    previous one's end continues it.  The model usually draws a stroke in consecutive pieces, so this
    does in one pass most of what ``geometry.merge`` (which tries every pair) would do."""
    chains: list[list] = []  # [points, pressure, times] lists of arrays
    end = None
    for s in gesture.strokes(options.threshold, options.release):
        points = place.to_page(s.points)
        if end is not None and options.merge_mm > 0 and np.hypot(*(points[0] - end)) <= options.merge_mm:
            chain = chains[-1]
        else:
            chain = [[], [], []]
            chains.append(chain)
        chain[0].append(points)
        chain[1].append(s.pressure)
        chain[2].append(s.steps * gesture.dt_s)
        end = points[-1]
    return [Polyline(np.concatenate(p), np.concatenate(q), np.concatenate(t), place.glyph) for p, q, t in chains]


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
class _Job:
    source: Source
    size_px: tuple[int, int]
    stroke_px: float
    transforms: list[GlyphTransform]
    glyphs: np.ndarray  # (K,S,S) model inputs
    gestures: dict  # arrays of K gestures (see _encode)
    before: dict | None  # the encoder's, when refined
    seconds: float  # spent so far (load + share of the batch's encode)


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


def _image_sheet(job: _Job, arrays: dict) -> Sheet:
    """One image's gestures (arrays of K glyphs) on a page that is the source image, in mm."""
    ctx = _CONTEXT
    w, h = job.size_px
    k = ctx.options.mm_per_px(w)
    page = Page(w * k, h * k, 0.0, "image")
    placements = [Placement(i, -1, t.scale * k, t.offset_x * k, t.offset_y * k, 0, i) for i, t in enumerate(job.transforms)]
    gestures = [
        Gesture(arrays["points"][i], arrays["pressure"][i], arrays["intensity"][i], dt_s=ctx.dt_s) for i in range(len(job.glyphs))
    ]
    # The model draws a stroke in pieces (a pen-up step costs nothing under max compositing).  Ends
    # closer than a stroke width join: on paper the joint hides inside the line, and the pen lifts
    # once or twice per glyph instead of about eight times.
    options = ctx.options.sheet
    join_mm = ctx.options.join * job.stroke_px * k
    if join_mm > options.merge_mm:
        options = dataclasses.replace(options, merge_mm=join_mm)
    return place_sheet(gestures, placements, page, options)


def _glyph_polylines(sheet: Sheet) -> list[list[Polyline]]:
    """A sheet's strokes back on each glyph's canvas (glyph units), one list per placement."""
    places = {p.glyph: p for p in sheet.placements}
    out: list[list[Polyline]] = [[] for _ in sheet.placements]
    for poly in sheet.polylines:
        place = places[poly.glyph]
        out[poly.glyph].append(Polyline(place.to_glyph(poly.points), poly.pressure, poly.t_s, poly.glyph))
    return out


def _fidelity(drawings: list[list[list[Polyline]]], targets: list[np.ndarray]) -> list[tuple[float, float]]:
    """(IoU, MSE) per image: its exported strokes re-rendered as the re-render check does (markers of full
    ink along the lines, :func:`~igae_robot.check.render_polylines`) against its model inputs (K,S,S),
    averaged over its K glyphs.  One batched render for all images (an image without glyphs scores (1, 0))."""
    cfg = _CONTEXT.model
    glyphs = [g for drawing in drawings for g in drawing]
    if not glyphs:
        return [(1.0, 0.0)] * len(drawings)
    target = torch.from_numpy(np.concatenate(targets))[:, None]
    # Render in groups of glyphs with similar ink length: every glyph of a render is padded to the
    # longest one's marker count.  Each glyph's canvas does not depend on the others in its group.
    by_length = np.argsort([geometry.length(g) for g in glyphs], kind="stable")
    iou, mse = np.zeros(len(glyphs)), np.zeros(len(glyphs))
    for start in range(0, len(glyphs), 64):
        part = by_length[start : start + 64]
        # Markers every half pixel (the check uses a quarter): even the thinnest marker (sigma 0.28 px)
        # stays above 0.5 between two of them, so the IoU at 0.5 is the same, at half the cost.
        canvas = render_polylines([glyphs[i] for i in part], cfg.image_size, cfg.var_coef, cfg.var_eps, spacing_px=0.5)
        m = batch_metrics(canvas, target[torch.from_numpy(part)])
        iou[part], mse[part] = m["iou"].double().numpy(), m["mse"].double().numpy()
    out, start = [], 0
    for drawing in drawings:
        k = len(drawing)
        out.append((float(iou[start : start + k].mean()), float(mse[start : start + k].mean())) if k else (1.0, 0.0))
        start += k
    return out


def _finish(jobs: list[_Job]) -> list[dict]:
    """Place each image's gestures on its page, write every output, score them: their manifest records."""
    ctx = _CONTEXT
    records, scored = [], []  # scored: (record, job, sheet, sheet before refinement), for one batched render
    for job in jobs:
        tic = time.perf_counter()
        w, h = job.size_px
        k = ctx.options.mm_per_px(w)
        record = _base_record(job.source, ctx.key)
        record.update(width_px=w, height_px=h, width_mm=round(w * k, 3), height_mm=round(h * k, 3), glyphs=len(job.glyphs))
        written: list[str] = []
        try:
            sheet = _image_sheet(job, job.gestures)
            for suffix, name in zip(ctx.writers, job.source.outputs(list(ctx.writers))):
                ctx.writers[suffix](sheet, ctx.out_dir / name)
                written.append(name)
            stats = plot_stats(sheet)
            record.update(status="ok", outputs=written, strokes=stats.strokes,
                          pen_down_mm=round(stats.pen_down_mm, 3), pen_up_mm=round(stats.pen_up_mm, 3))
            scored.append((record, job, sheet, None if job.before is None else _image_sheet(job, job.before)))
        except Exception as exc:  # e.g. a page outside the machine's work area: recorded, the batch goes on
            record.update(status="error", reason=_reason(exc, job.source.path), outputs=written)
        record["seconds"] = job.seconds + time.perf_counter() - tic
        records.append(record)
    tic = time.perf_counter()
    after = _fidelity([_glyph_polylines(s) for _, _, s, _ in scored], [j.glyphs for _, j, _, _ in scored])
    refined = [(r, j, b) for r, j, _, b in scored if b is not None]
    before = _fidelity([_glyph_polylines(b) for _, _, b in refined], [j.glyphs for _, j, _ in refined])
    for (record, *_), (iou, mse) in zip(scored, after):
        record.update(iou=round(iou, 6), mse=round(mse, 6))
    for (record, *_), (iou, mse) in zip(refined, before):
        record.update(iou_encoder=round(iou, 6), mse_encoder=round(mse, 6))
    share = (time.perf_counter() - tic) / max(1, len(records))
    for record in records:
        record["seconds"] = round(record["seconds"] + share, 6)
    return records


def _base_record(source: Source, key: str) -> dict:
    try:
        stat = source.path.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
    except OSError:
        size = mtime = None
    return {"source": source.name, "status": "error", "settings": key, "bytes": size, "mtime_ns": mtime}


# ---- the run --------------------------------------------------------------------------------------


def _batches(sources: Sequence[Source], options: VectorizeOptions, size: int) -> Iterator[list[_Loaded]]:
    loader = torch.utils.data.DataLoader(
        _ImageSet(sources, options, size),
        batch_size=options.batch_size,
        num_workers=options.workers,
        collate_fn=list,  # items stay _Loaded: glyph counts differ per image
        prefetch_factor=2 if options.workers else None,
        worker_init_fn=functools.partial(_loader_worker_init, os.getpid()) if options.workers else None,
    )
    yield from loader


def vectorize(
    sources: Sequence[Source],
    out_dir: str | os.PathLike,
    checkpoint: Checkpoint,
    writers: Mapping[str, Writer],
    options: VectorizeOptions = VectorizeOptions(),
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[dict], None] | None = None,
) -> VectorizeSummary:
    """Vectorize ``sources`` (see :func:`discover_images`) into ``out_dir``: for each image, one file per
    writer (``writers``: output suffix like ``".svg"`` -> writer) and a line in ``out_dir/manifest.jsonl``.

    on_start(todo, skipped) is called once before the work, on_record(record) after each image.
    The manifest is rewritten at the end of a complete run: one line per source, in source order.
    """
    tic = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    previous = read_manifest(manifest_path)
    cfg = checkpoint.config
    key = _settings_key(checkpoint, options, writers)
    suffixes = list(writers)
    todo = [s for s in sources if options.force or not _is_done(previous.get(s.name), s, out_dir, suffixes, key)]
    for stale in out_dir.rglob(".*.tmp"):  # half-written temp files of a killed run (see igae_robot.atomic)
        stale.unlink(missing_ok=True)
    if on_start:
        on_start(len(todo), len(sources) - len(todo))
    checkpoint.model.to(options.device).eval()
    context = _Context(out_dir, dict(writers), options, cfg.model, cfg.train.dt_s, key)
    records = dict(previous)
    manifest = _Manifest(manifest_path)
    pool = None
    try:
        if options.workers:
            import multiprocessing

            pool = multiprocessing.get_context().Pool(options.workers, _init_worker, (context, os.getpid()))
        else:
            _init_worker(context)
        for batch in _batches(todo, options, cfg.model.image_size):
            jobs, errors = _encode_batch(batch, todo, checkpoint, options, key)
            size = max(1, -(-len(jobs) // (2 * max(1, options.workers))))  # two chunks per worker and batch
            chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
            finished = itertools.chain.from_iterable(pool.imap(_finish, chunks) if pool else map(_finish, chunks))
            for record in itertools.chain(errors, finished):
                manifest.write(record)
                records[record["source"]] = record
                if on_record:
                    on_record(record)
            manifest.sync()
    finally:
        if pool is not None:
            pool.terminate()
        manifest.close()
    ordered = [records[s.name] for s in sources]
    names = {s.name for s in sources}
    others = [r for name, r in sorted(records.items()) if name not in names]
    with atomic_text_writer(manifest_path) as stream:  # compact: the latest line per source, in order
        stream.writelines(json.dumps(r) + "\n" for r in ordered + others)
    return VectorizeSummary(ordered, len(todo), len(sources) - len(todo), time.perf_counter() - tic)


def _encode_batch(batch: list[_Loaded], todo: Sequence[Source], checkpoint: Checkpoint, options: VectorizeOptions, key: str):
    """Encode a loaded batch: export jobs for the good images, error records for the bad ones."""
    errors, good = [], []
    for item in batch:
        if item.error is None:
            good.append(item)
        else:
            record = _base_record(todo[item.index], key)
            record.update(reason=item.error, seconds=round(item.seconds, 6))
            errors.append(record)
    if not good:
        return [], errors
    tic = time.perf_counter()
    glyphs = np.concatenate([item.glyphs for item in good])
    gestures, before = _encode(checkpoint, glyphs, options)
    share = (time.perf_counter() - tic) / len(good)
    jobs, start = [], 0
    for item in good:
        part = slice(start, start + len(item.glyphs))
        start = part.stop
        jobs.append(
            _Job(
                todo[item.index], item.size_px, item.stroke_px, item.transforms, item.glyphs,
                {k: v[part] for k, v in gestures.items()}, None if before is None else {k: v[part] for k, v in before.items()},
                item.seconds + share,
            )
        )
    return jobs, errors
