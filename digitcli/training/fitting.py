"""The parts of a run that talk to Keras directly: --from's weights, TensorBoard, fit's inputs, and
the library versions recorded with the model."""

import platform
import tempfile
from pathlib import Path

from digitcli import __version__, fileio
from digitcli.errors import UsageProblem


def start_from(model, path):
    """train --from: the saved model's weights, which must fit the network its settings built."""
    try:
        model.load_weights(str(path))
    except (ValueError, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise UsageProblem(
            f"--from {path}: its weights do not fit the network these settings build ({first}); "
            "keep its --model and --hidden",
            "--from",
        ) from None


def freeze(model, which):
    """train --freeze convolutions: the Conv2D layers keep their weights (set before compiling, which
    reads `trainable`); a small set of one's own then tunes only the dense layers that read them."""
    import keras

    if which == "convolutions":
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                layer.trainable = False


def tensorboard(log_dir):
    """Keras' TensorBoard callback: per-epoch loss, accuracy and learning rate under log_dir/train
    and log_dir/validation, for `tensorboard --logdir DIR`."""
    from digitcli.quiet import import_tensorflow

    import_tensorflow()
    import keras

    try:
        import tensorboard  # noqa: F401 - Keras' callback needs it only once it writes
    except ImportError:
        raise UsageProblem(
            "--tensorboard needs TensorBoard: pip install 'digitcli[tensorboard]'", "--tensorboard"
        ) from None
    try:  # a folder that cannot be written is refused now, not after the first epoch's training
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=log_dir):
            pass
    except OSError as exc:
        raise fileio.explain_os_error(log_dir, exc) from None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0, write_graph=False)


def fit_inputs(x_train, y_train, settings):
    """model.fit's data arguments: the arrays, or with --augment affine a tf.data pipeline that
    distorts each batch afresh."""
    if settings.augment == "affine":
        from digitcli.nets.augment import training_data

        return {"x": training_data(x_train, y_train, settings.batch_size, settings.seed), "shuffle": False}
    return {"x": x_train, "y": y_train, "batch_size": settings.batch_size, "shuffle": True}


def versions():
    import keras
    import numpy
    import tensorflow as tf

    return {
        "digitcli": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }
