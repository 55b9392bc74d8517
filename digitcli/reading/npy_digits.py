"""The NumPy format: a .npy array of digits, (n, 28, 28) or (n, 784), pixels 0-255 (or floats 0-1) with
ink high, as `np.save(path, images)` writes it. Pickled object arrays are refused, never loaded."""

import io
import tokenize

import numpy as np

from digitcli.errors import InputFileError
from digitcli.pixels import looks_inverted
from digitcli.reading.digit_csv import read_source
from digitcli.reading.formats import Input

HINT = "expected a NumPy array of shape (n, 28, 28) or (n, 784) with pixels 0-255 or 0-1"


def read_input(name, data=None, stream=None, invert=True):
    data = read_source(name, stream) if data is None else data
    try:  # the header is checked before the array is allocated: a short file cannot claim a huge one
        fh = io.BytesIO(data)
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = header(fh)
    except (ValueError, SyntaxError, TypeError, EOFError, tokenize.TokenError) as exc:
        raise InputFileError(f"{name}: not a NumPy .npy file ({str(exc)[:100]}); {HINT}") from None
    if dtype.hasobject or dtype.kind not in "uif" or not shape:
        raise InputFileError(f"{name}: an array of {dtype} {shape}; {HINT}")
    if int(np.prod(shape)) * dtype.itemsize > len(data):
        raise InputFileError(f"{name}: truncated: its header declares {shape} {dtype}, more than the file holds")
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if not (array.ndim == 3 and array.shape[1:] == (28, 28)) and not (array.ndim == 2 and array.shape[1] == 784):
        raise InputFileError(f"{name}: an array of shape {array.shape}; {HINT}")
    pixels = array.reshape(-1, 28, 28).astype(np.float64)
    if not np.isfinite(pixels).all() or pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
        raise InputFileError(f"{name}: pixel values outside 0-255 (or not finite); {HINT}")
    images = np.rint(pixels * 255 if pixels.max(initial=0) <= 1.0 else pixels).astype(np.uint8)
    inverted = looks_inverted(images) if invert else np.zeros(len(images), dtype=bool)
    images[inverted] = 255 - images[inverted]
    return Input(name, images, [1] * len(images), inverted=inverted)
