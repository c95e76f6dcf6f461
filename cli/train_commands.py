"""Commands of the learning side: train, eval, demo, presets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from .app import app, console, out, output_folder, user_errors, warning_line

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


def run_training(config, out_dir: Path, resume: bool, progress: bool = True) -> dict | None:
    """Train, evaluate on the test split, write pictures and summary.json; returns the summary.

    Under torchrun every process trains; rank 0 alone then evaluates, draws and reports (the
    others return None)."""
    from igae_robot.atomic import atomic_write_text
    from igae_robot.training.data import load_dataset
    from igae_robot.training.distributed import finish, init_from_env
    from igae_robot.training.evaluation import evaluate_checkpoint, write_pictures
    from igae_robot.training.train import resolve_device, train

    device = resolve_device(config.train.device)
    ranks = init_from_env(device.type)
    tic = time.perf_counter()
    try:
        ckpt = train(config, out_dir, resume=resume, on_epoch=_epoch_logger(config.train.epochs), progress=progress)
    finally:
        finish(ranks)
    wall = time.perf_counter() - tic
    if not ranks.is_main:
        return None
    if ranks.distributed and device.type == "cuda":
        device = next(ckpt.model.parameters()).device
    train_data = load_dataset(config.data.name, config.data.dir, "train")
    if config.data.limit:
        train_data = train_data.subset(range(min(config.data.limit, len(train_data))))
    test_data = load_dataset(config.data.name, config.data.dir, "test")
    rows = {"train": evaluate_checkpoint(ckpt, train_data, device), "test": evaluate_checkpoint(ckpt, test_data, device)}
    pictures = write_pictures(ckpt, test_data, out_dir)
    summary = {
        "preset": config.preset,
        "data": config.data.name,
        "epochs": config.train.epochs,
        "device": str(device),
        "processes": ranks.world_size,
        "train_wall_s": round(wall, 1),
        "metrics": rows,
        "pictures": [str(p) for p in pictures],
        "checkpoint": str(out_dir / "checkpoint.pt"),
    }
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    where = f"{ranks.world_size} processes on {device.type}" if ranks.distributed else str(device)
    out.print(_metrics_table(f"{config.preset} on {config.data.name}, {config.train.epochs} epochs, {wall:.0f} s on {where}", rows))
    console.print(f"checkpoint: {out_dir / 'checkpoint.pt'}\npictures:   {', '.join(str(p) for p in pictures)}", highlight=False)
    return summary


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
    from igae_robot.config import apply_overrides, load_preset

    overrides = [f"data.name={json.dumps(data)}", f"data.dir={json.dumps(data_dir)}", f"data.limit={limit}",
                 f"train.device={json.dumps(device)}"]
    if precision is not None:
        overrides.append(f"train.precision={json.dumps(precision)}")
    if compile_:
        overrides.append("train.compile=true")
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    if seed is not None:
        overrides.append(f"train.seed={seed}")
    config = apply_overrides(load_preset(preset), overrides + list(set_))
    out_dir = check_run_folder(out_dir, resume, overwrite)
    run_training(config, out_dir, resume, progress)


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
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.training.data import load_dataset
    from igae_robot.training.evaluation import evaluate_checkpoint, write_pictures
    from igae_robot.errors import ConfigError
    from igae_robot.training.train import resolve_device

    if limit < 0:
        raise ConfigError(f"--limit must be 0 (all images) or a positive count, got {limit}")
    if pictures is not None:
        pictures = output_folder(pictures, "--pictures")
    ckpt = load_checkpoint(checkpoint)
    glyphs = load_dataset(data, data_dir, split)
    if limit:
        glyphs = glyphs.subset(range(min(limit, len(glyphs))))
    metrics = evaluate_checkpoint(ckpt, glyphs, resolve_device(device))
    written = write_pictures(ckpt, glyphs, pictures) if pictures else []
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
    from igae_robot.config import apply_overrides, load_preset

    config = apply_overrides(load_preset(preset), [f"train.epochs={epochs}", "data.name=digits", 'data.dir=""', "data.limit=0"])
    out_dir = check_run_folder(out_dir, False, overwrite)
    console.print(f"[bold]igae demo[/]: training preset {preset!r} on the embedded digits for {epochs} epochs", highlight=False)
    if run_training(config, out_dir, resume=False, progress=progress) is not None:  # rank 0 under torchrun
        _demo_drawings(out_dir)


def _demo_drawings(out_dir: Path, count: int = 24) -> None:
    """What the demo model learned, as files a plotter runs: the test digits as SVG and G-code,
    each read back and re-rendered (igae check) to show the files draw what the model drew."""
    from igae_robot.check import check_sheet
    from igae_robot.model.checkpoint import encode_gestures, gesture_meta, load_checkpoint
    from igae_robot.training.data import load_dataset
    from igae_robot.exporters import export_file, read_file
    from igae_robot.gesture import save_gestures
    from igae_robot.paper.machine import load_machine
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import SheetOptions, plan_sheet, plot_stats

    ckpt = load_checkpoint(out_dir)
    test = load_dataset("digits", split="test")
    gestures = encode_gestures(ckpt, test.images[:count], test.labels[:count])
    save_gestures(out_dir / "gestures.npz", gestures, gesture_meta(ckpt))
    sheet = plan_sheet(gestures, Page.from_spec("A5", False, "10mm"), SheetOptions())
    plotter = load_machine("grbl-servo")
    meta = gesture_meta(ckpt)
    for name, fmt, machine in (("digits.svg", "svg", None), ("digits.gcode", "gcode", plotter)):
        path = export_file(sheet, out_dir / name, fmt, machine)
        report = check_sheet(read_file(path), gestures=gestures, size=meta["image_size"], var_coef=meta["var_coef"],
                             var_eps=meta["var_eps"], min_iou=0.99, file=str(path), against="gestures.npz")
        console.print(f"wrote {path}: re-render check IoU {report.iou:.4f} ({'PASS' if report.passed else 'FAIL'})", highlight=False)
    out.print(plot_stats(sheet, plotter).describe(), highlight=False, soft_wrap=True)
