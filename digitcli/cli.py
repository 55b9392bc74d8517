"""Command-line interface: parse options, call the library, print results.

Nothing heavy is imported at module level: `digitcli --help` must not load TensorFlow, Keras or
matplotlib. Results go to stdout; notes, progress and errors go to stderr.
"""

import json
import os
import sys
from pathlib import Path

import click

from digitcli import __version__, defaults
from digitcli.distribute import STRATEGIES
from digitcli.errors import DigitcliError, UsageProblem

ARCHITECTURES = defaults.ARCHITECTURES  # the keys of digitcli.models.BUILDERS (a test keeps them equal)
DISTRIBUTE = STRATEGIES  # digitcli.distribute imports nothing heavy, so the CLI uses its list directly
# TensorFlow's C++ start-up chatter is noise on the stderr of a command-line tool.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CONTEXT = {"show_default": True, "help_option_names": ["-h", "--help"], "max_content_width": 100}


def note(message):
    click.echo(message, err=True)


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
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def resolve_model(value):
    """--model / MODEL / $DIGITCLI_MODEL if given; else models/robust.keras here; else the copy installed
    with the package (share/digitcli/models), so a fresh install predicts without training."""
    if value:
        return Path(value)
    local = Path(defaults.DEFAULT_MODEL_FILE)
    installed = Path(sys.prefix) / "share" / "digitcli" / local
    return installed if not local.exists() and installed.exists() else local


def parse_hidden(ctx, param, value):
    if value is None:
        return None
    try:
        sizes = tuple(int(v) for v in value.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of layer sizes, e.g. 400,100") from None
    if any(s < 1 for s in sizes):
        raise click.BadParameter(f"{value!r}: layer sizes must be positive whole numbers")
    if any(s > defaults.MAX_LAYER_UNITS for s in sizes):
        raise click.BadParameter(f"{value!r}: at most {defaults.MAX_LAYER_UNITS:,} units a layer "
                                 "(larger ones do not fit in memory)")
    return sizes


data_option = click.option(
    "--data", envvar=defaults.ENV_DATA, show_envvar=True, type=click.Path(dir_okay=True),
    help="MNIST folder of IDX files, a Keras .npz, mnist.pkl.gz, or a labelled CSV such as Kaggle's train.csv "
         "(its last tenth is the test set). Unset: Keras' download.",
)
def model_argument(command):
    """MODEL as an argument, or --model as the predict commands take it."""
    command = click.option("--model", "model_option", type=click.Path(), default=None,
                           help=f"Model file, as MODEL.  [default: {defaults.DEFAULT_MODEL_FILE}]")(command)
    return click.argument("model", required=False, envvar=defaults.ENV_MODEL, type=click.Path())(command)


def _model(model, model_option):
    if model and model_option and model != model_option:
        raise click.BadParameter(f"MODEL {model} and --model {model_option} name two models; give one",
                                 param_hint="--model")
    return resolve_model(model_option or model)
backend_option = click.option("--backend", type=click.Choice(["auto", "onnx", "keras"]), default="auto",
                              help="auto: the ONNX export when it matches the checkpoint, else Keras.")


@click.group(cls=DigitcliGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="digitcli")
def cli():
    """Train, evaluate and use neural networks that read handwritten digits (MNIST)."""


def _per_model(key):
    """A per-architecture default for --help: '256 for dense, 64 for cnn, 64 for book-cnn'."""
    return ", ".join(f"{chosen[key]} for {name}" for name, chosen in defaults.MODEL_DEFAULTS.items())


def _preset_names():
    from digitcli.presets import PRESETS

    return list(PRESETS)


@cli.command(context_settings=CONTEXT)
@click.option("--preset", type=click.Choice(_preset_names()), default=None,
              help="Start from a named recipe (see `digitcli presets`); options given here override it.")
@click.option("--model", "architecture", type=click.Choice(ARCHITECTURES), default=defaults.ARCHITECTURE,
              help="Architecture from the model registry.")
@data_option
@click.option("--validation-size", type=click.IntRange(min=0), default=defaults.VALIDATION_SIZE,
              help="Last N training images held out to pick the best epoch.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Train on the first N training images only.")
@click.option("--hidden", callback=parse_hidden, default=None, metavar="N,N,...",
              help="Hidden Dense layer sizes.  [default: 400,100 for dense, none for cnn, 100 for book-cnn]")
@click.option("--activation", type=click.Choice(["relu", "sigmoid", "tanh"]), default=defaults.ACTIVATION)
@click.option("--output", type=click.Choice(["softmax", "sigmoid"]), default="softmax",
              help="Activation of the 10 outputs.")
@click.option("--init", type=click.Choice(["glorot", "normal", "fan-in"]), default="glorot",
              help="Weights: Keras' default, N(0,1), or N(0,1/n_in) (biases N(0,1) for the last two).")
@click.option("--dropout", type=FiniteRange(0, 1, max_open=True), default=None,
              help=f"Dropout before the output layer.  [default: {_per_model('dropout')}]")
@click.option("--l2", type=FiniteRange(min=0), default=defaults.L2,
              help="L2 weight decay: Keras' l in loss + l*sum(w^2).")
@click.option("--optimizer", type=click.Choice(["adam", "sgd", "rmsprop", "adagrad"]), default=defaults.OPTIMIZER)
@click.option("--lr", type=FiniteRange(min=0, min_open=True), default=None,
              help="Learning rate (the starting one with --schedule cosine).  [default: adam "
                   + _per_model("adam_lr") + "; " + ", ".join(f"{name} {rate}" for name, rate in
                                                           defaults.LEARNING_RATES.items() if name != "adam") + "]")
@click.option("--schedule", type=click.Choice(defaults.SCHEDULES), default=None,
              help="cosine: the learning rate decays to 0 over the epochs; constant: it stays at --lr; "
                   "onecycle: it rises to --lr over the first 30% of the steps, then falls to nearly 0.  "
                   f"[default: {_per_model('schedule')}]")
@click.option("--momentum", type=FiniteRange(0, 1, max_open=True), default=defaults.MOMENTUM,
              help="Momentum for sgd and rmsprop.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help=f"[default: {_per_model('epochs')}]")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help=f"Global batch size.  [default: {_per_model('batch_size')}]")
@click.option("--loss", type=click.Choice(["crossentropy", "mse", "quadratic", "binary-crossentropy"]),
              default=defaults.LOSS, help="quadratic and binary-crossentropy are Nielsen's costs, summed over outputs.")
@click.option("--label-smoothing", type=FiniteRange(0, 1, max_open=True), default=0.0,
              help="Train towards 1 - s on the true digit and s/10 spread over all ten (crossentropy only).")
@click.option("--augment", type=click.Choice(defaults.AUGMENTS), default="none",
              help="shift: add each training image moved one pixel in each of 4 directions (the book's); "
                   "affine: distort each image afresh every epoch (rotation up to 15 degrees, shift up to 8%, "
                   "zoom up to 10%), only while training.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=defaults.SEED, help="Same seed and data give the same history.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to write.  [default: models/<preset or model>.keras]")
@click.option("--overwrite", is_flag=True,
              help="Discard an interrupted run's saved progress and start over. An existing --out is never "
                   "replaced: it is kept as NAME.1.keras (.2, ...).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run of the same command.")
@click.option("--onnx/--no-onnx", default=True, help="Also export ONNX for fast prediction.")
@click.option("--distribute", type=click.Choice(DISTRIBUTE), default=DISTRIBUTE[0],
              help="mirrored: all local GPUs (or --replicas CPU devices); multi-worker: the cluster in "
                   "$TF_CONFIG. --batch-size stays the global batch.")
@click.option("--replicas", type=click.IntRange(min=1), default=None,
              help="mirrored only: how many GPUs to use, or how many logical CPU devices when there is "
                   "no GPU (for testing).  [default: every GPU, else 1]")
@click.option("--tensorboard", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write TensorBoard logs here (`tensorboard --logdir DIR`).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def train(ctx, preset, data, out, overwrite, resume, onnx, distribute, replicas, tensorboard, quiet, **options):
    """Train a model on MNIST and save its best checkpoint, metadata and history."""
    from digitcli.data import load_dataset
    from digitcli.training import TrainingInterrupted, TrainSettings
    from digitcli.training import train as run_training

    settings = TrainSettings(**_settings(ctx, preset, options))
    out = Path(out or f"{defaults.MODEL_DIR}/{preset or settings.model}.keras")
    if replicas is not None and distribute != "mirrored":
        raise click.BadParameter("--replicas goes with --distribute mirrored", param_hint="--replicas")
    from digitcli.distribute import role

    role(distribute)  # a broken TF_CONFIG is reported before MNIST is loaded
    if not quiet:
        note(f"loading MNIST from {data or 'the Keras download'}")
    dataset = load_dataset(data, settings.validation_size, settings.limit)
    if not quiet:
        sizes = dataset.sizes()
        what = f"preset {preset} ({settings.model})" if preset else settings.model
        note(f"training {what} on {sizes['train']:,} images, validating on {sizes['validation']:,}")
    verbose = 0 if quiet else (1 if sys.stderr.isatty() else 2)
    try:
        meta = run_training(settings, dataset, out, resume=resume, overwrite=overwrite, verbose=verbose,
                            export_onnx=onnx, note=note, distribute=distribute, replicas=replicas,
                            tensorboard=tensorboard)
    except TrainingInterrupted as exc:
        note(str(exc))
        sys.exit(exc.exit_code)  # 130 for Ctrl-C, 143 for SIGTERM, as shells expect
    acc = meta["test"]["accuracy"]
    epochs = len(meta["history"])
    done = (f"test accuracy {100 * acc:.2f}% after {epochs} epoch{'s' if epochs != 1 else ''} "
            f"(best: epoch {meta['best_epoch']}) in {meta['train_seconds']:.1f} s")
    if meta.get("saved", True):
        click.echo(f"{done}; wrote {', '.join(str(p) for p in _written(out))}")
    else:
        click.echo(f"{done}; {meta['task']} wrote nothing, the chief saves {out}")


def _settings(ctx, preset, options):
    """TrainSettings fields: the defaults, then the preset's, then whatever the user typed."""
    from click.core import ParameterSource

    from digitcli.presets import resolve

    options["model"] = options.pop("architecture")
    chosen = {}
    if preset:
        chosen.update(resolve(preset, options["augment"]))
    for name, value in options.items():
        source = ctx.get_parameter_source("architecture" if name == "model" else name)
        if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT) or name not in chosen:
            chosen[name] = value
    chosen["preset"] = preset
    return chosen


def _written(out):
    from digitcli.modelfile import sidecar

    candidates = [out, sidecar(out, ".json"), sidecar(out, ".history.csv"), sidecar(out, ".onnx")]
    return [p for p in candidates if p.exists()]


@cli.command(context_settings=CONTEXT)
@model_argument
@data_option
@click.option("--format", "fmt", type=AliasChoice(defaults.FORMATS, {"text": "table"}), default="table")
@backend_option
@click.option("--plots", type=click.Path(file_okay=False), default=None,
              help="Also draw the confusion matrix and the misclassified digits into this folder.")
@click.option("--plot-format", type=click.Choice(defaults.PLOT_FORMATS), default="png")
def evaluate(model, model_option, data, fmt, backend, plots, plot_format):
    """Test loss, accuracy, per-class accuracy and confusion matrix of MODEL.

    MODEL defaults to $DIGITCLI_MODEL, else models/robust.keras."""
    from digitcli.data import load_raw
    from digitcli.evaluation import evaluate as run_evaluation
    from digitcli.modelfile import read_metadata
    from digitcli.output import evaluation_rows, evaluation_text, render

    model = _model(model, model_option)
    read_metadata(model)  # a bad model file is reported before MNIST is loaded (or downloaded)
    raw = load_raw(data)
    result, probabilities = run_evaluation(model, raw, backend, note=note)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    elif fmt == "csv":
        click.echo(render(*evaluation_rows(result), "csv"))
    else:
        click.echo(evaluation_text(result))
    if plots:
        from digitcli import plots as drawing

        # With text output the paths are part of the report; json and csv stay parseable.
        for path in drawing.evaluation_plots(result, raw, probabilities, plots, plot_format):
            click.echo(str(path), err=fmt != "table")


@cli.command(context_settings=CONTEXT)
@model_argument
@click.option("--format", "fmt", type=click.Choice(["onnx", "litert", "saved_model"]), default="onnx")
@click.option("-o", "--out", type=click.Path(), default=None, help="[default: beside MODEL: NAME.onnx, NAME.tflite, NAME_saved_model/]")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (a SavedModel folder only if it is one).")
def export(model, model_option, fmt, out, overwrite):
    """Export MODEL for inference without Keras (ONNX is what predict-csv uses).

    An existing --out is refused unless --overwrite is given; the model's own NAME.onnx twin is
    always refreshed."""
    from digitcli.export import export as run_export

    click.echo(str(run_export(_model(model, model_option), fmt, out, overwrite)))


def _echo_accuracy(records, fmt):
    """The closing accuracy line when labels were given: on stdout after a table; beside csv and
    json, on stderr, so that they stay machine-readable."""
    from digitcli.prediction import accuracy

    right, judged = accuracy(records)
    if judged:
        click.echo(f"accuracy: {right} of {judged} correct ({100 * right / judged:.1f}%)", err=fmt != "table")


@cli.command("predict-csv", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="FILE|DIR|GLOB|-...")
@click.option("--model", envvar=defaults.ENV_MODEL, show_envvar=True, type=click.Path(), default=None,
              help=f"Model file.  [default: {defaults.DEFAULT_MODEL_FILE}]")
@click.option("--format", "fmt", type=click.Choice((*defaults.FORMATS, "kaggle")), default="table",
              help="table for people; csv; json (JSON Lines, one record per image); kaggle (the Digit "
                   "Recognizer's submission file: ImageId,Label).")
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="Also list the K most likely digits.")
@click.option("--labels", default=None, metavar="FILE|D,D,...",
              help="True digits: a CSV of file,label or digits in input order; adds correct and accuracy.")
@click.option("--min-confidence", type=FiniteRange(0, 1), default=0.0,
              help="Report predictions less confident than this as '?'.")
@click.option("--invert/--no-invert", default=True, help="Invert images drawn dark on light.")
@click.option("--strict", is_flag=True, help="Stop at the first input that cannot be read.")
@backend_option
def predict_csv(inputs, model, fmt, top_k, labels, min_confidence, invert, strict, backend):
    """Classify 28x28 digits stored as CSV (0 = background, 255 = ink).

    Reads files, folders (every *.csv inside), globs and - (standard input). Exit status: 0 when every
    input was read, 1 when some were rejected (they are listed with an error field), 2 for bad usage."""
    from digitcli import prediction
    from digitcli.output import render
    from digitcli.predictors import load_predictor

    if fmt == "kaggle" and min_confidence:
        raise click.BadParameter("a Kaggle submission needs a digit for every image; drop --min-confidence",
                                 param_hint="--min-confidence")
    batch = prediction.read_inputs(inputs, invert=invert, strict=strict, labels=labels)
    for f in batch.files:
        if f.inverted.any():
            note(f"note: {f.name}: {int(f.inverted.sum())} of {len(f.inverted)} image(s) were dark on light; "
                 "inverted them (--no-invert keeps them as they are)")
    truth = prediction.parse_labels(labels, batch)
    predictor = load_predictor(resolve_model(model), backend, note=note)
    records, _ = prediction.predict(batch, predictor, truth, top_k, min_confidence)
    bad = prediction.rejected(records)
    for record in bad:
        note(f"error: {record['error']}")
    if fmt == "kaggle" and bad:  # a submission needs a digit for every ImageId
        raise click.ClickException(f"{len(bad)} input(s) could not be read, so no Kaggle submission was written "
                                   f"(the first: {bad[0]['error']})")
    click.echo(render(records, prediction.columns(records, top_k), fmt))
    _echo_accuracy(records, fmt)
    if bad:
        note(f"{len(bad)} input(s) rejected")
        sys.exit(1)


@cli.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, type=click.Path(), metavar="[MODEL_OR_HISTORY]...")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="plots", help="Folder for the pictures.")
@click.option("--format", "fmt", type=click.Choice(defaults.PLOT_FORMATS), default="png")
@click.option("--digits", cls=ManyValues, metavar="FILE|DIR|GLOB...",
              help="Draw these digit CSVs with the model's predictions (as many as follow; give MODEL_OR_HISTORY "
                   "files before --digits).")
@click.option("--labels", default=None, metavar="FILE|D,D,...", help="True digits for --digits, as predict-csv.")
@click.option("--samples", is_flag=True, help="Draw training images of each class (needs --data).")
@data_option
@click.option("--model", envvar=defaults.ENV_MODEL, show_envvar=True, type=click.Path(), default=None,
              help=f"Model for --digits when no MODEL is given.  [default: {defaults.DEFAULT_MODEL_FILE}]")
def plot(sources, out_dir, fmt, digits, labels, samples, data, model):
    """Draw training curves from saved models or histories, digits with predictions, and samples.

    With several MODEL_OR_HISTORY files (.keras, .json or .history.csv), their curves share one chart.
    Prints the path of each file written."""
    from digitcli import plots as drawing
    from digitcli.histories import read_history

    out_dir = Path(out_dir)
    written = []
    if sources or not (digits or samples):
        runs = [read_history(s) for s in (sources or [resolve_model(model)])]
        name = runs[0][0] if len(runs) == 1 else "compare"
        written.append(drawing.save(drawing.draw_history(runs), out_dir / f"{name}-history.{fmt}"))
    if digits:
        written.append(_plot_digits(digits, labels, model or (sources[0] if sources and
                                    sources[0].endswith(".keras") else None), out_dir / f"digits.{fmt}"))
    if samples:
        from digitcli.data import load_raw

        raw = load_raw(data)
        written.append(drawing.save(drawing.draw_samples(raw.x_train, raw.y_train), out_dir / f"samples.{fmt}"))
    for path in written:
        click.echo(str(path))


def _plot_digits(inputs, labels, model, path):
    from digitcli import plots as drawing
    from digitcli import prediction
    from digitcli.predictors import load_predictor

    batch = prediction.read_inputs(inputs, strict=True, labels=labels)
    truth = prediction.parse_labels(labels, batch)
    records, _ = prediction.predict(batch, load_predictor(resolve_model(model), note=note), truth)
    images = [image for f in batch.files for image in f.images]
    if len(images) > defaults.MAX_PLOT_DIGITS:  # a bigger grid is unreadable and takes gigabytes to draw
        note(f"note: drawing the first {defaults.MAX_PLOT_DIGITS} of {len(images):,} digits")
        images, records = images[:defaults.MAX_PLOT_DIGITS], records[:defaults.MAX_PLOT_DIGITS]
        truth = truth[:defaults.MAX_PLOT_DIGITS] if truth is not None else None
    titles, wrong = drawing.prediction_titles([r["prediction"] for r in records], [r["confidence"] for r in records],
                                              truth)
    right, judged = prediction.accuracy(records)
    suptitle = f"{right} of {judged} read correctly" if judged else None
    return drawing.save(drawing.draw_digits(images, titles, wrong, suptitle=suptitle), path)


@cli.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(defaults.FORMATS), default="table")
def presets(fmt):
    """List the training presets (`digitcli train --preset NAME`) and what each reproduces."""
    from digitcli.output import render
    from digitcli.presets import PRESETS

    rows = [{"preset": name, "model": p["settings"]["model"], "epochs": p["settings"]["epochs"],
             "target": p["target"], "reproduces": p["reference"], "recipe": p["about"]}
            for name, p in PRESETS.items()]
    if fmt == "table":
        for row in rows:
            click.echo(f"{row['preset']:14s} {row['recipe']}\n{'':14s} expect {row['reproduces']}; "
                       f"this project's target {100 * row['target']:.1f}%")
        return
    click.echo(render(rows, list(rows[0]), fmt))


def count_option(command):
    """--count N: how many digits each image holds. `--digits N`, its old name (plot's --digits
    names files), still works for a release, with a note."""
    command = click.option("--count", "count", type=click.IntRange(1, 40), default=None,
                           help="How many digits each image holds, when known.  [default: found by segmentation]")(command)
    return click.option("--digits", "old_count", type=click.IntRange(1, 40), default=None, hidden=True)(command)


def _count(count, old_count):
    if old_count is not None:
        note("note: --digits N is now --count N for prepare and predict-image; the old spelling goes in a later release")
        return count if count is not None else old_count
    return count


@cli.command(context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@click.option("-o", "--out", default="prepared", type=click.Path(),
              help="A folder (one 28x28 CSV per digit) or a FILE.csv (one row of 784 per digit).")
@count_option
@click.option("--show", is_flag=True, help="Also write NAME-prepared.png: the photo and the digits found.")
@click.option("--strict", is_flag=True, help="Stop at the first image that cannot be read.")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist (else nothing is written).")
def prepare(images, out, count, old_count, show, strict, overwrite):
    """Turn photos or scans of handwritten digits into MNIST-style 28x28 CSVs (the seed's format).

    Each image is cleaned of uneven light, split into digits left to right, and each digit is
    cropped, scaled to 20 pixels and centred by its centre of mass, as MNIST was made. Prints the
    path of each file written."""
    from digitcli import photos

    prepared, errors, _ = photos.read_images(images, _count(count, old_count), strict)
    for name, message in errors:
        note(f"error: {message}")
    written = photos.write_prepared(prepared, out, show, overwrite)
    for path in written:
        click.echo(str(path))
    if errors:
        note(f"{len(errors)} image(s) rejected")
        sys.exit(1)


@cli.command("predict-image", context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@click.option("--model", envvar=defaults.ENV_MODEL, show_envvar=True, type=click.Path(), default=None,
              help=f"Model file.  [default: {defaults.DEFAULT_MODEL_FILE}]")
@click.option("--format", "fmt", type=click.Choice(defaults.FORMATS), default="table")
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="Also list each digit's K most likely readings.")
@click.option("--labels", default=None, metavar="FILE|N,N,...",
              help="True numbers: a CSV of file,label or numbers in input order; adds correct and accuracy.")
@click.option("--min-confidence", type=FiniteRange(0, 1), default=0.0,
              help="Digits read less confidently than this show as '?'.")
@count_option
@click.option("--strict", is_flag=True, help="Stop at the first image that cannot be read.")
@backend_option
def predict_image(images, model, fmt, top_k, labels, min_confidence, count, old_count, strict, backend):
    """Read handwritten digits, or whole numbers, from photos and scans (PNG, JPEG, BMP, TIFF).

    `prediction` is the digits read, left to right; `confidence` the lowest of their confidences."""
    from digitcli import photos
    from digitcli.output import render
    from digitcli.predictors import load_predictor

    prepared, errors, order = photos.read_images(images, _count(count, old_count), strict)
    for name, message in errors:
        note(f"error: {message}")
    truth = photos.parse_labels(labels, prepared, order)
    predictor = load_predictor(resolve_model(model), backend, note=note)
    recs = photos.records(prepared, errors, order, predictor, truth, top_k, min_confidence)
    click.echo(render(recs, photos.columns(recs, top_k), fmt))
    _echo_accuracy(recs, fmt)
    if errors:
        note(f"{len(errors)} image(s) rejected")
        sys.exit(1)
