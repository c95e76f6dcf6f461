"""The batch command: a folder of images -> plotter-ready files, one per image and format, plus a manifest.

    igae vectorize scans/ -o out/ --format svg,gcode --machine grbl-servo   # the pen engine, no model needed
    igae vectorize scans/ -o out/ --refine 200                  # a longer fit through the pen renderer
    igae vectorize scans/ -o out/ --model runs/mnist-dyn/checkpoint.pt      # a trained model draws instead
    igae vectorize scans/ -o out/                               # again: resumes, skips finished images

Every option is checked before any image is read (a bad one: one line, exit code 2).  Bad files
(corrupt, empty, truncated, too large, blank) are recorded in ``out/manifest.jsonl`` with their
reason and counted as warnings: exit code 0, or 1 with ``--strict``.
"""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path
from typing import List, Optional

import typer

from .app import EXIT_CHECK_FAILED, command_group, console, length_option, out, output_folder, user_errors

app = command_group()


def build_writers(formats: str, machines: list[str]) -> dict:
    """``"svg,gcode"`` and machine names -> {output suffix: writer(sheets, paths)}.

    Each format writes its first suffix in the format table (:data:`igae_robot.exporters.TABLE`) and
    takes the given machine of its kind (plotter for G-code, arm for waypoints and URScript); with no
    --machine at all, its default profile.
    """
    import functools

    from igae_robot.errors import ConfigError
    from igae_robot.exporters import FORMATS, export_files, format_named
    from igae_robot.paper.machine import load_machine

    names = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"unknown format {', '.join(unknown) or formats!r}; known: {', '.join(FORMATS)}")
    profiles = [load_machine(m) for m in machines]
    writers = {}
    for spec in (format_named(name) for name in dict.fromkeys(names)):
        machine = None
        if spec.machine_kind is not None:
            kind = spec.machine_kind
            machine = next((m for m in profiles if m.kind == kind), None)
            if machine is None and profiles:  # the user named machines, none of them fits: say so, do not guess
                given = ", ".join(f"{m.name} ({m.kind})" for m in profiles)
                raise ConfigError(f"--format {spec.family} needs a {kind} profile; --machine gave {given}; "
                                  f"add e.g. --machine {spec.default_machine}")
            machine = machine or load_machine(spec.default_machine)
        writers[spec.suffixes[0]] = functools.partial(export_files, fmt=spec.name, machine=machine)
    return writers


def _freeze_imports() -> None:
    """Everything imported so far (torch, scipy: millions of objects) lives as long as the process; frozen, the
    collector's full passes skip it.  The trace and the ordering make many small objects, and a full pass
    over torch's took 0.15 s in the middle of a 1.5 s page."""
    gc.collect()
    gc.freeze()


def page_fit_steps(page_refine: int | None, hatch: bool = False, model: Path | None = None) -> int:
    """--page-refine and --hatch checked: the pen engine's fit steps for ink drawn whole (ConfigError when out of
    range, or --hatch with a --model, which draws glyph by glyph)."""
    from igae_robot.errors import ConfigError
    from igae_robot.model.refine import MAX_REFINE_STEPS
    from igae_robot.vectorize.engines import PAGE_FIT_STEPS

    if page_refine is not None and not 0 <= page_refine <= MAX_REFINE_STEPS:
        raise ConfigError(f"--page-refine must be a number of steps in 0..{MAX_REFINE_STEPS}, got {page_refine}")
    if hatch and model is not None:
        raise ConfigError("--hatch fills areas with the pen engine's hatching; a --model draws glyph by glyph (drop one of them)")
    return PAGE_FIT_STEPS if page_refine is None else page_refine


def check_width(width_mm: float, writers: dict) -> None:
    """ConfigError when every image, at ``--width``, is wider than a writer's machine can draw: a plotter's
    work area, or an arm's reach across its base.  (With --dpi the size is known per image only.)"""
    from igae_robot.errors import ConfigError
    from igae_robot.units import format_number

    for writer in writers.values():
        machine = getattr(writer, "keywords", {}).get("machine")
        if machine is None or width_mm <= 0:
            continue
        widest = machine.work_area_mm[0] if machine.kind == "plotter" else 2 * machine.reach_mm[1]
        if width_mm > widest:
            raise ConfigError(f"--width {format_number(width_mm)} mm is wider than {machine.name!r} can draw "
                              f"({machine.describe_work_area()}); use --width {format_number(widest)}mm or less")


@app.command()
@user_errors
def vectorize(
    sources: List[Path] = typer.Argument(..., help="image files or folders (searched recursively): PNG, JPEG, BMP, TIFF, GIF"),
    output: str = typer.Option(..., "-o", "--output", help="folder for the outputs and manifest.jsonl"),
    model: Optional[Path] = typer.Option(None, "--model", help="checkpoint.pt (or its run folder): a trained model draws (default: the pen engine)"),
    format: str = typer.Option("svg", "--format", "-f", help="comma-separated: svg, gcode, waypoints, urscript"),
    machine: Optional[List[str]] = typer.Option(None, "--machine", help="profile (name or .toml) for G-code and/or arm formats; default per format"),
    dpi: float = typer.Option(96.0, help="source resolution, pixels per inch: sets the physical size"),
    width: str = typer.Option("0", help="physical width of every image, e.g. 50mm (instead of --dpi)"),
    invert: Optional[bool] = typer.Option(None, "--invert/--no-invert", help="dark ink on light paper (default: detect per image)"),
    split: str = typer.Option("auto", help="auto: a glyph per image, larger ink drawn whole at its own scale (pen engine) or cut into glyph pieces (--model); none: one glyph per image; components: always cut (--model)"),
    remove_lines: bool = typer.Option(False, "--remove-lines", help="take the printed lines of ruled paper out of the scans (the writing that crosses them stays)"),
    join: float = typer.Option(1.0, help="join strokes whose ends are closer than this many stroke widths (0: only --merge)"),
    refine: Optional[int] = typer.Option(None, help="test-time refinement, Adam steps per glyph through the renderer (default: pen engine 60, model 0)"),
    refine_lr: Optional[float] = typer.Option(None, help="refinement step (default: pen engine 0.3 px, model 0.05)"),
    hatch: bool = typer.Option(False, "--hatch", help="pen engine: fill areas of ink five pens wide or more with hatching, lines 0.8 pens apart, besides their centreline (filled shapes, blots, marker fills)"),
    page_refine: Optional[int] = typer.Option(None, "--page-refine", help="pen engine: Adam steps at full resolution of the fit of ink drawn whole at its own scale -- pages, words, sketches -- after 5 at half resolution (default 3; 0: the trace as it is)"),
    threshold: float = typer.Option(0.5, help="pen down where intensity >= threshold"),
    release: Optional[float] = typer.Option(None, help="pen up again below this intensity (default threshold - 0.15)"),
    simplify: str = typer.Option("0", help="simplification tolerance, e.g. 0.05mm (0: keep every step)"),
    merge: str = typer.Option("0.05mm", help="join strokes whose ends are this close (0: never)"),
    order: bool = typer.Option(True, "--order/--no-order", help="reorder strokes to cut pen-up travel"),
    batch_size: int = typer.Option(256, help="glyphs per encoder batch"),
    workers: int = typer.Option(2, help="loader and export processes (0: all in one process)"),
    device: str = typer.Option("auto", help="encoder device: auto, cpu, cuda, cuda:N"),
    max_pixels: int = typer.Option(50_000_000, help="refuse larger images (decompression bombs)"),
    force: bool = typer.Option(False, "--force", help="redo images an earlier run finished"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when any image failed"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
) -> None:
    """Vectorize a folder of images into plotter-ready files (one per image and format) and manifest.jsonl."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from igae_robot.model.checkpoint import load_checkpoint
    from igae_robot.training.distributed import finish, init_from_env
    from igae_robot.errors import OutputError
    from igae_robot.paper.sheet import SheetOptions
    from igae_robot.training.device import resolve_device
    from igae_robot.vectorize import VectorizeOptions, discover_images
    from igae_robot.vectorize.engines import PEN_FIT_STEPS, PenEngine
    from igae_robot.vectorize import vectorize as run

    # Every option first: one line and exit 2 before any image is read or any folder made.
    output = output_folder(output, "-o/--output")
    writers = build_writers(format, machine or [])
    width_mm = length_option("--width", width)
    check_width(width_mm, writers)
    page_steps = page_fit_steps(page_refine, hatch, model)
    encoder_device = resolve_device(device)
    options = VectorizeOptions(
        dpi=dpi, width_mm=width_mm, invert=invert, split=split, remove_lines=remove_lines, join=join,
        refine_steps=(PEN_FIT_STEPS if model is None else 0) if refine is None else refine,
        refine_lr=(0.3 if model is None else 0.05) if refine_lr is None else refine_lr,
        sheet=SheetOptions(threshold=threshold, release=release, simplify_mm=length_option("--simplify", simplify),
                           merge_mm=length_option("--merge", merge), order=order),
        max_pixels=max_pixels, force=force, batch_size=batch_size, workers=workers, device=str(encoder_device),
    )
    # Under torchrun each process vectorizes its share of the images (one GPU each on CUDA).
    ranks = init_from_env(encoder_device.type)
    if ranks.distributed and encoder_device.type == "cuda":
        options = dataclasses.replace(options, device=str(resolve_device(f"cuda:{ranks.local_rank}")))
    found = discover_images(sources, exclude=output)
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[warnings]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not (progress and ranks.is_main),
    )
    task = bar.add_task("vectorize", total=None, warnings="0 warnings")
    engine = PenEngine(options.refine_steps, options.refine_lr, page_steps, hatch=hatch, progress=_page_bar(bar)) if model is None else load_checkpoint(model)
    warned = [0]

    def on_start(todo: int, skipped: int) -> None:
        bar.update(task, total=todo)
        if skipped and ranks.is_main:
            console.print(f"resuming: {skipped} of {len(found)} images already done (--force to redo)", highlight=False)

    def on_record(record: dict) -> None:
        warned[0] += record["status"] != "ok"
        bar.update(task, advance=1, warnings=f"{warned[0]} warnings")

    _freeze_imports()
    try:
        with bar:
            summary = run(found, output, engine, writers, options, on_start, on_record, ranks)
    finally:
        finish(ranks)
    errors = summary.errors  # every rank returns the whole run's records, so all ranks exit alike
    if ranks.is_main:
        _report(summary, output, len(found))
    if errors and strict:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _page_bar(bar):
    """progress(windows done, windows) for the pen engine: a second bar while a large page is fitted, gone when
    it is done (a 600-dpi page takes seconds; the image bar would stand still)."""
    state: dict = {}

    def progress(done: int, total: int) -> None:
        if "task" not in state:
            state["task"] = bar.add_task("  fitting a page (windows)", total=total, warnings="")
        bar.update(state["task"], completed=done, total=total)
        if done >= total:
            bar.remove_task(state.pop("task"))

    return progress


def _report(summary, output: Path, found: int) -> None:
    """The summary table, then the first warnings and their count."""
    out.print(_summary_table(summary, output))
    errors = summary.errors
    for record in errors[:10]:
        console.print(f"[yellow]warning:[/] {record.get('reason', record['status'])}", highlight=False, soft_wrap=True)
    if len(errors) > 10:
        console.print(f"[yellow]... and {len(errors) - 10} more in {output / 'manifest.jsonl'}[/]", highlight=False)
    if errors:
        console.print(f"{len(errors)} warning(s): {len(errors)} of {found} images failed", highlight=False)


def _summary_table(summary, output: Path):
    from rich.table import Table

    m = summary.means()
    table = Table(title=f"vectorized -> {output}")
    table.add_column("")
    table.add_column("value", justify="right")
    rows = [
        ("images", str(len(summary.records))),
        # skipped images are all ok, so every error is this run's
        ("done now / already done / failed", f"{summary.processed - len(summary.errors)} / {summary.skipped} / {len(summary.errors)}"),
        ("images/s (this run)", f"{summary.images_per_s:.1f}"),
    ]
    if "iou" in m:
        rows += [("mean IoU / MSE (re-rendered vs input)", f"{m['iou']:.4f} / {m['mse']:.5f}")]
    if "iou_encoder" in m:
        rows += [("  encoder before refine", f"{m['iou_encoder']:.4f} / {m['mse_encoder']:.5f}")]
    if "strokes" in m:
        rows += [
            ("mean glyphs / strokes per image", f"{m['glyphs']:.1f} / {m['strokes']:.2f}"),
            ("mean pen-down / pen-up travel", f"{m['pen_down_mm']:.1f} mm / {m['pen_up_mm']:.1f} mm"),
        ]
    for name, value in rows:
        table.add_row(name, value)
    return table

