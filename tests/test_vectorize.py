"""Batch vectorization, library side: the pipeline, resume, output names, options (igae_robot.vectorize)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from PIL import Image
from vectorize_fixtures import glyph_image, good_and_bad_folder, page_image, tiny_checkpoint

from igae_robot.model.checkpoint import load_checkpoint
from igae_robot.errors import ConfigError, DataError
from igae_robot.exporters import export_files, read_file
from igae_robot.paper.sheet import SheetOptions
from igae_robot.vectorize import MANIFEST, VectorizeOptions, discover_images, read_manifest, vectorize

SVG = {".svg": functools.partial(export_files, fmt="svg", machine=None)}


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("model") / "checkpoint.pt")



# ---- the pipeline -----------------------------------------------------------------------------


def test_discover_names_outputs_and_skips_the_output_folder(tmp_path):
    glyph_image("line").save(tmp_path / "a.png")
    glyph_image("ring").save(tmp_path / "a.jpg")
    glyph_image("ring").save(tmp_path / "b.PNG")
    (tmp_path / "out").mkdir()
    glyph_image("ring").save(tmp_path / "out" / "old.png")
    found = discover_images([tmp_path], exclude=tmp_path / "out")
    assert [(s.name, s.stem) for s in found] == [("a.jpg", "a.jpg"), ("a.png", "a.png"), ("b.PNG", "b")]
    with pytest.raises(DataError, match="no such file or folder"):
        discover_images([tmp_path / "missing"])


def test_bad_files_are_recorded_and_good_ones_vectorized(tmp_path, ckpt_path):
    good, bad = good_and_bad_folder(tmp_path / "in")
    out = tmp_path / "out"
    sources = discover_images([tmp_path / "in"])
    assert sorted(s.name for s in sources) == sorted(good + bad)
    summary = vectorize(sources, out, load_checkpoint(ckpt_path), SVG, VectorizeOptions(workers=0, batch_size=4))
    records = read_manifest(out / MANIFEST)
    assert sorted(records) == sorted(good + bad)
    for name in good:
        r = records[name]
        assert r["status"] == "ok", r
        assert 0 <= r["iou"] <= 1 and r["mse"] >= 0 and r["strokes"] >= 0 and r["glyphs"] == 1
        sheet = read_file(out / r["outputs"][0])
        assert sheet.page.width_mm == pytest.approx(r["width_px"] * 25.4 / 96)
        x0, y0, x1, y1 = sheet.page.drawable
        for p in sheet.polylines:  # strokes stay inside the source image's frame
            assert (p.points >= [x0 - 1e-6, y0 - 1e-6]).all() and (p.points <= [x1 + 1e-6, y1 + 1e-6]).all()
    reasons = {name: records[name]["reason"] for name in bad}
    assert all(records[n]["status"] == "error" and n in reasons[n] for n in bad)
    assert "empty file" in reasons["empty.png"]
    assert "20000x20000" in reasons["huge.png"] or "DecompressionBomb" in reasons["huge.png"]
    assert "not a readable image" in reasons["text.png"]
    assert "truncated" in reasons["truncated.png"] or "corrupt" in reasons["truncated.png"]
    assert len(summary.errors) == 4 and summary.processed == 9
    # The manifest is compacted at the end: one line per source, in source order.
    lines = (out / MANIFEST).read_text().splitlines()
    assert [json.loads(line)["source"] for line in lines] == [s.name for s in sources]


def test_resume_skips_done_images_and_redoes_changed_ones(tmp_path, ckpt_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, kind in enumerate(("line", "ring", "cross")):
        glyph_image(kind).save(folder / f"{i}.png")
    (folder / "bad.png").write_bytes(b"")
    out, ckpt = tmp_path / "out", load_checkpoint(ckpt_path)
    opts = VectorizeOptions(workers=0)
    first = vectorize(discover_images([folder]), out, ckpt, SVG, opts)
    assert (first.processed, first.skipped) == (4, 0)
    before = {p.name: p.read_bytes() for p in out.glob("*.svg")}
    again = vectorize(discover_images([folder]), out, ckpt, SVG, opts)
    assert (again.processed, again.skipped) == (1, 3)  # only the failed file is tried again
    (out / "1.svg").unlink()
    glyph_image("cross", 50).save(folder / "2.png")  # a changed source
    third = vectorize(discover_images([folder]), out, ckpt, SVG, opts)
    assert (third.processed, third.skipped) == (3, 1)
    assert (out / "1.svg").read_bytes() == before["1.svg"] and (out / "0.svg").read_bytes() == before["0.svg"]
    assert vectorize(discover_images([folder]), out, ckpt, SVG, VectorizeOptions(workers=0, dpi=300)).processed == 4
    assert vectorize(discover_images([folder]), out, ckpt, SVG, VectorizeOptions(workers=0, dpi=300, force=True)).skipped == 0


def test_an_image_comes_out_the_same_whatever_shares_its_batch(tmp_path, ckpt_path):
    """Images of different sizes interleaved in one batch (cut size by size) are each what they are alone."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i, (kind, size) in enumerate([("line", 40), ("ring", 32), ("cross", 40), ("ring", 40), ("line", 32)]):
        glyph_image(kind, size).save(folder / f"{i}.png")
    page_image(folder / "5.png")
    ckpt, opts = load_checkpoint(ckpt_path), VectorizeOptions(workers=0, batch_size=8)
    together = vectorize(discover_images([folder]), tmp_path / "together", ckpt, SVG, opts)
    for source, record in zip(discover_images([folder]), together.records):
        (alone,) = vectorize([source], tmp_path / "alone", ckpt, SVG, opts).records
        assert {k: v for k, v in alone.items() if k != "seconds"} == {k: v for k, v in record.items() if k != "seconds"}
        name = record["outputs"][0]
        assert (tmp_path / "alone" / name).read_bytes() == (tmp_path / "together" / name).read_bytes()


def test_a_page_comes_out_as_a_page(tmp_path, ckpt_path):
    (tmp_path / "in").mkdir()
    page_image(tmp_path / "in" / "page.png")
    summary = vectorize(discover_images([tmp_path / "in"]), tmp_path / "out", load_checkpoint(ckpt_path), SVG,
                        VectorizeOptions(workers=0, width_mm=100.0))
    (record,) = summary.records
    assert record["status"] == "ok" and record["glyphs"] == 3 and record["width_mm"] == 100.0
    sheet = read_file(tmp_path / "out" / "page.svg")
    assert sheet.page.width_mm == pytest.approx(100) and sheet.page.height_mm == pytest.approx(40)
    # Each glyph is placed over its own third of the page (0.5 mm per source pixel).
    centres = sorted(p.to_page(np.array([[0.5, 0.5]]))[0, 0] for p in sheet.placements)
    np.testing.assert_allclose(centres, [17.5, 50, 82.5], atol=3)


def test_refine_is_reported_before_and_after(tmp_path, ckpt_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, kind in enumerate(("line", "ring")):
        glyph_image(kind).save(folder / f"{i}.png")
    summary = vectorize(discover_images([folder]), tmp_path / "out", load_checkpoint(ckpt_path), SVG,
                        VectorizeOptions(workers=0, refine_steps=30, refine_lr=0.1))
    for r in summary.records:
        assert r["status"] == "ok" and {"iou_encoder", "mse_encoder"} <= set(r)
    m = summary.means()
    assert m["mse"] < m["mse_encoder"]


def test_export_errors_are_recorded_per_image(tmp_path, ckpt_path):
    from igae_robot.paper.machine import load_machine

    folder = tmp_path / "in"
    folder.mkdir()
    glyph_image("line", 40).save(folder / "small.png")
    wide = np.full((400, 4000), 255, np.uint8)  # 1058 mm wide at 96 dpi: off a 300 mm plotter
    wide[190:210, 100:3900] = 0  # one long stroke across it
    Image.fromarray(wide).save(folder / "wide.png")
    writers = {".gcode": functools.partial(export_files, fmt="gcode", machine=load_machine("grbl-servo"))}
    summary = vectorize(discover_images([folder]), tmp_path / "out", load_checkpoint(ckpt_path), writers, VectorizeOptions(workers=0))
    status = {r["source"]: r for r in summary.records}
    assert status["small.png"]["status"] == "ok"
    assert status["wide.png"]["status"] == "error" and "wide.png" in status["wide.png"]["reason"]


def test_manifest_survives_a_line_cut_by_a_kill(tmp_path):
    from igae_robot.vectorize.sources import _Manifest

    path = tmp_path / MANIFEST
    path.write_text('{"source": "a.png", "status": "ok"}\n{"source": "b.png", "sta')
    manifest = _Manifest(path)
    manifest.write({"source": "c.png", "status": "ok"})
    manifest.close()
    assert sorted(read_manifest(path)) == ["a.png", "c.png"]


# ---- issue 11: names never collide, ink in alpha is ink, options checked first ------------------


def _stems(tmp_path, names: list[str]) -> dict[str, str]:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        glyph_image("line").save(tmp_path / name, format="PNG" if name.lower().endswith(".png") else None)
    return {s.name: s.stem for s in discover_images([tmp_path])}


def test_output_names_never_collide(tmp_path, ckpt_path):
    """``a.png`` kept whole because of ``a.jpg`` would be ``a.png.png``'s stem; names differing only in
    case collide on FAT and macOS disks (a plotter's SD card).  Every source gets its own output."""
    names = ["a.png", "a.png.png", "a.jpg", "A.png", "b.png", "B.PNG", "sub/c.png", "sub/c.jpg", "sub/C.PNG", "d.png"]
    stems = _stems(tmp_path / "in", names)
    assert len({s.casefold() for s in stems.values()}) == len(names), stems
    assert stems["d.png"] == "d" and stems["a.png.png"] == "a.png.png" and stems["a.jpg"] == "a.jpg"
    assert _stems(tmp_path / "in", []) == stems  # deterministic
    summary = vectorize(discover_images([tmp_path / "in"]), tmp_path / "out", load_checkpoint(ckpt_path), SVG,
                        VectorizeOptions(workers=0))
    outputs = [r["outputs"][0] for r in summary.records]
    assert all(r["status"] == "ok" for r in summary.records)
    assert len({o.casefold() for o in outputs}) == len(names)
    assert len([p for p in (tmp_path / "out").rglob("*.svg")]) == len(names)


def test_colliding_outputs_are_refused_before_anything_is_written(tmp_path, ckpt_path):
    from igae_robot.vectorize import Source

    glyph_image("line").save(tmp_path / "x.png")
    glyph_image("ring").save(tmp_path / "y.png")
    sources = [Source(tmp_path / "x.png", "x.png", "same"), Source(tmp_path / "y.png", "y.png", "same")]
    with pytest.raises(DataError, match=r"x\.png.*y\.png.*same\.svg"):
        vectorize(sources, tmp_path / "out", load_checkpoint(ckpt_path), SVG, VectorizeOptions(workers=0))
    assert not (tmp_path / "out").exists()


def test_a_resumed_run_redoes_an_image_whose_output_name_changed(tmp_path, ckpt_path):
    folder, out, ckpt = tmp_path / "in", tmp_path / "out", load_checkpoint(ckpt_path)
    folder.mkdir()
    glyph_image("line").save(folder / "a.png")
    glyph_image("ring").save(folder / "a.png.png")
    first = vectorize(discover_images([folder]), out, ckpt, SVG, VectorizeOptions(workers=0))
    assert [r["outputs"] for r in first.records] == [["a.svg"], ["a.png.svg"]]
    glyph_image("cross").save(folder / "a.jpg")  # now a.png is named a.png.svg: a.png.png must move
    second = vectorize(discover_images([folder]), out, ckpt, SVG, VectorizeOptions(workers=0))
    assert second.skipped == 0
    assert [r["outputs"] for r in second.records] == [["a.jpg.svg"], ["a.png.svg"], ["a.png.png.svg"]]
    for record in second.records:  # each output is its own source's drawing
        (alone,) = vectorize([s for s in discover_images([folder]) if s.name == record["source"]], tmp_path / "alone",
                             ckpt, SVG, VectorizeOptions(workers=0)).records
        assert (tmp_path / "alone" / alone["outputs"][0]).read_bytes() == (out / record["outputs"][0]).read_bytes()


def test_ink_in_the_alpha_channel_is_vectorized(tmp_path, ckpt_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rgba = np.zeros((40, 40, 4), np.uint8)  # black everywhere, the strokes only in alpha (drawing apps)
    rgba[..., 3] = np.asarray(glyph_image("cross", dark_on_light=False))
    Image.fromarray(rgba, "RGBA").save(folder / "drawn.png")  # the fast PNG path
    Image.fromarray(rgba, "RGBA").save(folder / "drawn.tif")  # Pillow's
    Image.fromarray(255 - rgba[..., 3], "L").save(folder / "paper.png")  # the same, drawn on white paper
    summary = vectorize(discover_images([folder]), tmp_path / "out", load_checkpoint(ckpt_path), SVG, VectorizeOptions(workers=0))
    for record in summary.records:
        assert record["status"] == "ok" and record["glyphs"] == 1, record
    paper = (tmp_path / "out" / "paper.svg").read_bytes()
    assert (tmp_path / "out" / "drawn.png.svg").read_bytes() == paper == (tmp_path / "out" / "drawn.tif.svg").read_bytes()


def test_a_blank_image_is_a_warning_in_the_manifest_not_a_drawing(tmp_path, ckpt_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("L", (40, 40), 255).save(folder / "white.png")
    Image.new("L", (40, 40), 0).save(folder / "black.png")
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(folder / "transparent.png")
    Image.new("L", (1, 1), 0).save(folder / "dot.png")
    specks = np.full((60, 60), 255, np.uint8)
    specks[[5, 30, 50], [40, 10, 33]] = 0  # three isolated pixels: noise, no glyph
    Image.fromarray(specks).save(folder / "specks.png")
    glyph_image("ring").save(folder / "ring.png")
    summary = vectorize(discover_images([folder]), tmp_path / "out", load_checkpoint(ckpt_path), SVG,
                        VectorizeOptions(workers=0, split="components"))
    records = {r["source"]: r for r in summary.records}
    assert records["ring.png"]["status"] == "ok"
    for name in ("white.png", "black.png", "transparent.png", "dot.png", "specks.png"):
        record = records[name]
        assert record["status"] == "error" and name in record["reason"], record
        assert not record.get("outputs") and not (tmp_path / "out" / f"{name[:-4]}.svg").exists()
    assert "blank" in records["white.png"]["reason"] and "too small" in records["dot.png"]["reason"]
    assert "no glyph" in records["specks.png"]["reason"]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"split": "bogus"}, "unknown split mode 'bogus'"),
        ({"dpi": float("inf")}, "dpi"),
        ({"dpi": 0.0}, "dpi"),
        ({"width_mm": float("nan")}, "width"),
        ({"join": float("nan")}, "join"),
        ({"refine_lr": 0.0}, "refine-lr"),
        ({"refine_lr": float("nan")}, "refine-lr"),
        ({"refine_steps": -1}, "refine"),
        ({"batch_size": 0}, "batch-size"),
        ({"batch_size": 10**9}, "batch-size"),
        ({"workers": -1}, "workers"),
        ({"workers": 10**6}, "workers"),
        ({"max_pixels": 0}, "max-pixels"),
        ({"sheet": lambda: SheetOptions(threshold=float("nan"))}, "threshold"),
        ({"sheet": lambda: SheetOptions(threshold=0.0)}, "threshold"),
        ({"sheet": lambda: SheetOptions(threshold=1.5)}, "threshold"),
        ({"sheet": lambda: SheetOptions(threshold=0.5, release=0.7)}, "release"),
        ({"sheet": lambda: SheetOptions(release=float("nan"))}, "release"),
    ],
)
def test_every_option_is_checked_when_made(options, message):
    with pytest.raises(ConfigError, match=message) as refused:  # sheet options refuse when made
        VectorizeOptions(**{k: v() if callable(v) else v for k, v in options.items()})
    assert "\n" not in str(refused.value)


def test_the_pen_engine_needs_no_model_and_is_judged_as_a_pen_draws(tmp_path):
    from PIL import Image, ImageDraw

    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    for i, lines in enumerate([[(20, 20), (80, 80)], [(20, 80), (50, 20), (80, 80)]]):
        im = Image.new("L", (100, 100), 255)
        ImageDraw.Draw(im).line(lines, fill=0, width=7, joint="curve")
        im.save(folder / f"{i}.png")
    summary = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(), SVG, VectorizeOptions(workers=0))
    for r in summary.records:
        assert r["status"] == "ok" and r["strokes"] == 1, r
        assert r["iou"] > 0.85, r  # a round pen as wide as the line, Pillow-drawn, against the scan's ink
        assert (tmp_path / "out" / r["outputs"][0]).read_text().count("<path") >= 1


def test_the_pen_engine_draws_a_page_whole_at_its_own_scale(tmp_path):
    from PIL import Image, ImageDraw

    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    im = Image.new("L", (600, 300), 255)
    d = ImageDraw.Draw(im)
    for row in range(3):  # three "lines of writing": long waves, far more than a glyph box of 32 pens
        xs = np.linspace(20, 580, 80)
        d.line([(float(x), 50 + 90 * row + 20 * np.sin(x / 15 + row)) for x in xs], fill=0, width=5, joint="curve")
    im.save(folder / "page.png")
    summary = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(), SVG, VectorizeOptions(dpi=300, workers=0))
    (r,) = summary.records
    assert r["status"] == "ok" and r["glyphs"] == 1, r  # one drawing of the whole page, not glyph pieces
    assert r["strokes"] == 3, r  # each line one stroke, however many fit windows it crosses
    assert r["iou"] > 0.85, r
    assert r["width_mm"] == pytest.approx(600 / 300 * 25.4, abs=1e-3)
    svg = (tmp_path / "out" / r["outputs"][0]).read_text()
    assert 'width="50.8mm"' in svg, svg[:300]


def test_an_image_of_the_crop_s_size_too_big_for_one_glyph_is_drawn_whole(tmp_path):
    """112 px is the pen engine's crop: such an image whose thin lines span more than a glyph's 32 pens went to
    the crop check with no image in it and failed (a reshape of an empty stack)."""
    from PIL import Image, ImageDraw

    from igae_robot.vectorize.engines import PEN_CANVAS, PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    im = Image.new("L", (PEN_CANVAS, PEN_CANVAS), 255)
    ImageDraw.Draw(im).line([(5, 50), (105, 60)], fill=0, width=1)
    ImageDraw.Draw(im).line([(5, 70), (100, 90)], fill=0, width=1)
    im.save(folder / "thin.png")
    (r,) = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(), SVG, VectorizeOptions(workers=0)).records
    assert r["status"] == "ok" and r["strokes"] == 2, r
    assert r["iou"] > 0.8, r


def test_the_pen_engine_enlarges_glyphs_by_whole_factors_and_never_shrinks_one_that_fits_its_crop():
    from igae_robot.images.glyphs import to_canvas

    for extent, factor in [(20, 4.0), (27, 2.0), (60, 1.0), (100, 1.0), (200, 80 / 200)]:
        ink = np.zeros((300, 300), np.float32)
        ink[50:53, 40 : 40 + extent] = 1.0  # a 3-px line, ``extent`` long
        canvas, t = to_canvas(ink, 112, 80, whole_factors=True)
        assert 112 / t.scale == pytest.approx(factor), extent
        if factor >= 1:  # enlarged by a whole factor, the line keeps one width all along it
            widths = (canvas > 0.5).sum(axis=0)
            assert set(widths[widths > 0][2:-2].tolist()) == {3 * int(factor)}, (extent, set(widths.tolist()))


def test_a_glyph_larger_than_the_pen_crop_is_drawn_whole_at_its_own_scale(tmp_path):
    """A 150-px glyph drawn with a 5-px pen (30 pens: one glyph) was shrunk into the crop's 80-px box, and its
    drawing, scaled back, missed the lines' edges (0.878 here; an Omniglot glyph on a scan 0.79, drawn whole 0.97)."""
    from PIL import Image, ImageDraw

    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    im = Image.new("L", (400, 400), 255)
    d = ImageDraw.Draw(im)
    for line in ([(120, 120), (270, 120), (270, 270)], [(120, 195), (240, 195)], [(120, 270), (270, 270)]):
        d.line(line, fill=0, width=5, joint="curve")
    im.save(folder / "big.png")
    (r,) = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(), SVG, VectorizeOptions(workers=0)).records
    assert r["status"] == "ok" and r["glyphs"] == 1 and r["strokes"] <= 3, r
    # Judged as the benchmarks judge: the file read back by vpype (1 px = 1 CSS px at the default 96 dpi) and
    # drawn with the source's pen against the source itself (the manifest's IoU is against the engine's crop).
    vpype = pytest.importorskip("vpype", reason="REQUIRED-IN-CI: vpype (test extra) not installed; pip install -e '.[test]'")
    from igae_robot.images.pen_draw import pen_iou

    lines, _, _ = vpype.read_svg(str(tmp_path / "out" / r["outputs"][0]), quantization=0.1)
    drawn = [np.column_stack([line.real, line.imag]) for line in lines]
    assert pen_iou(drawn, np.asarray(im) < 128, 5.0) > 0.95  # shrunk into the crop: 0.878


def test_remove_lines_takes_the_ruled_lines_out_and_keeps_the_writing(tmp_path):
    from PIL import Image, ImageDraw

    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    im = Image.new("L", (600, 300), 255)
    d = ImageDraw.Draw(im)
    for y in (60, 140, 220):  # printed rules across the whole sheet
        d.line([(0, y), (600, y)], fill=90, width=3)
    d.line([(float(x), 140 + 70 * np.sin(x / 40)) for x in np.linspace(100, 500, 60)], fill=0, width=6, joint="curve")
    im.save(folder / "ruled.png")
    runs = {}
    for remove in (False, True):
        options = VectorizeOptions(dpi=25.4, workers=0, remove_lines=remove, force=True)
        (runs[remove],) = vectorize(discover_images([folder]), tmp_path / f"out{remove}", PenEngine(page_fit_steps=0), SVG, options).records
    assert runs[False]["pen_down_mm"] > 1800, runs[False]  # the three rules drawn: 3 x 600 mm
    assert 400 < runs[True]["pen_down_mm"] < 900, runs[True]  # the wave alone, about 600 mm


def test_a_blank_scan_is_a_warning_that_says_so_not_a_drawing_of_its_grain(tmp_path):
    from PIL import Image

    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    paper = 0.85 + rng.normal(0, 0.03, (300, 400)) + np.linspace(0, 0.1, 400)[None]  # grey, grainy, uneven
    Image.fromarray((np.clip(paper, 0, 1) * 255).astype(np.uint8)).save(folder / "blank.png")
    (r,) = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(), SVG, VectorizeOptions(workers=0)).records
    assert r["status"] != "ok" and "blank scan" in r["reason"] and "blank.png" in r["reason"], r
    assert not list((tmp_path / "out").glob("*.svg"))


def test_the_pen_engine_s_files_are_the_same_whatever_shares_the_batch(tmp_path):
    """What resume relies on: a page drawn whole next to glyph crops, and each alone, give the same bytes."""
    from igae_robot.vectorize.engines import PenEngine

    folder = tmp_path / "in"
    folder.mkdir()
    for i, (kind, size) in enumerate([("line", 40), ("ring", 32)]):
        glyph_image(kind, size).save(folder / f"{i}.png")
    page_image(folder / "2.png")
    engine, opts = PenEngine(fit_steps=5, page_fit_steps=3), VectorizeOptions(workers=0, batch_size=8)
    together = vectorize(discover_images([folder]), tmp_path / "together", engine, SVG, opts)
    assert [r["glyphs"] for r in together.records] == [1, 1, 1]  # the page is one drawing, whole
    for source, record in zip(discover_images([folder]), together.records):
        (alone,) = vectorize([source], tmp_path / "alone", engine, SVG, opts).records
        name = record["outputs"][0]
        assert (tmp_path / "alone" / name).read_bytes() == (tmp_path / "together" / name).read_bytes()


def test_a_page_s_g_code_from_the_pen_engine_passes_rs274_within_the_machine(tmp_path):
    from PIL import ImageDraw
    from fixtures_machine import assert_moves_inside, require_rs274, run_rs274

    from igae_robot.paper.machine import load_machine
    from igae_robot.vectorize.engines import PenEngine

    require_rs274()
    folder = tmp_path / "scans"
    folder.mkdir()
    im = Image.new("L", (900, 500), 255)
    d = ImageDraw.Draw(im)
    for row in range(4):
        d.line([(float(x), 60 + 110 * row + 25 * np.sin(x / 20 + row)) for x in np.linspace(30, 870, 90)], fill=0, width=5, joint="curve")
    im.save(folder / "page.png")
    machine = load_machine("grbl-servo")
    writers = {".gcode": functools.partial(export_files, fmt="gcode", machine=machine)}
    (r,) = vectorize(discover_images([folder]), tmp_path / "out", PenEngine(page_fit_steps=2), writers, VectorizeOptions(dpi=150, workers=0)).records
    assert r["status"] == "ok" and r["strokes"] == 4, r
    moves = run_rs274((tmp_path / "out" / r["outputs"][0]).read_text(), machine, tmp_path)
    assert_moves_inside(moves, machine)
