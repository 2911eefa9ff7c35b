"""Where parsing runs: never on the event loop, and never longer than a bound.

Every document is parsed off the event loop, so a large or hostile one cannot stall the
downloads of healthy sources: in a daemon thread of its own by default, or, with
``processes > 0``, in a process pool on the other core (large cycles, see ``http.policy_for``).
Either way the cycle waits at most ``timeout`` seconds for one document; past that the source
is an ``error`` with the reason, and a worker process still busy with it is ended when the pool
closes (a thread cannot be ended; it is a daemon and its input is bounded by ``max_bytes`` and
the DOCTYPE stripping in ``doctype``). Workers are started with "spawn": forking a process that
runs threads (the event loop, test servers) can deadlock. See benchmarks/bench_fetch.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from types import MappingProxyType, TracebackType
from typing import TypeVar

from pipeline.fetch import parse
from pipeline.models import Fetched, Source, SourceResult

DEFAULT_TIMEOUT = 60.0
T = TypeVar("T")


def _plain_source(source: Source) -> Source:
    """MappingProxyType does not pickle: ship plain dicts."""
    return replace(source, options=dict(source.options), headers=dict(source.headers))


def _work(fetched: Fetched, source: Source, started: float | None) -> SourceResult:
    res = parse.result(fetched, source, started=started)
    items = tuple(replace(i, extra=dict(i.extra)) for i in res.items)
    return replace(res, items=items)


def _thaw(res: SourceResult) -> SourceResult:
    items = tuple(replace(i, extra=MappingProxyType(dict(i.extra))) for i in res.items)
    return replace(res, items=items)


async def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a daemon thread of its own; the caller may stop waiting (cancel) at any
    time, and the thread never holds up the cycle's or the process's end."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            value, error = fn(), None
        except BaseException as e:  # handed to the waiting coroutine
            value, error = None, e
        # RuntimeError: the loop is gone, nobody waits for this result any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name="lendwatch-parse", daemon=True).start()
    return await future


class ParsePool:
    def __init__(self, processes: int = 0, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.processes = processes
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self._overran = False

    async def __aenter__(self) -> ParsePool:
        if self.processes > 0:
            ctx = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.processes, mp_context=ctx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if self._overran:  # a worker may still be parsing the document given up on: end it
            workers = list(getattr(executor, "_processes", {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()
        else:
            executor.shutdown(wait=True, cancel_futures=True)

    async def result(self, fetched: Fetched, source: Source, started: float) -> SourceResult:
        try:
            async with asyncio.timeout(self.timeout):
                if self._executor is None:
                    return await in_thread(lambda: parse.result(fetched, source, started=started))
                loop = asyncio.get_running_loop()
                res = await loop.run_in_executor(
                    self._executor, _work, fetched, _plain_source(source), None
                )
        except TimeoutError:
            self._overran = True
            return SourceResult(
                source_id=source.id,
                status="error",
                reason=f"parsing the response took longer than {self.timeout:g}s; gave up",
                http_status=fetched.status,
                elapsed_seconds=round(time.monotonic() - started, 3),
            )
        return _thaw(replace(res, elapsed_seconds=round(time.monotonic() - started, 3)))
