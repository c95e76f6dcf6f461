"""Fit the pen habit (which way people draw a stroke, which stroke first) to Omniglot writers' own strokes.

    .venv/bin/python benchmarks/build_pen_habit.py            # writes igae_robot/images/pen_habit.json (~10 s)
    .venv/bin/python benchmarks/build_pen_habit.py --check    # only prints the accuracies

Fitted on every drawing of ``background_small1`` (5 alphabets, 20 writers each); the accuracies are also
reported on the three alphabets found only in ``background_small2`` (Japanese katakana, Sanskrit, Tagalog),
which benchmarks/draw_like_a_person.py holds out.  Both models are logistic regressions without intercept
(scikit-learn) on features that change sign with the stroke (direction) or with the pair (order), so a
stroke and its reverse, a pair and its swap, are the two classes.  See igae_robot/images/pen_habit.py.
"""

from __future__ import annotations

import argparse
import itertools
import zipfile

import numpy as np
from sklearn.linear_model import LogisticRegression

from draw_like_a_person import DATA, HELD_OUT
from draw_like_a_person import _strokes as writer_strokes
from igae_robot.images.pen_habit import HABIT_FILE, PenHabit, direction_features, order_features

MIN_POINTS = 2


def writers_strokes(subset: str, alphabets: tuple[str, ...] | None = None) -> list[list[np.ndarray]]:
    """Every drawing of ``subset`` (optionally only ``alphabets``) as its strokes in drawing order, (N,2) pixels,
    y down (read as benchmarks/draw_like_a_person.py reads them); strokes of one point (taps) are left out."""
    drawings = []
    with zipfile.ZipFile(DATA / f"strokes_{subset}.zip") as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".txt")):
            if alphabets is not None and name.split("/")[1] not in alphabets:
                continue
            strokes = [s for s in writer_strokes(z.read(name).decode("ascii")) if len(s) >= MIN_POINTS]
            if strokes:
                drawings.append(strokes)
    return drawings


def direction_data(drawings) -> np.ndarray:
    """Each stroke's direction features as drawn (the positive class; its reverse is their negative)."""
    return np.concatenate([direction_features(d) for d in drawings])


def order_data(drawings) -> np.ndarray:
    """g(a) - g(b) for every pair of strokes a drawn before b."""
    rows = []
    for d in drawings:
        g = order_features(d)
        rows += [g[a] - g[b] for a, b in itertools.combinations(range(len(d)), 2)]
    return np.array(rows).reshape(-1, 4)


def fit(x: np.ndarray) -> tuple[LogisticRegression, float]:
    """A sign-symmetric logistic regression: x are positives, -x negatives; (model, training accuracy)."""
    model = LogisticRegression(fit_intercept=False, C=1.0, max_iter=1000)
    xs, ys = np.concatenate([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))]
    model.fit(xs, ys)
    return model, float(model.score(xs, ys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="print the accuracies, write nothing")
    parser.add_argument("--out", default=str(HABIT_FILE))
    args = parser.parse_args()
    train, held = writers_strokes("background_small1"), writers_strokes("background_small2", HELD_OUT)
    print(f"training: {len(train)} drawings, {sum(map(len, train))} strokes (background_small1); "
          f"held out: {len(held)} drawings ({', '.join(HELD_OUT)})")
    direction, d_acc = fit(direction_data(train))
    order, o_acc = fit(order_data(train))
    for name, model, acc, data in (("direction", direction, d_acc, direction_data(held)), ("order", order, o_acc, order_data(held))):
        held_acc = float(np.mean(data @ model.coef_[0] > 0))
        print(f"{name}: weights {np.round(model.coef_[0], 3).tolist()}, the writer's choice predicted on "
              f"{acc:.1%} of the training strokes (pairs), {held_acc:.1%} held out")
    if not args.check:
        habit = PenHabit(tuple(float(w) for w in direction.coef_[0]), tuple(float(w) for w in order.coef_[0]),
                         "Omniglot background_small1 writers' strokes (benchmarks/build_pen_habit.py)")
        habit.save(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
