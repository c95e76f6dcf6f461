"""Batch vectorization, library side: pieces of a page, model inputs, refinement, the pipeline, resume."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch
from PIL import Image
from vectorize_fixtures import TINY, glyph_image, good_and_bad_folder, mnist_like, page_image, tiny_checkpoint

from igae_robot.model.checkpoint import load_checkpoint
from igae_robot.images.glyphs import (
    find_pieces, glyph_crops, glyph_inputs, ink_image, ink_images, stroke_width, stroke_widths, to_canvas,
)
from igae_robot.config import ModelConfig
from igae_robot.errors import ConfigError, DataError, GestureError
from igae_robot.exporters import export_files, read_file
from igae_robot.images import read as images
from igae_robot.images.read import read_image, read_image_stats
from igae_robot.model.network import GestureAutoencoder
from igae_robot.model.refine import reconstruction_mse, refine
from igae_robot.paper.sheet import SheetOptions
from igae_robot.vectorize import MANIFEST, VectorizeOptions, discover_images, read_manifest, vectorize

SVG = {".svg": functools.partial(export_files, fmt="svg", machine=None)}


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("model") / "checkpoint.pt")


# ---- components -------------------------------------------------------------------------------


def test_ink_is_the_same_for_dark_on_light_and_light_on_dark():
    dark = np.asarray(glyph_image("ring", dark_on_light=True), dtype=np.float32) / 255
    light = np.asarray(glyph_image("ring", dark_on_light=False), dtype=np.float32) / 255
    np.testing.assert_allclose(ink_image(dark), ink_image(light))
    np.testing.assert_allclose(ink_image(dark, invert=True), ink_image(light, invert=False))
    assert ink_image(dark).max() == 1.0 and ink_image(dark)[0, 0] == 0.0


def test_stroke_width_of_a_drawn_line():
    for width in (2, 4, 6):
        ink = ink_image(np.asarray(glyph_image("cross", 120, width=width), dtype=np.float32) / 255)
        assert stroke_width(ink) == pytest.approx(width, rel=0.35)
    assert stroke_width(np.zeros((10, 10))) == 0.0


def test_pieces_of_a_page_in_reading_order(tmp_path):
    ink = ink_image(read_image(page_image(tmp_path / "page.png")))
    pieces = find_pieces(ink, "auto")
    assert len(pieces) == 3
    xs = [p.box[0] for p in pieces]
    assert xs == sorted(xs) and xs[0] < 30 < xs[1] < 100 < xs[2]
    assert len(find_pieces(ink, "none")) == 1
    assert find_pieces(np.zeros((30, 30), np.float32)) == []
    with pytest.raises(ConfigError, match="unknown split mode 'tiles'; known: auto, none, components"):
        find_pieces(ink, "tiles")


def test_one_glyph_stays_whole_and_a_long_stroke_is_tiled():
    glyph = ink_image(np.asarray(glyph_image("ring", 40), dtype=np.float32) / 255)
    assert [p.box for p in find_pieces(glyph, "auto")] == [(0, 0, 40, 40)]
    wave = np.zeros((30, 400), np.float32)
    wave[14:17, 10:390] = 1.0  # one connected stroke 130 stroke widths long
    tiles = find_pieces(wave, "auto")
    assert len(tiles) > 3 and all(p.box[2] - p.box[0] <= 12 * 3 + 1 for p in tiles)


def test_mnist_digits_pass_through_unchanged(mnist_dir):
    """The model's own input format is not resampled or moved: what it was trained on is what it sees."""
    from igae_robot.training.data import load_dataset

    for digit in load_dataset("mnist", mnist_dir, "test").images[:200, 0].numpy():
        canvas, t = to_canvas(digit)
        np.testing.assert_array_equal(canvas, digit)
        assert (t.scale, t.offset_x, t.offset_y) == (28.0, 0.0, 0.0)


def test_canvas_transform_maps_back_to_the_source_pixels():
    ink = np.zeros((300, 200), np.float32)
    ink[100:180, 40:100] = 1.0  # an 80 x 60 block
    canvas, t = to_canvas(ink)
    rows, cols = np.nonzero(canvas > 0.5)
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1)  # the longer side fits the 20 px box
    corners = np.array([[cols.min(), rows.min()], [cols.max() + 1, rows.max() + 1]]) / 28
    np.testing.assert_allclose(t.to_source(corners), [[40, 100], [100, 180]], atol=4)
    glyphs, transforms = glyph_crops(ink, find_pieces(ink, "components"))
    assert glyphs.shape == (1, 28, 28) and transforms[0].source_size == (200, 300)


def _mixed_stack(mnist_dir) -> np.ndarray:
    """28 x 28 grey images: MNIST digits (which pass through), drawn glyphs of both polarities, noise, blanks."""
    from igae_robot.training.data import load_dataset

    digits = np.round(load_dataset("mnist", mnist_dir, "test").images[:300, 0].numpy() * 255) / np.float32(255)
    drawn = [np.asarray(glyph_image(k, 28, dark_on_light=i % 2 == 0, width=1 + i % 4), np.float32) / 255
             for i, k in enumerate(("line", "ring", "cross") * 8)]
    noise = [np.random.default_rng(i).uniform(0, 1, (28, 28)).astype(np.float32) for i in range(6)]
    return np.concatenate([digits, np.stack(drawn + noise + [np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32)])])


@pytest.mark.parametrize("split", ["auto", "none", "components"])
def test_a_stack_is_cut_as_each_image_alone(mnist_dir, split):
    """ink_images, stroke_widths and glyph_inputs on a stack == ink_image, stroke_width and glyph_crops one by one."""
    grays = _mixed_stack(mnist_dir)
    for invert in (None, True):
        inks = ink_images(grays, invert)
        assert all(np.array_equal(inks[i], ink_image(grays[i], invert)) for i in range(0, len(grays), 5))
    inks = ink_images(grays)
    widths = stroke_widths(inks)
    assert widths.tolist() == [stroke_width(ink) for ink in inks]
    glyphs, counts, transforms = glyph_inputs(inks, widths, split)
    start = 0
    for ink, width, count in zip(inks, widths, counts):
        alone, ts = glyph_crops(ink, find_pieces(ink, split, width=float(width)))
        assert count == len(ts)
        np.testing.assert_array_equal(glyphs[start : start + count], alone)
        assert transforms[start : start + count].tolist() == [[t.scale, t.offset_x, t.offset_y] for t in ts]
        start += count
    assert start == len(glyphs) and (split != "auto" or counts[:300].tolist() == [1] * 300)


def test_pngs_read_together_are_what_pillow_reads(tmp_path):
    """8-bit PNGs of each colour type (every row filter) decoded in one Pillow call == Pillow file by file;
    other formats and bad files in the same batch keep their own result or error."""
    rng = np.random.default_rng(0)
    paths = []
    for mode, shape in (("L", (17, 23)), ("RGB", (17, 23, 3)), ("LA", (17, 23, 2)), ("RGBA", (17, 23, 4))):
        for k in range(4):
            paths.append(tmp_path / f"{mode}{k}.png")
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(paths[-1], optimize=k % 2 == 1)
    glyph_image("ring").convert("P").save(tmp_path / "palette.png")
    glyph_image("cross").save(tmp_path / "cross.bmp")
    (tmp_path / "cut.png").write_bytes(paths[0].read_bytes()[:60])
    paths += [tmp_path / "palette.png", tmp_path / "cross.bmp", tmp_path / "cut.png", tmp_path / "missing.png"]
    results = read_image_stats(paths)
    for path, result in zip(paths[:-2], results):
        gray, stat = result
        with Image.open(path) as im:  # what Pillow decodes, made grey the one way (alpha over white paper)
            np.testing.assert_array_equal(gray, images._gray(im))
        assert stat.st_size == path.stat().st_size
    assert isinstance(results[-2], DataError) and "truncated" in str(results[-2])
    assert isinstance(results[-1], DataError) and "no such image file" in str(results[-1])


# ---- refine -----------------------------------------------------------------------------------


def _encoded(cfg: ModelConfig, n: int = 6, seed: int = 0):
    torch.manual_seed(seed)
    model = GestureAutoencoder(cfg).eval()
    x = torch.from_numpy(mnist_like(n, seed))[:, None]
    with torch.no_grad():
        return model.encode(x), x


@pytest.mark.parametrize("cfg", [TINY, ModelConfig(decoder="points", steps=10, hidden=(32,))], ids=["gesture", "points"])
def test_refine_lowers_every_glyphs_loss(cfg):
    g, x = _encoded(cfg)
    before = reconstruction_mse(g, x, cfg)
    refined = refine(cfg, g, x, steps=40, lr=0.1)
    after = reconstruction_mse(refined, x, cfg)
    assert (after <= before + 1e-7).all() and after.mean() < 0.7 * before.mean()
    assert not refined.velocity.requires_grad
    if cfg.decoder == "gesture":  # the model's limits hold: steps of at most step_size_px
        assert refined.velocity.abs().max() <= cfg.step_size_px / cfg.image_size + 1e-6
    assert ((refined.pressure >= 0) & (refined.pressure <= 1)).all()


def test_refine_does_not_depend_on_the_batch():
    g, x = _encoded(TINY)
    alone = refine(TINY, g[0], x[:1], steps=10)
    together = refine(TINY, g, x, steps=10)
    torch.testing.assert_close(alone.positions(), together[0].positions(), rtol=0, atol=1e-6)


def test_refine_zero_steps_and_bad_shapes():
    g, x = _encoded(TINY, 2)
    same = refine(TINY, g, x, steps=0)
    torch.testing.assert_close(same.positions(), g.positions())
    with pytest.raises(GestureError, match=r"refine needs images of shape \(2, 1, S, S\)"):
        refine(TINY, g, x[:1], steps=5)


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
    from igae_robot.vectorize import _Manifest

    path = tmp_path / MANIFEST
    path.write_text('{"source": "a.png", "status": "ok"}\n{"source": "b.png", "sta')
    manifest = _Manifest(path)
    manifest.write({"source": "c.png", "status": "ok"})
    manifest.close()
    assert sorted(read_manifest(path)) == ["a.png", "c.png"]


# ---- the batched pieces of stage 3 ------------------------------------------------------------


def test_pen_down_of_many_gestures_keeps_the_hysteresis():
    from igae_robot.gesture import pen_down

    intensity = np.array([[0.2, 0.6, 0.4, 0.3, 0.5, 0.49], [0.5, 0.34, 0.36, 0.5, 0.5, 0.0]])
    expected = [[False, True, True, False, True, True], [True, False, False, True, True, False]]
    assert pen_down(intensity).tolist() == expected
    assert pen_down(intensity, 0.5, 0.35).tolist() == expected
    with pytest.raises(GestureError, match="must not exceed"):
        pen_down(intensity, 0.5, 0.6)


def test_lengths_of_many_sheets_are_plot_stats():
    from fixtures_machine import DOT, EMPTY, random_glyph_gestures

    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import plan_sheet, plot_stats
    from igae_robot.vectorize import _plot_lengths

    sheets = [plan_sheet(random_glyph_gestures(1 + k % 5, seed=k) + [DOT, EMPTY], Page.from_spec("A5")) for k in range(8)]
    sheets.append(plan_sheet([EMPTY], Page.from_spec("A5")))
    strokes, down, up = _plot_lengths(sheets)
    for sheet, n, d, u in zip(sheets, strokes, down, up):
        stats = plot_stats(sheet)
        assert (n, d, u) == (stats.strokes, pytest.approx(stats.pen_down_mm, abs=1e-9), pytest.approx(stats.pen_up_mm, abs=1e-9))


def test_place_sheet_chains_the_pieces_of_a_stroke():
    from fixtures_machine import gesture

    from igae_robot.paper.layout import Placement
    from igae_robot.paper.page import Page
    from igae_robot.paper.sheet import SheetOptions
    from igae_robot.vectorize import place_sheet

    # One stroke drawn in two pen-down pieces, the second starting 1 mm from where the first ended.
    g = gesture([[0.1, 0.5], [0.3, 0.5], [0.6, 0.6], [0.31, 0.5], [0.5, 0.5]], intensity=[1, 1, 0, 1, 1])
    page = Page(100, 100, 0, "image")
    place = [Placement(0, -1, 100.0, 0.0, 0.0)]
    apart = place_sheet([g], place, page, SheetOptions(merge_mm=0.0))
    joined = place_sheet([g], place, page, SheetOptions(merge_mm=2.0))
    assert len(apart.polylines) == 2 and len(joined.polylines) == 1
    assert joined.polylines[0].points[:, 0].tolist() == pytest.approx([10, 30, 31, 50])


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
        ({"sheet": SheetOptions(threshold=float("nan"))}, "threshold"),
        ({"sheet": SheetOptions(threshold=0.0)}, "threshold"),
        ({"sheet": SheetOptions(threshold=1.5)}, "threshold"),
        ({"sheet": SheetOptions(threshold=0.5, release=0.7)}, "release"),
        ({"sheet": SheetOptions(release=float("nan"))}, "release"),
    ],
)
def test_every_option_is_checked_when_made(options, message):
    with pytest.raises(ConfigError, match=message) as refused:
        VectorizeOptions(**options)
    assert "\n" not in str(refused.value)
