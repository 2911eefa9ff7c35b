"""Story clustering without comparing every pair: the same groups as comparing every pair."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pipeline.digest.cluster import (
    SIMHASH_BITS,
    SIMHASH_MAX_DISTANCE,
    Fingerprint,
    Story,
    _hash64,
    candidate_pairs,
    cluster,
    fingerprint,
    same_story,
    simhash,
)
from pipeline.models import Verdict
from pipeline.store.items import StoredItem

BASE = datetime(2026, 11, 1, tzinfo=UTC)
PHRASES = (
    "金融监管总局发布小额贷款公司监督管理暂行办法",
    "央行：七月贷款市场报价利率维持不变",
    "助贷新规落地年化利率不得超过百分之二十四",
    "消费金融公司监管评级办法试行印发",
    "网络小贷公司跨省展业受限联合贷出资比例不低于三成",
    "征信业务管理办法实施细则公开征求意见",
    "CFPB finalizes rule on buy now pay later loans",
    "借呗暂停部分用户新增授信",
)


def _simhash_by_bits(weighted: Sequence[tuple[str, int]]) -> int:
    """SimHash by its definition: one signed counter per bit."""
    acc = [0] * SIMHASH_BITS
    for token, weight in weighted:
        h = _hash64(token)
        for bit in range(SIMHASH_BITS):
            acc[bit] += weight if (h >> bit) & 1 else -weight
    return sum(1 << bit for bit in range(SIMHASH_BITS) if acc[bit] > 0)


def test_simhash_equals_its_definition() -> None:
    rng = random.Random(3)
    alphabet = "借呗贷款利率监管征信小额网络消费金融abc "
    for _ in range(500):
        tokens = [
            "".join(rng.choice(alphabet) for _ in range(3)) for _ in range(rng.randint(0, 80))
        ]
        weighted = [(t, rng.choice([1, 3, 7])) for t in tokens]
        assert simhash(weighted) == _simhash_by_bits(weighted)


def _item(n: int, title: str, summary: str, numbers: tuple[str, ...] = ()) -> StoredItem:
    verdict = Verdict(flagged=True, severity="high", score=9.0, doc_numbers=numbers)
    return StoredItem(
        id=f"i{n}",
        source_id=("pboc", "sina", "nifa")[n % 3],
        guid=str(n),
        title=title,
        url=None,
        summary=summary,
        body="",
        published=BASE + timedelta(minutes=n % 17),
        published_raw=None,
        first_seen=BASE,
        content_hash=str(n),
        flagged=True,
        severity="high",
        score=9.0,
        topics=(),
        verdict=verdict,
        rules_version="t",
        alerted_at=None,
        digested_at=None,
    )


def _variant(rng: random.Random, text: str) -> str:
    """A reprint: decorated, a few characters changed, dropped or added."""
    chars = list(text)
    for _ in range(rng.randint(0, 4)):
        at = rng.randrange(len(chars))
        edit = rng.random()
        if edit < 0.4:
            chars[at] = rng.choice("的了和与及新")
        elif edit < 0.7 and len(chars) > 5:
            del chars[at]
        else:
            chars.insert(at, rng.choice("最新重磅"))
    prefix = rng.choice(["", "", "转载：", "【快讯】", "[独家]"])
    return prefix + "".join(chars)


def _items(rng: random.Random, n: int) -> list[StoredItem]:
    out = []
    for k in range(n):
        phrase = rng.choice(PHRASES)
        title = _variant(rng, phrase) if rng.random() < 0.8 else f"{phrase}{k}号"
        summary = _variant(rng, rng.choice(PHRASES) * 3) if rng.random() < 0.7 else ""
        numbers: tuple[str, ...] = ()
        if rng.random() < 0.2:
            numbers = (rng.choice(["银发〔2024〕12号", "银发[2024]12号", "金规〔2024〕6号"]),)
        out.append(_item(k, title, summary, numbers))
    return out


def _groups_by_all_pairs(items: Sequence[StoredItem]) -> list[list[str]]:
    prints = [fingerprint(i) for i in items]
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if same_story(prints[i], prints[j]):
                parent[find(j)] = find(i)
    groups: dict[int, list[str]] = {}
    for index, item in enumerate(items):
        groups.setdefault(find(index), []).append(item.id)
    return sorted(sorted(g) for g in groups.values())


def test_candidates_include_every_pair_of_one_story() -> None:
    rng = random.Random(8)
    for _ in range(20):
        prints = [fingerprint(i) for i in _items(rng, 60)]
        pairs = list(candidate_pairs(prints))
        candidates = set(pairs)
        assert len(pairs) == len(candidates)  # each pair once
        accepted = {
            (i, j)
            for i in range(len(prints))
            for j in range(i + 1, len(prints))
            if same_story(prints[i], prints[j])
        }
        assert accepted and accepted <= candidates
        assert len(candidates) < len(prints) * (len(prints) - 1) // 2  # not every pair


def test_candidates_at_the_simhash_limit() -> None:
    # Two fingerprints exactly SIMHASH_MAX_DISTANCE bits apart, the differing bits spread over
    # every band but one: still a candidate pair.
    rng = random.Random(1)
    for _ in range(200):
        a = rng.getrandbits(SIMHASH_BITS)
        bits = rng.sample(range(SIMHASH_BITS), SIMHASH_MAX_DISTANCE)
        b = a ^ sum(1 << bit for bit in bits)
        prints = [Fingerprint(frozenset(), h, frozenset(), True) for h in (a, b)]
        assert same_story(*prints)
        assert list(candidate_pairs(prints)) == [(0, 1)]


def test_clusters_equal_the_all_pairs_clusters() -> None:
    rng = random.Random(5)
    for size in (1, 2, 30, 200):
        items = _items(rng, size)
        stories = cluster(items, lambda sid: "regulator" if sid == "pboc" else "media")
        got = sorted(sorted(i.id for i in s.items) for s in stories)
        assert got == _groups_by_all_pairs(items)
        assert sum(len(s.items) for s in stories) == size
    assert cluster([], lambda sid: "media") == []


def test_candidates_at_the_jaccard_limit() -> None:
    # B is 18 of A's 25 title bigrams: Jaccard 18/25 = 0.72, exactly the threshold. A's seven
    # other bigrams are rarer (in one title only), so the first shared one is A's eighth: the
    # prefix must be n - floor(0.72 n) + 1 = 8 bigrams long to find the pair.
    grams = [f"{chr(0x4E00 + k)}{chr(0x4E00 + k + 1)}" for k in range(25)]
    a = Fingerprint(frozenset(grams), 0, frozenset(), False)
    b = Fingerprint(frozenset(grams[7:]), 1 << 63, frozenset(), False)
    assert same_story(a, b)
    assert list(candidate_pairs([a, b])) == [(0, 1)]


def _new_item_view(stories: Sequence[Story], known: set[str]) -> tuple[set[str], list[list[str]]]:
    """What the alert planner reads: the new items whose story holds a known item, and the
    stories of new items only."""
    repeats: set[str] = set()
    fresh: list[list[str]] = []
    for story in stories:
        new = [i.id for i in story.items if i.id not in known]
        if len(new) < len(story.items):
            repeats.update(new)
        elif new:
            fresh.append(sorted(new))
    return repeats, sorted(fresh)


def test_known_items_are_not_compared_with_each_other_and_nothing_changes() -> None:
    rng = random.Random(13)
    authority = lambda sid: "regulator" if sid == "pboc" else "media"  # noqa: E731
    for size, first_new in ((40, 30), (120, 100), (120, 1), (60, 60), (50, 0)):
        items = _items(rng, size)
        known = {i.id for i in items[:first_new]}
        everything = cluster(items, authority)
        restricted = cluster(items, authority, first_new=first_new)
        assert _new_item_view(restricted, known) == _new_item_view(everything, known)
        pairs = list(candidate_pairs([fingerprint(i) for i in items], first_new))
        assert all(j >= first_new for _, j in pairs)
