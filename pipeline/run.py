"""One fetch cycle: fetch all due sources concurrently -> store -> classify.

Each source is stored and classified as soon as its result arrives, while the other downloads
are still in flight. Per-source error boundary: a source whose fetch, parse or store fails is
reported against that source and the others go on. Conditional-GET validators are committed
only after the items of a successful fetch were stored.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from pipeline.classify import Classifier, cached_classifier
from pipeline.config import Config
from pipeline.errors import StoreError
from pipeline.fetch.http import Conditional, Policy, fetch_all, fetch_details, policy_for
from pipeline.models import RunReport, Source, SourceReport, SourceResult
from pipeline.store import BROKEN_AFTER, Store

log = logging.getLogger(__name__)


def load_classifier(config: Config) -> Classifier:
    """The configured rules, recompiled only when the file changed (see ``cached_classifier``)."""
    return cached_classifier(config.settings.rules)


def run_cycle(
    config: Config,
    store: Store,
    *,
    sources: Sequence[Source] | None = None,
    classifier: Classifier | None = None,
    policy: Policy | None = None,
) -> RunReport:
    """Fetch ``sources`` (default: every enabled source), store, classify; return the report.

    ``policy`` defaults to ``policy_for(len(sources))``: large cycles parse on the other core.
    """
    return asyncio.run(
        run_cycle_async(config, store, sources=sources, classifier=classifier, policy=policy)
    )


async def run_cycle_async(
    config: Config,
    store: Store,
    *,
    sources: Sequence[Source] | None = None,
    classifier: Classifier | None = None,
    policy: Policy | None = None,
) -> RunReport:
    started = datetime.now(UTC)
    chosen = [s for s in (sources if sources is not None else config.sources) if s.enabled]
    by_id = {s.id: s for s in chosen}
    policy = policy or policy_for(len(chosen))
    rules = classifier or load_classifier(config)
    conditional = {
        sid: Conditional(etag=st.etag, last_modified=st.last_modified)
        for sid, st in store.source_states().items()
        if sid in by_id
    }
    reports: dict[str, SourceReport] = {}

    async def handle(result: SourceResult) -> None:
        source = by_id[result.source_id]
        if result.status == "ok" and result.items and source.options.get("detail"):
            # detail pages are fetched once, for new items only
            seen = store.known_ids([i.id for i in result.items])
            fresh = [i for i in result.items if i.id not in seen]
            if fresh:
                filled = {
                    i.id: i
                    for i in await fetch_details(fresh, by_id, config.settings, policy=policy)
                }
                result = replace(result, items=tuple(filled.get(i.id, i) for i in result.items))
        reports[source.id] = store_result(store, result, source, rules)

    await fetch_all(chosen, conditional, config.settings, policy=policy, on_result=handle)
    try:
        store.index_pending()
    except sqlite3.Error as e:  # search falls behind; the items themselves are stored
        log.error("full-text index not updated: %s", e)
    return RunReport(
        started_at=started,
        finished_at=datetime.now(UTC),
        sources=tuple(reports[s.id] for s in chosen),
    )


def store_result(
    store: Store, result: SourceResult, source: Source, classifier: Classifier
) -> SourceReport:
    """Store one source's items, classify the new and edited ones, record its health.

    Raises StoreError when the database fails; the source is not blamed for it.
    """
    new = updated = flagged = 0
    if result.status == "ok" and result.items:
        try:
            # items and their verdicts in one transaction: a crash in between would leave items
            # stored but unclassified, and the next run sees them unchanged and never flags them
            saved, verdicts = store.save_classified(
                result.items,
                lambda item: classifier.classify(
                    item.title,
                    item.summary,
                    item.body,
                    issuer=source.issuer,
                    authority=source.authority,
                ),
            )
            new, updated = len(saved.new), len(saved.updated)
            flagged = sum(1 for _, v in verdicts if v.flagged)
        except sqlite3.Error as e:
            # the database's fault (locked, disk full), not the source's: its health and its
            # validators stay as they were, so the next cycle fetches it in full again
            raise StoreError(
                f"database {store.path}: cannot store the items of {source.id}: {e}"
            ) from e
    report = SourceReport(
        source_id=source.id,
        status=result.status,
        reason=result.reason,
        fetched=len(result.items),
        new=new,
        updated=updated,
        flagged=flagged,
        not_modified=result.not_modified,
        elapsed_seconds=result.elapsed_seconds,
    )
    try:
        event = store.record_result(result, report)
    except sqlite3.Error as e:
        raise StoreError(f"cannot record the state of {source.id}: {e}") from e
    _log_report(report, event.event if event is not None else None)
    return report


def _log_report(r: SourceReport, transition: str | None) -> None:
    """One line per source per cycle; a health transition is said on the same line."""
    if r.status == "ok":
        log.info(
            "%s: ok%s fetched=%d new=%d updated=%d flagged=%d (%.2fs)%s",
            r.source_id,
            " 304" if r.not_modified else "",
            r.fetched,
            r.new,
            r.updated,
            r.flagged,
            r.elapsed_seconds,
            " - recovered" if transition == "recovered" else "",
        )
    else:
        log.warning(
            "%s: %s: %s (%.2fs)%s",
            r.source_id,
            r.status,
            r.reason,
            r.elapsed_seconds,
            f" - now broken ({BROKEN_AFTER} failures in a row)" if transition else "",
        )
