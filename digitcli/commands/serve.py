"""`digitcli serve`: the draw page and the HTTP API."""

import click

from digitcli import settings
from digitcli.cliparams import (
    CONTEXT,
    backend_option,
    model_option,
    note,
)


@click.command(context_settings=CONTEXT)
@model_option()
@click.option("--host", default=settings.SERVE_HOST, help="Address to listen on; 0.0.0.0 lets other machines in.")
@click.option("--port", type=click.IntRange(0, 65535), default=settings.SERVE_PORT, help="0 picks a free port.")
@backend_option
@click.option(
    "--collect",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Keep the digits you label on the page in DIR (28 x 28 CSVs, drawings, labels.csv: what "
    "train --data reads), and let the page fine-tune the model on them.",
)
@click.option(
    "--mix",
    type=click.Path(),
    envvar=settings.ENV_DATA,
    show_envvar=True,
    default=None,
    metavar="DATA",
    help="MNIST, mixed into fine-tuning so that the model does not forget it, and scored before and after.",
)
@click.option(
    "--token",
    default=None,
    help="With --collect, the token the page and API need; off loopback one is made up and printed if not given.",
)
def serve(model, host, port, backend, collect, mix, token):
    """Serve a page to draw digits on, and an HTTP API (POST /api/predict) for pipelines.

    Stops cleanly on Ctrl-C or SIGTERM. With a fresh ONNX twin it starts without TensorFlow."""
    from pathlib import Path

    from digitcli.inference.modelfile import locate
    from digitcli.serve.server import serve as run_server

    teach = None
    if collect is not None:
        from digitcli.serve.teach import TeachConfig

        if mix is not None and not Path(mix).exists():
            raise click.BadParameter(
                f"{mix}: no such file or folder; give MNIST's folder of IDX files", param_hint="--mix"
            )
        teach = TeachConfig(collect, mix=mix, token=token)
    elif token is not None:
        raise click.BadParameter("--token protects the --collect API; give --collect DIR too", param_hint="--token")
    run_server(locate(model), host, port, backend, note=note, teach=teach)
