"""Glyph data sets: the embedded default (scikit-learn digits), IDX/.npz files, and image folders.

Every loader returns a :class:`GlyphSet`: images (N,1,28,28) float32 in [0,1], light ink on dark,
and integer labels (-1 where unknown).  Missing or corrupt files raise :class:`DataError` naming
the file and what is wrong.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from igae_robot.config import DataConfig
from igae_robot.errors import DataError
from igae_robot.images.glyphs import to_glyph
from igae_robot.images.read import IMAGE_SUFFIXES, read_image

__all__ = ["GlyphSet", "load_dataset", "training_images", "read_idx", "DATASETS", "EMNIST_SPLITS"]

DATASETS = ("digits", "mnist", "fashion", "kmnist", "emnist-<split>", "npz", "folder")
EMNIST_SPLITS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


@dataclass(frozen=True)
class GlyphSet:
    images: Tensor  # (N,1,28,28) float32 in [0,1]
    labels: Tensor  # (N,) int64, -1 = unknown
    name: str
    classes: tuple[str, ...] = ()  # label -> printable class name, when known
    paths: tuple[str, ...] = ()  # source files, for image folders

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "GlyphSet":
        index = torch.as_tensor(index)
        paths = tuple(self.paths[i] for i in index.tolist()) if self.paths else ()
        return GlyphSet(self.images[index], self.labels[index], self.name, self.classes, paths)

    def first(self, limit: int) -> "GlyphSet":
        """The first ``limit`` glyphs; all of them when limit is 0 (what ``--limit 0`` means)."""
        return self.subset(torch.arange(min(limit, len(self)))) if limit else self


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into a numpy array."""
    path = Path(path)
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot decompress ({exc}); is the download complete?") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{raw[2]:02x} is not supported (expected 0x08, unsigned byte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header says {dims} ({expected} bytes) but the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, names: list[str]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(f"{directory}: none of {', '.join(names)} (or .gz) found")


def _from_uint8(images: np.ndarray, labels: np.ndarray, name: str, source: Path, classes=()) -> GlyphSet:
    if images.ndim != 3:
        raise DataError(f"{source}: expected images of shape (N, H, W), got {images.shape}")
    if len(images) != len(labels):
        raise DataError(f"{source}: {len(images)} images but {len(labels)} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    if x.shape[-2:] != (28, 28):
        x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return GlyphSet(x.contiguous(), torch.as_tensor(labels.astype(np.int64)), name, tuple(classes))


def _digits(split: str) -> GlyphSet:
    """scikit-learn's 1797 real 8×8 handwritten digits, upsampled into a 20×20 box in 28×28 like MNIST."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # (N,1,8,8)
    x = torch.nn.functional.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
    x = torch.nn.functional.pad(x, (4, 4, 4, 4)).clamp(0, 1)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    n_train = int(len(x) * 0.8)  # fixed split: first 80% train, the rest test
    index = slice(0, n_train) if split == "train" else slice(n_train, None)
    return GlyphSet(x[index].contiguous(), y[index], "digits", tuple("0123456789"))


def _idx_pair(directory: Path, split: str, name: str, prefix: str = "", transpose: bool = False, classes=()) -> GlyphSet:
    tag = "train" if split == "train" else ("t10k" if not prefix else "test")
    img_path = _find(directory, [f"{prefix}{tag}-images-idx3-ubyte", f"{prefix}{tag}-images.idx3-ubyte"])
    lab_path = _find(directory, [f"{prefix}{tag}-labels-idx1-ubyte", f"{prefix}{tag}-labels.idx1-ubyte"])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if transpose:  # EMNIST stores each image transposed
        images = images.transpose(0, 2, 1)
    return _from_uint8(images, labels, name, img_path, classes)


def _npz(path: Path, split: str, name: str) -> GlyphSet:
    """Keras-style ``mnist.npz`` (x_train, y_train, x_test, y_test) or KMNIST's imgs/labels pair."""
    if path.is_dir():
        tag = "train" if split == "train" else "test"
        imgs, labs = path / f"kmnist-{tag}-imgs.npz", path / f"kmnist-{tag}-labels.npz"
        if imgs.is_file() and labs.is_file():
            return _from_uint8(_npz_array(imgs, "arr_0"), _npz_array(labs, "arr_0"), name, imgs)
        found = sorted(path.glob("*.npz"))
        if len(found) != 1:
            raise DataError(f"{path}: expected one .npz file (x_train, y_train, x_test, y_test), found {len(found)}")
        path = found[0]
    key = "train" if split == "train" else "test"
    return _from_uint8(_npz_array(path, f"x_{key}"), _npz_array(path, f"y_{key}"), name, path)


def _npz_array(path: Path, key: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            if key not in data.files:
                raise DataError(f"{path}: no array {key!r} (has {', '.join(data.files)})")
            return data[key]
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None


def _folder(directory: Path, invert: bool | None) -> GlyphSet:
    """Every image under ``directory``; labels from the first sub-folder name (sorted), else -1."""
    if not directory.is_dir():
        raise DataError(f"{directory}: no such folder")
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{directory}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    groups = sorted({p.relative_to(directory).parts[0] for p in files if len(p.relative_to(directory).parts) > 1})
    glyphs, labels = [], []
    for p in files:
        glyphs.append(to_glyph(read_image(p), invert=invert)[0])
        parts = p.relative_to(directory).parts
        labels.append(groups.index(parts[0]) if len(parts) > 1 else -1)
    x = torch.from_numpy(np.stack(glyphs))[:, None]
    return GlyphSet(x, torch.tensor(labels, dtype=torch.int64), "folder", tuple(groups), tuple(map(str, files)))


def load_dataset(name: str, directory: str | Path = "", split: str = "train", invert: bool | None = None) -> GlyphSet:
    """Load a glyph data set.

    name: ``digits`` (embedded), ``mnist``, ``fashion``, ``kmnist``, ``emnist-<split>`` (e.g. emnist-letters),
    ``npz`` (a Keras-style file or folder), or ``folder`` (images, labels from sub-folder names).
    split: ``train`` or ``test``.
    """
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; known: train, test")
    if name == "digits":
        return _digits(split)
    if not directory:
        raise DataError(f"data set {name!r} needs --data-dir (the folder holding its files)")
    directory = Path(directory)
    if not directory.exists():
        raise DataError(f"{directory}: no such file or folder")
    if name in ("mnist", "fashion"):
        return _idx_pair(directory, split, name, classes=tuple("0123456789") if name == "mnist" else ())
    if name == "kmnist":
        if list(directory.glob("kmnist-*.npz")):
            return _npz(directory, split, name)
        return _idx_pair(directory, split, name)
    if name.startswith("emnist-"):
        sub = name.split("-", 1)[1]
        if sub not in EMNIST_SPLITS:
            raise DataError(f"unknown EMNIST split {sub!r}; known: {', '.join(EMNIST_SPLITS)}")
        return _idx_pair(directory, split, name, prefix=f"emnist-{sub}-", transpose=True)
    if name == "npz":
        return _npz(directory, split, name)
    if name == "folder":
        return _folder(directory, invert)
    raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")


def training_images(data: DataConfig) -> GlyphSet:
    """A run's training images: the train split of ``data.name``, cut to ``data.limit``.

    The one place the limit is applied: training and the evaluation after it use the same images."""
    return load_dataset(data.name, data.dir, "train").first(data.limit)
