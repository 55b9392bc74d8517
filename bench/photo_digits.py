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
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ink_box(digit):
    cols = np.flatnonzero(digit.max(axis=0) > 30)
    return digit[:, cols[0]:cols[-1] + 1] if len(cols) else digit


def photograph(ink, rng, scale):
    """A photo of `ink` (uint8, ink high): enlarged, on a page, with light, blur, noise and polarity."""
    h, w = ink.shape
    big = np.asarray(Image.fromarray(ink).resize((int(w * scale), int(h * scale)), Image.BILINEAR),
                     dtype=np.float32) / 255
    ph, pw = int(big.shape[0] * rng.uniform(1.4, 2.5)), int(big.shape[1] * rng.uniform(1.2, 2.0)) + 20
    page = np.zeros((ph, pw), dtype=np.float32)
    top, left = rng.integers(0, ph - big.shape[0] + 1), rng.integers(0, pw - big.shape[1] + 1)
    page[top:top + big.shape[0], left:left + big.shape[1]] = big
    yy, xx = np.mgrid[0:ph, 0:pw]
    light = rng.uniform(0.65, 0.95) - rng.uniform(0.0, 0.2) * (xx / pw * rng.uniform(-1, 1) + yy / ph * rng.uniform(-1, 1))
    dark = rng.uniform(0.05, 0.3)
    photo = light * (1 - page) + dark * page  # dark ink on light paper
    if rng.random() < 0.5:
        photo = 1 - photo  # light ink on a dark ground
    img = Image.fromarray(np.clip(photo * 255, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, rng.uniform(2, 10), (ph, pw))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def single(digit, rng):
    return photograph(digit, rng, rng.uniform(3, 9))


def strip(digits, rng, touching=0.2):
    """Digits side by side; gaps in 28-pixel units, about `touching` of them closed to contact."""
    parts = [_ink_box(d) for d in digits]
    gaps = [int(rng.integers(-2, 1)) if rng.random() < touching else int(rng.integers(3, 9)) for _ in parts[1:]]
    width = sum(p.shape[1] for p in parts) + sum(gaps) + 8
    row = np.zeros((28, width), dtype=np.uint8)
    x = 4
    for i, part in enumerate(parts):
        row[:, x:x + part.shape[1]] = np.maximum(row[:, x:x + part.shape[1]], part)
        x += part.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return photograph(row, rng, rng.uniform(3, 6))


def save(img, folder, name, rng):
    path = folder / (name + (".png" if rng.random() < 0.5 else ".jpg"))
    img.save(path, quality=90) if path.suffix == ".jpg" else img.save(path)
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--strips", type=int, default=300)
    parser.add_argument("--out", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="[default: the default model]")
    args = parser.parse_args()

    from digitcli import defaults
    from digitcli.data import load_raw
    from digitcli.photos import prepare
    from digitcli.predictors import load_predictor

    raw = load_raw(args.data)
    rng = np.random.default_rng(args.seed)
    model = load_predictor(args.model or ROOT / defaults.DEFAULT_MODEL_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        pick = rng.choice(len(raw.y_test), args.singles, replace=False)
        start = time.perf_counter()
        paths = [save(single(raw.x_test[i], rng), folder, f"single{n:05d}", rng) for n, i in enumerate(pick)]
        made = time.perf_counter() - start
        start = time.perf_counter()
        prepared = [prepare(p, count=1).digits[0] for p in paths]
        prepared_in = time.perf_counter() - start
        from_photos = model.probabilities(np.stack(prepared)).argmax(1) == raw.y_test[pick]
        original = model.probabilities(raw.x_test[pick]).argmax(1) == raw.y_test[pick]
        print(f"single digits: {args.singles} MNIST test digits as photos ({sum(p.suffix == '.png' for p in paths)} PNG,"
              f" {sum(p.suffix == '.jpg' for p in paths)} JPEG); made in {made:.1f} s, prepared in {prepared_in:.1f} s")
        print(f"  default model on the original 28x28 digits: {100 * original.mean():.2f}%")
        print(f"  default model through the photos:           {100 * from_photos.mean():.2f}%")
        print(f"  kept: {100 * from_photos.mean() / original.mean():.2f}% of the model's accuracy")

        exact, auto_exact = 0, 0
        for n in range(args.strips):
            idx = rng.choice(len(raw.y_test), 4, replace=False)
            path = save(strip(raw.x_test[idx], rng), folder, f"strip{n:04d}", rng)
            truth = "".join(map(str, raw.y_test[idx]))
            for count in (None, 4):
                try:
                    digits = prepare(path, count=count).digits
                    read = "".join(map(str, model.probabilities(digits).argmax(1)))
                except Exception:  # noqa: BLE001 - a strip that cannot be segmented is read wrong
                    read = ""
                if count is None:
                    auto_exact += read == truth
                else:
                    exact += read == truth
        print(f"numbers: {args.strips} strips of 4 MNIST test digits (about 1 gap in 5 touching), same model")
        print(f"  read exactly, digit count found by segmentation: {auto_exact} ({100 * auto_exact / args.strips:.1f}%)")
        print(f"  read exactly, with --count 4:                   {exact} ({100 * exact / args.strips:.1f}%)")


if __name__ == "__main__":
    main()
