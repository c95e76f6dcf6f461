"""The demo's independent reader: the digits' own 8x8 grid recovered from the 28x28 canvas, and an SVC
that reads the real test digits and not their shuffled labels."""

from __future__ import annotations

import numpy as np

from igae_robot.training.data import load_dataset
from igae_robot.training.legibility import legibility, to_digits_8x8


def test_the_canvas_maps_back_to_the_digits_grid():
    from sklearn.datasets import load_digits

    raw = load_digits().data
    test = load_dataset("digits", split="test")
    back = to_digits_8x8(test.images[:, 0].numpy())
    original = raw[len(raw) - len(test) :]
    # Bilinear up, area down: not exact, but within a couple of the 17 grey levels on average.
    assert np.abs(back - original).mean() < 2.0


def test_it_reads_the_test_digits_and_not_their_shuffled_labels():
    test = load_dataset("digits", split="test")
    canvases, labels = test.images[:, 0].numpy(), test.labels.numpy()
    assert legibility(canvases, labels) > 0.9  # measured 0.944
    assert legibility(canvases, np.random.default_rng(0).permutation(labels)) < 0.3
