"""`predict-csv`: read digit CSVs, predict in one batch, and build one record per image."""

import sys
from pathlib import Path

import numpy as np

from digitcli.data import digit_csv, inputs, labels
from digitcli.errors import to_stderr


def read_inputs(arguments, invert=True, strict=False, stdin=None, labels=None, progress=inputs.no_progress):
    """Read every input; `labels` is the --labels value, a file of which is never read as digits."""
    skip = [labels] if labels and Path(labels).is_file() else []

    def read(name):
        stream = (stdin or sys.stdin.buffer) if name == inputs.STDIN else None
        return digit_csv.read(name, invert=invert, stream=stream)

    return inputs.read_all(arguments, read, skip=skip, strict=strict, progress=progress)


def parse_labels(value, batch):
    """--labels as a list of true digits, one per image in input order (None where unknown): digits
    typed in input order ("3,8,9,5,4"), a labels file (labels.py), or else the files' own label
    column."""
    if value is None:
        found = [f.labels if f.labels is not None else [None] * len(f.images) for f in batch.files]
        return [None if v is None else int(v) for part in found for v in part]
    if labels.is_file(value):
        lookup = labels.read_file(value)
        return [labels.look_up(lookup, f.name, row) for f in batch.files for row in range(1, len(f.images) + 1)]
    return labels.by_position(labels.positional(value), batch.order, [len(f.images) for f in batch.files], "images")


def predict(batch, predictor, truth=None, top_k=None, min_confidence=0.0, allow_nondigits=False):
    """One record per image (and one per rejected input), in input order. An image that holds no
    digit (nondigit.py) reads as "-" with a `reason`, unless `allow_nondigits`."""
    from digitcli.inference import nondigit

    images = np.concatenate([f.images for f in batch.files]) if batch.files else np.zeros((0, 28, 28), np.uint8)
    probabilities = predictor.probabilities(images)
    best = probabilities.argmax(axis=1) if len(images) else np.zeros(0, dtype=int)
    confidence = probabilities[np.arange(len(best)), best] if len(images) else np.zeros(0)
    ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k] if top_k else None
    starts = np.cumsum([0] + [len(f.images) for f in batch.files])
    empty = digit_csv.blank(images) if len(images) else np.zeros(0, dtype=bool)
    refused = [None] * len(images) if allow_nondigits else nondigit.reasons(images, probabilities)

    records = []
    for kind, idx in batch.order:
        if kind == "error":
            name, message = batch.errors[idx]
            records.append({"file": name, "row": None, "prediction": None, "confidence": None, "error": message})
            continue
        for row, i in enumerate(range(starts[idx], starts[idx + 1]), 1):
            if empty[i]:
                where = batch.files[idx].name + (f", row {row}" if starts[idx + 1] - starts[idx] > 1 else "")
                records.append(
                    {
                        "file": batch.files[idx].name,
                        "row": row,
                        "prediction": None,
                        "confidence": None,
                        "error": f"{where}: blank image (no ink); nothing to read",
                    }
                )
                continue
            conf = float(confidence[i])
            rec = {
                "file": batch.files[idx].name,
                "row": row,
                "prediction": "-" if refused[i] else int(best[i]) if conf >= min_confidence else "?",
                "confidence": round(conf, 6),
            }
            if refused[i]:
                rec["reason"] = f"not a digit: {refused[i]}"
            if ranked is not None:
                rec["top_k"] = [[int(d), round(float(probabilities[i, d]), 6)] for d in ranked[i]]
            if truth is not None and truth[i] is not None:
                rec["label"] = truth[i]
                rec["correct"] = rec["prediction"] == truth[i]
            records.append(rec)
    return records, probabilities


def columns(records, top_k):
    return inputs.columns(records, top_k, base=("file", "row", "prediction", "confidence"))


def predict_files(
    arguments,
    models,
    backend="auto",
    *,
    invert=True,
    strict=False,
    labels_value=None,
    top_k=None,
    min_confidence=0.0,
    allow_nondigits=False,
    note=to_stderr,
    progress=inputs.no_progress,
):
    """predict-csv from end to end: read the inputs, predict, and return (records, columns)."""
    from digitcli.inference.predictors import load_predictors

    batch = read_inputs(arguments, invert=invert, strict=strict, labels=labels_value, progress=progress)
    for f in batch.files:
        if f.inverted.any():
            note(
                f"note: {f.name}: {int(f.inverted.sum())} of {len(f.inverted)} image(s) were dark on light; "
                "inverted them (--no-invert keeps them as they are)"
            )
    truth = parse_labels(labels_value, batch)
    predictor = _InBlocks(load_predictors(models, backend, note=note), progress)
    records, _ = predict(batch, predictor, truth, top_k, min_confidence, allow_nondigits)
    return records, columns(records, top_k)


BLOCK = 8192  # images per step of the progress bar over a large input


class _InBlocks:
    """A predictor that reads a large input in blocks, so that a progress bar can follow it."""

    def __init__(self, predictor, progress):
        self.predictor, self.progress, self.backend = predictor, progress, predictor.backend

    def probabilities(self, images):
        if len(images) <= BLOCK:
            return self.predictor.probabilities(images)
        with self.progress(range(0, len(images), BLOCK), "predicting") as starts:
            return np.concatenate([self.predictor.probabilities(images[i : i + BLOCK]) for i in starts])
