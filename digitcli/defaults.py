"""Every default the CLI shows lives here, so --help, the code and the README agree."""

ENV_DATA = "DIGITCLI_DATA"
ENV_MODEL = "DIGITCLI_MODEL"

MODEL_DIR = "models"
DEFAULT_MODEL_FILE = "models/dense.keras"

ARCHITECTURE = "dense"
OPTIMIZER = "adam"
EPOCHS = 10
# Batch size, schedule and Adam's starting rate depend on the architecture. dense is tuned for time
# to accuracy on a 2-core CPU: batch 256, Adam from 0.002, cosine decay to zero (98% test accuracy
# at epoch 5, 10.4 s; README, Results). The same recipe gave cnn 98.95% after 10 epochs against
# 99.12% with batch 64 at Adam's constant 0.001, so the CNNs keep that. The seed's own batch-64
# constant-rate dense recipe is the seed001 preset.
MODEL_DEFAULTS = {
    "dense": {"batch_size": 256, "schedule": "cosine", "adam_lr": 0.002},
    "cnn": {"batch_size": 64, "schedule": "constant", "adam_lr": 0.001},
    "book-cnn": {"batch_size": 64, "schedule": "constant", "adam_lr": 0.001},
}
LOSS = "crossentropy"
SEED = 0
VALIDATION_SIZE = 10_000
ACTIVATION = "relu"
DROPOUT = 0.5
L2 = 0.0
MOMENTUM = 0.0

# Learning rates when --lr is not given: Keras' own defaults (Adam's comes from MODEL_DEFAULTS).
LEARNING_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001, "adagrad": 0.001}

# Training steps run per call into TensorFlow. Per-step Python overhead dominates the small MNIST
# networks on a CPU; 128 steps per call cut seed001's epoch to about 0.57x (bench/levers.py).
STEPS_PER_EXECUTION = 128

FORMATS = ("table", "csv", "json")
PLOT_FORMATS = ("png", "svg", "pdf")

# IDX files declare their own size; refuse anything larger before reading it, so a hostile
# or corrupt header (or a gzip bomb) cannot exhaust memory. Full MNIST train images: 47 MB.
MAX_DATA_BYTES = 1 << 30
# Digit CSVs are small; a 10,000-image CSV is about 28 MB.
MAX_CSV_BYTES = 512 << 20
