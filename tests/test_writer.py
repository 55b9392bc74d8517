"""The benchmark writer of bench/finetune_bench.py draws its own style, the same way every time."""

import re
import sys

import numpy as np
import pytest
from conftest import ROOT
from conftest import cli_run as run

sys.path.insert(0, str(ROOT / "bench"))
import writer  # noqa: E402


def ink_box(image, level=64):
    rows, cols = np.flatnonzero(image.max(axis=1) > level), np.flatnonzero(image.max(axis=0) > level)
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def upper_left_ink(image):
    """The ink in the top 40% and left 40% of the digit's box: a European 1's flag, where a plain 1
    leaning right has next to none."""
    box = ink_box(image)
    h, w = (round(0.4 * n) for n in box.shape)
    return int(box[:h, :w].astype(int).sum())


def test_the_writer_draws_the_same_digits_for_the_same_seed():
    images, labels = writer.digits(0, 12)
    again, _ = writer.digits(0, 12)
    later, later_labels = writer.digits(5, 7)
    assert labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1] and later_labels.tolist() == labels[5:].tolist()
    assert np.array_equal(images, again) and np.array_equal(later, images[5:])  # digit k is the same whoever asks
    other, _ = writer.digits(0, 12, seed=writer.SEED + 1)
    assert not np.array_equal(other, images)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8 and images.max() > 200


def test_the_writers_1_has_a_flag_and_leans_right():
    ones = writer.digits(0, 50)[0][1::10]
    assert all(upper_left_ink(one) > 300 for one in ones)
    # The same hand's 1 drawn from sample_digits' skeleton (a short serif, no flag) has next to none there.
    plain = {**writer.SKELETONS_OF_THE_WRITER, 1: writer.SKELETONS[1]}
    assert all(upper_left_ink(writer.prepare_array(writer.photo(k, skeletons=plain)[0])) < 100 for k in (1, 11, 21))
    assert 20 <= writer.SLANT_DEGREES <= 30


def test_write_makes_the_seeds_files_and_a_labels_file(tmp_path):
    folder = writer.write(tmp_path / "hand", 50, 20)
    rows = (folder / "labels.csv").read_text().splitlines()
    assert (
        rows[0] == "file,label" and len(rows) == 21 and rows[1] == "digit0_50.csv,0" and rows[-1] == "digit9_69.csv,9"
    )
    assert np.array_equal(
        np.loadtxt(folder / "digit3_53.csv", delimiter=",", dtype=np.uint8), writer.digits(53, 1)[0][0]
    )


@pytest.mark.real_model
def test_the_default_model_reads_most_of_the_writers_digits(tmp_path):
    folder = writer.write(tmp_path / "hand", 50, 100)
    said = run("predict-csv", folder, "--labels", folder / "labels.csv").stdout.splitlines()[-1]
    right = int(re.match(r"accuracy: (\d+) of 100 correct", said).group(1))
    assert 80 <= right < 100  # most, not all: the style is one MNIST lacks
