"""`lendwatch serve`: the database in Datasette, read-only, with Chinese metadata and queries.

Datasette opens the file read-only (``mode=ro``), not as immutable: the daemon goes on writing
while it is browsed. Arbitrary SQL is off (the canned queries, the table pages with their
facets and the full-text search stay); the clearance cookies of anti-bot challenges are not
shown at all.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path
from typing import Any

DATABASE = "lendwatch"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# described where a column's meaning is not its name (Datasette lists these above the rows)
_ITEM_COLUMNS = {
    "flagged": "是否标记（1 = 与网络借贷相关）",
    "severity": "严重程度：high 重要 / medium 关注 / low 一般",
    "backlog": (
        "未逐条发送的原因：first-fetch 首次抓取 / resumed 恢复抓取 / below-seen 列表下方滑入"
        " / archive 旧文（空 = 新闻）"
    ),
    "first_seen": "首次抓取时间（UTC）",
    "digested_at": "日报发送（或计入）时间",
}

QUERIES: dict[str, dict[str, str]] = {
    "今日标记": {
        "title": "今日标记：过去 24 小时标记的条目",
        "sql": (
            "select first_seen, source_id, severity, title, url from items"
            " where flagged = 1"
            " and first_seen >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-1 day')"
            " order by first_seen desc"
        ),
    },
    "待发送": {
        "title": "待发送：已标记、尚未进入日报的条目",
        "sql": (
            "select first_seen, source_id, severity, title, url, alerted_at from items"
            " where flagged = 1 and digested_at is null and backlog is null"
            " order by first_seen desc"
        ),
    },
    "来源健康": {
        "title": "来源健康：各来源的状态与最近一次成功抓取",
        "sql": (
            "select source_id, status, reason, consecutive_failures, failing_since,"
            " last_success, last_attempt from source_state"
            " order by status = 'ok', source_id"
        ),
    },
    "日程": {
        "title": "日程：未来 60 天的征求意见截止、施行与过渡期结束",
        "sql": (
            "select day, what, title, url, source_id from ("
            " select f.comment_deadline as day, '征求意见截止' as what, i.title, i.url,"
            " i.source_id from item_facts f join items i on i.id = f.item_id"
            " where i.flagged = 1 and f.comment_deadline is not null"
            " union all select f.effective, '施行', i.title, i.url, i.source_id"
            " from item_facts f join items i on i.id = f.item_id"
            " where i.flagged = 1 and f.effective is not null"
            " union all select f.transition_end, '过渡期结束', i.title, i.url, i.source_id"
            " from item_facts f join items i on i.id = f.item_id"
            " where i.flagged = 1 and f.transition_end is not null"
            ") where day between date('now') and date('now', '+60 day') order by day, title"
        ),
    },
    "按周统计": {
        "title": "按周统计：每周各主题的标记条目数",
        "sql": (
            "select strftime('%Y-%W', items.first_seen) as week, topic.value as topic,"
            " count(*) as flagged from items, json_each(items.topics) as topic"
            " where items.flagged = 1 group by week, topic order by week desc, flagged desc"
        ),
    },
}

_HIDDEN = (
    "fts_state",
    "meta",
    "fetch_log",
    "delivery_items",
    "delivery_health",
    "delivery_reminders",
    "penalty_records",
)


def metadata(database: str = DATABASE) -> dict[str, Any]:
    """Datasette metadata: titles, descriptions, sorting, facets, search, hidden tables."""
    tables: dict[str, Any] = {
        "items": {
            "title": "条目",
            "description": "抓取到的全部条目、分类结果与解释；新抓取的在前。",
            "sort_desc": "first_seen",
            "facets": ["source_id", "severity", "flagged", {"array": "topics"}, "backlog"],
            "fts_table": "items_fts",
            "fts_pk": "rowid",
            "searchmode": "raw",
            "label_column": "title",
            "columns": _ITEM_COLUMNS,
        },
        "source_state": {
            "title": "来源状态",
            "description": "各来源的健康状态、连续失败次数与最近一次成功。",
            "sort": "source_id",
            "facets": ["status"],
        },
        "health_events": {"title": "来源状态变化", "sort_desc": "id"},
        "deliveries": {
            "title": "发送记录",
            "description": "日报、即时提醒与日程提醒：待发送、已发送、失败及原因。",
            "sort_desc": "id",
            "facets": ["kind", "status", "channel"],
        },
        "item_facts": {
            "title": "文件要素",
            "description": "阶段、征求意见截止、施行日期、过渡期、废止文件、文号、处罚。",
        },
        "penalties": {"title": "处罚信息表"},
        "attachments": {"title": "附件"},
        "host_cookies": {"hidden": True, "allow": False},  # anti-bot clearance: a credential
    }
    for name in _HIDDEN:
        tables.setdefault(name, {})["hidden"] = True
    return {
        "title": "lendwatch 借贷监测",
        "description": "网络借贷政策与新闻监测的数据库（只读）。",
        "allow_sql": False,
        "databases": {
            database: {
                "tables": tables,
                "queries": QUERIES,
            }
        },
    }


class ServeError(Exception):
    """Why the database cannot be served, with the exit code it means."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def check_database(path: Path) -> None:
    """A readable lendwatch database, opened read-only, or ServeError (exit 3)."""
    if not path.is_file():
        raise ServeError(f"database {path} not found: run `lendwatch fetch` (or demo) first", 3)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("SELECT COUNT(*) FROM items").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise ServeError(f"database {path} cannot be read: {e}", 3) from e


def check_port(host: str, port: int) -> None:
    """The port is free on ``host``, or ServeError (exit 2) that says so."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ServeError(
                f"cannot listen on {host}:{port} ({e.strerror or e}): is it in use?"
                f" Try another port: lendwatch serve --port {port + 1}",
                2,
            ) from e


def app(path: Path) -> Any:
    """The Datasette ASGI application of the database at ``path`` (read-only, not immutable;
    Datasette names the database after the file: ``lendwatch`` for ``lendwatch.db``)."""
    from datasette.app import Datasette  # type: ignore[import-untyped]

    _register_chart()
    ds = Datasette(
        [str(path)],
        metadata=metadata(path.stem),
        settings={"default_page_size": 50, "sql_time_limit_ms": 3000},
    )
    return ds.app()


_PLUGIN = "lendwatch-chart"


def _register_chart() -> None:
    """``pipeline.serve_plugin``: ``/-/chart``, in the menu."""
    import importlib

    from datasette.plugins import pm  # type: ignore[import-untyped]

    if not pm.has_plugin(_PLUGIN):
        pm.register(importlib.import_module("pipeline.serve_plugin"), name=_PLUGIN)


def run(path: Path, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app(path), host=host, port=port, log_level="warning")
