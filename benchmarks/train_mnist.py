"""Train presets on the full real MNIST and print the table the README quotes.

    python benchmarks/train_mnist.py --data-dir ../shared/data/mnist                 # static, dynamic, igae
    python benchmarks/train_mnist.py --presets dynamic --epochs 5 --device cuda       # quick / GPU

Each run trains with the preset's own epochs (unless --epochs), evaluates on the full train and test
splits, and writes runs/bench/<preset>/{checkpoint.pt, pictures, summary.json}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from igae_robot.model.checkpoint import Checkpoint
from igae_robot.config import apply_overrides, load_preset
from igae_robot.training.data import load_dataset
from igae_robot.training.evaluation import evaluate_checkpoint, write_pictures
from igae_robot.training.device import resolve_device
from igae_robot.training.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--presets", default="static,dynamic,igae")
    parser.add_argument("--epochs", type=int, default=None, help="override every preset's epochs")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--set", action="append", default=[], help="extra config override for every preset")
    args = parser.parse_args()

    device = resolve_device(args.device)
    train_set = load_dataset("mnist", args.data_dir, "train")
    test_set = load_dataset("mnist", args.data_dir, "test")
    rows = []
    for preset in args.presets.split(","):
        overrides = ["data.name=mnist", f"data.dir={json.dumps(args.data_dir)}", f"train.device={json.dumps(args.device)}"]
        if args.epochs:
            overrides.append(f"train.epochs={args.epochs}")
        config = apply_overrides(load_preset(preset), overrides + args.set)
        out = Path(args.out) / preset
        tic = time.perf_counter()
        ckpt: Checkpoint = train(config, out, data=train_set,
                                 on_epoch=lambda r: print(f"  {preset} epoch {r['epoch']}: val MSE {r['val_mse']:.5f} "
                                                          f"({r['seconds']:.1f}s)", flush=True))
        wall = time.perf_counter() - tic
        m_train, m_test = evaluate_checkpoint(ckpt, train_set, device), evaluate_checkpoint(ckpt, test_set, device)
        write_pictures(ckpt, test_set, out)
        row = {"preset": preset, "epochs": config.train.epochs, "wall_s": round(wall, 1), "device": str(device),
               "train": m_train, "test": m_test}
        (out / "summary.json").write_text(json.dumps(row, indent=2) + "\n")
        rows.append(row)

    cpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} threads"
    print(f"\nMNIST (60k train incl. 10% validation hold-out, 10k test), {cpu}, torch {torch.__version__}\n")
    print("| preset | epochs | wall time | train pixel acc | test pixel acc | train MSE | test MSE | test IoU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        tr, te = r["train"], r["test"]
        print(f"| {r['preset']} | {r['epochs']} | {r['wall_s']:.0f} s | {100 * tr['pixel_accuracy']:.2f}% | "
              f"{100 * te['pixel_accuracy']:.2f}% | {tr['mse']:.4f} | {te['mse']:.4f} | {te['iou']:.3f} |")


if __name__ == "__main__":
    main()
