"""The API behind "teach it your hand", mounted by app.py when the server runs with --collect DIR:

    POST   /api/samples?label=D      a drawing (image/png) or a digit CSV (text/csv), kept with label D
    GET    /api/samples              the samples and the count per digit
    GET    /api/samples.csv          the whole set as one Kaggle-style CSV (label,pixel0,...,pixel783)
    GET    /api/samples/ID/drawing   a sample's drawing (PNG)
    DELETE /api/samples/ID
    POST   /api/finetune             {"epochs": N}: start a fine-tune on the samples (409 while one runs)
    GET    /api/finetune             its state, per-epoch progress and before/after accuracies
    POST   /api/model/activate       {"path": P} (a model a fine-tune published) or {"path": "previous"}

Each answer is JSON (but the CSV and the PNG); a refusal is a 4xx with {"error": "..."}. The CPU
work (reading a drawing, writing files, loading a model) runs in worker threads."""

import json
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from digitcli.errors import DigitcliError, OutputError
from digitcli.serve import guard
from digitcli.serve.collect import Full, SampleStore, png_of
from digitcli.serve.finetune import DEFAULT_EPOCHS, MAX_EPOCHS, FineTune, Refused
from digitcli.serve.models import NotAllowed

MAX_SAMPLE_BYTES = 2 << 20  # the page's drawing is a PNG of tens of kB; a digit CSV a few kB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class TeachConfig:
    folder: str
    mix: str | None = None  # MNIST, mixed into fine-tuning
    token: str | None = None  # required when the server is reachable from other machines
    loopback: bool = True
    out: str | None = None  # where fine-tunes publish; default DIR/models/tuned.keras
    launcher: list | None = None  # the command that runs digitcli in a worker (tests give a fake)


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


def prepared_digit(body, content_type):
    """The one 28 x 28 digit of a drawing or CSV, prepared as /api/predict prepares it."""
    from digitcli.errors import InputFileError
    from digitcli.reading import pipeline
    from digitcli.reading.digit_csv import blank

    # count=1: the drawing is one digit, whatever gaps its strokes leave
    _, batch = pipeline.read_body(body, content_type, **({"count": 1} if content_type.startswith("image/") else {}))
    digits = pipeline.digits_of(batch)
    if len(digits) != 1:
        raise InputFileError(f"the body holds {len(digits)} digits; keep one digit at a time")
    if blank(digits)[0]:
        raise InputFileError("the digit is blank; draw it before keeping it")
    return digits[0]


def _kind(request):
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("image/png", "text/csv"):
        return None
    return kind


def teach_routes(served, config):
    """(routes, the FineTune job): over one SampleStore and one FineTune for the server's life."""
    api = TeachApi(served, config)

    def guarded(handler):
        async def checked(request):
            refused = guard.refusal(request, config.token, config.loopback)
            if refused:
                return _error(*refused)
            return await handler(request)

        return checked

    return [
        Route("/api/samples", guarded(api.add_sample), methods=["POST"]),
        Route("/api/samples", guarded(api.list_samples), methods=["GET"]),
        Route("/api/samples.csv", guarded(api.export), methods=["GET"]),
        Route("/api/samples/{sample}/drawing", guarded(api.drawing), methods=["GET"]),
        Route("/api/samples/{sample}", guarded(api.delete_sample), methods=["DELETE"]),
        Route("/api/finetune", guarded(api.start_finetune), methods=["POST"]),
        Route("/api/finetune", guarded(api.finetune_state), methods=["GET"]),
        Route("/api/model/activate", guarded(api.activate), methods=["POST"]),
    ], api.job


class TeachApi:
    """The handlers. Each is a coroutine of a request, answering JSON (or the CSV, or a PNG)."""

    def __init__(self, served, config):
        self.served = served
        self.store = SampleStore(config.folder)
        out = Path(config.out or Path(config.folder) / "models" / "tuned.keras")
        self.job = FineTune(self.store, served, config.mix, out, config.launcher)
        if out.exists():
            served.allow(out)  # an earlier session's fine-tune: switching to it is allowed again

    async def add_sample(self, request):
        label = request.query_params.get("label", "")
        if not (label.isdigit() and len(label) == 1):
            return _error(400, f"label={label!r}: give the digit drawn, ?label=0 ... ?label=9")
        kind = _kind(request)
        if kind is None:
            return _error(415, "send the drawing as image/png, or a 28 x 28 digit CSV as text/csv")
        body = await guard.bounded_body(request, MAX_SAMPLE_BYTES)
        if body is None:
            return _error(413, f"a sample's body is limited to {MAX_SAMPLE_BYTES:,} bytes")
        if not body:
            return _error(400, "empty body; send the drawing (image/png) or a digit CSV (text/csv)")
        try:
            entry = await run_in_threadpool(_keep, self.store, int(label), body, kind)
        except Full as exc:
            return _error(409, str(exc))
        except OutputError as exc:
            return _error(507, str(exc))  # the server's disk, not the request
        except DigitcliError as exc:
            return _error(422, str(exc))
        return JSONResponse({"sample": entry, **_counts(self.store)}, status_code=201, headers=NO_STORE)

    async def list_samples(self, request):
        return JSONResponse(self.store.listing(), headers=NO_STORE)

    async def export(self, request):
        text = await run_in_threadpool(self.store.kaggle_csv)
        disposition = {"Content-Disposition": 'attachment; filename="digits.csv"', **NO_STORE}
        return Response(text, media_type="text/csv; charset=utf-8", headers=disposition)

    async def drawing(self, request):
        png = await run_in_threadpool(self.store.drawing, request.path_params["sample"])
        if png is None:
            return _error(404, f"no sample {request.path_params['sample']!r}")
        return Response(png, media_type="image/png", headers=NO_STORE)

    async def delete_sample(self, request):
        sample = request.path_params["sample"]
        if not await run_in_threadpool(self.store.remove, sample):
            return _error(404, f"no sample {sample!r}; GET /api/samples lists them")
        return JSONResponse({"deleted": sample, **_counts(self.store)}, headers=NO_STORE)

    async def start_finetune(self, request):
        asked = await _json(request)
        if isinstance(asked, Response):
            return asked
        epochs = asked.get("epochs", DEFAULT_EPOCHS)
        if not isinstance(epochs, int) or isinstance(epochs, bool) or not 1 <= epochs <= MAX_EPOCHS:
            return _error(400, f"epochs={epochs!r} must be a whole number from 1 to {MAX_EPOCHS}")
        try:
            return JSONResponse(await run_in_threadpool(self.job.start, epochs), status_code=202, headers=NO_STORE)
        except Refused as exc:
            return _error(exc.status, str(exc))

    async def finetune_state(self, request):
        return JSONResponse(self.job.status(), headers=NO_STORE)

    async def activate(self, request):
        asked = await _json(request)
        if isinstance(asked, Response):
            return asked
        path = asked.get("path")
        if not isinstance(path, str) or not path:
            return _error(400, 'give {"path": MODEL} (a model a fine-tune published) or {"path": "previous"}')
        try:
            if path == "previous":
                pair = self.served.switch_back()  # no loading: both pairs are in memory
            else:
                pair = await run_in_threadpool(self.served.activate, path)
        except NotAllowed as exc:
            return _error(400, str(exc))
        except DigitcliError as exc:
            return _error(422, str(exc))
        if pair is None:
            return _error(409, "no earlier model to switch back to")
        return JSONResponse({"model": pair.info, "previous": _path(self.served.previous)}, headers=NO_STORE)


def _keep(store, label, body, kind):
    digit = prepared_digit(body, kind)
    png = body if kind == "image/png" and body.startswith(PNG_SIGNATURE) else png_of(digit)
    return store.add(label, digit, png)


def _counts(store):
    listing = store.listing()
    return {"count": listing["count"], "per_digit": listing["per_digit"]}


def _path(pair):
    return None if pair is None else str(pair.path)


async def _json(request):
    """The JSON object of the body ({} when empty), or a 4xx response."""
    body = await guard.bounded_body(request, guard.MAX_JSON_BYTES)
    if body is None:
        return _error(413, f"the body is limited to {guard.MAX_JSON_BYTES:,} bytes")
    if not body.strip():
        return {}
    try:
        found = json.loads(body)
    except ValueError:
        return _error(400, "the body is not JSON")
    return found if isinstance(found, dict) else _error(400, "the body must be a JSON object")
