"""Builders shared by the digest and delivery tests: a config, a real SQLite file, items.

Items go in through the real store (``save_items`` + ``save_verdicts``) with hand-made
verdicts, so these tests never depend on the classifier's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.config import (
    AlertsConfig,
    Config,
    DigestConfig,
    EmailConfig,
    NotifyConfig,
    Recipient,
    Settings,
)
from pipeline.models import Item, Match, Source, SourceReport, SourceResult, Verdict
from pipeline.store import Store

# 2026-11-28 08:00 Beijing time
NOW = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
CST = timedelta(hours=8)

SOURCES = (
    Source("nfra", "国家金融监督管理总局", "html", "https://nfra.example/", authority="regulator"),
    Source("pboc", "中国人民银行", "html", "https://pbc.example/", authority="regulator"),
    Source("nifa", "中国互联网金融协会", "html", "https://nifa.example/", authority="association"),
    Source("sina", "新浪财经", "rss", "https://sina.example/", authority="media"),
    Source("yicai", "第一财经", "rss", "https://yicai.example/", authority="media"),
)


def make_config(
    tmp_path: Path,
    *,
    email: EmailConfig | None = None,
    language: str = "zh",
    send_empty: bool = False,
    max_items: int = 200,
    alerts: str = "high",
    notify: Sequence[NotifyConfig] = (),
    sources: Sequence[Source] = SOURCES,
    max_age_days: int = 14,
) -> Config:
    return Config(
        path=tmp_path / "sources.toml",
        settings=Settings(data_dir=tmp_path / "data"),
        sources=tuple(sources),
        email=email,
        digest=DigestConfig(
            language=language,
            send_empty=send_empty,
            max_items=max_items,
            max_age_days=max_age_days,
        ),
        alerts=AlertsConfig(min_severity=alerts),
        notify=tuple(notify),
    )


def smtp_config(
    host: str,
    port: int,
    recipients: Sequence[Recipient | str] = ("risk@example.com",),
    *,
    security: str = "none",
    username: str = "",
) -> EmailConfig:
    return EmailConfig(
        host=host,
        port=port,
        security=security,
        sender="借贷监测 <lendwatch@example.com>",
        recipients=tuple(r if isinstance(r, Recipient) else Recipient(r) for r in recipients),
        username=username,
        timeout_seconds=5.0,
    )


def database(config: Config) -> Store:
    return Store.open(config.settings.db_path)


def add_item(
    store: Store,
    source_id: str,
    guid: str,
    title: str,
    *,
    severity: str | None = "medium",
    topics: Sequence[str] = (),
    summary: str = "",
    url: str | None = None,
    published: datetime | None = None,
    doc_numbers: Sequence[str] = (),
    explanation: Sequence[str] = (),
    terms: Sequence[str] = (),
    snippet: str = "",
    authority: str | None = None,
    first_seen: datetime | None = None,
    flagged: bool = True,
    backlog: str | None = None,
) -> str:
    """Store one item with a hand-made verdict; returns the item id. ``backlog``: stored as
    backlog for that reason (``pipeline.news``)."""
    item = Item(
        source_id=source_id,
        guid=guid,
        title=title,
        url=url if url is not None else f"https://example.cn/{source_id}/{guid}.html",
        summary=summary,
        published=published,
    )
    store.save_items(
        [item],
        now=first_seen or NOW - timedelta(hours=1),
        backlog={item.id: backlog} if backlog else None,
    )
    matches = []
    for term in terms:
        for field, text in (("title", title), ("summary", summary)):
            at = text.find(term)
            if at >= 0:
                topic = topics[0] if topics else ""
                matches.append(Match(term, field, at, at + len(term), topic, "test-rule"))
                break
    verdict = Verdict(
        flagged=flagged,
        severity=severity if flagged else None,  # type: ignore[arg-type]
        score=3.0 if severity == "high" else 1.0,
        topics=tuple(topics),
        matches=tuple(matches),
        explanation=tuple(explanation),
        authority=authority,
        doc_numbers=tuple(doc_numbers),
        snippet=snippet,
        rules_version="test",
    )
    store.save_verdicts([(item.id, verdict)])
    return item.id


def fail_source(
    store: Store, source_id: str, status: str, reason: str, times: int, at: datetime
) -> None:
    for n in range(times):
        result = SourceResult(source_id, status, reason)  # type: ignore[arg-type]
        report = SourceReport(source_id, status, reason, 0, 0, 0, 0, False, 0.1)  # type: ignore[arg-type]
        store.record_result(result, report, now=at + timedelta(hours=n))


def ok_source(store: Store, source_id: str, at: datetime) -> None:
    result = SourceResult(source_id, "ok")
    report = SourceReport(source_id, "ok", "", 1, 0, 0, 0, False, 0.1)
    store.record_result(result, report, now=at)


def sample_items(store: Store) -> dict[str, str]:
    """The fixed set behind the golden files: a reprinted regulation, a product closure,
    association and media stories, an undated item; names -> item ids."""
    t = NOW - CST  # midnight Beijing time, 28 Nov
    ids = {}
    ids["rule"] = add_item(
        store,
        "nfra",
        "2026-12",
        "国家金融监督管理总局关于印发《网络小额贷款业务管理暂行办法》的通知",
        severity="high",
        topics=("网络小贷", "助贷"),
        summary="明确网络小额贷款公司联合贷款出资比例不低于30%，跨省经营须经批准。",
        published=t - timedelta(hours=14),
        doc_numbers=("金规〔2026〕12号",),
        explanation=("监管机构发布网络小贷新规", "涉及联合贷款出资比例"),
        terms=("网络小额贷款", "联合贷款"),
        authority="国家金融监督管理总局",
    )
    ids["rule-reprint"] = add_item(
        store,
        "sina",
        "a-88231",
        "金融监管总局印发《网络小额贷款业务管理暂行办法》",
        severity="high",
        topics=("网络小贷",),
        summary="金融监管总局27日印发《网络小额贷款业务管理暂行办法》，明确联合贷款出资比例。",
        published=t - timedelta(hours=12),
        doc_numbers=("金规[2026]12号",),
        explanation=("转载监管新规",),
        terms=("网络小额贷款", "联合贷款"),
    )
    ids["jiebei"] = add_item(
        store,
        "yicai",
        "n-5521",
        "借呗暂停新增授信，存量客户不受影响",
        severity="high",
        topics=("借呗/花呗",),
        summary="蚂蚁消金公告，自12月1日起借呗暂停新增授信，已获额度的客户可正常使用。",
        published=t - timedelta(hours=6),
        explanation=("产品关停：借呗暂停新增授信",),
        terms=("借呗", "暂停新增授信"),
    )
    ids["nifa"] = add_item(
        store,
        "nifa",
        "gg-311",
        "中国互联网金融协会发布《助贷业务自律公约》",
        severity="medium",
        topics=("助贷",),
        summary="公约要求助贷机构明示综合融资成本，不得捆绑销售。",
        published=t - timedelta(hours=20),
        explanation=("行业协会发布助贷自律规范",),
        terms=("助贷", "综合融资成本"),
    )
    ids["rates"] = add_item(
        store,
        "sina",
        "a-88250",
        "多家银行下调消费贷利率，最低降至2.88%",
        severity="medium",
        topics=("利率",),
        summary="近期多家银行下调个人消费贷款利率，部分产品年化利率最低降至2.88%。",
        published=t - timedelta(hours=9),
        explanation=("消费贷利率变动",),
        terms=("消费贷款利率", "年化利率"),
    )
    ids["credit-repair"] = add_item(
        store,
        "yicai",
        "n-5530",
        "征信修复乱象调查：收费数千元承诺“洗白”逾期记录",
        severity="low",
        topics=("征信",),
        summary="所谓征信修复机构收费数千元，承诺删除逾期记录，律师提醒谨防受骗。",
        published=None,
        explanation=(),
        terms=("征信修复", "逾期记录"),
        first_seen=NOW - timedelta(hours=3),
    )
    return ids
