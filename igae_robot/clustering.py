"""Unsupervised recognition in gesture space: cluster glyphs by what the encoder says about them.

The model never saw a label.  Here glyphs are described by *features* (raw pixels, or parts of
the gesture the encoder drew), optionally *reduced* (PCA, or a spectral embedding of the
nearest-neighbour graph, the scikit-learn stand-in for N2D's UMAP), clustered (k-means or a
Gaussian mixture), and only then are labels used, to name each cluster:

* ``majority``: each cluster takes the most common true class of its members (the article's
  protocol; an evaluation that looks at every label);
* ``label budget``: only B labels are revealed, those of the glyphs nearest the cluster centres
  (Tieleman's "one labelled example per cluster"); clusters without one take the label of the
  nearest labelled centre.

Features are numpy arrays (N, D).  The gesture parts are in the units the encoder outputs, so
that no block drowns the others without standardisation:

    velocity   (N, 2T)  per step, as a fraction of the largest step (the tanh output, in [-1, 1])
    intensity  (N, T)   ink, in [0, 1]
    pressure   (N, T)   marker size, in [0, 1]
    positions  (N, 2T)  pen positions in canvas units ([0, 1] spans the image)
    start      (N, 2)   the start point, canvas units
    centred    (N, 2T)  positions minus their ink-weighted centre (translation-invariant)
    shape      (N, 2T)  centred, then scaled to unit RMS radius (translation- and scale-invariant)
    upright    (N, 2T)  shape, rotated so the ink's principal axis is vertical (deslanted)
    pixels     (N, 784) the image itself, in [0, 1]

``gesture`` names the article's codes, ``velocity+intensity``; any parts join with ``+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from igae_robot.errors import ConfigError

__all__ = [
    "Codes",
    "ClusterSpec",
    "Clustering",
    "FEATURES",
    "ALIASES",
    "REDUCTIONS",
    "ALGORITHMS",
    "encode_codes",
    "feature_matrix",
    "reduce_features",
    "cluster",
    "name_clusters",
    "scores",
    "run_spec",
    "summarise",
    "confusion_matrix",
    "typical_members",
    "file_stem",
    "write_cluster_pictures",
]


@dataclass(frozen=True)
class Codes:
    """What the encoder says about N glyphs, as numpy arrays in the units listed in the module doc."""

    pixels: np.ndarray  # (N, H*W) in [0, 1]
    start: np.ndarray  # (N, 2) canvas units
    velocity: np.ndarray  # (N, T, 2) fraction of the largest step
    pressure: np.ndarray  # (N, T)
    intensity: np.ndarray  # (N, T)
    step: float  # the largest step in canvas units: velocity * step = canvas units

    def __len__(self) -> int:
        return len(self.pixels)

    def positions(self) -> np.ndarray:
        """(N, T, 2) pen positions: start + exclusive cumsum of velocity, canvas units."""
        v = self.velocity * self.step
        return self.start[:, None, :] + np.cumsum(v, axis=1) - v

    def subset(self, index) -> "Codes":
        return Codes(self.pixels[index], self.start[index], self.velocity[index], self.pressure[index],
                     self.intensity[index], self.step)


def encode_codes(model, images, batch_size: int = 2000) -> Codes:
    """Run the encoder of a :class:`~igae_robot.model.network.GestureAutoencoder` over images (N,1,S,S) in [0,1]."""
    import torch

    cfg = model.cfg
    step = cfg.step_size_px / cfg.image_size
    device = next(model.parameters()).device
    parts: dict[str, list[np.ndarray]] = {"start": [], "velocity": [], "pressure": [], "intensity": []}
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            gesture = model.encode(images[i : i + batch_size].float().to(device))
            for name, arrays in parts.items():
                arrays.append(getattr(gesture, name).cpu().double().numpy())
    joined = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    pixels = images.reshape(len(images), -1).double().numpy()
    return Codes(pixels, joined["start"], joined["velocity"] / step, joined["pressure"], joined["intensity"], step)


# ---------------------------------------------------------------------------------------------------------------
# Features


def _centred(codes: Codes) -> np.ndarray:
    """(N,T,2) positions minus their ink-weighted centre: where the glyph sits on the canvas no longer counts."""
    pos = codes.positions()
    w = codes.intensity[..., None] + 1e-6  # + eps: a glyph drawn with no ink still has a centre
    centre = (pos * w).sum(1, keepdims=True) / w.sum(1, keepdims=True)
    return pos - centre


def _shape(codes: Codes) -> np.ndarray:
    """Centred, scaled to unit RMS radius (ink-weighted): a small 3 and a large 3 become the same."""
    c = _centred(codes)
    w = codes.intensity[..., None] + 1e-6
    rms = np.sqrt((c**2 * w).sum((1, 2)) / w.sum((1, 2)))
    return c / np.maximum(rms, 1e-6)[:, None, None]


def _upright(codes: Codes) -> np.ndarray:
    """Shape, rotated so the principal axis of the ink is vertical: slanted and upright writing agree.

    Only the axis is fixed, not its direction (angles in (-90, 90] degrees), so a 6 does not turn into a 9."""
    s = _shape(codes)
    w = codes.intensity + 1e-6
    cov = np.einsum("nt,nti,ntj->nij", w, s, s) / w.sum(1)[:, None, None]  # (N,2,2) ink second moments
    # Angle of the principal axis measured from the y axis (x right, y down).
    angle = 0.5 * np.arctan2(2 * cov[:, 0, 1], cov[:, 1, 1] - cov[:, 0, 0])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = s[..., 0], s[..., 1]
    return np.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


def _flat(f: Callable[[Codes], np.ndarray]) -> Callable[[Codes], np.ndarray]:
    return lambda codes: f(codes).reshape(len(codes), -1)


FEATURES: dict[str, Callable[[Codes], np.ndarray]] = {
    "pixels": lambda c: c.pixels,
    "velocity": _flat(lambda c: c.velocity),
    "intensity": lambda c: c.intensity,
    "pressure": lambda c: c.pressure,
    "positions": _flat(Codes.positions),
    "start": lambda c: c.start,
    "centred": _flat(_centred),
    "shape": _flat(_shape),
    "upright": _flat(_upright),
}
ALIASES = {"gesture": "velocity+intensity"}  # the article's codes


def feature_parts(name: str) -> list[str]:
    """'gesture+pressure' -> ['velocity', 'intensity', 'pressure']; unknown parts raise ConfigError."""
    parts: list[str] = []
    for part in name.split("+"):
        part = part.strip()
        expanded = ALIASES.get(part, part).split("+")
        for p in expanded:
            if p not in FEATURES:
                known = ", ".join([*FEATURES, *ALIASES])
                raise ConfigError(f"unknown feature {p!r} in {name!r}; known: {known} (join with '+')")
            parts.append(p)
    return parts


def feature_matrix(codes: Codes, name: str) -> np.ndarray:
    """(N, D) float64: the named parts side by side."""
    return np.hstack([FEATURES[p](codes) for p in feature_parts(name)]).astype(np.float64)


# ---------------------------------------------------------------------------------------------------------------
# Reduction and clustering

REDUCTIONS = ("none", "standard", "pca", "spectral")
ALGORITHMS = ("kmeans", "gmm")


@dataclass(frozen=True)
class ClusterSpec:
    """One row of the results table: which features, how reduced, how clustered, how named."""

    features: str = "gesture"
    reduce: str = "none"  # none | standard (z-score) | pca | spectral (PCA, then Laplacian eigenmaps)
    k: int = 10
    algorithm: str = "kmeans"
    label_budget: int = 0  # 0: majority label of each cluster; B > 0: B labels, nearest the centres
    dims: int = 10  # output dimensions of the spectral embedding
    pca_dims: int = 50  # PCA dimensions (the 'pca' reduction, and before the spectral embedding)
    neighbours: int = 10  # nearest-neighbour graph of the spectral embedding
    n_init: int = 10  # k-means / GMM restarts; the best of them is kept

    def __post_init__(self) -> None:
        feature_parts(self.features)
        if self.reduce not in REDUCTIONS:
            raise ConfigError(f"unknown reduction {self.reduce!r}; known: {', '.join(REDUCTIONS)}")
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"unknown clustering algorithm {self.algorithm!r}; known: {', '.join(ALGORITHMS)}")
        if self.k < 2:
            raise ConfigError(f"k must be at least 2, got {self.k}")
        if self.label_budget < 0:
            raise ConfigError(f"label budget must be >= 0, got {self.label_budget}")
        for name in ("dims", "pca_dims", "neighbours", "n_init"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")

    def check_fits(self, n: int) -> None:
        """Refuse, before any work, a spec that ``n`` glyphs cannot satisfy (scikit-learn would fail mid-way)."""
        if self.k > n:
            raise ConfigError(f"k={self.k} clusters need at least {self.k} glyphs, got {n}; lower --k or raise --limit")
        if self.reduce == "spectral" and n <= max(self.neighbours, self.dims + 1):
            raise ConfigError(f"the spectral embedding ({self.neighbours} neighbours, {self.dims} dims) needs more than "
                              f"{max(self.neighbours, self.dims + 1)} glyphs, got {n}; raise --limit or lower --dims")

    @property
    def protocol(self) -> str:
        return "majority" if self.label_budget == 0 else f"{self.label_budget} labels"


def reduce_features(x: np.ndarray, spec: ClusterSpec, seed: int) -> np.ndarray:
    """(N, D) -> (N, D') in the space the clusters are found in."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import SpectralEmbedding
    from sklearn.preprocessing import StandardScaler

    if spec.reduce == "none":
        return x
    if spec.reduce == "standard":
        return StandardScaler().fit_transform(x)
    pca = PCA(min(spec.pca_dims, *x.shape), random_state=seed).fit_transform(x)
    if spec.reduce == "pca":
        return pca
    # N2D's idea with scikit-learn only: cluster on a low-dimensional embedding of the k-nearest-neighbour graph,
    # where a digit class is a connected piece of the manifold rather than a round blob.
    embedding = SpectralEmbedding(spec.dims, affinity="nearest_neighbors", n_neighbors=spec.neighbours, random_state=seed)
    return embedding.fit_transform(pca)


def cluster(z: np.ndarray, spec: ClusterSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster (N, D') points -> (assignments (N,) in [0, k), centres (k, D'))."""
    if spec.algorithm == "kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(spec.k, n_init=spec.n_init, random_state=seed).fit(z)
        return km.labels_.astype(np.int64), km.cluster_centers_
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(spec.k, covariance_type="full", n_init=spec.n_init, random_state=seed).fit(z)
    return gmm.predict(z).astype(np.int64), gmm.means_


def nearest_to_centres(z: np.ndarray, assignments: np.ndarray, centres: np.ndarray, per_cluster: Sequence[int]) -> list[np.ndarray]:
    """For each cluster j, the indices of its ``per_cluster[j]`` members nearest its centre (closest first)."""
    out = []
    for j, (centre, n) in enumerate(zip(centres, per_cluster)):
        members = np.flatnonzero(assignments == j)
        d = ((z[members] - centre) ** 2).sum(1)
        out.append(members[np.argsort(d, kind="stable")[:n]])
    return out


def name_clusters(z: np.ndarray, assignments: np.ndarray, centres: np.ndarray, labels: np.ndarray, label_budget: int) -> np.ndarray:
    """(k,) class of each cluster.  label_budget 0: its majority class; B > 0: only B glyphs' labels are read."""
    k = len(centres)
    n_classes = int(labels.max()) + 1
    sizes = np.bincount(assignments, minlength=k)
    if label_budget == 0:
        names = np.zeros(k, dtype=np.int64)
        for j in range(k):
            if sizes[j]:
                names[j] = np.bincount(labels[assignments == j], minlength=n_classes).argmax()
        return names
    # Spread the budget evenly, the remainder to the largest clusters; a cluster labels itself by
    # the majority of its revealed examples (a tie goes to the class of the example nearest the centre).
    per = np.full(k, label_budget // k)
    per[np.argsort(-sizes, kind="stable")[: label_budget % k]] += 1
    per = np.minimum(per, sizes)
    names = np.full(k, -1, dtype=np.int64)
    for j, idx in enumerate(nearest_to_centres(z, assignments, centres, per)):
        if len(idx):
            votes = np.bincount(labels[idx], minlength=n_classes)
            best = np.flatnonzero(votes == votes.max())
            names[j] = next(int(labels[i]) for i in idx if labels[i] in best)
    labelled = np.flatnonzero(names >= 0)
    for j in np.flatnonzero(names < 0):  # no revealed example: borrow from the nearest labelled centre
        names[j] = names[labelled[np.argmin(((centres[labelled] - centres[j]) ** 2).sum(1))]]
    return names


def scores(labels: np.ndarray, assignments: np.ndarray, names: np.ndarray) -> dict[str, float]:
    """accuracy (of the named clusters), NMI and ARI (of the partition itself, no naming involved)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "accuracy": float((names[assignments] == labels).mean()),
        "nmi": float(normalized_mutual_info_score(labels, assignments)),
        "ari": float(adjusted_rand_score(labels, assignments)),
    }


@dataclass
class Clustering:
    """The result of one spec over several seeds; ``assignments``/``names``/``z`` are from the first seed."""

    spec: ClusterSpec
    seeds: list[int]
    runs: list[dict[str, float]]  # one scores() row per seed
    assignments: np.ndarray  # (N,)
    names: np.ndarray  # (k,)
    z: np.ndarray  # (N, D') the clustering space
    centres: np.ndarray  # (k, D')
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def mean(self, key: str) -> float:
        return float(np.mean([r[key] for r in self.runs]))

    def std(self, key: str) -> float:
        return float(np.std([r[key] for r in self.runs]))

    def predictions(self) -> np.ndarray:
        return self.names[self.assignments]


def run_spec(codes: Codes, labels: np.ndarray, spec: ClusterSpec, seeds: Sequence[int]) -> Clustering:
    """Features -> reduction -> clustering -> naming -> scores, once per seed (each seed drives every random step)."""
    import time

    if len(seeds) < 1:
        raise ConfigError("need at least one seed")
    labels = np.asarray(labels, dtype=np.int64)
    if (labels < 0).any():
        raise ConfigError("every glyph needs a label to score the clusters (this data set has unlabelled glyphs)")
    spec.check_fits(len(labels))
    tic = time.perf_counter()
    x = feature_matrix(codes, spec.features)
    runs, first = [], None
    for seed in seeds:
        z = reduce_features(x, spec, seed)
        assignments, centres = cluster(z, spec, seed)
        names = name_clusters(z, assignments, centres, labels, spec.label_budget)
        runs.append(scores(labels, assignments, names))
        if first is None:
            first = (assignments, names, z, centres)
    return Clustering(spec, list(seeds), runs, *first, seconds=time.perf_counter() - tic)


def summarise(result: Clustering) -> dict:
    """A JSON-ready row: the spec, mean and std of each score, and the per-seed values."""
    row = {**result.spec.__dict__, "protocol": result.spec.protocol, "seeds": result.seeds, "seconds": round(result.seconds, 2)}
    for key in ("accuracy", "nmi", "ari"):
        row[key] = result.mean(key)
        row[f"{key}_std"] = result.std(key)
        row[f"{key}_runs"] = [r[key] for r in result.runs]
    return row


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class, column = the class its cluster was named."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (labels, predictions), 1)
    return m


def typical_members(result: Clustering, per_cluster: int = 8) -> list[tuple[int, np.ndarray]]:
    """(cluster, indices of its members nearest the centre) for every cluster, largest cluster first."""
    order = np.argsort(-np.bincount(result.assignments, minlength=len(result.centres)), kind="stable")
    nearest = nearest_to_centres(result.z, result.assignments, result.centres, [per_cluster] * len(result.centres))
    return [(int(j), nearest[j]) for j in order]


def file_stem(spec: ClusterSpec) -> str:
    """A file-name part that tells the rows apart: gesture-spectral-k10-kmeans-majority."""
    protocol = "majority" if spec.label_budget == 0 else f"budget{spec.label_budget}"
    text = f"{spec.features}-{spec.reduce}-k{spec.k}-{spec.algorithm}-{protocol}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.replace("+", "_"))


def write_cluster_pictures(ckpt, glyphs, result: Clustering, out_dir: str | Path, per_cluster: int = 8) -> list[Path]:
    """confusion-<row>.png and clusters-<row>.png (each cluster's typical gestures, drawn by the checkpoint's
    model) for one result's first seed; returns the paths."""
    from igae_robot.model.checkpoint import encode_gestures
    from igae_robot.training.pictures import save_cluster_gestures, save_confusion_matrix

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
