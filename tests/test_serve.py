"""`digitcli serve`: the API through Starlette's test client, and the real server in a subprocess."""

import json
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES, SHIPPED_DENSE, NearestSample, sample_labels
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitcli.cli import cli

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from digitcli.inference.modelfile import ModelFile  # noqa: E402
from digitcli.serve.app import create_app  # noqa: E402
from digitcli.settings import MAX_BODY_BYTES  # noqa: E402


@pytest.fixture(scope="module")
def api():
    return TestClient(create_app(ModelFile.open(SHIPPED_DENSE), NearestSample()), raise_server_exceptions=False)


def post(api, body, kind, **params):
    return api.post("/api/predict", content=body, headers={"Content-Type": kind}, params=params)


def test_a_digit_csv_gets_the_records_predict_csv_prints(api, fake_predictor):
    path = SAMPLES / "digit8_2.csv"
    answer = post(api, path.read_bytes(), "text/csv", top_k=3)
    assert answer.status_code == 200
    cli_records = [
        json.loads(line)
        for line in CliRunner()
        .invoke(cli, ["predict-csv", str(path), "--top-k", "3", "--format", "json"])
        .stdout.splitlines()
    ]
    assert answer.json()["records"] == [{**r, "file": "request"} for r in cli_records]
    assert answer.json()["records"][0]["prediction"] == 8 and len(answer.json()["records"][0]["top_k"]) == 3


def test_every_layout_predict_csv_reads(api):
    five = ["digit3_1.csv", "digit8_2.csv", "digit9_3.csv", "digit5_4.csv", "digit4_1.csv"]
    rows = [np.loadtxt(SAMPLES / n, delimiter=",").astype(int).ravel() for n in five]
    kaggle = (
        "label,"
        + ",".join(f"pixel{i}" for i in range(784))
        + "\n"
        + "\n".join(f"{sample_labels()[n]}," + ",".join(map(str, r)) for n, r in zip(five, rows))
    )
    records = post(api, kaggle.encode(), "text/csv").json()["records"]
    assert [(r["row"], r["prediction"], r["label"], r["correct"]) for r in records] == [
        (i, d, d, True) for i, d in enumerate([3, 8, 9, 5, 4], 1)
    ]
    semicolons = "\n".join(";".join(map(str, row)) for row in rows[2].reshape(28, 28))
    assert post(api, semicolons.encode(), "text/plain").json()["records"][0]["prediction"] == 9


def test_an_image_is_read_like_predict_image_with_the_28x28_digits(api, fake_predictor):
    path = SAMPLES / "number_2025.jpg"
    answer = post(api, path.read_bytes(), "image/jpeg", top_k=2).json()
    cli_record = json.loads(
        CliRunner().invoke(cli, ["predict-image", str(path), "--top-k", "2", "--format", "json"]).stdout
    )
    assert answer["records"] == [{**cli_record, "file": "request"}]
    prepared = np.array(answer["prepared"])
    assert prepared.shape == (4, 28, 28) and prepared.max() == 255
    assert prepared[:, 4:24, 4:24].sum() > 0.95 * prepared.sum()  # a 20-pixel digit centred in 28 x 28


def test_health_and_model(api):
    assert api.get("/api/health").json() == {"status": "ok", "model": "dense.keras", "backend": "fake"}
    model = api.get("/api/model").json()
    stored = ModelFile.open(SHIPPED_DENSE).metadata
    assert model["architecture"] == "dense" and model["test"] == stored["test"]
    assert "history" not in model and model["epochs"] == len(stored["history"])


def test_the_page_and_its_assets_come_from_digitcli_alone(api):
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="pad"' in page.text and 'src="/static/app.js"' in page.text
    for asset, kind in (("/static/app.js", "text/javascript"), ("/static/style.css", "text/css")):
        served = api.get(asset)
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind) and len(served.text) > 500
        assert not re.search(r"https?://", served.text), asset  # no CDN, no internet
    assert not re.search(r"(src|href)=\"https?://", page.text)


@pytest.mark.parametrize(
    "body, kind, params, status, says",
    [
        (b"", "text/csv", {}, 400, "empty body"),
        (b"hello", "text/csv", {}, 422, "request: "),
        (b"1,2,3\n4,5\n", "text/csv", {}, 422, "request: "),
        (b"\x89PNG\r\n\x1a\nbroken", "image/png", {}, 422, "request: "),
        (b"x", "application/zip", {}, 415, "content type 'application/zip'"),
        (b"x", "", {}, 415, "content type '(none)'"),
        (b"0", "text/csv", {"top_k": "11"}, 400, "top_k=11 must be between 1 and 10"),
        (b"0", "text/csv", {"min_confidence": "abc"}, 400, "min_confidence='abc' is not a number"),
    ],
)
def test_bad_bodies_get_a_4xx_naming_the_problem(api, body, kind, params, status, says):
    answer = post(api, body, kind, **params)
    assert answer.status_code == status
    assert says in answer.json()["error"]


def test_a_blank_digit_is_an_error_record_like_predict_csv(api):
    answer = post(api, ("\n".join([",".join(["0"] * 28)] * 28)).encode(), "text/csv")
    assert answer.status_code == 200
    assert "blank image (no ink)" in answer.json()["records"][0]["error"]


def test_a_body_over_the_limit_gets_413_unread(api):
    answer = post(api, b"0" * (MAX_BODY_BYTES + 1), "text/csv")
    assert answer.status_code == 413 and "limit" in answer.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // (1 << 20) + 1):
            yield b"0" * (1 << 20)

    assert post(api, chunks(), "text/csv").status_code == 413


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=3000),
    kind=st.sampled_from(["text/csv", "text/plain", "image/png", "image/jpeg", "application/json", ""]),
)
def test_no_body_gets_a_5xx(api, body, kind):
    answer = post(api, body, kind)
    assert 200 <= answer.status_code < 500
    assert set(answer.json()) & {"records", "error"}


# --- the real server -------------------------------------------------------------------------------


def start(*args):
    server = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "digitcli", "serve", "--port", "0", *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in server.stderr:
        lines.append(line)
        found = re.search(r"http://([\d.]+):(\d+)/", line)
        if found:
            return server, f"http://{found.group(1)}:{found.group(2)}", lines
    raise AssertionError("".join(lines[-20:]))


def get(url):
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.real_model
def test_serve_answers_without_tensorflow_and_stops_cleanly(sig):
    server, url, lines = start("--model", str(SHIPPED_DENSE))
    try:
        assert get(url + "/api/health") == {"status": "ok", "model": "dense.keras", "backend": "onnx"}
        server.send_signal(sig)
        rest = server.stderr.read()
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
    imported = [line.split("|")[-1].strip() for line in lines + rest.splitlines() if "import time:" in line]
    assert "numpy" in imported and not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")]
    assert rest.strip().endswith("stopped")


@pytest.mark.real_model
def test_a_taken_port_is_one_line_and_elsewhere_than_loopback_is_noted():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--model", str(SHIPPED_DENSE), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: port {port} on 127.0.0.1 is in use; choose another --port (or --port 0 for any free one)"
    )
    server, url, lines = start("--model", str(SHIPPED_DENSE), "--host", "0.0.0.0")
    try:
        assert any("other machines can reach this server" in line for line in lines)
        assert get(url.replace("0.0.0.0", "127.0.0.1") + "/api/health")["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.real_model
def test_the_readmes_curl_examples_answer_as_shown():
    """Each `curl` line of the serve block (docs/serve.md), run against `digitcli serve` with the default
    model, prints what the comment under it shows (up to its "...", where it shortens)."""
    import shutil

    if not shutil.which("curl"):
        pytest.skip("no curl")
    from docpages import marked_block

    block = marked_block("serve:curl")
    pairs = [(cmd, shown[2:]) for cmd, shown in zip(block, block[1:]) if cmd.startswith("curl ")]
    assert len(pairs) == 3
    server, url, _ = start()
    try:
        for command, shown in pairs:
            out = subprocess.run(
                command.replace("http://127.0.0.1:8000", url),
                shell=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            if "..." in shown:
                assert out.startswith(shown.split("...")[0]), (command, out[:300])
            else:
                assert out.strip() == shown, command
    finally:
        server.terminate()
        server.wait(timeout=30)
