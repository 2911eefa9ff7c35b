"""The single-instance lock: one daemon per data directory.

The lock is ``fcntl.flock`` on ``<data_dir>/lendwatch.lock``, a file that holds the owner's pid.
The kernel releases a flock when its process dies, however it dies, so a lock file left behind
by a killed daemon is *stale*: the next daemon takes it over (and says so). A live holder makes
``acquire`` raise ``LockError`` naming its pid and the lock path.

``DataDirLock.holder(data_dir)`` answers "is a daemon running, and which pid?" without taking the
lock (for ``lendwatch status``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType

from pipeline.errors import LockError, StoreError

log = logging.getLogger(__name__)

LOCK_NAME = "lendwatch.lock"


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_NAME


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 64, 0)
    except OSError:
        return None
    text = raw.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _flock_patiently(fd: int, attempts: int = 20, pause: float = 0.05) -> None:
    """Take the exclusive lock, riding out a ``holder()`` check that holds it for an instant."""
    for _ in range(attempts - 1):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(pause)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class DataDirLock:
    """``with DataDirLock(data_dir):`` — hold the data directory for this process."""

    def __init__(self, data_dir: Path) -> None:
        self.path = lock_path(data_dir)
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:  # not a lock conflict: the data directory itself is unusable
            raise StoreError(
                f"data directory {self.path.parent} unusable: cannot open the lock file "
                f"{self.path}: {e.strerror or e}"
            ) from e
        try:
            _flock_patiently(fd)
        except OSError as e:
            pid = _read_pid(fd)
            os.close(fd)
            who = f"pid {pid}" if pid is not None else "another process"
            raise LockError(
                f"another lendwatch process ({who}) is already working on this data directory "
                f"(a daemon, or a run/fetch/digest in progress); lock file {self.path}"
            ) from e
        previous = _read_pid(fd)
        if previous is not None and previous != os.getpid():
            log.info("took over a stale lock %s left by pid %d", self.path, previous)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # a clean exit leaves no pid behind
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @staticmethod
    def holder(data_dir: Path) -> int | None:
        """The pid of the live daemon holding ``data_dir``, or None when nobody holds it."""
        path = lock_path(data_dir)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            try:
                # a shared lock succeeds only when no one holds the exclusive one
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return _read_pid(fd) or -1
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)
