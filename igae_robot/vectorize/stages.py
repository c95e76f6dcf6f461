"""The first two stages of a run: read and cut images into model inputs, then encode them.

    read, ink, cut into glyph pieces, crop to model inputs    (DataLoader workers, a batch of images at a time)
    --> encoder in fixed-size batches [--> refine]            (the run's process, CPU or GPU)

Encoder batches always have the same shape, so an image's output does not depend on which images
shared its batch: a resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from igae_robot.errors import IgaeError
from igae_robot.images.glyphs import glyph_inputs, ink_images, stroke_widths
from igae_robot.images.read import blank_reason, read_image_stats
from igae_robot.model.checkpoint import Checkpoint
from igae_robot.model.refine import refine
from igae_robot.model.tensors import GestureTensors
from igae_robot.vectorize.options import Source, VectorizeOptions


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
