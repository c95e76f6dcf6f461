"""Unsupervised recognition on the 10 000 MNIST test digits: the table docs/readme-issue-6.md quotes.

    python benchmarks/cluster_mnist.py --data-dir ../shared/data/mnist \\
        --article runs/bench/dynamic/checkpoint.pt --ours runs/bench/igae/checkpoint.pt

Rows: raw pixels (the article's baseline), the article's codes (the `dynamic` preset's velocity + intensity),
the same codes from our `igae` model, other gesture parts and normalised trajectories, and the spectral
reduction (N2D's idea with scikit-learn only).  Every row: mean ± std over --seeds seeds (0..N-1), each
seed driving every random step (PCA, embedding, k-means restarts).  Both models were trained without labels.
Writes --out/results.json and, with --pictures, the confusion matrix and typical gestures of chosen rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from igae_robot.model.checkpoint import load_checkpoint
from igae_robot.clustering import ClusterSpec, encode_codes, run_spec, summarise, write_cluster_pictures
from igae_robot.training.data import load_dataset

# (model, spec): model "article" or "ours"; pixels do not depend on the model.
ROWS = [
    ("article", ClusterSpec("pixels", "none", 10)),
    ("article", ClusterSpec("pixels", "spectral", 10)),
    ("article", ClusterSpec("gesture", "none", 10)),
    ("article", ClusterSpec("gesture", "standard", 10)),
    ("article", ClusterSpec("gesture", "spectral", 10)),
    ("ours", ClusterSpec("gesture", "none", 10)),
    ("ours", ClusterSpec("gesture", "standard", 10)),
    ("ours", ClusterSpec("velocity", "none", 10)),
    ("ours", ClusterSpec("positions", "none", 10)),
    ("ours", ClusterSpec("pressure", "none", 10)),
    ("ours", ClusterSpec("gesture+pressure", "none", 10)),
    ("ours", ClusterSpec("shape+intensity", "none", 10)),
    ("ours", ClusterSpec("upright+intensity", "none", 10)),
    ("ours", ClusterSpec("gesture", "pca", 10)),
    ("ours", ClusterSpec("gesture", "spectral", 10)),
    ("ours", ClusterSpec("gesture", "spectral", 10, algorithm="gmm")),
    ("article", ClusterSpec("pixels", "none", 25, label_budget=25)),
    ("article", ClusterSpec("gesture", "none", 25, label_budget=25)),
    ("article", ClusterSpec("gesture", "spectral", 25, label_budget=25)),
    ("ours", ClusterSpec("gesture", "none", 25, label_budget=25)),
    ("ours", ClusterSpec("gesture", "spectral", 25, label_budget=25)),
]
PICTURES = {("article", "gesture", "none", 10, 0), ("ours", "gesture", "spectral", 10, 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--article", default="runs/bench/dynamic/checkpoint.pt", help="the `dynamic` preset's checkpoint")
    parser.add_argument("--ours", default="runs/bench/igae/checkpoint.pt", help="the `igae` preset's checkpoint")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma list of row numbers to run (1-based), e.g. for a quick check")
    parser.add_argument("--out", default="runs/cluster-bench")
    parser.add_argument("--pictures", action="store_true", help="write pictures of the article-codes and best rows")
    args = parser.parse_args()

    test = load_dataset("mnist", args.data_dir, "test")
    labels = test.labels.numpy()
    checkpoints = {"article": load_checkpoint(args.article), "ours": load_checkpoint(args.ours)}
    codes = {name: encode_codes(ckpt.model, test.images) for name, ckpt in checkpoints.items()}
    only = {int(i) for i in args.only.split(",") if i}
    rows = []
    print("| # | model | features | reduce | k | algorithm | labels | accuracy % | NMI | ARI | seconds |", flush=True)
    print("|---:|---|---|---|---:|---|---:|---:|---:|---:|---:|", flush=True)
    for number, (model, spec) in enumerate(ROWS, 1):
        if only and number not in only:
            continue
        name = "-" if spec.features == "pixels" else {"article": "dynamic", "ours": "igae"}[model]
        result = run_spec(codes[model], labels, spec, range(args.seeds))
        labelled = "all" if spec.label_budget == 0 else str(spec.label_budget)
        print(f"| {number} | {name} | {spec.features} | {spec.reduce} | {spec.k} | {spec.algorithm} | {labelled} | "
              f"{100 * result.mean('accuracy'):.2f} ± {100 * result.std('accuracy'):.2f} | "
              f"{result.mean('nmi'):.3f} ± {result.std('nmi'):.3f} | {result.mean('ari'):.3f} ± {result.std('ari'):.3f} | "
              f"{result.seconds:.0f} |", flush=True)
        rows.append({"row": number, "model": name, **summarise(result)})
        if args.pictures and spec.algorithm == "kmeans" and (model, spec.features, spec.reduce, spec.k, spec.label_budget) in PICTURES:
            for path in write_cluster_pictures(checkpoints[model], test, result, Path(args.out) / name):
                print(f"  wrote {path}", flush=True)

    machine = f"{platform.processor() or 'cpu'}, {torch.get_num_threads()} torch threads"
    print(f"\nMNIST test split (10 000 digits), {args.seeds} seeds, {machine}, "
          f"{time.strftime('%Y-%m-%d')}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"seeds": args.seeds, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
