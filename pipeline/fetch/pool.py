"""Where parsing runs: in the event loop (default) or in a pool of worker processes.

The fast RSS path costs microseconds per entry, so for typical cycles parsing inline is cheaper
than shipping bytes to another process; the pool pays off when many large or feedparser-bound
documents arrive at once (see benchmarks/bench_fetch.py). Workers are started with "spawn":
forking a process that runs threads (the event loop, test servers) can deadlock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from types import MappingProxyType, TracebackType

from pipeline.fetch import parse
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
    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
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
        loop = asyncio.get_running_loop()
        res = await loop.run_in_executor(
            self._executor, _work, fetched, _plain_source(source), None
        )
        return _thaw(replace(res, elapsed_seconds=round(loop.time() - started, 3)))
