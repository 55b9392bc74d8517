"""Fit a model's temperature on its validation set and record it, with the calibrated test scores,
in the model file, its NAME.json and its ONNX twin: at the end of `train`, and by `digitcli calibrate`
for a model that already exists. Only the metadata changes; the weights stay byte for byte."""

import contextlib

import numpy as np

from digitcli import fileio
from digitcli.errors import UsageProblem, to_stderr
from digitcli.inference import calibration, modelfile, onnx_calibration


def measured(predict, dataset, inherited=None):
    """({"calibration": ..., "test": ...}) for a model given as `predict(images) -> probabilities`
    (uncalibrated): the temperature fitted on dataset's validation images, and the test set's
    accuracy, NLL and ECE with it. Without a validation set there is no temperature. `inherited`,
    (temperature, model path) of the model a fine-tune started from, is kept when the validation set
    has no mistake to fit on (a few of one's own digits, all read right)."""
    record = {"temperature": None, "fitted_on": None}
    temperature = None
    if len(dataset.y_val):
        val = predict(dataset.x_val)
        fitted_on = f"validation set: {len(dataset.y_val):,} images of {dataset.source}"
        if inherited is not None and np.all(val.argmax(axis=1) == dataset.y_val):
            temperature, parent = inherited
            fitted_on = f"kept from {parent}: its {len(dataset.y_val):,} validation images held no mistake to fit on"
        else:
            temperature = calibration.fit_temperature(val, dataset.y_val)
        record = {
            "temperature": temperature,
            "fitted_on": fitted_on,
            "validation_nll_before": calibration.nll(val, dataset.y_val),
            "validation_nll": calibration.nll(calibration.apply_temperature(val, temperature), dataset.y_val),
        }
    test = calibration.apply_temperature(predict(dataset.x_test), temperature)
    scores = {
        "accuracy": float(np.mean(test.argmax(axis=1) == dataset.y_test)) if len(test) else float("nan"),
        "nll": calibration.nll(test, dataset.y_test),
        "ece": calibration.expected_calibration_error(test, dataset.y_test),
    }
    return {"calibration": record, "test": scores}


def recalibrate(model, data=None, backend="auto", validation_size=None, note=to_stderr):
    """`digitcli calibrate`: refit `model`'s temperature on the last `validation_size` training images
    of `data` (by default the validation set the model was trained beside) and rewrite its metadata
    in place. Returns the new metadata."""
    from digitcli.data.splits import load_dataset
    from digitcli.inference.predictors import load_predictor

    model = modelfile.as_model_file(model)
    size = validation_size or model.metadata.get("settings", {}).get("validation_size", 10_000)
    if not size:
        raise UsageProblem(
            f"{model.path} was trained without a validation set; give --validation-size N to fit on the last "
            "N training images",
            "--validation-size",
        )
    dataset = load_dataset(data, validation_size=size)
    predictor = load_predictor(model, backend, note=note, calibrated=False)
    metadata = {**model.metadata, **measured(predictor.probabilities, dataset)}
    write(model, metadata)
    return metadata


def _twin_in_step(model):
    """The model's ONNX twin, loaded, when it was made from this very checkpoint; else None (a stale
    twin stays stale: `digitcli export` remakes it)."""
    if not model.onnx_path.exists():
        return None
    import onnx

    proto = onnx.load(str(model.onnx_path))
    stamps = {entry.key: entry.value for entry in proto.metadata_props}
    return proto if model.made_this(stamps.get(modelfile.CHECKPOINT_HASH_KEY)) else None


def write(model, metadata):
    """Replace the .keras file's metadata and NAME.json, and re-bake the ONNX twin when it was made
    from this checkpoint (its stamp names the new file's hash, so it stays in use)."""
    path = model.path
    proto = _twin_in_step(model)
    with contextlib.ExitStack() as stack:
        new_keras = stack.enter_context(fileio.atomic_path(path))
        modelfile.copy_with_metadata(path, new_keras, metadata)
        if proto is not None:
            import onnx

            onnx_calibration.bake(proto, metadata["calibration"]["temperature"])
            onnx_calibration.restamp(proto, modelfile.CHECKPOINT_HASH_KEY, modelfile.sha256(new_keras))
            with fileio.atomic_path(model.onnx_path) as new_onnx:
                onnx.save(proto, str(new_onnx))
    fileio.write_json(modelfile.sidecar(path, ".json"), metadata)
