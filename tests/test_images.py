"""Reading images: ink in the alpha channel is ink, and a blank image is a warning naming the file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from igae_robot.images import read as images
from igae_robot.images.glyphs import to_glyph
from igae_robot.images.read import read_image, read_image_stats


def _ink_in_alpha(size: int = 40) -> np.ndarray:
    """What drawing apps export: black everywhere, the stroke only in the alpha channel (RGBA uint8)."""
    alpha = Image.new("L", (size, size), 0)
    ImageDraw.Draw(alpha).line([(8, 8), (size - 8, size - 8)], fill=255, width=4)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(alpha)
    return rgba


def _save(path, array: np.ndarray, mode: str, **kwargs):
    Image.fromarray(array, mode).save(path, **kwargs)
    return path


def _transparent_files(tmp_path) -> dict[str, object]:
    """The same transparent drawing in every form a reader meets (fast PNG path and Pillow's path)."""
    rgba = _ink_in_alpha()
    la = rgba[..., [0, 3]]
    gif = Image.fromarray(rgba, "RGBA").convert("P", palette=Image.ADAPTIVE, colors=2)
    gif.info["transparency"] = int(np.asarray(gif)[0, 0])  # the background's palette entry
    gif.save(tmp_path / "gif.gif", transparency=gif.info["transparency"])
    trns = Image.fromarray(np.where(rgba[..., 3] > 127, 0, 255).astype(np.uint8), "L")  # grey PNG, white transparent
    trns.save(tmp_path / "trns.png", transparency=255)
    return {
        "rgba.png": _save(tmp_path / "rgba.png", rgba, "RGBA"),
        "la.png": _save(tmp_path / "la.png", la, "LA"),
        "rgba.tif": _save(tmp_path / "rgba.tif", rgba, "RGBA"),
        "gif.gif": tmp_path / "gif.gif",
        "trns.png": tmp_path / "trns.png",
    }


def test_ink_in_the_alpha_channel_is_ink(tmp_path):
    stroke = _ink_in_alpha()[..., 3] > 127
    for name, path in _transparent_files(tmp_path).items():
        gray = read_image(path)
        # Transparent paper is white, the stroke dark: as if drawn on white paper.
        assert gray[~stroke].min() > 0.9 and gray[stroke].mean() < 0.2, name
        glyph, _ = to_glyph(gray)
        assert glyph.max() > 0.9 and (glyph > 0.5).sum() > 20, name


def test_the_fast_png_path_composites_as_pillow_does(tmp_path):
    """Plain 8-bit PNGs decoded together (one Pillow call) == the same pixels read one by one through
    Pillow (TIFF: never the fast path), for every colour type with alpha, transparent or not."""
    rng = np.random.default_rng(0)
    pngs, tiffs = [], []
    for mode, channels in (("LA", 2), ("RGBA", 4), ("L", 1), ("RGB", 3)):
        for k in range(3):
            array = rng.integers(0, 256, (17, 23, channels) if channels > 1 else (17, 23), dtype=np.uint8)
            pngs.append(_save(tmp_path / f"{mode}{k}.png", array, mode))
            tiffs.append(_save(tmp_path / f"{mode}{k}.tif", array, mode))
    together = read_image_stats(pngs + tiffs)
    for png, tif, a, b in zip(pngs, tiffs, together[: len(pngs)], together[len(pngs) :]):
        np.testing.assert_array_equal(a[0], b[0], err_msg=f"{png.name} vs {tif.name}")
    # and against Pillow's own compositing onto white (which rounds each channel: within a grey level)
    for path, (gray, _) in zip(pngs, together):
        im = Image.open(path).convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        expected = np.asarray(Image.alpha_composite(white, im).convert("L"), dtype=np.float32) / 255
        np.testing.assert_allclose(gray, expected, atol=1.5 / 255)


def test_an_opaque_image_reads_as_before(tmp_path):
    """Alpha 255 everywhere: exactly the grey of the colours (no rounding from the compositing)."""
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((9, 11, 1), 255, np.uint8)], axis=2)
    a = read_image(_save(tmp_path / "rgba.png", rgba, "RGBA"))
    b = read_image(_save(tmp_path / "rgb.png", rgb, "RGB"))
    np.testing.assert_array_equal(a, b)


def test_pillows_bomb_limit_switched_off_still_reads(tmp_path, monkeypatch):
    """Applications that read huge scans set ``Image.MAX_IMAGE_PIXELS = None``; the fast PNG path compared
    the image's size with it and raised a TypeError.  Our own limit (max_pixels) still applies."""
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, (12, 17), dtype=np.uint8)
    path = _save(tmp_path / "grey.png", grey, "L")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    np.testing.assert_array_equal(read_image(path), grey.astype(np.float32) / 255)
    assert isinstance(read_image_stats([path], max_pixels=100)[0], images.DataError)


@pytest.mark.parametrize(
    "name, make",
    [
        ("white.png", lambda: np.full((30, 30), 255, np.uint8)),
        ("black.png", lambda: np.zeros((30, 30), np.uint8)),
        ("grey.png", lambda: np.full((30, 30), 128, np.uint8)),
        ("dot.png", lambda: np.zeros((1, 1), np.uint8)),
        ("line.png", lambda: np.array([[0, 255, 0]], np.uint8)),
        ("transparent.png", lambda: np.zeros((30, 30, 4), np.uint8)),
    ],
)
def test_a_blank_or_tiny_image_is_a_warning_naming_the_file(tmp_path, name, make):
    array = make()
    path = _save(tmp_path / name, array, "RGBA" if array.ndim == 3 else "L")
    with pytest.warns(images.BlankImageWarning, match=str(path).replace("\\", "\\\\")) as caught:
        read_image(path)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert images.blank_reason(read_image_stats([path])[0][0]) is not None


def test_an_image_with_ink_gives_no_warning(tmp_path):
    array = np.full((30, 30), 255, np.uint8)
    array[10:20, 14:16] = 0
    path = _save(tmp_path / "ink.png", array, "L")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_image(path)
    assert images.blank_reason(read_image(path)) is None
