"""Fine-tuning from the page: POST/GET /api/finetune and POST /api/model/activate. The quick tests
run the job's worker processes with tests/fake_digitcli.py in place of `python -m digitcli`; the slow
one runs the real train and evaluate on tiny MNIST-format data."""

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHIPPED_DENSE, NearestSample, write_idx_folder
from test_collect import LOCAL, ONE, SEVEN, keep

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from digitcli.inference import predictors  # noqa: E402
from digitcli.inference.modelfile import ModelFile  # noqa: E402
from digitcli.serve import finetune  # noqa: E402
from digitcli.serve.app import create_app  # noqa: E402
from digitcli.serve.teach import TeachConfig  # noqa: E402

FAKE = [sys.executable, str(ROOT / "tests" / "fake_digitcli.py")]


class Always:
    """A predictor that reads every digit as `digit`: which model answered is then plain to see."""

    def __init__(self, digit):
        self.digit, self.backend = digit, f"always-{digit}"

    def probabilities(self, images):
        p = np.full((len(images), 10), 0.01, np.float32)
        p[:, self.digit] = 0.91
        return p


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A model of our own to serve (a copy of dense.keras), and MNIST-format data to mix in."""
    models = tmp_path / "models"
    models.mkdir()
    for suffix in (".keras", ".onnx"):
        shutil.copyfile(SHIPPED_DENSE.with_suffix(suffix), models / f"dense{suffix}")
    monkeypatch.setattr(predictors, "load_predictor", lambda model, backend="auto", note=None: Always(1))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "commands.jsonl"))
    return models / "dense.keras", write_idx_folder(tmp_path / "mnist", n_train=50, n_test=20)


def client(tmp_path, model, mix, launcher=FAKE, **config):
    teach = TeachConfig(str(tmp_path / "mine"), mix=mix and str(mix), launcher=launcher, **config)
    app = create_app(ModelFile.open(model), NearestSample(), teach)
    return TestClient(app, base_url=LOCAL, raise_server_exceptions=False)


def collect(api, n=20):
    for k in range(n):
        assert keep(api, 1 if k % 2 else 7, ONE if k % 2 else SEVEN).status_code == 201


def wait(api, until=("done", "failed"), seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = api.get("/api/finetune").json()
        if state["state"] in until:
            return state
        time.sleep(0.05)
    pytest.fail(f"the fine-tune did not finish: {state}")


def read_seven(api):
    answer = api.post("/api/predict", content=SEVEN, headers={"Content-Type": "image/png"}).json()
    return int(answer["records"][0]["prediction"])


def test_fine_tune_then_switch_and_switch_back(tmp_path, setup, monkeypatch):
    model, mix = setup
    api = client(tmp_path, model, mix)
    assert api.get("/api/finetune").json() == {"state": "idle", "mix": str(mix)}
    collect(api)
    started = api.post("/api/finetune", json={"epochs": 2})
    assert started.status_code == 202 and started.json()["state"] == "running"
    done = wait(api)
    out = tmp_path / "mine" / "models" / "tuned.keras"
    assert done["state"] == "done", done
    assert done["model"] == str(out) and done["epochs"] == 2 and done["epoch"] == 2
    assert done["progress"] == [{"epoch": 1, "val_accuracy": 0.1}, {"epoch": 2, "val_accuracy": 0.2}]
    assert done["before"] == {"own": {"accuracy": 0.5, "images": 2}, "mnist": {"accuracy": 0.995, "images": 100}}
    assert done["after"] == {"own": {"accuracy": 0.9, "images": 2}, "mnist": {"accuracy": 0.99, "images": 100}}
    commands = [json.loads(line) for line in (tmp_path / "commands.jsonl").read_text().splitlines()]
    train = next(c for c in commands if c["args"][0] == "train")["args"]
    assert train[:9] == ["train", "--from", str(model), "--data", train[4], "--mix", str(mix), "--epochs", "2"]
    assert "--lr" not in train and "--freeze" not in train  # --from's defaults for small sets apply
    assert next(c for c in commands if c["args"][0] == "train")["labels"].count("\n") == 21  # a copy of all 20
    assert not Path(train[4]).exists()  # the copy is gone

    assert read_seven(api) == 7  # still the model it started with (NearestSample)
    switched = api.post("/api/model/activate", json={"path": str(out)})
    assert switched.status_code == 200 and switched.json()["model"]["file"] == "tuned.keras"
    assert switched.json()["previous"] == str(model)
    assert read_seven(api) == 1 and api.get("/api/health").json()["model"] == "tuned.keras"
    back = api.post("/api/model/activate", json={"path": "previous"})
    assert back.status_code == 200 and back.json()["model"]["file"] == "dense.keras"
    assert read_seven(api) == 7 and api.get("/api/model").json()["file"] == "dense.keras"


def test_a_second_fine_tune_while_one_runs_gets_409(tmp_path, setup, monkeypatch):
    model, mix = setup
    monkeypatch.setenv("FAKE_TRAIN_SLEEP", "0.5")
    api = client(tmp_path, model, mix)
    collect(api)
    assert api.post("/api/finetune", json={"epochs": 2}).status_code == 202
    second = api.post("/api/finetune", json={"epochs": 1})
    assert second.status_code == 409 and "running" in second.json()["error"]
    assert wait(api)["state"] == "done"
    assert api.post("/api/finetune", json={"epochs": 1}).status_code == 202  # once done, another may start
    wait(api)


@pytest.mark.parametrize("how", ["fails", "killed"])
def test_a_failed_or_killed_fine_tune_leaves_the_model_and_samples_alone(tmp_path, setup, monkeypatch, how):
    model, mix = setup
    monkeypatch.setenv("FAKE_TRAIN_FAIL" if how == "fails" else "FAKE_TRAIN_SLEEP", "1" if how == "fails" else "30")
    api = client(tmp_path, model, mix)
    collect(api)
    before = {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir() if p.is_file()}
    assert api.post("/api/finetune").status_code == 202
    if how == "killed":
        wait(api, until=("running",))
        while api.get("/api/finetune").json()["step"] != "training":
            time.sleep(0.05)
        api.app.state.finetune.kill()
    failed = wait(api)
    assert failed["state"] == "failed"
    assert ("the fake training failed" if how == "fails" else "exit status -9") in failed["error"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir() if p.is_file()} == before
    assert not (tmp_path / "mine" / "models" / "tuned.keras").exists()
    assert read_seven(api) == 7 and api.get("/api/health").json()["model"] == "dense.keras"
    refused = api.post("/api/model/activate", json={"path": str(tmp_path / "mine" / "models" / "tuned.keras")})
    assert refused.status_code == 400


def test_refusals(tmp_path, setup):
    model, mix = setup
    api = client(tmp_path, model, mix)
    few = api.post("/api/finetune")
    assert few.status_code == 422 and "at least 20" in few.json()["error"] and "0 kept" in few.json()["error"]
    collect(api)
    for body in ({"epochs": 0}, {"epochs": 21}, {"epochs": "3"}, {"epochs": True}, [1]):
        assert api.post("/api/finetune", json=body).status_code == 400, body
    assert api.post("/api/finetune", content=b"{not json").status_code == 400
    assert api.post("/api/finetune", content=b" " * 5000).status_code == 413
    assert api.post("/api/finetune", json={}, headers={"Origin": "http://evil.example"}).status_code == 403
    assert api.get("/api/finetune").json()["state"] == "idle"  # none of them started one

    assert api.post("/api/model/activate", json={"path": "previous"}).status_code == 409  # nothing before
    assert api.post("/api/model/activate", json={}).status_code == 400
    elsewhere = api.post("/api/model/activate", json={"path": str(ROOT / "models" / "cnn.keras")})
    assert elsewhere.status_code == 400 and "not a model this server may switch to" in elsewhere.json()["error"]
    assert api.post("/api/model/activate", json={"path": str(model)}, headers={"Origin": "http://x"}).status_code == 403
    assert api.get("/api/health").json()["model"] == "dense.keras"


def test_without_mnist_the_answer_says_what_mix_needs(tmp_path, setup):
    model, _ = setup
    api = client(tmp_path, model, None)
    collect(api)
    state = api.get("/api/finetune").json()
    assert state["mix"] is None and "--mix" in state["mix_needed"] and "DIGITCLI_DATA" in state["mix_needed"]
    refused = api.post("/api/finetune")
    assert refused.status_code == 422 and refused.json()["error"] == finetune.NEEDS_MIX


def test_a_switch_keeps_requests_under_way_on_their_model(tmp_path, setup):
    from digitcli.serve.models import Served

    model, _ = setup
    served = Served(ModelFile.open(model), Always(7))
    served.allow(model)
    under_way = served.current  # what a request read at its start
    served.activate(model)
    assert under_way.predictor.digit == 7 and served.current.predictor.digit == 1
    assert served.switch_back() is under_way and served.current.predictor.digit == 7


@pytest.mark.slow
def test_a_real_fine_tune_publishes_by_the_usual_rules(tmp_path, monkeypatch):
    """train and evaluate for real, one epoch on tiny data: the second fine-tune keeps the first as
    tuned.1.keras."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    mix = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=50)
    api = client(tmp_path, SHIPPED_DENSE, mix, launcher=None)
    collect(api)
    for _ in range(2):
        assert api.post("/api/finetune", json={"epochs": 1}).status_code == 202
        done = wait(api, seconds=300)
        assert done["state"] == "done", done
    out = tmp_path / "mine" / "models" / "tuned.keras"
    assert done["epoch"] == 1 and len(done["progress"]) == 1 and done["kept"] == str(out.with_name("tuned.1.keras"))
    assert ModelFile.open(out).metadata["settings"]["init_from"] == str(SHIPPED_DENSE)
    assert out.with_name("tuned.1.keras").exists() and out.with_suffix(".onnx").exists()
    assert done["before"]["mnist"]["images"] == 50 and done["before"]["own"]["images"] == 2
    assert 0 <= done["after"]["own"]["accuracy"] <= 1
    assert api.post("/api/model/activate", json={"path": str(out)}).json()["model"]["file"] == "tuned.keras"


def test_predictions_go_on_while_the_server_switches(tmp_path, setup, monkeypatch):
    """Loading the new model takes a while (here: until three requests were answered meanwhile, or
    30 s): requests meanwhile are answered, by the old one."""
    import threading

    model, mix = setup
    answered_meanwhile = threading.Event()

    def slow_load(model, backend="auto", note=None):
        answered_meanwhile.wait(30)
        return Always(1)

    monkeypatch.setattr(predictors, "load_predictor", slow_load)
    api = client(tmp_path, model, mix)
    answers = {}
    switch = threading.Thread(
        target=lambda: answers.update(switch=api.post("/api/model/activate", json={"path": str(model)}))
    )
    switch.start()
    meanwhile = []
    while switch.is_alive():
        meanwhile.append(read_seven(api))
        if len(meanwhile) >= 3:
            answered_meanwhile.set()
    switch.join()
    assert answers["switch"].status_code == 200
    # Answered throughout, by the model being replaced until the new one is in (a request racing the
    # switch may already meet the new one): never refused, never a mixture afterwards.
    assert meanwhile[:3] == [7, 7, 7] and meanwhile == sorted(meanwhile, reverse=True)
    assert read_seven(api) == 1


def test_a_second_fine_tune_keeps_the_first_as_tuned_1_and_the_server_follows_it(tmp_path, setup):
    model, mix = setup
    api = client(tmp_path, model, mix)
    collect(api)
    out = tmp_path / "mine" / "models" / "tuned.keras"
    api.post("/api/finetune", json={"epochs": 1})
    assert wait(api)["state"] == "done"
    assert api.post("/api/model/activate", json={"path": str(out)}).json()["model"]["file"] == "tuned.keras"
    api.post("/api/finetune", json={"epochs": 1})  # from the served tuned.keras, published over it
    second = wait(api)
    assert second["state"] == "done", second["error"]
    assert second["from"] == str(out) and second["kept"] == str(out.with_name("tuned.1.keras"))
    assert api.get("/api/health").json()["model"] == "tuned.1.keras"  # the file the served model now lives in
    api.post("/api/finetune", json={"epochs": 1})
    assert wait(api)["from"] == str(out.with_name("tuned.1.keras"))  # not the unaccepted second model
    assert api.post("/api/model/activate", json={"path": str(out.with_name("tuned.1.keras"))}).status_code == 200
