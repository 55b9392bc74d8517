"""A photo or scan of handwritten digits, one digit or a row of them, as MNIST-style digits: the page
read, its ink found and split into digits (segment.py, guided.py), each made 28 x 28 (imageprep.py)."""

from dataclasses import dataclass

import numpy as np

from digitcli.photos.imageprep import page_mask, read_gray, to_mnist, working_copy
from digitcli.photos.segment import split_digits


@dataclass
class Prepared:
    name: str
    gray: np.ndarray  # the page as read
    masks: list  # one ink mask per digit, left to right
    digits: np.ndarray  # uint8 (k, 28, 28), MNIST style


def prepare(path, count=None, data=None, read=None):
    """Read an image (the file at `path`, or the bytes `data` named `path`) and return its digits in
    MNIST style; `count` forces how many there are; `read` (a predictor's probabilities) lets the
    model choose how the ink is split into digits."""
    name = str(path)
    gray = working_copy(read_gray(path, data))
    mask = page_mask(gray, name)
    masks = [mask] if count == 1 else split_digits(mask, count, name, read)
    return Prepared(name, gray, masks, np.stack([to_mnist(m) for m in masks]))
