"""Photos made from MNIST test digits, to measure predict-image (nothing made here is committed).

    python bench/photo_digits.py --data ../shared/data/mnist [--singles 2000] [--strips 300] [--model M]

Single digits: each test digit is enlarged 3-9x, pasted at a random place on a larger page of random
brightness with a light gradient, inverted or not (ink dark on light paper, or light on dark), blurred,
given sensor noise, and saved as PNG or JPEG. Reported: predict-image's accuracy on them with the
default model, against the same model on the original 28 x 28 digits, and the ratio.

Numbers: strips of 4 test digits side by side with random gaps, about one in five touching its
neighbour, made into photos the same way. Reported: how many strips the model reads exactly.
--model (default: the default model, models/robust.keras) is used for both.
The images go to a temporary folder unless --out is given.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from photomaker import save, single, strip  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--strips", type=int, default=300)
    parser.add_argument("--out", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="[default: the default model]")
    parser.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="digits to photograph: the test set, or training digits (to tune on)",
    )
    parser.add_argument("--geometry", action="store_true", help="split by shape alone, as prepare without a model")
    args = parser.parse_args()

    from digitcli import settings as defaults
    from digitcli.data.datasets import load_raw
    from digitcli.inference.predictors import load_predictor
    from digitcli.photos.prepare import prepare

    raw = load_raw(args.data)
    x, y = (raw.x_test, raw.y_test) if args.split == "test" else (raw.x_train, raw.y_train)
    rng = np.random.default_rng(args.seed)
    model = load_predictor(args.model or ROOT / defaults.DEFAULT_MODEL_FILE)
    read = None if args.geometry else model.uncalibrated  # what segmentation's weights were fitted to

    def reading(path, count):
        try:
            return "".join(map(str, model.probabilities(prepare(path, count, read=read).digits).argmax(1)))
        except Exception:  # noqa: BLE001 - a photo that cannot be segmented is read wrong
            return ""

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        pick = rng.choice(len(y), args.singles, replace=False)
        start = time.perf_counter()
        paths = [save(single(x[i], rng), folder, f"single{n:05d}", rng) for n, i in enumerate(pick)]
        made = time.perf_counter() - start
        start = time.perf_counter()
        auto = [reading(p, None) for p in paths]
        auto_in = time.perf_counter() - start
        one = [reading(p, 1) for p in paths]
        truth = [str(d) for d in y[pick]]
        original = model.probabilities(x[pick]).argmax(1) == y[pick]
        right_auto = np.mean([a == t for a, t in zip(auto, truth)])
        right_one = np.mean([a == t for a, t in zip(one, truth)])
        print(
            f"single digits: {args.singles} MNIST {args.split} digits as photos "
            f"({sum(p.suffix == '.png' for p in paths)}"
            f" PNG, {sum(p.suffix == '.jpg' for p in paths)} JPEG); made in {made:.1f} s; read (count found) in "
            f"{auto_in:.1f} s"
        )
        print(f"  model on the original 28x28 digits:        {100 * original.mean():.2f}%")
        print(
            f"  through the photos, count found:           {100 * right_auto:.2f}% "
            f"(kept {100 * right_auto / original.mean():.2f}%; {sum(len(a) != 1 for a in auto)} not read as one digit)"
        )
        print(
            f"  through the photos, --count 1:             {100 * right_one:.2f}% "
            f"(kept {100 * right_one / original.mean():.2f}%)"
        )

        exact, auto_exact = 0, 0
        start = time.perf_counter()
        for n in range(args.strips):
            idx = rng.choice(len(y), 4, replace=False)
            path = save(strip(x[idx], rng), folder, f"strip{n:04d}", rng)
            truth = "".join(map(str, y[idx]))
            auto_exact += reading(path, None) == truth
            exact += reading(path, 4) == truth
        print(
            f"numbers: {args.strips} strips of 4 MNIST {args.split} digits (about 1 gap in 5 touching), same model; "
            f"{time.perf_counter() - start:.1f} s"
        )
        print(
            f"  read exactly, digit count found by segmentation: {auto_exact} ({100 * auto_exact / args.strips:.1f}%)"
        )
        print(f"  read exactly, with --count 4:                   {exact} ({100 * exact / args.strips:.1f}%)")


if __name__ == "__main__":
    main()
