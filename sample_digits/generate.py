"""Make the sample handwritten digit set in this folder: pen strokes on a photographed page.

Each digit is drawn from a stroke skeleton (below) as a smooth pen path with its own thickness,
slant, size, position and wobble, in dark ink on light paper with uneven lighting, blur and sensor
noise, then processed by digitcli's MNIST recipe (digitcli.photos.imageprep) into a 28 x 28 CSV in the
seed's format. Nothing here comes from MNIST or any other data set.

    python sample_digits/generate.py            # rewrites sample_digits/*.csv and labels.csv

A writer's own set, for fine-tuning (README, "Your own digits"): another seed is another hand.

    python sample_digits/generate.py --out my_digits --seed 7 --per-class 30 --train-per-class 5
        # my_digits/train: 5 of each digit, my_digits/test: the other 25, each with labels.csv

It also draws three photos for `digitcli predict-image`: photo_7.png (one digit), number_2025.jpg
(a handwritten year, digits side by side on one sheet) and meter_card.jpg (three lines of readings).
"""

import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from digitcli.photos.imageprep import prepare_array  # noqa: E402

# Skeletons in a unit box (x right, y down): each digit is one or more strokes through these points.
SKELETONS = {
    0: [
        [
            (0.5, 0.04),
            (0.2, 0.2),
            (0.14, 0.55),
            (0.3, 0.9),
            (0.55, 0.96),
            (0.8, 0.78),
            (0.86, 0.4),
            (0.7, 0.1),
            (0.5, 0.04),
            (0.35, 0.1),
        ]
    ],
    1: [[(0.38, 0.2), (0.56, 0.04), (0.54, 0.5), (0.52, 0.96)]],
    2: [
        [
            (0.18, 0.28),
            (0.35, 0.08),
            (0.62, 0.05),
            (0.8, 0.22),
            (0.72, 0.48),
            (0.4, 0.74),
            (0.15, 0.95),
            (0.5, 0.93),
            (0.88, 0.95),
        ]
    ],
    3: [
        [(0.2, 0.14), (0.5, 0.04), (0.78, 0.16), (0.72, 0.38), (0.42, 0.48)],
        [(0.42, 0.48), (0.76, 0.58), (0.82, 0.8), (0.55, 0.96), (0.18, 0.88)],
    ],
    4: [[(0.55, 0.04), (0.32, 0.4), (0.12, 0.66), (0.5, 0.66), (0.9, 0.64)], [(0.68, 0.3), (0.66, 0.65), (0.64, 0.97)]],
    5: [
        [(0.82, 0.05), (0.32, 0.06), (0.26, 0.44), (0.55, 0.38), (0.82, 0.55), (0.78, 0.85), (0.5, 0.96), (0.18, 0.86)]
    ],
    6: [
        [
            (0.7, 0.04),
            (0.42, 0.26),
            (0.24, 0.56),
            (0.28, 0.86),
            (0.52, 0.96),
            (0.76, 0.8),
            (0.7, 0.56),
            (0.45, 0.52),
            (0.26, 0.66),
        ]
    ],
    7: [[(0.12, 0.08), (0.5, 0.06), (0.88, 0.06), (0.62, 0.45), (0.42, 0.96)]],
    8: [
        [
            (0.72, 0.14),
            (0.5, 0.04),
            (0.26, 0.16),
            (0.32, 0.36),
            (0.5, 0.48),
            (0.76, 0.64),
            (0.74, 0.88),
            (0.5, 0.96),
            (0.24, 0.86),
            (0.26, 0.64),
            (0.5, 0.48),
            (0.7, 0.34),
            (0.72, 0.14),
        ]
    ],
    9: [
        [(0.76, 0.2), (0.52, 0.04), (0.26, 0.16), (0.26, 0.4), (0.5, 0.5), (0.76, 0.34)],
        [(0.76, 0.12), (0.72, 0.55), (0.66, 0.97)],
    ],
}


def catmull_rom(points, steps=16):
    """A smooth curve through `points` (the pen's path)."""
    p = np.asarray(points, dtype=float)
    p = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, steps, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
            )
    out.append(p[-2])
    return np.array(out)


def draw_digit(digit, rng, page=320, skeletons=SKELETONS, slant=(-0.35, 0.15), aspect=(0.55, 0.85), pen=(0.06, 0.14)):
    """A greyscale photo (uint8, dark ink on light paper) of `digit` written by hand."""
    scale = rng.uniform(0.35, 0.7) * page  # digit height on the page
    aspect = rng.uniform(*aspect)
    slant = rng.uniform(*slant)  # most writers lean right
    angle = rng.uniform(-0.12, 0.12)
    cx, cy = rng.uniform(0.35, 0.65) * page, rng.uniform(0.35, 0.65) * page
    width = max(3, int(scale * rng.uniform(*pen)))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    img = Image.new("L", (page, page), 0)
    pen = ImageDraw.Draw(img)
    for stroke in skeletons[digit]:
        pts = np.asarray(stroke) + rng.normal(0, 0.025, (len(stroke), 2))  # each hand is different
        path = catmull_rom(pts) - 0.5
        path[:, 0] = (path[:, 0] + slant * -path[:, 1]) * aspect
        path = path @ rot.T * scale + (cx, cy)
        xy = [tuple(map(float, q)) for q in path]
        pen.line(xy, fill=255, width=width, joint="curve")
        r = width / 2
        for x, y in (xy[0], xy[-1]):
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    ink = np.asarray(img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.0))), dtype=np.float32) / 255

    # The page: paper brightness falling off across it (a lamp to one side), ink not quite black.
    yy, xx = np.mgrid[0:page, 0:page] / page
    light = rng.uniform(0.72, 0.95) - rng.uniform(0.05, 0.25) * (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1))
    ink_level = rng.uniform(0.08, 0.3)
    photo = light * (1 - ink) + ink_level * ink + rng.normal(0, 0.03, (page, page))
    return np.clip(photo * 255, 0, 255).astype(np.uint8)


CARD = [(0, 4, 1, 7), (2, 9, 8, 3), (5, 6, 0, 5)]  # meter_card.jpg: three readings, one under another


def main(out_dir=Path(__file__).resolve().parent, per_class=4, seed=2026):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(per_class):
        for digit in range(10):
            name = f"digit{digit}_{i + 1}.csv"
            grid = prepare_array(draw_digit(digit, rng), name)
            np.savetxt(out_dir / name, grid, fmt="%d", delimiter=",")
            rows.append((name, digit))
    photos = np.random.default_rng(seed + 1)  # a stream of its own: the CSVs above stay as they are
    Image.fromarray(draw_digit(7, photos)).save(out_dir / "photo_7.png")
    year = np.hstack([draw_digit(d, photos, page=200) for d in (2, 0, 2, 5)])
    Image.fromarray(year).save(out_dir / "number_2025.jpg", quality=90)
    card = np.vstack([np.hstack([draw_digit(d, photos, page=180) for d in line]) for line in CARD])
    Image.fromarray(card).save(out_dir / "meter_card.jpg", quality=90)
    with open(out_dir / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label"])
        writer.writerows(sorted(rows))
    print(f"wrote {len(rows)} digits and labels.csv to {out_dir}")


# One writer's own way with some digits, unlike MNIST's Americans: a 1 with a long flag and a foot,
# a crossed 7, a 4 closed at the top, a 9 with a straight stem.
HAND = {
    1: [[(0.2, 0.3), (0.58, 0.04), (0.56, 0.96)], [(0.3, 0.96), (0.82, 0.96)]],
    4: [[(0.62, 0.04), (0.14, 0.64), (0.88, 0.64)], [(0.62, 0.04), (0.62, 0.97)]],
    7: [[(0.1, 0.22), (0.22, 0.06), (0.88, 0.06), (0.4, 0.96)], [(0.3, 0.52), (0.8, 0.5)]],
    9: [
        [(0.78, 0.22), (0.5, 0.04), (0.22, 0.18), (0.24, 0.42), (0.5, 0.5), (0.78, 0.36)],
        [(0.78, 0.12), (0.78, 0.97)],
    ],
}


def writer_set(out_dir, seed, per_class, train_per_class):
    """One hand's digits, narrow, leaning right, in a thick marker, in two folders, train/ and test/, each with its
    labels.csv."""
    rng = np.random.default_rng(seed)
    skeletons = {**SKELETONS, **HAND}
    rows = {"train": [], "test": []}
    for i in range(per_class):
        part = "train" if i < train_per_class else "test"
        (out_dir / part).mkdir(parents=True, exist_ok=True)
        for digit in range(10):
            name = f"digit{digit}_{i + 1}.csv"
            photo = draw_digit(
                digit, rng, skeletons=skeletons, slant=(0.25, 0.45), aspect=(0.45, 0.6), pen=(0.17, 0.22)
            )
            np.savetxt(out_dir / part / name, prepare_array(photo, name), fmt="%d", delimiter=",")
            rows[part].append((name, digit))
    for part, found in rows.items():
        if found:
            with open(out_dir / part / "labels.csv", "w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["file", "label"])
                writer.writerows(sorted(found))
    print(f"wrote {len(rows['train'])} digits to {out_dir / 'train'} and {len(rows['test'])} to {out_dir / 'test'}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=None, help="write a writer's set here (else: this folder's samples)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--train-per-class", type=int, default=5)
    args = parser.parse_args()
    if args.out is None:
        main()
    else:
        writer_set(args.out, args.seed, args.per_class, args.train_per_class)
