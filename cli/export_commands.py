"""Commands of the machine side: encode, export, check, machines.

    igae encode runs/mnist-dyn/checkpoint.pt digits/*.png -o gestures.npz
    igae export gestures.npz --format gcode --machine grbl-servo --page A4 -o sheet.gcode
    igae check sheet.gcode --against gestures.npz
    igae machines

``export``, ``machines`` and reading files never load torch; ``encode`` and ``check`` do, inside
the command.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer

from .app import EXIT_CHECK_FAILED, command_group, console, length_option, out, user_errors, warning_line

app = command_group()


def _parse_indices(text: str, count: int) -> list[int]:
    """``"0:100"`` (a slice), ``"3,5,8"`` or ``"7"`` -> indices below count."""
    from igae_robot.errors import DataError

    try:
        if ":" in text:
            parts = [int(p) if p else None for p in text.split(":")]
            picked = list(range(count))[slice(*parts)]
        else:
            picked = [int(p) for p in text.split(",")]
    except ValueError:
        raise DataError(f"cannot read --indices {text!r}; expected START:STOP, a list like 3,5,8, or one index") from None
    bad = [i for i in picked if not 0 <= i < count]
    if bad or not picked:
        raise DataError(f"--indices {text!r} selects {bad or 'nothing'}; the data set has {count} images")
    return picked


def _canvas_size(size: int, option: str) -> int:
    from igae_robot.config import MAX_IMAGE_SIZE
    from igae_robot.errors import ConfigError

    if not 4 <= size <= MAX_IMAGE_SIZE:
        raise ConfigError(f"{option} must be a canvas side in 4..{MAX_IMAGE_SIZE} pixels, got {size}")
    return size


# Below this many glyphs ordering takes well under a second: a bar would only flicker.
_PROGRESS_GLYPHS = 2000


@contextlib.contextmanager
def ordering_progress(glyphs: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback for the stroke ordering of a large sheet (a bar on stderr), else None."""
    if glyphs < _PROGRESS_GLYPHS:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("ordering strokes"), BarColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("order", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _variance(value: float, option: str, zero_ok: bool) -> float:
    from igae_robot.errors import ConfigError

    if not (math.isfinite(value) and (value >= 0 if zero_ok else value > 0)):
        raise ConfigError(f"{option} must be a finite number {'>= 0' if zero_ok else '> 0'}, got {value}")
    return value


@app.command()
@user_errors
def encode(
    sources: Optional[List[Path]] = typer.Argument(None, help="[checkpoint.pt or its run folder] then image files (any size; ink is detected)"),
    output: Path = typer.Option(..., "-o", "--output", help="gestures file to write (.npz)"),
    model: Optional[Path] = typer.Option(None, "--model", help="checkpoint.pt (or its run folder); default: the pen engine draws"),
    data: Optional[str] = typer.Option(None, help="encode a data set instead of files: mnist, digits, ..."),
    data_dir: str = typer.Option("", help="folder holding the data set's files (default: the one the model was trained on)"),
    split: str = typer.Option("test", help="data set split: train or test"),
    indices: str = typer.Option("0:100", help="which data set images: START:STOP, 3,5,8 or one index"),
    invert: Optional[bool] = typer.Option(None, "--invert/--no-invert", help="image files are dark ink on light paper (default: detect)"),
) -> None:
    """Draw images as gestures (.npz), ready for `igae export`: with a trained model, or the pen engine."""
    from igae_robot.atomic import check_output
    from igae_robot.errors import DataError

    files = list(sources or [])
    if model is None and files and _is_checkpoint(files[0]):  # the older form: the checkpoint comes first
        model, files = files[0], files[1:]
    if bool(files) == bool(data):
        raise DataError("give either image files or --data (not both, not neither)")
    check_output(output)
    if model is None:
        gestures = _encode_with_pen(files, output, data, data_dir, split, indices, invert)
    else:
        gestures = _encode_with_model(model, files, output, data, data_dir, split, indices, invert)
    console.print(f"encoded {len(gestures)} glyphs ({len(gestures[0])} steps each) -> {output}", highlight=False, soft_wrap=True)


def _is_checkpoint(path: Path) -> bool:
    return path.suffix == ".pt" or (path.is_dir() and (path / "checkpoint.pt").is_file())


def _dataset(data: str, data_dir: str, split: str, indices: str):
    from igae_robot.training.data import load_dataset

    glyphs = load_dataset(data, data_dir, split)
    return glyphs.subset(_parse_indices(indices, len(glyphs)))


def _encode_with_model(model, files, output, data, data_dir, split, indices, invert):
    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.model.encode import encode_to_file, read_glyphs

    ckpt = load_checkpoint(model)
    if data:
        glyphs = _dataset(data, data_dir or ckpt.config.data.dir, split, indices)
        x, labels = glyphs.images, glyphs.labels
    else:
        x, labels = read_glyphs(files, ckpt.config.model.image_size, invert), None
    return encode_to_file(ckpt, x, output, labels)


def _encode_with_pen(files, output, data, data_dir, split, indices, invert):
    """The pen engine (no model): each glyph's centreline fitted so a pen as wide as its strokes covers it."""
    import numpy as np

    from igae_robot.gesture import save_gestures
    from igae_robot.images.trace import median_stroke_width
    from igae_robot.vectorize.engines import pen_gestures, read_pen_glyphs

    if data:
        glyphs = _dataset(data, data_dir, split, indices)
        images, labels = glyphs.images[:, 0].numpy(), glyphs.labels.numpy()
        pens = np.array([median_stroke_width(g > 0.5) for g in images])
    else:
        (images, pens), labels = read_pen_glyphs(files, invert), None
    gestures = pen_gestures(images, pens / images.shape[-1], labels)
    save_gestures(output, gestures, {"image_size": images.shape[-1]})
    return gestures


@app.command()
@user_errors
def export(
    gestures_file: Path = typer.Argument(..., help="gestures .npz written by `igae encode`"),
    output: Path = typer.Option(..., "-o", "--output", help="file to write (all or nothing)"),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="svg, gcode, waypoints (.json/.csv), urscript; default: from -o"),
    machine: Optional[str] = typer.Option(None, "--machine", "-m", help="profile name (see `igae machines`) or a .toml file"),
    page: str = typer.Option("A4", help="A3, A4, A5, Letter, or WIDTHxHEIGHT like 200x150mm"),
    landscape: bool = typer.Option(False, "--landscape/--portrait", help="page orientation"),
    margin: str = typer.Option("10mm", help="margin on every side"),
    layout: str = typer.Option("grid", help="glyph layout (grid: rows of square cells)"),
    cols: int = typer.Option(0, help="grid columns (0: largest cells)"),
    cell: str = typer.Option("0", help="grid cell side, e.g. 20mm (0: largest that fits)"),
    spacing: str = typer.Option("5mm", help="gap between cells"),
    frame: str = typer.Option("fit", help="fit: every drawing fits its cell; canvas: the model's canvas fills the cell"),
    threshold: float = typer.Option(0.5, help="pen down where intensity >= threshold"),
    release: Optional[float] = typer.Option(None, help="pen up again below this intensity (default threshold - 0.15)"),
    simplify: str = typer.Option("0", help="simplification tolerance, e.g. 0.05mm (0: keep every step)"),
    merge: str = typer.Option("0.05mm", help="join strokes whose ends are this close (0: never)"),
    order: bool = typer.Option(True, "--order/--no-order", help="reorder strokes to cut pen-up travel"),
    clip: bool = typer.Option(False, "--clip", help="cut strokes at the page margins instead of refusing them"),
    drop_outliers: bool = typer.Option(False, "--drop-outliers", help="leave out glyphs whose ink reaches absurdly far off their canvas (default: refuse)"),
    layers: str = typer.Option("row", help="SVG layers: row, glyph, pen (by pressure), one"),
    pens: int = typer.Option(3, help="SVG --layers pen: number of pen widths"),
    home: bool = typer.Option(False, "--home", help="G-code: home the machine first ($H / G28)"),
    return_origin: bool = typer.Option(True, "--return/--no-return", help="G-code: go back to X0 Y0 at the end"),
) -> None:
    """Lay gestures out on a page and write them for a machine: SVG, G-code, arm waypoints, URScript."""
    from igae_robot.atomic import check_output
    from igae_robot.errors import PageError
    from igae_robot.exporters import default_machine, export_file, format_for
    from igae_robot.gesture import load_gestures
    from igae_robot.paper.machine import load_machine
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import SheetOptions, plan_sheet, plot_stats

    writer = format_for(format, output)
    family = "waypoints" if writer.startswith("waypoints") else writer
    if layout != "grid":
        raise PageError(f"unknown layout {layout!r}; known: grid")
    check_output(output)
    profile = None
    if family != "svg" or machine:
        profile = load_machine(machine or default_machine(writer))
    gestures = load_gestures(gestures_file)
    options = SheetOptions(
        threshold=threshold, release=release, frame=frame, cols=cols, cell_mm=length_option("--cell", cell), spacing_mm=length_option("--spacing", spacing),
        simplify_mm=length_option("--simplify", simplify), merge_mm=length_option("--merge", merge), order=order, clip=clip, drop_outliers=drop_outliers,
    )
    with ordering_progress(len(gestures)) as progress:
        sheet = plan_sheet(gestures, Page.from_spec(page, landscape, margin), options, progress)
    for glyph in sheet.dropped:
        warning_line(f"glyph {glyph} of {gestures_file} reaches absurdly far off its canvas; left out (--drop-outliers)")
    if not sheet.polylines:
        raise PageError(f"nothing to draw: no glyph of {gestures_file} has ink at or above --threshold {threshold:g}; "
                        "no file was written")
    extra = {"svg": {"layers": layers, "pens": pens}, "gcode": {"home": home, "return_to_origin": return_origin}}.get(family, {})
    export_file(sheet, output, writer, profile, **extra)
    stats = plot_stats(sheet, profile)
    target = f" for {profile.name}" if profile else ""
    console.print(f"wrote {output} ({writer}{target}, {len(gestures)} glyphs on {sheet.page.describe()})", highlight=False, soft_wrap=True)
    out.print(stats.describe(), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def check(
    file: Path = typer.Argument(..., help="an exported file: .svg .gcode .json .csv .script"),
    against: List[Path] = typer.Option(..., help="the gestures .npz it came from, or the source images (one per glyph)"),
    min_iou: float = typer.Option(0.99, help="fail when any glyph's IoU is below this"),
    size: Optional[int] = typer.Option(None, help="canvas side in pixels (default: the model's, from the gestures file, else 28; the pen engine's: 112)"),
    var_coef: Optional[float] = typer.Option(None, help="marker variance = pressure * var_coef + var_eps (default: the model's)"),
    var_eps: Optional[float] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Read an exported file back, re-render it, and score it (IoU, MSE): against source images as a plotter
    draws the file (a round pen as wide as the source's median stroke), against gestures with the model's markers.

    Exit code 1 when a glyph scores below --min-iou.
    """
    import numpy as np

    from igae_robot.check import check_sheet
    from igae_robot.errors import CheckError, ConfigError
    from igae_robot.exporters import read_file
    from igae_robot.gesture import load_gestures, load_gestures_meta

    if not math.isfinite(min_iou):  # NaN would pass every glyph; above 1 fails every one, as asked
        raise ConfigError(f"--min-iou must be a number (an IoU, 0..1), got {min_iou}")
    if size is not None:
        _canvas_size(size, "--size")
    for value, option, zero_ok in ((var_coef, "--var-coef", True), (var_eps, "--var-eps", False)):
        if value is not None:
            _variance(value, option, zero_ok)
    sheet = read_file(file)
    meta: dict = {}
    gestures = images = pens = None
    if len(against) == 1 and against[0].suffix.lower() == ".npz":
        gestures = load_gestures(against[0])
        meta = load_gestures_meta(against[0])
        source = str(against[0])
    elif any(p.suffix.lower() == ".npz" for p in against):
        raise CheckError("--against takes one gestures .npz, or image files (one per glyph), not both")
    else:
        from igae_robot.check import source_glyph
        from igae_robot.images.read import read_image
        from igae_robot.model.encode import glyph_box
        from igae_robot.vectorize.engines import PEN_CANVAS

        side = size or 28
        # The pen engine's canvas: its glyphs are enlarged by whole factors only, so the sources must be too.
        pen_canvas = side == PEN_CANVAS
        glyphs = [source_glyph(read_image(p), side, glyph_box(side), whole_factors=pen_canvas) for p in against]
        images = np.stack([g for g, _ in glyphs])
        pens = np.array([pen for _, pen in glyphs])
        source = f"{len(against)} image(s)"
    report = check_sheet(
        sheet,
        gestures=gestures,
        images=images,
        pens=pens,
        size=size or int(meta.get("image_size", 28)),
        var_coef=var_coef if var_coef is not None else float(meta.get("var_coef", 0.01)),
        var_eps=var_eps if var_eps is not None else float(meta.get("var_eps", 1e-4)),
        min_iou=min_iou,
        file=str(file),
        against=source,
    )
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        out.print(report.describe(), highlight=False, soft_wrap=True)
    if not report.passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
@user_errors
def machines(files: Optional[List[Path]] = typer.Argument(None, help="extra profile files (.toml) to list with the built-ins")) -> None:
    """List machine profiles and their work areas."""
    from rich.table import Table

    from igae_robot.paper.machine import machine_profiles

    table = Table(title="machine profiles")
    for column in ("name", "kind", "work area", "description", "source"):
        table.add_column(column)
    for m in machine_profiles(*(files or [])).values():
        table.add_row(m.name, m.kind, m.describe_work_area(), m.description, m.source)
    out.print(table)
