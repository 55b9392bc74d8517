"""The web application: the drawing page, and a JSON API that reads digits as predict-csv and
predict-image do.

    GET  /              the page (its script and style are served from here too: no CDN)
    GET  /api/health    {"status": "ok", ...}
    GET  /api/model     the model's metadata, as stored in the .keras file
    POST /api/predict   a text/csv body (every layout predict-csv reads) or an image (PNG, JPEG, ...);
                        ?top_k=K (default 3), ?min_confidence=C, ?allow_nondigits=1. Answers {"records": [...]} with the
                        records of `--format json`; an image's answer adds "prepared", the 28 x 28
                        digits the model was given.

A body that cannot be read gets a 4xx and {"error": "..."} naming the problem, never a traceback.
With `serve --collect DIR`, serve/teach.py adds the routes that keep samples, fine-tune and switch models.
"""

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from digitcli.errors import DigitcliError
from digitcli.reading import pipeline
from digitcli.serve.models import Served
from digitcli.settings import MAX_BODY_BYTES

# A photo may take up to about 200 MB while it is decoded (imageprep's limits): one at a time keeps
# the server's memory bounded whatever the clients send. Digit CSVs are small and not held back.
PHOTOS_AT_ONCE = 1
DIGIT_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/teach.js": ("teach.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}


class BodyProblem(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


async def _body(request):
    """The request body, refused with 413 past MAX_BODY_BYTES (before it is read, when it says so)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyProblem(413, f"body of {int(declared):,} bytes; the limit is {MAX_BODY_BYTES:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyProblem(413, f"body larger than the limit of {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    if not size:
        raise BodyProblem(400, "empty body; send a digit CSV (text/csv) or an image (image/png, image/jpeg)")
    return b"".join(chunks)


def _number(request, name, kind, low, high, default):
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise BodyProblem(400, f"{name}={text!r} is not a number") from None
    if not low <= value <= high:
        raise BodyProblem(400, f"{name}={text} must be between {low} and {high}")
    return value


def _reader():
    """pipeline.answer_body in worker threads of its own: digits on as many threads as there are
    cores, photos one at a time on one thread. Queued photos wait in their pool's queue, not in
    threads the digits need; with Starlette's shared pool of 40, photos waiting for their turn held
    its threads, and 40 threads contending for the GIL served fewer digits a second than 2 do."""
    digits = ThreadPoolExecutor(DIGIT_THREADS, thread_name_prefix="digits")
    photos = ThreadPoolExecutor(PHOTOS_AT_ONCE, thread_name_prefix="photos")
    # onnxruntime's run() may be called from several threads at once; Keras' predict() is not
    # documented to be, so a Keras model reads one body at a time.
    keras = threading.Lock()

    def work(body, kind, top_k, min_confidence, predictor, allow_nondigits):
        model = contextlib.nullcontext() if set(predictor.backend.split("+")) == {"onnx"} else keras
        with model:
            return pipeline.answer_body(body, kind, predictor, top_k, min_confidence, allow_nondigits)

    async def read(body, kind, top_k, min_confidence, predictor, allow_nondigits=False):
        pool = photos if pipeline.formats.for_content_type(kind).kind == "number" else digits
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, work, body, kind, top_k, min_confidence, predictor, allow_nondigits)

    return read


def create_app(model_file, predictor, teach=None):
    """The Starlette application for an opened ModelFile and its predictor; with `teach` (a
    serve.teach.TeachConfig), the collecting and fine-tuning API too."""
    read = _reader()
    pages = {
        path: (resources.files("digitcli.serve").joinpath("static", name).read_bytes(), kind)
        for path, (name, kind) in ASSETS.items()
    }
    served = Served(model_file, predictor)  # each request reads served.current once (serve/models.py)

    async def asset(request):
        content, kind = pages[request.url.path]
        return Response(content, media_type=kind, headers={"Cache-Control": "no-cache"})

    async def health(request):
        pair = served.current
        return JSONResponse({"status": "ok", "model": pair.model_file.path.name, "backend": pair.predictor.backend})

    async def model(request):
        return JSONResponse({**served.current.info, "collect": teach is not None})

    async def predict(request: Request):
        try:
            top_k = _number(request, "top_k", int, 1, 10, 3)
            min_confidence = _number(request, "min_confidence", float, 0.0, 1.0, 0.0)
            allow_nondigits = bool(_number(request, "allow_nondigits", int, 0, 1, 0))
            kind = request.headers.get("content-type", "")
            body = await _body(request)
            # Decoding a photo and running the model take up to a second of CPU: in a worker thread,
            # the event loop goes on answering every other client meanwhile. The model is the one
            # served when the request came (serve/models.py), read once.
            answer = await read(body, kind, top_k, min_confidence, served.current.predictor, allow_nondigits)
            return JSONResponse(answer)
        except ClientDisconnect:
            # The client left mid-upload: nobody reads an answer, and it is no fault of the server's.
            return Response(status_code=400)
        except BodyProblem as exc:
            return _error(exc.status, str(exc))
        except pipeline.UnsupportedType as exc:
            return _error(415, str(exc))
        except DigitcliError as exc:
            return _error(422, str(exc))

    routes = [Route(path, asset) for path in ASSETS]
    routes += [
        Route("/api/health", health),
        Route("/api/model", model),
        Route("/api/predict", predict, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.served = served
    if teach is not None:
        from digitcli.serve.teach import teach_routes

        extra, app.state.finetune = teach_routes(served, teach)
        app.router.routes.extend(extra)
    return app
