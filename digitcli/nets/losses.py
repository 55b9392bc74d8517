"""Nielsen's costs as Keras losses: summed over the 10 outputs per image (Keras then averages over
the mini-batch), so the book's learning rates carry over unchanged. Registered with Keras so saved
models name them; digitcli loads models with compile=False and never needs them back."""

import keras
from keras import ops

EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="digitcli")
def quadratic(y_true, y_pred):
    """C = ½‖y − a‖² (Nielsen, chapter 1)."""
    return 0.5 * ops.sum(ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="digitcli")
def binary_crossentropy_sum(y_true, y_pred):
    """C = −Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)] (Nielsen, chapter 3)."""
    p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
    return -ops.sum(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p), axis=-1)


KERAS_LOSSES = {
    "crossentropy": "sparse_categorical_crossentropy",
    "mse": "mean_squared_error",
    "quadratic": quadratic,
    "binary-crossentropy": binary_crossentropy_sum,
}
ONE_HOT = {"mse", "quadratic", "binary-crossentropy"}  # losses that compare against one-hot targets


def keras_loss(name, label_smoothing=0.0, encoding="onehot"):
    """The Keras loss for --loss `name`. Label smoothing (crossentropy only) needs one-hot targets:
    Keras' sparse cross-entropy has no such option. With 4-bit outputs, cross-entropy is the
    per-output (binary) one."""
    if encoding == "bits":
        return binary_crossentropy_sum if name == "crossentropy" else KERAS_LOSSES[name]
    if label_smoothing:
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    return KERAS_LOSSES[name]


def one_hot_targets(name, label_smoothing=0.0):
    return name in ONE_HOT or bool(label_smoothing)


def _decoded_accuracy(y_true, y_pred):
    """For --encoding bits: whether the most likely valid code (digitcli.nets.encoding) is the true one."""
    from digitcli.nets.encoding import CODES

    table = ops.convert_to_tensor(CODES.astype("float32"))
    p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
    score = ops.matmul(ops.log(p), ops.transpose(table)) + ops.matmul(ops.log(1 - p), ops.transpose(1 - table))
    truth = ops.sum(y_true * ops.convert_to_tensor([8.0, 4.0, 2.0, 1.0]), axis=-1)
    return ops.cast(ops.equal(ops.cast(ops.argmax(score, axis=-1), "float32"), truth), "float32")


@keras.saving.register_keras_serializable(package="digitcli")
class BitsAccuracy(keras.metrics.MeanMetricWrapper):
    """Keras' "accuracy" for a bits model: the decoded digit against the true one."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_decoded_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
