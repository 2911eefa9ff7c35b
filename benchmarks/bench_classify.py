"""Classifier throughput on one core: items per second for a title + 200-character summary.

    .venv/bin/python benchmarks/bench_classify.py [--items 50000] [--rules rules.toml]
                                                 [--eval tests/data/eval/dev.jsonl]

Items are built from the labelled headlines when the eval file is there (titles as they are,
summaries cut or padded to 200 characters with ordinary Chinese/English news text), else from a
small built-in mix. Two mixes are measured:

* ``dev``  - every labelled headline once: a third of them affect online lending, so most items
             take the expensive path (rules fire, severity, explanation);
* ``feed`` - label-0 headlines weighted x6 (about 1 item in 10 affects online lending, closer to
             what regulator and news feeds publish).

Wall-clock and CPU-time rates are both printed: on a busy machine the CPU-time figure is the
fairer one-core number. A last line splits the dev mix by outcome (nothing matched, terms but no
rule, rules fired but not flagged, flagged) with the cost of one item of each kind: where the
time of a mix goes. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import Classifier, load_rules  # noqa: E402

# Padding for short summaries: ordinary news sentences, rotated so no word dominates.
FILLER_ZH = (
    "近日，有关部门召开会议，介绍今年以来经济运行情况和下一步工作安排。",
    "业内人士表示，相关措施落地后，市场预期有望进一步稳定，企业经营环境持续改善。",
    "记者了解到，多地正在加快推进项目建设，力争早日形成实物工作量。",
    "数据显示，上半年社会消费品零售总额同比增长，服务消费增速快于商品消费。",
    "专家认为，下阶段应继续做好风险防范，保持经济平稳运行。",
)
FILLER_EN = (
    " Officials said on Monday that the measures would be rolled out over the coming months.",
    " Analysts expect the change to take effect gradually as companies adjust their plans.",
    " The announcement follows weeks of discussion between industry groups and officials.",
    " Further details are expected later this year, according to people familiar with it.",
)
BUILT_IN = [
    ("支付宝借呗暂停部分用户借款服务", "zh"),
    ("央行宣布降准0.5个百分点 释放长期资金", "zh"),
    ("網路小額貸款公司監管新規出爐", "zh"),
    ("CFPB finalizes rule on payday lending", "en"),
    ("马云现身杭州 蚂蚁集团换帅", "zh"),
    ("多地中小银行下调存款利率", "zh"),
    ("House expands the child tax credit for families", "en"),
    ("关于印发《小额贷款公司监督管理暂行办法》的通知（金规〔2024〕6号）", "zh"),
]


def _summary(text: str, lang: str, seed: int) -> str:
    filler = FILLER_EN if lang == "en" else FILLER_ZH
    while len(text) < 200:
        text += filler[seed % len(filler)]
        seed += 1
    return text[:200]


def load_items(eval_path: Path | None, mix: str = "dev") -> list[tuple[str, str]]:
    """(title, 200-character summary) pairs; ``mix`` "feed" repeats label-0 headlines x6."""
    pairs: list[tuple[str, str]] = []
    if eval_path is not None and eval_path.exists():
        for n, line in enumerate(eval_path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                rec = json.loads(line)
                summary = _summary(rec.get("summary", ""), rec.get("lang", "zh"), n)
                weight = 6 if mix == "feed" and rec.get("label") == 0 else 1
                pairs.extend([(rec["title"], summary)] * weight)
    if not pairs:
        pairs = [(t, _summary("", lang, n)) for n, (t, lang) in enumerate(BUILT_IN)]
    return pairs


def measure(
    classifier: Classifier, pairs: list[tuple[str, str]], n_items: int, repeat: int
) -> tuple[list[float], list[float], int]:
    """Items/s by wall clock and by CPU time for each pass, and the flagged count of a pass."""
    items = [pairs[i % len(pairs)] for i in range(n_items)]
    rates: list[float] = []
    cpu_rates: list[float] = []
    flagged = 0
    classify = classifier.classify
    gc.disable()
    try:
        for _ in range(repeat):
            start, cpu = time.perf_counter(), time.process_time()
            flagged = 0
            for title, summary in items:
                if classify(title, summary).flagged:
                    flagged += 1
            rates.append(n_items / (time.perf_counter() - start))
            cpu_rates.append(n_items / (time.process_time() - cpu))
    finally:
        gc.enable()
    return rates, cpu_rates, flagged


def calibrate() -> float:
    """Microseconds for sum(range(100)): ~0.6 on a current laptop; tells how fast this box is."""
    best = min(_timed(lambda: sum(range(100)), 20_000) for _ in range(5))
    return best * 1e6 / 20_000


def _timed(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules.toml")
    parser.add_argument("--eval", type=Path, default=ROOT / "tests/data/eval/dev.jsonl")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    classifier = Classifier(load_rules(args.rules))
    classifier.classify("warm up", "预热")
    load_s = time.perf_counter() - t0
    print(
        f"rules {classifier.version}: {len(classifier.engine.matcher)} patterns, "
        f"{len(classifier.ruleset.rules)} rules, loaded in {load_s * 1000:.0f} ms; "
        f"this machine: sum(range(100)) = {calibrate():.2f} us"
    )
    for mix in ("dev", "feed"):
        pairs = load_items(args.eval, mix)
        rates, cpu_rates, flagged = measure(classifier, pairs, args.items, args.repeat)
        mean_chars = statistics.mean(len(t) + len(s) for t, s in pairs)
        print(
            f"[{mix}] {args.items} items (mean {mean_chars:.0f} chars, "
            f"{flagged / args.items:.0%} flagged): "
            f"wall clock best {max(rates):,.0f}/s median {statistics.median(rates):,.0f}/s; "
            f"CPU time best {max(cpu_rates):,.0f}/s ({1e6 / max(cpu_rates):.1f} us/item) "
            f"median {statistics.median(cpu_rates):,.0f}/s"
        )
    by_outcome(classifier, load_items(args.eval, "dev"))


def by_outcome(classifier: Classifier, pairs: list[tuple[str, str]]) -> None:
    """CPU time per item for each kind of outcome: where the time of a mix goes."""
    groups: dict[str, list[tuple[str, str]]] = {
        "nothing matched": [],
        "terms matched, no rule": [],
        "rules fired, not flagged": [],
        "flagged": [],
    }
    for title, summary in pairs:
        verdict = classifier.classify(title, summary)
        hits = classifier.engine.matcher.scan((title, summary, ""))
        if verdict.flagged:
            groups["flagged"].append((title, summary))
        elif verdict.explanation[1:] != (classifier.engine.version_line,):
            groups["rules fired, not flagged"].append((title, summary))
        elif hits is not None and hits.raw:  # terms left once masks applied
            groups["terms matched, no rule"].append((title, summary))
        else:
            groups["nothing matched"].append((title, summary))
    parts = []
    for name, items in groups.items():
        if items:
            _rates, cpu_rates, _flagged = measure(classifier, items, 20 * len(items), 5)
            parts.append(f"{name} {1e6 / max(cpu_rates):.1f} us ({len(items)})")
    print("per item, by outcome (CPU time, best of 5): " + "; ".join(parts))


if __name__ == "__main__":
    main()
