"""The samples `digitcli serve --collect DIR` keeps: per sample a 28 x 28 CSV in the seed's format
(the digit the model was given) and the drawing as a PNG, named digitD_N like sample_digits/, and
one `file,label` labels.csv. That is what `train --data DIR`, `--watch` and `predict-csv --labels`
read.

Every file is written aside under a name that no reader takes for a digit (".NAME.part") and renamed
into place; the labels file is rewritten the same way, after the sample's files are complete, so a
half-written sample never appears in it. A sample whose files were renamed into place but whose
label line was not (the server killed between the two) is recognised by its name when the folder is
next opened and gets its label back from that name."""

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from digitcli.errors import DataError
from digitcli.fileio import explain_os_error

LABELS = "labels.csv"
MAX_SAMPLES = 10_000
MAX_LABELS_BYTES = 4 << 20  # 10,000 lines of `digit9_10000.csv,9` are under 200 kB
SAMPLE_ID = re.compile(r"^digit([0-9])_([1-9][0-9]{0,5})$")


class Full(Exception):
    """The folder holds MAX_SAMPLES samples already (HTTP 409)."""


def csv_text(digit):
    """The seed's layout: 28 lines of 28 comma-separated 0-255 values, ink high."""
    return "\n".join(",".join(map(str, row)) for row in np.asarray(digit, dtype=int)) + "\n"


def write_aside(path, data):
    """Write `data` beside `path` under a hidden .part name, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def png_of(digit):
    """A 28 x 28 digit as PNG bytes (for a sample sent as a CSV, which has no drawing)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.asarray(digit, dtype=np.uint8), mode="L").save(out, format="PNG")
    return out.getvalue()


class SampleStore:
    """The collected samples of one folder. Safe to call from several threads."""

    def __init__(self, folder, max_samples=None):
        self.folder = Path(folder)
        self.max_samples = max_samples or MAX_SAMPLES
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"{self.folder}: cannot create the collect folder ({exc.strerror})") from None
        self.labels = self._read_labels()  # {file name: label}, in the file's order
        self._recover()

    @property
    def labels_path(self):
        return self.folder / LABELS

    def _read_labels(self):
        path = self.labels_path
        if not path.exists():
            return {}
        if path.stat().st_size > MAX_LABELS_BYTES:
            raise DataError(f"{path}: larger than {MAX_LABELS_BYTES:,} bytes; not a labels file of collected digits")
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not lines or lines[0].replace(" ", "").lower() != "file,label":
            raise DataError(f"{path}: not a `file,label` labels file; --collect needs a folder of its own")
        found = {}
        for number, line in enumerate(lines[1:], 2):
            name, _, label = line.partition(",")
            if not name.strip() and not label.strip():
                continue
            if not label.strip().isdigit() or int(label) > 9:
                raise DataError(f"{path}, line {number}: label {label.strip()!r} is not a digit 0-9")
            found[name.strip()] = int(label)
        return found

    def _write_labels(self, labels):
        text = "file,label\n" + "".join(f"{name},{label}\n" for name, label in labels.items())
        write_aside(self.labels_path, text.encode())
        self.labels = labels

    def _recover(self):
        """Label the complete samples a killed server left out of the labels file (see the module)."""
        lost = {}
        for path in sorted(self.folder.glob("digit*.csv")):
            found = SAMPLE_ID.match(path.stem)
            if found and path.name not in self.labels and path.with_suffix(".png").exists():
                lost[path.name] = int(found.group(1))
        if lost:
            self._write_labels({**self.labels, **lost})

    def _next_number(self):
        numbers = [int(m.group(2)) for m in map(SAMPLE_ID.match, (Path(n).stem for n in self.labels)) if m]
        return max(numbers, default=0) + 1

    def add(self, label, digit, png):
        """Keep a 28 x 28 digit with its label and drawing; returns its listing entry."""
        with self._lock:
            if len(self.labels) >= self.max_samples:
                raise Full(f"the collection holds {len(self.labels):,} samples, the most it keeps; delete some first")
            stem = f"digit{label}_{self._next_number()}"
            written = []
            try:
                for path, data in ((self.folder / f"{stem}.png", png), (self.folder / f"{stem}.csv", csv_text(digit))):
                    write_aside(path, data if isinstance(data, bytes) else data.encode())
                    written.append(path)
                self._write_labels({**self.labels, f"{stem}.csv": int(label)})
            except OSError as exc:
                for path in written:  # this sample's own files, never labelled: nothing else refers to them
                    path.unlink(missing_ok=True)
                raise explain_os_error(self.folder / f"{stem}.csv", exc) from None
            return self._entry(f"{stem}.csv", int(label))

    def remove(self, sample_id):
        """Drop a sample: its label line first, then its files. False when there is no such sample."""
        name = f"{sample_id}.csv"
        with self._lock:
            if not SAMPLE_ID.match(sample_id) or name not in self.labels:
                return False
            self._write_labels({k: v for k, v in self.labels.items() if k != name})
            for suffix in (".csv", ".png"):
                (self.folder / f"{sample_id}{suffix}").unlink(missing_ok=True)
            return True

    def _entry(self, name, label):
        return {"id": Path(name).stem, "label": label, "file": name}

    def listing(self):
        """What GET /api/samples answers: the samples, newest last, and the count per digit."""
        labels = dict(self.labels)
        counts = {str(d): 0 for d in range(10)}
        for label in labels.values():
            counts[str(label)] += 1
        samples = [self._entry(name, label) for name, label in labels.items()]
        return {"folder": str(self.folder), "count": len(labels), "per_digit": counts, "samples": samples}

    def drawing(self, sample_id):
        """The stored drawing's path, or None."""
        if not SAMPLE_ID.match(sample_id) or f"{sample_id}.csv" not in self.labels:
            return None
        path = self.folder / f"{sample_id}.png"
        return path if path.exists() else None

    def digits(self):
        """(images, labels) of every labelled sample, read as train --data reads them."""
        from digitcli.reading import digit_csv

        labels = dict(self.labels)
        images = [digit_csv.read(str(self.folder / name), invert=False).images for name in labels]
        stacked = np.concatenate(images) if images else np.zeros((0, 28, 28), np.uint8)
        return stacked, np.array(list(labels.values()), dtype=np.uint8)

    def kaggle_csv(self):
        """The whole set as one labelled CSV, as Kaggle's Digit Recognizer train.csv."""
        images, labels = self.digits()
        head = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
        rows = (f"{label}," + ",".join(map(str, image.reshape(784))) + "\n" for image, label in zip(images, labels))
        return head + "".join(rows)

    def snapshot(self, into):
        """Copy the labelled samples and a labels file naming only them into the folder `into`: what
        a fine-tune trains on, so samples kept or deleted meanwhile do not change its data."""
        into = Path(into)
        into.mkdir(parents=True)
        with self._lock:
            labels = dict(self.labels)
            for name in labels:
                shutil.copyfile(self.folder / name, into / name)
        (into / LABELS).write_text("file,label\n" + "".join(f"{n},{v}\n" for n, v in labels.items()))
        return len(labels)
