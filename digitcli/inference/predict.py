"""`predict-csv` and `predict-image` from end to end: load the model(s), read the inputs through the
reading pipeline, predict, and return the records with their columns."""

import numpy as np

from digitcli.errors import to_stderr
from digitcli.reading import labels, pipeline, records, sources


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
    progress=sources.no_progress,
):
    """predict-csv: (records, columns)."""
    from digitcli.inference.predictors import load_predictors

    batch = pipeline.read_files(
        arguments, "digits", strict=strict, labels=labels_value, progress=progress, invert=invert
    )
    for f in batch.files:
        if f.inverted.any():
            note(
                f"note: {f.name}: {int(f.inverted.sum())} of {len(f.inverted)} image(s) were dark on light; "
                "inverted them (--no-invert keeps them as they are)"
            )
    truth = labels.for_records(labels_value, batch)
    predictor = _InBlocks(load_predictors(models, backend, note=note), progress)
    found, _ = pipeline.predict(batch, predictor, "digits", truth, top_k, min_confidence, allow_nondigits)
    return found, records.columns(found, top_k, "digits")


def read_numbers(
    arguments,
    models,
    backend="auto",
    *,
    count=None,
    strict=False,
    labels_value=None,
    top_k=None,
    min_confidence=0.0,
    allow_nondigits=False,
    note=to_stderr,
    progress=sources.no_progress,
):
    """predict-image: (records, columns, number of images rejected)."""
    from digitcli.inference.predictors import load_predictors

    predictor = pipeline.Remembered(load_predictors(models, backend, note=note))
    batch = pipeline.read_files(
        arguments, "number", strict=strict, labels=labels_value, progress=progress, count=count,
        read=predictor.network_probabilities,
    )  # fmt: skip
    for _, message in batch.errors:
        note(f"error: {message}")
    truth = labels.for_records(labels_value, batch, numbers=True)
    found, _ = pipeline.predict(batch, predictor, "number", truth, top_k, min_confidence, allow_nondigits)
    return found, records.columns(found, top_k, "number"), len(batch.errors)


BLOCK = 8192  # images per step of the progress bar over a large input


class _InBlocks:
    """A predictor that reads a large input in blocks, so that a progress bar can follow it."""

    def __init__(self, predictor, progress):
        self.predictor, self.progress, self.backend = predictor, progress, predictor.backend

    def probabilities(self, images):
        if len(images) <= BLOCK:
            return self.predictor.probabilities(images)
        starts = range(0, len(images), BLOCK)
        sizes = [min(BLOCK, len(images) - i) for i in starts]  # the bar counts images, not blocks
        with self.progress(starts, "predicting", sizes=sizes) as starts:
            return np.concatenate([self.predictor.probabilities(images[i : i + BLOCK]) for i in starts])
