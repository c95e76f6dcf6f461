"""Images -> gestures with a trained model, in one place (``igae encode``, the demo, cluster pictures).

Image files become model inputs the way MNIST was made (the glyph's box scaled into the middle of
the canvas); gestures leave torch here, as :class:`~igae_robot.gesture.Gesture` lists that save
to ``.npz`` with what ``igae check`` needs to re-render them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from igae_robot.errors import DataError
from igae_robot.gesture import Gesture, save_gestures
from igae_robot.images.glyphs import to_glyph
from igae_robot.images.read import blank_reason, read_image
from igae_robot.model.checkpoint import Checkpoint

__all__ = ["MNIST_BOX", "glyph_box", "read_glyphs", "encode_gestures", "gesture_meta", "encode_to_file"]

# MNIST's digits fill a 20x20 box in the middle of the 28x28 canvas; a model trained on them
# expects every glyph it reads at that share of its canvas.
MNIST_BOX = 20 / 28


def glyph_box(size: int) -> int:
    """The side, in pixels, of the box a glyph fills on a ``size`` x ``size`` canvas (as in MNIST)."""
    return round(size * MNIST_BOX)


def read_glyphs(paths: Sequence[str | Path], size: int, invert: bool | None = None) -> torch.Tensor:
    """Image files (any size; ink found in them) -> model inputs (N,1,size,size) in [0,1].

    A blank image warns, naming its file, and is left out (encoding nothing would draw a blob);
    when none has ink it is a DataError."""
    box = glyph_box(size)
    return torch.from_numpy(np.stack([to_glyph(g, invert, size=size, box=box)[0] for g in read_inked(paths)]))[:, None]


def read_inked(paths: Sequence[str | Path]) -> list[np.ndarray]:
    """The grayscale images of ``paths`` that have ink; a blank one warns, naming its file, and is left out
    (encoding nothing would draw a blob); when none has ink it is a DataError."""
    grays = [read_image(p) for p in paths]
    inked = [g for g in grays if blank_reason(g) is None]
    if not inked:
        raise DataError(f"no ink in any of the {len(paths)} image(s); nothing to encode")
    return inked


@torch.no_grad()
def encode_gestures(ckpt: Checkpoint, images: torch.Tensor, labels: torch.Tensor | None = None) -> list[Gesture]:
    """images (N,1,S,S) in [0,1] -> torch-free :class:`~igae_robot.gesture.Gesture` list, with the
    marker variances and step timing the model uses (what ``igae encode`` saves)."""
    model = ckpt.model.eval()
    gesture = model.encode(images.float().to(next(model.parameters()).device))
    return gesture.to_gestures(variance=model.variance(gesture), dt_s=ckpt.config.train.dt_s, labels=labels)


def gesture_meta(ckpt: Checkpoint) -> dict[str, float]:
    """What a gestures file records of the model so ``igae check`` re-renders at its resolution."""
    m = ckpt.config.model
    return {"image_size": m.image_size, "var_coef": m.var_coef, "var_eps": m.var_eps}


def encode_to_file(ckpt: Checkpoint, images: torch.Tensor, path: str | Path, labels: torch.Tensor | None = None) -> list[Gesture]:
    """Encode images (N,1,S,S) and save the gestures, with the model's :func:`gesture_meta`, to ``path``
    (.npz, written atomically); returns the gestures."""
    gestures = encode_gestures(ckpt, images, labels)
    save_gestures(path, gestures, gesture_meta(ckpt))
    return gestures
