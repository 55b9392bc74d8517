"""Fit the weights of the segmentation priors (digitcli/photos/guided.py) on photos of MNIST
*training* digits, so the test digits that bench/photo_digits.py reports on stay unseen.

    python bench/tune_segmentation.py --data ../shared/data/mnist [--singles 700] [--strips 350] [--seed 11]

Photos are made as bench/photo_digits.py makes them. Every candidate reading of each photo is scored
by the model once; then each weight setting of a grid is tried by the dynamic programme alone.
Printed: the shipped weights' accuracy, the best settings (singles and strips read exactly), and an
oracle: how many photos any candidate path reads right, the most a choice of weights could reach.
"""

import argparse
import io
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from photomaker import single, strip  # noqa: E402


def candidates(img, read):
    """(number of marks, moves with the digit read in place of each mask) for one photo."""
    from digitcli.photos import guided, segment
    from digitcli.photos.imageprep import page_mask, read_gray

    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    found = segment.marks(page_mask(read_gray("photo.png", buffer.getvalue())), "photo")
    moves = guided.features(found, read)
    return len(found), [(i, j, [f[3] for f in digits], crossed, digits) for i, j, _, crossed, digits in moves]


def accuracy(cases, weights):
    from digitcli.photos import guided

    right = {"single": [], "strip": []}
    for kind, truth, n, moves in cases:
        got = guided._programme(n, [m[:3] for m in moves], [guided.score(m, weights) for m in moves], None)
        right[kind].append("".join(map(str, got or [])) == truth)
    return float(np.mean(right["single"])), float(np.mean(right["strip"]))


def reachable(n, moves, truth):
    """Whether some path of candidates reads `truth`."""
    reach = {(0, 0)}
    for i in range(n):
        for at, pos in sorted(reach):
            if at != i:
                continue
            for a, b, digits, *_ in moves:
                text = "".join(map(str, digits))
                if a == i and truth[pos : pos + len(text)] == text:
                    reach.add((b, pos + len(text)))
    return (n, len(truth)) in reach


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--singles", type=int, default=700)
    parser.add_argument("--strips", type=int, default=350)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--model", default=str(ROOT / "models" / "robust.keras"))
    args = parser.parse_args()

    from digitcli.data.datasets import load_raw
    from digitcli.inference.predictors import load_predictor
    from digitcli.photos.guided import WEIGHTS, Weights

    raw = load_raw(args.data)
    x, y = raw.x_train, raw.y_train
    rng = np.random.default_rng(args.seed)
    read = load_predictor(args.model).uncalibrated  # the network's own, as the CLI's segmentation reads
    cases = []
    for _ in range(args.singles):
        i = rng.integers(len(y))
        cases.append(("single", str(y[i]), *candidates(single(x[i], rng), read)))
    for _ in range(args.strips):
        idx = rng.choice(len(y), 4, replace=False)
        cases.append(("strip", "".join(map(str, y[idx])), *candidates(strip(x[idx], rng), read)))
    print(
        f"shipped weights: singles {100 * accuracy(cases, WEIGHTS)[0]:.2f}%, "
        f"strips {100 * accuracy(cases, WEIGHTS)[1]:.2f}% read exactly"
    )
    grid = itertools.product([2, 4], [0.5, 1, 2], [0.8, 0.9, 1.0], [0.1, 0.25, 0.5], [0.0, 0.5], [0.1, 0.2, 0.3])
    rows = sorted(
        ((*accuracy(cases, w), w) for w in (Weights(*values) for values in grid)), key=lambda r: -(r[0] + r[1])
    )
    for s, t, w in rows[:5]:
        print(f"singles {100 * s:.2f}%, strips {100 * t:.2f}%: {w}")
    for kind in ("single", "strip"):
        some = [reachable(n, moves, truth) for k, truth, n, moves in cases if k == kind]
        print(f"oracle, {kind}s: {100 * np.mean(some):.2f}% have a candidate path that reads them right")


if __name__ == "__main__":
    main()
