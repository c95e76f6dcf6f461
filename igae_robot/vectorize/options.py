"""What ``igae vectorize`` takes and gives: its options, a source image, a run's summary, a writer."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import ConfigError
from igae_robot.images.glyphs import SPLIT_MODES
from igae_robot.model.refine import MAX_REFINE_STEPS
from igae_robot.paper.sheet import Sheet, SheetOptions

__all__ = ["MANIFEST", "MAX_BATCH", "MAX_WORKERS_PER_CPU", "Source", "VectorizeOptions", "VectorizeSummary", "Writer"]

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
    remove_lines: bool = False  # take ruled lines out of the scans (images.ruled_lines.remove_ruled_lines)
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
