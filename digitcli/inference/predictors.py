"""Turn images into class probabilities with a saved model.

Two backends: onnxruntime on the model's ONNX twin (starts in a fraction of a second), and Keras
(needs TensorFlow, about 5 s to import). `load_predictor` takes ONNX when the twin exists and its
stamped hash matches the .keras file, and Keras otherwise. Both return identical probabilities
to within 1e-5, calibrated with the temperature stored in the model (inference/calibration.py): Keras
applies it here, an ONNX export has it baked in (onnx_calibration.py) or gets it applied here.
"""

import numpy as np

from digitcli.errors import ModelFileError, to_stderr
from digitcli.inference import modelfile, onnx_calibration
from digitcli.inference.calibration import apply_temperature
from digitcli.pixels import model_input
from digitcli.settings import EVAL_BATCH_SIZE


def _check_output(path, shape):
    if tuple(shape[1:]) not in ((10,), (4,)):
        raise ModelFileError(
            f"{path}: the model outputs shape {tuple(shape[1:])}, expected 10 digit probabilities "
            "(or a digit's 4-bit code)"
        )


def digits_from_outputs(out):
    """10 digit probabilities from a model's outputs: as they are, or decoded from 4 bits."""
    if out.shape[1] == 4:
        from digitcli.nets.encoding import digit_probabilities

        return digit_probabilities(out)
    return out


def _check_input(path, shape):
    if int(np.prod(shape)) != 784:
        raise ModelFileError(
            f"{path}: the model takes inputs of shape {tuple(shape)}, expected 28 x 28 pixels (784 values)"
        )


CHUNK = 256
# On 2 shared cores (bench/predict_speed.py), worker threads that spin while they wait for work took
# 3.5 s for 10,000 images where threads that sleep took 2.2 s: the spinning ate the cores' time.
SPIN = "0"
_NONE = np.zeros((0, 10), dtype=np.float32)


class KerasPredictor:
    backend = "keras"

    def __init__(self, model_file, calibrated=True):
        model_file = modelfile.as_model_file(model_file)
        self.model = load_keras_model(model_file)
        self.input_shape = tuple(self.model.input_shape[1:])
        self.temperature = model_file.temperature if calibrated else None

    def probabilities(self, images):
        return self.readings(images)[1]

    def uncalibrated(self, images):
        """The network's own probabilities, before the temperature."""
        return self.readings(images)[0]

    def readings(self, images):
        """(the network's own probabilities, the calibrated ones) from one run of the model."""
        if len(images) == 0:
            return _NONE, _NONE
        x = model_input(images, self.input_shape)
        out = digits_from_outputs(
            np.asarray(self.model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0), dtype=np.float32)
        )
        return out, apply_temperature(out, self.temperature)


class OnnxPredictor:
    backend = "onnx"

    def __init__(self, onnx_path, session, temperature=None, baked=None):
        self.path = onnx_path
        self.session = session
        self.temperature = temperature  # what is left to apply: None when the export has it baked in
        self.baked = baked  # the temperature the export applies itself, if any
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.input_shape = tuple(inp.shape[1:])
        _check_input(onnx_path, self.input_shape)

    def probabilities(self, images):
        return self.readings(images)[1]

    def uncalibrated(self, images):
        """The network's own probabilities, before the temperature."""
        return self.readings(images)[0]

    def readings(self, images):
        """(the network's own probabilities, the calibrated ones) from one run of the model."""
        if len(images) == 0:
            return _NONE, _NONE
        x = model_input(images, self.input_shape)
        # Batches that fit in the CPU's caches: a convnet ran 4x faster in 256-image chunks than in
        # one 10,000-image call (bench/predict_speed.py).
        out = np.concatenate(
            [self.session.run(None, {self.input_name: x[i : i + CHUNK]})[0] for i in range(0, len(x), CHUNK)]
        ).astype(np.float32, copy=False)
        _check_output(self.path, out.shape)  # a dynamic output shape is only known once it has run
        out = digits_from_outputs(out)
        if self.baked:  # softmax(log p / T) undone: softmax(T log p') is the network's p again
            return apply_temperature(out, 1 / self.baked), out
        return out, apply_temperature(out, self.temperature)


def load_keras_model(model):
    """Load a .keras file (a path or an opened ModelFile) in Keras' safe mode: a model that would run
    arbitrary code (a Lambda layer) is refused, never executed."""
    path = modelfile.as_model_file(model).path  # a clear error for a missing, non-zip or non-Keras file
    from digitcli.quiet import import_tensorflow

    import_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            raise ModelFileError(
                f"{path}: contains a Lambda layer (arbitrary Python code); digitcli loads models "
                "in Keras safe mode and refuses to run it"
            ) from None
        raise ModelFileError(f"{path}: cannot be loaded as a Keras model ({text.splitlines()[0]})") from None
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild an untrusted file is the file's fault
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelFileError(f"{path}: cannot be loaded as a Keras model ({type(exc).__name__}: {first})") from None
    _check_input(path, model.input_shape[1:])
    _check_output(path, model.output_shape)
    return model


def _onnx_session(model, calibrated=True):
    """An onnxruntime session for the model's ONNX twin, or None when it is missing, stale or unusable;
    and the temperature still to apply to its output."""
    onnx_path = model.onnx_path
    if not onnx_path.exists():
        return None, onnx_path, "no ONNX export", None
    try:
        import onnxruntime as ort
    except ImportError:
        return None, onnx_path, "onnxruntime is not installed", None
    options = session_options(ort)
    try:
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - a broken twin only costs speed
        return None, onnx_path, f"cannot load it ({type(exc).__name__})", None
    meta = session.get_modelmeta().custom_metadata_map
    if not model.made_this(meta.get(modelfile.CHECKPOINT_HASH_KEY)):
        return None, onnx_path, "it was made from another version of the checkpoint", None
    last = session.get_outputs()[0].shape[-1] if session.get_outputs()[0].shape else None
    if isinstance(last, int) and last not in (10, 4):
        return None, onnx_path, f"it outputs {last} values, not 10 digit probabilities", None
    baked = onnx_calibration.baked_temperature(meta)
    if baked is None:
        return session, onnx_path, None, (model.temperature if calibrated else None, None)
    if not calibrated:  # what the network itself says, for fitting a new temperature
        import onnx

        raw = onnx_calibration.strip(onnx.load(str(onnx_path))).SerializeToString()
        session = ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
        return session, onnx_path, None, (None, None)
    return session, onnx_path, None, (None, baked)


def session_options(ort):
    """One thread per core this process may use, every graph optimisation, and no spinning."""
    import os

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    options.add_session_config_entry("session.intra_op.allow_spinning", SPIN)
    return options


def load_predictor(model, backend="auto", note=to_stderr, calibrated=True):
    """A predictor for `model` (a path or an opened ModelFile): backend 'auto' (ONNX if usable, else
    Keras), 'onnx' or 'keras'. `calibrated=False` gives the network's probabilities before the
    stored temperature (to fit a new one)."""
    model = modelfile.as_model_file(model)  # a clear error for a missing, non-zip or non-Keras file
    path = model.path
    if backend in ("auto", "onnx"):
        session, onnx_path, why, temperatures = _onnx_session(model, calibrated)
        if session is not None:
            return OnnxPredictor(onnx_path, session, *temperatures)
        if backend == "onnx":
            raise ModelFileError(
                f"{onnx_path}: cannot use the ONNX export ({why}); run `digitcli export {path} --format onnx`"
            )
        note(
            f"note: not using {onnx_path} ({why}); predicting with Keras, which takes seconds to start. "
            f"`digitcli export {path}` makes a fresh one."
        )
    return KerasPredictor(model, calibrated)


class EnsemblePredictor:
    """Several models as one: the average of their probabilities (Nielsen's chapter 6 ensemble)."""

    def __init__(self, predictors):
        self.members = predictors
        self.backend = "+".join(p.backend for p in predictors)

    def probabilities(self, images):
        return self.readings(images)[1]

    def uncalibrated(self, images):
        """The network's own probabilities, before the temperature."""
        return self.readings(images)[0]

    def readings(self, images):
        found = [p.readings(images) for p in self.members]
        return tuple(np.mean([f[k] for f in found], axis=0).astype(np.float32) for k in (0, 1))


def load_predictors(models, backend="auto", note=to_stderr):
    """One predictor for one model (a path or ModelFile), an EnsemblePredictor for several."""
    models = list(models)
    if len(models) == 1:
        return load_predictor(models[0], backend, note)
    return EnsemblePredictor([load_predictor(m, backend, note) for m in models])
