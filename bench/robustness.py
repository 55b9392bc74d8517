"""How well do models read digits that are not drawn like MNIST's? An MNIST-C-style benchmark (Mu &
Gilmer 2019) made on the fly from the MNIST test set: each corruption is applied to every test
image, and each model is scored on every corrupted copy, through the same predictor the CLI uses.

    python bench/robustness.py --data ../shared/data/mnist MODEL.keras [MODEL.keras ...] [--limit 10000]

Corruptions (each is a small, fixed, seeded transform of the 28 x 28 image):
thick / thin (grey dilation / erosion, a stroke pixel wider or narrower), rotate ±20° (half each
way), scale 0.75 and 1.25 (about the centre), shift ±4 px (off-centre placement), blur (Gaussian
sigma 1), noise (Gaussian, sigma 40 of 255), and the clean test set for reference. Nothing is
written to disk. Prints one row per model: accuracy on each set and the mean over the corruptions.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitcli.data.datasets import load_raw  # noqa: E402
from digitcli.inference.predictors import load_predictor  # noqa: E402


def _each(images, transform):
    return np.stack([transform(i, im) for i, im in enumerate(images.astype(np.float32))])


def _clip(x):
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _affine(image, angle=0.0, scale=1.0, shift=(0.0, 0.0)):
    """Rotate by `angle` degrees and scale about the image centre, then shift, as one resampling."""
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) / scale
    centre = np.array([13.5, 13.5])
    offset = centre - rot @ (centre + np.asarray(shift))
    return ndimage.affine_transform(image, rot, offset=offset, order=1, mode="constant", cval=0.0)


def corruptions(images, seed=0):
    rng = np.random.default_rng(seed)
    n = len(images)
    signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    shifts = rng.choice([-4.0, 4.0], size=(n, 2))
    return {
        "clean": images,
        "thick": _clip(ndimage.grey_dilation(images, size=(1, 2, 2))),
        "thin": _clip(ndimage.grey_erosion(images, size=(1, 2, 2))),
        "rotate20": _clip(_each(images, lambda i, im: _affine(im, angle=20.0 * signs[i]))),
        "scale0.75": _clip(_each(images, lambda i, im: _affine(im, scale=0.75))),
        "scale1.25": _clip(_each(images, lambda i, im: _affine(im, scale=1.25))),
        "shift4": _clip(_each(images, lambda i, im: _affine(im, shift=shifts[i]))),
        "blur": _clip(ndimage.gaussian_filter(images.astype(np.float32), sigma=(0, 1, 1))),
        "noise": _clip(images.astype(np.float32) + rng.normal(0, 40, images.shape)),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=10_000, help="score the first N test images")
    args = parser.parse_args()
    raw = load_raw(args.data)
    images, labels = raw.x_test[: args.limit], raw.y_test[: args.limit]
    sets = corruptions(images)
    names = list(sets)
    print(f"{'model':28s} " + " ".join(f"{n:>9s}" for n in names) + f" {'mean corr':>9s}")
    for model in args.models:
        predictor = load_predictor(model, note=lambda m: None)
        scores = [float(np.mean(predictor.probabilities(sets[n]).argmax(1) == labels)) for n in names]
        corrupted = float(np.mean(scores[1:]))
        print(
            f"{Path(model).name:28s} " + " ".join(f"{100 * s:8.2f}%" for s in scores) + f" {100 * corrupted:8.2f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
