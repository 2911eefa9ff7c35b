"""Story clustering without comparing every pair: the same groups as comparing every pair."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.digest import blocking, simtables
from pipeline.digest.blocking import candidate_pairs, groups
from pipeline.digest.cluster import Story, cluster
from pipeline.digest.fingerprint import (
    SIMHASH_BITS,
    SIMHASH_MAX_DISTANCE,
    TITLE_WEIGHT,
    Fingerprint,
    _hash64,
    features,
    fingerprint,
    fingerprints,
    normalize,
    same_story,
    simhash,
)
from pipeline.digest.simtables import TABLE_MASKS
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


def _all_pairs(prints: Sequence[Fingerprint], first_new: int = 0) -> list[list[int]]:
    """The groups by their definition: ``same_story`` on every pair (but known-known ones)."""
    parent = list(range(len(prints)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i in range(len(prints)):
        for j in range(max(i + 1, first_new), len(prints)):
            if same_story(prints[i], prints[j]):
                parent[find(j)] = find(i)
    return _sorted_groups(find, len(prints))


def _sorted_groups(find: object, n: int) -> list[list[int]]:
    out: dict[int, list[int]] = {}
    for index in range(n):
        out.setdefault(find(index), []).append(index)  # type: ignore[operator]
    return sorted(sorted(g) for g in out.values())


def _blocked(prints: Sequence[Fingerprint], first_new: int = 0) -> list[list[int]]:
    return _sorted_groups(groups(prints, first_new).find, len(prints))


def _groups_by_all_pairs(items: Sequence[StoredItem]) -> list[list[str]]:
    groups_ = _all_pairs([fingerprint(i) for i in items])
    return sorted(sorted(items[i].id for i in g) for g in groups_)


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


def test_fingerprints_equal_the_definition() -> None:
    """The batch (lanes of 16 bits, texts normalised once) gives what ``simhash`` of the features
    gives, also for a title so long that its 3-grams overflow lanes of 16 bits."""
    rng = random.Random(21)
    items = _items(rng, 300)
    items += [items[0], items[0]]  # a text seen again is normalised once
    alphabet = "借呗贷款利率监管征信小额网络消费金融abcdefghij"
    for k, length in enumerate((4_000, 11_000, 22_000, 70_000)):  # 3-grams across 2**16
        title = "".join(rng.choice(alphabet) for _ in range(length))
        items.append(_item(1000 + k, title, "摘要" * 50))
    for item, fp in zip(items, fingerprints(items), strict=True):
        assert fp.simhash == simhash(features(item)), item.title[:20]
        assert fp == fingerprint(item)


def _random_prints(rng: random.Random, n: int) -> list[Fingerprint]:
    """Fingerprints on the edges: shared numbers, near SimHashes, titles of shared bigrams."""
    centres = [rng.getrandbits(SIMHASH_BITS) for _ in range(4)]
    vocabulary = [f"{chr(0x4E00 + k)}{chr(0x4E00 + k + 1)}" for k in range(14)]
    out = []
    for _ in range(n):
        value = rng.choice(centres)
        for bit in rng.sample(range(SIMHASH_BITS), rng.randint(0, 12)):
            value ^= 1 << bit
        grams = frozenset(rng.sample(vocabulary, rng.randint(0, 9)))
        docs = frozenset(rng.sample(["a", "b", "c"], rng.choice([0, 0, 0, 1, 2])))
        out.append(Fingerprint(grams, value, docs, rng.random() < 0.85))
    return out


@pytest.mark.parametrize(
    ("common", "huge", "tiers", "batch"),
    [
        (64, 1024, (64, 256), 1 << 21),
        (3, 1024, (64, 256), 1 << 21),
        (0, 1024, (64, 256), 1 << 21),
        (64, 4, (2, 3), 5),
        (3, 2, (), 1 << 21),
        (0, 6, (3,), 3),
    ],
)
def test_groups_equal_all_pairs_with_rare_and_common_bigrams(
    monkeypatch: pytest.MonkeyPatch, common: int, huge: int, tiers: tuple[int, ...], batch: int
) -> None:
    # ``common`` 3 and 0 make most or every bigram a key only in pairs (the path of titles
    # made of frequent bigrams); a small ``huge`` sends most keys title by title against the
    # groups, small ``tiers`` and ``batch`` pair the others in several rounds and batches:
    # the groups stay those of every pair.
    monkeypatch.setattr(blocking, "COMMON", common)
    monkeypatch.setattr(blocking, "HUGE_RUN", huge)
    monkeypatch.setattr(blocking, "RUN_TIERS", tiers)
    monkeypatch.setattr(blocking, "PAIRS_PER_BATCH", batch)
    rng = random.Random(common + huge + 1)
    for size, first_new in ((2, 0), (40, 0), (120, 0), (120, 60), (80, 79)):
        prints = _random_prints(rng, size)
        assert _blocked(prints, first_new) == _all_pairs(prints, first_new)
        accepted = {
            (i, j)
            for i in range(size)
            for j in range(max(i + 1, first_new), size)
            if same_story(prints[i], prints[j])
        }
        assert accepted <= set(candidate_pairs(prints, first_new))


def test_titles_of_one_character_and_none() -> None:
    # a title of one character is one bigram of one character: it can only match itself
    one = [Fingerprint(frozenset({"借"}), k, frozenset(), False) for k in range(3)]
    other = Fingerprint(frozenset({"贷"}), 9, frozenset(), False)
    empty = Fingerprint(frozenset(), 7, frozenset(), False)
    prints = [*one, other, empty]
    assert _blocked(prints) == _all_pairs(prints) == [[0, 1, 2], [3], [4]]
    assert _blocked([empty, empty]) == [[0], [1]]
    assert _blocked([]) == []


def test_long_simhash_runs_and_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of equal table keys longer than LONG_RUN go the reduced way, and pairs are made a
    batch at a time; neither changes the groups."""
    monkeypatch.setattr(simtables, "LONG_RUN", 4)
    monkeypatch.setattr(simtables, "PAIRS_PER_BATCH", 7)
    rng = random.Random(77)
    for _ in range(6):
        prints = _random_prints(rng, 90)
        assert _blocked(prints) == _all_pairs(prints)
        assert _blocked(prints, 45) == _all_pairs(prints, 45)


def test_a_long_run_of_numbered_notices_joined_by_one_unnumbered_reprint() -> None:
    # 300 notices with the same SimHash and each its own number are 300 stories (numbers
    # decide between numbered items); one unnumbered reprint 3 bits away joins every one.
    value = 0x0123456789ABCDEF
    notices = [Fingerprint(frozenset(), value, frozenset({f"n{k}"}), True) for k in range(300)]
    assert len(_blocked(notices)) == 300
    reprint = Fingerprint(frozenset(), value ^ 0b10101, frozenset(), True)
    assert _blocked([*notices, reprint]) == [list(range(301))]
    # known items are not compared with each other: without a new reprint nothing joins
    assert len(_blocked([*notices, reprint], first_new=301)) == 301


def test_one_story_told_by_thousands_of_items_is_one_story() -> None:
    # a flood of one headline with a per-item tail beside a few unrelated stories: the flood
    # is one story, the others stay apart (the blocking skips the pairs already joined)
    flood = [
        _item(k, f"金融监管总局发布小额贷款公司监督管理暂行办法（第{k}期）", PHRASES[0] * 2)
        for k in range(3000)
    ]
    others = [_item(5000 + k, f"{phrase}相关问答", "") for k, phrase in enumerate(PHRASES[1:])]
    stories = cluster([*flood, *others], lambda sid: "media")
    sizes = sorted(len(s.items) for s in stories)
    assert sizes == [1] * len(others) + [3000]


def test_tables_cover_every_pair_of_blocks() -> None:
    blocks = SIMHASH_MAX_DISTANCE + 2
    assert len(TABLE_MASKS) == blocks * (blocks - 1) // 2
    assert all(mask.bit_count() >= 2 * (SIMHASH_BITS // blocks) for mask in TABLE_MASKS)
    union = 0
    for mask in TABLE_MASKS:
        union |= mask
    assert union == (1 << SIMHASH_BITS) - 1


def test_feature_hash_is_the_batch_hash() -> None:
    """The hash of one feature (``_hash64``) is what the numpy batch computes for it: a text of
    one 3-gram, of two characters and of one character each fingerprints as ``simhash`` of
    that one feature; a feature of four characters is refused rather than hashed wrongly."""
    for text in ("助贷新", "借呗", "贷", "a b", "𠀀𠀁𠀂"):  # 𠀀: a code point above 0xFFFF
        item = _item(1, text, "")
        assert fingerprints([item])[0].simhash == simhash([(normalize(text), TITLE_WEIGHT)])
    with pytest.raises(ValueError, match="one to three characters"):
        _hash64("网络小贷")


def test_a_bigram_is_one_string_across_titles() -> None:
    # 100,000 titles hold some 2.5 million bigrams, a tenth of them distinct: each distinct one
    # is kept once, shared by every title's set (memory), and the sets are what they were
    first, second = fingerprints([_item(0, "网络小额贷款新规", ""), _item(1, "小额贷款公司", "")])
    assert first.title_grams == frozenset(["网络", "络小", "小额", "额贷", "贷款", "款新", "新规"])
    common = first.title_grams & second.title_grams
    assert common == {"小额", "额贷", "贷款"}
    mine = {g: g for g in first.title_grams}
    assert all(g is mine[g] for g in second.title_grams if g in common)
