"""The scanner's bed beside a page (igae_robot.images.bed_edge): found along any side, slanted or not, and
taken out of the ink without the writing that touches it; nothing found where there is no bed."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from igae_robot.images.bed_edge import bed_strips
from igae_robot.images.scan import scan_ink

H, W = 700, 600


def _page(seed: int, band: float | None = None, slant: float = 0.0, side: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gray (H,W) in [0,1] with grain, the writing (bool), the bed (bool)); the bed ``band`` px deep at the middle
    of the left side, changing by ``slant`` px a row, brought to another side by ``side`` quarter turns."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(im)
    for k in range(12):  # lines of scribble, the first ones starting right at the left edge
        x0, y = (2 if k < 4 else rng.uniform(60, 300)), 40 + k * 52
        draw.line([(x0 + i * 12, y + rng.normal(0, 6)) for i in range(20)], fill=255, width=4)
    writing = np.asarray(im) > 127
    rows = np.arange(H)[:, None]
    bed = np.zeros((H, W), bool) if band is None else np.arange(W)[None, :] < band + slant * (rows - H / 2)
    writing &= ~bed
    gray = np.where(writing, 0.25, 0.9) - 0.0
    gray = np.where(bed, 0.08, gray) + 0.02 * rng.standard_normal((H, W))
    turn = lambda a: np.ascontiguousarray(np.rot90(a, side))  # noqa: E731
    return turn(np.clip(gray, 0, 1).astype(np.float32)), turn(writing), turn(bed)


def test_a_band_on_any_side_slanted_or_not_is_found_and_the_writing_touching_it_kept():
    for side in range(4):
        for band, slant in ((22.0, 0.0), (25.0, 0.02), (14.0, -0.015)):
            gray, writing, bed = _page(side, band, slant, side)
            mask = bed_strips(gray)
            assert mask is not None, (side, band, slant)
            assert mask[bed].mean() > 0.97  # the bed, to its edge
            # The writing that runs up to it is kept, but for the bed's blurred edge (2 px) where it touches.
            assert not (mask & writing & ~ndimage.binary_dilation(bed, iterations=3)).any()
            assert (mask & ~bed).sum() < 3 * bed.shape[0]  # at most the blurred edge beyond it


def test_no_band_is_found_on_a_page_without_one_even_with_writing_at_its_edge():
    for seed in range(3):
        gray, _, _ = _page(seed)
        assert bed_strips(gray) is None
    # A thick line down part of the side only, like a drawn margin: not a bed.
    gray, _, _ = _page(7)
    gray[: H // 3, :20] = 0.1
    assert bed_strips(gray) is None


def test_scan_ink_reads_no_ink_on_the_bed():
    gray, writing, bed = _page(11, 24.0, 0.01)
    ink = scan_ink(gray) > 0.5
    assert not ink[bed].any()
    assert (ink & writing).sum() / (ink | writing).sum() > 0.8
