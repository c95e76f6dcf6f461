"""Area-averaged copies of a page, for the estimates that need no full resolution (its paper, its polarity, the
surface round it): a 600-dpi page shrunk to a few hundred pixels costs milliseconds, and its area averages keep
what the estimates look at (light, wide strokes) while thin ink fades."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = ["box_copy"]


def box_copy(image: np.ndarray, side: int, sparse: bool = False) -> tuple[np.ndarray, int]:
    """``image`` (H,W) float32 area-averaged by a whole factor k to a long side of at most ``side`` px, and k
    (1: the image itself).  sparse: each k x k box averaged over every (k // 8)-th pixel of it, enough for a
    mean of a large box (an A4 page at 300-600 dpi: every 3rd-5th pixel, for boxes of 24-47 px)."""
    h, w = image.shape
    k = max(1, math.ceil(max(h, w) / side))
    if k == 1:
        return image, 1
    stride = max(1, k // 8) if sparse else 1
    source = np.ascontiguousarray(image[::stride, ::stride])
    return np.asarray(Image.fromarray(source).resize((math.ceil(w / k), math.ceil(h / k)), Image.BOX)), k
