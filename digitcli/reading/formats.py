"""The formats digits arrive in, keyed by file suffix and by content type.

A format reads one input (a file, standard input or a request body) into an `Input`: the 28 x 28
digits the model is given and how they group into records. Each format lives in a module of its own
that this registry names; a new one (a NumPy .npy of images, say) is that module and one line here.
Modules are imported only when their format is used, so reading CSVs never imports Pillow."""

import importlib
from dataclasses import dataclass

import numpy as np

from digitcli.errors import InputFileError
from digitcli.settings import IMAGE_SUFFIXES


@dataclass
class Input:
    """One input read. A CSV's rows are a record each; a photo's digits make one record, a number."""

    name: str
    digits: np.ndarray  # uint8 (n, 28, 28), ink high: what the model reads
    sizes: list  # digits per record, in order
    labels: list | None = None  # the input's own label per record (a CSV's label column)
    inverted: np.ndarray | None = None  # per digit: drawn dark on light, and inverted
    page: object = None  # a photo's photos.prepare.Prepared (the page and the ink masks)


@dataclass(frozen=True)
class Format:
    name: str
    kind: str  # "digits": a record per digit (predict-csv); "number": a record per input (predict-image)
    suffixes: tuple
    content_types: tuple  # a type ending in "/" takes the whole family ("image/")
    module: str  # holds read_input(name, data, stream, **options) -> Input

    def read(self, name, data=None, stream=None, **options):
        return importlib.import_module(self.module).read_input(name, data, stream, **options)


FORMATS = {
    "csv": Format(
        "csv", "digits", (".csv",), ("text/csv", "text/plain", "application/csv"), "digitcli.reading.digit_csv"
    ),
    "npy": Format("npy", "digits", (".npy",), ("application/x-npy",), "digitcli.reading.npy_digits"),
    "image": Format("image", "number", IMAGE_SUFFIXES, ("image/",), "digitcli.reading.photo"),
}


class UnsupportedType(InputFileError):
    """A request body of a content type no format reads (HTTP 415)."""


def of_kind(kind):
    return [f for f in FORMATS.values() if f.kind == kind]


def suffixes(kind):
    return tuple(s for f in of_kind(kind) for s in f.suffixes)


def for_name(name, kind):
    """The format of a file by its suffix; anything else (standard input, a .txt) by the kind's first."""
    lowered = str(name).lower()
    found = [f for f in of_kind(kind) if lowered.endswith(f.suffixes)]
    return (found or of_kind(kind))[0]


def for_content_type(content_type):
    kind = (content_type or "").split(";")[0].strip().lower()
    for fmt in FORMATS.values():
        if any(kind == t or (t.endswith("/") and kind.startswith(t)) for t in fmt.content_types):
            return fmt
    raise UnsupportedType(
        f"content type {kind or '(none)'!r}; send text/csv (a digit CSV) or an image (image/png, image/jpeg)"
    )
