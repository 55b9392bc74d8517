"""A photo or scan of handwritten digits, one digit, a row of them or several rows, as MNIST-style
digits: the page read, its ink found and split into lines (lines.py) and each line into digits
(segment.py, guided.py), each made 28 x 28 (imageprep.py)."""

from dataclasses import dataclass

import numpy as np

from digitcli.photos.imageprep import page_mask, read_photo, to_mnist, working_copy
from digitcli.photos.lines import split_lines
from digitcli.photos.segment import split_digits


@dataclass
class Prepared:
    name: str
    gray: np.ndarray  # the page as read (shrunk: see `size`)
    masks: list  # one ink mask per digit, line by line, left to right
    digits: np.ndarray  # uint8 (k, 28, 28), MNIST style
    lines: list  # digits per line, top to bottom
    size: tuple  # (width, height) of the image as the user has it

    def boxes(self):
        """Each digit's box in the user's own image, (x, y, width, height) in its pixels."""
        sx, sy = self.size[0] / self.gray.shape[1], self.size[1] / self.gray.shape[0]
        return [_box(mask, sx, sy) for mask in self.masks]


def _box(mask, sx, sy):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    x, y = int(np.floor(cols[0] * sx)), int(np.floor(rows[0] * sy))
    return x, y, int(np.ceil((cols[-1] + 1) * sx)) - x, int(np.ceil((rows[-1] + 1) * sy)) - y


def prepare(path, count=None, data=None, read=None):
    """Read an image (the file at `path`, or the bytes `data` named `path`) and return its digits in
    MNIST style; `count` forces how many there are on each line; `read` (a predictor's
    probabilities) lets the model choose how the ink is split into digits."""
    name = str(path)
    gray, size = read_photo(path, data)
    gray = working_copy(gray)
    masks, lines = [], []
    for line in split_lines(page_mask(gray, name), name):
        found = [line] if count == 1 else split_digits(line, count, name, read)
        masks += found
        lines.append(len(found))
    return Prepared(name, gray, masks, np.stack([to_mnist(m) for m in masks]), lines, size)
