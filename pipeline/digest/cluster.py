"""One story, one entry: group near-duplicate items (reprints of one announcement).

Whether two items tell one story is ``pipeline.digest.fingerprint.same_story`` (a shared
document number, near-identical titles, or close SimHashes of title and opening text, unless
both carry numbers and none is shared). Groups are closed transitively: a story is a connected
group of such pairs. It leads with its most authoritative item (regulator > association >
media), then the earliest published.

Not every pair is compared: the alert planner clusters two weeks of alerted items every cycle,
and a source that floods (thousands of items, one headline or many) made that millions of
comparisons, growing with the square of the items. ``pipeline.digest.blocking`` finds the same
groups from indexes that list every pair a criterion can accept and skip the pairs already
joined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.digest.blocking import groups
from pipeline.digest.fingerprint import doc_key, fingerprints
from pipeline.store import StoredItem

__all__ = ["AUTHORITY_RANK", "Story", "cluster", "doc_key"]

AUTHORITY_RANK = {"regulator": 3, "association": 2, "media": 1}


@dataclass(frozen=True, slots=True)
class Story:
    """Items telling one story; ``lead`` is the most authoritative, ``others`` reprints."""

    items: tuple[StoredItem, ...]

    @property
    def lead(self) -> StoredItem:
        return self.items[0]

    @property
    def others(self) -> tuple[StoredItem, ...]:
        return self.items[1:]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)


def cluster(
    items: Sequence[StoredItem], authority_of: Callable[[str], str], *, first_new: int = 0
) -> list[Story]:
    """Group items into stories, each led by its most authoritative item.

    ``authority_of(source_id)`` gives "regulator", "association" or "media". Stories come back
    in the order of their earliest item in ``items``.

    ``first_new``: the items before it are known already (the alert history) and are not
    compared with each other, only with the items from ``first_new`` on. Whether a new item's
    story holds a known item is the same as with every pair compared (a path from a new item
    to a known one reaches its first known item through new items); known items that only
    join each other are not grouped.
    """
    found = groups(fingerprints(items), first_new)
    by_group: dict[int, list[StoredItem]] = {}
    for index, item in enumerate(items):
        by_group.setdefault(found.find(index), []).append(item)

    def rank(item: StoredItem) -> tuple[int, float, str]:
        published = item.published or item.first_seen
        return (
            -AUTHORITY_RANK.get(authority_of(item.source_id), 0),
            published.timestamp(),
            item.id,
        )

    return [Story(tuple(sorted(group, key=rank))) for group in by_group.values()]
