"""Story clustering time against the number of flagged items: the curve, three workloads.

    .venv/bin/python benchmarks/bench_cluster.py [--sizes 1000,4000,16000,100000]
                                                [--workload phrase,realistic,fragments]
                                                [--limit 120]

* ``phrase``    - every title is one shared phrase with a per-item tail (``...暂行办法（第k期）``)
                  and the same lead text: the flood a hostile or broken source produces (one big
                  story). A probe took 6.8 s for 4,000 of these and 71.5 s for 16,000.
* ``realistic`` - recorded headlines (``tests/data/eval/dev.jsonl`` and
                  ``tests/data/domain_headlines.jsonl``; a quarter English), two of one language
                  spliced at random points around what sets a real headline apart (a few Chinese
                  characters, or an English word, drawn from the same headlines), each story
                  carried by one to five items (reprints: decorated, a few characters changed);
                  the lead is two recorded summaries spliced the same way (and, in Chinese, a
                  sentence of ordinary news text).
* ``fragments`` - as ``realistic`` but halves spliced with nothing between: 1,100 headlines
                  make every story, so at 100,000 items each half recurs in some 90 different
                  stories and titles share even their rarest bigrams (no real feed is this
                  repetitive: the worst case for the title index seen so far).

For each size the script prints the wall-clock and CPU seconds of ``cluster`` (fingerprints
included) and the number of stories it found. A size whose
previous, smaller size took longer than ``--limit`` seconds is skipped and said so (the curve
before the blocking was quadratic). Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.digest import cluster as clustering  # noqa: E402
from pipeline.models import Verdict  # noqa: E402
from pipeline.store import StoredItem  # noqa: E402

BASE = datetime(2026, 11, 1, tzinfo=UTC)
PHRASE = "金融监管总局发布小额贷款公司监督管理暂行办法"
LEAD = (
    "国家金融监督管理总局近日发布《小额贷款公司监督管理暂行办法》，对小额贷款公司的业务范围、"
    "经营规则、监督管理等作出规定，要求网络小额贷款公司严格控制融资杠杆，不得跨省展业。"
)
FILLER = (
    "近日，有关部门召开会议，介绍今年以来经济运行情况和下一步工作安排。",
    "业内人士表示，相关措施落地后，市场预期有望进一步稳定，企业经营环境持续改善。",
    "记者了解到，多地正在加快推进项目建设，力争早日形成实物工作量。",
    "数据显示，上半年社会消费品零售总额同比增长，服务消费增速快于商品消费。",
    "专家认为，下阶段应继续做好风险防范，保持经济平稳运行。",
)
SOURCES = ("pboc", "nfra", "sina", "yicai", "nifa")


def _item(n: int, title: str, summary: str) -> StoredItem:
    verdict = Verdict(flagged=True, severity="medium", score=6.0)
    return StoredItem(
        id=f"i{n:07d}",
        source_id=SOURCES[n % len(SOURCES)],
        guid=str(n),
        title=title,
        url=None,
        summary=summary,
        body="",
        published=BASE + timedelta(minutes=n % 1440),
        published_raw=None,
        first_seen=BASE,
        content_hash=str(n),
        flagged=True,
        severity="medium",
        score=6.0,
        topics=(),
        verdict=verdict,
        rules_version="bench",
        alerted_at=None,
        digested_at=None,
    )


def phrase_items(n: int) -> list[StoredItem]:
    return [_item(k, f"{PHRASE}（第{k}期）", LEAD) for k in range(n)]


def _recorded() -> dict[bool, tuple[list[str], list[str]]]:
    """The recorded headlines and the non-empty summaries beside them, English (True) apart."""
    titles: dict[bool, set[str]] = {True: set(), False: set()}
    summaries: dict[bool, set[str]] = {True: set(), False: set()}
    for name in ("tests/data/eval/dev.jsonl", "tests/data/domain_headlines.jsonl"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                english = record["title"].isascii()
                titles[english].add(record["title"])
                if record.get("summary"):
                    summaries[english].add(record["summary"])
    return {lang: (sorted(titles[lang]), sorted(summaries[lang])) for lang in (True, False)}


def _splice(rng: random.Random, texts: list[str], middle: str = "", halves: bool = False) -> str:
    a, b = rng.sample(texts, 2)
    if halves:
        return a[: max(len(a) // 2, 4)] + middle + b[len(b) // 2 :]
    cut_a = rng.randint(len(a) * 3 // 10, max(len(a) * 7 // 10, 1))
    cut_b = rng.randint(len(b) * 3 // 10, max(len(b) * 7 // 10, 1))
    return a[:cut_a] + middle + b[cut_b:]


def _reprint(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 3)):
        at = rng.randrange(len(chars))
        if rng.random() < 0.5:
            chars[at] = rng.choice("的了和与及新")
        else:
            chars.insert(at, rng.choice("最新"))
    return rng.choice(["", "", "", "转载：", "【快讯】"]) + "".join(chars)


def realistic_items(n: int, seed: int = 7, *, distinct: bool = True) -> list[StoredItem]:
    rng = random.Random(seed)
    recorded = _recorded()
    english_share = len(recorded[True][0]) / sum(len(t) for t, _ in recorded.values())
    chinese_chars = "".join(recorded[False][0])
    english_words = " ".join(recorded[True][0]).split()
    out: list[StoredItem] = []
    while len(out) < n:
        english = rng.random() < english_share
        titles, summaries = recorded[english]
        middle = ""
        if distinct:  # a name or number of this story: a word, or a few characters
            middle = (
                f" {rng.choice(english_words)} "
                if english
                else "".join(rng.choices(chinese_chars, k=rng.randint(2, 4)))
            )
        title = _splice(rng, titles, middle, halves=not distinct)
        lead = _splice(rng, summaries, middle, halves=not distinct)
        if not english:
            lead += rng.choice(FILLER)
        for _ in range(min(rng.choice((1, 1, 2, 3, 5)), n - len(out))):
            out.append(_item(len(out), _reprint(rng, title), _reprint(rng, lead)))
    rng.shuffle(out)
    return out


def fragments_items(n: int) -> list[StoredItem]:
    return realistic_items(n, distinct=False)


def measure(items: list[StoredItem]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    stories = clustering.cluster(items, lambda sid: "media")
    return time.perf_counter() - wall, time.process_time() - cpu, len(stories)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000,100000")
    parser.add_argument("--workload", default="phrase,realistic,fragments")
    parser.add_argument("--limit", type=float, default=120.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    makers = {"phrase": phrase_items, "realistic": realistic_items, "fragments": fragments_items}
    for name in args.workload.split(","):
        previous = 0.0
        for size in sizes:
            if previous > args.limit:
                print(
                    f"[{name}] {size:>7} items: skipped (the previous size took {previous:.0f} s)"
                )
                continue
            items = makers[name](size)
            wall, cpu, stories = measure(items)
            previous = wall
            print(
                f"[{name}] {size:>7} items: {wall:7.2f} s wall, {cpu:7.2f} s CPU,"
                f" {stories:>6} stories",
                flush=True,
            )


if __name__ == "__main__":
    main()
