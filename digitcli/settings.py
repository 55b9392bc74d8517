"""Every choice list and default, and the training settings they make up: one place, so --help, the
code and the README agree. Imports nothing heavy (the CLI's --help reads it)."""

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
#   zero (98% test accuracy at epoch 5, 10.4 s; README, Results). The seed's own batch-64
#   constant-rate recipe is the seed001 preset.
# - cnn is a small fast convnet trained by the one-cycle recipe of tuomaso/train_mnist_fast: batch
#   256, Adam with beta_1 0.7 and beta_2 0.9, the rate rising to 0.01 and annealed to nearly 0 over
#   a short run (README, Results).
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

# --hidden sizes above this cannot be trained on the machines digitcli is for (a 10^9-unit layer
# crashed TensorFlow at build time).
MAX_LAYER_UNITS = 16_384

MAX_PLOT_DIGITS = 400  # plot --digits draws at most a 40 x 10 grid

FORMATS = ("table", "csv", "json")
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


def train_settings(options, preset_settings=None, typed=()):
    """TrainSettings from the defaults, then a preset's settings, then the options the user typed
    (the names in `typed`), which override the preset's."""
    chosen = dict(preset_settings or {})
    for name, value in options.items():
        if name in typed or name not in chosen:
            chosen[name] = value
    return TrainSettings(**chosen)
