"""What lies around the sheet in a photo of a page: the table or desk it lies on.

A phone photo of a page shows the surface the page lies on.  Read as paper (:mod:`~igae_robot.images.scan`),
that surface goes wrong twice: its texture, divided by its darkness, speckles as ink, and along the page's
edge, where the paper estimate blends the sheet with the table over its window, a band tens of pixels wide
reads as a thick stroke.  Every method then draws the table: on build_unseen_pages.py's table photos the ink
read scored 0.29-0.65 pixel IoU against the true ink.

How the surround is told (:func:`find_surround`), on a copy shrunk to ``_SIDE`` px with the ink closed away
(a grey closing wider than strokes leaves the paper's and the table's light):

1. the sheet's edge is a sharp step of brightness: the log image's gradient over ``_EDGE`` per pixel of the
   copy, and where the step weakens (a dim corner) over ``_WEAK`` when it joins a stronger part (hysteresis);
2. those edges cut the image into regions; the sheet is the brightest of the regions that cover a tenth of it;
3. the surround is every region that touches the image's border and whose light is under ``_DARKER`` of the
   sheet's.  A shadow or a vignette darkens paper gradually, without an edge, so shaded paper stays sheet;
   a page that leaves the frame is sheet up to the frame;
4. a surround with light marks on it is a board written in chalk (its light wall the brightest region): none.

The surround is then given the light of the nearest paper (the page reads as if it lay on more of itself), and
no ink is read on it, nor on the band where the edge's blur meets the paper.  A strip narrower than the edges
(a scanner's bed showing down one side, ~20 px) is not found here: :mod:`~igae_robot.images.bed_edge` looks
for it at full resolution.  Measured 2026-12-03, pixel IoU of
the ink read: build_unseen_pages.py's 49 held-out table photos 0.440 -> 0.922 (mean), and 28 of the 30 photos
of ``benchmarks/build_table_photos.py --seed 202`` (other surfaces, turns, shadows) 0.258 -> 0.783, none worse;
529 other built pages bit for bit the same.  See the README ("Scans as they come").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from igae_robot.images.shrink import box_copy

__all__ = ["Surround", "find_surround"]

_SIDE = 300  # px: long side of the copy the sheet's edge is looked for on
_CLOSE = 7  # px of that copy: the grey closing that takes the ink out (strokes up to ~6 px there)
_EDGE = 0.2  # a step of the log light this steep per pixel of the copy is an edge ...
_WEAK = 0.08  # ... and one this steep, when it joins such a step
_SHEET = 0.1  # the sheet covers at least this share of the image
_DARKER = 0.6  # a surround is darker than this share of the sheet's light
_SURROUND_MIN = 0.01  # ... and covers at least this share of the image
_MARK_CONTRAST = 0.2  # light over the surround's own: a mark (chalk), not the grain of a table ...
_MARKS = 0.003  # ... and a surround with marks over this share of it is a board, not a table
_BAND = 3  # px of the copy: the band beyond the surround where the edge's blur is told from paper by its light
_BAND_DARKER = 0.85  # ... a pixel there darker than this share of its paper's light is the edge's


@dataclass
class Surround:
    """What lies around the sheet: ``mask`` (H,W) bool, and ``light`` (h,w) the paper's light of the shrunk copy
    (each pixel off the sheet has its nearest sheet pixel's), ``k`` image pixels per copy pixel."""

    mask: np.ndarray
    light: np.ndarray
    k: int

    def paper_over(self, gray: np.ndarray) -> np.ndarray:
        """A copy of ``gray`` (H,W) with the surround given the light of the nearest paper."""
        out = np.array(gray, dtype=np.float32, copy=True)
        ys, xs = np.nonzero(self.mask)
        out[ys, xs] = self.light[ys // self.k, xs // self.k]
        return out


def find_surround(gray: np.ndarray) -> Surround | None:
    """The surround of the sheet in ``gray`` (H,W) in [0,1] (1 = white), or None when there is none to tell:
    no sharp edge parts the image, no bright region is large enough to be the sheet, or nothing darker beyond
    its edge reaches the image's border.  A glyph-sized image (``_SIDE`` px or less) is no photo of a page."""
    if max(gray.shape) <= _SIDE:
        return None
    small, k = box_copy(np.asarray(gray, dtype=np.float32), _SIDE)
    closed = ndimage.grey_closing(small, size=(_CLOSE, _CLOSE), mode="nearest")
    regions, n = ndimage.label(~_edges(closed))
    if n < 2:
        return None
    sizes = np.bincount(regions.ravel(), minlength=n + 1)
    light = np.asarray(ndimage.median(closed, regions, np.arange(1, n + 1)))
    large = np.flatnonzero(sizes[1:] >= _SHEET * regions.size) + 1
    if not len(large):
        return None
    sheet = int(large[np.argmax(light[large - 1])])
    border = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    border = border[(border > 0) & (border != sheet)]
    around = np.isin(regions, border[light[border - 1] < _DARKER * light[sheet - 1]])
    if np.count_nonzero(around) < _SURROUND_MIN * around.size:
        return None
    on_sheet = regions == sheet
    # The edge's own pixels (the regions' gaps) go with the surround, as far as the sheet.
    around |= ndimage.binary_dilation(around, iterations=2) & ~on_sheet
    if _marked(small, ndimage.binary_dilation(around, iterations=_CLOSE // 2 + 1) & ~on_sheet):
        return None
    nearest = ndimage.distance_transform_edt(~on_sheet, return_distances=False, return_indices=True)
    paper = closed[nearest[0], nearest[1]]
    return Surround(_full_mask(gray, around, paper, k), paper, k)


def _marked(small: np.ndarray, around: np.ndarray) -> bool:
    """Light marks on what would be the surround (over ``_MARKS`` of it): a board written in chalk, its light
    wall the brightest region, is the drawing, not a table.  The marks' own edges cut the board into regions, so
    they are counted on the surround grown over its edges (the caller's ``around``)."""
    raised = small - ndimage.grey_opening(small, size=(_CLOSE, _CLOSE), mode="nearest")
    return np.count_nonzero(raised[around] > _MARK_CONTRAST) > _MARKS * np.count_nonzero(around)


def _edges(closed: np.ndarray) -> np.ndarray:
    """Sharp steps of light (bool, the copy's size), a pixel wider each side so that they close."""
    log = ndimage.gaussian_filter(np.log(np.maximum(closed, 0.02)), 0.7)
    steep = np.hypot(ndimage.sobel(log, 0), ndimage.sobel(log, 1)) / 8  # Sobel's 8: per pixel
    weak, _ = ndimage.label(steep > _WEAK, structure=np.ones((3, 3), bool))
    strong = np.unique(weak[steep > _EDGE])
    return ndimage.binary_dilation(np.isin(weak, strong[strong > 0]))


def _full_mask(gray: np.ndarray, around: np.ndarray, paper: np.ndarray, k: int) -> np.ndarray:
    """The surround at the image's size: the copy's pixels k x k, and in a band of ``_BAND`` copy pixels beyond
    them the image pixels darker than ``_BAND_DARKER`` of their paper (the edge's blur; ink that close to the
    page's edge goes with it)."""
    h, w = gray.shape
    mask = _blocks(around, k, (h, w))
    band = ndimage.binary_dilation(around, iterations=_BAND) & ~around
    ys, xs = np.nonzero(_blocks(band, k, (h, w)))
    local = sum(gray[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    dark = local < _BAND_DARKER * paper[ys // k, xs // k]
    mask[ys[dark], xs[dark]] = True
    return mask


def _blocks(small: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """Each pixel of the copy as the k x k pixels of the image it stands for, cut to the image's ``shape``."""
    return np.repeat(np.repeat(small, k, 0), k, 1)[: shape[0], : shape[1]]
