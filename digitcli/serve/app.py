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
"""

from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from digitcli.errors import DigitcliError
from digitcli.serve import reading

MAX_BODY_BYTES = 8 << 20  # a phone photo is a few MB; a digit CSV a few kB
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
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


def create_app(model_file, predictor):
    """The Starlette application for an opened ModelFile and its predictor."""
    pages = {
        path: (resources.files("digitcli.serve").joinpath("static", name).read_bytes(), kind)
        for path, (name, kind) in ASSETS.items()
    }
    model_info = {k: v for k, v in model_file.metadata.items() if k != "history"}
    model_info.update(
        {
            "file": model_file.path.name,
            "backend": predictor.backend,
            "epochs": len(model_file.metadata.get("history", [])),
        }
    )

    async def asset(request):
        content, kind = pages[request.url.path]
        return Response(content, media_type=kind, headers={"Cache-Control": "no-cache"})

    async def health(request):
        return JSONResponse({"status": "ok", "model": model_file.path.name, "backend": predictor.backend})

    async def model(request):
        return JSONResponse(model_info)

    async def predict(request: Request):
        try:
            top_k = _number(request, "top_k", int, 1, 10, 3)
            min_confidence = _number(request, "min_confidence", float, 0.0, 1.0, 0.0)
            allow_nondigits = bool(_number(request, "allow_nondigits", int, 0, 1, 0))
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            body = await _body(request)
            return JSONResponse(reading.answer(body, kind, predictor, top_k, min_confidence, allow_nondigits))
        except BodyProblem as exc:
            return _error(exc.status, str(exc))
        except reading.UnsupportedType as exc:
            return _error(415, str(exc))
        except DigitcliError as exc:
            return _error(422, str(exc))

    routes = [Route(path, asset) for path in ASSETS]
    routes += [
        Route("/api/health", health),
        Route("/api/model", model),
        Route("/api/predict", predict, methods=["POST"]),
    ]
    return Starlette(routes=routes)
