"""An independent judge of handwritten lower-case letters: a classifier that learnt to read from type,
never from anything a gesture model drew.

Its training images are the lower-case letters of fonts the letters model never saw (its teacher is the
Hershey Roman simplex, ``futural``/``rowmans``): the Hershey serif faces Times Roman and Times Italic,
and the TrueType DejaVu Sans, Sans Bold, Serif and Sans Mono (Debian's fonts-dejavu-core, which
``make system-deps`` installs) drawn with Pillow.  Every image gets a random rotation, slant, stretch,
shift, line width and blur, and sits in the letters model's glyph box (cap line and baseline of
igae_robot.handwriting.fonts), so that a letter written by ``igae handwrite``, cut out of the produced
file by its placement and re-rendered, is where the judge expects a letter of its kind.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import numpy as np

from igae_robot.handwriting.fonts import BASELINE, CAP_TOP, render_glyphs

LOWER = string.ascii_lowercase
HERSHEY_FONTS = ("timesr", "timesi")
DEJAVU_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts/dejavu")
DEJAVU_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
# Type sets the a double-storey; most hands (and the Hershey simplex the letters model learnt from) write
# it single-storey, which a judge taught on type alone reads as o (10 of 10 teacher-font a's).  The
# Latin alpha is that form, so the judge also sees it as an a.
FORMS = {"a": "a\u0251"}


def dejavu_fonts() -> list[Path]:
    """The DejaVu faces found on this machine (none: the judge cannot be trained, the test skips)."""
    found = []
    for name in DEJAVU_FILES:
        found += [Path(d) / name for d in DEJAVU_DIRS if (Path(d) / name).is_file()][:1]
    return found


@lru_cache(maxsize=None)
def _font(path: str, cap_px: float):
    """The TrueType font at the em size whose capitals are ``cap_px`` tall."""
    from PIL import ImageFont

    _, top, _, _ = ImageFont.truetype(path, 200).getbbox("H", anchor="ls")  # cap height of a 200 px em: -top
    return ImageFont.truetype(path, max(1, round(200 * cap_px / -top)))


def _ttf_glyph(char: str, font_path: Path, rng: np.random.Generator, size: int, supersample: int = 4) -> np.ndarray:
    """One letter of a TrueType font in the glyph box, with a random affine, weight and blur -> (size, size) in [0,1]."""
    from PIL import Image, ImageDraw, ImageFilter

    side = size * supersample
    font = _font(str(font_path), (BASELINE - CAP_TOP) * side)
    left, _, right, _ = font.getbbox(char, anchor="ls")
    image = Image.new("L", (side, side), 0)
    weight = int(rng.integers(0, supersample + 1))  # up to one pixel bolder
    ImageDraw.Draw(image).text((side / 2 - (left + right) / 2, BASELINE * side), char, font=font, fill=255, anchor="ls",
                               stroke_width=weight, stroke_fill=255)
    # A random affine about the glyph's centre; Image.transform wants the inverse map (output -> input).
    angle, shear = np.deg2rad(rng.uniform(-8, 8)), rng.uniform(-0.3, 0.3)
    linear = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[1, shear], [0, 1]]) @ np.diag(rng.uniform(0.85, 1.15, 2))
    inverse = np.linalg.inv(linear)
    centre = np.array([0.5, (CAP_TOP + BASELINE) / 2]) * side
    offset = centre - inverse @ (centre + rng.uniform(-1, 1, 2) * supersample)
    image = image.transform(image.size, Image.Transform.AFFINE, (*inverse[0], offset[0], *inverse[1], offset[1]), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8) * supersample))
    return np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32) / 255.0


def judge_images(per_font: int, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """(N, size*size) training images of the 26 lower-case letters and their labels (index into LOWER)."""
    rng = np.random.default_rng(seed)
    fonts = dejavu_fonts()
    images, labels = [], []
    x, y = render_glyphs(LOWER, per_font * len(HERSHEY_FONTS), seed=seed, fonts=HERSHEY_FONTS, size=size, width_px=(1.0, 2.8))
    images.append(x.reshape(len(x), -1))
    labels.append(y)
    for label, char in enumerate(LOWER):
        forms = FORMS.get(char, char)
        n = per_font * len(fonts)
        images.append(np.stack([_ttf_glyph(forms[k % len(forms)], fonts[k // len(forms) % len(fonts)], rng, size).ravel() for k in range(n)]))
        labels.append(np.full(per_font * len(fonts), label))
    return np.concatenate(images), np.concatenate(labels)


def train_judge(per_font: int = 30, seed: int = 0):
    """A fitted sklearn classifier reading 28x28 lower-case letters (an RBF support-vector machine:
    as accurate here as a small MLP, and it fits in seconds rather than minutes)."""
    from sklearn.svm import SVC

    x, y = judge_images(per_font, seed)
    return SVC(C=10.0).fit(x, y)
