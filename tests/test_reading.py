"""The one reading pipeline: formats found by suffix and content type, a new format as one module and
one registry line (.npy), the same records from a file and a request body, and photo digits that
the model reads once."""

import numpy as np
import pytest
from conftest import SAMPLES, NearestSample, cli_run

from digitcli.errors import InputFileError
from digitcli.reading import formats, pipeline


def test_formats_are_found_by_suffix_and_content_type():
    assert formats.for_name("a/B.PNG", "number").name == "image"
    assert formats.for_name("digits.npy", "digits").name == "npy"
    assert formats.for_name("-", "digits").name == "csv"  # standard input, and any other name
    assert formats.for_content_type("text/csv; charset=utf-8").name == "csv"
    assert formats.for_content_type("IMAGE/JPEG").name == "image"
    assert formats.for_content_type("application/x-npy").name == "npy"
    with pytest.raises(formats.UnsupportedType, match="application/json"):
        formats.for_content_type("application/json")


def _sample_array():
    names = ["digit3_1.csv", "digit7_2.csv", "digit0_4.csv"]
    return np.stack([np.loadtxt(SAMPLES / n, delimiter=",") for n in names]).astype(np.uint8)


def test_a_npy_file_reads_like_the_csvs_it_was_made_from(tmp_path, fake_predictor):
    np.save(tmp_path / "three.npy", _sample_array())
    flat = tmp_path / "flat.npy"
    np.save(flat, _sample_array().reshape(3, 784) / 255.0)  # floats 0-1, rows of 784
    out = cli_run("predict-csv", tmp_path / "three.npy", flat, "--format", "csv").stdout.splitlines()
    assert [line.split(",")[2] for line in out[1:]] == ["3", "7", "0", "3", "7", "0"]


@pytest.mark.parametrize(
    "payload, problem",
    [
        (b"not numpy at all", "not a NumPy .npy file"),
        (None, r"shape \(2, 5\)"),
        ("object", "array of object"),
    ],
)
def test_bad_npy_files_are_refused_by_name(tmp_path, payload, problem):
    path = tmp_path / "bad.npy"
    if payload is None:
        np.save(path, np.zeros((2, 5)))
    elif payload == "object":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(payload)
    with pytest.raises(InputFileError, match=problem):
        formats.FORMATS["npy"].read(str(path))


def test_a_npy_header_that_claims_more_than_the_file_holds_is_refused_before_loading(tmp_path):
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 28, 28)})
    path = tmp_path / "huge.npy"
    path.write_bytes(header.getvalue() + bytes(784))
    with pytest.raises(InputFileError, match="truncated"):
        formats.FORMATS["npy"].read(str(path))


def test_a_body_and_a_file_give_the_same_records(tmp_path):
    predictor = NearestSample()
    csv = (SAMPLES / "digit3_1.csv").read_bytes()
    answer = pipeline.answer_body(csv, "text/csv", predictor, top_k=2)
    batch = pipeline.read_files([str(SAMPLES / "digit3_1.csv")], "digits")
    records, _ = pipeline.predict(batch, predictor, "digits", top_k=2)
    drop = {"file"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in answer["records"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in records
    ]
    assert answer["records"][0]["prediction"] == 3


class Counting:
    """Records every image it is asked to read."""

    backend = "fake"

    def __init__(self):
        self.inner, self.seen = NearestSample(), []

    def probabilities(self, images):
        self.seen += [np.asarray(i).tobytes() for i in images]
        return self.inner.probabilities(images)


def test_a_photos_digits_are_read_once(monkeypatch):
    from digitcli.inference import predict, predictors

    counting = Counting()
    monkeypatch.setattr(predictors, "load_predictors", lambda models, backend="auto", note=None: counting)
    records, _, rejected = predict.read_numbers([str(SAMPLES / "number_2025.jpg")], ["unused.keras"])
    assert (rejected, records[0]["prediction"]) == (0, "2025")
    assert counting.seen, "the model chose the split"
    assert len(counting.seen) == len(set(counting.seen)), "a digit image was predicted twice"


@pytest.mark.real_model
def test_segmentation_scores_with_the_networks_own_probabilities_and_records_are_calibrated():
    """The segmentation's weights were fitted on the network's probabilities, before any temperature;
    the records carry the calibrated ones. Both come from one run of the model."""
    from conftest import ROOT

    from digitcli.inference.predictors import load_predictor

    model = ROOT / "models" / "robust.keras"
    digits = np.stack([np.loadtxt(SAMPLES / n, delimiter=",") for n in ("digit1_2.csv", "digit4_3.csv")])
    digits = digits.astype(np.uint8)
    remembered = pipeline.Remembered(load_predictor(model))
    raw = load_predictor(model, calibrated=False).probabilities(digits)
    calibrated = load_predictor(model).probabilities(digits)
    assert not np.allclose(raw, calibrated, atol=1e-3)  # the shipped model has a temperature
    np.testing.assert_allclose(remembered.network_probabilities(digits), raw, atol=1e-4)
    np.testing.assert_allclose(remembered.probabilities(digits), calibrated, atol=1e-5)


def test_digit_records_from_all_rows_at_once_rank_ties_and_threshold_as_one_row_does():
    """records.build ranks every row in one NumPy call: ties keep the lower digit first (as a stable
    sort of one row does), and --min-confidence compares the unrounded confidence."""
    from digitcli.reading import records, sources

    probs = np.full((3, 10), 0.01, np.float32)
    probs[0, [7, 2]] = 0.455  # a tie: 2 comes first
    probs[1, 4] = 0.4999996  # rounds to 0.5 but is below it
    probs[2, 9] = 0.91
    digits = np.full((3, 28, 28), 200, np.uint8)
    batch = sources.Batch([formats.Input("f.csv", digits, [1, 1, 1])], [], [("ok", 0)])
    found = records.build(batch, probs, "digits", top_k=3, min_confidence=0.5)
    assert [r["prediction"] for r in found] == ["?", "?", 9]
    assert found[0]["top_k"] == [[2, 0.455], [7, 0.455], [0, 0.01]]
    assert [r["confidence"] for r in found] == [0.455, 0.5, 0.91]
    assert found[1]["top_k"][0] == [4, 0.5]
    assert records.build(batch, probs, "digits")[2] == {"file": "f.csv", "row": 3, "prediction": 9, "confidence": 0.91}
