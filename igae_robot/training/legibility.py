"""Can a machine read what the plotter drew?  An independent classifier on the embedded digits.

``make demo`` plots test digits of scikit-learn's embedded set; its page is legible when a classifier
that never saw our drawings -- an RBF support-vector machine trained on the set's own 8x8 training
digits, the scikit-learn example's classifier -- reads them back.  A drawing, rasterised on the 28x28
canvas the digits were prepared on (:func:`~igae_robot.training.data.load_dataset` ``"digits"``: 8x8
upsampled into a 20x20 box at offset 4), is mapped back exactly that way: the box cut out, averaged
down to 8x8, scaled to the set's 0..16.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["digit_classifier", "to_digits_8x8", "legibility"]


@functools.lru_cache(maxsize=1)
def digit_classifier():
    """SVC(gamma=0.001) fitted on the first 80% of scikit-learn's digits (the training split of ``digits``)."""
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    bunch = load_digits()
    n_train = int(len(bunch.data) * 0.8)  # the split of training.data._digits
    return SVC(gamma=0.001).fit(bunch.data[:n_train], bunch.target[:n_train])


def to_digits_8x8(canvases: np.ndarray) -> np.ndarray:
    """Canvases (N,28,28) in [0,1] -> (N,64) in 0..16, as scikit-learn's digits are stored."""
    box = np.asarray(canvases, dtype=np.float64)[:, 4:24, 4:24]
    # 20 -> 8 by area: each 8x8 cell averages a 2.5 x 2.5 patch (upsample 2x to 40, then 5x5 blocks).
    twice = box.repeat(2, axis=1).repeat(2, axis=2)
    small = twice.reshape(len(box), 8, 5, 8, 5).mean(axis=(2, 4))
    return np.clip(small * 16.0, 0, 16).reshape(len(box), 64)


def legibility(canvases: np.ndarray, labels: np.ndarray) -> float:
    """Share of canvases (N,28,28) the classifier reads as their label."""
    if not len(canvases):
        return float("nan")
    predicted = digit_classifier().predict(to_digits_8x8(canvases))
    return float((predicted == np.asarray(labels)).mean())
