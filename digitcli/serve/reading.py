"""What /api/predict does with a body: the same reading as predict-csv for CSVs and predict-image
for images, one body being one input."""

from digitcli.data import digit_csv, inputs
from digitcli.inference import digit_files
from digitcli.photos import prepare as photos

CSV_TYPES = ("text/csv", "text/plain", "application/csv")
NAME = "request"  # the `file` of every record: the body stands for one input file


class UnsupportedType(Exception):
    pass


def answer(body, kind, predictor, top_k=3, min_confidence=0.0, allow_nondigits=False):
    """The JSON answer for a body of content type `kind`. Unreadable bodies raise InputFileError."""
    if kind in CSV_TYPES:
        images = digit_csv.parse(body, NAME)
        batch = inputs.Batch([images], [], [("ok", 0)])
        truth = digit_files.parse_labels(None, batch)
        records, _ = digit_files.predict(batch, predictor, truth, top_k, min_confidence, allow_nondigits)
        return {"records": records}
    if kind.startswith("image/"):
        from digitcli.inference.predictors import segmentation_reader

        prepared = photos.prepare(NAME, data=body, read=segmentation_reader(predictor))
        batch = inputs.Batch([prepared], [], [("ok", 0)])
        records = photos.records(batch, predictor, [None], top_k, min_confidence, allow_nondigits)
        return {"records": records, "prepared": prepared.digits.tolist()}
    raise UnsupportedType(
        f"content type {kind or '(none)'!r}; send text/csv (a digit CSV) or an image (image/png, image/jpeg)"
    )
