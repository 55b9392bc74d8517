"""Inputs as users give them: files, folders, shell globs and - (standard input), each read on its
own so that one bad input is reported on its own line while the good ones beside it are still read.
Every format (formats.py) is read through here, by the pipeline (pipeline.py)."""

import contextlib
import glob
from dataclasses import dataclass, field
from pathlib import Path

from digitcli.errors import InputFileError

STDIN = "-"


@dataclass
class Batch:
    """What was read: each good input's result and each rejected input's error, in input order."""

    files: list = field(default_factory=list)  # what `read` returned, per good input
    errors: list = field(default_factory=list)  # (name, message)
    order: list = field(default_factory=list)  # ("ok", index into files) or ("error", index into errors)


def no_progress(items, label, sizes=None):
    """The default `progress`: the items as they are. The CLI's shows a bar on a terminal (counting
    `sizes`, the images in each item, when given)."""
    return contextlib.nullcontext(items)


def read_all(arguments, read, suffixes=(".csv",), skip=(), strict=False, progress=no_progress, label="reading"):
    """A Batch of read(name) over the expanded arguments; with `strict`, the first error is raised.
    `progress(items, label)` is a context manager that yields the items, showing progress."""
    batch = Batch()
    with progress(expand(arguments, suffixes=suffixes, skip=skip), label) as found:
        for name, problem in found:
            _read_one(batch, name, problem, read, strict)
    return batch


def _read_one(batch, name, problem, read, strict):
    try:
        if problem:
            raise InputFileError(problem)
        batch.files.append(read(name))
        batch.order.append(("ok", len(batch.files) - 1))
    # Only what readers are meant to raise: anything else is a bug, which must not pass for a bad file.
    except (InputFileError, OSError) as exc:
        if not isinstance(exc, InputFileError):
            exc = unreadable(name, exc)
        if strict:
            raise exc from None
        batch.errors.append((name, str(exc)))
        batch.order.append(("error", len(batch.errors) - 1))


def is_labels_file(path):
    """A `file,label` CSV kept beside the digits it labels."""
    try:
        with open(path, "rb") as fh:
            # Excel's "CSV UTF-8" starts the file with a byte-order mark; others quote every cell.
            line = fh.read(256).replace(b"\r", b"\n").split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    except OSError:
        return False
    return [cell.strip().strip('"').strip().lower() for cell in line.split(",")][:2] == ["file", "label"]


def expand(arguments, suffixes=(".csv",), skip=()):
    """Each argument as (name, problem): files as given, folders as their sorted *.csv (less labels
    files such as the one given to --labels, kept beside the digits), globs expanded."""
    skip = {Path(p).resolve() for p in skip}
    found, labels_only = [], []
    for arg in arguments:
        try:
            _expand_one(arg, suffixes, skip, found, labels_only)
        except OSError as exc:  # a name the system refuses to look up (too long, a loop, no permission)
            from digitcli.fileio import shown

            found.append((arg, f"{shown(arg)}: cannot be looked up ({exc.strerror or exc})"))
    if not found and labels_only:
        found.append((labels_only[0], f"{labels_only[0]}: a labels file (file,label), not digits; give it to --labels"))
    return found


def _expand_one(arg, suffixes, skip, found, labels_only):
    path = Path(arg)
    if arg == STDIN:
        found.append((arg, None))
    elif path.is_dir():
        inside = sorted(
            p
            for p in path.iterdir()
            if p.suffix.lower() in suffixes and p.is_file() and p.resolve() not in skip and not is_labels_file(p)
        )
        if not inside:
            found.append((arg, f"{arg}: folder has no {' or '.join(suffixes)} files"))
        found.extend((str(p), None) for p in inside)
    elif path.is_file() and path.suffix.lower() == ".csv" and is_labels_file(path):
        labels_only.append(arg)  # met through a shell glob as in a folder: labels, not digits
    elif path.exists():
        # A device (/dev/zero) would be read up to the size limit and a pipe with no writer blocks for ever.
        problem = (
            None
            if path.is_file()
            else f"{arg}: not a regular file (a device, pipe or socket); give - to read standard input"
        )
        found.append((arg, problem))
    elif path.is_symlink():
        found.append((arg, f"{arg}: {_broken_link(path)}"))
    elif glob.has_magic(arg):
        matches = [m for m in sorted(glob.glob(arg)) if not (m.lower().endswith(".csv") and is_labels_file(m))]
        found.extend((m, None) for m in matches) if matches else found.append((arg, f"{arg}: no files match"))
    else:
        found.append((arg, f"{arg}: file not found"))


def _broken_link(path):
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (the link leads back to itself); point it at a real file"
    return f"a symbolic link to {os.readlink(path)}, which does not exist"


def unreadable(name, exc):
    """An InputFileError for an OSError no reader put in words (a device error, a file that went away),
    so that it is reported on its own line and the good inputs beside it are still read."""
    return InputFileError(f"{name}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})")
