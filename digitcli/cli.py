"""Command-line interface: parse options, make one library call per command, print the results.

Nothing heavy is imported at module level: `digitcli --help` must not load TensorFlow, Keras or
matplotlib. Results go to stdout; notes, progress and errors go to stderr.
"""

import os

import click

from digitcli import __version__
from digitcli.cliparams import CONTEXT, DigitcliGroup

# TensorFlow's C++ start-up chatter is noise on the stderr of a command-line tool.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@click.group(cls=DigitcliGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="digitcli")
def cli():
    """Train, evaluate and use neural networks that read handwritten digits (MNIST)."""


def _register():
    from digitcli.commands import models, plot, predict, serve, train

    for module, names in (
        (train, ["train"]),
        (models, ["evaluate", "calibrate", "export", "presets"]),
        (predict, ["predict_csv", "predict_image", "prepare"]),
        (plot, ["plot"]),
        (serve, ["serve"]),
    ):
        for name in names:
            cli.add_command(getattr(module, name))


_register()
