"""Export a trained model for light inference: ONNX (used by predict-csv when it matches the
checkpoint), LiteRT, or a TensorFlow SavedModel. Uses Keras' own `Model.export`."""

import contextlib
import shutil
import sys
import warnings
from pathlib import Path

from digitcli import fileio, modelfile
from digitcli.errors import UsageProblem

FORMATS = {"onnx": ".onnx", "litert": ".tflite", "saved_model": "_saved_model"}
CHECKPOINT_HASH_KEY = "digitcli.keras_sha256"


def default_target(model_path, fmt):
    return modelfile.sidecar(model_path, FORMATS[fmt])


def _called(model):
    import numpy as np

    # Keras refuses to export a model that has never been called.
    model(np.zeros((1, *model.input_shape[1:]), dtype="float32"))


def export_onnx(model, model_path, target=None):
    """Write model_path's ONNX twin, stamped with the hash of model_path so a stale export is never used."""
    import onnx

    target = Path(target or default_target(model_path, "onnx"))
    _called(model)
    with fileio.atomic_path(target) as tmp, contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf2onnx's FutureWarnings about NumPy say nothing to a user
        model.export(str(tmp), format="onnx", verbose=False)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key, entry.value = CHECKPOINT_HASH_KEY, modelfile.sha256(model_path)
        onnx.save(proto, str(tmp))
    return target


def export(model_path, fmt, target=None):
    from digitcli.predictors import load_keras_model

    if fmt not in FORMATS:
        raise UsageProblem(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}", "--format")
    target = Path(target or default_target(model_path, fmt))
    if fmt != "saved_model" and target.suffix != FORMATS[fmt]:
        raise UsageProblem(f"{target}: {fmt} exports must end in {FORMATS[fmt]}", "--out")
    model = load_keras_model(model_path)
    if fmt == "onnx":
        return export_onnx(model, model_path, target)
    _called(model)
    keras_format = "tf_saved_model" if fmt == "saved_model" else "litert"
    if fmt == "saved_model":
        # A SavedModel is a folder: build it aside, then swap it in.
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.redirect_stdout(sys.stderr):
            model.export(str(tmp), format=keras_format, verbose=False)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        return target
    with fileio.atomic_path(target) as tmp, contextlib.redirect_stdout(sys.stderr):
        model.export(str(tmp), format=keras_format, verbose=False)
    return target
