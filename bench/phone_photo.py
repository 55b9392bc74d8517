"""How long a phone-sized photo takes: a 12-megapixel JPEG (4000 x 3000) of a handwritten number,
made from the sample digits, read in-process (as the server reads it) and by the whole command.

    python bench/phone_photo.py [--repeat 5] [--model models/robust.keras]

Printed, each the median of --repeat runs: the photo's reading in one process after a first warm-up
(decode, preparation, segmentation guided by the model, prediction), the whole `digitcli
predict-image` command as a shell runs it, and two references timed in the same run: Pillow decoding
the full JPEG (what any reader of the file pays without Pillow's reduced-scale draft), and a bare
`python -c "import numpy, scipy.ndimage, onnxruntime"` (the start-up any Python tool on this stack pays).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_photo(path):
    """The sample digits 2, 0, 2, 5 enlarged to 600 pixels high, dark on unevenly lit paper, with noise."""
    names = ("digit2_1.csv", "digit0_2.csv", "digit2_3.csv", "digit5_4.csv")
    row = np.hstack([np.loadtxt(ROOT / "sample_digits" / n, delimiter=",").astype(np.uint8) for n in names])
    ink = np.asarray(Image.fromarray(row).resize((2400, 600), Image.BILINEAR), dtype=np.float32) / 255
    page = np.zeros((3000, 4000), np.float32)
    page[1200:1800, 800:3200] = ink
    light = 0.85 - 0.1 * np.linspace(0, 1, 4000)[None, :]
    noise = np.random.default_rng(0).normal(0, 4, page.shape)
    pixels = np.clip((light * (1 - page) + 0.15 * page) * 255 + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).convert("RGB").save(path, "JPEG", quality=90)


def timed(run, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default=str(ROOT / "models" / "robust.keras"))
    args = parser.parse_args()

    from digitcli.inference.predictors import load_predictor
    from digitcli.photos.prepare import prepare
    from digitcli.reading.pipeline import Remembered

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "phone.jpg"
        make_photo(photo)
        predictor = load_predictor(args.model, note=lambda message: None)

        def in_process():
            remembered = Remembered(predictor)  # a fresh cache: every digit is predicted
            page = prepare(photo, read=remembered.network_probabilities)
            return "".join(map(str, remembered.probabilities(page.digits).argmax(1)))

        in_process()  # warm-up: the first model run and SciPy's first calls
        inside, read = timed(in_process, args.repeat)
        decode, _ = timed(lambda: Image.open(photo).load(), args.repeat)
        command = [
            sys.executable,
            "-m",
            "digitcli",
            "predict-image",
            str(photo),
            "--model",
            args.model,
            "--format",
            "csv",
        ]
        whole, out = timed(lambda: subprocess.run(command, capture_output=True, text=True).stdout, args.repeat)
        bare = [sys.executable, "-c", "import numpy, scipy.ndimage, onnxruntime"]
        start_up, _ = timed(lambda: subprocess.run(bare, check=True), args.repeat)
        size = Image.open(photo).size
        print(f"{size[0]} x {size[1]} JPEG ({photo.stat().st_size / 1e6:.1f} MB), read as {read!r}")
        print(f"  in one process (as the server reads it):   {inside:.3f} s")
        print(f"  reference: Pillow's full decode alone:     {decode:.3f} s")
        printed = out.splitlines()[1].split(",")[1] if len(out.splitlines()) > 1 else "nothing"
        print(f"  whole command, digitcli predict-image:     {whole:.3f} s (read as {printed!r})")
        print(f"  reference: importing numpy, scipy.ndimage, onnxruntime: {start_up:.3f} s")


if __name__ == "__main__":
    main()
