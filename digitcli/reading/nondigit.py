"""Is there a digit here at all? Reasons to refuse an image, or None to read it.

The MNIST recipe scales any ink to 20 pixels, so a dot becomes a disc that reads as 0 at 0.9, and
a classifier must answer one of ten digits. These checks come first. Each threshold was chosen by
measurement (bench/nondigits.py) so that at most a few MNIST digits in a thousand are refused: on
the last 10,000 MNIST training images (the validation set), then reported on the test set.

- too small for the page: the ink spans less than MIN_PAGE_EXTENT of the page's shorter side
  (known only for photos and drawings; a dot on the pad spans 4-9%, a digit 30% or more), or of
  its share of that side on a page of several lines;
- ruled lines: strokes far thinner than they are long (MAX_PAGE_THINNESS, photos only);
- a dot or blob: in the 28 x 28 field the ink is no longer than MIN_STROKES stroke widths (a disc is
  2, MNIST's digits at least 3.1);
- a dash: the ink is at most MAX_DASH_HEIGHT pixels tall (MNIST's digits: 12 or more);
- scribbled or crossed out: MIN_HOLES or more closed loops (0.13% of MNIST's digits have 3);
- unlike any digit: the calibrated confidence is below MIN_CONFIDENCE.

Pure functions of the pixels and the probabilities, in NumPy and SciPy: every reader shares them.
"""

import numpy as np
from scipy import ndimage

MIN_PAGE_EXTENT = 0.1
MAX_PAGE_THINNESS = 40.0
MIN_STROKES = 2.5
MAX_DASH_HEIGHT = 9
MIN_HOLES = 3
MIN_CONFIDENCE = 0.6
INK = 127  # a pixel of the 28 x 28 field is ink above this


def stroke_width(mask):
    """Twice the area over the outline: the width of a stroke, the radius of a disc."""
    area = int(mask.sum())
    outline = area - int(ndimage.binary_erosion(mask).sum())
    return 2.0 * area / max(outline, 1)


def _extent(mask):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return 0, 0
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def page_measures(mask, page_shape, lines=1):
    """What the 28 x 28 field no longer shows, from a digit's ink mask on the original page: its
    extent as a share of the page's shorter side (of its share of it, on a page of several `lines`
    of digits: each line's digits are that much smaller), and how many stroke widths long it is."""
    height, width = _extent(mask)
    longest = max(height, width)
    return {"extent": longest * lines / max(min(page_shape), 1), "thinness": longest / stroke_width(mask)}


def holes(mask):
    """Closed loops: background regions (4-connected, 3 pixels or more) that do not reach the border."""
    labels, n = ndimage.label(~mask)
    if n == 0:
        return 0
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    sizes = ndimage.sum(~mask, labels, np.arange(1, n + 1))
    return int(sum(1 for i, size in enumerate(sizes, 1) if size >= 3 and i not in border))


def reason(image, probabilities, page=None):
    """Why one 28 x 28 image (uint8, ink high) holds no digit, or None. `page` is page_measures()."""
    if page is not None:
        if page["extent"] < MIN_PAGE_EXTENT:
            return f"too small for the page (the ink spans {100 * page['extent']:.0f}% of it)"
        if page["thinness"] > MAX_PAGE_THINNESS:
            return "no stroke structure (long thin lines, as on ruled paper)"
    mask = np.asarray(image) > INK
    if not mask.any():
        return "no stroke structure (no ink)"
    height, width = _extent(mask)
    if max(height, width) / stroke_width(mask) < MIN_STROKES:
        return "no stroke structure (a dot or blob)"
    if height <= MAX_DASH_HEIGHT:
        return "no stroke structure (a dash or line)"
    if holes(mask) >= MIN_HOLES:
        return "scribbled or crossed out"
    confidence = float(np.max(probabilities))
    if confidence < MIN_CONFIDENCE:
        return f"unlike any digit (confidence {confidence:.2f})"
    return None


def reasons(images, probabilities, pages=None):
    """reason() for each image: a list of strings ("not a digit: ..." without the prefix) or None."""
    pages = pages if pages is not None else [None] * len(images)
    return [reason(im, p, pg) for im, p, pg in zip(images, probabilities, pages)]
