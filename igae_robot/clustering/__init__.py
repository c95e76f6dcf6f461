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

The package: :mod:`~igae_robot.clustering.features` (what describes a glyph),
:mod:`~igae_robot.clustering.clusters` (reduce, cluster, name, score) and
:mod:`~igae_robot.clustering.run` (``igae cluster``: a data set in, pictures and results.json out).
"""

from igae_robot.clustering.clusters import (
    ALGORITHMS,
    REDUCTIONS,
    ClusterSpec,
    Clustering,
    cluster,
    confusion_matrix,
    name_clusters,
    nearest_to_centres,
    reduce_features,
    run_spec,
    scores,
    summarise,
    typical_members,
)
from igae_robot.clustering.features import ALIASES, FEATURES, Codes, encode_codes, feature_matrix, feature_parts
from igae_robot.clustering.run import ClusterRun, cluster_glyphs, file_stem, write_cluster_pictures, write_cluster_run

__all__ = [
    "Codes",
    "ClusterSpec",
    "Clustering",
    "ClusterRun",
    "FEATURES",
    "ALIASES",
    "REDUCTIONS",
    "ALGORITHMS",
    "encode_codes",
    "feature_parts",
    "feature_matrix",
    "reduce_features",
    "cluster",
    "nearest_to_centres",
    "name_clusters",
    "scores",
    "run_spec",
    "summarise",
    "confusion_matrix",
    "typical_members",
    "file_stem",
    "write_cluster_pictures",
    "cluster_glyphs",
    "write_cluster_run",
]
