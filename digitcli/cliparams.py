"""The command line's building blocks: the error-translating group, parameter types, and the options
several commands share. Choice lists and defaults come from settings.py. Nothing heavy is imported."""

import contextlib
import math
import os
import sys

import click

from digitcli import settings
from digitcli.errors import DigitcliError, UsageProblem

CONTEXT = {"show_default": True, "help_option_names": ["-h", "--help"], "max_content_width": 100}


def note(message):
    click.echo(message, err=True)


def terminal_progress(items, label):
    """A progress bar on stderr over `items`, only when stderr is a terminal and there are several:
    pipelines and logs get none."""
    items = list(items)
    if len(items) < 2 or not sys.stderr.isatty():
        return contextlib.nullcontext(items)
    return click.progressbar(items, label=label, file=sys.stderr, show_pos=True)


def echo_accuracy(records, fmt):
    """The closing accuracy line when labels were given: on stdout after a table; beside csv and
    json, on stderr, so that they stay machine-readable."""
    from digitcli.data.inputs import accuracy

    right, judged = accuracy(records)
    if judged:
        click.echo(f"accuracy: {right} of {judged} correct ({100 * right / judged:.1f}%)", err=fmt != "table")


class DigitcliGroup(click.Group):
    """Turns domain errors into Click's: exit 2 for bad option values, 1 for everything else.

    Anything unforeseen still reaches the user as one line, not a traceback; DIGITCLI_DEBUG=1 shows
    the traceback for a bug report."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageProblem as exc:
            raise click.BadParameter(str(exc), param_hint=exc.param_hint) from None
        except DigitcliError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except MemoryError:
            raise click.ClickException("out of memory; use smaller inputs, a smaller --batch-size or "
                                       "smaller --hidden layers") from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence described above
            if os.environ.get("DIGITCLI_DEBUG"):
                raise
            what = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise click.ClickException(f"unexpected {type(exc).__name__}: {what} (a bug in digitcli: "
                                       "rerun with DIGITCLI_DEBUG=1 for the details and report them)") from None


class AliasChoice(click.Choice):
    """click.Choice that still takes an old spelling for a release, with a note on stderr; --help and
    completion show only the current ones."""

    def __init__(self, choices, aliases):
        super().__init__(choices)
        self.aliases = aliases

    def convert(self, value, param, ctx):
        if value in self.aliases:
            new = self.aliases[value]
            note(f"note: {param.opts[0] if param else ''} {value} is now {new}; the old spelling goes in a later release")
            value = new
        return super().convert(value, param, ctx)


class ManyValues(click.Option):
    """An option that takes every value up to the next option, so `--digits sample_digits/*.csv`
    gets all the files the shell's glob expands to (Click's own options take one value each)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, multiple=True, **kwargs)

    def add_to_parser(self, parser, ctx):
        result = super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            one = option.process

            def process(value, state, one=one):
                one(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    one(state.rargs.pop(0), state)

            option.process = process
        return result


class FiniteRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf, which compare False with every bound and so
    slip through it (--lr nan trained a 9.8% model)."""

    name = "float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def parse_hidden(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of layer sizes, e.g. 400,100") from None
    if any(s < 1 for s in sizes):
        raise click.BadParameter(f"{value!r}: layer sizes must be positive whole numbers")
    if any(s > settings.MAX_LAYER_UNITS for s in sizes):
        raise click.BadParameter(f"{value!r}: at most {settings.MAX_LAYER_UNITS:,} units a layer "
                                 "(larger ones do not fit in memory)")
    return sizes


data_option = click.option(
    "--data", envvar=settings.ENV_DATA, show_envvar=True, type=click.Path(dir_okay=True),
    help="MNIST folder of IDX files, a Keras .npz, mnist.pkl.gz, or a labelled CSV such as Kaggle's train.csv "
         "(its last tenth is the test set). Unset: Keras' download.",
)
backend_option = click.option("--backend", type=click.Choice(settings.BACKENDS), default=settings.BACKENDS[0],
                              help="auto: the ONNX export when it matches the checkpoint, else Keras.")


def model_option(help_text="Model file."):
    return click.option("--model", envvar=settings.ENV_MODEL, show_envvar=True, type=click.Path(), default=None,
                        help=f"{help_text}  [default: {settings.DEFAULT_MODEL_FILE}]")


def model_argument(command):
    """MODEL as an argument, or --model as the predict commands take it."""
    command = click.option("--model", "model_option", type=click.Path(), default=None,
                           help=f"Model file, as MODEL.  [default: {settings.DEFAULT_MODEL_FILE}]")(command)
    return click.argument("model", required=False, envvar=settings.ENV_MODEL, type=click.Path())(command)


def one_model(model, model_option):
    """The model path that MODEL or --model names (they may not name two)."""
    from digitcli.inference.modelfile import locate

    if model and model_option and model != model_option:
        raise click.BadParameter(f"MODEL {model} and --model {model_option} name two models; give one",
                                 param_hint="--model")
    return locate(model_option or model)


def count_option(command):
    """--count N: how many digits each image holds. `--digits N`, its old name (plot's --digits
    names files), still works for a release, with a note."""
    command = click.option("--count", "count", type=click.IntRange(1, 40), default=None,
                           help="How many digits each image holds, when known.  [default: found by segmentation]")(command)
    return click.option("--digits", "old_count", type=click.IntRange(1, 40), default=None, hidden=True)(command)


def digit_count(count, old_count):
    if old_count is not None:
        note("note: --digits N is now --count N for prepare and predict-image; the old spelling goes in a later release")
        return count if count is not None else old_count
    return count


def per_model(key):
    """A per-architecture default for --help: '256 for dense, 64 for cnn, 64 for book-cnn'."""
    return ", ".join(f"{chosen[key]} for {name}" for name, chosen in settings.MODEL_DEFAULTS.items())


def preset_names():
    from digitcli.nets.presets import PRESETS

    return list(PRESETS)


_TRAIN_OPTIONS = [
    click.option("--preset", type=click.Choice(preset_names()), default=None,
                 help="Start from a named recipe (see `digitcli presets`); options given here override it."),
    click.option("--model", "architecture", type=click.Choice(settings.ARCHITECTURES), default=settings.ARCHITECTURE,
                 help="Architecture from the model registry."),
    data_option,
    click.option("--test-data", type=click.Path(), default=None, metavar="DATA",
                 help="Test on this labelled data instead (a CSV, a folder of digit CSVs with a labels file, or "
                      "MNIST); a labelled --data then trains on all of its images."),
    click.option("--from", "from_model", type=click.Path(dir_okay=False), default=None, metavar="MODEL",
                 help="Fine-tune: start from this model's weights, with its architecture and settings "
                      "(options given here override them)."),
    click.option("--mix", type=click.Path(), default=None, metavar="DATA",
                 help="Also train on this data's training images (MNIST, say, so fine-tuning does not forget it); "
                      "--data's images are repeated to make up at least half of each epoch."),
    click.option("--mix-size", type=click.IntRange(min=1), default=10_000, help="How many --mix images to add."),
    click.option("--validation-size", type=click.IntRange(min=0), default=settings.VALIDATION_SIZE,
                 help="Last N training images held out to pick the best epoch.  [default: 10000, or a tenth of "
                      "a set under 20,000 images]"),
    click.option("--limit", type=click.IntRange(min=1), default=None, help="Train on the first N training images only."),
    click.option("--hidden", callback=parse_hidden, default=None, metavar="N,N,...",
                 help="Hidden Dense layer sizes.  [default: 400,100 for dense, none for cnn, 100 for book-cnn]"),
    click.option("--activation", type=click.Choice(settings.ACTIVATIONS), default=settings.ACTIVATION),
    click.option("--output", type=click.Choice(settings.OUTPUTS), default=settings.OUTPUTS[0],
                 help="Activation of the 10 outputs."),
    click.option("--init", type=click.Choice(settings.INITS), default=settings.INITS[0],
                 help="Weights: Keras' default, N(0,1), or N(0,1/n_in) (biases N(0,1) for the last two)."),
    click.option("--dropout", type=FiniteRange(0, 1, max_open=True), default=None,
                 help=f"Dropout before the output layer.  [default: {per_model('dropout')}]"),
    click.option("--l2", type=FiniteRange(min=0), default=settings.L2,
                 help="L2 weight decay: Keras' l in loss + l*sum(w^2)."),
    click.option("--optimizer", type=click.Choice(settings.OPTIMIZERS), default=settings.OPTIMIZER),
    click.option("--lr", type=FiniteRange(min=0, min_open=True), default=None,
                 help="Learning rate (the starting one with --schedule cosine).  [default: adam "
                      + per_model("adam_lr") + "; " + ", ".join(f"{name} {rate}" for name, rate in
                                                               settings.LEARNING_RATES.items() if name != "adam") + "]"),
    click.option("--schedule", type=click.Choice(settings.SCHEDULES), default=None,
                 help="cosine: the learning rate decays to 0 over the epochs; constant: it stays at --lr; "
                      "onecycle: it rises to --lr over the first 30% of the steps, then falls to nearly 0.  "
                      f"[default: {per_model('schedule')}]"),
    click.option("--momentum", type=FiniteRange(0, 1, max_open=True), default=settings.MOMENTUM,
                 help="Momentum for sgd and rmsprop."),
    click.option("--epochs", type=click.IntRange(min=1), default=None, help=f"[default: {per_model('epochs')}]"),
    click.option("--batch-size", type=click.IntRange(min=1), default=None,
                 help=f"Global batch size.  [default: {per_model('batch_size')}]"),
    click.option("--loss", type=click.Choice(settings.LOSSES), default=settings.LOSS,
                 help="quadratic and binary-crossentropy are Nielsen's costs, summed over outputs."),
    click.option("--label-smoothing", type=FiniteRange(0, 1, max_open=True), default=0.0,
                 help="Train towards 1 - s on the true digit and s/10 spread over all ten (crossentropy only)."),
    click.option("--augment", type=click.Choice(settings.AUGMENTS), default=settings.AUGMENTS[0],
                 help="shift: add each training image moved one pixel in each of 4 directions (the book's); "
                      "affine: distort each image afresh every epoch (rotation up to 15 degrees, shift up to 8%, "
                      "zoom up to 10%), only while training."),
    click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=settings.SEED,
                 help="Same seed and data give the same history."),
    click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
                 help="Checkpoint to write.  [default: models/<preset or model>.keras]"),
    click.option("--overwrite", is_flag=True,
                 help="Discard an interrupted run's saved progress and start over. An existing --out is never "
                      "replaced: it is kept as NAME.1.keras (.2, ...)."),
    click.option("--resume", is_flag=True, help="Continue an interrupted run of the same command."),
    click.option("--onnx/--no-onnx", default=True, help="Also export ONNX for fast prediction."),
    click.option("--distribute", type=click.Choice(settings.STRATEGIES), default=settings.STRATEGIES[0],
                 help="mirrored: all local GPUs (or --replicas CPU devices); multi-worker: the cluster in "
                      "$TF_CONFIG. --batch-size stays the global batch."),
    click.option("--replicas", type=click.IntRange(min=1), default=None,
                 help="mirrored only: how many GPUs to use, or how many logical CPU devices when there is "
                      "no GPU (for testing).  [default: every GPU, else 1]"),
    click.option("--tensorboard", type=click.Path(file_okay=False), default=None, metavar="DIR",
                 help="Also write TensorBoard logs here (`tensorboard --logdir DIR`)."),
    click.option("-q", "--quiet", is_flag=True, help="No progress output."),
]


def train_options(command):
    """Every option of `train`, in --help order."""
    for option in reversed(_TRAIN_OPTIONS):
        command = option(command)
    return command


def typed_options(ctx, names):
    """The option names whose value the user gave (on the command line or through the environment)."""
    from click.core import ParameterSource

    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {name for name in names
            if ctx.get_parameter_source("architecture" if name == "model" else name) in given}
