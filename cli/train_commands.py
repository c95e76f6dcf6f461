"""Commands of the learning side: train, eval, presets, demo."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer

from .app import command_group, console, out, output_folder, user_errors, warning_line

app = command_group()

DATA_HELP = "digits (embedded), mnist, fashion, kmnist, emnist-<split>, npz, folder"


def _metrics_table(title: str, rows: dict[str, dict[str, float]]):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("split")
    for name in ("pixel accuracy", "MSE", "IoU", "images"):
        table.add_column(name, justify="right")
    for split, m in rows.items():
        table.add_row(split, f"{100 * m['pixel_accuracy']:.2f}%", f"{m['mse']:.5f}", f"{m['iou']:.4f}", str(m["images"]))
    return table


def _epoch_logger(epochs: int):
    def log(row: dict) -> None:
        console.print(
            f"epoch {row['epoch']:>3}/{epochs}  train MSE {row['train_mse']:.5f}  val MSE {row['val_mse']:.5f}  "
            f"val pixel acc {100 * row['val_pixel_accuracy']:.2f}%  val IoU {row['val_iou']:.3f}  {row['seconds']:.1f}s",
            highlight=False,
        )

    return log


@contextlib.contextmanager
def _training_bar(enabled: bool) -> Iterator[Callable | None]:
    """An ``on_step`` that draws the training steps as a progress bar (None when not enabled).

    The bar starts with the first step (only rank 0 reports steps) and stops with the last, before
    the evaluation that follows."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
    task = None

    def on_step(step) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("train", total=step.total, loss=float("nan"))
        bar.update(task, advance=1, loss=step.loss, description=f"epoch {step.epoch}/{step.epochs}")
        if step.done == step.total:
            bar.stop()

    try:
        yield on_step
    finally:
        bar.stop()


def check_run_folder(out_dir: str | Path, resume: bool, overwrite: bool) -> Path:
    """Before any work: the run folder can be written, and a run already in it is never replaced
    unless asked (--resume continues it, --overwrite replaces it).  Returns the folder."""
    from igae_robot.errors import ConfigError

    out_dir = output_folder(out_dir, "--out")
    checkpoint = out_dir / "checkpoint.pt"
    if resume and overwrite:
        raise ConfigError("--resume continues the run in --out, --overwrite replaces it: give one of them")
    if resume and not checkpoint.is_file():
        warning_line(f"--resume: no checkpoint at {checkpoint}; starting a fresh run")
    if not resume and not overwrite and (checkpoint.exists() or checkpoint.is_symlink()):
        raise ConfigError(f"{checkpoint} already holds a trained run; --resume continues it, --overwrite replaces it, "
                          "or choose another --out")
    return out_dir


def _train_and_report(config, out_dir: Path, resume: bool, progress: bool):
    """Run the training (see :func:`igae_robot.training.run.run_training`) with an epoch log and a
    progress bar, then print the metrics; returns the run (None on every torchrun rank but 0)."""
    from igae_robot.training.run import run_training

    with _training_bar(progress) as on_step:
        run = run_training(config, out_dir, resume, on_epoch=_epoch_logger(config.train.epochs), on_step=on_step)
    if run is not None:
        out.print(_metrics_table(run.title(), run.metrics))
        console.print(f"checkpoint: {run.checkpoint}\npictures:   {', '.join(str(p) for p in run.pictures)}", highlight=False)
    return run


@app.command()
@user_errors
def train(
    preset: str = typer.Option("igae", help="named preset (see `igae presets`) or a .toml file"),
    data: str = typer.Option("digits", help=DATA_HELP),
    data_dir: str = typer.Option("", help="folder holding the data set's files"),
    out_dir: str = typer.Option("runs/latest", "--out", help="run folder: checkpoint.pt, pictures, summary.json"),
    epochs: Optional[int] = typer.Option(None, help="override the preset's epochs"),
    limit: int = typer.Option(0, help="train on at most this many images (0 = all)"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
    seed: Optional[int] = typer.Option(None, help="override train.seed"),
    resume: bool = typer.Option(False, help="continue from OUT/checkpoint.pt"),
    overwrite: bool = typer.Option(False, help="replace the run already in OUT (default: refuse)"),
    precision: Optional[str] = typer.Option(None, help="fp32 or bf16 (autocast, for GPUs; default: the preset's)"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model for training"),
    set_: list[str] = typer.Option([], "--set", help="override any config key, e.g. --set train.lr=3e-4"),
    progress: bool = typer.Option(True, help="show a progress bar"),
):
    """Train a gesture autoencoder, then report metrics on train and test and draw pictures.

    Under torchrun (e.g. torchrun --nproc_per_node 4 -m igae_robot.cli.main train ...) the processes
    train together; --set train.batch_size is per process.
    """
    from igae_robot.config import load_preset, with_values

    values = {"data.name": data, "data.dir": data_dir, "data.limit": limit, "train.device": device}
    for key, value in (("train.precision", precision), ("train.epochs", epochs), ("train.seed", seed)):
        if value is not None:  # not given: the preset's
            values[key] = value
    if compile_:
        values["train.compile"] = True
    config = with_values(load_preset(preset), values, set_)  # --set comes last and wins
    _train_and_report(config, check_run_folder(out_dir, resume, overwrite), resume, progress)


@app.command("eval")
@user_errors
def eval_(
    checkpoint: Path = typer.Argument(..., help="checkpoint.pt (or its run folder)"),
    data: str = typer.Option("digits", help=DATA_HELP),
    data_dir: str = typer.Option("", help="folder holding the data set's files"),
    split: str = typer.Option("test", help="train or test"),
    limit: int = typer.Option(0, help="evaluate at most this many images (0 = all)"),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N"),
    as_json: bool = typer.Option(False, "--json", help="print metrics as JSON"),
    pictures: Optional[str] = typer.Option(None, help="write reconstruction / gesture / curve PNGs here"),
):
    """Metrics of a trained model: pixel accuracy (|error| < 0.5), MSE, IoU of binarised images."""
    from igae_robot.errors import ConfigError
    from igae_robot.training.evaluation import evaluate_checkpoint_file

    if limit < 0:
        raise ConfigError(f"--limit must be 0 (all images) or a positive count, got {limit}")
    if pictures is not None:
        pictures = output_folder(pictures, "--pictures")
    metrics, written = evaluate_checkpoint_file(checkpoint, data, data_dir, split, limit, device, pictures)
    if as_json:
        out.print_json(json.dumps({"checkpoint": str(checkpoint), "data": data, "split": split, **metrics}))
    else:
        out.print(_metrics_table(f"{checkpoint} on {data}", {split: metrics}))
        for p in written:
            console.print(f"wrote {p}", highlight=False)


def _start(m) -> str:
    if m.decoder == "points":
        return "-"  # independent markers have no pen start
    return "predicted" if m.start is None else f"({m.start[0]:g}, {m.start[1]:g})"


@app.command()
@user_errors
def presets():
    """List the named model presets."""
    from rich.table import Table

    from igae_robot.config import load_preset, preset_names

    table = Table(title="presets")
    for col in ("name", "decoder", "steps", "encoder", "hidden", "activation", "start", "epochs"):
        table.add_column(col)
    for name in preset_names():
        c = load_preset(name)
        m = c.model
        table.add_row(name, m.decoder, str(m.steps), m.encoder, "-".join(map(str, m.hidden)), m.activation,
                      _start(m), str(c.train.epochs))
    out.print(table)


@app.command()
@user_errors
def demo(
    out_dir: str = typer.Option("runs/demo", "--out", help="where to write the run"),
    epochs: int = typer.Option(30, help="training epochs on the embedded digits"),
    preset: str = typer.Option("igae", help="model preset"),
    overwrite: bool = typer.Option(False, help="replace the run already in OUT (default: refuse)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
):
    """Train briefly on scikit-learn's embedded digits (no download) and draw what was learned."""
    from igae_robot.config import load_preset, with_values

    config = with_values(load_preset(preset), {"train.epochs": epochs, "data.name": "digits", "data.dir": "", "data.limit": 0})
    out_dir = check_run_folder(out_dir, False, overwrite)
    console.print(f"[bold]igae demo[/]: training preset {preset!r} on the embedded digits for {epochs} epochs", highlight=False)
    if _train_and_report(config, out_dir, False, progress) is not None:  # rank 0 under torchrun
        _demo_drawings(out_dir)


def _demo_drawings(out_dir: Path, count: int = 40) -> None:
    """What was learned, as files a plotter runs: the first ``count`` test digits drawn by the model
    (digits_model.svg) and by the pen engine (digits.svg, digits.gcode), each read back, re-rendered and
    read by an independent classifier (scikit-learn's SVC on the digits' own 8x8 training set).

    It lives here, not in the library, because it joins both sides of the house: the model and the
    exporters, which the core never imports."""
    import numpy as np

    from igae_robot.check import check_sheet
    from igae_robot.exporters import export_file, read_file
    from igae_robot.images.trace import median_stroke_width
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.model.encode import encode_to_file, gesture_meta
    from igae_robot.paper.machine import load_machine
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import SheetOptions, plan_sheet, plot_stats
    from igae_robot.training.data import load_dataset
    from igae_robot.vectorize.engines import pen_gestures

    ckpt = load_checkpoint(out_dir)
    test = load_dataset("digits", split="test")
    images, labels = test.images[:count], test.labels[:count]
    glyphs = images[:, 0].numpy()
    pens = np.array([median_stroke_width(g > 0.5) for g in glyphs])  # pixels of the 28-px canvas
    page = Page.from_spec("A5", False, "10mm")
    plotter = load_machine("grbl-servo")
    meta = gesture_meta(ckpt)

    model_gestures = encode_to_file(ckpt, images, out_dir / "gestures.npz", labels)
    path = export_file(plan_sheet(model_gestures, page, SheetOptions()), out_dir / "digits_model.svg", "svg", None)
    report = check_sheet(read_file(path), gestures=model_gestures, size=meta["image_size"], var_coef=meta["var_coef"],
                         var_eps=meta["var_eps"], min_iou=0.99, file=str(path), against="gestures.npz")
    console.print(f"wrote {path}: the model's drawing; re-render check against its gestures IoU {report.iou:.4f} "
                  f"({'PASS' if report.passed else 'FAIL'}); {_legible(path, glyphs, pens, labels)}", highlight=False)

    sheet = plan_sheet(pen_gestures(glyphs, pens / glyphs.shape[-1], labels.numpy()), page, SheetOptions())
    for name, fmt, machine in (("digits.svg", "svg", None), ("digits.gcode", "gcode", plotter)):
        path = export_file(sheet, out_dir / name, fmt, machine)
        report = check_sheet(read_file(path), images=glyphs, pens=pens, size=glyphs.shape[-1], min_iou=0.0,
                             file=str(path), against="the test digits")
        console.print(f"wrote {path}: the pen engine's drawing; pen-drawn IoU against the digits {report.iou:.3f}; "
                      f"{_legible(path, glyphs, pens, labels)}", highlight=False)
    out.print(plot_stats(sheet, plotter).describe(), highlight=False, soft_wrap=True)


def _legible(path: Path, glyphs, pens, labels) -> str:
    """The file's digits drawn by Pillow with the source's pen and read by the SVC: 'legible: 39/40 (97.5%)'."""
    import numpy as np

    from igae_robot.check import glyph_strokes, pen_canvases
    from igae_robot.exporters import read_file
    from igae_robot.training.legibility import legibility

    canvases = pen_canvases(glyph_strokes([read_file(path)], [len(glyphs)]), np.zeros_like(glyphs), pens)
    share = legibility(canvases, labels.numpy())
    return f"legible to an independent classifier: {round(share * len(glyphs))}/{len(glyphs)} ({100 * share:.1f}%)"
