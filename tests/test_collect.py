"""`digitcli serve --collect DIR`: the samples API (keep, list, download, delete), its files as
`train --data` reads them, and its refusals: other origins, missing tokens, bad labels and bodies,
sizes and counts."""

import io
import json

import numpy as np
import pytest
from conftest import SAMPLES, SHIPPED_DENSE, NearestSample

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from digitcli.inference.modelfile import ModelFile  # noqa: E402
from digitcli.serve import collect  # noqa: E402
from digitcli.serve.app import create_app  # noqa: E402
from digitcli.serve.teach import MAX_SAMPLE_BYTES, TeachConfig  # noqa: E402

LOCAL = "http://127.0.0.1:8000"


def drawing(strokes, size=560):
    """A PNG like the page's: dark strokes on white."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        pen.line(stroke, fill=17, width=size // 16, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


SEVEN = drawing([[(150, 120), (420, 120), (250, 460)]])
ONE = drawing([[(280, 100), (280, 470)]])


def client(folder, **config):
    app = create_app(ModelFile.open(SHIPPED_DENSE), NearestSample(), TeachConfig(str(folder), **config))
    return TestClient(app, base_url=LOCAL, raise_server_exceptions=False)


def keep(api, label, body=SEVEN, kind="image/png", **headers):
    return api.post("/api/samples", params={"label": label}, content=body, headers={"Content-Type": kind, **headers})


def test_a_kept_drawing_is_the_28x28_digit_predict_shows_its_png_and_a_label_line(tmp_path):
    api = client(tmp_path / "mine")
    answer = keep(api, 7)
    assert answer.status_code == 201
    sample = answer.json()["sample"]
    assert sample == {"id": "digit7_1", "label": 7, "file": "digit7_1.csv"}
    assert answer.json()["per_digit"]["7"] == 1 and answer.json()["count"] == 1
    kept = np.loadtxt(tmp_path / "mine" / "digit7_1.csv", delimiter=",")
    shown = np.array(api.post("/api/predict", content=SEVEN, headers={"Content-Type": "image/png"}).json()["prepared"])
    assert kept.shape == (28, 28) and (kept == shown[0]).all()  # the very input /api/predict gave the model
    assert (tmp_path / "mine" / "digit7_1.png").read_bytes() == SEVEN
    assert (tmp_path / "mine" / "labels.csv").read_text() == "file,label\ndigit7_1.csv,7\n"
    assert not [p for p in (tmp_path / "mine").iterdir() if p.name.startswith(".")]  # nothing left aside


def test_a_csv_body_is_kept_with_a_png_made_from_it(tmp_path):
    api = client(tmp_path)
    assert keep(api, 3, (SAMPLES / "digit3_1.csv").read_bytes(), "text/csv").status_code == 201
    kept = np.loadtxt(tmp_path / "digit3_1.csv", delimiter=",")
    assert (kept == np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",")).all()
    from PIL import Image

    assert (np.array(Image.open(tmp_path / "digit3_1.png")) == kept).all()


def test_list_counts_download_and_delete(tmp_path):
    api = client(tmp_path)
    for label, body in ((7, SEVEN), (1, ONE), (1, ONE)):
        assert keep(api, label, body).status_code == 201
    listing = api.get("/api/samples").json()
    assert [s["id"] for s in listing["samples"]] == ["digit7_1", "digit1_2", "digit1_3"]
    assert listing["count"] == 3 and listing["per_digit"] == {**{str(d): 0 for d in range(10)}, "1": 2, "7": 1}
    picture = api.get("/api/samples/digit1_2/drawing")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png" and picture.content == ONE

    table = api.get("/api/samples.csv")
    assert table.headers["content-type"].startswith("text/csv")
    lines = table.text.splitlines()
    assert lines[0] == "label," + ",".join(f"pixel{i}" for i in range(784)) and len(lines) == 4
    rows = np.array([line.split(",") for line in lines[1:]], dtype=int)
    assert list(rows[:, 0]) == [7, 1, 1]
    assert (rows[0, 1:] == np.loadtxt(tmp_path / "digit7_1.csv", delimiter=",").ravel()).all()

    deleted = api.delete("/api/samples/digit1_2")
    assert deleted.status_code == 200 and deleted.json()["per_digit"]["1"] == 1
    assert not (tmp_path / "digit1_2.csv").exists() and not (tmp_path / "digit1_2.png").exists()
    assert (tmp_path / "labels.csv").read_text() == "file,label\ndigit7_1.csv,7\ndigit1_3.csv,1\n"
    assert api.delete("/api/samples/digit1_2").status_code == 404
    assert api.delete("/api/samples/..%2Flabels").status_code == 404
    assert api.get("/api/samples/digit1_2/drawing").status_code == 404
    assert keep(api, 4, ONE).json()["sample"]["id"] == "digit4_4"  # numbers are not reused while later ones live


def test_the_collected_folder_is_what_train_data_reads(tmp_path):
    from digitcli.data.datasets import load_digit_folder

    api = client(tmp_path)
    for k in range(12):
        assert keep(api, k % 2 * 6 + 1, ONE if k % 2 == 0 else SEVEN).status_code == 201
    raw = load_digit_folder(tmp_path, hold_out=False)
    assert sorted(np.concatenate([raw.y_train, raw.y_test]).tolist()) == [1] * 6 + [7] * 6


def test_bad_labels_and_bodies_are_refused_and_nothing_is_written(tmp_path):
    api = client(tmp_path)
    for label in ("", "10", "x", "-1", "7.0"):
        answer = keep(api, label)
        assert answer.status_code == 400 and "label" in answer.json()["error"], label
    assert keep(api, 7, b"", "image/png").status_code == 400
    assert keep(api, 7, SEVEN, "image/jpeg").status_code == 415
    assert keep(api, 7, b"\x89PNG\r\n\x1a\n not an image", "image/png").status_code == 422
    assert "blank" in keep(api, 7, drawing([])).json()["error"]
    assert keep(api, 7, b"1,2,3\n", "text/csv").status_code == 422
    big = keep(api, 7, b"0" * (MAX_SAMPLE_BYTES + 1), "text/csv")
    assert big.status_code == 413 and "limited" in big.json()["error"]
    assert api.get("/api/samples").json()["count"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # not even a labels file


def test_the_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "MAX_SAMPLES", 2)
    api = client(tmp_path)
    assert [keep(api, 1, ONE).status_code for _ in range(3)] == [201, 201, 409]
    assert api.get("/api/samples").json()["count"] == 2


def test_other_origins_and_foreign_hosts_are_refused(tmp_path):
    api = client(tmp_path)
    assert keep(api, 7, Origin="http://evil.example").status_code == 403
    assert keep(api, 7, Origin="http://127.0.0.1:9999").status_code == 403  # another port is another origin
    assert keep(api, 7, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert api.delete("/api/samples/digit7_1", headers={"Origin": "http://evil.example"}).status_code == 403
    rebound = TestClient(api.app, base_url="http://attacker.example:8000")
    assert rebound.get("/api/samples").status_code == 403  # DNS rebinding: a foreign name for 127.0.0.1
    assert api.get("/api/samples").json()["count"] == 0
    assert keep(api, 7, Origin=LOCAL).status_code == 201  # the page itself


def test_off_loopback_every_call_needs_the_token(tmp_path):
    api = client(tmp_path, token="s3cret", loopback=False)
    remote = TestClient(api.app, base_url="http://192.168.1.20:8000")
    assert keep(remote, 7).status_code == 401
    assert keep(remote, 7, Authorization="Bearer wrong").status_code == 401
    assert remote.get("/api/samples").status_code == 401 and remote.get("/api/samples.csv").status_code == 401
    assert remote.post("/api/finetune").status_code == 401
    assert remote.post("/api/model/activate", json={"path": "previous"}).status_code == 401
    assert keep(remote, 7, Authorization="Bearer s3cret").status_code == 201
    assert remote.get("/api/samples", params={"token": "s3cret"}).json()["count"] == 1
    assert remote.get("/api/predict").status_code == 405  # reading digits needs no token


def test_without_collect_there_is_no_writing_api(tmp_path):
    api = TestClient(create_app(ModelFile.open(SHIPPED_DENSE), NearestSample()), base_url=LOCAL)
    assert keep(api, 7).status_code in (404, 405)
    assert api.post("/api/finetune").status_code in (404, 405)
    assert api.post("/api/model/activate", json={"path": "previous"}).status_code in (404, 405)
    assert api.get("/api/model").json()["collect"] is False


def test_a_sample_left_out_of_the_labels_file_by_a_kill_gets_its_label_back(tmp_path):
    api = client(tmp_path)
    keep(api, 7)
    # As if killed after the second sample's files were renamed into place, before its label line.
    (tmp_path / "digit1_2.png").write_bytes(ONE)
    (tmp_path / "digit1_2.csv").write_text((tmp_path / "digit7_1.csv").read_text())
    (tmp_path / ".digit1_3.csv.abc.part").write_text("half")  # a file still being written: never a sample
    store = collect.SampleStore(tmp_path)
    assert store.labels == {"digit7_1.csv": 7, "digit1_2.csv": 1}


def test_a_folder_with_a_foreign_labels_file_is_refused(tmp_path):
    from digitcli.errors import DataError

    (tmp_path / "labels.csv").write_text("name;digit\na;1\n")
    with pytest.raises(DataError, match="labels.csv: not a `file,label` labels file"):
        collect.SampleStore(tmp_path)


def test_the_serve_command_refuses_a_token_without_collect_and_a_missing_mix(tmp_path):
    from conftest import cli_run

    alone = cli_run("serve", "--token", "abc", code=2)
    assert "--token protects the --collect API" in alone.stderr
    missing = cli_run("serve", "--collect", tmp_path / "mine", "--mix", tmp_path / "nowhere", code=2)
    assert "nowhere: no such file or folder" in missing.stderr and not (tmp_path / "mine").exists()


@pytest.mark.slow
def test_off_loopback_the_server_makes_up_a_token_and_prints_it(tmp_path):
    import re
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    from conftest import ROOT

    command = [sys.executable, "-m", "digitcli", "serve", "--model", SHIPPED_DENSE, "--host", "0.0.0.0", "--port", "0"]
    proc = subprocess.Popen(
        [*map(str, command), "--collect", str(tmp_path)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stderr:
            found = re.search(r"http://[\d.]+:(\d+)/\?token=([\w-]+)", line)
            if found:
                break
        port, token = found.groups()
        url = f"http://127.0.0.1:{port}/api/samples"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url)
        assert refused.value.code == 401
        listing = json.loads(urllib.request.urlopen(f"{url}?token={token}").read())
        assert listing["count"] == 0 and listing["folder"] == str(tmp_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("failing", [".png", ".csv", "labels.csv"])
def test_a_sample_that_cannot_be_written_is_not_labelled_and_leaves_nothing(tmp_path, monkeypatch, failing):
    api = client(tmp_path)
    assert keep(api, 1, ONE).status_code == 201
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = collect.write_aside

    def full_disk(path, data):
        if str(path).endswith(failing) and "digit1_1" not in str(path):
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(collect, "write_aside", full_disk)
    answer = keep(api, 7)
    assert answer.status_code == 507 and "no space left" in answer.json()["error"]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert api.get("/api/samples").json()["count"] == 1


def strangers_folder(tmp_path):
    """A folder the user had before --collect: a labels file of theirs naming a file of theirs that is no
    digit CSV, links to a diary outside, and a digit CSV with its drawing that its name calls a 5 but
    the user labelled 3. None of it is a sample this server wrote."""
    folder, diary = tmp_path / "mine", tmp_path / "diary.txt"
    folder.mkdir()
    diary.write_text("dear diary\n")
    (folder / "labels.csv").write_text("file,label\ndigit5_1.csv,5\n notes.txt , 3\ndigit5_4.csv,3\n")
    (folder / "digit5_1.csv").write_text("user's own file")
    for suffix in (".csv", ".png"):
        (folder / f"digit5_2{suffix}").symlink_to(diary)
    (folder / "digit5_4.csv").write_bytes((SAMPLES / "digit3_1.csv").read_bytes())
    (folder / "digit5_4.png").write_bytes(SEVEN)
    return folder, diary


def snapshot_of(folder):
    return {p.name: (p.readlink() if p.is_symlink() else p.read_bytes()) for p in folder.iterdir()}


def test_on_open_only_regular_valid_samples_are_adopted_and_new_names_skip_taken_ones(tmp_path):
    folder, diary = strangers_folder(tmp_path)
    before = snapshot_of(folder)
    api = client(folder)
    assert api.get("/api/samples").json()["count"] == 0
    assert (folder / "labels.csv").read_bytes() == before["labels.csv"]  # the links were not labelled
    assert keep(api, 5, ONE).json()["sample"]["id"] == "digit5_5"  # 1, 2 and 4 are taken
    assert [s["id"] for s in api.get("/api/samples").json()["samples"]] == ["digit5_5"]
    text = "file,label\ndigit5_1.csv,5\n notes.txt , 3\ndigit5_4.csv,3\ndigit5_5.csv,5\n"
    assert (folder / "labels.csv").read_text() == text  # the user's lines kept as they were
    after = snapshot_of(folder)
    assert {k: after[k] for k in before if k != "labels.csv"} == {k: v for k, v in before.items() if k != "labels.csv"}
    assert diary.read_text() == "dear diary\n"


def test_a_new_sample_never_takes_the_name_of_a_file_or_link_already_there(tmp_path):
    (tmp_path / "digit7_1.png").symlink_to(tmp_path / "nowhere")  # dangling: still a name taken
    (tmp_path / "digit7_2.csv").write_text("mine")
    api = client(tmp_path)
    assert keep(api, 7).json()["sample"]["id"] == "digit7_3"
    assert (tmp_path / "digit7_1.png").is_symlink() and not (tmp_path / "nowhere").exists()
    assert (tmp_path / "digit7_2.csv").read_text() == "mine"


def test_a_drawing_is_never_served_through_a_link_or_from_a_file_the_server_did_not_write(tmp_path):
    folder, diary = strangers_folder(tmp_path)
    api = client(folder)
    for sample in ("digit5_2", "digit5_1", "digit5_4"):
        answer = api.get(f"/api/samples/{sample}/drawing")
        assert answer.status_code == 404 and b"diary" not in answer.content, sample
    assert keep(api, 7).status_code == 201
    (folder / "digit7_5.png").unlink()
    (folder / "digit7_5.png").symlink_to(diary)  # swapped for a link after it was kept
    answer = api.get("/api/samples/digit7_5/drawing")
    assert answer.status_code == 404 and b"diary" not in answer.content


def test_delete_removes_only_samples_the_server_wrote(tmp_path):
    folder, diary = strangers_folder(tmp_path)
    api = client(folder)
    assert keep(api, 7).json()["sample"]["id"] == "digit7_5"
    before = snapshot_of(folder)
    for sample in ("digit5_1", "digit5_2", "digit5_4"):
        assert api.delete(f"/api/samples/{sample}").status_code == 404, sample
    assert snapshot_of(folder) == before and diary.read_text() == "dear diary\n"
    assert api.delete("/api/samples/digit7_5").status_code == 200
    assert not (folder / "digit7_5.csv").exists() and not (folder / "digit7_5.png").exists()
    assert (folder / "labels.csv").read_text() == "file,label\ndigit5_1.csv,5\n notes.txt , 3\ndigit5_4.csv,3\n"


def test_delete_leaves_a_sample_whose_csv_was_swapped_for_the_users_own_file(tmp_path):
    api = client(tmp_path)
    keep(api, 7)
    (tmp_path / "digit7_1.csv").write_text("user's own file")
    assert api.delete("/api/samples/digit7_1").status_code == 404
    assert (tmp_path / "digit7_1.csv").read_text() == "user's own file" and (tmp_path / "digit7_1.png").exists()


def test_a_labels_file_that_is_a_link_is_refused_and_not_written_through(tmp_path):
    from digitcli.errors import DataError

    folder = tmp_path / "mine"
    folder.mkdir()
    theirs = tmp_path / "their-labels.csv"
    theirs.write_text("file,label\n")
    (folder / "labels.csv").symlink_to(theirs)
    (folder / "digit1_1.csv").write_bytes((SAMPLES / "digit1_1.csv").read_bytes())
    (folder / "digit1_1.png").write_bytes(ONE)  # a sample to recover: a write the link must not take
    with pytest.raises(DataError, match="labels.csv: a symbolic link"):
        collect.SampleStore(folder)
    assert theirs.read_text() == "file,label\n" and (folder / "labels.csv").is_symlink()


def test_the_fine_tune_copy_and_the_download_do_not_follow_links(tmp_path):
    api = client(tmp_path / "mine")
    keep(api, 7)
    keep(api, 1, ONE)
    outside = tmp_path / "outside.csv"
    outside.write_bytes((SAMPLES / "digit3_1.csv").read_bytes())  # a valid digit CSV, but not ours
    store = collect.SampleStore(tmp_path / "mine")
    assert store.labels == {"digit7_1.csv": 7, "digit1_2.csv": 1}
    (tmp_path / "mine" / "digit7_1.csv").unlink()  # swapped for a link while the server runs
    (tmp_path / "mine" / "digit7_1.csv").symlink_to(outside)
    assert store.snapshot(tmp_path / "copy") == 1
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["digit1_2.csv", "labels.csv"]
    assert (tmp_path / "copy" / "labels.csv").read_text() == "file,label\ndigit1_2.csv,1\n"
    assert list(store.digits()[1]) == [1]
    assert api.get("/api/samples.csv").text.splitlines()[1:] == [store.kaggle_csv().splitlines()[1]]
    assert store.kaggle_csv().splitlines()[1].startswith("1,")


def test_serve_refuses_a_collect_folder_whose_labels_file_is_a_link(tmp_path, monkeypatch):
    from conftest import cli_run

    from digitcli.serve import server

    def bind(host, port):
        raise AssertionError("the server started on a labels file it would write through")

    monkeypatch.setattr(server, "bind", bind)
    theirs = tmp_path / "their-labels.csv"
    theirs.write_text("file,label\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "labels.csv").symlink_to(theirs)
    refused = cli_run("serve", "--model", SHIPPED_DENSE, "--collect", tmp_path / "mine", code=1)
    assert "labels.csv: a symbolic link" in refused.stderr and "Traceback" not in refused.stderr
