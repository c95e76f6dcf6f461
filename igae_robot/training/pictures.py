"""Pictures people would rather look at than read: reconstructions, gesture tracks, training curves.

matplotlib with the Agg backend (no display needed); every function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from igae_robot.atomic import atomic_binary_writer
from igae_robot.gesture import Gesture

__all__ = [
    "save_reconstructions",
    "save_gesture_tracks",
    "save_training_curves",
    "save_confusion_matrix",
    "save_cluster_gestures",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return (n + cols - 1) // cols, cols


def save_reconstructions(path: str | Path, images: np.ndarray, recons: np.ndarray, cols: int = 8) -> Path:
    """Input above reconstruction for each glyph.  images, recons (N,H,W) in [0,1]."""
    plt = _pyplot()
    n = len(images)
    rows, cols = _grid(n, cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(cols * 1.1, rows * 2.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, cols)
        axes[2 * r, c].imshow(images[i], cmap="gray", vmin=0, vmax=1)
        axes[2 * r + 1, c].imshow(recons[i], cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title("input", fontsize=7, loc="left")
    axes[1, 0].set_title("drawn", fontsize=7, loc="left")
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def save_gesture_tracks(
    path: str | Path, gestures: Sequence[Gesture], images: np.ndarray | None = None, cols: int = 8, pen_down: float = 0.5
) -> Path:
    """Each glyph's gesture: the pen's path, one disc per step sized by pressure and coloured by
    step (viridis: early = purple, late = yellow), faded where the pen is up; the input underneath."""
    plt = _pyplot()
    n = len(gestures)
    rows, cols = _grid(n, cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.4, rows * 1.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, g in enumerate(gestures):
        _draw_track(plt, axes.flat[i], g, None if images is None else images[i], pen_down)
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def _draw_track(plt, ax, g: Gesture, image: np.ndarray | None, pen_down: float) -> None:
    if image is not None:
        ax.imshow(1 - image, cmap="gray", vmin=-1, vmax=1, extent=(0, 1, 1, 0))
    t = np.linspace(0, 1, len(g))
    alpha = np.where(g.intensity >= pen_down, 0.9, 0.15)
    ax.plot(g.points[:, 0], g.points[:, 1], color="0.5", lw=0.5)
    colors = plt.cm.viridis(t)
    colors[:, 3] = alpha
    ax.scatter(g.points[:, 0], g.points[:, 1], s=4 + 60 * g.pressure, c=colors, edgecolors="none")
    ax.set_xlim(0, 1)
    ax.set_ylim(1, 0)
    ax.set_aspect("equal")


def save_confusion_matrix(path: str | Path, matrix: np.ndarray, classes: Sequence[str], title: str = "") -> Path:
    """Counts (C,C): row = true class, column = predicted class; each cell also shows its share of the row."""
    plt = _pyplot()
    n = len(classes)
    share = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
           xlabel="class its cluster was named", ylabel="true class")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def save_cluster_gestures(
    path: str | Path, rows: Sequence[tuple[str, Sequence[Gesture], np.ndarray]], pen_down: float = 0.5
) -> Path:
    """One row per cluster: its title (e.g. "cluster 3 → 7, 1041 glyphs"), then its typical glyphs'
    gestures drawn as in :func:`save_gesture_tracks`.  rows: (title, gestures, images (n,H,W))."""
    plt = _pyplot()
    cols = max(1, max(len(g) for _, g, _ in rows))
    fig, axes = plt.subplots(len(rows), cols, figsize=(cols * 1.0, len(rows) * 1.15), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, (title, gestures, images) in enumerate(rows):
        for c, g in enumerate(gestures):
            _draw_track(plt, axes[r, c], g, images[c], pen_down)
        axes[r, 0].set_title(title, fontsize=7, loc="left")
    fig.tight_layout(pad=0.2)
    return _save(fig, path)


def save_training_curves(path: str | Path, history: Sequence[dict]) -> Path:
    """Train/validation MSE (log scale) and validation pixel accuracy per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    a.plot(epochs, [h["train_mse"] for h in history], label="train")
    a.plot(epochs, [h["val_mse"] for h in history], label="validation")
    a.set(xlabel="epoch", ylabel="MSE", yscale="log", title="reconstruction error")
    a.legend()
    b.plot(epochs, [100 * h["val_pixel_accuracy"] for h in history], color="C2")
    b.set(xlabel="epoch", ylabel="%", title="validation pixel accuracy")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    """Write the PNG all at once (see :mod:`igae_robot.atomic`), so a killed run never leaves half a picture."""
    plt = _pyplot()
    try:
        with atomic_binary_writer(path) as stream:
            fig.savefig(stream, dpi=120, format="png")
    finally:
        plt.close(fig)
    return Path(path)
