"""The CSV reader's two parsers (NumPy for whole numbers, pandas for the rest) read the same pixels."""

import re

import numpy as np
import pytest
from conftest import synthetic_digits

from digitcli.errors import InputFileError
from digitcli.reading import digit_csv


def as_csv(rows, fmt="{:d}", sep=","):
    return ("\n".join(sep.join(fmt.format(v) for v in row) for row in rows) + "\n").encode()


def test_integer_and_float_files_give_identical_images():
    images, _ = synthetic_digits(20)
    rows = images.reshape(20, 784).astype(int)
    fast = digit_csv.parse(as_csv(rows), "ints.csv")
    slow = digit_csv.parse(as_csv(rows, "{:.1f}"), "floats.csv")  # not whole numbers: the pandas path
    scaled = digit_csv.parse(as_csv(rows / 255.0, "{:.6f}"), "unit.csv")
    np.testing.assert_array_equal(fast.images, images)
    np.testing.assert_array_equal(slow.images, images)
    np.testing.assert_array_equal(scaled.images, images)


def test_zero_one_bitmap_is_scaled_to_ink():
    bitmap = np.zeros((28, 28), dtype=int)
    bitmap[5:20, 13:15] = 1
    got = digit_csv.parse(as_csv(bitmap), "bits.csv").images[0]
    assert set(np.unique(got)) == {0, 255}
    np.testing.assert_array_equal(got == 255, bitmap == 1)


def test_utf8_bom_and_crlf_line_ends():
    images, _ = synthetic_digits(1)
    data = b"\xef\xbb\xbf" + as_csv(images[0].astype(int)).replace(b"\n", b"\r\n")
    np.testing.assert_array_equal(digit_csv.parse(data, "excel.csv").images[0], images[0])


@pytest.mark.parametrize(
    "data,message",
    [
        (b"\xff\xfe1\x002\x00", "a binary file"),
        (
            ("\n".join(",".join(["0"] * 28) for _ in range(27)) + "\n0," + ",".join(["\xe9"] * 27)).encode("latin1"),
            "not a text file (not UTF-8)",
        ),
        (b"\n".join([b",".join([b"0"] * 27 + [b"70000"])] * 28), "has the value 70000"),
    ],
)
def test_reader_errors(data, message):
    with pytest.raises(InputFileError, match=re.escape(message)):
        digit_csv.parse(data, "x.csv")
