"""How predict-image holds up on degraded pages: MNIST test digits (or pen-drawn digits) blurred,
shrunk, JPEG-compressed, noisy, shadowed, tilted, on lined or squared paper, in blue biro or on
yellow paper, in pencil or thick marker, each at four levels from mild to severe
(tests/degradations.py makes them).

    python bench/degrade.py --data ../shared/data/mnist [--count 40] [--families blur,jpeg] [--source pen]

For every level it prints the model's accuracy on the digits given ideally (MNIST's own 28 x 28
crop; for pen digits, the clean drawing through the preparation) beside predict-image's on the
degraded page, and how many single digits were read as more than one. The default model's ONNX twin
reads; the library's prepare() does the rest, as predict-image does.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import degradations  # noqa: E402


def read(prepare, model, data, family, level):
    try:
        found = prepare(f"{family}-{level}.png", data=data, read=model.uncalibrated)  # as predict-image
    except Exception:  # noqa: BLE001 - a page the pipeline cannot read is read wrong
        return ""
    return "".join(map(str, model.probabilities(found.digits).argmax(1)))


def digits(args, rng):
    """(inks, labels, ideal readings as 28 x 28 arrays)."""
    if args.source == "mnist":
        from digitcli.data.datasets import load_raw

        raw = load_raw(args.data)
        pick = rng.choice(len(raw.y_test), args.count, replace=False)
        return [degradations.mnist_ink(raw.x_test[i]) for i in pick], raw.y_test[pick], raw.x_test[pick]
    from digitcli.photos.imageprep import prepare_array

    labels = rng.integers(0, 10, args.count)
    inks = [degradations.pen_ink(int(d), rng) for d in labels]
    return inks, labels, np.stack([prepare_array(np.rint(255 * (1 - i)).astype(np.uint8)) for i in inks])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None, help="MNIST folder (needed for --source mnist)")
    parser.add_argument("--source", choices=("mnist", "pen"), default="mnist")
    parser.add_argument("--count", type=int, default=40, help="digits per level")
    parser.add_argument("--families", default=",".join(degradations.FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="[default: the default model's ONNX twin]")
    args = parser.parse_args()

    from digitcli import settings
    from digitcli.inference.predictors import load_predictor
    from digitcli.photos.prepare import prepare

    model = load_predictor(args.model or ROOT / settings.DEFAULT_MODEL_FILE)
    rng = np.random.default_rng(args.seed)
    inks, labels, ideal_x = digits(args, rng)
    ideal = 100 * np.mean(model.probabilities(ideal_x).argmax(1) == labels)
    truth = [str(d) for d in labels]
    print(f"{args.count} {args.source} digits per level, model {model.path.name}; ideal = the clean 28 x 28 digit")
    print(f"{'family':<16} {'level':<9} {'ideal':>6} {'photo':>6} {'gap':>6} {'split':>5}")
    start = time.perf_counter()
    for family in args.families.split(","):
        for level, name in enumerate(degradations.LEVELS):
            page_rng = np.random.default_rng([args.seed, level, len(family)])
            got = [
                read(
                    prepare,
                    model,
                    degradations.encode(degradations.degrade(ink, family, level, page_rng), family, level),
                    family,
                    level,
                )
                for ink in inks
            ]
            photo = 100 * np.mean([g == t for g, t in zip(got, truth)])
            split = sum(len(g) > 1 for g in got)
            print(f"{family:<16} {name:<9} {ideal:6.1f} {photo:6.1f} {photo - ideal:+6.1f} {split:5d}", flush=True)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
