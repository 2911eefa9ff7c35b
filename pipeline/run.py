"""One fetch cycle: fetch all due sources concurrently -> store -> classify.

Each source is stored and classified as soon as its result arrives, while the other downloads
are still in flight. Per-source error boundary: a source whose fetch, parse, detail pages or
classification fails, with whatever exception, is recorded as ``error`` with the reason and the
others go on; only the database's own failure (``StoreError``) stops the cycle. Conditional-GET
validators are committed only after the items of a successful fetch were stored. A page's
warnings (skipped entries, dates that could not be read) are logged once per source per cycle.

Items keep the identity they were stored under: an item whose guid changed with a change to
canonical URLs (``Item.aliases``) takes its old guid when only that one is stored.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.classify import Classifier, cached_classifier
from pipeline.classify.inputs import classify_fields
from pipeline.config import Config
from pipeline.errors import StoreError
from pipeline.fetch import redact
from pipeline.fetch.cookies import HostCookies
from pipeline.fetch.http import (
    Conditional,
    Policy,
    Session,
    fetch_all,
    fetch_details,
    open_session,
    policy_for,
)
from pipeline.models import Item, RunReport, Source, SourceReport, SourceResult, item_id
from pipeline.news import backlog_of
from pipeline.store import BROKEN_AFTER, Store

log = logging.getLogger(__name__)


def load_classifier(config: Config) -> Classifier:
    """The configured rules, recompiled only when the file changed (see ``cached_classifier``)."""
    return cached_classifier(config.settings.rules, config.settings.cache_dir)


def run_cycle(
    config: Config,
    store: Store,
    *,
    sources: Sequence[Source] | None = None,
    classifier: Classifier | None = None,
    policy: Policy | None = None,
    on_report: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """Fetch ``sources`` (default: every enabled source), store, classify; return the report.

    ``policy`` defaults to ``policy_for(len(sources))``: large cycles parse on the other core.
    """
    return asyncio.run(
        run_cycle_async(
            config,
            store,
            sources=sources,
            classifier=classifier,
            policy=policy,
            on_report=on_report,
        )
    )


async def run_cycle_async(
    config: Config,
    store: Store,
    *,
    sources: Sequence[Source] | None = None,
    classifier: Classifier | None = None,
    policy: Policy | None = None,
    on_report: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """One cycle; ``on_report`` is told each source's report as soon as it is stored (the
    CLI's progress display)."""
    started = datetime.now(UTC)
    chosen = [s for s in (sources if sources is not None else config.sources) if s.enabled]
    by_id = {s.id: s for s in chosen}
    policy = policy or policy_for(len(chosen))
    rules = classifier or load_classifier(config)
    states = store.source_states()
    conditional = {
        sid: Conditional(etag=st.etag, last_modified=st.last_modified)
        for sid, st in states.items()
        if sid in by_id
    }
    max_age = timedelta(days=config.digest.max_age_days)

    def last_success(source_id: str) -> datetime | None:
        state = states.get(source_id)
        return state.last_success if state is not None else None

    reports: dict[str, SourceReport] = {}

    async def handle(result: SourceResult, session: Session) -> None:
        source = by_id[result.source_id]
        try:
            result = replace(result, items=keep_identities(store, result.items))
            if result.status == "ok" and result.items and _has_details(source):
                result = await _with_details(result, store, by_id, config, session)
            reports[source.id] = store_result(
                store,
                result,
                source,
                rules,
                last_success=last_success(source.id),
                max_age=max_age,
                first_fetch=config.digest.first_fetch,
            )
        except StoreError:
            raise  # the database's fault: the cycle stops, no source is blamed
        except Exception as e:  # the per-source boundary: nothing one source does crosses it
            log.exception("%s: unexpected failure while storing", source.id)
            failed = SourceResult(
                source.id,
                "error",
                redact.text(f"internal error: {type(e).__name__}: {e}")[:500],
                http_status=result.http_status,
                elapsed_seconds=result.elapsed_seconds,
            )
            reports[source.id] = store_result(
                store, failed, source, rules, last_success=None, max_age=max_age
            )
        if on_report is not None:
            try:
                on_report(reports[source.id])
            except Exception:  # a display, never a reason to stop the cycle
                log.exception("progress display failed")

    async with open_session(
        config.settings,
        policy,
        cookies=stored_clearance(store),
        on_clearance=lambda host, saved: keep_clearance(store, host, saved),
    ) as session:
        await fetch_all(
            chosen,
            conditional,
            config.settings,
            policy=policy,
            on_result=lambda r: handle(r, session),
            session=session,
        )
    try:
        store.index_pending()
    except sqlite3.Error as e:  # search falls behind; the items themselves are stored
        log.error("full-text index not updated: %s", e)
    return RunReport(
        started_at=started,
        finished_at=datetime.now(UTC),
        sources=tuple(reports[s.id] for s in chosen),
    )


def _has_details(source: Source) -> bool:
    return bool(source.options.get("detail") or source.options.get("attachments"))


async def _with_details(
    result: SourceResult,
    store: Store,
    by_id: dict[str, Source],
    config: Config,
    session: Session,
) -> SourceResult:
    """Detail pages and attachments are fetched once, for new items only."""
    seen = store.known_ids([i.id for i in result.items])
    fresh = [i for i in result.items if i.id not in seen]
    if not fresh:
        return result
    filled = await fetch_details(
        fresh, by_id, config.settings, policy=session.policy, session=session
    )
    by_item = {i.id: i for i in filled}
    return replace(result, items=tuple(by_item.get(i.id, i) for i in result.items))


def stored_clearance(store: Store) -> list[HostCookies]:
    """The live clearance cookies of the database; a row that does not read is dropped, named."""
    out: list[HostCookies] = []
    for host, data in store.host_cookies().items():
        try:
            out.append(HostCookies.from_dict(host, data))
        except ValueError as e:
            log.warning("stored clearance dropped: %s", e)
            store.drop_host_cookies(host)
    return out


def keep_clearance(store: Store, host: str, saved: HostCookies | None) -> None:
    """After a solve: keep the host's cookies for the next cycle and process; after a failed
    solve: forget them."""
    if saved is None:
        store.drop_host_cookies(host)
    else:
        store.save_host_cookies(host, dict(saved.cookies), saved.expires)


def keep_identities(store: Store, items: Sequence[Item]) -> tuple[Item, ...]:
    """Items whose guid is not stored but whose earlier guid (an alias) is, under that guid.

    An alias shared by several items of the page (hash-routed links the previous rule merged
    into one) goes to the one whose title matches the stored item, so each stored item keeps
    exactly one successor and is not mailed again.
    """
    if not any(i.aliases for i in items):
        return tuple(items)
    known = store.known_ids(
        [i.id for i in items] + [item_id(i.source_id, a) for i in items for a in i.aliases]
    )
    sharing: dict[str, int] = {}
    for item in items:
        for alias in item.aliases:
            sharing[alias] = sharing.get(alias, 0) + 1
    taken = {i.guid for i in items}
    out: list[Item] = []
    for item in items:
        for alias in item.aliases:
            old = item_id(item.source_id, alias)
            if item.id in known or old not in known or alias in taken:
                continue
            if sharing[alias] > 1:
                stored = store.get_item(old)
                if stored is None or stored.title != item.title:
                    continue
            taken.add(alias)
            item = replace(item, guid=alias)
            break
        out.append(item)
    return tuple(out)


def store_result(
    store: Store,
    result: SourceResult,
    source: Source,
    classifier: Classifier,
    *,
    last_success: datetime | None,
    max_age: timedelta,
    first_fetch: str = "count",
) -> SourceReport:
    """Store one source's items, classify the new and edited ones, record its health.

    New items that are backlog (``pipeline.news``: a first fetch, a source back after failing
    longer than ``max_age``, items below everything seen on the list) are stored as such.
    ``last_success``: the source's last successful fetch before this one.

    Raises StoreError when the database fails; the source is not blamed for it.
    """
    new = updated = flagged = backlog = 0
    if result.status == "ok" and result.items:
        try:
            reasons = backlog_of(
                result.items,
                store.known_ids([i.id for i in result.items]),
                last_success=last_success,
                now=datetime.now(UTC),
                max_age=max_age,
                first_fetch=first_fetch,
            )
            backlog = len(reasons)
            # items and their verdicts in one transaction: a crash in between would leave items
            # stored but unclassified, and the next run sees them unchanged and never flags them
            saved, verdicts = store.save_classified(
                result.items,
                lambda item: classifier.classify(
                    *classify_fields(
                        item.title, item.summary, item.body, item.penalty, item.attachments
                    ),
                    issuer=source.issuer,
                    authority=source.authority,
                ),
                backlog=reasons,
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
        backlog=min(backlog, new),
    )
    try:
        event = store.record_result(result, report)
    except sqlite3.Error as e:
        raise StoreError(f"cannot record the state of {source.id}: {e}") from e
    _log_report(report, event.event if event is not None else None)
    if result.warnings:
        log.warning(
            "%s: %d page warning%s: %s",
            source.id,
            len(result.warnings),
            "" if len(result.warnings) == 1 else "s",
            "; ".join(result.warnings),
        )
    return report


def _log_report(r: SourceReport, transition: str | None) -> None:
    """One line per source per cycle; a health transition is said on the same line."""
    if r.status == "ok":
        log.info(
            "%s: ok%s fetched=%d new=%d updated=%d flagged=%d%s (%.2fs)%s",
            r.source_id,
            " 304" if r.not_modified else "",
            r.fetched,
            r.new,
            r.updated,
            r.flagged,
            f" backlog={r.backlog}" if r.backlog else "",
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
