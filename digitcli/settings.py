"""Every choice list and default, and the training settings they make up: one place, so --help, the
code and the docs agree. Imports nothing heavy (the CLI's --help reads it)."""

import math
from dataclasses import asdict, dataclass

from digitcli.errors import UsageProblem

ENV_DATA = "DIGITCLI_DATA"
ENV_MODEL = "DIGITCLI_MODEL"

MODEL_DIR = "models"  # the shipped models; `train` writes here only when --out names it
# `train`'s output without --out: RUNS_DIR/<preset or model>.keras, relative to the current folder.
RUNS_DIR = "runs"
# The default of predict-csv, predict-image, evaluate and plot: the cnn trained on distorted digits
# (`--preset robust`), which reads handwriting unlike MNIST's far better than the others.
DEFAULT_MODEL_FILE = "models/robust.keras"

ARCHITECTURE = "dense"
OPTIMIZER = "adam"
# Epochs, batch size, schedule, dropout and Adam's settings depend on the architecture.
# - dense is tuned for time to accuracy on a 2-core CPU: batch 256, Adam from 0.002, cosine decay to
#   zero (98% test accuracy at epoch 5, 10.4 s; docs/results.md). The seed's own batch-64
#   constant-rate recipe is the seed001 preset.
# - cnn is a small fast convnet trained by the one-cycle recipe of tuomaso/train_mnist_fast: batch
#   256, Adam with beta_1 0.7 and beta_2 0.9, the rate rising to 0.01 and annealed to nearly 0 over
#   a short run (docs/results.md).
# - keras-convnet and book-cnn keep keras.io's batch 64 at Adam's constant 0.001.
# - bn-cnn (batch norm, dropout 0.3) is trained by the same one-cycle recipe with Adam's own betas,
#   peaking at 0.005; its `best` preset runs 40 epochs on distorted digits.
MODEL_DEFAULTS = {
    "dense": {
        "hidden": (400, 100),
        "epochs": 10,
        "batch_size": 256,
        "schedule": "cosine",
        "adam_lr": 0.002,
        "dropout": 0.5,
        "adam_betas": (0.9, 0.999),
    },
    "cnn": {
        "hidden": (512,),
        "epochs": 1,
        "batch_size": 256,
        "schedule": "onecycle",
        "adam_lr": 0.01,
        "dropout": 0.0,
        "adam_betas": (0.7, 0.9),
    },
    "keras-convnet": {
        "hidden": (),
        "epochs": 10,
        "batch_size": 64,
        "schedule": "constant",
        "adam_lr": 0.001,
        "dropout": 0.5,
        "adam_betas": (0.9, 0.999),
    },
    "book-cnn": {
        "hidden": (100,),
        "epochs": 10,
        "batch_size": 64,
        "schedule": "constant",
        "adam_lr": 0.001,
        "dropout": 0.5,
        "adam_betas": (0.9, 0.999),
    },
    "bn-cnn": {
        "hidden": (256,),
        "epochs": 10,
        "batch_size": 256,
        "schedule": "onecycle",
        "adam_lr": 0.005,
        "dropout": 0.3,
        "adam_betas": (0.9, 0.999),
    },
}
ARCHITECTURES = tuple(MODEL_DEFAULTS)  # the keys of digitcli.nets.builders.BUILDERS
SCHEDULES = ("cosine", "constant", "onecycle")
AUGMENTS = ("none", "shift", "affine")
ACTIVATIONS = ("relu", "sigmoid", "tanh")
OUTPUTS = ("softmax", "sigmoid")
INITS = ("glorot", "normal", "fan-in")
LOSSES = ("crossentropy", "mse", "quadratic", "binary-crossentropy")
# Outputs: 10 one-hot probabilities, or the digit's 4-bit binary code on 4 sigmoid outputs.
ENCODINGS = ("onehot", "bits")
# train --freeze: layers kept as they are while fine-tuning (none, or every Conv2D layer).
FREEZES = ("none", "convolutions")
LOSS = "crossentropy"
SEED = 0
VALIDATION_SIZE = 10_000
ACTIVATION = "relu"
L2 = 0.0
MOMENTUM = 0.0

# Learning rates when --lr is not given: Keras' own defaults (Adam's comes from MODEL_DEFAULTS).
LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001, "adagrad": 0.001}
OPTIMIZERS = tuple(LEARNING_RATES)

# tf.distribute strategies (digitcli.training.distribute): the first is the default.
STRATEGIES = ("none", "mirrored", "multi-worker")
# Prediction backends: auto takes the ONNX twin when it matches the checkpoint, else Keras.
BACKENDS = ("auto", "onnx", "keras")
# Export formats and the file (or folder) suffix each writes beside the model.
EXPORT_SUFFIXES = {"onnx": ".onnx", "litert": ".tflite", "saved_model": "_saved_model"}
# What training writes beside NAME.keras.
SIDECARS = (".json", ".history.csv", ".onnx")

# Training steps run per call into TensorFlow. Per-step Python overhead dominates the small MNIST
# networks on a CPU; 128 steps per call cut seed001's epoch to about 0.57x (bench/levers.py).
STEPS_PER_EXECUTION = 128
# Images per call when a model is only evaluated or predicts (no gradients): larger than any
# training batch, small enough for any machine's memory.
EVAL_BATCH_SIZE = 1024

# --hidden sizes above this cannot be trained on the machines digitcli is for (a 10^9-unit layer
# crashed TensorFlow at build time).
MAX_LAYER_UNITS = 16_384

MAX_PLOT_DIGITS = 400  # plot --digits draws at most a 40 x 10 grid

FORMATS = ("table", "csv", "json")
PLOTS_DIR = "plots"  # plot -o
PREPARED_DIR = "prepared"  # prepare -o
SERVE_HOST, SERVE_PORT = "127.0.0.1", 8000
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_BODY_BYTES = 8 << 20  # a request body: a phone photo is a few MB, a digit CSV a few kB
# Photos predict-image and prepare read, and the API takes as image/* bodies (Pillow decodes them).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
# A photo on standard input is read whole before Pillow sees it: a 50-megapixel JPEG is about 20 MB.
MAX_STDIN_IMAGE_BYTES = 64 << 20
PLOT_FORMATS = ("png", "svg", "pdf")

# IDX files declare their own size; refuse anything larger before reading it, so a hostile
# or corrupt header (or a gzip bomb) cannot exhaust memory. Full MNIST train images: 47 MB.
MAX_DATA_BYTES = 1 << 30
# Digit CSVs are small; a 10,000-image CSV is about 28 MB.
MAX_CSV_BYTES = 512 << 20


@dataclass(frozen=True)
class TrainSettings:
    model: str = ARCHITECTURE
    hidden: tuple | None = None
    activation: str = ACTIVATION
    dropout: float | None = None  # None: the architecture's default (MODEL_DEFAULTS), as below
    l2: float = L2
    optimizer: str = OPTIMIZER
    lr: float | None = None
    momentum: float = MOMENTUM
    epochs: int | None = None
    batch_size: int | None = None  # None: the architecture's default (MODEL_DEFAULTS)
    loss: str = LOSS
    seed: int = SEED
    validation_size: int = VALIDATION_SIZE
    limit: int | None = None
    output: str = "softmax"
    init: str = "glorot"
    augment: str = "none"
    schedule: str | None = None  # None: the architecture's default
    preset: str | None = None
    adam_betas: tuple | None = None
    label_smoothing: float = 0.0
    init_from: str | None = None  # train --from: a model file whose weights training starts from
    encoding: str = "onehot"
    freeze: str = "none"

    def __post_init__(self):
        if self.label_smoothing and (self.loss != "crossentropy" or self.encoding == "bits"):
            raise UsageProblem(
                "--label-smoothing goes with --loss crossentropy and one-hot outputs", "--label-smoothing"
            )
        if self.encoding == "bits" and self.output != "sigmoid":  # 4 independent bits, not a distribution
            object.__setattr__(self, "output", "sigmoid")
        self._architecture_defaults()

    def _architecture_defaults(self):
        chosen = MODEL_DEFAULTS.get(self.model, MODEL_DEFAULTS[ARCHITECTURE])
        for name in ("epochs", "batch_size", "schedule", "dropout", "adam_betas"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, chosen[name])
        object.__setattr__(self, "adam_betas", tuple(self.adam_betas))

    def learning_rate(self):
        if self.lr is not None:
            return self.lr
        if self.optimizer == "adam":
            return MODEL_DEFAULTS.get(self.model, MODEL_DEFAULTS[ARCHITECTURE])["adam_lr"]
        return LEARNING_RATES[self.optimizer]

    def as_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden) if self.hidden is not None else None
        d["adam_betas"] = list(self.adam_betas)
        d["lr"] = self.learning_rate()
        return d


def _whole(low, high=None):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)

    return check, f"a whole number >= {low}" + (f" and <= {high}" if high is not None else "")


def _real(low, high=None, low_open=False, high_open=False):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        above = v > low if low_open else v >= low
        return above and (high is None or (v < high if high_open else v <= high))

    return check, f"a number in {'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" + (
        ")" if high_open or high is None else "]"
    )


def _one_of(names):
    return (lambda v: v in names), "one of " + ", ".join(names)


def _optional(rule):
    check, words = rule
    return (lambda v: v is None or check(v)), words + " (or null)"


def _sizes(v):
    layer, _ = _whole(1, MAX_LAYER_UNITS)
    return isinstance(v, list) and len(v) <= 64 and all(layer(n) for n in v)


def _betas(v):
    beta, _ = _real(0, 1, high_open=True)
    return isinstance(v, list) and len(v) == 2 and all(beta(b) for b in v)


def _text(v):
    return isinstance(v, str) and len(v) <= 4096


# What a model file's stored settings may hold: the same bounds as train's options. Every reader of
# a .keras file (train --from, evaluate, serve) gets them checked, so a forged file is refused by name.
STORED_SETTINGS = {
    "model": _one_of(ARCHITECTURES),
    "hidden": _optional((_sizes, f"a list of layer sizes from 1 to {MAX_LAYER_UNITS}")),
    "activation": _one_of(ACTIVATIONS),
    "dropout": _optional(_real(0, 1, high_open=True)),
    "l2": _real(0),
    "optimizer": _one_of(OPTIMIZERS),
    "lr": _optional(_real(0, low_open=True)),
    "momentum": _real(0, 1, high_open=True),
    "epochs": _optional(_whole(1)),
    "batch_size": _optional(_whole(1)),
    "loss": _one_of(LOSSES),
    "seed": _whole(0, 2**32 - 1),
    "validation_size": _whole(0),
    "limit": _optional(_whole(1)),
    "output": _one_of(OUTPUTS),
    "init": _one_of(INITS),
    "augment": _one_of(AUGMENTS),
    "schedule": _optional(_one_of(SCHEDULES)),
    "preset": _optional((_text, "a name")),
    "adam_betas": _optional((_betas, "two numbers in [0, 1)")),
    "label_smoothing": _real(0, 1, high_open=True),
    "init_from": _optional((_text, "a file name")),
    "encoding": _one_of(ENCODINGS),
    "freeze": _one_of(FREEZES),
}


def stored_settings_problem(saved):
    """What is wrong with settings read from a model file, in words naming the field, or None."""
    if not isinstance(saved, dict):
        return f"its settings are {type(saved).__name__}, not a table of settings"
    for name, value in saved.items():
        if name in STORED_SETTINGS:
            check, words = STORED_SETTINGS[name]
            if not check(value):
                return f"its stored setting {name} is {str(value)[:60]!r}, not {words}"
    return None


def train_settings(options, preset_settings=None, typed=()):
    """TrainSettings from the defaults, then a preset's settings, then the options the user typed
    (the names in `typed`), which override the preset's."""
    chosen = dict(preset_settings or {})
    for name, value in options.items():
        if name in typed or name not in chosen:
            chosen[name] = value
    return TrainSettings(**chosen)
