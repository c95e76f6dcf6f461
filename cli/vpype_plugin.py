"""igae as a vpype plug-in: two generators that put igae's strokes into vpype's document.

    vpype igae-handwrite "Dear Ada" linesort layout a5 write letter.svg
    vpype igae-vectorize --dpi 300 scan.png linesimplify gwrite -p gcode scan.gcode
    vpype igae-vectorize --dpi 300 --remove-lines "notebook/*.jpg" show

Registered through the ``vpype.plugins`` entry point (pyproject.toml), so vpype finds them once igae is
installed beside it; vpype itself stays an optional extra (``pip install igae-robot[vpype]``).  Each
generator adds one layer (``-l/--layer``, vpype's own option for generators); its lines are in vpype's
unit, the CSS pixel (1/96 inch), at their physical size: a page scanned at 300 dpi keeps its millimetres.

Both are thin: ``igae-handwrite`` calls :func:`~igae_robot.handwriting.writing.write_text`, the library
call behind ``igae handwrite``; ``igae-vectorize`` runs :func:`~igae_robot.vectorize.vectorize` (the pen
engine, or ``--model``) into a temporary folder and reads the SVG back with vpype, so the drawing is the
very file ``igae vectorize`` would write.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import click
import numpy as np
import vpype as vp
import vpype_cli

__all__ = ["igae_handwrite", "igae_vectorize"]

CSS_PX_PER_MM = 96 / 25.4


@click.command("igae-handwrite")
@click.argument("text", type=vpype_cli.TextType())
@click.option("--size", type=vpype_cli.TextType(), default="6mm", help="height of capitals and digits")
@click.option("--width", type=vpype_cli.TextType(), default="150mm", help="line width (lines wrap at it)")
@click.option("--line-spacing", type=vpype_cli.FloatType(), default=1.5, help="distance of lines, in line heights")
@click.option("--seed", type=vpype_cli.IntegerType(), default=0, help="the same text and seed give the same strokes")
@click.option("--neatness", type=vpype_cli.FloatType(), default=0.8, help="1: the most typical glyphs; 0: 1.5 times the natural spread")
@click.option("--slant", type=vpype_cli.FloatType(), default=None, help="mean slant to the right, degrees (default: the style's)")
@click.option("--style", "style_name", type=vpype_cli.TextType(), default=None, help="the writing style (`igae handwrite --styles`)")
@click.option("--connect", is_flag=True, help="join the letters of each word into one stroke")
@click.option("--fallback", is_flag=True, help="draw characters the style lacks from a single-stroke font")
@vpype_cli.generator
def igae_handwrite(text, size, width, line_spacing, seed, neatness, slant, style_name, connect, fallback) -> vp.LineCollection:
    """Write TEXT as igae handwriting (same options as `igae handwrite`), one layer of strokes."""
    from igae_robot.handwriting.styles import DEFAULT_STYLE, default_slant, style_hands
    from igae_robot.handwriting.writing import WritingStyle, write_text
    from igae_robot.paper.page import Page
    from igae_robot.units import to_mm

    with _user_errors():
        width_mm = to_mm(width)
        name = style_name or DEFAULT_STYLE
        style = WritingStyle(size_mm=to_mm(size), line_spacing=line_spacing, width_mm=width_mm, neatness=neatness,
                             slant_deg=default_slant(name) if slant is None else slant, connect=connect, fallback=fallback, seed=seed)
        # A page as tall as a long letter needs: vpype lays out (`layout`) and pages the document itself.
        page = Page(width_mm, 10_000.0, 0.0, "vpype")
        sheet = write_text(text, style_hands(name), page, style)
    return _lines([p.points for p in sheet.polylines], CSS_PX_PER_MM)


@click.command("igae-vectorize")
@click.argument("image", type=vpype_cli.TextType())
@click.option("--dpi", type=vpype_cli.FloatType(), default=96.0, help="source resolution: sets the drawing's physical size")
@click.option("--remove-lines", is_flag=True, help="take the printed lines of ruled paper out of the scans")
@click.option("--refine", type=vpype_cli.IntegerType(), default=None, help="pen engine: fit steps per glyph (default 60)")
@click.option("--page-refine", type=vpype_cli.IntegerType(), default=None, help="pen engine: fit steps at full resolution of a page drawn whole, after 5 at half resolution (default 3; 0: the trace as it is)")
@click.option("--model", type=vpype_cli.PathType(exists=True), default=None, help="a trained checkpoint draws instead")
@click.option("--gap", type=vpype_cli.TextType(), default="10mm", help="space between images when IMAGE is a pattern that matches several")
@vpype_cli.generator
def igae_vectorize(image, dpi, remove_lines, refine, page_refine, model, gap) -> vp.LineCollection:
    """Vectorize IMAGE with igae's pen engine (as `igae vectorize`), one layer, at its scanned size.

    Arguments take vpype's substitutions (``%_path%`` in a ``forfile`` block, ``%prop%``...).

    IMAGE is a file or a quoted pattern ("scans/*.png"): several images are stacked top to bottom, --gap
    apart (`forfile ... igae-vectorize -l new %_path% end` puts each in a layer of its own).  Options go before IMAGE, as for
    every vpype command."""
    from igae_robot.units import to_mm

    paths = _matches(image)
    lines, top = vp.LineCollection(), 0.0
    with _user_errors(), tempfile.TemporaryDirectory(prefix="igae-vpype-") as folder:
        for svg in _vectorize(paths, Path(folder), dpi, remove_lines, refine, page_refine, model):
            drawn, _, height = vp.read_svg(str(svg), quantization=0.05, crop=False)
            drawn.translate(0, top)
            lines.extend(drawn)
            top += height + to_mm(gap) * CSS_PX_PER_MM
    return lines


def _matches(pattern: str) -> list[Path]:
    """The image files a path or a glob pattern names, sorted; none is a one-line error."""
    import glob

    paths = [Path(p) for p in sorted(glob.glob(pattern)) if Path(p).is_file()] if any(c in pattern for c in "*?[") else [Path(pattern)]
    missing = [p for p in paths if not p.is_file()]
    if not paths or missing:
        raise click.BadParameter(f"{pattern}: no such image file", param_hint="IMAGE")
    return paths


def _vectorize(images, folder: Path, dpi: float, remove_lines: bool, refine, page_refine, model) -> list[Path]:
    """``igae vectorize`` into ``folder``: each image's SVG, in order (a failed image is a ClickException)."""
    from igae_robot.exporters import export_files
    from igae_robot.vectorize import Source, VectorizeOptions, vectorize
    from igae_robot.vectorize.engines import PAGE_FIT_STEPS, PEN_FIT_STEPS, PenEngine

    sources = [Source(path, f"{k}:{path}", f"{k:04d}") for k, path in enumerate(images)]
    if model is None:
        engine = PenEngine(PEN_FIT_STEPS if refine is None else refine, 0.3, PAGE_FIT_STEPS if page_refine is None else page_refine)
    else:
        from igae_robot.model.checkpoint import load_checkpoint

        engine = load_checkpoint(model)
    options = VectorizeOptions(dpi=dpi, remove_lines=remove_lines, refine_steps=refine or 0, workers=0)
    writers = {".svg": functools.partial(export_files, fmt="svg", machine=None)}
    summary = vectorize(sources, folder, engine, writers, options)
    for record in summary.records:
        if record["status"] != "ok":
            raise click.ClickException(record.get("reason", record["status"]))
    return [folder / r["outputs"][0] for r in summary.records]


def _lines(polylines, scale: float) -> vp.LineCollection:
    """Polylines (N,2) mm as a vpype LineCollection in CSS pixels."""
    lines = vp.LineCollection()
    for p in polylines:
        p = np.asarray(p, dtype=np.float64) * scale
        lines.append(p[:, 0] + 1j * p[:, 1] if len(p) > 1 else np.repeat(p[:, 0] + 1j * p[:, 1], 2))
    return lines


class _user_errors:
    """igae's own errors (a bad option, an unknown character) as vpype shows a command's errors: one line."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        from igae_robot.errors import IgaeError

        if exc is not None and isinstance(exc, IgaeError):
            raise click.ClickException(str(exc)) from None
        return False
