"""Reduce, cluster, name and score: one row of the results table (:class:`ClusterSpec`) over several seeds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from igae_robot.clustering.features import Codes, feature_matrix, feature_parts
from igae_robot.errors import ConfigError

__all__ = [
    "REDUCTIONS", "ALGORITHMS", "ClusterSpec", "reduce_features", "cluster", "nearest_to_centres", "name_clusters",
    "scores", "Clustering", "run_spec", "summarise", "confusion_matrix", "typical_members",
]

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
