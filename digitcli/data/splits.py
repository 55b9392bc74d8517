"""From a data set as distributed to what training uses: the validation split, a --limit, a test set
of the user's own (--test-data), other data mixed in (--mix), and the book's shifted copies."""

import numpy as np

from digitcli.data.datasets import Dataset, RawMnist, load_raw
from digitcli.errors import UsageProblem


def split(raw, validation_size, limit=None):
    """Hold out the last `validation_size` training images; keep the first `limit` of the rest."""
    n = len(raw.y_train)
    if validation_size < 0 or validation_size >= n:
        raise UsageProblem(
            f"--validation-size {validation_size} must be between 0 and {n - 1} "
            f"({raw.source} has {n:,} training images)",
            "--validation-size",
        )
    if limit is not None and limit < 1:
        raise UsageProblem(f"--limit {limit} must be at least 1", "--limit")
    cut = n - validation_size
    x_train, y_train = raw.x_train[:cut], raw.y_train[:cut]
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return Dataset(x_train, y_train, raw.x_train[cut:], raw.y_train[cut:], raw.x_test, raw.y_test, raw.source)


def load_dataset(source=None, validation_size=10_000, limit=None, test_source=None, mix=None, mix_size=None):
    """The training, validation and test images. `test_source` (any labelled source) replaces the
    test set: a labelled CSV or folder then trains on all of its images. `mix` adds the training
    images of another source (MNIST, so that fine-tuning does not forget it): the first `mix_size`
    of them, with the source's own images repeated to make up at least half of each epoch."""
    return dataset_from(
        load_raw(source, hold_out=test_source is None), validation_size, limit, test_source, mix, mix_size
    )


def dataset_from(raw, validation_size=10_000, limit=None, test_source=None, mix=None, mix_size=None):
    """load_dataset() for a RawMnist already loaded (without its test set when `test_source` is given)."""
    if test_source is not None:
        test = load_raw(test_source, hold_out=False)
        x_test = np.concatenate([test.x_train, test.x_test])
        y_test = np.concatenate([test.y_train, test.y_test])
        raw = RawMnist(raw.x_train, raw.y_train, x_test, y_test, f"{raw.source} (test: {test.source})")
    data = split(raw, validation_size, limit)
    return data if mix is None else _mixed(data, load_raw(mix), mix_size)


def _mixed(data, other, size):
    n_other = min(size or len(other.y_train), len(other.y_train))
    repeat = max(1, -(-n_other // len(data.y_train)))
    x = np.concatenate([np.tile(data.x_train, (repeat, 1, 1)), other.x_train[:n_other]])
    y = np.concatenate([np.tile(data.y_train, repeat), other.y_train[:n_other]])
    order = np.random.default_rng(0).permutation(len(y))
    return Dataset(
        x[order],
        y[order],
        data.x_val,
        data.y_val,
        data.x_test,
        data.y_test,
        f"{data.source} + {n_other:,} of {other.source}",
    )


def with_shifts(images, labels):
    """The images plus four copies moved one pixel up, down, left and right (zeros shifted in), as
    in Nielsen's expand_mnist.py: 50,000 images become 250,000."""
    copies = [images]
    for axis, step in ((1, -1), (1, 1), (2, -1), (2, 1)):
        moved = np.roll(images, step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = -1 if step == -1 else 0
        moved[tuple(edge)] = 0
        copies.append(moved)
    return np.concatenate(copies), np.tile(labels, 5)
