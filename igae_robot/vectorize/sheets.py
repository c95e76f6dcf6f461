"""The last stage of a run, in the export workers, a chunk of images at a time: gestures placed
at source coordinates -> Sheets (:func:`~igae_robot.paper.sheet.place_sheets`) -> writers (atomic
files) -> fidelity (:func:`~igae_robot.check.score_sheets_pen`) and lengths
(:func:`~igae_robot.paper.sheet.plot_lengths`) -> manifest records.

Coordinates: every piece's :class:`~igae_robot.images.glyphs.GlyphTransform` maps the model's canvas to the
source image's pixels; pixels become millimetres by ``dpi`` (or a fixed ``width_mm``), and the page
of each output is the source image itself (origin top-left, y down), so a scanned page comes out as
the same page, at its physical size.

What a worker needs arrives with each task (:class:`Context`, a few hundred bytes pickled), not
through a module global.
"""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from igae_robot.check import score_sheets_pen
from igae_robot.paper.layout import Placement
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import Sheet, place_sheets, plot_lengths
from igae_robot.vectorize.options import Source, VectorizeOptions, Writer
from igae_robot.vectorize.stages import _Loaded, _reason, glyph_pens


@dataclass(frozen=True)
class Context:
    """What every export task needs besides its images: handed to each task with them (small:
    writers are partials of module-level functions, see :data:`~igae_robot.vectorize.options.Writer`)."""

    out_dir: Path
    writers: Mapping[str, Writer]  # output suffix -> writer
    options: VectorizeOptions
    size: int  # the engine's glyph crops, pixels
    dt_s: float
    key: str


@dataclass
class _Chunk:
    """Some images of a loaded batch, with their gestures: the work of one export task."""

    sources: list[Source]
    loaded: _Loaded  # the loader's arrays, cut to these images
    gestures: dict  # arrays of their K glyphs (see the engines)
    before: dict | None  # the encoder's, when refined


def _chunk_sheets(ctx: Context, chunk: _Chunk, arrays: dict) -> list[Sheet]:
    """The images' gestures on pages that are the source images, in mm (see the module doc)."""
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
    return place_sheets(pages, placements, arrays, scale, join_mm.tolist(), options.sheet, ctx.dt_s)


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


def _finish(ctx: Context, chunk: _Chunk) -> tuple[list[dict], list[str]]:
    """Place each image's gestures on its page, write every output, score them: their manifest
    records and lines.  One image failing (a page outside the machine's work area) fails alone."""
    tic = time.perf_counter()
    errors: dict[int, str] = {}  # image -> why it failed
    sheets = _sheets_of(ctx, chunk, chunk.gestures, errors)
    # With --refine, also the encoder's own gestures, for the before/after fidelity.
    before = None if chunk.before is None else _sheets_of(ctx, chunk, chunk.before, errors)
    outputs = _write(ctx, chunk, sheets, errors)
    ok = [i for i in range(len(chunk.sources)) if i not in errors]
    lengths = dict(zip(ok, zip(*plot_lengths([sheets[i] for i in ok]))))
    glyph_start = np.cumsum(chunk.loaded.counts) - chunk.loaded.counts
    targets = [chunk.loaded.glyphs[glyph_start[i] : glyph_start[i] + chunk.loaded.counts[i]] for i in ok]
    glyph_pen = glyph_pens(chunk.loaded)  # once for the chunk, then cut per image
    pens = [glyph_pen[glyph_start[i] : glyph_start[i] + chunk.loaded.counts[i]] for i in ok]
    scores = {"": dict(zip(ok, zip(*_fidelity(ctx, [sheets[i] for i in ok], targets, pens))))}
    if before is not None:
        scores["_encoder"] = dict(zip(ok, zip(*_fidelity(ctx, [before[i] for i in ok], targets, pens))))
    share = (time.perf_counter() - tic) / max(1, len(chunk.sources))
    records = [
        _record(ctx, chunk, i, outputs[i], errors.get(i), lengths.get(i), {k: v[i] for k, v in scores.items() if i in v}, share)
        for i in range(len(chunk.sources))
    ]
    return records, [json.dumps(r) for r in records]


def _sheets_of(ctx: Context, chunk: _Chunk, arrays: dict, errors: dict[int, str]) -> list[Sheet | None]:
    """The chunk's sheets for gesture ``arrays`` (``chunk.gestures`` or ``chunk.before``); if building
    them together fails, image by image, each failure recorded in ``errors``."""
    try:
        return _chunk_sheets(ctx, chunk, arrays)
    except Exception:
        glyph_start = np.cumsum(chunk.loaded.counts) - chunk.loaded.counts
        sheets: list[Sheet | None] = []
        for i, (start, n) in enumerate(zip(glyph_start.tolist(), chunk.loaded.counts.tolist())):
            try:
                sheets += _chunk_sheets(ctx, _image_of(chunk, i), {k: v[start : start + n] for k, v in arrays.items()})
            except Exception as exc:
                errors[i] = _reason(exc, chunk.sources[i].path)
                sheets.append(None)
        return sheets


def _write(ctx: Context, chunk: _Chunk, sheets: list[Sheet | None], errors: dict[int, str]) -> list[list[str]]:
    """Every writer's file for every image that has not failed; per image, the names written.
    An image whose writer refuses it (``errors``) gets no further outputs."""
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


def _record(ctx: Context, chunk: _Chunk, i: int, outputs: list[str], error: str | None, lengths, scores: dict, share: float) -> dict:
    """Image i's manifest record.  lengths: (strokes, pen-down mm, pen-up mm); scores: field suffix ->
    (IoU, MSE); share: the image's part of the chunk's time."""
    loaded = chunk.loaded
    w, h = (int(v) for v in loaded.size_px[i])
    k = ctx.options.mm_per_px(w)
    record = {
        "source": chunk.sources[i].name, "status": "error", "settings": ctx.key,
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
        loaded.stroke_px[images], loaded.pen_px[images], loaded.stat[images], loaded.seconds[images], {},
    )
    return part, glyphs


def _fidelity(ctx: Context, sheets: list[Sheet], targets: list[np.ndarray], pens: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """(IoU, MSE) per image, its exported strokes drawn as a plotter draws them -- a round pen as wide as the
    source's median stroke (``pens``: canvas units per glyph) -- against its glyph crops
    (:func:`~igae_robot.check.score_sheets_pen`)."""
    sides = [np.array([max(t.shape) for t in ts], dtype=np.float64) for ts in targets]  # a glyph's canvas unit, pixels
    return score_sheets_pen(sheets, targets, [np.asarray(p) * side for p, side in zip(pens, sides)])
