"""Build the pretrained handwriting models shipped in igae_robot/handwriting/models/ and print their table.

    python benchmarks/build_handwriting_models.py --data-dir ../shared/data/mnist

* ``digits.pt``: the ``igae`` preset trained on real MNIST (the train split);
* ``letters.pt``: the same preset trained on letters and punctuation rendered from four single-stroke
  Hershey fonts with random affine and thickness augmentation (igae_robot/hershey_glyphs.py).

Both train with the two gesture terms of igae_robot/gesture_terms.py (ink total variation: fewer pen
lifts; end on the ink's right edge: ``--connect``), then fit the per-character
mixtures igae handwrite samples from (igae_robot/hand.py) and save float16 weights.  Seeded: the same
command on the same machine gives the same files.  The table reports, on images not trained on
(MNIST test; freshly rendered glyphs), the MSE, the pen-down pieces per glyph and how far the last
step ends from the ink's right edge.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from igae_robot.model.checkpoint import load_checkpoint
from igae_robot.model.encode import encode_gestures
from igae_robot.config import apply_overrides, load_preset
from igae_robot.training.data import GlyphSet, load_dataset
from igae_robot.model.terms import ink_edges
from igae_robot.handwriting.hand import fit_hand, save_hand
from igae_robot.handwriting.fonts import BASELINE, CAP_TOP, LETTERS, PUNCTUATION, render_glyphs
from igae_robot.model.metrics import evaluate
from igae_robot.training.train import train

# MNIST digits fill a 20x20 box centred in 28x28: about 4 px to 24 px high.
MNIST_CAP_TOP, MNIST_BASELINE = 4 / 28, 24 / 28
# One style of letter: trained on the Roman simplex and the script faces together, a class's
# feature mixture blends the styles into glyphs of neither (measured: illegible samples).
LETTER_FONTS = ("futural", "rowmans")


def glyph_report(ckpt, images: torch.Tensor) -> dict:
    gestures = encode_gestures(ckpt, images)
    _, right = ink_edges(images)
    return {
        "mse": evaluate(ckpt.model, images)["mse"],
        "pieces": float(np.mean([len(g.strokes()) for g in gestures])),
        "end_px": float(np.mean(np.abs(np.array([g.points[-1, 0] for g in gestures]) - right.numpy())) * 28),
    }


def model_config(name: str, args):
    overrides = {"train.epochs": args.epochs[name], "train.intensity_tv": args.tv, "train.edge": args.edge, "train.seed": args.seed}
    extra = args.set + (args.letters_set if name == "letters" else [])
    return apply_overrides(load_preset("igae"), {**overrides, **dict(s.split("=", 1) for s in extra)})


def build(name, config, train_set: GlyphSet, test_images, chars, box, args) -> dict:
    config = apply_overrides(config, {"data.name": train_set.name})
    tic = time.perf_counter()
    trained = Path(args.work) / name / "checkpoint.pt"
    if args.reuse and trained.is_file():  # only the mixtures are fitted again
        ckpt = load_checkpoint(trained)
        if ckpt.config != config:
            raise SystemExit(f"{trained} was trained with another config than this command's; run without --reuse")
        seconds = float("nan")
    else:
        ckpt = train(config, Path(args.work) / name, data=train_set,
                     on_epoch=lambda r: print(f"  {name} epoch {r['epoch']}: val MSE {r['val_mse']:.5f} ({r['seconds']:.1f}s)", flush=True))
        seconds = time.perf_counter() - tic
    hand = fit_hand(ckpt, train_set.images, train_set.labels, chars, baseline=box[1], cap_top=box[0], seed=args.seed)
    path = save_hand(Path(args.out) / f"{name}.pt", hand)
    return {"model": name, "chars": len(chars), "train images": len(train_set), "epochs": config.train.epochs,
            "seconds": seconds, **glyph_report(ckpt, test_images), "kB": round(path.stat().st_size / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--out", default="igae_robot/handwriting/models")
    parser.add_argument("--work", default="runs/handwriting", help="training checkpoints")
    parser.add_argument("--models", default="digits,letters")
    parser.add_argument("--digits-epochs", type=int, default=8)
    parser.add_argument("--letters-epochs", type=int, default=15)
    parser.add_argument("--digits-limit", type=int, default=0, help="use at most this many MNIST training digits (0: all)")
    parser.add_argument("--per-char", type=int, default=300, help="rendered training images per letter / sign")
    parser.add_argument("--tv", type=float, default=0.05, help="weight of the ink total-variation term")
    parser.add_argument("--edge", type=float, default=0.1, help="weight of the start/end-on-the-edge term")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="fit the mixtures on the checkpoints already in --work (same config) instead of training")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default); 1 is faster on a busy machine")
    parser.add_argument("--set", action="append", default=[], help="extra config override for both models, e.g. train.lr=2e-3")
    parser.add_argument("--letters-set", action="append", default=[], help="extra config override for the letters model, e.g. model.image_size=32")
    args = parser.parse_args()
    args.epochs = {"digits": args.digits_epochs, "letters": args.letters_epochs}
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    rows = []
    if "digits" in args.models:
        mnist = load_dataset("mnist", args.data_dir, "train")
        if args.digits_limit:
            mnist = mnist.subset(torch.arange(args.digits_limit))
        test = load_dataset("mnist", args.data_dir, "test").images[:2000]
        rows.append(build("digits", model_config("digits", args), mnist, test, "0123456789", (MNIST_CAP_TOP, MNIST_BASELINE), args))
    if "letters" in args.models:
        chars = LETTERS + PUNCTUATION
        config = model_config("letters", args)
        size = config.model.image_size  # the glyph box is in canvas units: a larger canvas, more pixels per letter
        x, y = render_glyphs(chars, args.per_char, seed=args.seed, fonts=LETTER_FONTS, size=size)
        letters = GlyphSet(torch.from_numpy(x), torch.from_numpy(y), "hershey", tuple(chars))
        test, _ = render_glyphs(chars, 20, seed=args.seed + 1, fonts=LETTER_FONTS, size=size)
        rows.append(build("letters", config, letters, torch.from_numpy(test), chars, (CAP_TOP, BASELINE), args))

    print(f"\nmachine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| model | characters | train images | epochs | train time | held-out MSE | pen-down pieces / glyph | |last step - right ink edge| | file |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        trained = "reused" if r["seconds"] != r["seconds"] else f"{r['seconds']:.0f} s"
        print(f"| {r['model']} | {r['chars']} | {r['train images']} | {r['epochs']} | {trained} | {r['mse']:.4f} | "
              f"{r['pieces']:.2f} | {r['end_px']:.2f} px | {r['kB']} kB |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
