"""The server against hostile bodies (issue 26): images that Pillow writes in every mode and format,
then damaged, and CSVs far wider than a digit row, get 200 or a 4xx with a JSON error, never a
5xx. Reading runs off the event loop, and a client leaving mid-upload is no error."""

import io
import struct
import threading
import zlib

import anyio
import numpy as np
import pytest
from conftest import SAMPLES, SHIPPED_DENSE, NearestSample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from digitcli.inference.modelfile import ModelFile  # noqa: E402
from digitcli.serve.app import create_app  # noqa: E402

MODES = {  # what Pillow writes in each format
    "PNG": ["1", "L", "P", "RGB", "RGBA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK"],
    "GIF": ["L", "P"],
    "BMP": ["1", "L", "P", "RGB"],
    "TIFF": ["1", "L", "P", "RGB", "RGBA", "I;16", "I", "F", "LAB", "CMYK"],
    "WEBP": ["L", "RGB", "RGBA"],
}
KINDS = [(fmt, mode) for fmt, modes in MODES.items() for mode in modes]


def page(height, width, seed):
    """A few dark strokes on light paper, as 8-bit grey."""
    rng = np.random.default_rng(seed)
    gray = np.full((height, width), 235, np.uint8)
    for _ in range(rng.integers(1, 4)):
        y, x = rng.integers(0, height), rng.integers(0, width)
        gray[y : y + rng.integers(1, max(2, height // 2)), x : x + rng.integers(1, 6)] = 20
    return gray


def in_mode(gray, mode):
    if mode == "I;16":
        return Image.fromarray(gray.astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(gray.astype(np.int32) * 257)
    if mode == "F":
        return Image.fromarray(gray.astype(np.float32) / 255)
    if mode in ("LAB", "CMYK"):
        return Image.fromarray(gray).convert("RGB").convert(mode)
    return Image.fromarray(gray).convert(mode)


def declare_size(data, fmt, width, height):
    """The file claiming to be `width` x `height`, its pixel data unchanged (the CRC kept valid)."""
    data = bytearray(data)
    if fmt == "PNG":
        data[16:24] = struct.pack(">II", width, height)
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    elif fmt == "GIF":
        data[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    elif fmt == "BMP":
        data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


@st.composite
def image_bodies(draw):
    fmt, mode = draw(st.sampled_from(KINDS))
    gray = page(draw(st.integers(1, 64)), draw(st.integers(1, 64)), draw(st.integers(0, 2**16)))
    out = io.BytesIO()
    in_mode(gray, mode).save(out, fmt)
    data = out.getvalue()
    damage = draw(st.sampled_from(["none", "flips", "truncated", "declared"]))
    if damage == "flips":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
    elif damage == "truncated":
        data = data[: draw(st.integers(1, max(1, len(data) - 1)))]
    elif damage == "declared":
        side = st.sampled_from([65535, 30000, 12000, 7072, 2**31 - 1])
        data = declare_size(data, fmt, draw(side), draw(side))
    return data, f"image/{fmt.lower()}"


@pytest.fixture(scope="module")
def api():
    return TestClient(create_app(ModelFile.open(SHIPPED_DENSE), NearestSample()), raise_server_exceptions=False)


def answered(api, body, kind):
    """A 200 with records, or a 4xx with a JSON error: never a 5xx, never a page of HTML."""
    answer = api.post("/api/predict", content=body, headers={"Content-Type": kind})
    assert answer.status_code == 200 or 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    if answer.status_code == 200:
        assert answer.json()["records"][0]["file"] == "request"
    else:
        assert answer.json()["error"].startswith("request: ")
        assert "Error" not in answer.json()["error"]  # no raw exception names
    return answer


FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(body=image_bodies())
def test_any_image_body_gets_200_or_a_4xx(api, body):
    answered(api, *body)


@pytest.mark.slow
@settings(FUZZ, max_examples=600)
@given(body=image_bodies())
def test_any_image_body_gets_200_or_a_4xx_long(api, body):
    answered(api, *body)


@pytest.mark.parametrize("fmt, mode", KINDS, ids=[f"{f}-{m}" for f, m in KINDS])
def test_every_mode_and_format_is_read(api, fmt, mode):
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",").astype(np.uint8)
    gray = np.kron(np.pad(255 - digit, 6, constant_values=255), np.ones((3, 3), np.uint8))
    out = io.BytesIO()
    in_mode(gray, mode).save(out, fmt)
    answer = answered(api, out.getvalue(), f"image/{fmt.lower()}")
    assert answer.status_code == 200 and answer.json()["records"][0]["prediction"] == "3"


def test_a_csv_of_two_rows_of_a_million_values_is_refused_on_its_line_length(api, monkeypatch):
    from digitcli.reading import digit_csv

    def no_parsing(*args):
        raise AssertionError("parsed a CSV it should have refused from its raw bytes")

    monkeypatch.setattr(digit_csv, "_numbers", no_parsing)
    row = ",".join(["1"] * 1_000_000)
    answer = answered(api, f"{row},x\n{row},0\n".encode(), "text/csv")
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("request: line 1 is 2,000,001 characters long; a digit row holds at most")


class HeldPredictor(NearestSample):
    """Reads only once the health check has been answered meanwhile (or gives up after a while)."""

    def __init__(self):
        super().__init__()
        self.reading, self.health_answered, self.saw_health = threading.Event(), threading.Event(), None

    def probabilities(self, images):
        self.reading.set()
        if self.saw_health is None:
            self.saw_health = self.health_answered.wait(timeout=20)
        return super().probabilities(images)


def test_health_answers_while_a_photo_is_being_read():
    predictor = HeldPredictor()
    photo = (SAMPLES / "number_2025.jpg").read_bytes()
    # One event loop for every request (the context manager's), as a real server has.
    with TestClient(create_app(ModelFile.open(SHIPPED_DENSE), predictor)) as client:
        posted = {}
        upload = threading.Thread(
            target=lambda: posted.update(
                answer=client.post("/api/predict", content=photo, headers={"Content-Type": "image/jpeg"})
            )
        )
        upload.start()
        assert predictor.reading.wait(timeout=60)
        health = client.get("/api/health")  # on a blocked event loop this waits for the photo
        predictor.health_answered.set()
        upload.join(timeout=60)
    assert health.json()["status"] == "ok"
    assert predictor.saw_health is True  # the photo was still being read when health answered
    assert posted["answer"].status_code == 200 and posted["answer"].json()["records"][0]["prediction"] == "2025"


def test_a_client_leaving_mid_upload_is_no_error():
    app = create_app(ModelFile.open(SHIPPED_DENSE), NearestSample())
    messages = iter([{"type": "http.request", "body": b"\x89PNG\r\n", "more_body": True}, {"type": "http.disconnect"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/predict",
        "raw_path": b"/api/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"image/png")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    anyio.run(app, scope, receive, send)  # raised ClientDisconnect, which the server logged as a traceback
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400


class HeldPhotos(NearestSample):
    """Holds every photo's reading until `release` is set; digits (one image) are read at once."""

    backend = "onnx"  # safe to call from several threads, as onnxruntime is: the server takes no lock

    def __init__(self):
        super().__init__()
        self.reading, self.release = threading.Event(), threading.Event()

    def probabilities(self, images):
        if len(images) > 1 or threading.current_thread().name.startswith("photo"):
            self.reading.set()
            self.release.wait(timeout=60)
        return super().probabilities(images)


@pytest.mark.slow  # reads 50 photos
def test_digits_are_answered_as_alone_while_many_photos_wait_their_turn():
    """50 photos queued (one read at a time) take no worker a digit needs: the digits posted
    meanwhile, 40 at once, get the answers they get one by one."""
    from concurrent.futures import ThreadPoolExecutor

    predictor = HeldPhotos()
    photo = (SAMPLES / "number_2025.jpg").read_bytes()
    digits = [p.read_bytes() for p in sorted(SAMPLES.glob("digit*.csv"))]
    with TestClient(create_app(ModelFile.open(SHIPPED_DENSE), predictor)) as client:

        def post(body, kind="text/csv"):
            return client.post("/api/predict", content=body, headers={"Content-Type": kind})

        alone = [post(d).json() for d in digits]
        with ThreadPoolExecutor(90) as pool:
            try:
                photos = [pool.submit(post, photo, "image/jpeg") for _ in range(50)]
                assert predictor.reading.wait(timeout=60)
                together = list(pool.map(lambda d: post(d).json(), digits, timeout=30))
                held = sum(not p.done() for p in photos)
            finally:
                predictor.release.set()  # else the pool waits for every photo at its exit
            answers = [p.result(timeout=120) for p in photos]
    assert together == alone and len({a["records"][0]["prediction"] for a in alone}) == 10
    assert held >= 45  # the digits were answered while the photos were still waiting
    assert {a.status_code for a in answers} == {200} and answers[0].json()["records"][0]["prediction"] == "2025"
