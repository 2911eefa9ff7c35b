"""``Store``: the one way into the database for the rest of lendwatch."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from types import TracebackType

import sqlite_utils

from pipeline.db import backup as online_backup
from pipeline.db import transaction
from pipeline.errors import StoreError
from pipeline.models import Item, SourceReport, SourceResult, Verdict
from pipeline.store import clearance, deliveries, enrich, facts, items, meta, schema, sources
from pipeline.store.deliveries import Delivery
from pipeline.store.items import BacklogCount, SaveResult, StoredItem
from pipeline.store.sources import HealthEvent, SourceState


class Store:
    """lendwatch's SQLite database: every read and write the pipeline makes, as one object.

    Each method is one statement or one transaction of a table module (``store.items``,
    ``store.sources``, ``store.deliveries``, ``store.meta``), which hold the SQL; ``store.schema``
    holds the tables and their migrations. Times are aware datetimes, stored as UTC ISO strings.
    Errors are ``sqlite3.Error`` (callers that can go on catch them), except ``open`` and
    ``backup``, which raise ``StoreError`` naming the file.

    Open and close
      ``Store.open(path)``        create or open the file, migrate it to the current schema;
                                  ``with Store.open(path) as store:`` closes it at the end
      ``path``, ``db``            the file; the sqlite-utils ``Database`` (tests, ad-hoc SQL)

    Items and verdicts (``StoredItem``)
      ``known_ids(ids)``          which item ids are stored already
      ``save_items(items)``       insert new, update edited (content hash), touch the rest
      ``save_classified(items, classify)``  that, plus the verdicts of the new and edited items,
                                  in one transaction: no item is ever stored unclassified
      ``save_verdicts(pairs)``    store ``(item id, Verdict)`` pairs (reclassify)
      ``get_item(id)``            by id or unique id prefix; ``iter_items(...)`` filtered, oldest
                                  first; ``search(query)`` full text, with snippets
      ``digest_candidates(until)``, ``alert_candidates(since, until)``, ``alert_history(since)``
                                  the items the digest and the alerts plan with
      ``untold_backlog(until)``, ``mark_backlog_told(until, now)``  the backlog a digest counts
      ``index_pending()``         add new rows to the full-text index (once per cycle)
      ``prune_bodies(days)``      retention: drop raw bodies, keep items and verdicts

    Detail-stage facts (``store.enrich``), kept with the item in its transaction
      ``StoredItem.penalty``      the penalty table (export's ``penalty`` object) and
      ``StoredItem.attachments``  the files (name, link, kind, status, reason, text): every
                                  item this facade returns carries them
      ``enriched(items)``         the same for items read some other way
      ``StoredItem.facts``        lifecycle and enforcement facts (``store.facts``): stage,
                                  deadline, effective date, transition end, repeals, 文号,
                                  stated penalty; extracted in ``save_classified``, again by
                                  ``save_facts(items)`` (reclassify)
      ``agenda(start, end)``      the dated facts of flagged items, soonest first

    Clearance cookies (``store.clearance``)
      ``host_cookies()``          the live anti-bot clearance cookies per host (expired dropped)
      ``save_host_cookies(host, cookies, expires)``, ``drop_host_cookies(host)``

    Sources (``SourceState``, ``HealthEvent``)
      ``source_states()``         fetch state and health per source id
      ``record_result(result, report)``  a fetch's outcome; returns the broken/recovered event
                                  it caused, if any
      ``pending_health_events()`` events no mail has told yet; ``digest_told_events(since)``
                                  those a digest carried
      ``fetch_log_mark()``, ``fetch_reports(after)``  the reports a cycle recorded (read back
                                  when the cycle itself could not return them)

    Deliveries (``Delivery``: the outbox, see ``store.deliveries``)
      ``create_delivery(...)``    record a pending message and what it carries, before sending
      ``mark_sent``, ``mark_failed``  its outcome (marks items and events once fully delivered);
                                  ``mark_items(kind, ids)`` handled without a message
      ``get_delivery``, ``list_deliveries``, ``due_deliveries``  read them back
      ``claimed_item_ids``, ``claimed_event_ids``, ``claimed_reminders``  what earlier
                                  deliveries already carry
      ``last_sent(kind)``, ``last_digest_created()``  when the last one went out / was made

    Meta and files
      ``set_meta``, ``get_time``/``set_time``  the daemon's key/value records (keys in
                                  ``store.meta``)
      ``backup(dest)``            online copy to one self-contained file; returns its size
    """

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        return cls(schema.open_db(path), path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- items and verdicts ------------------------------------------------------------------

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        return items.known_ids(self.db, ids)

    def save_items(
        self,
        new_items: Sequence[Item],
        now: datetime | None = None,
        backlog: Mapping[str, str] | None = None,
    ) -> SaveResult:
        return items.save_items(self.db, new_items, now, backlog)

    def save_classified(
        self,
        new_items: Sequence[Item],
        classify: Callable[[Item], Verdict],
        backlog: Mapping[str, str] | None = None,
    ) -> tuple[SaveResult, list[tuple[str, Verdict]]]:
        """Items, their penalty tables and attachments, and the verdicts of the new and edited
        ones, in one transaction; a new item's verdict is written with its row. An edited item
        is classified with the penalty and the attachments stored for it when the list fetch
        brought none."""
        with transaction(self.db) as conn:
            verdicts: list[tuple[str, Verdict]] = []

            def classify_new(item: Item) -> Verdict:
                verdict = classify(item)
                verdicts.append((item.id, verdict))
                return verdict

            saved = items.save_items(self.db, new_items, backlog=backlog, classify_new=classify_new)
            enrich.save(conn, (*saved.new, *saved.updated))
            updated = self._with_stored_facts(saved.updated)
            edited = [(item.id, classify(item)) for item in updated]
            items.save_verdicts(self.db, edited)
            verdicts += edited
            found = (
                (i.id, i.title, i.summary, i.body, i.published, i.attachments)
                for i in (*saved.new, *updated)
            )
            facts.save(conn, facts.extract_rows(found))
        return saved, verdicts

    def save_facts(self, stored: Sequence[StoredItem]) -> int:
        """Extract and store (replace) the facts of ``stored`` (reclassify); returns how many
        were stored. ``stored`` must carry its attachment texts (``iter_items`` does)."""
        rows = facts.extract_rows(
            (i.id, i.title, i.summary, i.body, i.published, i.attachments) for i in stored
        )
        with transaction(self.db) as conn:
            facts.save(conn, rows)
        return len(rows)

    def agenda(
        self, start: date | None = None, end: date | None = None
    ) -> list[tuple[StoredItem, str, date]]:
        """``(item, field, date)`` of every flagged item's comment deadline, effective date and
        transition end between ``start`` and ``end`` (both included; None: unbounded), soonest
        first; the items carry their facts (no texts)."""
        dated = facts.dated(self.db, start, end)
        ids = list(dict.fromkeys(item_id for item_id, _, _ in dated))
        found = {
            i.id: i for i in self.enriched(list(items.iter_items(self.db, ids=ids)), text=False)
        }
        return [(found[i], name, day) for i, name, day in dated if i in found]

    def _with_stored_facts(self, edited: Sequence[Item]) -> list[Item]:
        bare = [i.id for i in edited if i.penalty is None and not i.attachments]
        if not bare:
            return list(edited)
        found = enrich.penalties(self.db, bare)
        files = enrich.attachments(self.db, bare)
        return [
            replace(
                i,
                penalty=i.penalty if i.penalty is not None else found.get(i.id),
                attachments=i.attachments or files.get(i.id, ()),
            )
            for i in edited
        ]

    def enriched(self, stored: Sequence[StoredItem], *, text: bool = True) -> list[StoredItem]:
        """``stored`` with their penalty tables and attachments (texts unless ``text=False``)."""
        if not stored:
            return []
        ids = [i.id for i in stored]
        found = enrich.penalties(self.db, ids)
        files = enrich.attachments(self.db, ids, text=text)
        stated = facts.load(self.db, ids)
        return [
            replace(
                i,
                penalty=found.get(i.id),
                attachments=files.get(i.id, ()),
                facts=stated.get(i.id),
            )
            for i in stored
        ]

    def save_verdicts(self, verdicts: Iterable[tuple[str, Verdict]]) -> None:
        items.save_verdicts(self.db, verdicts)

    def get_item(self, item_id: str) -> StoredItem | None:
        found = items.get_item(self.db, item_id)
        return self.enriched([found])[0] if found is not None else None

    def iter_items(
        self,
        *,
        flagged_only: bool = False,
        since: datetime | None = None,
        ids: Sequence[str] | None = None,
        source_id: str | None = None,
        backlog_only: bool = False,
    ) -> Iterator[StoredItem]:
        batch: list[StoredItem] = []
        for item in items.iter_items(
            self.db,
            flagged_only=flagged_only,
            since=since,
            ids=ids,
            source_id=source_id,
            backlog_only=backlog_only,
        ):
            batch.append(item)
            if len(batch) == enrich.CHUNK:
                yield from self.enriched(batch)
                batch = []
        yield from self.enriched(batch)

    def digest_candidates(self, until: datetime) -> list[StoredItem]:
        return self.enriched(items.digest_candidates(self.db, until), text=False)

    def alert_candidates(self, since: datetime, until: datetime) -> list[StoredItem]:
        return self.enriched(items.alert_candidates(self.db, since, until), text=False)

    def untold_backlog(self, until: datetime) -> list[BacklogCount]:
        return items.untold_backlog(self.db, until)

    def mark_backlog_told(self, until: datetime, now: datetime) -> int:
        return items.mark_backlog_told(self.db, until, now)

    def alert_history(self, since: datetime) -> list[StoredItem]:
        return self.enriched(items.alert_history(self.db, since), text=False)

    def index_pending(self) -> int:
        return items.index_pending(self.db)

    def search(self, query: str, limit: int = 20) -> list[tuple[StoredItem, str]]:
        """Full text of title, summary and body, then the penalty records and attachments
        (parties, violations, decisions, file names and texts) of items not found so."""
        hits = items.search(self.db, query, limit)
        seen = {item.id for item, _ in hits}
        more = [(i, snip) for i, snip in enrich.search(self.db, query, limit) if i not in seen]
        if more and len(hits) < limit:
            snippets = dict(more)
            extra = list(items.iter_items(self.db, ids=list(snippets)))
            hits += [(item, snippets[item.id]) for item in extra][: limit - len(hits)]
        found = self.enriched([item for item, _ in hits], text=False)
        return [(item, snip) for item, (_, snip) in zip(found, hits, strict=True)]

    def prune_bodies(self, older_than_days: int) -> int:
        """Raw bodies and attachment texts of items first seen more than N days ago."""
        with transaction(self.db) as conn:
            enrich.prune_texts(conn, older_than_days)
            return items.prune_bodies(self.db, older_than_days)

    # -- sources -----------------------------------------------------------------------------

    def source_states(self) -> dict[str, SourceState]:
        return sources.source_states(self.db)

    def record_result(
        self, result: SourceResult, report: SourceReport, now: datetime | None = None
    ) -> HealthEvent | None:
        return sources.record_result(self.db, result, report, now)

    def pending_health_events(self) -> list[HealthEvent]:
        return sources.pending_health_events(self.db)

    def digest_told_events(self, since: datetime) -> list[HealthEvent]:
        return sources.digest_told_events(self.db, since)

    def fetch_log_mark(self) -> int:
        return sources.fetch_log_mark(self.db)

    def fetch_reports(self, after: int) -> list[SourceReport]:
        return sources.fetch_reports(self.db, after)

    # -- deliveries --------------------------------------------------------------------------

    def create_delivery(
        self,
        *,
        kind: str,
        channel: str,
        target: str,
        recipients: Sequence[str],
        subject: str,
        message_id: str,
        payload: bytes,
        item_ids: Iterable[str],
        event_ids: Iterable[int] = (),
        reminders: Iterable[tuple[str, str, str, int]] = (),
        now: datetime,
    ) -> int:
        return deliveries.create_delivery(
            self.db,
            kind=kind,
            channel=channel,
            target=target,
            recipients=recipients,
            subject=subject,
            message_id=message_id,
            payload=payload,
            item_ids=item_ids,
            event_ids=event_ids,
            reminders=reminders,
            now=now,
        )

    def claimed_reminders(self, target: str, since: date) -> dict[tuple[str, str, str], int]:
        return deliveries.claimed_reminders(self.db, target, since.isoformat())

    def get_delivery(self, delivery_id: int) -> Delivery:
        return deliveries.get_delivery(self.db, delivery_id)

    def list_deliveries(
        self, *, statuses: Sequence[str] | None = None, limit: int = 50
    ) -> list[Delivery]:
        return deliveries.list_deliveries(self.db, statuses=statuses, limit=limit)

    def due_deliveries(
        self,
        now: datetime,
        *,
        kinds: Sequence[str] = deliveries.KINDS,
        ignore_backoff: bool = False,
    ) -> list[Delivery]:
        return deliveries.due_deliveries(self.db, now, kinds=kinds, ignore_backoff=ignore_backoff)

    def claimed_item_ids(
        self, kind: str, target: str | None = None, *, among: Iterable[str] | None = None
    ) -> set[str]:
        return deliveries.claimed_item_ids(self.db, kind, target, among=among)

    def claimed_event_ids(self, target: str | None = None) -> set[int]:
        return deliveries.claimed_event_ids(self.db, target)

    def last_sent(self, kind: str) -> datetime | None:
        return deliveries.last_sent(self.db, kind)

    def last_digest_created(self) -> datetime | None:
        return deliveries.last_digest_created(self.db)

    def mark_sent(
        self,
        delivery_id: int,
        now: datetime,
        *,
        channel: str | None = None,
        path: str | None = None,
        note: str | None = None,
    ) -> None:
        deliveries.mark_sent(self.db, delivery_id, now, channel=channel, path=path, note=note)

    def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        deliveries.mark_failed(self.db, delivery_id, error, now)

    def mark_items(self, kind: str, item_ids: Iterable[str], now: datetime) -> None:
        deliveries.mark_items(self.db, kind, item_ids, now)

    # -- clearance cookies -------------------------------------------------------------------

    def host_cookies(self, now: float | None = None) -> dict[str, dict[str, object]]:
        return clearance.load(self.db, now)

    def save_host_cookies(self, host: str, cookies: dict[str, str], expires: float) -> None:
        clearance.save(self.db, host, cookies, expires)

    def drop_host_cookies(self, host: str) -> None:
        clearance.drop(self.db, host)

    # -- meta and files ----------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        meta.set_meta(self.db, key, value)

    def get_time(self, key: str) -> datetime | None:
        return meta.get_time(self.db, key)

    def set_time(self, key: str, when: datetime) -> None:
        meta.set_time(self.db, key, when)

    def backup(self, dest: Path) -> int:
        """Index pending rows first, so the copy's full-text index is complete."""
        try:
            items.index_pending(self.db)
        except sqlite3.Error as e:
            raise StoreError(f"backup to {dest}: {e}") from e
        return online_backup(self.db, dest)
