"""The single-instance lock: a live holder refuses a second one; a killed holder's lock is taken."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import LockError
from pipeline.lock import LOCK_NAME, DataDirLock

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import sys, time
from pathlib import Path
from pipeline.lock import DataDirLock
lock = DataDirLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_second_lock_is_refused_naming_pid_and_path(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path / "data")
    with first:
        assert (tmp_path / "data" / LOCK_NAME).stat().st_mode & 0o777 == 0o600
        with pytest.raises(LockError) as err:
            DataDirLock(tmp_path / "data").acquire()
        message = str(err.value)
        assert f"pid {os.getpid()}" in message
        assert str(tmp_path / "data" / LOCK_NAME) in message
        assert DataDirLock.holder(tmp_path / "data") == os.getpid()
    assert DataDirLock.holder(tmp_path / "data") is None
    with DataDirLock(tmp_path / "data"):  # free again after release
        pass


def test_holder_of_missing_dir_is_nobody(tmp_path: Path) -> None:
    assert DataDirLock.holder(tmp_path / "nowhere") is None


def test_lock_of_a_killed_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        assert DataDirLock.holder(data) == child.pid
        with pytest.raises(LockError, match=f"pid {child.pid}"):
            DataDirLock(data).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    # the pid is still written in the file, but the kernel released the flock with the process
    assert (data / LOCK_NAME).read_text().strip() == str(child.pid)
    assert DataDirLock.holder(data) is None
    with caplog.at_level(logging.INFO, logger="pipeline.lock"), DataDirLock(data):
        assert (data / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert f"stale lock {data / LOCK_NAME} left by pid {child.pid}" in caplog.text
