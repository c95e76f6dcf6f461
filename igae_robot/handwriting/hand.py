"""A hand: a gesture model plus, per character, a distribution of its encoder features to draw from.

Writing the same letter twice by hand never gives the same stroke.  A :class:`Hand` keeps, for each
character it knows, a Gaussian mixture over the encoder features of many training images of that
character, and draws a new glyph by sampling features and running them through the model's gesture
head.  ``neatness`` scales the spread: 1 always draws the class's most typical glyph, 0 1.5 times
the natural spread.

The mixture lives in the character's own principal subspace of the features (its mean plus ``dims``
axes, fitted with scikit-learn): one subspace shared by all characters, as in format 1, lost what
tells an m from an n — features projected into a shared 16-d space drew the letters with 4 times
the MSE of the features themselves (0.042 vs 0.0097), 8 axes per character lose almost nothing
(0.0099).  Sampled features are kept where the encoder's can be (>= 0 after its ReLU).

A hand is saved as one ``.pt`` of tensors, numbers and strings (``torch.load(weights_only=True)``):
the model's config and float16 weights, the characters, the glyph box (baseline and cap line in
glyph units, so letters and digits of different models line up on a page) and the mixtures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from igae_robot.model.checkpoint import Checkpoint, first_line, load_trusted
from igae_robot.config import Config
from igae_robot.errors import CheckpointError, ConfigError, IgaeError
from igae_robot.gesture import Gesture
from igae_robot.model.network import GestureAutoencoder, build_model

__all__ = ["Hand", "fit_hand", "save_hand", "load_hand", "builtin_hand", "HAND_FORMAT", "dataset_chars"]

HAND_FORMAT = 2


@dataclass
class Hand:
    model: GestureAutoencoder
    config: Config
    chars: str  # label -> character (a character may appear once)
    baseline: float  # glyph units (y down) where the line's baseline sits on this model's canvas
    cap_top: float  # glyph units where capitals and digits start
    pca_mean: np.ndarray  # (C, D) mean encoder features per class
    pca_axes: np.ndarray  # (C, k, D) each class's principal axes
    weights: np.ndarray  # (C, K) mixture weights per class
    means: np.ndarray  # (C, K, k) in the class's axes
    chols: np.ndarray  # (C, K, k, k) Cholesky factors of the covariances
    source: str = ""

    @property
    def cap_height(self) -> float:
        return self.baseline - self.cap_top

    def knows(self, char: str) -> bool:
        return char in self.chars

    @torch.no_grad()
    def write(self, chars: str, rng: np.random.Generator, neatness: float = 0.8) -> list[Gesture]:
        """One freshly sampled gesture per character (all known to this hand), in glyph units."""
        if not 0.0 <= neatness <= 1.0:
            raise ConfigError(f"--neatness must be between 0 and 1, got {neatness}")
        spread = 1.5 * (1.0 - neatness)
        features = []
        for char in chars:
            c = self.chars.index(char)
            if neatness >= 1.0:
                k = int(np.argmax(self.weights[c]))
            else:
                k = int(rng.choice(len(self.weights[c]), p=self.weights[c] / self.weights[c].sum()))
            code = self.means[c, k] + spread * self.chols[c, k] @ rng.standard_normal(self.means.shape[-1])
            features.append(code @ self.pca_axes[c] + self.pca_mean[c])  # (D,)
        if not features:
            return []
        x = torch.as_tensor(np.stack(features), dtype=torch.float32)
        if self.config.model.activation == "relu":  # the encoder's features are never negative
            x = x.clamp(min=0.0)
        gesture = self.model.decode_features(x)
        labels = torch.as_tensor([ord(ch) for ch in chars])
        drawn = gesture.to_gestures(variance=self.model.variance(gesture), dt_s=self.config.train.dt_s, labels=labels)
        return [_lift_off_canvas(g) for g in drawn]


def _lift_off_canvas(g: Gesture) -> Gesture:
    """The pen up wherever the gesture leaves the canvas.  Ink out there never showed in the training
    loss, so a model may keep the pen down while it wanders (a j went on 0.3 canvas above its dot)."""
    outside = ((g.points < 0.0) | (g.points > 1.0)).any(axis=1)
    if not outside.any():
        return g
    return Gesture(g.points, g.pressure, np.where(outside, 0.0, g.intensity), g.dt_s, g.label, g.variance)


@torch.no_grad()
def fit_hand(
    ckpt: Checkpoint,
    images: torch.Tensor,
    labels: torch.Tensor,
    chars: str,
    baseline: float,
    cap_top: float,
    components: int = 4,
    dims: int = 8,
    per_class: int = 600,
    seed: int = 0,
    skip_missing: bool = False,
) -> Hand:
    """Fit the per-character mixtures on the encoder features of ``images`` (N,1,S,S) labelled into ``chars``.

    skip_missing: a character with too few images is dropped (the hand does not know it) instead of an error.
    """
    from sklearn.mixture import GaussianMixture

    model = ckpt.model.eval()
    rng = np.random.default_rng(seed)
    picked, known = [], list(chars)
    least = max(components * 2, dims + 1)
    for c in range(len(chars)):
        idx = np.flatnonzero(labels.numpy() == c)
        if len(idx) < least:
            if not skip_missing:
                raise IgaeError(f"character {chars[c]!r} has {len(idx)} training images; the mixture needs at least {least}")
            known[c] = "\0"  # never in a text
            idx = np.flatnonzero(labels.numpy() >= 0)[:least]  # a placeholder fit, never sampled
        picked.append(rng.permutation(idx)[:per_class])
    feats = [_features(model, images[torch.as_tensor(p)]) for p in picked]
    centres, axes, weights, means, chols = [], [], [], [], []
    for f in feats:
        centre = f.mean(axis=0)
        _, _, vt = np.linalg.svd(f - centre, full_matrices=False)
        gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-4, random_state=seed).fit((f - centre) @ vt[:dims].T)
        centres.append(centre)
        axes.append(vt[:dims])
        weights.append(gmm.weights_)
        means.append(gmm.means_)
        chols.append(np.linalg.cholesky(gmm.covariances_))
    return Hand(model, ckpt.config, "".join(known), baseline, cap_top, np.stack(centres), np.stack(axes), np.stack(weights),
                np.stack(means), np.stack(chols))


def _features(model: GestureAutoencoder, images: torch.Tensor, batch: int = 512) -> np.ndarray:
    """(N, hidden[-1]) encoder features, float64."""
    return torch.cat([model.encoder(images[i : i + batch].float()) for i in range(0, len(images), batch)]).double().numpy()


def save_hand(path: str | os.PathLike, hand: Hand) -> Path:
    """Write a hand as one small ``.pt`` (float16 weights), atomically."""
    path = Path(path)
    state = {
        "format": HAND_FORMAT,
        "config": hand.config.to_dict(),
        "model": {k: v.detach().cpu().half() for k, v in hand.model.state_dict().items()},
        "chars": hand.chars,
        "baseline": float(hand.baseline),
        "cap_top": float(hand.cap_top),
        **{k: torch.as_tensor(getattr(hand, k), dtype=torch.float32) for k in ("pca_mean", "pca_axes", "weights", "means", "chols")},
    }
    from igae_robot.atomic import atomic_binary_writer  # refuses devices, pipes and links; keeps the umask

    with atomic_binary_writer(path) as stream:
        torch.save(state, stream)
    return path


def load_hand(path: str | os.PathLike) -> Hand:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such handwriting model")
    state = load_trusted(path, "handwriting model")
    if not isinstance(state, dict) or state.get("format") != HAND_FORMAT or "chars" not in state:
        raise CheckpointError(f"{path}: not an igae handwriting model of format {HAND_FORMAT} (a training checkpoint? see --digits-model)")
    try:
        config = Config.from_dict(state["config"])
        model = build_model(config.model)
        model.load_state_dict({k: v.float() for k, v in state["model"].items()})
        arrays = {k: state[k].double().numpy() for k in ("pca_mean", "pca_axes", "weights", "means", "chols")}
        chars, baseline, cap_top = str(state["chars"]), float(state["baseline"]), float(state["cap_top"])
    except (IgaeError, KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model ({first_line(exc)})") from None
    model.eval()
    return Hand(model, config, chars, baseline, cap_top, source=str(path), **arrays)


def builtin_hand(name: str) -> Hand:
    """``"digits"`` or ``"letters"``: the pretrained hands shipped as package data."""
    ref = resources.files("igae_robot.handwriting.models").joinpath(f"{name}.pt")
    with resources.as_file(ref) as path:
        if not Path(path).is_file():
            raise CheckpointError(
                f"the built-in {name} handwriting model is missing ({path}); build it with "
                f"benchmarks/build_handwriting_models.py or pass --{name}-model"
            )
        return load_hand(path)


# EMNIST's label orders (the data files carry no names).
_EMNIST_CHARS = {
    "digits": "0123456789",
    "mnist": "0123456789",
    "letters": "?abcdefghijklmnopqrstuvwxyz",  # label 0 is unused
    "byclass": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "bymerge": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt",
    "balanced": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt",
}


def dataset_chars(name: str, classes: tuple[str, ...]) -> str:
    """label -> character for a training data set: its class names when they are single characters, EMNIST's orders."""
    if name.startswith("emnist-") and name.split("-", 1)[1] in _EMNIST_CHARS:
        return _EMNIST_CHARS[name.split("-", 1)[1]]
    if classes and all(len(c) == 1 for c in classes):
        return "".join(classes)
    raise ConfigError(f"cannot tell which characters the labels of data set {name!r} are; train on mnist, digits, emnist-*, or a folder named by character")


def hand_from_checkpoint(path: str | os.PathLike, data_dir: str = "", per_class: int = 600) -> Hand:
    """A hand from a training checkpoint (``igae train``): its mixtures are fitted on the data set it was
    trained on (``data_dir`` overrides the folder recorded in the checkpoint).  Glyphs are assumed to sit
    in an MNIST-like 20x20 box, so its characters are as tall as digits."""
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.training.data import load_dataset

    ckpt = load_checkpoint(path)
    data = load_dataset(ckpt.config.data.name, data_dir or ckpt.config.data.dir, "train")
    chars = dataset_chars(ckpt.config.data.name, data.classes)
    known = data.labels >= 0
    if chars.startswith("?"):  # EMNIST letters: label 0 unused
        known &= data.labels > 0
    hand = fit_hand(ckpt, data.images[known], data.labels[known], chars, baseline=24 / 28, cap_top=4 / 28,
                    per_class=per_class, skip_missing=True)
    hand.source = str(path)
    return hand


def load_any_hand(path: str | os.PathLike, data_dir: str = "") -> Hand:
    """A hand ``.pt`` (``benchmarks/build_handwriting_models.py``) or a training checkpoint."""
    try:
        return load_hand(path)
    except CheckpointError as exc:
        if "not an igae handwriting model" not in str(exc):
            raise
    return hand_from_checkpoint(path, data_dir)
