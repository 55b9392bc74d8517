"""Atomic writes and a per-output lock, so no reader ever loads a half-written file."""

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path

from digitcli.errors import OutputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def shown(path, limit=80):
    """`path` for a message: a name too long to be a real file is cut, keeping both ends."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]} ({len(text)} characters)"


def explain_os_error(path, exc):
    """An OutputError saying in words why `path` could not be written."""
    if exc.errno == errno.ENAMETOOLONG:
        return OutputError(f"{shown(path)}: a name in this path is too long for the file system; use a shorter one")
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


# What digitcli writes in its lock files; a file of that name holding anything else is the user's.
LOCK_TEXT = "digitcli pid {pid}\n"


@contextlib.contextmanager
def exclusive_lock(target):
    """Hold `<target>.lock` while writing `target`; refuse while another process holds it.

    The lock is an OS file lock (flock), which the kernel drops when its holder dies however it dies,
    so a lock left by a killed run never blocks, even when its pid has since been reused. The pid
    written inside is only there to name the holder in the message. A symlink or a file of that name
    that digitcli did not write is refused, never written through or deleted."""
    lock = Path(f"{target}.lock")
    fd, created = _locked(lock, target)
    try:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, LOCK_TEXT.format(pid=os.getpid()).encode(), 0)
        except OSError as exc:
            if created:
                lock.unlink(missing_ok=True)
            raise explain_os_error(lock, exc) from None
        try:
            yield
        finally:
            # Unlink while still holding the lock; _locked retries if it locked a file unlinked so.
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
    finally:
        os.close(fd)


def _lock_holder(text):
    """The pid in a lock file's text, "" for an empty one (a run killed as it made it), or None when
    the text is not a digitcli lock (old versions wrote the bare pid)."""
    text = text.strip()
    if text.startswith("digitcli pid "):
        text = text.removeprefix("digitcli pid ")
    return text if text.isdigit() or not text else None


def _open_lock(lock, target):
    """(fd, created) of the lock file, made afresh or digitcli's own left by an earlier run."""
    flags = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(lock, flags | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            fd = os.open(lock, flags)
    except FileNotFoundError:
        return None, False  # unlinked by its holder between our two opens: try again
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(
                f"{lock} is a symbolic link; digitcli locks {target} with a file of that name and never "
                "writes through a link: remove the link or choose another --out"
            ) from None
        raise explain_os_error(lock, exc) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode) or _lock_holder(os.pread(fd, 64, 0).decode(errors="replace")) is None:
        os.close(fd)
        raise OutputError(
            f"{lock} exists and is not a lock digitcli made; digitcli locks {target} with a file of that "
            "name and will not overwrite yours: move it away or choose another --out"
        )
    return fd, False


def _locked(lock, target):
    import fcntl

    while True:
        fd, created = _open_lock(lock, target)
        if fd is None:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(os.pread(fd, 64, 0).decode(errors="replace")) or "unknown"
            os.close(fd)
            raise OutputError(
                f"{target} is being written by another digitcli process (pid {holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd, created
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder before us unlinked this file as we locked it: take a fresh one
