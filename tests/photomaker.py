"""Photos made from 28 x 28 digits: enlarged onto a page with uneven light, blur, noise, either
polarity, saved as PNG or JPEG. The tests make them from the sample digits; bench/photo_digits.py
makes them from MNIST's test digits."""

import numpy as np
from PIL import Image, ImageFilter


def _ink_box(digit):
    cols = np.flatnonzero(digit.max(axis=0) > 30)
    return digit[:, cols[0] : cols[-1] + 1] if len(cols) else digit


def photograph(ink, rng, scale):
    """A photo of `ink` (uint8, ink high): enlarged, on a page, with light, blur, noise and polarity."""
    h, w = ink.shape
    big = (
        np.asarray(Image.fromarray(ink).resize((int(w * scale), int(h * scale)), Image.BILINEAR), dtype=np.float32)
        / 255
    )
    ph, pw = int(big.shape[0] * rng.uniform(1.4, 2.5)), int(big.shape[1] * rng.uniform(1.2, 2.0)) + 20
    page = np.zeros((ph, pw), dtype=np.float32)
    top, left = rng.integers(0, ph - big.shape[0] + 1), rng.integers(0, pw - big.shape[1] + 1)
    page[top : top + big.shape[0], left : left + big.shape[1]] = big
    yy, xx = np.mgrid[0:ph, 0:pw]
    light = rng.uniform(0.65, 0.95) - rng.uniform(0.0, 0.2) * (
        xx / pw * rng.uniform(-1, 1) + yy / ph * rng.uniform(-1, 1)
    )
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
        row[:, x : x + part.shape[1]] = np.maximum(row[:, x : x + part.shape[1]], part)
        x += part.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return photograph(row, rng, rng.uniform(3, 6))


def _row(digits, rng, touching):
    parts = [_ink_box(d) for d in digits]
    gaps = [int(rng.integers(-2, 1)) if rng.random() < touching else int(rng.integers(3, 9)) for _ in parts[1:]]
    row = np.zeros((28, sum(p.shape[1] for p in parts) + sum(gaps)), dtype=np.uint8)
    x = 0
    for i, part in enumerate(parts):
        row[:, x : x + part.shape[1]] = np.maximum(row[:, x : x + part.shape[1]], part)
        x += part.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return row


def page(lines, rng, spacing=(8, 20), touching=0.0, indent=(0, 30)):
    """Several lines of digits, one under another (a list of numbers, a meter card): `spacing` is the
    blank between lines, `indent` each line's offset from the left, in 28-pixel units."""
    rows = [_row(digits, rng, touching) for digits in lines]
    offsets = [int(rng.integers(*indent)) for _ in rows]
    gaps = [int(rng.integers(*spacing)) for _ in rows[1:]]
    sheet = np.zeros((28 * len(rows) + sum(gaps) + 8, max(o + r.shape[1] for o, r in zip(offsets, rows)) + 8), np.uint8)
    y = 4
    for i, (row, x) in enumerate(zip(rows, offsets)):
        sheet[y : y + 28, 4 + x : 4 + x + row.shape[1]] = row
        y += 28 + (gaps[i] if i < len(gaps) else 0)
    return photograph(sheet, rng, rng.uniform(3, 5))


def save(img, folder, name, rng):
    path = folder / (name + (".png" if rng.random() < 0.5 else ".jpg"))
    img.save(path, quality=90) if path.suffix == ".jpg" else img.save(path)
    return path
