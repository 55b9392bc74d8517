"""Turn a picture of one handwritten digit into an MNIST-style 28 x 28 image, by MNIST's own recipe:
ink made high on a zero background, cropped to the ink, scaled so the longer side is 20 pixels
(aspect kept, anti-aliased), and placed in a 28 x 28 field with its centre of mass at the centre."""

import numpy as np
from PIL import Image
from scipy import ndimage

from digitcli.errors import InputFileError


def ink_map(gray):
    """Ink strength in [0, 1] from a greyscale page (either polarity), with uneven lighting removed.

    The background is a wide median of a downsampled copy, subtracted so that shadows and light
    gradients across the page do not read as ink."""
    g = np.asarray(gray, dtype=np.float32) / 255.0
    if np.median(g) > 0.5:  # dark ink on light paper, the common case: make ink high
        g = 1.0 - g
    step = max(1, min(g.shape) // 64)
    small = g[::step, ::step]
    background = ndimage.median_filter(small, size=max(3, min(small.shape) // 4) | 1, mode="nearest")
    background = np.asarray(Image.fromarray(background).resize(g.shape[::-1], Image.BILINEAR))
    ink = np.clip(g - background, 0, None)
    peak = np.percentile(ink, 99.9)
    return np.clip(ink / peak, 0, 1) if peak > 0 else ink


def otsu_threshold(values):
    hist, edges = np.histogram(values, bins=256, range=(0, 1))
    centers = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    total = weight[-1]
    mean = np.cumsum(hist * centers)
    between = (mean[-1] * weight / total - mean) ** 2 / np.maximum(weight * (total - weight), 1)
    return float(centers[np.argmax(between)])


def ink_mask(ink, min_fraction=0.0005):
    """Boolean ink pixels, without specks smaller than a fraction of the largest stroke."""
    threshold = max(otsu_threshold(ink.ravel()), 0.2)
    mask = ink > threshold
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    keep = sizes >= max(sizes.max() * 0.05, min_fraction * mask.size)
    return np.isin(labels, np.flatnonzero(keep) + 1)


def to_mnist(ink, mask=None, name="image"):
    """The MNIST recipe on an ink map (float [0, 1], ink high): uint8 (28, 28), ink 255."""
    mask = ink_mask(ink) if mask is None else mask
    if not mask.any():
        raise InputFileError(f"{name}: no ink found; is the digit visible and in focus?")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.where(mask, ink, 0)[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.LANCZOS),
                       dtype=np.float32)
    field = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    field[top:top + size[1], left:left + size[0]] = small
    cy, cx = ndimage.center_of_mass(field)
    field = ndimage.shift(field, (13.5 - cy, 13.5 - cx), order=1, mode="constant", cval=0.0)
    field *= 255.0 / max(field.max(), 1e-6)
    return np.clip(np.rint(field), 0, 255).astype(np.uint8)


def prepare_array(gray, name="image"):
    return to_mnist(ink_map(gray), name=name)
