"""The run: workers, the encode/export pipeline, the manifest written chunk by chunk.

    discover --> load (DataLoader workers) --> encode (this process) --> place, write, score (export workers)
             --> ``manifest.jsonl``: one line per image, appended and flushed chunk by chunk

While the export workers write one batch, this process encodes the next.  Outputs are written
all-or-nothing and the manifest lines of a chunk only after the worker that wrote its files has
returned, so an interrupted run (Ctrl-C, kill -9) redoes at most the images in flight.  Manifest
lines are handed to the OS per chunk (a killed process loses none it wrote) and fsynced per batch
(an fsync per line costs milliseconds).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from igae_robot.atomic import atomic_text_writer
from igae_robot.model.checkpoint import Checkpoint
from igae_robot.vectorize.engines import ModelEngine, PenEngine
from igae_robot.training.distributed import Ranks, all_reduce_sum, barrier, shard
from igae_robot.vectorize.options import MANIFEST, Source, VectorizeOptions, VectorizeSummary, Writer
from igae_robot.vectorize.sheets import Context, _chunk_of, _finish
from igae_robot.vectorize.sources import (
    PARTS, _base_record, _check_outputs, _is_done, _make_folder, _Manifest, _part_path, _read_previous, _settings_key,
)
from igae_robot.vectorize.stages import Crop, PixelBatches, _ImageSet, _Loaded, glyph_pens

__all__ = ["vectorize"]


def vectorize(
    sources: Sequence[Source],
    out_dir: str | os.PathLike,
    engine: Checkpoint | ModelEngine | PenEngine,
    writers: Mapping[str, Writer],
    options: VectorizeOptions = VectorizeOptions(),
    on_start: Callable[[int, int], None] | None = None,
    on_record: Callable[[dict], None] | None = None,
    ranks: Ranks = Ranks(),
) -> VectorizeSummary:
    """Vectorize ``sources`` (see :func:`discover_images`) into ``out_dir``: for each image, one file per
    writer (``writers``: output suffix like ``".svg"`` -> writer of many sheets, see :data:`Writer`) and
    a line in ``out_dir/manifest.jsonl``.  ``engine`` draws the glyphs (:mod:`~igae_robot.vectorize.engines`):
    a checkpoint (its model), or the pen engine.

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
    engine = ModelEngine(engine) if isinstance(engine, Checkpoint) else engine
    key = _settings_key(engine, options, writers)
    todo = [s for s in sources if options.force or not _is_done(previous.get(s.name), s, out_dir, suffixes, key)]
    if ranks.is_main:
        for stale in out_dir.rglob(".*.tmp"):  # half-written temp files of a killed run (see igae_robot.atomic)
            if not stale.is_dir():
                stale.unlink(missing_ok=True)
    barrier(ranks)  # every rank has read the manifest and no rank writes before the clean-up
    mine = list(shard(todo, ranks))
    if on_start:
        on_start(len(mine), len(sources) - len(todo))
    records, lines = _run(mine, out_dir, engine, writers, options, key, on_record, _part_path(out_dir, ranks))
    if ranks.distributed:
        barrier(ranks)  # every rank's part is complete
        records = _read_previous(out_dir)
        lines = {}
        # Every rank has read the parts before rank 0 folds them into the manifest and deletes them: a rank
        # that read the old manifest and then found the parts gone lost this run's records (a KeyError in CI).
        barrier(ranks)
    else:
        records = {**previous, **records}
    if ranks.is_main:
        ordered = [records[s.name] for s in sources]
        names = {s.name for s in sources}
        others = [r for name, r in sorted(records.items()) if name not in names]
        with atomic_text_writer(manifest_path) as stream:  # compact: the latest line per source, in order
            stream.writelines((lines.get(r["source"]) or json.dumps(r)) + "\n" for r in ordered + others)
        for part in out_dir.glob(PARTS):
            part.unlink()
    barrier(ranks)
    processed = int(all_reduce_sum([len(mine)], ranks)[0])
    return VectorizeSummary([records[s.name] for s in sources], processed, len(sources) - len(todo), time.perf_counter() - tic)


def _run(
    todo: Sequence[Source], out_dir: Path, engine: ModelEngine | PenEngine, writers: Mapping[str, Writer],
    options: VectorizeOptions, key: str, on_record: Callable[[dict], None] | None, manifest_path: Path,
) -> tuple[dict[str, dict], dict[str, str]]:
    """This process's share of the work: (record, manifest line) per source it vectorized."""
    engine.prepare(options.device)
    context = Context(out_dir, dict(writers), options, engine.crop.size, engine.dt_s, key)
    records: dict[str, dict] = {}
    lines: dict[str, str] = {}  # this run's manifest line per source, for the compaction
    manifest = _Manifest(manifest_path)
    pool = None
    try:
        if options.workers:
            import multiprocessing

            pool = multiprocessing.get_context().Pool(options.workers, _init_worker, (os.getpid(),))
        pending: collections.deque = collections.deque()  # batches being exported, oldest first
        with _encoder_threads(options):
            for batch in itertools.chain(_batches(todo, options, engine.crop), [None]):
                if batch is not None:  # encode this batch while the workers export the one before
                    pending.append(_submit(batch, todo, engine, context, pool))
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


def _submit(loaded: _Loaded, todo: Sequence[Source], engine: ModelEngine | PenEngine, context: Context, pool) -> _Submitted:
    """Draw a loaded batch and hand its images to the export workers, one chunk per worker
    (each task carries the run's ``context``: no worker keeps state between tasks)."""
    options = context.options
    errors = []
    for j, reason in sorted(loaded.errors.items()):
        record = _base_record(todo[loaded.index[j]], context.key)
        record.update(reason=reason, seconds=round(float(loaded.seconds[j]), 6))
        errors.append(record)
    good = np.array([j for j in range(len(loaded.index)) if j not in loaded.errors], dtype=np.intp)
    if not len(good):
        return _Submitted(errors, [])
    tic = time.perf_counter()
    gestures, before = engine.draw(loaded.glyphs, glyph_pens(loaded), options)  # failed images have no glyphs
    loaded.seconds[good] += (time.perf_counter() - tic) / len(good)
    exports = []
    for part in np.array_split(good, min(len(good), max(1, options.workers))):
        chunk = _chunk_of([todo[i] for i in loaded.index[part]], loaded, part, gestures, before)
        exports.append(pool.apply_async(_finish, (context, chunk)) if pool is not None else _finish(context, chunk))
    return _Submitted(errors, exports)


def _collect(submitted: _Submitted) -> list[tuple[dict, str]]:
    """(record, manifest line) of every image of a submitted batch, in order, once its exports are done."""
    done = [(r, json.dumps(r)) for r in submitted.errors]
    for export in submitted.exports:
        records, lines = export.get() if hasattr(export, "get") else export
        done += zip(records, lines)
    return done


def _batches(sources: Sequence[Source], options: VectorizeOptions, crop: Crop) -> Iterator[_Loaded]:
    loader = torch.utils.data.DataLoader(
        _ImageSet(sources, options, crop),
        batch_sampler=PixelBatches(sources, options.batch_size),
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


def _init_worker(parent: int) -> None:
    """An export worker (``parent``: the run's pid): one thread, Ctrl-C left to the run, and an exit
    when the run dies."""
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
