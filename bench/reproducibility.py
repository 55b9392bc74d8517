"""Does the same seed give the same training on another x86 machine? Trains one short run per
setting, each in a fresh process, and compares the per-epoch losses bit for bit.

    python bench/reproducibility.py --data ../shared/data/mnist [--limit 5000] [--epochs 1] [--model cnn]

A machine with another instruction set is stood in for by oneDNN's ONEDNN_MAX_CPU_ISA, which makes
oneDNN (TensorFlow's CPU kernels for convolutions and matrix products) use only that ISA's kernels,
as it would on such a CPU. TF_ENABLE_ONEDNN_OPTS=0 turns oneDNN off (Eigen's kernels instead).
Each line prints the training loss and test accuracy as stored, whether they are identical to the
first line's, and the training seconds (2-core machine shared with other work: compare ratios).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "default (this CPU: AVX-512, AMX)": {},
    "default again (same machine, same settings)": {},
    "oneDNN limited to AVX-512 without AMX": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "oneDNN limited to AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "one thread": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN off again": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN off, limited to AVX2 (no effect expected)": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "oneDNN off, one thread": {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "1"},
}


def run(args, env, out):
    command = [sys.executable, "-m", "digitcli", "train", "--model", args.model, "--data", args.data, "--limit",
               str(args.limit), "--epochs", str(args.epochs), "--seed", "1", "--out", str(out), "--no-onnx",
               "--quiet", "--overwrite", *args.extra]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    meta = json.loads(out.with_suffix(".json").read_text())
    losses = [row["loss"] for row in meta["history"]]
    return losses, meta["test"]["accuracy"], meta["train_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="names of SETTINGS to run (default: all)")
    parser.add_argument("extra", nargs="*", help="more train options after --, e.g. -- --augment affine")
    args = parser.parse_args()
    first = None
    print(f"{'setting':52s} {'last training loss':>22s} {'test acc':>9s} {'same':>5s} {'seconds':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, env) in enumerate(SETTINGS.items()):
            if args.only and name not in args.only:
                continue
            losses, accuracy, seconds = run(args, env, Path(tmp) / f"r{k}.keras")
            first = first or losses
            same = "yes" if losses == first else "no"  # bit for bit, every epoch
            print(f"{name:52s} {losses[-1]!r:>22s} {100 * accuracy:8.2f}% {same:>5s} {seconds:8.1f}", flush=True)


if __name__ == "__main__":
    main()
