"""Read digit images from the CSV layouts people actually write.

Accepted: the seed's 28 rows x 28 values; one or many rows of 784 values; rows of 785 with a leading
label (or a `label,pixel0,...` header); integers 0-255 or floats 0-1; separated by commas,
semicolons, tabs or spaces. Anything else is refused with a message naming the file, row and problem.
"""

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np

from digitcli.errors import InputFileError
from digitcli.pixels import looks_inverted
from digitcli.reading import csv_shape
from digitcli.reading.formats import Input
from digitcli.settings import MAX_CSV_BYTES

SHAPES_HINT = "expected 28 rows of 28 values, or one row of 784 values per image (optionally a label first)"
BLANK_BELOW = 32  # an image whose every pixel is below this is blank (ink is 255, paper 0)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


@dataclass
class DigitImages:
    name: str
    images: np.ndarray  # uint8 (n, 28, 28), ink high
    labels: np.ndarray | None  # from a label column, if the file has one
    inverted: np.ndarray  # bool (n,): which images were dark-on-light and got inverted


def read_source(name, stream=None):
    """Bytes of a file (or of `stream` for standard input), refusing anything over the size limit."""
    try:
        if stream is not None:
            data = stream.read(MAX_CSV_BYTES + 1)
        else:
            with open(name, "rb") as fh:
                data = fh.read(MAX_CSV_BYTES + 1)
    except FileNotFoundError:
        raise InputFileError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{name}: is a folder") from None
    except PermissionError:
        raise InputFileError(f"{name}: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_CSV_BYTES:
        raise InputFileError(f"{name}: larger than {MAX_CSV_BYTES >> 20} MiB; split it into smaller files")
    return data


def _separator(line):
    counts = {sep: line.count(sep) for sep in (",", ";", "\t")}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    return sep if n else None


def _tokens(line, sep):
    return [t.strip() for t in (line.split(sep) if sep else line.split())]


def _check_bytes(data, name):
    if not data or data.isspace():
        raise InputFileError(f"{name}: empty file; {SHAPES_HINT}")
    if b"\x00" in data[:4096]:
        raise InputFileError(f"{name}: a binary file, not a CSV of pixel values")


def _text(data, name):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{name}: not a text file (not UTF-8); expected a CSV of pixel values") from None


def _first_line(data, name):
    start = re.search(rb"\S", data).start()  # _check_bytes made sure there is one
    end = data.find(b"\n", start)
    return _text(data[start : end if end >= 0 else len(data)], name)


def _layout(first):
    """From the first line: (separator or None for whitespace, has a header row, the header's names)."""
    sep = _separator(first)
    # Spreadsheets quote every cell: "0","12",... are numbers, not a header of names.
    head = [t.strip("\"'") for t in _tokens(first, sep) if t != ""]
    # A header is mostly names (label,pixel0,...); a data row with one bad cell is not a header.
    header = sum(not _NUMBER.match(t) for t in head) > len(head) / 2
    return sep, header, (_tokens(first, sep) if header else None)


def _numbers(data, sep, header):
    """The common cases through NumPy's C parser: several times faster than pandas, whose import
    alone costs more than the parse, and without pandas' object columns (3x the memory on a file with
    one float). Whole numbers first as int16 (it holds every valid pixel and the invalid values
    _to_uint8 reports), then as float32. None when the file needs pandas (gaps, text, quotes,
    ragged rows): that path also explains what is wrong."""
    for dtype in (np.int16, np.float32):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "input contained no data": header only, reported by pandas
                values = np.loadtxt(
                    io.BytesIO(data),
                    delimiter=sep,
                    skiprows=1 if header else 0,
                    dtype=dtype,
                    ndmin=2,
                    encoding="utf-8-sig",
                )
        except (ValueError, OverflowError, UnicodeDecodeError):
            continue
        if values.size and (dtype is np.int16 or np.isfinite(values).all()):
            return values
        return None
    return None


def _table(text, name, sep, header):
    """Parse to a float array (rows, cols), explaining the first problem found."""
    import pandas as pd

    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep or r"\s+",
            header=None,
            skiprows=1 if header else 0,
            skip_blank_lines=True,
            engine="c",
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{name}: a header but no pixel rows; {SHAPES_HINT}") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise InputFileError(
                f"{name}: line {line} has {saw} values where earlier lines have {want}; "
                "every row needs the same number of values"
            ) from None
        raise InputFileError(f"{name}: not a readable CSV ({str(exc).strip()})") from None
    # A trailing separator (common in spreadsheet exports) makes an empty last column.
    while frame.shape[1] > 1 and frame.iloc[:, -1].isna().all():
        frame = frame.iloc[:, :-1]
    skipped = 2 if header else 1
    for col in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[col]):
            continue
        numeric = pd.to_numeric(frame[col], errors="coerce")
        bad = np.flatnonzero(numeric.isna() & frame[col].notna())
        if len(bad):
            row = int(bad[0])
            raise InputFileError(
                f"{name}: line {row + skipped}, column {col + 1}: {frame[col].iloc[row]!r} is not a number"
            )
        frame[col] = numeric.astype(np.float64)  # numbers too large for any integer type
    values = frame.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row, col = map(int, np.argwhere(~finite)[0])
        what = "missing" if np.isnan(values[row, col]) else "infinite"
        raise InputFileError(
            f"{name}: line {row + skipped}, column {col + 1}: value is {what} or NaN; every pixel needs a number"
        )
    return values


def _split_labels(values, names, name):
    labelled = False
    if names is not None:
        values, labelled = csv_shape.by_header(values, names, name)
    rows, cols = values.shape
    if labelled or cols == 785:
        if cols != 785:
            raise InputFileError(f"{name}: a label column and {cols - 1} pixel values per row; {SHAPES_HINT}")
        labels, pixels = values[:, 0], values[:, 1:]
        bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > 9))
        if len(bad):
            raise InputFileError(f"{name}: row {bad[0] + 1}: label {labels[bad[0]]:g} is not a digit 0-9")
        return pixels.reshape(-1, 28, 28), labels.astype(np.int64)
    if cols == 784:
        return values.reshape(-1, 28, 28), None
    if cols == 28 and rows % 28 == 0:
        return values.reshape(-1, 28, 28), None
    if rows * cols == 784:
        return values.reshape(1, 28, 28), None
    raise InputFileError(f"{name}: {rows} rows x {cols} columns; {SHAPES_HINT}")


def _to_uint8(pixels, name):
    lo, hi = pixels.min(), pixels.max()
    if lo < 0 or hi > 255:
        image = int(np.flatnonzero((pixels.min(axis=(1, 2)) < 0) | (pixels.max(axis=(1, 2)) > 255))[0])
        bad = pixels[image][(pixels[image] < 0) | (pixels[image] > 255)][0]
        raise InputFileError(f"{name}: image {image + 1} has the value {bad:g}; pixels must be 0-255 (or 0-1)")
    if hi <= 1.0:
        pixels = pixels * 255.0  # floats in [0, 1] (or a 0/1 bitmap)
    elif np.issubdtype(pixels.dtype, np.integer):
        return pixels.astype(np.uint8)
    return np.rint(pixels).astype(np.uint8)


def blank(images):
    """Per image: True when it holds no ink at all (nothing above a faint grey), which any model
    would still read as some digit."""
    return np.asarray(images).reshape(len(images), -1).max(axis=1) < BLANK_BELOW


def parse(data, name, invert=True):
    """Digit images in `data` (the bytes of one CSV). Raises InputFileError with the reason."""
    _check_bytes(data, name)
    csv_shape.check_lines(data, name)
    sep, header, names = _layout(_first_line(data, name))
    values = _numbers(data, sep, header)
    if values is None:
        text = _text(data, name)
        csv_shape.check_values(text, sep, name)
        values = _table(text, name, sep, header)
    pixels, labels = _split_labels(values, names, name)
    images = _to_uint8(pixels, name)
    inverted = looks_inverted(images) if invert else np.zeros(len(images), dtype=bool)
    if inverted.any():
        images = images.copy()
        images[inverted] = 255 - images[inverted]
    return DigitImages(name, images, labels, inverted)


def read(name, invert=True, stream=None):
    return parse(read_source(name, stream), name, invert)


def read_input(name, data=None, stream=None, invert=True):
    """The CSV format for reading/formats.py: every row (or 28 x 28 block) is a record of one digit."""
    found = parse(data, name, invert) if data is not None else read(name, invert, stream)
    own = None if found.labels is None else [int(v) for v in found.labels]
    return Input(name, found.images, [1] * len(found.images), own, found.inverted)
