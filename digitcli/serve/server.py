"""Run the application with uvicorn on a socket bound here, so that a taken port is one clear line
and `--port 0` picks a free one. uvicorn stops cleanly on Ctrl-C and SIGTERM: it finishes the
requests under way, then exits 0."""

import ipaddress
import signal
import socket

from digitcli.errors import OutputError, to_stderr
from digitcli.settings import LOOPBACK


def bind(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == 98:  # EADDRINUSE
            raise OutputError(
                f"port {port} on {host} is in use; choose another --port (or --port 0 for any free one)"
            ) from None
        raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port") from None
    sock.listen(2048)
    return sock


def _is_loopback(host):
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(model_path, host="127.0.0.1", port=8000, backend="auto", note=to_stderr, teach=None):
    """Open the model once, then serve until Ctrl-C or SIGTERM. `teach` (a serve.teach.TeachConfig)
    adds the collecting and fine-tuning API; off loopback it gets a token if it has none."""
    import uvicorn

    from digitcli.inference.modelfile import ModelFile
    from digitcli.inference.predictors import load_predictor
    from digitcli.serve.app import create_app

    model_file = ModelFile.open(model_path)
    predictor = load_predictor(model_file, backend, note=note)
    if teach is not None:
        teach.loopback = _is_loopback(host)
        if not teach.loopback and teach.token is None:
            from digitcli.serve.guard import new_token

            teach.token = new_token()
    app = create_app(model_file, predictor, teach)
    app.state.served.backend = backend  # a model switched to loads as the first did
    sock = bind(host, port)
    where = sock.getsockname()
    shown = f"[{where[0]}]" if ":" in where[0] else where[0]
    if not _is_loopback(host):
        note(
            f"note: listening on {host}, so other machines can reach this server; the default, "
            "127.0.0.1, keeps it to this one"
        )
    page = f"http://{shown}:{where[1]}/" + (f"?token={teach.token}" if teach and teach.token else "")
    note(f"serving {model_file.path} ({predictor.backend}) at {page} ; Ctrl-C stops")
    if teach is not None:
        note(f"collecting labelled digits in {teach.folder}" + ("" if teach.mix else "; fine-tuning needs --mix MNIST"))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    # uvicorn finishes the requests under way on SIGINT or SIGTERM, then raises the signal again for
    # the handler that was there before it: these handlers make that a normal return, so both end
    # with "stopped" and exit status 0 rather than "Aborted!" or death by signal.
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if teach is not None:
            app.state.finetune.kill()  # a worker outliving its server would publish to no one
    note("stopped")


class _Stopped(Exception):
    pass


def _stop(signum, frame):
    raise _Stopped
