"""The samples `digitcli serve --collect DIR` keeps: per sample a 28 x 28 CSV in the seed's format
(the digit the model was given) and the drawing as a PNG, named digitD_N like sample_digits/, and
one `file,label` labels.csv. That is what `train --data DIR`, `--watch` and `predict-csv --labels`
read.

Every file is written aside under a name that no reader takes for a digit (".NAME.part") and renamed
into place; the labels file is rewritten the same way, after the sample's files are complete, so a
half-written sample never appears in it. A sample whose files were renamed into place but whose
label line was not (the server killed between the two) is recognised by its name when the folder is
next opened and gets its label back from that name.

The folder may hold the user's own files, and --collect must lose none of them. A sample is only a
pair digitD_N.csv + digitD_N.png that are regular files (never links, opened with O_NOFOLLOW), the CSV
a 28 x 28 digit in the seed's layout and labelled D, the PNG a PNG: what add() writes. Nothing else is
listed, served, trained on or deleted, a new sample never takes a name already there (of any kind),
and the labels file's other lines are written back as they were. A labels.csv that is a link is
refused rather than written through. A file of the user's that is all of this too is a sample as the
server would have written it: DELETE of it is the user telling the server to delete it."""

import os
import re
import stat
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
TAKEN = re.compile(r"^digit[0-9]_([0-9]+)(\.|$)")  # any file of that stem holds its number
MAX_CSV_BYTES = 28 * 28 * 4  # 28 lines of 28 "255," at most
MAX_PNG_BYTES = 4 << 20  # teach.py takes bodies of 2 MiB at most
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def read_own(path, limit, head=None):
    """The bytes of `path` (all, or the first `head`) when it is a regular file of at most `limit`
    bytes, not a link; else None. O_NONBLOCK: a FIFO left there must not hang the server."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_size > limit:
            return None
        try:
            data = fh.read(head or limit + 1)
        except OSError:
            return None
    return data if len(data) <= limit else None


def digit_of(data):
    """The 28 x 28 digit of a CSV in the seed's layout (csv_text's), or None."""
    rows = [] if data is None else data.decode("ascii", errors="replace").splitlines()
    cells = [row.split(",") for row in rows]
    if len(cells) != 28 or any(len(row) != 28 for row in cells):
        return None
    if not all(v.strip().isdigit() and len(v.strip()) <= 3 and int(v) <= 255 for row in cells for v in row):
        return None
    return np.array(cells, dtype=np.uint8)


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
        self._lines = self._read_labels()  # the labels file's lines after its head, as they are
        self.labels = {}  # {file name: label} of the samples, in the file's order
        for name, label in map(_name_label, self._lines):
            if self._is_sample(name, label):
                self.labels[name] = label
        self._recover()

    @property
    def labels_path(self):
        return self.folder / LABELS

    def _read_labels(self):
        path = self.labels_path
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise DataError(f"{path}: cannot read it ({exc.strerror})") from None
        if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise DataError(f"{path}: {kind}; --collect rewrites its labels file, so give it a folder of its own")
        data = read_own(path, MAX_LABELS_BYTES)
        if data is None:
            raise DataError(
                f"{path}: unreadable, or larger than {MAX_LABELS_BYTES:,} bytes; not a labels file of collected digits"
            )
        lines = data.decode("utf-8", errors="replace").splitlines()
        if not lines or lines[0].replace(" ", "").lower() != "file,label":
            raise DataError(f"{path}: not a `file,label` labels file; --collect needs a folder of its own")
        for number, line in enumerate(lines[1:], 2):
            name, label = line.partition(",")[::2]
            if (name.strip() or label.strip()) and (_label(label) is None):
                raise DataError(f"{path}, line {number}: label {label.strip()!r} is not a digit 0-9")
        return lines[1:]

    def _is_sample(self, name, label):
        """Whether `name` is a sample as add() writes it (see the module), labelled `label`."""
        found = SAMPLE_ID.match(name.removesuffix(".csv"))
        if not name.endswith(".csv") or not found or int(found.group(1)) != label:
            return False
        png = read_own(self.folder / f"{found.group(0)}.png", MAX_PNG_BYTES, head=len(PNG_SIGNATURE))
        return png == PNG_SIGNATURE and self._digit(name) is not None

    def _digit(self, name):
        return digit_of(read_own(self.folder / name, MAX_CSV_BYTES))

    def _write_labels(self, lines, labels):
        text = "file,label\n" + "".join(f"{line}\n" for line in lines)
        write_aside(self.labels_path, text.encode())
        self._lines, self.labels = lines, labels

    def _recover(self):
        """Label the complete samples a killed server left out of the labels file (see the module)."""
        named = {name for name, _ in map(_name_label, self._lines)}
        lost = {}
        for path in sorted(self.folder.glob("digit*.csv")):
            found = SAMPLE_ID.match(path.stem)
            if found and path.name not in named and self._is_sample(path.name, int(found.group(1))):
                lost[path.name] = int(found.group(1))
        if lost:
            self._write_labels(self._lines + [f"{n},{v}" for n, v in lost.items()], {**self.labels, **lost})

    def _next_number(self):
        """One more than any number a name in the folder or the labels file holds, whoever made it."""
        names = [*os.listdir(self.folder), *(name for name, _ in map(_name_label, self._lines))]
        return max((int(m.group(1)) for m in map(TAKEN.match, names) if m), default=0) + 1

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
                name = f"{stem}.csv"
                self._write_labels(self._lines + [f"{name},{label}"], {**self.labels, name: int(label)})
            except OSError as exc:
                for path in written:  # this sample's own files, never labelled: nothing else refers to them
                    path.unlink(missing_ok=True)
                raise explain_os_error(self.folder / f"{stem}.csv", exc) from None
            return self._entry(f"{stem}.csv", int(label))

    def remove(self, sample_id):
        """Drop a sample: its label line first, then its files. False when there is no such sample, or
        its files are no longer what add() wrote (then they are the user's, and stay)."""
        name = f"{sample_id}.csv"
        with self._lock:
            if not SAMPLE_ID.match(sample_id) or name not in self.labels:
                return False
            if not self._is_sample(name, self.labels[name]):
                self.labels = {k: v for k, v in self.labels.items() if k != name}
                return False
            lines = [line for line in self._lines if _name_label(line)[0] != name]
            self._write_labels(lines, {k: v for k, v in self.labels.items() if k != name})
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
        """The stored drawing's bytes, or None: read without following a link, from a regular file."""
        if not SAMPLE_ID.match(sample_id) or f"{sample_id}.csv" not in self.labels:
            return None
        data = read_own(self.folder / f"{sample_id}.png", MAX_PNG_BYTES)
        return data if data is not None and data.startswith(PNG_SIGNATURE) else None

    def digits(self):
        """(images, labels) of every sample still as add() wrote it, as train --data reads them."""
        found = [(self._digit(name), label) for name, label in dict(self.labels).items()]
        found = [(digit, label) for digit, label in found if digit is not None]
        stacked = np.stack([d for d, _ in found]) if found else np.zeros((0, 28, 28), np.uint8)
        return stacked, np.array([label for _, label in found], dtype=np.uint8)

    def kaggle_csv(self):
        """The whole set as one labelled CSV, as Kaggle's Digit Recognizer train.csv."""
        images, labels = self.digits()
        head = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
        rows = (f"{label}," + ",".join(map(str, image.reshape(784))) + "\n" for image, label in zip(images, labels))
        return head + "".join(rows)

    def snapshot(self, into):
        """Write the samples and a labels file naming only them into the folder `into`: what a
        fine-tune trains on, so samples kept or deleted meanwhile do not change its data. Each is read
        as digits() reads it, so a link put in a sample's place is not followed."""
        into = Path(into)
        into.mkdir(parents=True)
        with self._lock:
            labels = {}
            for name, label in self.labels.items():
                digit = self._digit(name)
                if digit is not None:
                    (into / name).write_text(csv_text(digit))
                    labels[name] = label
        (into / LABELS).write_text("file,label\n" + "".join(f"{n},{v}\n" for n, v in labels.items()))
        return len(labels)


def _name_label(line):
    """(file name, label or None) of a labels file line."""
    name, label = line.partition(",")[::2]
    return name.strip(), _label(label)


def _label(text):
    text = text.strip()
    return int(text) if len(text) == 1 and text in "0123456789" else None
