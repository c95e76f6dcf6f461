from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from igae_robot.training.data import load_dataset, read_idx
from igae_robot.errors import DataError


def _write_idx(path, array: np.ndarray, compress=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def test_embedded_digits_look_like_mnist():
    train, test = load_dataset("digits", split="train"), load_dataset("digits", split="test")
    assert train.images.shape[1:] == (1, 28, 28) and len(train) + len(test) == 1797
    assert 0 <= float(train.images.min()) and float(train.images.max()) <= 1
    # MNIST-like framing: a 4-pixel empty border around a 20x20 box.
    assert float(train.images[:, :, :4].abs().max()) == 0.0
    assert set(train.labels.tolist()) == set(range(10))


def test_real_mnist_test_split(mnist_dir):
    test = load_dataset("mnist", mnist_dir, "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_idx_raw_and_gz(tmp_path):
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    _write_idx(tmp_path / "a", arr)
    _write_idx(tmp_path / "b.gz", arr, compress=True)
    assert (read_idx(tmp_path / "a") == arr).all() and (read_idx(tmp_path / "b.gz") == arr).all()


def test_corrupt_files_name_the_file_and_the_problem(tmp_path):
    truncated = tmp_path / "train-images-idx3-ubyte"
    _write_idx(truncated, np.zeros((5, 28, 28)))
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: IDX header says \(5, 28, 28\)"):
        read_idx(truncated)
    notgz = tmp_path / "x.gz"
    notgz.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="x.gz: cannot decompress"):
        read_idx(notgz)
    text = tmp_path / "t"
    text.write_text("hello")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(text)
    with pytest.raises(DataError, match="none of t10k-images-idx3-ubyte"):
        load_dataset("mnist", tmp_path, "test")
    with pytest.raises(DataError, match="unknown data set 'mnsit'"):
        load_dataset("mnsit", tmp_path)
    with pytest.raises(DataError, match="needs --data-dir"):
        load_dataset("mnist", "")


def test_emnist_is_loaded_upright(tmp_path):
    glyph = np.zeros((28, 28), dtype=np.uint8)
    glyph[2, 20] = 255  # upright: row 2, column 20
    _write_idx(tmp_path / "emnist-letters-test-images-idx3-ubyte", glyph.T[None])  # stored transposed
    _write_idx(tmp_path / "emnist-letters-test-labels-idx1-ubyte", np.array([1]))
    data = load_dataset("emnist-letters", tmp_path, "test")
    assert data.images[0, 0, 2, 20] == 1.0


def test_npz_keras_style(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.arange(3),
             x_test=np.full((2, 28, 28), 255, np.uint8), y_test=np.arange(2))
    test = load_dataset("npz", tmp_path / "mnist.npz", "test")
    assert len(test) == 2 and float(test.images.max()) == 1.0


def test_image_folder_with_class_subfolders(tmp_path):
    for label, x in (("a", 5), ("b", 20)):
        (tmp_path / label).mkdir()
        img = np.full((64, 48), 255, np.uint8)  # dark ink on white paper, any size
        img[10:50, x : x + 6] = 0
        Image.fromarray(img).save(tmp_path / label / "g.png")
    data = load_dataset("folder", tmp_path)
    assert data.images.shape == (2, 1, 28, 28) and data.labels.tolist() == [0, 1] and data.classes == ("a", "b")
    assert float(data.images[:, :, 0].max()) == 0.0  # inverted to light-on-dark and framed
    assert float(data.images.max()) > 0.9
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match="broken.png"):
        load_dataset("folder", tmp_path)


def test_subset_keeps_types():
    data = load_dataset("digits")
    sub = data.subset(torch.arange(5))
    assert len(sub) == 5 and sub.images.dtype == torch.float32
