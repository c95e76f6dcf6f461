"""``igae cluster`` as library calls: encode a data set with a checkpoint, run every spec
(:func:`cluster_glyphs`), then write pictures and results.json (:func:`write_cluster_run`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from igae_robot.atomic import atomic_write_text
from igae_robot.clustering.clusters import ClusterSpec, Clustering, confusion_matrix, run_spec, summarise, typical_members
from igae_robot.clustering.features import encode_codes
from igae_robot.model.checkpoint import Checkpoint, load_checkpoint
from igae_robot.model.encode import encode_gestures
from igae_robot.training.data import GlyphSet, load_dataset
from igae_robot.training.device import resolve_device
from igae_robot.training.pictures import save_cluster_gestures, save_confusion_matrix

__all__ = ["ClusterRun", "cluster_glyphs", "write_cluster_run", "file_stem", "write_cluster_pictures"]


@dataclass
class ClusterRun:
    """Every spec's result on one data set, and what they were computed from."""

    checkpoint: str  # the path the user gave
    data: str
    split: str
    ckpt: Checkpoint
    glyphs: GlyphSet
    results: list[Clustering]

    def summary(self) -> dict:
        """What results.json holds."""
        return {"checkpoint": self.checkpoint, "data": self.data, "split": self.split, "glyphs": len(self.glyphs),
                "results": [summarise(r) for r in self.results]}


def cluster_glyphs(
    checkpoint: str | Path,
    specs: Sequence[ClusterSpec],
    seeds: Sequence[int],
    data: str = "digits",
    data_dir: str | Path = "",
    split: str = "test",
    limit: int = 0,
    device: str = "auto",
    on_spec: Callable[[int, ClusterSpec], None] | None = None,
) -> ClusterRun:
    """Encode the first ``limit`` glyphs (0: all) of a data set with the checkpoint's encoder (on
    ``device``), then cluster, name and score them once per spec and seed.

    Every spec is checked against the number of glyphs before any work; ``on_spec(i, spec)`` is
    called before the i-th spec runs (for a progress bar)."""
    ckpt = load_checkpoint(checkpoint)
    ckpt.model.to(resolve_device(device))
    glyphs = load_dataset(data, data_dir, split).first(limit)
    for spec in specs:
        spec.check_fits(len(glyphs))
    codes = encode_codes(ckpt.model, glyphs.images)
    ckpt.model.cpu()  # the pictures draw on the CPU
    labels = glyphs.labels.numpy()
    results = []
    for i, spec in enumerate(specs):
        if on_spec:
            on_spec(i, spec)
        results.append(run_spec(codes, labels, spec, seeds))
    return ClusterRun(str(checkpoint), data, split, ckpt, glyphs, results)


def write_cluster_run(run: ClusterRun, out_dir: str | Path, pictures: bool = True) -> list[Path]:
    """Each result's confusion matrix and typical gestures (with ``pictures``), then results.json;
    returns the paths written."""
    out_dir = Path(out_dir)
    written = []
    if pictures:
        for result in run.results:
            written += write_cluster_pictures(run.ckpt, run.glyphs, result, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(run.summary(), indent=2) + "\n")
    return [*written, out_dir / "results.json"]


def file_stem(spec: ClusterSpec) -> str:
    """A file-name part that tells the rows apart: gesture-spectral-k10-kmeans-majority."""
    protocol = "majority" if spec.label_budget == 0 else f"budget{spec.label_budget}"
    text = f"{spec.features}-{spec.reduce}-k{spec.k}-{spec.algorithm}-{protocol}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.replace("+", "_"))


def write_cluster_pictures(ckpt: Checkpoint, glyphs: GlyphSet, result: Clustering, out_dir: str | Path, per_cluster: int = 8) -> list[Path]:
    """confusion-<row>.png and clusters-<row>.png (each cluster's typical gestures, drawn by the checkpoint's
    model) for one result's first seed; returns the paths."""
    out_dir = Path(out_dir)
    labels = glyphs.labels.numpy()
    n_classes = int(labels.max()) + 1
    classes = list(glyphs.classes) if len(glyphs.classes) == n_classes else [str(c) for c in range(n_classes)]
    spec = result.spec
    slug = file_stem(spec)
    acc = float((result.predictions() == labels).mean())
    title = f"{spec.features}, {spec.reduce}, k={spec.k}, {spec.protocol}: {100 * acc:.2f}% (seed {result.seeds[0]})"
    confusion = save_confusion_matrix(out_dir / f"confusion-{slug}.png", confusion_matrix(labels, result.predictions(), n_classes),
                                      classes, title)
    sizes = np.bincount(result.assignments, minlength=spec.k)
    rows = []
    for j, idx in typical_members(result, per_cluster):
        gestures = encode_gestures(ckpt, glyphs.images[idx]) if len(idx) else []
        rows.append((f"cluster {j} → {classes[result.names[j]]}, {sizes[j]} glyphs", gestures, glyphs.images[idx, 0].numpy()))
    tracks = save_cluster_gestures(out_dir / f"clusters-{slug}.png", rows)
    return [confusion, tracks]
