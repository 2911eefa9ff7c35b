"""Flagged items per week and topic, as an SVG the package renders (for `lendwatch serve`).

``weekly(conn)`` reads the counts (the last ``WEEKS`` weeks), ``svg(counts)`` draws them: one
stacked bar per week, one colour per topic, a legend, the totals on top. No plotting library:
the chart is a few dozen rectangles, and its text is escaped like every other value shown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from html import escape

WEEKS = 12
COLOURS = (
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#475569",
    "#ea580c",
)
SQL = """
SELECT strftime('%Y-%W', items.first_seen) AS week, topic.value AS topic, COUNT(*)
FROM items, json_each(items.topics) AS topic
WHERE items.flagged = 1 AND items.first_seen >= date('now', ?)
GROUP BY week, topic ORDER BY week, topic
"""


def weekly(conn: sqlite3.Connection, weeks: int = WEEKS) -> list[tuple[str, str, int]]:
    """``(week "YYYY-WW", topic, flagged items)`` of the last ``weeks`` weeks."""
    rows = conn.execute(SQL, (f"-{weeks * 7} day",)).fetchall()
    return [(str(w), str(t), int(n)) for w, t, n in rows]


def svg(counts: Sequence[tuple[str, str, int]], width: int = 720, height: int = 320) -> str:
    """The stacked bar chart of ``counts`` (an empty chart says so)."""
    weeks = sorted({w for w, _, _ in counts})
    topics = sorted(
        {t for _, t, _ in counts}, key=lambda t: -sum(n for _, u, n in counts if u == t)
    )
    colour = {t: COLOURS[k % len(COLOURS)] for k, t in enumerate(topics)}
    per = {(w, t): n for w, t, n in counts}
    totals = {w: sum(per.get((w, t), 0) for t in topics) for w in weeks}
    top = max(totals.values(), default=0)
    left, right, base, head = 40, 170, height - 30, 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape('每周标记条目（按主题）')}</title>",
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#9ca3af"/>',
    ]
    if not weeks:
        out.append(f'<text x="{left}" y="{base - 10}">{escape("暂无标记条目")}</text></svg>')
        return "".join(out)
    slot = (width - right - left) / len(weeks)
    for k, week in enumerate(weeks):
        x = left + k * slot + slot * 0.15
        y = float(base)
        for topic in topics:
            n = per.get((week, topic), 0)
            if not n:
                continue
            h = (base - head) * n / top
            y -= h
            label = escape(f"{week} {topic}: {n}")
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}"'
                f' fill="{colour[topic]}"><title>{label}</title></rect>'
            )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
            f"{totals[week]}</text>"
        )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{base + 14}" text-anchor="middle">'
            f"{escape(week)}</text>"
        )
    for k, topic in enumerate(topics[:14]):
        y = head + k * 18
        out.append(
            f'<rect x="{width - right + 15}" y="{y}" width="10" height="10"'
            f' fill="{colour[topic]}"/><text x="{width - right + 30}" y="{y + 9}">'
            f"{escape(topic)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def page(counts: Sequence[tuple[str, str, int]]) -> str:
    """The chart as a page of its own (``lendwatch serve``: ``/-/chart``)."""
    title = escape(f"每周标记条目（按主题，近 {WEEKS} 周）")
    return (
        f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title>'
        '</head><body style="font-family:sans-serif;margin:24px">'
        f'<p><a href="/lendwatch">lendwatch</a></p><h1 style="font-size:20px">{title}</h1>'
        f"{svg(counts)}</body></html>"
    )
