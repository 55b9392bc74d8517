"""Atomic writes and a per-output lock, so no reader ever loads a half-written file."""

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

from digitcli.errors import OutputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def explain_os_error(path, exc):
    """An OutputError saying in words why `path` could not be written."""
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{path}: no space left on the device; free some space or write elsewhere with --out")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return OutputError(f"{path}: a file stands where a folder is needed; choose another output location")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: cannot write here ({exc.strerror}); choose a writable folder")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
        os.close(fd)
        # mkstemp makes owner-only files; give the result the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError as exc:
        raise explain_os_error(path, exc) from None
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise explain_os_error(path, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def replace(src, dst):
    """os.replace, in one place so that tests can make it fail as a full disk would."""
    os.replace(src, dst)


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def exclusive_lock(target):
    """Hold `<target>.lock` while writing `target`; refuse while another process holds it.

    The lock is an OS file lock (flock), which the kernel drops when its holder dies however it dies,
    so a lock left by a killed run never blocks, even when its pid has since been reused. The pid
    written inside is only there to name the holder in the message."""
    lock = Path(f"{target}.lock")
    fd = _locked(lock, target)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            # Unlink while still holding the lock; _locked retries if it locked a file unlinked so.
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
    finally:
        os.close(fd)


def _locked(lock, target):
    import fcntl

    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise explain_os_error(lock, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(
                f"{target} is being written by another digitcli process (pid {holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder before us unlinked this file as we locked it: take a fresh one
