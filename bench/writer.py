"""A benchmark writer: one hand with a style MNIST lacks, for measuring fine-tuning (bench/finetune_bench.py).

    python bench/writer.py --out my_hand --count 50              # digits 0..49: 5 of each, with labels.csv
    python bench/writer.py --out their_next --first 50 --count 200   # the same hand's next 200

The style is fixed, as one person's hand is: a European 1 (a long flag, no base), a 7 crossed in
the middle, a 4 open at the top, a 2 with a loop where its diagonal meets the base, and every digit
leaning about 25 degrees to the right. Each digit is drawn by the pen-stroke generator behind
sample_digits/ (a smooth pen path with some wobble, on a photographed page with uneven light, blur
and noise) and prepared by digitcli's MNIST recipe (digitcli.photos.imageprep), as the page's
--collect prepares a drawing. Digit k is the writer's k-th, labelled k % 10 and drawn from its own
random stream (the writer's seed and k), so any range of them is the same whoever asks.
"""

import csv
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "sample_digits"))
from generate import SKELETONS, draw_digit  # noqa: E402

from digitcli.photos.imageprep import prepare_array  # noqa: E402

SEED = 29
SLANT_DEGREES = 25
ASPECT = 0.7  # width over height of the unslanted digit
# draw_digit shears x by slant * height, then narrows x by the aspect: the tilt of an upright
# stroke is then atan(slant * aspect), so this slant tilts it SLANT_DEGREES.
SLANT = math.tan(math.radians(SLANT_DEGREES)) / ASPECT

# The writer's own skeletons (unit box, x right, y down); the other digits are sample_digits' own.
STYLE = {
    # A European 1: a long flag from the left of its middle up to the top, and no base.
    1: [[(0.12, 0.4), (0.34, 0.2), (0.58, 0.03), (0.56, 0.5), (0.54, 0.97)]],
    # A 2 looped at the bottom: the diagonal runs down past the base, curls up and back over
    # itself, then the base runs right.
    2: [
        [
            (0.16, 0.26),
            (0.36, 0.06),
            (0.64, 0.05),
            (0.8, 0.22),
            (0.72, 0.46),
            (0.52, 0.58),
            (0.3, 0.74),
            (0.1, 0.96),
            (0.4, 1.04),
            (0.58, 0.84),
            (0.44, 0.66),
            (0.24, 0.72),
            (0.2, 0.92),
            (0.6, 0.95),
            (0.9, 0.93),
        ]
    ],
    # A 4 open at the top: a left stroke down and along, apart from the right one.
    4: [[(0.2, 0.04), (0.16, 0.36), (0.14, 0.62), (0.5, 0.63), (0.9, 0.62)], [(0.7, 0.08), (0.68, 0.5), (0.66, 0.97)]],
    # A 7 crossed in the middle.
    7: [[(0.1, 0.07), (0.5, 0.06), (0.88, 0.06), (0.62, 0.48), (0.42, 0.96)], [(0.34, 0.52), (0.84, 0.5)]],
}
SKELETONS_OF_THE_WRITER = {**SKELETONS, **STYLE}


def photo(k, seed=SEED, skeletons=SKELETONS_OF_THE_WRITER):
    """The writer's k-th digit as a photographed page (uint8, dark ink on light paper), and its label."""
    label = k % 10
    rng = np.random.default_rng([seed, k])
    spread = 0.06  # the same hand, a little different each time
    page = draw_digit(
        label,
        rng,
        skeletons=skeletons,
        slant=(SLANT - spread, SLANT + spread),
        aspect=(ASPECT - 0.03, ASPECT + 0.03),
        pen=(0.07, 0.09),
    )
    return page, label


def digits(first, count, seed=SEED):
    """The writer's digits first .. first+count-1: (uint8 images (count, 28, 28), labels (count,))."""
    images, labels = [], []
    for k in range(first, first + count):
        page, label = photo(k, seed)
        images.append(prepare_array(page, f"writer digit {k}"))
        labels.append(label)
    return np.array(images, dtype=np.uint8), np.array(labels, dtype=np.uint8)


def write(out_dir, first, count, seed=SEED):
    """The digits as the seed's files: digitD_K.csv (28 rows of 28 numbers) and one labels.csv
    (file,label), which train --data, --watch and predict-csv --labels read. Returns the folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, labels = digits(first, count, seed)
    rows = []
    for k, (image, label) in enumerate(zip(images, labels), start=first):
        name = f"digit{label}_{k}.csv"
        np.savetxt(out_dir / name, image, fmt="%d", delimiter=",")
        rows.append((name, int(label)))
    with open(out_dir / "labels.csv", "w", newline="") as fh:
        table = csv.writer(fh)
        table.writerow(["file", "label"])
        table.writerows(rows)
    return out_dir


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a folder to write the digits and labels.csv to")
    parser.add_argument("--first", type=int, default=0, help="the writer's first digit to write")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--seed", type=int, default=SEED, help="another seed is another writer of the same style")
    args = parser.parse_args()
    write(args.out, args.first, args.count, args.seed)
    print(f"wrote the writer's digits {args.first}..{args.first + args.count - 1} and labels.csv to {args.out}")
