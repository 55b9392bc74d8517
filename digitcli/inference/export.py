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
        _describe(proto, tuple(model.input_shape[1:]), model.output_shape[-1])
        # Programs other than digitcli read the export: give them the calibrated probabilities too.
        onnx_calibration.bake(proto, modelfile.ModelFile.open(model_path).temperature)
        onnx_calibration.restamp(proto, CHECKPOINT_HASH_KEY, modelfile.sha256(model_path))
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
    return target


def with_temperature(model, temperature):
    """`model` followed by the calibration that digitcli's predictors apply, softmax(log(max(p, 1e-30)) / T),
    so a LiteRT or SavedModel export gives the same probabilities as the ONNX one (onnx_calibration.bake).
    A bits model's 4 outputs are not probabilities of digits: as in ONNX, it is left as it is."""
    if temperature is None or float(temperature) == 1.0 or model.output_shape[-1] != 10:
        return model
    import keras
    from keras import ops

    def scale(p):
        return ops.softmax(ops.log(ops.maximum(p, 1e-30)) / float(temperature), axis=-1)

    inputs = keras.Input(model.input_shape[1:])
    return keras.Model(inputs, keras.layers.Lambda(scale, name="temperature")(model(inputs)))


INPUT, OUTPUT, BITS_OUTPUT, BATCH = "pixels", "probabilities", "bits", "batch"


def input_notes(shape, outputs=10):
    """What another program must feed the export and gets back: its metadata_props (and the README's)."""
    each = "784 values, 28 rows of 28 pixels one after the other" if len(shape) == 1 else "28 x 28 x 1: one channel"
    output = (
        f"{OUTPUT}: float32 [{BATCH}, 10], each row the probabilities of the digits 0-9"
        if outputs == 10
        else f"{BITS_OUTPUT}: float32 [{BATCH}, 4], each row the digit's 4-bit code, most significant bit "
        "first, as 4 sigmoid outputs; the reading is the digit whose code is nearest"
    )
    return {
        "digitcli.input": f"{INPUT}: float32 [{BATCH}, {', '.join(map(str, shape))}]; each image {each}",
        "digitcli.input_scale": "0 to 1: a 0-255 pixel divided by 255 (0-255 values saturate the model)",
        "digitcli.input_polarity": "0 = background, 1 = ink: a light digit on black, as in MNIST",
        "digitcli.input_recipe": "MNIST's: the digit cropped, scaled to fit 20 x 20, centred by its mass in 28 x 28",
        "digitcli.output": output,
    }


def _describe(proto, shape, outputs):
    """Name the input, the output and the batch axis (Keras' exporter leaves Identity:0 and unk__N),
    and write down the preprocessing, so a program other than digitcli can use the file alone."""
    graph = proto.graph
    renames = {graph.input[0].name: INPUT, graph.output[0].name: OUTPUT if outputs == 10 else BITS_OUTPUT}
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    batch = {v.type.tensor_type.shape.dim[0].dim_param for v in (graph.input[0], graph.output[0])} - {""}
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = renames.get(value.name, value.name)
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in batch:
                dim.dim_param = BATCH
    notes = input_notes(shape, outputs)
    graph.input[0].doc_string = " ".join(notes[k] for k in ("digitcli.input_scale", "digitcli.input_polarity"))
    graph.output[0].doc_string = notes["digitcli.output"]
    proto.doc_string = "A digitcli MNIST digit reader. " + "; ".join(notes.values())
    for key, value in notes.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


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
    model = with_temperature(model, model_file.temperature)
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
