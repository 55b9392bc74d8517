"""The README's set-up commands are the ones CI runs, and the examples on every page (README.md and
docs/*.md) match the code: each command shown is run here or by the test its block's marker names."""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from docpages import PAGES, blocks, marked_block, page_name, page_with

from digitcli import settings as defaults


def block(tag):
    return subprocess.run(
        ["bash", "-c", f"source <(sed -n '/^readme_block()/,/^}}/p' .ci/run); readme_block {tag}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_ci_runs_the_readme_commands():
    test_cmd, main_cmd = block("test"), block("main")
    assert test_cmd.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install '.[test]'")
    assert test_cmd.endswith("python -m pytest")
    assert main_cmd.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && digitcli train")
    assert len(test_cmd.splitlines()) == len(main_cmd.splitlines()) == 1


@pytest.mark.real_model
def test_readme_accuracies_match_the_shipped_models():
    import json

    for name in ("dense", "cnn"):
        meta = json.loads((ROOT / "models" / f"{name}.json").read_text())
        row = page_with(f"| `models/{name}.keras`")
        assert f"{100 * meta['test']['accuracy']:.2f}%" in row
        assert f"best epoch {meta['best_epoch']} of {len(meta['history'])}" in row
        made_with = re.search(r"`(digitcli train [^`]*)`", row).group(1)
        settings, chosen = meta["settings"], defaults.MODEL_DEFAULTS[meta["architecture"]]
        schedule = settings.get("schedule", "constant")  # made before --schedule existed: constant
        assert f"--epochs {settings['epochs']}" in made_with or settings["epochs"] == chosen["epochs"]
        assert f"--batch-size {settings['batch_size']}" in made_with or settings["batch_size"] == chosen["batch_size"]
        assert f"--lr {settings['lr']}" in made_with or settings["lr"] == chosen["adam_lr"]
        assert f"--schedule {schedule}" in made_with or schedule == chosen["schedule"]
        assert f"--out models/{name}.keras" in made_with


def console_examples():
    """(page, command, expected stdout lines) for each `$ ...` line in the console blocks of every page;
    an example shown on two pages (the README's tour repeats some) is run once."""
    examples, seen = [], set()
    for page in PAGES:
        for _, lang, body in blocks(page):
            if lang != "console":
                continue
            for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
                command, *output = chunk.rstrip("\n").split("\n")
                expected = [line for line in output if not line.rstrip().endswith("(stderr)")]
                while expected and not expected[-1].strip():
                    expected.pop()
                if (command, tuple(expected)) not in seen:
                    seen.add((command, tuple(expected)))
                    examples.append((page, command, expected))
    return examples


def _mask(line):
    # Wall-clock seconds differ from run to run; everything else must match exactly.
    return re.sub(r"in \d+\.\d s;", "in N s;", line)


def _example(page, command, expected):
    # Training and exporting run TensorFlow for tens of seconds: those examples are in the slow set.
    slow = re.search(r"digitcli (train|export)\b", command)
    return pytest.param(command, expected, id=f"{page_name(page)}: {command}", marks=[pytest.mark.slow] if slow else [])


@pytest.mark.real_model
@pytest.mark.parametrize("command,expected", [_example(*example) for example in console_examples()])
def test_readme_example_output_is_real(command, expected, tmp_path):
    import os
    import shutil

    uses_data = "../shared/data/mnist" in command
    if uses_data and not (ROOT.parent / "shared" / "data" / "mnist").exists():
        pytest.skip("needs the real MNIST files")
    if shutil.which("digitcli") is None:
        pytest.skip("digitcli is not installed on PATH")
    # Run in a scratch copy of the layout, so examples that write runs/ or plots/ leave the repo alone.
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("models", "sample_digits"):
        (work / name).symlink_to(ROOT / name)
    if uses_data:
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCLI_")}
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [_mask(x) for x in result.stdout.splitlines()] == [_mask(x) for x in expected]


@pytest.mark.real_model
def test_the_fine_tuning_walkthrough_reads_the_writer_better_and_keeps_mnist(real_data, tmp_path):
    """The "Your own digits" commands (docs/fine-tuning.md), run in a scratch folder: after fine-tuning,
    more of the writer's test digits are read right, and MNIST accuracy falls by at most 0.3 points."""
    block = marked_block("walkthrough")
    assert len(block) == 5
    outputs = []
    for command in block:
        command = (
            command.replace("python sample_digits/", f"python {ROOT}/sample_digits/")
            .replace("models/robust.keras", str(ROOT / "models" / "robust.keras"))
            .replace("../shared/data/mnist", str(Path(real_data).resolve()))
        )
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "DIGITCLI_MODEL": str(ROOT / "models" / "robust.keras")},
        )
        assert result.returncode == 0, (command, result.stderr[-2000:])
        outputs.append(result.stdout)
    before, after = (int(re.search(r"accuracy: (\d+) of 250 correct", outputs[i]).group(1)) for i in (1, 3))
    assert after > before
    tuned = float(re.search(r"accuracy\s+([\d.]+)%", outputs[4]).group(1))
    shipped = json.loads((ROOT / "models" / "robust.json").read_text())["test"]["accuracy"] * 100
    assert shipped - tuned <= 0.3
    row = page_with("| fine-tuned from it, as above")
    assert f"{tuned:.2f}%" in row  # the page's figure is what this run measured


@pytest.mark.slow
def test_the_best_preset_commands_train_five_runs_and_score_their_ensemble(tmp_path):
    """The `best` commands (docs/experiments.md), run in a scratch folder on small made-up data and one epoch (the
    real ones take about an hour): five bn-cnn runs with seeds 0-4, then their ensemble's score,
    which must be the accuracy of the five models' mean probabilities."""
    from conftest import write_idx_folder

    from digitcli.data.datasets import load_raw
    from digitcli.inference.predictors import load_predictor

    data = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=100, ink=250, noise=5)
    block = marked_block("best")
    assert len(block) == 2 and "--preset best --runs 5" in block[0]
    outputs = []
    for command, extra in zip(block, (" --epochs 1", " --format json")):
        result = subprocess.run(
            ["bash", "-c", command.replace("../shared/data/mnist", str(data)) + extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (command, result.stderr[-2000:])
        outputs.append(result.stdout)
    paths = [tmp_path / "runs" / f"best.run{k}.keras" for k in range(1, 6)]
    saved = [json.loads(p.with_suffix(".json").read_text()) for p in paths]
    assert [(m["settings"]["preset"], m["architecture"], m["settings"]["seed"]) for m in saved] == [
        ("best", "bn-cnn", seed) for seed in range(5)
    ]
    assert all(m["settings"]["augment"] == "affine" and m["settings"]["epochs"] == 1 for m in saved)
    result = json.loads(outputs[1])
    assert result["architecture"] == "ensemble of 5: " + ", ".join(["bn-cnn"] * 5)
    raw = load_raw(data)
    mean = np.mean([load_predictor(p).probabilities(raw.x_test) for p in paths], axis=0)
    assert result["accuracy"] == pytest.approx(float((mean.argmax(axis=1) == raw.y_test).mean()))
