"""Readers for the file formats MNIST is distributed in: IDX (raw or gzip), Keras .npz, Nielsen's pkl.gz.

Each reader checks what it reads and raises `DataError` naming the file and the problem.
They use NumPy only; none of them can execute code from a file.
"""

import gzip
import io
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

from digitcli.errors import DataError
from digitcli.settings import MAX_DATA_BYTES

IDX_IMAGES = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS = 0x00000801  # unsigned bytes, 1 dimension


def _open(path):
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        return gzip.open(path, "rb") if gzipped else open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_exactly(fh, n, path, what):
    try:
        data = fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated compressed data while reading {what} ({exc})") from None
    if len(data) != n:
        raise DataError(f"{path}: truncated: {what} needs {n:,} bytes but the file has {len(data):,}")
    return data


def read_idx(path, expect):
    """Read one IDX file whose magic number must be `expect` (IDX_IMAGES or IDX_LABELS)."""
    ndim = expect & 0xFF
    kind = "images" if expect == IDX_IMAGES else "labels"
    with _open(path) as fh:
        header = _read_exactly(fh, 4 + 4 * ndim, path, "the IDX header")
        magic = int.from_bytes(header[:4], "big")
        if magic != expect:
            raise DataError(
                f"{path}: not an IDX {kind} file (magic number 0x{magic:08x}, expected 0x{expect:08x}); "
                "check that images and labels files are not swapped"
            )
        dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        size = int(np.prod(dims, dtype=np.int64))
        if size > MAX_DATA_BYTES:
            raise DataError(f"{path}: header declares {size:,} bytes of data, more than the {MAX_DATA_BYTES:,} allowed")
        body = _read_exactly(fh, size, path, f"{' x '.join(map(str, dims))} {kind}")
        try:
            # Reading on to the end makes gzip check its CRC, which catches corruption in the body.
            extra = fh.read(1 << 16)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated compressed data ({exc})") from None
        if extra:
            raise DataError(
                f"{path}: longer than its header declares ({' x '.join(map(str, dims))}); the file is corrupt"
            )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def read_npz(path):
    """Read a Keras-layout .npz: x_train, y_train, x_test, y_test."""
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        # np.load takes anything that is not .npy or .npz for a pickle; say what it really is.
        raise DataError(f"{path}: not a readable .npz (an .npz is a zip archive of arrays; this is not)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
            if missing:
                raise DataError(
                    f"{path}: missing arrays {', '.join(sorted(missing))}; expected the Keras layout "
                    "x_train, y_train, x_test, y_test"
                )
            return tuple(npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"{path}: holds Python objects, which digitcli refuses to unpickle; save plain arrays"
            ) from None
        raise DataError(f"{path}: not a readable .npz ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None


class _Refused(pickle.UnpicklingError):
    """The pickle names a global outside the allowed list."""


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays and tuples and nothing else: any other global is refused, so a crafted
    pickle cannot call os.system or anything like it."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1"):
        # a pure conversion, safe to allow.
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        if (module, name) in self._ALLOWED:
            if name == "_reconstruct":
                from numpy._core.multiarray import _reconstruct

                return _reconstruct
            return getattr(np, name)
        raise _Refused(f"refused to load {module}.{name}")


def read_pkl(path):
    """Read Nielsen's mnist.pkl.gz: ((x, y) train, (x, y) validation, (x, y) test), floats in [0, 1]."""
    with _open(path) as fh:
        try:
            raw = fh.read(MAX_DATA_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated compressed data ({exc})") from None
    if len(raw) > MAX_DATA_BYTES:
        raise DataError(f"{path}: more than {MAX_DATA_BYTES:,} bytes once decompressed; refused")
    try:
        sets = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except _Refused as exc:
        raise DataError(f"{path}: not an MNIST pickle of plain arrays ({exc}); it was not executed") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure of an untrusted file is a data error
        raise DataError(f"{path}: truncated or corrupt pickle ({type(exc).__name__}: {exc})") from None
    try:
        (xt, yt), (xv, yv), (xs, ys) = sets
    except (TypeError, ValueError):
        raise DataError(f"{path}: expected ((x, y), (x, y), (x, y)) for train, validation and test") from None
    arrays = [xt, yt, xv, yv, xs, ys]
    if not all(isinstance(a, np.ndarray) for a in arrays):
        raise DataError(f"{path}: expected NumPy arrays inside the pickle")
    return arrays
