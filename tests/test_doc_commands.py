"""Every command block on every page is run by a test. Console blocks are run by test_readme.py and their
output compared; each bash block carries a `<!-- NAME -->` marker naming the test that runs it. The
blocks no other test runs are run here, in a scratch folder, as a user would type them."""

import json
import os
import re
import shutil
import signal
import subprocess
import urllib.request

import pytest
from conftest import ROOT, SAMPLES, write_idx_folder
from docpages import PAGES, blocks, marked_block, page_name

# marker -> (the file that runs the block, a string in it that shows it does)
RUNNERS = {
    "ci:main": (".ci/run", "readme_block main"),
    "ci:test": (".ci/run", "readme_block test"),
    "example:two-workers": ("tests/test_distribute.py", '"example:two-workers"'),
    "serve:curl": ("tests/test_serve.py", '"serve:curl"'),
    "walkthrough": ("tests/test_readme.py", '"walkthrough"'),
    "best": ("tests/test_readme.py", '"best"'),
    "fast": ("tests/test_presets.py", 'marked_block("fast")'),
    "calibrate": ("tests/test_doc_commands.py", '"calibrate"'),
    "seed001-runs": ("tests/test_doc_commands.py", '"seed001-runs"'),
    "completion": ("tests/test_doc_commands.py", '"completion"'),
    "serve:start": ("tests/test_doc_commands.py", '"serve:start"'),
    "serve:collect": ("tests/test_doc_commands.py", '"serve:collect"'),
    "collect:finetune": ("tests/test_doc_commands.py", '"collect:finetune"'),
    "nondigits": ("tests/test_bench.py", "nondigits.py"),
}


def test_every_bash_block_is_run_by_a_test():
    unmarked, unknown = [], []
    for page in PAGES:
        for marker, lang, body in blocks(page):
            if lang == "bash" and marker is None:
                unmarked.append(f"{page_name(page)}: {body.splitlines()[0]}")
            elif lang == "bash" and marker not in RUNNERS:
                unknown.append(f"{page_name(page)}: <!-- {marker} -->")
    assert unmarked == [], "mark each bash block with <!-- NAME --> and run it in a test (RUNNERS)"
    assert unknown == []
    for marker, (runner, mention) in RUNNERS.items():
        assert marked_block(marker)  # exactly one block carries each marker
        assert mention in (ROOT / runner).read_text(), (marker, runner)


def run(command, cwd, data=None, timeout=600):
    if data is not None:
        command = command.replace("../shared/data/mnist", str(data))
    env = {k: v for k, v in os.environ.items() if k not in ("DIGITCLI_MODEL", "DIGITCLI_DATA")}
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (command, result.stderr[-2000:])
    return result.stdout


@pytest.fixture
def digitcli_on_path():
    if shutil.which("digitcli") is None:
        pytest.skip("digitcli is not installed on PATH")


@pytest.fixture
def scratch(tmp_path):
    """A scratch folder laid out like the repository: sample_digits, and a copy of the shipped models
    (calibrate writes into its model)."""
    (tmp_path / "sample_digits").symlink_to(SAMPLES)
    shutil.copytree(ROOT / "models", tmp_path / "models")
    return tmp_path


def test_the_completion_lines_give_each_shell_its_script(digitcli_on_path, tmp_path):
    bash_line, zsh_line, fish_line = (line.split("#")[0].strip() for line in marked_block("completion"))
    registered = run(bash_line + "; complete -p digitcli", tmp_path)
    assert "_digitcli_completion" in registered and registered.rstrip().endswith("digitcli")
    zsh = run(re.search(r'"\$\((.*)\)"', zsh_line).group(1), tmp_path)
    assert "#compdef digitcli" in zsh
    fish = run(fish_line.removesuffix("| source"), tmp_path)
    assert "complete --no-files --command digitcli" in fish


@pytest.mark.slow
@pytest.mark.real_model
def test_the_calibrate_commands_fit_the_temperature_the_table_shows(digitcli_on_path, real_data, scratch):
    calibrate, evaluate = marked_block("calibrate")
    run(calibrate, scratch, real_data)
    shown = run(evaluate, scratch, real_data)
    row = next(
        line for line in (ROOT / "docs" / "calibration.md").read_text().splitlines() if line.startswith("| robust |")
    )
    t, _, ece, _, nll = (cell.strip() for cell in row.strip("|").split("|")[1:])
    assert f"T = {t})" in shown and re.search(rf"^ECE\s+{re.escape(ece)} ", shown, re.M), shown
    assert re.search(rf"^NLL\s+{nll} ", shown, re.M)
    assert "plots/robust-reliability.png" in shown.splitlines()
    assert (scratch / "plots" / "robust-reliability.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_six_watched_runs_and_their_plots(digitcli_on_path, tmp_path):
    """The seed001 experiment on small made-up data, one epoch and two runs each (the real ones take
    minutes): each run's history has the watched digits' accuracy, and each plot is drawn."""
    (tmp_path / "sample_digits").symlink_to(SAMPLES)
    data = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=100, ink=250, noise=5)
    commands = marked_block("seed001-runs")
    assert [c.split()[1] for c in commands] == ["train", "plot", "train", "plot"]
    for command in commands:
        if " train " in f" {command} ":
            run(command.replace("--runs 6", "--runs 2") + " --epochs 1", tmp_path, data)
        else:
            drawn = run(command, tmp_path).split()
            assert drawn and all((tmp_path / p).read_bytes()[:4] == b"\x89PNG" for p in drawn)
    for name in ("all40", "five"):
        for k in (1, 2):
            history = json.loads((tmp_path / "runs" / f"{name}.run{k}.json").read_text())["history"]
            assert len(history) == 1 and 0 <= history[0]["watch_accuracy"] <= 1


def start_server(command, cwd, data=None):
    command = command.split("#")[0].strip() + " --port 0"  # the page's port may be taken here
    if data is not None:
        command = command.replace("../shared/data/mnist", str(data))
    env = {k: v for k, v in os.environ.items() if k not in ("DIGITCLI_MODEL", "DIGITCLI_DATA")}
    server = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in server.stderr:
        lines.append(line)
        found = re.search(r"http://[\d.]+:\d+/\S*", line)
        if found:
            return server, found.group(0)
    raise AssertionError("".join(lines[-20:]))


def stop(server):
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0


def get(url):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


@pytest.mark.slow
@pytest.mark.real_model
def test_the_serve_command_serves_the_default_model(digitcli_on_path, scratch):
    (line,) = marked_block("serve:start")
    server, page = start_server(line, scratch)
    try:
        assert get(page + "api/health") == {"status": "ok", "model": "robust.keras", "backend": "onnx"}
        with urllib.request.urlopen(page, timeout=30) as answer:
            assert b"<canvas" in answer.read()
    finally:
        stop(server)


@pytest.mark.slow
@pytest.mark.real_model
def test_the_collect_command_keeps_a_digit_in_the_seeds_format(digitcli_on_path, real_data, scratch):
    (line,) = marked_block("serve:collect")
    server, page = start_server(line, scratch, real_data)
    try:
        assert get(page + "api/samples")["count"] == 0
        body = (SAMPLES / "digit3_1.csv").read_bytes()
        request = urllib.request.Request(
            page + "api/samples?label=3", data=body, headers={"Content-Type": "text/csv"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
        assert get(page + "api/samples")["count"] == 1
    finally:
        stop(server)
    assert (scratch / "my_hand" / "labels.csv").read_text().splitlines()[1:] == ["digit3_1.csv,3"]


@pytest.mark.slow
@pytest.mark.real_model
def test_the_command_line_fine_tune_on_a_collected_folder(digitcli_on_path, real_data, scratch):
    """The page's fine-tune on the command line, on a folder in the collected format (the 40 sample
    digits and their labels.csv), with --from's defaults for small sets."""
    (line,) = marked_block("collect:finetune")
    shutil.copytree(SAMPLES, scratch / "my_hand", ignore=shutil.ignore_patterns("*.py", "*.png", "*.jpg"))
    run(line, scratch, real_data)
    made = json.loads((scratch / "runs" / "mine.json").read_text())
    assert made["architecture"] == "cnn" and len(made["history"]) == 1
    assert (made["settings"]["lr"], made["settings"]["freeze"]) == (0.001, "convolutions")
    assert made["test"]["accuracy"] >= 0.75  # the held-out tenth of the 40 digits
