"""The command line's building blocks: the error-translating group, parameter types, and the options
several commands share. Choice lists and defaults come from settings.py. Nothing heavy is imported."""

import contextlib
import errno
import math
import os
import sys

import click

from digitcli import settings
from digitcli.errors import DigitcliError, UsageProblem
from digitcli.fileio import explain_os_error

CONTEXT = {"show_default": True, "help_option_names": ["-h", "--help"], "max_content_width": 100}


def note(message):
    click.echo(message, err=True)


def terminal_progress(items, label, sizes=None):
    """A progress bar on stderr over `items`, only when stderr is a terminal and there are several:
    pipelines and logs get none. With `sizes` (images per item) it counts images, not items."""
    items = list(items)
    if len(items) < 2 or not sys.stderr.isatty():
        return contextlib.nullcontext(items)
    if sizes is None:
        return click.progressbar(items, label=label, file=sys.stderr, show_pos=True)
    return _counting(items, list(sizes), label)


@contextlib.contextmanager
def _counting(items, sizes, label):
    with click.progressbar(length=sum(sizes), label=label, file=sys.stderr, show_pos=True) as bar:

        def each():
            for item, size in zip(items, sizes):
                yield item
                bar.update(size)  # once the item is done

        yield each()


def echo_accuracy(records, fmt):
    """The closing accuracy line when labels were given: on stdout after a table; beside csv and
    json, on stderr, so that they stay machine-readable."""
    from digitcli.reading.records import accuracy

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
        except OSError as exc:
            # The system refusing a named path (a name too long, a full disk) is the
            # environment, not a bug; any other OSError still reaches the last line of defence.
            if exc.filename is None or exc.errno not in ENVIRONMENT_ERRNOS:
                raise _unexpected(exc) from None
            raise click.ClickException(str(explain_os_error(exc.filename, exc))) from None
        except MemoryError:
            raise click.ClickException(
                "out of memory; use smaller inputs, a smaller --batch-size or smaller --hidden layers"
            ) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence described above
            raise _unexpected(exc) from None


# Only errors whose words fit a read and a write alike (explain_os_error's permission words are a write's).
ENVIRONMENT_ERRNOS = {errno.ENAMETOOLONG, errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def _unexpected(exc):
    """The one line a bug gets; with DIGITCLI_DEBUG set, the exception itself, traceback and all."""
    if os.environ.get("DIGITCLI_DEBUG"):
        return exc
    what = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return click.ClickException(
        f"unexpected {type(exc).__name__}: {what} (a bug in digitcli: "
        "rerun with DIGITCLI_DEBUG=1 for the details and report them)"
    )


class AliasChoice(click.Choice):
    """click.Choice that still takes an old spelling for a release, with a note on stderr; --help and
    completion show only the current ones."""

    def __init__(self, choices, aliases):
        super().__init__(choices)
        self.aliases = aliases

    def convert(self, value, param, ctx):
        if value in self.aliases:
            new = self.aliases[value]
            note(
                f"note: {param.opts[0] if param else ''} {value} is now {new}; the old spelling goes in a later release"
            )
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
        raise click.BadParameter(
            f"{value!r}: at most {settings.MAX_LAYER_UNITS:,} units a layer (larger ones do not fit in memory)"
        )
    return sizes


DATA_KINDS = "MNIST folder of IDX files, a Keras .npz, mnist.pkl.gz, or a labelled CSV such as Kaggle's train.csv"


def data_option_with(help):
    return click.option("--data", envvar=settings.ENV_DATA, show_envvar=True, type=click.Path(dir_okay=True), help=help)


data_option = data_option_with(f"{DATA_KINDS} (its last tenth is the test set). Unset: Keras' download.")
allow_nondigits_option = click.option(
    "--allow-nondigits",
    is_flag=True,
    help="Read every image as a digit, even a dot, a dash or a scribble (else they read as '-' with a reason).",
)
backend_option = click.option(
    "--backend",
    type=click.Choice(settings.BACKENDS),
    default=settings.BACKENDS[0],
    help="auto: the ONNX export when it matches the checkpoint, else Keras.",
)


class ModelPath(click.Path):
    """A model's path; an empty one (`--model ''`, an unset shell variable) is refused, not read as
    "the default model", which would answer with a model the user did not mean."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path; give a .keras file, or leave the option out for the default model", param, ctx)
        return super().convert(value, param, ctx)


def model_option(help_text="Model file."):
    return click.option(
        "--model",
        envvar=settings.ENV_MODEL,
        show_envvar=True,
        type=ModelPath(),
        default=None,
        help=f"{help_text}  [default: {settings.DEFAULT_MODEL_FILE}]",
    )


def models_option(help_text="Model file; give --model again for an ensemble (probabilities averaged)."):
    return click.option(
        "--model",
        "models",
        envvar=settings.ENV_MODEL,
        show_envvar=True,
        type=ModelPath(),
        multiple=True,
        help=f"{help_text}  [default: {settings.DEFAULT_MODEL_FILE}]",
    )


def model_paths(models):
    """The paths of --model given once or more (or the default model)."""
    from digitcli.inference.modelfile import locate

    return [locate(m) for m in models] or [locate(None)]


def model_argument(command, many=False):
    """MODEL as an argument, or --model as the predict commands take it."""
    command = click.option(
        "--model",
        "model_option",
        type=ModelPath(),
        default=None,
        multiple=many,
        help=f"Model file, as MODEL.  [default: {settings.DEFAULT_MODEL_FILE}]",
    )(command)
    return click.argument(
        "model", required=False, nargs=-1 if many else 1, envvar=settings.ENV_MODEL, type=ModelPath()
    )(command)


def many_models(command):
    return model_argument(command, many=True)


def one_model(model, model_option):
    """The model path that MODEL or --model names (they may not name two)."""
    from digitcli.inference.modelfile import locate

    if model and model_option and model != model_option:
        raise click.BadParameter(
            f"MODEL {model} and --model {model_option} name two models; give one", param_hint="--model"
        )
    return locate(model_option or model)


def count_option(command):
    """--count N: how many digits each image holds. `--digits N`, its old name (plot's --digits
    names files), still works for a release, with a note."""
    command = click.option(
        "--count",
        "count",
        type=click.IntRange(1, 40),
        default=None,
        help="How many digits each image holds, when known.  [default: found by segmentation]",
    )(command)
    return click.option("--digits", "old_count", type=click.IntRange(1, 40), default=None, hidden=True)(command)


def digit_count(count, old_count):
    if old_count is not None:
        note(
            "note: --digits N is now --count N for prepare and predict-image; the old spelling goes in a later release"
        )
        return count if count is not None else old_count
    return count


def typed_options(ctx, names):
    """The option names whose value the user gave (on the command line or through the environment)."""
    from click.core import ParameterSource

    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return {name for name in names if ctx.get_parameter_source(name) in given}
