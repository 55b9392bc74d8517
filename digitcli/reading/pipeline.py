"""The one way from what a user hands digitcli to records: expand the inputs (sources), read each
by its format (formats), predict every digit in one batch, and build the records (records).

`kind` says what is read: "digits" (digit files, a record per digit: predict-csv, plot --digits,
training on your own digits) or "number" (photos, a record per image: predict-image, prepare)."""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from digitcli.reading import formats, records, sources
from digitcli.reading.formats import UnsupportedType  # noqa: F401 - the API answers it with 415

BODY_NAME = "request"  # the `file` of a request body's records: the body stands for one input file
LABELS = {"digits": "reading", "number": "reading images"}


def read_files(arguments, kind, *, strict=False, labels=None, stdin=None, progress=sources.no_progress, **options):
    """A sources.Batch of formats.Input for files, folders, globs and - (standard input). A labels
    file given as --labels is never read as digits. `options` go to the format's reader (invert;
    count and read for photos)."""
    skip = [labels] if labels and Path(labels).is_file() else []

    def read(name):
        stream = (stdin or sys.stdin.buffer) if name == sources.STDIN else None
        return formats.for_name(name, kind).read(name, stream=stream, **options)

    return sources.read_all(
        arguments,
        read,
        suffixes=formats.suffixes(kind),
        skip=skip,
        strict=strict,
        progress=progress,
        label=LABELS[kind],
    )


def read_body(body, content_type, **options):
    """A Batch of the one input a request body holds, read by the format its content type names."""
    fmt = formats.for_content_type(content_type)
    if fmt.kind != "number":
        options.pop("read", None)
    return fmt.kind, sources.Batch([fmt.read(BODY_NAME, body, **options)], [], [("ok", 0)])


def digits_of(batch):
    found = [f.digits for f in batch.files]
    return np.concatenate(found) if found else np.zeros((0, 28, 28), np.uint8)


def first_digits(batch, limit):
    """`batch` cut to its first `limit` digits, for files of a digit per record (kind "digits"): what
    is not drawn need not be predicted (plot --digits of 60,000 digits drew 400 and predicted all)."""
    kept, left = sources.Batch(errors=batch.errors), limit
    for kind, index in batch.order:
        if kind == "error":
            kept.order.append((kind, index))
        elif left > 0:
            f = batch.files[index]
            cut = {
                "digits": f.digits[:left],
                "sizes": f.sizes[:left],
                "labels": None if f.labels is None else f.labels[:left],
            }
            if f.inverted is not None:
                cut["inverted"] = f.inverted[:left]
            kept.files.append(dataclasses.replace(f, **cut))
            kept.order.append((kind, len(kept.files) - 1))
            left -= len(cut["digits"])
    return kept


def predict(batch, predictor, kind, truth=None, top_k=None, min_confidence=0.0, allow_nondigits=False):
    """(records, probabilities): every digit of the batch predicted in one call. A digit that holds no
    digit at all (a dot, a dash, ruled lines: reading/nondigit.py) reads as "-" with a `reason`,
    unless `allow_nondigits`."""
    images = digits_of(batch)
    probabilities = predictor.probabilities(images) if len(images) else np.zeros((0, 10), np.float32)
    refused = None if allow_nondigits else nondigit_reasons(batch, images, probabilities)
    return records.build(batch, probabilities, kind, truth, top_k, min_confidence, refused), probabilities


def nondigit_reasons(batch, images, probabilities):
    """Per digit, why it is no digit (or None). A photo's page tells more than the 28 x 28 field:
    how much of the page the ink spans, and whether it is long thin lines."""
    from digitcli.reading import nondigit

    pages = []
    for f in batch.files:
        page = f.page
        pages += (
            [nondigit.page_measures(m, page.gray.shape, len(page.lines)) for m in page.masks]
            if page
            else [None] * len(f.digits)
        )
    return nondigit.reasons(images, probabilities, pages)


class Remembered:
    """A predictor that runs the model on each distinct digit image once. Model-guided segmentation
    scores every candidate digit of a photo with the network's own probabilities (the scale its
    weights were fitted on); the digits it keeps are among them, so their records take the
    calibrated probabilities of that same run instead of predicting them again."""

    def __init__(self, predictor):
        self.predictor, self.backend, self.seen = predictor, predictor.backend, {}

    def _readings(self, images):
        images = np.ascontiguousarray(images, dtype=np.uint8)
        keys = [image.tobytes() for image in images]
        new = {k: i for i, k in enumerate(keys) if k not in self.seen}
        if new:
            batch = images[list(new.values())]
            if hasattr(self.predictor, "readings"):
                raw, calibrated = self.predictor.readings(batch)
            else:  # a predictor with one kind of probability (the tests' fakes)
                raw = calibrated = self.predictor.probabilities(batch)
            self.seen.update(zip(new, zip(raw, calibrated)))
        return [self.seen[k] for k in keys]

    def network_probabilities(self, images):
        found = self._readings(images)
        return np.stack([f[0] for f in found]) if found else np.zeros((0, 10), np.float32)

    def probabilities(self, images):
        found = self._readings(images)
        return np.stack([f[1] for f in found]) if found else np.zeros((0, 10), np.float32)


def answer_body(body, content_type, predictor, top_k=3, min_confidence=0.0, allow_nondigits=False):
    """What POST /api/predict answers for a body: the records, and for a photo the 28 x 28 digits the
    model was given ("prepared"). Unreadable bodies raise InputFileError (UnsupportedType: 415)."""
    predictor = Remembered(predictor)
    kind, batch = read_body(body, content_type, read=predictor.network_probabilities)
    found, _ = predict(batch, predictor, kind, batch.files[0].labels, top_k, min_confidence, allow_nondigits)
    answer = {"records": found}
    if kind == "number":
        answer["prepared"] = batch.files[0].digits.tolist()
    return answer
