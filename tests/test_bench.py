"""The benchmark scripts run (briefly) and print the figures they promise. Their timings are
reported by running them in full, never asserted here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def bench(*args, timeout=600):
    result = subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()


def test_train_bench_prints_a_row_per_run_and_the_ratio(real_data):
    lines = bench("bench/train_bench.py", "--data", real_data, "--presets", "seed001", "--plain", "--epochs", "1")
    rows = {line.split()[0]: line for line in lines[2:-1]}  # the last line is the ratio
    assert lines[1].split()[:6] == ["run", "epochs", "seconds", "s/epoch", "test", "acc"]
    assert rows["plain"].split()[3] == "1" and rows["seed001"].split()[1] == "1"
    assert 0.9 < float(rows["seed001"].split()[4].rstrip("%")) <= 100
    assert 0 < float(lines[-1].split()[-1]) < 10  # seed001 / plain s/epoch


def test_train_bench_times_the_defaults_against_their_goal(real_data):
    lines = bench("bench/train_bench.py", "--data", real_data, "--presets", "", "--defaults", "dense", "--epochs", "1")
    assert len(lines) == 3 and lines[2].startswith("defaults --model dense")
    fields = lines[2].split()
    assert fields[3] == "1" and 0.9 < float(fields[6].rstrip("%")) <= 100
    assert "goal: 98% within 20 s of training: missed" in lines[2]  # one epoch never reaches 98%


def test_train_bench_tries_other_settings_against_the_goal(real_data):
    lines = bench(
        "bench/train_bench.py",
        "--data",
        real_data,
        "--presets",
        "",
        "--try",
        '{"epochs": 1, "batch_size": 512, "schedule": "constant"}',
    )
    assert len(lines) == 3 and lines[2].startswith("try epochs=1 batch_size=512 schedule=constant")
    fields = lines[2].split()
    assert fields[4] == "1" and 0.9 < float(fields[7].rstrip("%")) <= 100
    assert "goal: 98% within 20 s of training: missed" in lines[2]


def test_levers_bench_prints_a_ratio_per_variant(real_data):
    lines = bench("bench/levers.py", "--data", real_data, "--epochs", "1", "--only", "2")
    assert lines[0].split() == ["variant", "first", "s", "s/epoch", "ratio"]
    assert lines[1].split()[-1] == "1.00" and len(lines) == 3


def test_predict_speed_bench(real_data):
    lines = bench("bench/predict_speed.py", "--data", real_data, "--repeat", "1")
    assert lines[1].startswith("one file, default (ONNX)") and "images/s" in lines[4]
    assert "first 10,000 MNIST test images" in lines[-1]


def test_serve_load_bench_prints_throughput_latency_and_memory():
    lines = bench("bench/serve_load.py", "--clients", "20", "--seconds", "1", timeout=120)
    assert lines[0].startswith("sequential reference: 40 digits")
    assert float(lines[1].split(": ")[-1].split()[0].replace(",", "")) > 0  # requests/s
    assert lines[2].startswith("latency: p50 ") and " p99 " in lines[2]
    assert lines[3].startswith("answers differing from the sequential ones: 0 of ")
    assert lines[4].startswith("mixed, 1 in 20 a 12 MP photo: ") and lines[4].endswith(", 0 not 200")
    assert lines[5].startswith("health while a 12 MP photo was read (") and "slowest" in lines[5]
    assert 20 < float(lines[6].split(": ")[1].split()[0]) < 2000  # MB
    assert lines[7] == "server exit status after SIGTERM: 0"
    assert lines[8].startswith("reference, a Starlette app answering a constant: ")
    assert float(lines[9].split("requests/s ")[1].split(",")[0]) > 0  # the ratio to the reference


def test_segmentation_tuning_prints_the_shipped_weights_the_best_and_the_oracle(real_data):
    lines = bench("bench/tune_segmentation.py", "--data", real_data, "--singles", "6", "--strips", "3")
    assert lines[0].startswith("shipped weights: singles ") and "strips " in lines[0]
    assert all(line.startswith("singles ") and "Weights(" in line for line in lines[1:6])
    assert lines[6].startswith("oracle, singles: ") and lines[7].startswith("oracle, strips: ")


def test_nondigits_bench_prints_the_refusal_rate_per_kind_and_on_mnist(real_data):
    lines = bench("bench/nondigits.py", "--data", real_data, "--per-kind", "3")
    assert lines[0].split() == ["kind", "images", "refused", "rate"]
    rows = {line.split()[0]: line.split() for line in lines[1:8]}
    assert list(rows) == ["dot", "dash", "scribble", "letter", "crossed-out", "lined-paper", "non-digits"]
    assert rows["dot"][1:] == ["3", "3", "100.0%"] and rows["non-digits"][1] == "18"
    mnist = lines[8].split()
    assert mnist[:3] == ["MNIST", "test", "10000"] and float(mnist[4].rstrip("%")) <= 0.5


def test_finetune_bench_prints_each_figure_its_command_and_the_targets(real_data, tmp_path):
    lines = bench("bench/finetune_bench.py", "--data", real_data, "--out", tmp_path)
    assert lines[1] == (
        f"command: digitcli train --from models/robust.keras --data {tmp_path}/mine --mix {Path(real_data).resolve()} "
        f"--out {tmp_path}/tuned.keras --overwrite"
    )
    assert '"lr": 0.001, "epochs": 1, "freeze": "convolutions"' in lines[3]  # --from's defaults for small sets
    before, after = map(float, re.findall(r"([\d.]+)%", lines[4]))
    assert before < 99 and after >= 99  # the default model misreads the writer's flagged 1s; the tuned one learns them
    assert lines[5].startswith("MNIST test set: 99.54% before") and re.match(r"loop: [\d.]+ s \(", lines[6])
    assert lines[7].startswith("targets: writer >= 99%: met; MNIST falls <= 0.2 points: ")
    assert len((tmp_path / "next" / "labels.csv").read_text().splitlines()) == 201


def test_reproducibility_bench_compares_settings_bit_for_bit(tiny_mnist):
    lines = bench("bench/reproducibility.py", "--data", tiny_mnist, "--limit", "200", "--only",
                  "default (this CPU: AVX-512, AMX)", "default again (same machine, same settings)")  # fmt: skip
    assert lines[0].split()[:2] == ["setting", "last"]
    first, again = lines[1].split(), lines[2].split()
    assert first[-4:-2] == again[-4:-2] and again[-2] == "yes"  # the same loss and accuracy on a rerun
