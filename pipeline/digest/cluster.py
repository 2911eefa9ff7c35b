"""One story, one entry: group near-duplicate items (reprints of one announcement).

Two items belong to the same story when

* they share a document number (``银发〔2024〕12号`` = ``银发[2024]12号``), or
* their normalised titles are near-identical (character-bigram Jaccard), or
* the SimHash fingerprints of their title + opening text (normalised character 3-grams, the
  title weighted up) are within a small Hamming distance,

unless both carry document numbers and none is shared: two notices of one regulator with
near-identical titles and different numbers are two stories. Groups are closed transitively
(union-find); the story leads with its most authoritative item (regulator > association >
media), then the earliest published.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.store.items import StoredItem

SIMHASH_BITS = 64
SIMHASH_MAX_DISTANCE = 8
TITLE_JACCARD_MIN = 0.72
AUTHORITY_RANK = {"regulator": 3, "association": 2, "media": 1}

# reprint decorations that say nothing about the story
_DECOR = re.compile(
    r"^(?:【[^】]{0,8}】|\[[^\]]{0,8}\]|(?:转载|转发|重磅|快讯|独家|最新|突发|刚刚)[:：]?)+"
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DOC_BRACKETS = str.maketrans({"[": "〔", "]": "〕", "【": "〔", "】": "〕", "(": "〔", ")": "〕"})
_DOC_BRACKETS.update(str.maketrans({"（": "〔", "）": "〕", "﹝": "〔", "﹞": "〕", "［": "〔"}))
_DOC_BRACKETS.update(str.maketrans({"］": "〕", "〈": "〔", "〉": "〕"}))


def normalize(text: str) -> str:
    """NFKC, lower case, no decorations, punctuation or white space."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _DECOR.sub("", text)
    return _NOT_WORD.sub("", text.lower())


def normalize_doc_number(number: str) -> str:
    text = unicodedata.normalize("NFKC", number).translate(_DOC_BRACKETS)
    return re.sub(r"\s+", "", text.translate(_DOC_BRACKETS))


def ngrams(text: str, n: int) -> list[str]:
    if len(text) <= n:
        return [text] if text else []
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


def simhash(weighted: Sequence[tuple[str, int]]) -> int:
    """64-bit SimHash of weighted features."""
    acc = [0] * SIMHASH_BITS
    for token, weight in weighted:
        h = _hash64(token)
        for bit in range(SIMHASH_BITS):
            acc[bit] += weight if (h >> bit) & 1 else -weight
    return sum(1 << bit for bit in range(SIMHASH_BITS) if acc[bit] > 0)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    title_grams: frozenset[str]
    simhash: int
    doc_numbers: frozenset[str]
    has_text: bool


def fingerprint(item: StoredItem) -> Fingerprint:
    title = normalize(item.title)
    lead = normalize((item.summary or item.body)[:300])
    features = [(g, 3) for g in ngrams(title, 3)] + [(g, 1) for g in ngrams(lead, 3)]
    docs = item.verdict.doc_numbers if item.verdict else ()
    return Fingerprint(
        title_grams=frozenset(ngrams(title, 2)),
        simhash=simhash(features),
        doc_numbers=frozenset(normalize_doc_number(d) for d in docs),
        has_text=len(title) + len(lead) >= 12,
    )


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    if a.doc_numbers and b.doc_numbers:
        return bool(a.doc_numbers & b.doc_numbers)
    if jaccard(set(a.title_grams), set(b.title_grams)) >= TITLE_JACCARD_MIN:
        return True
    return a.has_text and b.has_text and hamming(a.simhash, b.simhash) <= SIMHASH_MAX_DISTANCE


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


def cluster(items: Sequence[StoredItem], authority_of: Callable[[str], str]) -> list[Story]:
    """Group items into stories, each led by its most authoritative item.

    ``authority_of(source_id)`` gives "regulator", "association" or "media". Stories come back
    in the order of their earliest item in ``items``.
    """
    prints = [fingerprint(i) for i in items]
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if find(i) != find(j) and same_story(prints[i], prints[j]):
                parent[find(j)] = find(i)

    groups: dict[int, list[StoredItem]] = {}
    for index, item in enumerate(items):
        groups.setdefault(find(index), []).append(item)

    def rank(item: StoredItem) -> tuple[int, float, str]:
        published = item.published or item.first_seen
        return (
            -AUTHORITY_RANK.get(authority_of(item.source_id), 0),
            published.timestamp(),
            item.id,
        )

    return [Story(tuple(sorted(group, key=rank))) for group in groups.values()]
