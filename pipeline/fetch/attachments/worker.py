"""Run one extraction in a child process that is killed after a deadline.

Why a process and not a thread or a page count: a hostile or merely odd PDF can keep pypdf busy
for minutes inside one page (huge content streams, deep object graphs), and a thread cannot be
stopped. The page and character bounds limit the normal cost; this limits the worst case. The
child also gets an address-space limit so a decompression blow-up ends as MemoryError instead
of pressing the daemon's machine. Children are started with "spawn" (forking a process that
runs threads can deadlock, see pipeline/fetch/pool.py); starting one costs ~0.2-0.4 s, paid
once per attachment (benchmarks/bench_attachments.py prints it).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space for a child


class WorkerError(Exception):
    """The extraction did not finish: ``reason`` says why (deadline, crash)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _limit_memory(limit: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform, or already lower
        pass


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...], limit: int) -> None:
    _limit_memory(limit)
    # pypdf warns about every oddity of a broken file; the result's reason is what counts, and
    # without a handler Python would print the warnings on the daemon's stderr.
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        conn.send(("ok", fn(*args)))
    except MemoryError:
        conn.send(("error", f"ran out of memory (limit {limit // (1024 * 1024)} MiB)"))
    except Exception as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_bounded(
    fn: Callable[..., T], args: tuple[Any, ...], timeout: float, memory: int = MEMORY_LIMIT
) -> T:
    """``fn(*args)`` in a fresh child process; raises WorkerError when it takes longer than
    ``timeout`` seconds, dies, or raises. ``fn`` must be a module-level function."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise WorkerError(f"extraction took longer than {timeout:g}s and was stopped")
        try:
            status, value = parent.recv()
        except EOFError as e:
            proc.join(timeout=5)
            raise WorkerError(f"extraction worker died (exit code {proc.exitcode})") from e
        if status != "ok":
            raise WorkerError(f"extraction failed: {value}")
        return value  # type: ignore[no-any-return]
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
