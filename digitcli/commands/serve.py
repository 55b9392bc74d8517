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
def serve(model, host, port, backend):
    """Serve a page to draw digits on, and an HTTP API (POST /api/predict) for pipelines.

    Stops cleanly on Ctrl-C or SIGTERM. With a fresh ONNX twin it starts without TensorFlow."""
    from digitcli.inference.modelfile import locate
    from digitcli.serve.server import serve as run_server

    run_server(locate(model), host, port, backend, note=note)
