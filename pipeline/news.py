"""Which new items of a fetched list are news, and which are backlog (stored, not mailed).

What a monitoring tool should mail is what *appeared* on a list since it last looked, not what
is recent by its date: a penalty decision put online weeks after it was decided is news the
day it appears; a notice from 2019 that slides onto the first page because something above it
was removed is not. So the rule reads the list's order, not the dates:

* the **first successful fetch** of a source stores its whole list, archive included: all of
  it is backlog (``first-fetch``), told once in the digest as a count;
* so is the list of a source that **comes back** after failing for longer than ``[digest]
  max_age_days`` (``resumed``): what piled up meanwhile cannot be told apart from an archive;
* otherwise a new item **above** an item already seen is news, whatever its date; a new item
  **below** the lowest item already seen scrolled in from the next page (``below-seen``);
* a list on which no item was seen before (everything above moved out of sight at once, or the
  source changed its identities) has no position to go by: there the date decides, and an
  item published more than ``max_age_days`` before now is backlog (``archive``); undated ones
  are news. With ``[digest] first_fetch = "mail"`` a first fetch and a comeback are read the
  same way (mailed, but for the archive).

Lists are taken newest first (the order every regulator and news site shown here uses). A list
whose dated items mostly run oldest first (an ascending JSON API) is read the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from itertools import pairwise

from pipeline.models import Item

FIRST_FETCH = "first-fetch"
RESUMED = "resumed"
BELOW_SEEN = "below-seen"
ARCHIVE = "archive"
REASONS = (FIRST_FETCH, RESUMED, BELOW_SEEN, ARCHIVE)


def newest_first(items: Sequence[Item]) -> bool:
    """Whether the list runs newest first: its dated neighbours more often go down in time than
    up (ties, and a list without two dated items, count as newest first)."""
    dated = [i.published for i in items if i.published is not None]
    down = sum(1 for a, b in pairwise(dated) if a > b)
    up = sum(1 for a, b in pairwise(dated) if a < b)
    return down >= up


def backlog_of(
    items: Sequence[Item],
    known: AbstractSet[str],
    *,
    last_success: datetime | None,
    now: datetime,
    max_age: timedelta,
    first_fetch: str = "count",
) -> dict[str, str]:
    """The backlog reason of each new item of one fetched list (id -> reason); new items not
    in the result are news. ``known``: the ids of the list stored before this fetch;
    ``last_success``: the source's last successful fetch before this one (None: never).
    ``first_fetch="mail"`` (``[digest] first_fetch``): a first fetch, or a comeback, is news
    but for what is dated more than ``max_age`` ago (``archive``)."""
    order: list[Item] = []
    ids: set[str] = set()
    for item in items:  # a list may name one entry twice: its first place counts
        if item.id not in ids:
            ids.add(item.id)
            order.append(item)
    new = [i for i in order if i.id not in known]
    if not new:
        return {}
    back = None if last_success is None else now - last_success > max_age
    if back is not False and first_fetch != "mail":
        return dict.fromkeys((i.id for i in new), RESUMED if back else FIRST_FETCH)
    if not newest_first(order):
        order.reverse()
    seen_at = [k for k, item in enumerate(order) if item.id in known]
    if back is not False or not seen_at:
        return {
            i.id: ARCHIVE for i in new if i.published is not None and i.published < now - max_age
        }
    lowest = seen_at[-1]
    return {item.id: BELOW_SEEN for item in order[lowest + 1 :] if item.id not in known}
