"""igae_robot: an inverse-graphics autoencoder whose gestures drive pen plotters and robot arms.

Where things live (one room each; arrows point the way imports go: cli -> exporters -> core)::

    errors units atomic config gesture   base layer: errors, mm/number text, safe writes, the config tree,
                                         Gesture (numpy, mm-free glyph units); torch-free except config
    images/       torch-free  image files -> ink -> strokes: read.py (reading), scan.py (ink against the paper),
                              ruled_lines.py (--remove-lines), glyphs.py (pieces, to_glyph), trace.py + stroke_graph.py + plan.py (centrelines,
                              the pen's walk), pen_draw.py (the judge)
    paper/        torch-free  gestures -> strokes on paper: polyline, geometry, ordering, page, layout,
                              machine (+ machines/*.toml), sheet (plan a sheet, measure it)
    model/        torch       the autoencoder: tensors (GestureTensors), render, render_pen, network, terms,
                              refine, pen_fit (drawings fitted through the pen; fit_kernel: its compiled inner loop), metrics, checkpoint
    training/     torch       data, train, distributed, evaluation, pictures
    check         the re-render check of an exported file
    vectorize/    images in bulk -> gestures -> sheets: options, sources, stages, engines, sheets, run
    handwriting/  text -> gestures: hand, writing (pages), fonts, models/; your own hand: template, marks,
                  learn, sample_hand
    plotter/      torch-free  G-code -> a GRBL controller over a serial port: grbl (protocol), sender, plot
    clustering/   glyph codes -> clusters: features, clusters, run
    exporters/    (installed as igae_robot.exporters) sheets -> .svg .gcode .json .csv .script, and back
    cli/          (installed as igae_robot.cli) the ``igae`` commands

tests/test_architecture.py holds these rooms to their import rules.
"""

from __future__ import annotations


def __getattr__(name: str):
    # The version is the installed package's (pyproject.toml is its one source), read only when
    # asked: importlib.metadata costs milliseconds every `igae` start would otherwise pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("igae-robot")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'igae_robot' has no attribute {name!r}")
