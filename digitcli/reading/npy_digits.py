"""The NumPy format: a .npy array of digits, (n, 28, 28) or (n, 784), pixels 0-255 (or floats 0-1) with
ink high, as `np.save(path, images)` writes it. Pickled object arrays are refused, never loaded."""

import io
import re
import tokenize

import numpy as np

from digitcli.errors import InputFileError
from digitcli.pixels import looks_inverted
from digitcli.reading.digit_csv import read_source
from digitcli.reading.formats import Input

HINT = "expected a NumPy array of shape (n, 28, 28) or (n, 784) with pixels 0-255 or 0-1"
# Images converted at a time: a float64 copy of 60,000 images is 376 MB, of 4,096 images 26 MB.
CHUNK = 4096


def read_input(name, data=None, stream=None, invert=True):
    data = read_source(name, stream) if data is None else data
    array = _array(name, data)
    if not (array.ndim == 3 and array.shape[1:] == (28, 28)) and not (array.ndim == 2 and array.shape[1] == 784):
        raise InputFileError(f"{name}: an array of shape {array.shape}; {HINT}")
    array = array.reshape(-1, 28, 28)
    if not len(array):
        raise InputFileError(f"{name}: holds no images (shape {array.shape}); {HINT}")
    images = _as_uint8(name, array)
    inverted = looks_inverted(images) if invert else np.zeros(len(images), dtype=bool)
    images[inverted] = 255 - images[inverted]
    return Input(name, images, [1] * len(images), inverted=inverted)


def _array(name, data):
    """The array in `data`, viewed in place (no copy); the header is checked before anything is read
    past it, so a short file cannot claim a huge array."""
    try:
        fh = io.BytesIO(data)
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(fh)
    except (ValueError, SyntaxError, TypeError, EOFError, tokenize.TokenError) as exc:
        # numpy's own words, up to the end of their first sentence (a long one is cut, not left mid-word).
        said = re.split(r"\.\s", str(exc).strip(), maxsplit=1)[0].strip().rstrip(".")
        said = said if len(said) <= 120 else said[:117].rsplit(" ", 1)[0] + "..."
        raise InputFileError(f"{name}: not a NumPy .npy file ({said}); {HINT}") from None
    if dtype.hasobject or dtype.kind not in "uif" or not shape:
        raise InputFileError(f"{name}: an array of {dtype} {shape}; {HINT}")
    count = int(np.prod(shape))
    if count * dtype.itemsize > len(data) - fh.tell():
        raise InputFileError(f"{name}: truncated: its header declares {shape} {dtype}, more than the file holds")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=fh.tell())
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _as_uint8(name, array):
    """Pixels 0-255 as uint8, a chunk at a time: uint8 is copied as is, other kinds are range-checked
    and floats within 0-1 scaled, never as one float64 copy of the whole array."""
    if array.dtype == np.uint8 and array.max(initial=0) > 1:
        return array.copy()
    low, high, finite = 0.0, 0.0, True
    for start in range(0, len(array), CHUNK):
        part = array[start : start + CHUNK]
        finite = finite and bool(np.isfinite(part).all())
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if not finite or low < 0 or high > 255:
        raise InputFileError(f"{name}: pixel values outside 0-255 (or not finite); {HINT}")
    scale = 255.0 if high <= 1.0 else 1.0
    images = np.empty(array.shape, dtype=np.uint8)
    for start in range(0, len(array), CHUNK):
        images[start : start + CHUNK] = np.rint(array[start : start + CHUNK].astype(np.float64) * scale)
    return images
