"""Where parsing runs: the fast path in the event loop, slow fallbacks in worker processes.

The lxml RSS path costs less per entry than shipping the bytes to another process would, so it
runs inline. A malformed feed needs feedparser, which is far slower per entry and would stall the
event loop and every download waiting on it: with ``processes > 0`` such documents go to a
process pool on the other core. The pool starts lazily, on the first slow document, so a cycle
of well-formed feeds never pays for it. Workers are started with "spawn": forking a process that
runs threads (the event loop, test servers) can deadlock. See benchmarks/bench_fetch.py.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from types import MappingProxyType, TracebackType

from pipeline.fetch import parse
from pipeline.fetch.kind import SlowPath
from pipeline.models import Fetched, Source, SourceResult


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


class ParsePool:
    def __init__(self, processes: int = 0, offload_all: bool = False) -> None:
        self.processes = processes
        self.offload_all = offload_all
        self._executor: Executor | None = None

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
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    async def result(self, fetched: Fetched, source: Source, started: float) -> SourceResult:
        if self._executor is None:
            return parse.result(fetched, source, started=started)
        if not self.offload_all:
            try:
                return parse.result(fetched, source, started=started, allow_slow=False)
            except SlowPath:
                pass
        loop = asyncio.get_running_loop()
        res = await loop.run_in_executor(
            self._executor, _work, fetched, _plain_source(source), None
        )
        return _thaw(replace(res, elapsed_seconds=round(time.monotonic() - started, 3)))
