"""Broad line-image training data for the pen preset, built from what needs no download (issue 13).

    .venv/bin/python benchmarks/build_line_data.py --out /tmp/line-data     # then:
    igae train --preset pen --data npz --data-dir /tmp/line-data --out runs/pen-broad

Writes one Keras-style ``lines.npz`` (x_train, y_train, x_test, y_test; 28x28 uint8, MNIST's framing) into
``--out`` (never the repo).  The sources are kept apart from benchmarks/pen_fidelity.py's held-out sets:

* MNIST training digits (the held-out digits are test digits);
* Omniglot background_small1: Balinese, Early Aramaic, Greek, Korean, Latin.  The benchmark draws only
  Japanese katakana, Sanskrit and Tagalog, which are in small2 alone;
* printed faces the benchmark does not use: DejaVu Sans and Serif, Liberation Sans Narrow, FreeSans Bold,
  UnBatang (Hangul);
* single-stroke Hershey fonts (PyPI ``Hershey-Fonts``), drawn with a round pen 1.5-3 px wide;
* synthetic strokes: random curves of varied width.

Labels are the source (0 MNIST, 1 Omniglot, 2 printed, 3 Hershey, 4 synthetic): the autoencoder does not
use them.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
FACES = ["dejavu/DejaVuSans.ttf", "dejavu/DejaVuSerif.ttf", "liberation/LiberationSansNarrow-Regular.ttf",
         "freefont/FreeSansBold.ttf", "unfonts-core/UnBatang.ttf"]
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HANGUL = "가각간갈감강개거건걸검게겨고곡공과교구국군그기김나남내너노누다달대더도동두라로루리마만말매머모무문미바박반방배버보부북비사산상새서선성세소수시아안애야어여오우유으이자장재저전정제조주지차참천초추카타토파포하한해허호후흐히"


def _glyph(ink: np.ndarray) -> np.ndarray:
    from igae_robot.images.glyphs import to_canvas

    return np.round(to_canvas(ink, 28, 20)[0] * 255).astype(np.uint8)


def mnist(count: int) -> list[np.ndarray]:
    from igae_robot.training.data import load_dataset

    digits = load_dataset("mnist", str(SHARED / "mnist"), "train").images[:count, 0].numpy()
    return [np.round(d * 255).astype(np.uint8) for d in digits]


def omniglot() -> list[np.ndarray]:
    with zipfile.ZipFile(SHARED / "omniglot" / "images_background_small1.zip") as z:
        names = sorted(n for n in z.namelist() if n.endswith(".png"))
        return [_glyph((~np.array(Image.open(io.BytesIO(z.read(n))))).astype(np.float32)) for n in names]


def printed(per_face: int, rng) -> list[np.ndarray]:
    root = Path("/usr/share/fonts/truetype")
    out = []
    for face in FACES:
        if not (root / face).exists():
            continue
        font = ImageFont.truetype(str(root / face), 72)
        chars = HANGUL if "UnBatang" in face else LATIN
        for _ in range(per_face):
            im = Image.new("L", (112, 112), 0)
            ImageDraw.Draw(im).text((16, 8), chars[int(rng.integers(len(chars)))], font=font, fill=255)
            out.append(_glyph(np.asarray(im, dtype=np.float32) / 255))
    return out


def hershey(count: int, rng) -> list[np.ndarray]:
    from HersheyFonts import HersheyFonts

    font = HersheyFonts()
    names = sorted(font.default_font_names)
    out = []
    for k in range(count):
        font.load_default_font(names[k % len(names)])
        font.normalize_rendering(80)
        lines = list(font.lines_for_text(LATIN[int(rng.integers(len(LATIN)))]))
        if not lines:
            continue
        im = Image.new("L", (112, 112), 0)
        draw = ImageDraw.Draw(im)
        width = int(rng.integers(6, 13))  # 1.5-3 px once the glyph is framed at 28 px
        for (x0, y0), (x1, y1) in lines:
            draw.line([(x0 + 16, 96 - y0), (x1 + 16, 96 - y1)], fill=255, width=width)
        out.append(_glyph(np.asarray(im, dtype=np.float32) / 255))
    return out


def synthetic(count: int, rng) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        im = Image.new("L", (112, 112), 0)
        draw = ImageDraw.Draw(im)
        for _ in range(int(rng.integers(1, 4))):
            points = np.cumsum(rng.normal(0, 10, (int(rng.integers(3, 9)), 2)), axis=0) + rng.uniform(30, 80, 2)
            draw.line([tuple(p) for p in points], fill=255, width=int(rng.integers(5, 14)), joint="curve")
        out.append(_glyph(np.asarray(im, dtype=np.float32) / 255))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for lines.npz (outside the repo)")
    parser.add_argument("--mnist", type=int, default=20000)
    parser.add_argument("--per-face", type=int, default=1000)
    parser.add_argument("--hershey", type=int, default=4000)
    parser.add_argument("--synthetic", type=int, default=4000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    parts = [mnist(args.mnist), omniglot(), printed(args.per_face, rng), hershey(args.hershey, rng), synthetic(args.synthetic, rng)]
    x = np.stack([g for part in parts for g in part])
    y = np.concatenate([np.full(len(part), k) for k, part in enumerate(parts)]).astype(np.uint8)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 20
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "lines.npz", x_train=x[n_test:], y_train=y[n_test:], x_test=x[:n_test], y_test=y[:n_test])
    print(f"{len(x)} glyphs -> {out / 'lines.npz'}: " + ", ".join(f"{name} {len(p)}" for name, p in
          zip(("MNIST", "Omniglot", "printed", "Hershey", "synthetic"), parts)))


if __name__ == "__main__":
    main()
