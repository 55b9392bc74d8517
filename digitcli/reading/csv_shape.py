"""The shape a digit CSV may have, checked before and just after parsing (digit_csv.py reads it).

A digit row holds at most 785 values (a label and 784 pixels), so a longer line is refused on its
raw bytes before a parser sees it: two rows of a million values took 23-40 s and gigabytes to parse
and then were refused anyway. A header, when there is one, says which column is the label and
which are pixels; without it a 785-column row is read label first, as Kaggle's files are.
"""

import re

import numpy as np

from digitcli.errors import InputFileError

MAX_VALUES = 785  # a label and 784 pixels
# Generous for any way of writing 785 numbers (quoted, padded, "0.123456789012345678"); far below
# what costs a parser real time or memory.
MAX_LINE_BYTES = 32 * (MAX_VALUES + 1)
LABEL_NAMES = ("label", "labels", "digit", "class", "y")
_PIXEL = re.compile(r"^pixel(\d+)$")
_ROW_COLUMN = re.compile(r"^(\d+)x(\d+)$")  # "MNIST in CSV" on Kaggle: label,1x1,1x2,...,28x28
_CHUNK = 4 << 20  # scanned this many bytes at a time, so the scan's own arrays stay small


def check_lines(data, name):
    """Refuse `data` (the bytes of a CSV) when any line is longer than a digit row can be."""
    view = np.frombuffer(data, dtype=np.uint8)
    last = -1  # where the previous line ended
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        ends = np.flatnonzero((chunk == 10) | (chunk == 13)) + start
        lengths = np.diff(ends, prepend=last) - 1
        if len(lengths) and lengths.max() > MAX_LINE_BYTES:
            _refuse_line(data, name, int(ends[np.argmax(lengths)]), int(lengths.max()))
        if len(ends):
            last = int(ends[-1])
    if len(view) - last - 1 > MAX_LINE_BYTES:
        _refuse_line(data, name, len(view), len(view) - last - 1)


def check_values(text, sep, name):
    """Refuse a line of more values than a digit row has (a trailing separator allowed). For the
    files NumPy's parser could not read, before pandas reads them: a few thousand columns there take
    seconds and hundreds of MB."""
    for number, line in enumerate(text.splitlines(), 1):
        values = line.count(sep) + 1 if sep else len(line.split())
        if values > MAX_VALUES + 1:
            raise InputFileError(
                f"{name}: line {number} has {values:,} values; a digit row holds at most {MAX_VALUES} "
                "(a label and 784 pixels)"
            )


def _refuse_line(data, name, end, length):
    line = data.count(b"\n", 0, end) + 1
    raise InputFileError(
        f"{name}: line {line} is {length:,} characters long; a digit row holds at most {MAX_VALUES} values "
        f"(a label and 784 pixels), so lines longer than {MAX_LINE_BYTES:,} characters are not read"
    )


def by_header(values, names, name):
    """(values with the label column first and the pixels in order, whether there is a label) for rows
    under a header of `names`. The header decides, wherever the label column is: refused when its
    names do not fit rows of digits."""
    names = [n.strip().strip("\"'").strip().lower() for n in names]
    while names and not names[-1]:
        names.pop()  # a trailing separator
    cols = values.shape[1]
    if len(names) != cols:
        raise InputFileError(f"{name}: the header names {len(names)} columns but the rows have {cols} values")
    label = [i for i, n in enumerate(names) if n in LABEL_NAMES]
    if len(label) > 1:
        raise InputFileError(f"{name}: columns {label[0] + 1} and {label[1] + 1} are both named as the label")
    rest = [i for i in range(cols) if i not in label]
    numbers = {i: _pixel_number(names[i]) for i in rest}
    other = [i for i in rest if numbers[i] is None]
    if not label and cols == MAX_VALUES and len(other) == len(rest):
        raise InputFileError(
            f"{name}: {cols} columns, but no column of the header is named label (its first is "
            f"{names[0]!r}); name the label column 'label', or remove the extra column"
        )
    if other:  # a header is read by its names or not at all: px0 is no more a pixel than ImageId
        raise InputFileError(
            f"{name}: column {other[0] + 1} ({names[other[0]]!r}) is neither the label nor a pixel "
            "(pixel0 to pixel783); name the columns so, remove it, or remove the header"
        )
    if sorted(numbers.values()) != list(range(784)):
        raise InputFileError(f"{name}: the header's pixel columns must be pixel0 to pixel783, each once")
    rest.sort(key=numbers.get)
    return values[:, label + rest], bool(label)


def _pixel_number(column):
    """The pixel a header name stands for (pixel0-pixel783, or 1x1-28x28 by row and column), else None."""
    if match := _PIXEL.match(column):
        return int(match.group(1))
    if (match := _ROW_COLUMN.match(column)) and 1 <= int(match.group(1)) <= 28 and 1 <= int(match.group(2)) <= 28:
        return (int(match.group(1)) - 1) * 28 + int(match.group(2)) - 1
    return None
