"""Stages 1 and 2 of a vectorize run (igae_robot.vectorize.stages): pieces of a page, model inputs, images
read together, refinement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from vectorize_fixtures import TINY, glyph_image, mnist_like, page_image

from igae_robot.images.glyphs import (
    find_pieces, glyph_crops, glyph_inputs, ink_image, ink_images, stroke_width, stroke_widths, to_canvas,
)
from igae_robot.config import ModelConfig
from igae_robot.errors import ConfigError, DataError, GestureError
from igae_robot.images import read as images
from igae_robot.images.read import read_image, read_image_stats
from igae_robot.model.network import GestureAutoencoder
from igae_robot.model.refine import reconstruction_mse, refine


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


def test_loader_batches_hold_at_most_their_pixels_and_one_source_reads_no_header(tmp_path, monkeypatch):
    """Batches close before they would pass max_pixels (sizes from the files' headers); a run of one image is
    one batch, whatever it holds, without opening the file for its header."""
    from igae_robot.vectorize import stages
    from igae_robot.vectorize.options import Source

    paths = []
    for k, side in enumerate((100, 100, 300, 50)):
        paths.append(tmp_path / f"{k}.png")
        Image.new("L", (side, side), 255).save(paths[-1])
    sources = [Source(p, p.name, p.stem) for p in paths]
    assert list(stages.PixelBatches(sources, batch_size=8, max_pixels=25_000)) == [[0, 1], [2], [3]]
    assert list(stages.PixelBatches(sources, batch_size=2, max_pixels=10**9)) == [[0, 1], [2, 3]]
    monkeypatch.setattr(stages, "_header_pixels", lambda path: pytest.fail("header read for a single image"))
    assert list(stages.PixelBatches(sources[2:3], batch_size=8, max_pixels=1)) == [[0]]
