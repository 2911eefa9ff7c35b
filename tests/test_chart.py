"""The weekly chart of `lendwatch serve`: one rectangle per week and topic with items, the
largest topic first, totals on top, text escaped, an empty chart said so."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from pipeline.chart import COLOURS, svg, weekly
from pipeline.store import Store


def test_bars_legend_and_totals() -> None:
    counts = [("2026-47", "助贷", 3), ("2026-47", "征信", 1), ("2026-48", "助贷", 2)]
    drawn = svg(counts)
    bars = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="', drawn)
    assert len(bars) == 3 + 2  # three bars, two legend keys
    assert "2026-47 助贷: 3" in drawn and ">4</text>" in drawn and ">2</text>" in drawn
    assert drawn.index(">助贷</text>") < drawn.index(">征信</text>")  # the largest first
    assert f'fill="{COLOURS[0]}"' in drawn


def test_text_is_escaped_and_empty_says_so() -> None:
    drawn = svg([("2026-48", "<script>x</script>", 1)])
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    assert "暂无标记条目" in svg([])


def test_weekly_reads_the_flagged_items_of_recent_weeks(tmp_path: Path) -> None:
    Store.open(tmp_path / "x.db").close()
    conn = sqlite3.connect(tmp_path / "x.db")
    rows = [
        ("a", 1, '["助贷", "征信"]', "now"),
        ("b", 1, '["助贷"]', "now"),
        ("c", 0, '["助贷"]', "now"),  # not flagged
        ("d", 1, '["助贷"]', "-200 day"),  # too old
    ]
    with conn:
        for iid, flagged, topics, when in rows:
            conn.execute(
                "INSERT INTO items (id, source_id, guid, title, first_seen, last_seen,"
                " content_hash, flagged, topics) VALUES (?, 's', ?, 't',"
                " strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', ?), '', 'h', ?, ?)",
                (iid, iid, "+0 day" if when == "now" else when, flagged, topics),
            )
    counts = weekly(conn)
    conn.close()
    assert sorted((t, n) for _, t, n in counts) == sorted([("征信", 1), ("助贷", 2)])
