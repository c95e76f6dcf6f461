"""Unsupervised recognition in gesture space: features, naming protocols, and ``igae cluster`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.clustering import (
    ClusterSpec,
    Codes,
    encode_codes,
    feature_matrix,
    feature_parts,
    name_clusters,
    run_spec,
)
from igae_robot.errors import ConfigError

runner = CliRunner()


def _codes(n: int = 6, steps: int = 5, seed: int = 0) -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        pixels=rng.random((n, 784)),
        start=rng.random((n, 2)),
        velocity=rng.uniform(-1, 1, (n, steps, 2)),
        pressure=rng.random((n, steps)),
        intensity=rng.random((n, steps)),
        step=3 / 28,
    )


def _moved(codes: Codes, rotate_deg: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> Codes:
    """The same drawings rotated about their start, scaled and shifted (velocity rotates and scales too)."""
    a = np.deg2rad(rotate_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return Codes(codes.pixels, codes.start + np.asarray(shift), scale * codes.velocity @ rot.T, codes.pressure,
                 codes.intensity, codes.step)


def test_feature_names_shapes_and_the_article_alias():
    codes = _codes(n=6, steps=5)
    assert feature_parts("gesture") == ["velocity", "intensity"]
    assert feature_matrix(codes, "gesture").shape == (6, 15)
    assert feature_matrix(codes, "pixels").shape == (6, 784)
    assert feature_matrix(codes, "gesture+pressure+start").shape == (6, 22)
    np.testing.assert_allclose(feature_matrix(codes, "velocity"), codes.velocity.reshape(6, -1))
    # positions = start + exclusive cumsum of velocity (canvas units): step 0 is at the start
    pos = feature_matrix(codes, "positions").reshape(6, 5, 2)
    np.testing.assert_allclose(pos[:, 0], codes.start)
    np.testing.assert_allclose(pos[:, 2], codes.start + (codes.velocity[:, 0] + codes.velocity[:, 1]) * codes.step)


def test_unknown_feature_or_option_names_the_choices():
    with pytest.raises(ConfigError, match="unknown feature 'ink'.*known: pixels"):
        feature_matrix(_codes(), "velocity+ink")
    with pytest.raises(ConfigError, match="unknown reduction 'umap'; known: none, standard, pca, spectral"):
        ClusterSpec(reduce="umap")
    with pytest.raises(ConfigError, match="unknown clustering algorithm"):
        ClusterSpec(algorithm="dbscan")


def test_normalised_trajectories_forget_what_they_should():
    codes = _codes(n=4, steps=7, seed=1)
    shifted = _moved(codes, shift=(0.2, -0.1))
    resized = _moved(codes, scale=0.5)
    # A tall drawing slanted by 25 degrees: upright undoes the slant.  (Only the axis is fixed, not its
    # direction, so a drawing turned past 90 degrees would come back upside down: a 6 must stay a 6.)
    tall = Codes(codes.pixels, codes.start, codes.velocity * [0.2, 1.0], codes.pressure, codes.intensity, codes.step)
    turned = _moved(tall, rotate_deg=25.0)
    np.testing.assert_allclose(feature_matrix(shifted, "centred"), feature_matrix(codes, "centred"), atol=1e-12)
    np.testing.assert_allclose(feature_matrix(resized, "shape"), feature_matrix(codes, "shape"), atol=1e-12)
    assert not np.allclose(feature_matrix(turned, "shape"), feature_matrix(tall, "shape"), atol=1e-3)
    np.testing.assert_allclose(feature_matrix(turned, "upright"), feature_matrix(tall, "upright"), atol=1e-9)


def test_majority_and_label_budget_naming_by_hand():
    # Two clusters on a line: centre 0 at x=0 (members at 0, 1, 5), centre 1 at x=10 (members at 9, 10, 11).
    z = np.array([[0.0], [1.0], [5.0], [9.0], [10.0], [11.0]])
    assignments = np.array([0, 0, 0, 1, 1, 1])
    centres = np.array([[0.0], [10.0]])
    labels = np.array([3, 7, 7, 1, 2, 1])
    assert name_clusters(z, assignments, centres, labels, 0).tolist() == [7, 1]  # majority of each cluster
    assert name_clusters(z, assignments, centres, labels, 2).tolist() == [3, 2]  # only the centre glyphs' labels
    # 1 label: the larger-first rule gives it to cluster 0 (a tie in size: the first); cluster 1 borrows it.
    assert name_clusters(z, assignments, centres, labels, 1).tolist() == [3, 3]
    # 4 labels = 2 per cluster: {3, 7} and {2, 1} tie, so the class of the glyph nearest the centre wins.
    assert name_clusters(z, assignments, centres, labels, 4).tolist() == [3, 2]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small gesture autoencoder trained for a few seconds on the embedded digits, without labels."""
    from igae_robot.config import apply_overrides, load_preset
    from igae_robot.training.train import train

    out = tmp_path_factory.mktemp("cluster-model")
    config = apply_overrides(load_preset("igae"), ["train.epochs=4", "data.name=digits", "model.hidden=[128]"])
    train(config, out)
    return out / "checkpoint.pt"


@pytest.fixture(scope="module")
def digit_codes(tiny_model):
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.training.data import load_dataset

    test = load_dataset("digits", split="test")
    return encode_codes(load_checkpoint(tiny_model).model, test.images), test.labels.numpy()


def test_gesture_clusters_recognise_digits_better_than_chance(digit_codes):
    codes, labels = digit_codes
    largest_class = np.bincount(labels).max() / len(labels)  # what naming every glyph alike would score
    result = run_spec(codes, labels, ClusterSpec("gesture", "standard", k=10), seeds=range(2))
    assert result.mean("accuracy") > 2 * largest_class, result.runs
    assert result.mean("nmi") > 0.2 and result.mean("ari") > 0.1, result.runs


def test_a_label_budget_never_beats_naming_by_every_label(digit_codes):
    # Same seeds, same clusters: majority naming is the best naming of a fixed partition.
    codes, labels = digit_codes
    majority = run_spec(codes, labels, ClusterSpec("gesture", "spectral", k=15), seeds=range(2))
    budget = run_spec(codes, labels, ClusterSpec("gesture", "spectral", k=15, label_budget=15), seeds=range(2))
    np.testing.assert_array_equal(majority.assignments, budget.assignments)
    for m, b in zip(majority.runs, budget.runs):
        assert b["accuracy"] <= m["accuracy"]
        assert b["nmi"] == m["nmi"]  # the partition's own scores do not depend on naming


def test_cli_cluster_prints_the_table_and_writes_pictures(tiny_model, tmp_path):
    result = runner.invoke(app, ["cluster", str(tiny_model), "--data", "digits", "--k", "3,4",
                                 "--features", "gesture,pixels", "--reduce", "standard", "--seeds", "2",
                                 "--label-budget", "4", "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "NMI" in result.output and "ARI" in result.output
    summary = json.loads((tmp_path / "results.json").read_text())
    rows = summary["results"]
    assert [(r["features"], r["k"]) for r in rows] == [("gesture", 3), ("gesture", 4), ("pixels", 3), ("pixels", 4)]
    assert all(len(r["accuracy_runs"]) == 2 and 0 <= r["accuracy"] <= 1 for r in rows)
    for name in ("confusion-gesture-standard-k3-kmeans-budget4.png", "clusters-pixels-standard-k4-kmeans-budget4.png"):
        assert (tmp_path / name).stat().st_size > 1000, name


def test_cli_cluster_user_errors_exit_2(tiny_model, tmp_path):
    result = runner.invoke(app, ["cluster", str(tiny_model), "--features", "ink", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown feature 'ink'" in result.output
    result = runner.invoke(app, ["cluster", str(tiny_model), "--k", "ten", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--k must be a comma-separated list" in result.output
    result = runner.invoke(app, ["cluster", str(tmp_path / "missing.pt")])
    assert result.exit_code == 2 and "no such checkpoint" in result.output


def test_specs_that_the_glyphs_cannot_satisfy_are_refused_before_any_work():
    with pytest.raises(ConfigError, match="dims must be at least 1, got 0"):
        ClusterSpec(reduce="spectral", dims=0)
    with pytest.raises(ConfigError, match="k=10 clusters need at least 10 glyphs, got 6"):
        run_spec(_codes(n=6), np.arange(6) % 3, ClusterSpec(k=10), [0])
    with pytest.raises(ConfigError, match="spectral embedding .* needs more than 11 glyphs, got 8"):
        ClusterSpec(k=2, reduce="spectral").check_fits(8)


def test_cli_cluster_parses_its_lists_into_specs(tmp_path, monkeypatch):
    import igae_robot.clustering as clustering

    calls = []

    def fake(checkpoint, specs, seeds, data, data_dir, split, limit, device, on_spec):
        calls.append((checkpoint, [(s.features, s.reduce, s.k) for s in specs], list(seeds), data, split, limit, device))
        raise ConfigError("stop here")

    monkeypatch.setattr(clustering, "cluster_glyphs", fake)
    result = runner.invoke(app, ["cluster", "run", "--k", "3, 5", "--features", "gesture,pixels", "--seeds", "2",
                                 "--limit", "9", "--device", "cpu", "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2 and "stop here" in result.output
    assert calls == [(Path("run"), [("gesture", "none", 3), ("gesture", "none", 5), ("pixels", "none", 3), ("pixels", "none", 5)],
                      [0, 1], "digits", "test", 9, "cpu")]
    result = runner.invoke(app, ["cluster", "run", "--seeds", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--seeds must be at least 1, got 0" in result.output and len(calls) == 1
