"""The ink of a scanned page, torch-free: uneven light, grey paper, faint pencil, grain, ruled lines.

:func:`scan_ink` turns a grayscale scan into ink (1 = full ink) whose binarisation at 0.5 is the one to use:

0. a photo of a page with the table round it: the table is found and given the paper's light, and no ink is read
   on it (:mod:`~igae_robot.images.surround`);
1. polarity: dark ink on light paper, or light on dark (:mod:`~igae_robot.images.polarity`: the border, unless the
   marks say otherwise);
2. the paper under the ink, estimated on a copy shrunk to ~600 px (a grey opening wider than any stroke, then
   smoothed): a shadow or a grey sheet becomes paper, not ink;
3. each pixel measured against its paper, ``(darkness - paper) / (1 - paper)`` (for dark ink ``1 - gray / paper``:
   the light's unevenness divided out);
4. the ink's own level: the median of the cores of what stands clearly out of the paper's noise (the darker
   kind when there are two, e.g. writing over printed lines); the threshold is halfway between paper and
   that level, as a pen's half-covered edge pixel is.  Faint pencil gets a low threshold, black ink a high one,
   a blank page none: nothing stands out, so nothing is ink (noise is never stretched into strokes).  Faint
   ink whose darkest patches alone stand out (patchy pencil in grain) is measured along its strokes' centre
   lines instead, and may go down to the paper's noise ceiling;
5. smoothing only when the paper's grain would otherwise cross the threshold (faint ink on grainy paper), and
   specks of fewer than 4 pixels fall below 0.5.

An image without noise (its paper's deviation under half an 8-bit grey level) is taken as digital: its darkest
pixel is its ink level, as ``glyphs.ink_image`` takes it, so MNIST digits come out exactly as ink_image makes
them (the first 1000 test digits: 0 pixels differ at 0.5, largest difference 0).

How the threshold was chosen (``benchmarks/scan_threshold.py``, 2026-12-02, pages from build_pages.py's makers:
handwriting, diagrams, Omniglot lines, 800 x 900 px, one artefact each; constants tuned on seeds 1-6, table from
seeds 11-13; median pixel IoU against the truth ink over 9 pages; "blank": ink found on paper-only pages):

| artefact | ink_images | Otsu | Sauvola | paper + 0.5 | scan_ink |
|---|---:|---:|---:|---:|---:|
| clean | 1.000 | 0.980 | 0.909 | 1.000 | 1.000 |
| lighting | 0.993 | 0.994 | 0.915 | 0.993 | 1.000 |
| grey | 1.000 | 1.000 | 0.922 | 0.995 | 1.000 |
| yellowish | 1.000 | 1.000 | 0.916 | 0.993 | 1.000 |
| pencil | 0.847 | 0.970 | 0.494 | 0.000 | 0.959 |
| grain | 0.995 | 0.997 | 0.913 | 0.994 | 0.998 |
| jpeg | 0.983 | 0.989 | 0.920 | 0.983 | 0.988 |
| blur | 0.975 | 0.874 | 0.820 | 0.955 | 0.958 |
| blue | 1.000 | 1.000 | 0.957 | 0.974 | 1.000 |
| ruled | 0.971 | 0.951 | 0.768 | 0.955 | 0.985 |
| mix | 0.971 | 0.970 | 0.919 | 0.972 | 0.980 |
| blank | 118115 ppm | 398788 ppm | 0 ppm | 0 ppm | 0 ppm |

(ink_images = today's 5th-percentile stretch at 0.5; Sauvola window 31, k 0.2; "paper + 0.5" = step 3 then a
fixed 0.5.)  On build_pages.py's own pages (seed 1) the worst text page goes from IoU 0.547 (ink_images) to 0.890
and the worst drawing from 0.792 to 0.907.  Otsu stays ahead on pencil alone (0.970) and ink_images on blur
alone (0.975): a higher ink level helps blur and hurts pencil, and the median of the cores was the best balance
measured (on the tuning seeds, the 75th-90th percentiles of all that stands out gave pencil 0.89-0.95, blur
0.95-0.97; the median of the cores 0.960 and 0.975).  A _MIN_CONTRAST of 0.03 measured 0.01 better on pencil;
it stays 0.06, a margin for paper texture and stains the benchmark does not have.

Speed and memory (same date, two shared cores, ``nice``): a 600 dpi A4 page (4960 x 7016) in 3.5 s with a peak of
+0.6 GB over the page itself; 300 dpi (2480 x 3508) in 0.5 s, +0.15 GB.

Ruled lines stay ink here: :func:`~igae_robot.images.ruled_lines.remove_ruled_lines` takes them out for
``--remove-lines``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from igae_robot.errors import DataError
from igae_robot.images.bed_edge import bed_strips
from igae_robot.images.glyphs import stroke_width
from igae_robot.images.polarity import dark_on_light
from igae_robot.images.read import light_backgrounds
from igae_robot.images.shrink import box_copy
from igae_robot.images.surround import Surround, find_surround
from igae_robot.images.trace import skeleton

__all__ = ["scan_ink", "paper_level"]

_SMALL = 600  # long side, pixels, of the shrunk copy the paper is estimated on
_NOISE_SIGMAS = 6.0  # the paper's noise ceiling: median + this many (robust) deviations
_MIN_CONTRAST = 0.06  # ink must stand this far above the noise ceiling (fraction of paper to black)
_SMOOTHING = (0.7, 1.0, 1.5)  # px: Gaussian sigmas tried, least first, when the paper's noise nears the ink
_CLEAN = 0.002  # the paper's deviation below which an image is digital, not scanned (half an 8-bit grey level)
_CORE = 2  # px: a stroke's core is this far inside what stands out (measured: 2 and 3 alike; 0 lets printed lines in)
_TWO_KINDS = 2.0  # marks twice as far from the paper as the others are the ink; the others, print or shadow
_MIN_SPECK = 4  # components of fewer pixels than this are specks, not ink
_EIGHT = np.ones((3, 3), dtype=bool)
_PINHOLE = 3.0  # enclosed paper under (stroke width / this)² px, partly inked, is a stroke's grain (_fill_pinholes)
_PINHOLE_INK = 0.25  # ... partly inked: its mean ink at least this
_SIEVE = 1.2  # ... and only when such holes make the strokes look this many times thinner than they are
_SIEVE_SEEDS = 0.03  # pinhole pixels per edge pixel of the ink below which no sieve is looked for


def scan_ink(gray: np.ndarray, invert: bool | None = None) -> np.ndarray:
    """Grayscale scan (H,W) in [0,1] (1 = white) -> ink (H,W) float32 in [0,1] (1 = full ink; binarise at 0.5).

    invert: None = detect from the border; True = dark ink on light paper; False = light ink on dark.
    Memory: about four float32 copies of the page at its peak (a 600 dpi A4 page, 35 Mpx: +0.6 GB measured).
    """
    if gray.ndim != 2 or gray.size == 0:
        raise DataError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    gray = np.asarray(gray, dtype=np.float32)
    original = gray  # before a surround is given its paper's light
    gray, around = _off_sheet(gray, invert)
    # A sheet found on its table is the image's lightest region: its paper is the border to judge by.
    dark_ink = dark_on_light(gray, True if around is not None else None) if invert is None else bool(invert)
    dark = 1.0 - gray if dark_ink else gray.copy()  # darkness: 0 = white, 1 = black
    rise = _against_paper(dark, paper_level(dark))  # (dark's memory)
    off = None if around is None else around.mask
    level, sd = _noise(rise, off)
    scanned = sd > _CLEAN  # else a digital image: no noise, no specks
    marks = _ink_level(rise, level, sd, off)
    if marks is None:
        return np.zeros(gray.shape, np.float32)
    ink_level, faint_threshold = marks
    threshold = (level + ink_level) / 2
    if faint_threshold is not None:
        threshold = min(threshold, faint_threshold)
    # Faint ink may go down to the noise's ceiling itself: its strokes stand out of the paper by less than the
    # margin other ink keeps above it, and the smoothing puts the grain under the ceiling.
    margin = _MIN_CONTRAST / 2 if faint_threshold is None else 0.0
    sigma, sd = _least_smoothing(rise, level, sd, threshold, margin)
    if sigma:  # grain or JPEG noise that would cross the threshold: averaged out first
        rise = ndimage.gaussian_filter(rise, sigma, output=rise)
    ceiling = level + _NOISE_SIGMAS * sd  # the paper's noise reaches this far
    threshold = max(threshold, ceiling + margin)
    ink = _ramp(rise, min(ceiling, threshold / 2), threshold, max(ink_level, threshold + 1e-3))
    if off is not None:
        ink[off] = 0.0
    bed = bed_strips(original) if scanned and dark_ink else None
    if bed is not None:  # a page narrower than the scanner's bed: the bed beside it is not ink
        ink[bed] = 0.0
    return _fill_pinholes(_drop_specks(ink)) if scanned else ink


def _off_sheet(gray: np.ndarray, invert: bool | None) -> tuple[np.ndarray, Surround | None]:
    """A photo of a page with the surface round it (:mod:`~igae_robot.images.surround`): the gray with the
    surround given its paper's light, and the surround; else the gray as it is and None.  Looked for when the
    border reads dark and the ink may be dark.  The polarity is then judged with the sheet's paper as the
    border (a dim page on a black table had been read as light ink on dark paper: no ink at all)."""
    if invert is False or light_backgrounds(gray[None])[0]:
        return gray, None
    around = find_surround(gray)
    return (gray, None) if around is None else (around.paper_over(gray), around)


def paper_level(dark: np.ndarray) -> np.ndarray:
    """The paper's darkness (H,W) float32 under a darkness image (H,W): what is left without the strokes.

    On a copy shrunk to ``_SMALL`` px (area averages): a grey opening (the least dark over a window, then the
    darkest of those) removes everything narrower than the window, a mean over the same window smooths the
    steps, and the result is stretched back.  The window is a 16th of the long side, and at least 48 px (or
    the whole image): wider than strokes, narrower than a lamp's shadow.
    """
    h, w = dark.shape
    small, k = box_copy(dark, _SMALL)
    window = max(3, round(max(h, w) / 16 / k), min(max(small.shape), math.ceil(48 / k)))
    smooth = ndimage.uniform_filter(ndimage.grey_opening(small, size=(window, window), mode="nearest"), window, mode="nearest")
    if k == 1:
        return smooth.astype(np.float32)
    return np.asarray(Image.fromarray(smooth.astype(np.float32)).resize((w, h), Image.BILINEAR))


def _against_paper(dark: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """How far each pixel is from its paper towards black, (H,W) float32 (0 = paper, 1 = black; noise < 0).
    Computed in ``dark``'s memory (it is overwritten and returned), and in ``paper``'s where it may be written."""
    dark -= paper
    room = np.subtract(np.float32(1.0), paper, out=paper if paper.flags.writeable else None)
    dark /= np.maximum(room, np.float32(1e-3), out=room)
    return dark


def _noise(rise: np.ndarray, off: np.ndarray | None = None) -> tuple[float, float]:
    """(median, robust standard deviation) of the paper, from a subsample of at most ~1 Mpx (not ``off`` the sheet).

    The page is mostly paper, so the median is the paper's; the deviation comes from the pixels below it only,
    which are all paper (ink only ever adds), so dense writing or printed lines do not pass for noise."""
    step = max(1, math.isqrt(rise.size // 1_000_000))
    sample = rise[::step, ::step] if off is None else rise[::step, ::step][~off[::step, ::step]]
    sample = sample.ravel()
    level = float(np.median(sample))
    below = level - sample[sample < level]
    return level, 1.4826 * float(np.median(below)) if below.size else 0.0


def _ink_level(rise: np.ndarray, level: float, sd: float, off: np.ndarray | None = None) -> tuple[float, float | None] | None:
    """(the ink's own level (its strokes' cores), the threshold of faint ink or None), or None when nothing
    stands out of the paper.

    What stands out is found on a smoothed copy (grain averaged away): more than ``_NOISE_SIGMAS`` deviations
    and ``_MIN_CONTRAST`` above the paper.  Its cores are what is left ``_CORE`` px inside (edges and thin
    printed lines drop out), and the level is their median, unsmoothed: pencil's grain makes its cores uneven
    and a higher percentile would put the threshold above half of its strokes.

    Faint ink (under half-way to black, one kind): when that bar for standing out lies above the threshold the
    level gives (half-way to the paper), the level came from the strokes' darkest patches: :func:`_faint_threshold`.
    """
    smooth = ndimage.gaussian_filter(rise, 1.0)
    s_level, s_sd = _noise(smooth, off)
    # Capped at half-way to black: a texture of fine lines can pass for noise after smoothing, black ink cannot.
    bar = min(0.5, max(level, s_level) + _NOISE_SIGMAS * s_sd + _MIN_CONTRAST)
    found = smooth > bar
    del smooth  # a page-sized copy: made again for faint ink only
    if np.count_nonzero(found) < _MIN_SPECK:
        return None
    if sd <= _CLEAN:  # a digital image has no outliers: its darkest pixel is its ink, as glyphs.ink_image takes it
        return float(rise[found].max()), None
    cores = ndimage.binary_erosion(found, _EIGHT, iterations=_CORE)
    values, one_kind = _darker_marks(rise[cores] if np.count_nonzero(cores) >= _MIN_SPECK else rise[found], level)
    ink_level = float(np.median(values))
    # Faint: ink less than half-way to black whose bar for standing out lies above its threshold.  Dark ink on a
    # page whose texture raised the bar is not faint: a photo's table and 1 mm graph paper (build_unseen_pages.py
    # seeds 8 and 14) passed the bar's test alone, and read 0.02-0.03 less with the faint threshold.
    faint = one_kind and ink_level < 0.5 and bar > (level + ink_level) / 2
    if not faint:
        return ink_level, None
    return ink_level, _faint_threshold(ndimage.gaussian_filter(rise, 1.0), s_level, s_level + _NOISE_SIGMAS * s_sd)


def _faint_threshold(smooth: np.ndarray, paper: float, ceiling: float) -> float:
    """The threshold of faint ink: half-way between the ``paper`` and the strokes' level measured along their
    centre lines (the skeleton of all that rises above the paper's noise ``ceiling``), on the smoothed copy.

    Faint pencil on grainy paper (14-20% darker than the paper, its graphite patchy): the bar for standing out
    sat above half of its strokes, so the cores' median was their darkest patches', and the strokes were read
    as dashes a pixel wide.  Along a centre line the patches are averaged with the rest of the stroke; solid
    faint ink's centre line is its core, and its level the same.  Measured 2026-12-02, pixel IoU against the
    true ink of build_unseen_pages.py's two faint pages per seed:

    * seeds 9-13, looked at while building this: 0.734 -> 0.900 (mean);
    * seeds 14-20, built after: 0.665 -> 0.874, each of the 14 pages better (the worst, 0.300 -> 0.828);
    * seeds 21-23, built after the test for faint ink was set: their 6 faint pages 0.403-0.826 -> 0.824-0.919,
      and the ink of their 81 other pages bit for bit the same.

    No other page's ink changed (scan_threshold.py's seeds 1-6 and 11-13, build_pages.py's seeds 3 and 7).
    Otsu's split of the marks and the paper round them did nearly as well on seeds 9-13 (0.876), but read solid
    faint strokes fatter (tests/test_scan.py's pencil: 0.974 -> 0.913; the centre lines, 0.967).  The grain is
    smoothed only as far as the faint threshold needs: smoothed for the margin other ink keeps (1.5 px), the
    strokes read 4.7 px wide against 3.0-3.5.
    """
    centre = skeleton(smooth > ceiling)  # thinned on its box; remembered until the page's ink is thinned
    return (paper + float(np.median(smooth[centre]))) / 2 if centre.any() else ceiling


def _darker_marks(values: np.ndarray, level: float) -> tuple[np.ndarray, bool]:
    """The darker of two kinds of marks, when the values split into two (Otsu) and the darker stand more than
    ``_TWO_KINDS`` times as far from the paper as the lighter: writing over printed ruled lines, or over a
    faint shadow.  One kind (pencil alone, ink alone): all of them.  Returns (the marks, one kind?)."""
    counts, edges = np.histogram(values, bins=128)
    p = counts / counts.sum()
    w0, mu = np.cumsum(p), np.cumsum(p * (edges[:-1] + edges[1:]) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (mu[-1] * w0 - mu) ** 2 / (w0 * (1 - w0))  # Otsu's between-class variance at each cut
    cut = edges[1 + int(np.nanargmax(between[:-1]))] if len(between) > 1 and np.isfinite(between[:-1]).any() else edges[-1]
    light, dark = values[values < cut], values[values >= cut]
    if len(light) and len(dark) and dark.mean() - level > _TWO_KINDS * (light.mean() - level):
        return dark, False
    return values, True


def _least_smoothing(rise: np.ndarray, level: float, sd: float, threshold: float, margin: float) -> tuple[float, float]:
    """(sigma px, the paper's deviation after it): the least Gaussian smoothing that keeps the paper's noise
    ``_NOISE_SIGMAS`` deviations and ``margin`` under ``threshold`` (the most, 1.5 px, when none does).

    Smoothing costs thin strokes their contrast and spreads ink into its neighbours, so black ink on grainy
    paper is left as it is, and only faint ink near the noise is smoothed.  The deviation after smoothing is
    measured on a tile of the page (grain is rarely white: JPEG's is blocky)."""
    if threshold - level >= _NOISE_SIGMAS * sd + margin:
        return 0.0, sd
    h, w = rise.shape
    tile = rise[max(0, h // 2 - 512) : h // 2 + 512, max(0, w // 2 - 512) : w // 2 + 512]
    for sigma in _SMOOTHING:
        sd = _noise(ndimage.gaussian_filter(tile, sigma))[1]
        if threshold - level >= _NOISE_SIGMAS * sd + margin:
            break
    return sigma, sd


def _ramp(rise: np.ndarray, zero: float, half: float, full: float) -> np.ndarray:
    """Piecewise linear: ``zero`` -> 0, ``half`` -> 0.5, ``full`` -> 1, clipped to [0,1]; float32 (H,W), in
    ``rise``'s memory.  In place, because each page-sized temporary costs its page faults, and those vary
    with the kernel's huge pages from one process to the next: on an A4 scan the three temporaries took
    0.04 s in one process and 0.14 s in another."""
    low = rise < half
    np.subtract(rise, np.float32(zero), out=rise, where=low)
    np.multiply(rise, np.float32(0.5 / max(1e-6, half - zero)), out=rise, where=low)
    high = np.logical_not(low, out=low)
    np.subtract(rise, np.float32(half), out=rise, where=high)
    np.multiply(rise, np.float32(0.5 / max(1e-6, full - half)), out=rise, where=high)
    np.add(rise, np.float32(0.5), out=rise, where=high)
    return np.clip(rise, 0.0, 1.0, out=rise)


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Components (8-connected, at 0.5) of fewer than ``_MIN_SPECK`` pixels dimmed below 0.5, in place."""
    labels, n = ndimage.label(ink > 0.5, structure=_EIGHT)
    if n == 0:
        return ink
    small = np.bincount(labels.ravel(), minlength=n + 1) < _MIN_SPECK
    small[0] = False
    np.minimum(ink, np.float32(0.45), out=ink, where=small[labels])
    return ink


def _fill_pinholes(ink: np.ndarray) -> np.ndarray:
    """Pinholes in strokes raised above 0.5, in place: enclosed paper (4-connected) of fewer than
    (stroke width / ``_PINHOLE``)² pixels whose mean ink is at least ``_PINHOLE_INK``, on a page whose holes
    under 16 px alone make its strokes look ``_SIEVE`` times thinner (a sieve, not a few holes).

    Chalk, crayon and dry markers leave grain where the surface shows through a stroke.  At 0.5 it is a sieve
    of holes, and the strokes' widths, measured from their edges, come out a third of what they are: the pen
    engine then fits a thin pen zigzagging through each stroke.  A letter's counter is no pinhole: it is large
    against its strokes (tiny text's 4-7 px counters beside 1-2 px strokes stay) and it is paper, not half ink.
    The stroke width is ``glyphs.stroke_width`` of the ink with its holes under 16 px filled (the sieve's own
    edges would count otherwise).

    Measured (2026-12): chalk on a board, strokes 11.8 px: the holes made the strokes look 1.71x thinner; pixel
    IoU 0.921 -> 0.963, the median stroke width 3.5 -> 11.0 px.  On the 43 other scanned pages (build_pages.py's
    seed 7, and scripts, colours, grids, photos, pencil, tiny text) the holes made 1.00-1.12x: left alone.
    The gate was 1.25 until the chalk page of build_unseen_pages.py's seed 9 measured 1.249 and was left a sieve
    (pen 3.0 px against 5.3; pen-drawn IoU 0.758, below the skeleton tracer's 0.767; filled, 0.872).  Over
    seeds 3 and 7 of build_pages.py and 8-13 of build_unseen_pages.py, chalk made 1.25-1.71x and every other
    page at most 1.14x: 1.2 is between.
    """
    if _few_pinholes(ink):
        return ink
    b = ink > 0.5
    labels, n = ndimage.label(~b)
    if n < 2:
        return ink
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = 0  # not enclosed
    sizes[0] = 0
    width = stroke_width(b | ((sizes > 0) & (sizes < 16))[labels])
    if width < _SIEVE * stroke_width(ink):
        return ink  # a few holes, not a sieve: left as they are
    small = np.flatnonzero((sizes > 0) & (sizes < (width / _PINHOLE) ** 2))
    if small.size == 0:
        return ink
    inked = small[np.asarray(ndimage.mean(ink, labels, small)) >= _PINHOLE_INK]
    fill = np.zeros(n + 1, bool)
    fill[inked] = True
    hole = fill[labels]
    ink[hole] = np.maximum(ink[hole], np.float32(0.55))
    return ink


def _few_pinholes(ink: np.ndarray) -> bool:
    """Too few pinholes for a sieve, told cheaply: paper pixels with ink on three or four sides (pinholes have
    them) under ``_SIEVE_SEEDS`` of the ink's edge pixels.  Such a page is left without labelling its paper (a
    600 dpi page: 1 s).  Measured: chalk 0.125; the 43 other scanned pages 0.000-0.051.  Counted on about 1000
    rows of a large page."""
    step = max(1, (ink.shape[0] - 2) // 1000)
    mid = ink[1:-1:step] > 0.5
    up, down = ink[:-2:step, 1:-1] > 0.5, ink[2::step, 1:-1][: len(mid)] > 0.5
    left, right, mid = mid[:, :-2], mid[:, 2:], mid[:, 1:-1]
    three = (up & down & (left | right)) | (left & right & (up | down))
    seeds = np.count_nonzero(three & ~mid)
    edge = np.count_nonzero(mid) - np.count_nonzero(three & up & down & left & right & mid)
    return seeds < _SIEVE_SEEDS * edge
