"""Teach it a hand: 50 labelled digits of the benchmark writer (bench/writer.py, 5 of each), a fine-tune,
then that writer's next 200 digits and MNIST's test set, read before and after.

    python bench/finetune_bench.py --data ../shared/data/mnist [--model models/robust.keras] [--train-args "..."]

The writer's digits are written first (the collecting, not timed). The loop is then timed as the
page's Fine-tune runs it, each step a `digitcli` command in its own process: score the model before,
train --from it, score the new model. Printed: each command, each figure, the loop's wall time and
its parts, and the targets (the writer's 200 >= 99%, MNIST falls <= 0.2 points, the loop <= 2 minutes).
--train-args adds options to train's command (--lr 0.001 --epochs 5 --freeze convolutions, say):
the fine-tune's defaults for small sets were chosen by running this with some.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import writer  # noqa: E402

LEARN, NEXT = 50, 200
TARGETS = {"writer": 0.99, "mnist_drop_points": 0.2, "loop_seconds": 120}


def digitcli(*args):
    """Run a digitcli command as a user would, in its own process; its stdout."""
    command = [sys.executable, "-m", "digitcli", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"`{shlex.join(command[2:])}` failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def scores(model, theirs, mnist):
    """(the writer's digits read correctly, of how many; MNIST's test accuracy) for `model`."""
    said = digitcli("predict-csv", theirs, "--model", model, "--labels", theirs / "labels.csv").splitlines()[-1]
    right, total = map(int, re.match(r"accuracy: (\d+) of (\d+) correct", said).groups())
    evaluated = json.loads(digitcli("evaluate", model, "--data", mnist, "--format", "json"))
    return right / total, evaluated["accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("DIGITCLI_DATA"), help="MNIST's folder [$DIGITCLI_DATA]")
    parser.add_argument("--model", default="models/robust.keras")
    parser.add_argument("--train-args", default="", help="more options for train (quoted)")
    parser.add_argument("--writer-seed", type=int, default=writer.SEED)
    parser.add_argument("--out", default=None, help="keep the digits and the model here [a temporary folder]")
    args = parser.parse_args()
    if not args.data:
        sys.exit("give --data (MNIST's folder) or set DIGITCLI_DATA")
    mnist = Path(args.data).resolve()
    with tempfile.TemporaryDirectory(prefix="finetune-bench-") as scratch:
        work = Path(args.out or scratch).resolve()
        mine = writer.write(work / "mine", 0, LEARN, args.writer_seed)
        theirs = writer.write(work / "next", LEARN, NEXT, args.writer_seed)
        tuned = work / "tuned.keras"
        command = ["train", "--from", args.model, "--data", mine, "--mix", mnist, "--out", tuned, "--overwrite"]
        command += shlex.split(args.train_args)
        start = time.perf_counter()
        before = scores(args.model, theirs, mnist)
        trained = time.perf_counter()
        said = digitcli(*command).strip()
        scored = time.perf_counter()
        after = scores(tuned, theirs, mnist)
        end = time.perf_counter()
        report(args, command, before, after, said, (start, trained, scored, end), tuned)


def report(args, command, before, after, said, times, tuned):
    start, trained, scored, end = times
    meta = json.loads(tuned.with_suffix(".json").read_text())
    drop = 100 * (before[1] - after[1])
    print(f"writer seed {args.writer_seed}: learns from its digits 0..{LEARN - 1}, read on {LEARN}..{LEARN + NEXT - 1}")
    print("command: digitcli " + shlex.join(map(str, command)))
    print(f"train: {said}")
    print(f"settings: {json.dumps({k: meta['settings'][k] for k in ('lr', 'epochs', 'freeze', 'schedule')})}")
    print(f"the writer's next {NEXT}: {100 * before[0]:.1f}% before, {100 * after[0]:.1f}% after")
    print(f"MNIST test set: {100 * before[1]:.2f}% before, {100 * after[1]:.2f}% after ({-drop:+.2f} points)")
    print(
        f"loop: {end - start:.1f} s (scoring before {trained - start:.1f} s, fine-tune {scored - trained:.1f} s, "
        f"scoring after {end - scored:.1f} s; training itself {meta['train_seconds']:.1f} s)"
    )
    met = {
        f"writer >= {100 * TARGETS['writer']:.0f}%": after[0] >= TARGETS["writer"],
        f"MNIST falls <= {TARGETS['mnist_drop_points']} points": drop <= TARGETS["mnist_drop_points"] + 1e-9,
        f"loop <= {TARGETS['loop_seconds']} s": end - start <= TARGETS["loop_seconds"],
    }
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in met.items()))


if __name__ == "__main__":
    main()
