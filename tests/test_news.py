"""What is news on a fetched list: the list's order decides, not the dates (``pipeline.news``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.models import Item
from pipeline.news import ARCHIVE, BELOW_SEEN, FIRST_FETCH, RESUMED, backlog_of, newest_first

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
AGE = timedelta(days=14)
YESTERDAY = NOW - timedelta(days=1)


def item(guid: str, published: datetime | None = None) -> Item:
    return Item(source_id="pboc", guid=guid, title=f"通知 {guid}", published=published)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def ids(*items: Item) -> set[str]:
    return {i.id for i in items}


def test_first_successful_fetch_is_all_backlog_whatever_the_dates() -> None:
    page = [item("new", days_ago(0)), item("old", datetime(2019, 5, 1, tzinfo=UTC)), item("x")]
    reasons = backlog_of(page, set(), last_success=None, now=NOW, max_age=AGE)
    assert reasons == dict.fromkeys((i.id for i in page), FIRST_FETCH)


def test_a_source_back_after_a_long_failure_is_backlog() -> None:
    seen = item("seen", days_ago(40))
    page = [item("during-the-outage", days_ago(3)), seen]
    long_ago = NOW - AGE - timedelta(hours=1)
    reasons = backlog_of(page, ids(seen), last_success=long_ago, now=NOW, max_age=AGE)
    assert reasons == {page[0].id: RESUMED}
    # a short outage: the item above the seen one is news
    recent = NOW - AGE + timedelta(hours=1)
    assert backlog_of(page, ids(seen), last_success=recent, now=NOW, max_age=AGE) == {}


def test_above_what_was_seen_is_news_whatever_its_date() -> None:
    """A penalty decision dated months ago, put online today above yesterday's notices."""
    seen_a, seen_b = item("a", days_ago(1)), item("b", days_ago(2))
    late = item("decision", datetime(2026, 6, 1, tzinfo=UTC))
    page = [late, seen_a, seen_b]
    assert backlog_of(page, ids(seen_a, seen_b), last_success=YESTERDAY, now=NOW, max_age=AGE) == {}


def test_between_seen_items_is_news() -> None:
    seen_a, seen_b = item("a", days_ago(1)), item("b", days_ago(5))
    inserted = item("inserted", days_ago(3))
    page = [seen_a, inserted, seen_b]
    assert backlog_of(page, ids(seen_a, seen_b), last_success=YESTERDAY, now=NOW, max_age=AGE) == {}


def test_below_the_lowest_seen_item_scrolled_in_and_is_not_news() -> None:
    """Something above was removed; an old notice slid onto the page from the next one. A new
    item above stays news."""
    fresh = item("fresh", days_ago(0))
    seen_a, seen_b = item("a", days_ago(1)), item("b", days_ago(2))
    slid = item("slid-in", days_ago(30))
    undated = item("undated-below")
    page = [fresh, seen_a, seen_b, slid, undated]
    reasons = backlog_of(page, ids(seen_a, seen_b), last_success=YESTERDAY, now=NOW, max_age=AGE)
    assert reasons == {slid.id: BELOW_SEEN, undated.id: BELOW_SEEN}


def test_a_list_that_runs_oldest_first_is_read_the_other_way_round() -> None:
    """An ascending JSON API: the new item is at the bottom, above everything in time."""
    old_a, old_b = item("a", days_ago(3)), item("b", days_ago(2))
    new = item("new", days_ago(0))
    page = [old_a, old_b, new]
    assert not newest_first(page)
    assert backlog_of(page, ids(old_a, old_b), last_success=YESTERDAY, now=NOW, max_age=AGE) == {}
    # and an item that appears at its top is older than all: it scrolled in
    older = item("older", days_ago(9))
    page = [older, old_a, old_b]
    reasons = backlog_of(page, ids(old_a, old_b), last_success=YESTERDAY, now=NOW, max_age=AGE)
    assert reasons == {older.id: BELOW_SEEN}


def test_no_seen_item_on_the_list_falls_back_to_the_date() -> None:
    """Everything above moved out of sight at once: the date decides, undated is news."""
    recent, undated = item("recent", days_ago(2)), item("undated")
    archived = item("archived", days_ago(15))
    page = [recent, undated, archived]
    reasons = backlog_of(page, {"elsewhere"}, last_success=YESTERDAY, now=NOW, max_age=AGE)
    assert reasons == {archived.id: ARCHIVE}


def test_nothing_new_nothing_backlog_and_duplicates_count_at_their_first_place() -> None:
    seen = item("a", days_ago(1))
    assert backlog_of([seen], ids(seen), last_success=None, now=NOW, max_age=AGE) == {}
    new = item("new", days_ago(0))
    page = [new, seen, new]  # the same entry twice: its first place (above) counts
    assert backlog_of(page, ids(seen), last_success=YESTERDAY, now=NOW, max_age=AGE) == {}


def test_newest_first_on_ties_and_undated_lists() -> None:
    assert newest_first([item("a"), item("b")])
    same = days_ago(1)
    assert newest_first([item("a", same), item("b", same)])
    assert newest_first([item("a", days_ago(1)), item("b", days_ago(2))])
    assert not newest_first([item("a", days_ago(2)), item("b"), item("c", days_ago(1))])


def test_first_fetch_mail_reads_a_first_fetch_and_a_comeback_by_date() -> None:
    """``[digest] first_fetch = "mail"``: the list is news but for its archive."""
    new, undated = item("new", days_ago(1)), item("undated")
    archived = item("archived", days_ago(15))
    page = [new, undated, archived]
    first = backlog_of(page, set(), last_success=None, now=NOW, max_age=AGE, first_fetch="mail")
    assert first == {archived.id: ARCHIVE}
    seen = item("seen", days_ago(40))
    long_ago = NOW - AGE - timedelta(days=1)
    back = backlog_of(
        [*page, seen], ids(seen), last_success=long_ago, now=NOW, max_age=AGE, first_fetch="mail"
    )
    assert back == {archived.id: ARCHIVE}
