"""Batch vectorization: a folder of images -> plotter-ready files (one per image and format) + a manifest.

    discover --> read, ink, cut into glyph pieces, crop for the engine     (DataLoader workers, a batch of
                                                                            images at a time)
             --> the engine draws: the pen engine (trace + fit), or a      (this process, CPU or GPU)
                 model's encoder in fixed-size batches [--> refine]
             --> gestures placed at source coordinates -> Sheets
                 -> writers (atomic files) -> fidelity -> manifest records (export workers, a chunk of
                                                                            images at a time)
             --> ``manifest.jsonl``: one line per image, appended and flushed chunk by chunk

Where each part lives:

* :mod:`.options` -- :class:`VectorizeOptions`, :class:`Source`, :class:`VectorizeSummary`, :data:`Writer`.
* :mod:`.sources` -- discovery and output names, the manifest, the settings key and resume.
* :mod:`.stages` -- stage 1 (read and cut).
* :mod:`.engines` -- stage 2: what draws the glyphs (:class:`~.engines.PenEngine`, :class:`~.engines.ModelEngine`).
* :mod:`.sheets` -- stage 3 in the export workers: sheets through the one sheet pipeline
  (:func:`~igae_robot.paper.sheet.place_sheets`, :func:`~igae_robot.paper.sheet.plot_lengths`),
  files through the writers, fidelity through the check (:func:`~igae_robot.check.score_sheets_pen`).
* :mod:`.run` -- :func:`vectorize`: workers, the pipeline, the manifest.

Speed: a 28x28 digit is a few hundred bytes in and a few kilobytes out, so per-image Python costs
more than the model.  Every stage works on arrays of many images: same-size images are cut as one
stack, the pen-down runs of a whole chunk are found at once, the SVG numbers of a chunk are
formatted in one pass (:func:`igae_robot.exporters.export_files`), the fidelity render is one batched
render per chunk.  While the export workers write one batch, this process encodes the next.

Pen lifts: the model draws a stroke in several pen-down pieces (under max compositing a pen-up
step costs nothing).  Pieces whose ends are closer than ``join`` stroke widths of the source ink are
joined (:func:`~igae_robot.paper.sheet.place_sheets`): the joint hides inside the line, and the pen
lifts about 1.6 times per MNIST digit instead of 8.

Fidelity: the strokes as exported are drawn as a plotter draws them -- Pillow, a round pen as wide as the
source's median stroke -- and scored against the glyph crops of the source: IoU at 0.5 and MSE, averaged
over an image's glyphs (as ``igae check --against`` images does).

Resume: an image is skipped when its last manifest line says ``ok``, its source file has the same
size and modification time, the run's settings (engine or model weights, formats, machines, sizes, options)
hash to the same key, and every output file exists.  Outputs are written all-or-nothing and the
manifest lines of a chunk only after the worker that wrote its files has returned, so an interrupted
run (Ctrl-C, kill -9) redoes at most the images in flight.  Encoder batches always have the same
shape, so an image's output does not depend on which images shared its batch: a resumed run writes
the same bytes as an uninterrupted one.
"""

from igae_robot.paper.sheet import place_sheet
from igae_robot.vectorize.options import MANIFEST, Source, VectorizeOptions, VectorizeSummary, Writer
from igae_robot.vectorize.run import vectorize
from igae_robot.vectorize.sources import discover_images, read_manifest

__all__ = [
    "MANIFEST",
    "Source",
    "VectorizeOptions",
    "VectorizeSummary",
    "Writer",
    "discover_images",
    "place_sheet",
    "read_manifest",
    "vectorize",
]
