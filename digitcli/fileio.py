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


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def exclusive_lock(target):
    """Hold `<target>.lock` while writing `target`; refuse if a live process holds it."""
    lock = Path(f"{target}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain_os_error(lock.parent, exc) from None
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                raise OutputError(
                    f"{target} is being written by another digitcli process (pid {pid}); "
                    "wait for it to finish or choose another --out"
                ) from None
            # The holder died without cleaning up (SIGKILL): the lock is stale.
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
        except OSError as exc:
            raise explain_os_error(lock, exc) from None
    else:
        raise OutputError(f"{lock}: could not take the lock; remove it if no digitcli is running")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
