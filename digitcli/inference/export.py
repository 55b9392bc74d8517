"""Export a trained model for light inference: ONNX (used by predict-csv when it matches the
checkpoint), LiteRT, or a TensorFlow SavedModel. Uses Keras' own `Model.export`."""

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from digitcli import fileio
from digitcli.errors import OutputError, UsageProblem
from digitcli.inference import modelfile, onnx_calibration
from digitcli.inference.modelfile import CHECKPOINT_HASH_KEY
from digitcli.inference.predictors import load_keras_model
from digitcli.settings import EXPORT_SUFFIXES as FORMATS


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
        # Programs other than digitcli read the export: give them the calibrated probabilities too.
        onnx_calibration.bake(proto, modelfile.ModelFile.open(model_path).temperature)
        onnx_calibration.restamp(proto, CHECKPOINT_HASH_KEY, modelfile.sha256(model_path))
        onnx.save(proto, str(tmp))
    return target


def _check_target(target, fmt, model_path, overwrite):
    """Refuse to replace anything export did not make, unless told to, and never a folder that is not
    a SavedModel (`--out ..` once removed a parent folder)."""
    if fmt != "saved_model" and target.suffix != FORMATS[fmt]:
        raise UsageProblem(f"{target}: {fmt} exports must end in {FORMATS[fmt]}", "--out")
    if not (target.exists() or target.is_symlink()):
        return
    if fmt == "saved_model":
        if not target.is_dir() or target.is_symlink():
            raise OutputError(
                f"{target}: already exists and is not a folder; a SavedModel export needs a new folder name for --out"
            )
        if not (target / "saved_model.pb").exists():
            raise OutputError(
                f"{target}: an existing folder that is not a SavedModel; give --out a new "
                "folder name (digitcli never replaces other folders)"
            )
    elif target.is_dir():
        raise OutputError(f"{target}: is a folder; give --out a file name ending in {FORMATS[fmt]}")
    own_twin = fmt == "onnx" and target.resolve() == default_target(model_path, "onnx").resolve()
    if not (overwrite or own_twin):  # the model's own ONNX twin is what export exists to refresh
        raise OutputError(f"{target}: already exists; choose another --out, or add --overwrite to replace it")


def export(model, fmt, target=None, overwrite=False):
    """Export `model` (a path or an opened ModelFile) as `fmt` to `target`; returns the path written."""
    model_file = modelfile.as_model_file(model)
    model_path = model_file.path
    if fmt not in FORMATS:
        raise UsageProblem(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}", "--format")
    target = Path(target or default_target(model_path, fmt))
    _check_target(target, fmt, model_path, overwrite)
    model = load_keras_model(model_file)
    if fmt == "onnx":
        return export_onnx(model, model_path, target)
    _called(model)
    if fmt == "saved_model":
        return _export_folder(model, target)
    with fileio.atomic_path(target) as tmp, contextlib.redirect_stdout(sys.stderr):
        model.export(str(tmp), format="litert", verbose=False)
    return target


def _export_folder(model, target):
    """A SavedModel is a folder: build it in a temporary folder beside the target, then rename it into
    place. An earlier SavedModel (replaced only with --overwrite) is moved aside before it is removed."""
    parent = target.resolve().parent
    try:
        work = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.resolve().name}."))
    except OSError as exc:
        raise fileio.explain_os_error(target, exc) from None
    try:
        built = work / "saved_model"
        with contextlib.redirect_stdout(sys.stderr):
            model.export(str(built), format="tf_saved_model", verbose=False)
        if target.exists():
            os.rename(target, work / "replaced")
        try:
            os.rename(built, target)
        except OSError:
            if (work / "replaced").exists():
                os.rename(work / "replaced", target)
            raise
    except OSError as exc:
        raise fileio.explain_os_error(target, exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)  # only what this export made
    return target
