"""``igae cluster``: unsupervised recognition, by clustering what the encoder says about each glyph."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import command_group, console, out, output_folder, user_errors
from .train_commands import DATA_HELP

app = command_group()


def _list(text: str, what: str, convert=str) -> list:
    """'10,25' -> [10, 25]; a bad item is a user error naming the option."""
    from igae_robot.errors import ConfigError

    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        values = [convert(t) for t in items]
    except ValueError:
        raise ConfigError(f"--{what} must be a comma-separated list, got {text!r}") from None
    if not values:
        raise ConfigError(f"--{what} is empty")
    return values


def _results_table(title: str, results):
    from rich.table import Table

    # "labels": all = each cluster named by its majority class; a number = that many labels revealed.
    table = Table(title=title, caption="mean±std over seeds; labels: all = majority naming, N = N labels revealed")
    for name in ("features", "reduce", "k", "algo", "labels", "accuracy %", "NMI", "ARI", "s"):
        numeric = name in ("k", "labels", "accuracy %", "NMI", "ARI", "s")
        table.add_column(name, justify="right" if numeric else "left", no_wrap=name != "features")
    for r in results:
        s = r.spec
        table.add_row(
            s.features, s.reduce, str(s.k), s.algorithm, "all" if s.label_budget == 0 else str(s.label_budget),
            f"{100 * r.mean('accuracy'):.2f}±{100 * r.std('accuracy'):.2f}",
            f"{r.mean('nmi'):.3f}±{r.std('nmi'):.3f}", f"{r.mean('ari'):.3f}±{r.std('ari'):.3f}", f"{r.seconds:.0f}",
        )
    return table


@app.command("cluster")
@user_errors
def cluster_(
    checkpoint: Path = typer.Argument(..., help="checkpoint.pt (or its run folder) of a model trained without labels"),
    data: str = typer.Option("digits", help=DATA_HELP),
    data_dir: str = typer.Option("", help="folder holding the data set's files"),
    split: str = typer.Option("test", help="train or test"),
    limit: int = typer.Option(0, help="cluster at most this many glyphs (0 = all)"),
    k: str = typer.Option("10", "--k", help="number of clusters; a comma list gives one row per value, e.g. 10,25"),
    features: str = typer.Option(
        "gesture", help="comma list of feature sets: pixels, gesture (= velocity+intensity, the article's codes), "
        "velocity, intensity, pressure, positions, start, centred, shape, upright; join parts with '+'"),
    reduce: str = typer.Option("none", help="comma list: none, standard (z-score), pca, spectral (PCA, then a "
                                           "spectral embedding of the nearest-neighbour graph)"),
    algorithm: str = typer.Option("kmeans", help="kmeans or gmm"),
    label_budget: int = typer.Option(0, help="0: name each cluster by its majority class (all labels); "
                                             "B: reveal only B labels, those nearest the cluster centres"),
    seeds: int = typer.Option(5, help="repeat with seeds 0..N-1 and report mean ± std"),
    dims: int = typer.Option(10, help="dimensions of the spectral embedding"),
    out_dir: str = typer.Option("runs/cluster", "--out", help="where the pictures and results.json go"),
    pictures: bool = typer.Option(True, help="write the confusion matrix and typical gestures of each row"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N (for encoding)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
):
    """Cluster glyphs by pixels or by their gestures, name each cluster, and score against the true classes."""
    from rich.progress import Progress

    from igae_robot.clustering import ClusterSpec, cluster_glyphs, write_cluster_run
    from igae_robot.errors import ConfigError

    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    if limit < 0:
        raise ConfigError(f"--limit must be 0 (all glyphs) or a positive count, got {limit}")
    specs = [
        ClusterSpec(features=f, reduce=r, k=kk, algorithm=algorithm, label_budget=label_budget, dims=dims)
        for f in _list(features, "features") for r in _list(reduce, "reduce") for kk in _list(k, "k", int)
    ]
    out_dir = output_folder(out_dir, "--out")
    with Progress(console=console, disable=not progress, transient=True) as bar:
        task = bar.add_task("clustering", total=len(specs))

        def on_spec(done: int, spec) -> None:
            bar.update(task, completed=done, description=f"{spec.features} / {spec.reduce} / k={spec.k}")

        run = cluster_glyphs(checkpoint, specs, range(seeds), data, data_dir, split, limit, device, on_spec)
        bar.update(task, completed=len(specs))

    out.print(_results_table(f"{checkpoint} on {data} {split} ({len(run.glyphs)} glyphs), {seeds} seeds", run.results))
    for p in write_cluster_run(run, out_dir, pictures):
        console.print(f"wrote {p}", highlight=False)
