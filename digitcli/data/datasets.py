"""Find and load MNIST from wherever the user has it, check it, and split it.

`load_dataset(source)` accepts a folder of IDX files, a Keras .npz, Nielsen's mnist.pkl.gz, or
None (Keras' own download). Images come back as uint8 (n, 28, 28) with 0 = background, labels as
uint8 0-9. TensorFlow is imported only for the download.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from digitcli.data import mnist_files as readers
from digitcli.errors import DataError
from digitcli.settings import ENV_DATA

IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}

POINT_AT_LOCAL = (
    f"point --data (or {ENV_DATA}) at a folder with the four MNIST IDX files, a Keras mnist.npz, "
    "Nielsen's mnist.pkl.gz, or a labelled CSV such as Kaggle's train.csv"
)
# A labelled CSV (Kaggle's train.csv) has no test split: its last tenth of rows is held out as one.
CSV_TEST_FRACTION = 0.1


@dataclass(frozen=True)
class RawMnist:
    """Train and test sets as distributed, before any validation split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    # How the test set was taken from labelled digits with no test split of their own ("the last
    # tenth", "a tenth drawn with a fixed seed"); "" for sets that come with one (MNIST).
    held_out: str = ""


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    # How the test set was taken from labelled digits with no test split of their own ("the last
    # tenth", "a tenth drawn with a fixed seed"); "" for sets that come with one (MNIST).
    held_out: str = ""

    def sizes(self):
        return {"train": len(self.y_train), "validation": len(self.y_val), "test": len(self.y_test)}

    def fingerprint(self):
        """A hash of the training and validation images and labels: --resume refuses other data,
        whatever its path (the best epoch was chosen on this validation set)."""
        import hashlib

        h = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val):
            h.update(str(array.shape).encode())
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]


def find_idx_file(folder, key):
    for stem in IDX_NAMES[key]:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    names = " or ".join(f"{n}[.gz]" for n in IDX_NAMES[key])
    raise DataError(f"{folder}: no {names}; {POINT_AT_LOCAL}")


def _check(images, labels, where, split, may_be_empty=False):
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{where}: {split} images have shape {images.shape[1:]}, expected 28 x 28")
    if len(images) != len(labels):
        raise DataError(
            f"{where}: {len(images):,} {split} images but {len(labels):,} labels; the files do not belong together"
        )
    if labels.ndim != 1:
        raise DataError(f"{where}: {split} labels should be one number per image, found shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        bad = int(np.flatnonzero((labels < 0) | (labels > 9))[0])
        raise DataError(f"{where}: {split} label #{bad} is {labels[bad]}, labels must be digits 0-9")
    if len(images) == 0 and not may_be_empty:
        raise DataError(f"{where}: no {split} images")


def _as_uint8_images(x, where, split):
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{where}: {split} images are {x.dtype}, expected numbers")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise DataError(f"{where}: {split} images contain NaN or infinite values")
    lo, hi = (x.min(), x.max()) if x.size else (0, 0)
    if lo < 0 or hi > 255:
        raise DataError(f"{where}: {split} pixel values span {lo:g}..{hi:g}, expected 0..255 or 0..1")
    if hi <= 1.0:
        x = x * 255.0
    return np.rint(x).astype(np.uint8)


def _as_labels(y, where, split):
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: {split} labels are {y.dtype}, expected integers 0-9")
    return y


def _from_arrays(x_train, y_train, x_test, y_test, where, test_may_be_empty=False):
    x_train = _as_uint8_images(x_train, where, "train")
    x_test = _as_uint8_images(x_test, where, "test")
    y_train = _as_labels(y_train, where, "train")
    y_test = _as_labels(y_test, where, "test")
    _check(x_train, y_train, where, "train")
    _check(x_test, y_test, where, "test", test_may_be_empty)
    return RawMnist(x_train, y_train.astype(np.uint8), x_test, y_test.astype(np.uint8), where)


def load_idx_folder(folder):
    folder = Path(folder)
    paths = {key: find_idx_file(folder, key) for key in IDX_NAMES}
    arrays = {
        key: readers.read_idx(p, readers.IDX_IMAGES if key.endswith("images") else readers.IDX_LABELS)
        for key, p in paths.items()
    }
    return _from_arrays(
        arrays["train_images"], arrays["train_labels"], arrays["test_images"], arrays["test_labels"], str(folder)
    )


def load_pkl(path):
    xt, yt, xv, yv, xs, ys = readers.read_pkl(path)
    # The book's validation set is the last 10,000 of the original training images, so joining
    # them back gives the original 60,000 and the default split reproduces the book's.
    try:
        x_train, y_train = np.concatenate([xt, xv]), np.concatenate([yt, yv])
    except ValueError as exc:
        raise DataError(f"{path}: train and validation arrays do not match ({exc})") from None
    return _from_arrays(x_train, y_train, xs, ys, str(path))


def _held_out(images, labels, where, hold_out, shuffle):
    """A RawMnist whose test set is a tenth of the labelled images (none when `hold_out` is False:
    --test-data gives the test set). `shuffle` mixes the order first, with a fixed seed, for sets
    stored in an order of their own (files sorted by name, digit by digit)."""
    n = len(labels)
    if n < 3:
        raise DataError(f"{where}: {n} labelled image(s); too few to train and test on")
    if shuffle:
        order = np.random.default_rng(0).permutation(n)
        images, labels = images[order], labels[order]
    n_test = max(1, int(n * CSV_TEST_FRACTION)) if hold_out else 0
    cut = n - n_test
    raw = _from_arrays(images[:cut], labels[:cut], images[cut:], labels[cut:], where, test_may_be_empty=not hold_out)
    how = "a tenth drawn with a fixed seed" if shuffle else "the last tenth"
    return replace(raw, held_out=how if hold_out else "")


def load_labelled_csv(path, hold_out=True):
    """One labelled image per row, as Kaggle's Digit Recognizer train.csv (`label,pixel0,...,pixel783`,
    header optional), read as predict-csv reads CSVs. The last tenth of the rows becomes the test set."""
    from digitcli.errors import InputFileError
    from digitcli.reading import digit_csv

    try:
        found = digit_csv.read(str(path), invert=False)
    except InputFileError as exc:
        raise DataError(str(exc)) from None
    if found.labels is None:
        raise DataError(
            f"{path}: no label column; training needs rows of label,pixel0,...,pixel783 (a header line is optional)"
        )
    return _held_out(found.images, found.labels.astype(np.uint8), str(path), hold_out, shuffle=False)


def load_digit_folder(folder, hold_out=True):
    """A folder of the seed's digit CSVs with a `file,label` labels file beside them (or label columns
    in the files), read as predict-csv reads them. A tenth, drawn with a fixed seed, is the test set."""
    from digitcli.errors import DigitcliError
    from digitcli.reading import labels, pipeline
    from digitcli.reading import sources as inputs

    found = sorted(p for p in Path(folder).glob("*.csv") if inputs.is_labels_file(p))
    try:
        batch = pipeline.read_files([str(folder)], "digits", strict=True)
        if not batch.files:
            raise DataError(f"{folder}: no digit CSVs inside")
        truth = labels.for_records(str(found[0]) if found else None, batch)
    except DigitcliError as exc:
        raise DataError(str(exc).replace("--labels", "the labels file")) from None
    names = [f.name for f in batch.files for _ in f.digits]  # the file of each image, in order
    missing = [name for name, label in zip(names, truth) if label is None]
    if missing:
        where = f"in {found[0]}" if found else f"(no file,label CSV in {folder}, and no label column)"
        raise DataError(
            f"{missing[0]}: no label {where}; training needs a label for every digit ({len(missing)} without one)"
        )
    images = pipeline.digits_of(batch)
    return _held_out(images, np.array(truth, dtype=np.uint8), str(folder), hold_out, shuffle=True)


def load_keras_download():
    import contextlib
    import sys

    from digitcli.quiet import import_tensorflow

    try:
        import_tensorflow()
        import keras

        # Keras prints "Downloading data from https://..." on stdout, which is for results.
        with contextlib.redirect_stdout(sys.stderr):
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no download"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"could not download MNIST through Keras ({first}); {POINT_AT_LOCAL}") from None
    return _from_arrays(x_train, y_train, x_test, y_test, "keras.datasets.mnist")


def load_raw(source=None, hold_out=True):
    """Load MNIST from `source` (folder, .npz, .pkl[.gz]) or, when None, Keras' download; or labelled
    digits: a CSV of rows, or a folder of digit CSVs with a labels file (a tenth of them held out as
    the test set, unless `hold_out` is False)."""
    if source is None or str(source) == "":
        return load_keras_download()
    path = Path(source)
    if path.is_dir():
        # MNIST's own file names decide, not "idx" anywhere in a name (a digit CSV may be called idx_3.csv).
        has_idx = any(
            (path / (stem + gz)).is_file() for stems in IDX_NAMES.values() for stem in stems for gz in ("", ".gz")
        )
        if not has_idx and any(path.glob("*.csv")):
            return load_digit_folder(path, hold_out)
        return load_idx_folder(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; {POINT_AT_LOCAL}")
    name = path.name.lower()
    if name.endswith(".npz"):
        x_train, y_train, x_test, y_test = readers.read_npz(path)
        return _from_arrays(x_train, y_train, x_test, y_test, str(path))
    if name.endswith((".pkl", ".pkl.gz", ".pickle")):
        return load_pkl(path)
    if name.endswith(".csv"):
        return load_labelled_csv(path, hold_out)
    raise DataError(f"{path}: unknown data format; {POINT_AT_LOCAL}")
