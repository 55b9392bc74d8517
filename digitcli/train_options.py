"""The options of `digitcli train`, in --help order, with their choices and defaults from settings.py."""

import click

from digitcli import settings
from digitcli.cliparams import FiniteRange, data_option, parse_hidden


def per_model(key):
    """A per-architecture default for --help: '256 for dense, 64 for cnn, 64 for book-cnn'."""

    def shown(value):  # layer sizes as --hidden takes them; "none" for no hidden layer
        return (",".join(map(str, value)) or "none") if isinstance(value, tuple) else value

    return ", ".join(f"{shown(chosen[key])} for {name}" for name, chosen in settings.MODEL_DEFAULTS.items())


def preset_names():
    from digitcli.nets.presets import PRESETS

    return list(PRESETS)


_TRAIN_OPTIONS = [
    click.option(
        "--preset",
        type=click.Choice(preset_names()),
        default=None,
        help="Start from a named recipe (see `digitcli presets`); options given here override it.",
    ),
    click.option(
        "--model",
        type=click.Choice(settings.ARCHITECTURES),
        default=settings.ARCHITECTURE,
        help="Architecture from the model registry.",
    ),
    data_option,
    click.option(
        "--test-data",
        type=click.Path(),
        default=None,
        metavar="DATA",
        help="Test on this labelled data instead (a CSV, a folder of digit CSVs with a labels file, or "
        "MNIST); a labelled --data then trains on all of its images.",
    ),
    click.option(
        "--from",
        "from_model",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="MODEL",
        help="Fine-tune: start from this model's weights, with its architecture and settings "
        "(options given here override them). On a set of your own under 2,000 images it trains 1 epoch "
        "at --lr 0.001 with --freeze convolutions, unless given.",
    ),
    click.option(
        "--freeze",
        type=click.Choice(settings.FREEZES),
        default=settings.FREEZES[0],
        help="convolutions: keep the convolution layers' weights as they are and train the rest (fine-tuning "
        "with --from).",
    ),
    click.option(
        "--mix",
        type=click.Path(),
        default=None,
        metavar="DATA",
        help="Also train on this data's training images (MNIST, say, so fine-tuning does not forget it); "
        "--data's images are repeated to make up at least half of each epoch.",
    ),
    click.option("--mix-size", type=click.IntRange(min=1), default=10_000, help="How many --mix images to add."),
    click.option(
        "--runs",
        type=click.IntRange(1, 100),
        default=1,
        help="Train N independent runs, seeds --seed ... --seed+N-1, into NAME.run1.keras ...; prints "
        "each run's test accuracy, then their mean and standard deviation.",
    ),
    click.option(
        "--watch",
        type=click.Path(),
        default=None,
        metavar="FILE|DIR|GLOB",
        help="Also score these labelled digits (anything predict-csv reads) after every epoch: the "
        "history's watch_accuracy and watch_loss, which `plot` draws.",
    ),
    click.option(
        "--watch-labels", default=None, metavar="FILE|D,D,...", help="Labels for --watch, as predict-csv's --labels."
    ),
    click.option(
        "--validation-size",
        type=click.IntRange(min=0),
        default=settings.VALIDATION_SIZE,
        show_default=False,  # the default depends on the data's size: the help says how
        help="Last N training images held out to pick the best epoch.  [default: 10000, or a tenth of "
        "a set under 20,000 images]",
    ),
    click.option(
        "--limit", type=click.IntRange(min=1), default=None, help="Train on the first N training images only."
    ),
    click.option(
        "--hidden",
        callback=parse_hidden,
        default=None,
        metavar="N,N,...",
        help=f"Hidden Dense layer sizes.  [default: {per_model('hidden')}]",
    ),
    click.option("--activation", type=click.Choice(settings.ACTIVATIONS), default=settings.ACTIVATION),
    click.option(
        "--output",
        type=click.Choice(settings.OUTPUTS),
        default=settings.OUTPUTS[0],
        help="Activation of the 10 outputs.",
    ),
    click.option(
        "--init",
        type=click.Choice(settings.INITS),
        default=settings.INITS[0],
        help="Weights: Keras' default, N(0,1), or N(0,1/n_in) (biases N(0,1) for the last two).",
    ),
    click.option(
        "--dropout",
        type=FiniteRange(0, 1, max_open=True),
        default=None,
        help=f"Dropout before the output layer.  [default: {per_model('dropout')}]",
    ),
    click.option(
        "--l2", type=FiniteRange(min=0), default=settings.L2, help="L2 weight decay: Keras' l in loss + l*sum(w^2)."
    ),
    click.option("--optimizer", type=click.Choice(settings.OPTIMIZERS), default=settings.OPTIMIZER),
    click.option(
        "--lr",
        type=FiniteRange(min=0, min_open=True),
        default=None,
        help="Learning rate (the starting one with --schedule cosine).  [default: adam "
        + per_model("adam_lr")
        + "; "
        + ", ".join(f"{name} {rate}" for name, rate in settings.LEARNING_RATES.items() if name != "adam")
        + "]",
    ),
    click.option(
        "--schedule",
        type=click.Choice(settings.SCHEDULES),
        default=None,
        help="cosine: the learning rate decays to 0 over the epochs; constant: it stays at --lr; "
        "onecycle: it rises to --lr over the first 30% of the steps, then falls to nearly 0.  "
        f"[default: {per_model('schedule')}]",
    ),
    click.option(
        "--momentum",
        type=FiniteRange(0, 1, max_open=True),
        default=settings.MOMENTUM,
        help="Momentum for sgd and rmsprop.",
    ),
    click.option("--epochs", type=click.IntRange(min=1), default=None, help=f"[default: {per_model('epochs')}]"),
    click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        default=None,
        help=f"Global batch size.  [default: {per_model('batch_size')}]",
    ),
    click.option(
        "--loss",
        type=click.Choice(settings.LOSSES),
        default=settings.LOSS,
        help="quadratic and binary-crossentropy are Nielsen's costs, summed over outputs.",
    ),
    click.option(
        "--encoding",
        type=click.Choice(settings.ENCODINGS),
        default=settings.ENCODINGS[0],
        help="onehot: 10 outputs, one per digit; bits: 4 sigmoid outputs holding the digit's binary code "
        "(Nielsen, ch. 1), trained per output and decoded to the nearest valid digit.",
    ),
    click.option(
        "--label-smoothing",
        type=FiniteRange(0, 1, max_open=True),
        default=0.0,
        help="Train towards 1 - s on the true digit and s/10 spread over all ten (crossentropy only).",
    ),
    click.option(
        "--augment",
        type=click.Choice(settings.AUGMENTS),
        default=settings.AUGMENTS[0],
        help="shift: add each training image moved one pixel in each of 4 directions (the book's); "
        "affine: distort each image afresh every epoch (rotation up to 15 degrees, shift up to 8%, "
        "zoom up to 10%), only while training.",
    ),
    click.option(
        "--seed",
        type=click.IntRange(0, 2**32 - 1),
        default=settings.SEED,
        help="Same seed and data give the same history.",
    ),
    click.option(
        "-o",
        "--out",
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Checkpoint to write.  [default: {settings.RUNS_DIR}/<preset or model>.keras, in the current folder]",
    ),
    click.option(
        "--restart",
        is_flag=True,
        help="Discard an interrupted run's saved progress and start over. An existing --out is kept, "
        "as NAME.1.keras (.2, ...: every earlier model, until you delete them, e.g. rm NAME.[0-9]*.*).",
    ),
    click.option(
        "--overwrite",
        is_flag=True,
        help="Replace an existing --out and its .json, .history.csv and .onnx, keeping no copy (and "
        "discard an interrupted run's progress).",
    ),
    click.option("--resume", is_flag=True, help="Continue an interrupted run of the same command."),
    click.option("--onnx/--no-onnx", default=True, help="Also export ONNX for fast prediction."),
    click.option(
        "--distribute",
        type=click.Choice(settings.STRATEGIES),
        default=settings.STRATEGIES[0],
        help="mirrored: all local GPUs (or --replicas CPU devices); multi-worker: the cluster in "
        "$TF_CONFIG. --batch-size stays the global batch.",
    ),
    click.option(
        "--replicas",
        type=click.IntRange(min=1),
        default=None,
        help="mirrored only: how many GPUs to use, or how many logical CPU devices when there is "
        "no GPU (for testing).  [default: every GPU, else 1]",
    ),
    click.option(
        "--tensorboard",
        type=click.Path(file_okay=False),
        default=None,
        metavar="DIR",
        help="Also write TensorBoard logs here (`tensorboard --logdir DIR`).",
    ),
    click.option("-q", "--quiet", is_flag=True, help="No progress output."),
]


def train_options(command):
    """Every option of `train`, in --help order."""
    for option in reversed(_TRAIN_OPTIONS):
        command = option(command)
    return command
