"""The surface round a photographed page (images/surround.py): found and left without ink, and only that."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from igae_robot.images.scan import scan_ink
from igae_robot.images.surround import find_surround

H, W = 600, 500


def _iou(found: np.ndarray, truth: np.ndarray) -> float:
    union = int((found | truth).sum())
    return int((found & truth).sum()) / union if union else 1.0


def _writing(rng, w: int, h: int, pen: int = 4) -> np.ndarray:
    """Lines of scribbled words (bool (h,w)), kept off the page's edge by 20 px."""
    im = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(im)
    for y in range(40, h - 40, 36):
        x = 30
        while x < w - 80:
            n = int(rng.integers(3, 8))
            d.line([(x + 9 * i, y + rng.normal(0, 6)) for i in range(n)], fill=255, width=pen, joint="curve")
            x += 9 * n + 20
    return np.asarray(im) > 127


def _photo(rng, table: float, paper: float = 0.9, angle: float = 8.0, shift: int = 90, shadow: float = 0.4):
    """A page of writing photographed on a table of light ``table`` with a grain along it, turned by ``angle``,
    ``shift`` px right of centre (it may leave the frame), a soft shadow across it, camera blur and grain.
    Returns (gray (H,W), the true ink (H,W) bool, the page's area (H,W) bool)."""
    pw, ph = 340, 440
    ink = _writing(rng, pw, ph)
    layers = [Image.fromarray(a.astype(np.float32), mode="F").rotate(angle, Image.BILINEAR, expand=True)
              for a in (np.where(ink, 0.12, paper), np.ones((ph, pw)), ink.astype(np.float32))]
    ox, oy = (W - layers[0].width) // 2 + shift, (H - layers[0].height) // 2
    page, area, truth = (np.zeros((H, W), np.float32) for _ in range(3))
    for out, layer in zip((page, area, truth), layers):
        a = np.asarray(layer)
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(W, ox + a.shape[1]), min(H, oy + a.shape[0])
        out[y0:y1, x0:x1] = a[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    grain = ndimage.gaussian_filter(rng.standard_normal((H, W)), (1.5, 12))
    surface = table * (1 + 0.1 * grain / grain.std())
    gray = area * page + (1 - area) * surface
    ys, xs = np.mgrid[0:H, 0:W]
    gray *= 1 - shadow / (1 + np.exp(-(xs + 0.5 * ys - 420) / 40.0))  # a soft shadow over the lower right
    gray = ndimage.gaussian_filter(gray, 1.0) + 0.01 * rng.standard_normal((H, W))
    return np.clip(gray, 0, 1).astype(np.float32), truth > 0.5, area > 0.5


@pytest.mark.parametrize("table", [0.3, 0.08])
def test_the_table_round_a_photographed_page_reads_as_no_ink(table):
    """A page on a wooden table (0.3) and on a black one (0.08), dim in a shadow: read as light ink on dark paper
    before (pixel IoU 0.000 on both: no ink at all), its writing alone now (0.887, 0.877), in the shade too."""
    gray, truth, area = _photo(np.random.default_rng(3), table)
    ink = scan_ink(gray) > 0.5
    off_page = ~ndimage.binary_dilation(area, iterations=3)
    assert np.count_nonzero(ink & off_page) < 0.001 * off_page.sum()
    assert _iou(ink, truth) > 0.85
    shade = ndimage.binary_erosion(area, iterations=10) & (np.mgrid[0:H, 0:W][1] + 0.5 * np.mgrid[0:H, 0:W][0] > 470)
    assert _iou(ink & shade, truth & shade) > 0.8  # the writing in the shadow stays


def test_a_shaded_page_that_fills_the_frame_has_no_surround():
    """Vignetting and a shadow darken the paper gradually, without an edge: no surround, the ink as before."""
    rng = np.random.default_rng(4)
    ink = _writing(rng, W, H)
    ys, xs = np.mgrid[0:H, 0:W]
    light = (1 - 0.55 * (((xs - W / 2) / W) ** 2 + ((ys - H / 2) / H) ** 2) / 0.5) * (1 - 0.5 / (1 + np.exp(-(xs - 380) / 30.0)))
    gray = ndimage.gaussian_filter(np.where(ink, 0.1, 0.9) * light, 1.0) + 0.01 * rng.standard_normal((H, W))
    gray = np.clip(gray, 0, 1).astype(np.float32)
    assert np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])) < 0.5  # looked for
    assert find_surround(gray) is None
    assert _iou(scan_ink(gray) > 0.5, ink) > 0.85


def test_a_chalk_board_with_the_wall_beside_it_is_the_drawing():
    """A board written in chalk with a light wall down one side: the wall is the brightest region and the board
    is darker beyond a sharp edge, but it carries light marks: the drawing, not a table."""
    rng = np.random.default_rng(6)
    chalk = _writing(rng, W, H, pen=6)
    chalk[:, 380:] = False
    gray = np.where(chalk, 0.85, 0.2).astype(np.float32)
    gray[:, 400:] = 0.9  # the wall
    gray = np.clip(ndimage.gaussian_filter(gray, 1.0) + 0.01 * rng.standard_normal((H, W)), 0, 1).astype(np.float32)
    assert find_surround(gray) is None
    board = np.s_[:, :370]
    assert _iou((scan_ink(gray) > 0.5)[board], chalk[board]) > 0.9  # the chalk read as light ink


def test_the_surround_is_given_the_light_of_its_nearest_paper():
    gray, _, area = _photo(np.random.default_rng(7), 0.25, shadow=0.0, shift=0)
    found = find_surround(gray)
    assert found is not None and found.mask.shape == gray.shape
    assert np.count_nonzero(found.mask & ndimage.binary_erosion(area, iterations=12)) == 0  # none of the page's inside
    filled = found.paper_over(gray)
    assert filled[found.mask].min() > 0.75  # the table is gone: paper light everywhere off the sheet
    assert np.array_equal(filled[~found.mask], gray[~found.mask])
