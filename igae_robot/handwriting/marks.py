"""Where a filled template is in a photo or scan: its four registration marks, and the map from the sheet to the image.

On a copy at most ``WORK_PX`` long, pixels darker than half their local paper (the brightest nearby, so a shadow
or the table beside the sheet is not ink), their connected components with holes filled, and of those the
square-ish ones (solid, not elongated, at least ``MIN_MARK`` of the photo across, not touching its edge) that are
at least a quarter of the largest: the four largest are the marks.  The one with a hole is the top-left; the
others follow it clockwise, so a photo taken sideways or upside down reads the right way round.  The projective
map from the marks' sheet positions (mm) to their centres (pixels) then takes any point of the sheet to the image.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from igae_robot.errors import DataError
from igae_robot.handwriting.template import TemplateLayout

__all__ = ["find_marks", "sheet_to_image", "project", "WORK_PX", "MIN_MARK"]

WORK_PX = 1600  # marks are found on a copy at most this many pixels long
MIN_MARK = 0.01  # a mark is at least this share of the photo's shorter side across (4% when the sheet fills it)


def find_marks(gray: np.ndarray, source: str = "scan") -> np.ndarray:
    """The centres (4,2) (x, y pixels, pixel centres at integers) of the template's marks: top-left, top-right,
    bottom-right, bottom-left of the sheet.  DataError (one line, naming ``source``) when there are none."""
    if gray.ndim != 2 or min(gray.shape) < 16:
        raise DataError(f"{source}: no registration marks found (an image of {gray.shape} pixels is too small)")
    k = max(1, math.ceil(max(gray.shape) / WORK_PX))
    small = np.asarray(Image.fromarray(np.asarray(gray, np.float32)).reduce(k)) if k > 1 else np.asarray(gray, np.float32)
    paper = ndimage.maximum_filter(small, size=max(9, round(0.12 * min(small.shape))))
    dark = small < 0.5 * np.maximum(paper, 0.2)
    labels, n = ndimage.label(dark)
    found = []  # (filled area, centre x, centre y, has a hole)
    for index, where in enumerate(ndimage.find_objects(labels), start=1):
        if _at_edge(where, small.shape) or _size(where) > 0.3 * min(small.shape):
            continue  # the table around the sheet, a shadow: a mark is inside the photo and small
        mask = labels[where] == index
        filled = ndimage.binary_fill_holes(mask)
        area = int(filled.sum())
        if area >= max(40, (MIN_MARK * min(small.shape)) ** 2) and _square_ish(filled):
            ys, xs = np.nonzero(filled)
            hole = area - int(mask.sum()) > 0.05 * area
            found.append((area, xs.mean() + where[1].start, ys.mean() + where[0].start, hole))
    found = [f for f in found if f[0] >= 0.25 * max(a for a, *_ in found)] if found else []
    hint = "photograph the whole sheet, flat and in focus, or print one with `igae hand template`"
    if len(found) < 4:
        raise DataError(f"{source}: no registration marks found (found {len(found)} of the 4 black squares at the corners of an igae hand template; {hint})")
    marks = sorted(found, key=lambda f: -f[0])[:4]
    centres = (np.array([[x, y] for _, x, y, _ in marks]) + 0.5) * k - 0.5
    order = _clockwise(centres, [hole for *_, hole in marks])
    if not _frames_a_sheet(centres[order], gray.shape):
        raise DataError(f"{source}: no registration marks found (the 4 largest black squares do not frame a sheet; {hint})")
    return centres[order]


def _at_edge(where: tuple[slice, slice], shape: tuple[int, int]) -> bool:
    return where[0].start == 0 or where[1].start == 0 or where[0].stop == shape[0] or where[1].stop == shape[1]


def _size(where: tuple[slice, slice]) -> int:
    return max(where[0].stop - where[0].start, where[1].stop - where[1].start)


def _square_ish(filled: np.ndarray) -> bool:
    """Solid (fills 80% of its hull's box at any small rotation) and not elongated: a square, seen at an angle."""
    ys, xs = np.nonzero(filled)
    cov = np.cov(np.stack([xs, ys]).astype(np.float64)) if len(xs) > 2 else np.eye(2)
    lo, hi = np.linalg.eigvalsh(cov)
    if lo <= 0 or hi / lo > 2.25:  # axes more than 1.5 : 1
        return False
    side = math.sqrt(12 * math.sqrt(lo * hi))  # a square of this side has these moments
    return 0.7 <= filled.sum() / side**2 <= 1.3


def _clockwise(centres: np.ndarray, holes: list[bool]) -> np.ndarray:
    """Indices of the four centres as top-left, top-right, bottom-right, bottom-left of the sheet."""
    middle = centres.mean(axis=0)
    angles = np.arctan2(centres[:, 1] - middle[1], centres[:, 0] - middle[0])  # y down: increasing is clockwise
    ring = list(np.argsort(angles))
    if sum(holes) == 1:
        start = ring.index(holes.index(True))
    else:  # no hole seen (blurred shut): the sheet is upright
        start = ring.index(int(np.argmin(centres.sum(axis=1))))
    return np.array(ring[start:] + ring[:start])


def _frames_a_sheet(corners: np.ndarray, shape: tuple[int, int]) -> bool:
    """A convex quadrilateral (clockwise) whose sides are not tiny against the image."""
    edges = np.roll(corners, -1, axis=0) - corners
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool((cross > 0).all() and np.linalg.norm(edges, axis=1).min() > 0.15 * min(shape))


def sheet_to_image(marks: np.ndarray, layout: TemplateLayout) -> np.ndarray:
    """The projective map (3,3) from sheet mm to image pixels that takes the layout's marks to ``marks`` (4,2)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(layout.marks, marks):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def project(homography: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Points (...,2) sheet mm -> image pixels."""
    p = xy @ homography[:, :2].T + homography[:, 2]
    return p[..., :2] / p[..., 2:]
