#!/usr/bin/env python3
"""Render a digest's HTML preview to a PNG in headless Chromium, for review and the README.

    .venv/bin/python scripts/render_preview.py                      # the sample digest
    .venv/bin/python scripts/render_preview.py data/outbox/x.html   # any preview
    .venv/bin/python scripts/render_preview.py --out docs/digest-sample.png --width 720

Without an HTML file it builds the sample digest (the fixed item set behind the golden files in
tests/data/digest/, its high items alerted first) in a temporary folder with
``send_digest(dry_run=True)``. Chromium is found
as ``$CHROMIUM``, ``chromium``, ``chromium-browser`` or ``google-chrome``; install it with
``apt-get install chromium`` (Debian). Tests never need it.

The page height is measured first (``--dump-dom`` of a copy with a one-line script appended:
the mail itself has no scripts), then the screenshot is taken at exactly that height.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio")
MEASURE = (
    "<script>document.body.setAttribute('data-height',"
    " String(document.documentElement.scrollHeight));</script>"
)


def find_chromium() -> str:
    candidates = [os.environ.get("CHROMIUM", ""), *BROWSERS]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    sys.exit(
        "render_preview: Chromium not found (looked for $CHROMIUM, "
        + ", ".join(BROWSERS)
        + "). Install it, e.g. `apt-get install chromium` on Debian, or set CHROMIUM=/path."
    )


def run(chromium: str, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="lendwatch-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        sys.exit(f"render_preview: chromium failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def page_height(chromium: str, html: Path, width: int) -> int:
    with tempfile.TemporaryDirectory(prefix="lendwatch-measure-") as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(
            html.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
            encoding="utf-8",
        )
        dom = run(chromium, f"--window-size={width},800", "--dump-dom", probe.as_uri())
    found = re.search(r'data-height="(\d+)"', dom)
    return int(found.group(1)) if found else 2000


def sample_html(folder: Path) -> Path:
    """The sample digest: fixed items (the two high ones already alerted), one blocked source,
    written as a dry-run preview."""
    sys.path.insert(0, str(ROOT))
    from pipeline.digest import send_alerts, send_digest
    from tests.support.digest_fixtures import (
        NOW,
        database,
        fail_source,
        make_config,
        ok_source,
        sample_items,
    )

    config = make_config(folder)
    store = database(config)
    sample_items(store)
    for sid in ("nfra", "nifa", "sina", "yicai"):
        ok_source(store, sid, NOW - timedelta(hours=1))
    reason = "反爬虫验证页（“请开启JavaScript”），未取得内容"
    fail_source(store, "pboc", "blocked", reason, 3, NOW - timedelta(days=2))
    send_alerts(store, config, now=NOW - timedelta(minutes=40))
    report = send_digest(store, config, now=NOW, dry_run=True)
    store.close()
    assert report.preview is not None
    return report.preview


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", type=Path, help="an .html preview (default: sample)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest-sample.png")
    parser.add_argument("--width", type=int, default=720)
    args = parser.parse_args()
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="lendwatch-preview-") as tmp:
        html = args.html or sample_html(Path(tmp))
        if not html.exists():
            sys.exit(f"render_preview: no such file: {html}")
        height = page_height(chromium, html.resolve(), args.width)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = args.out.resolve()
        run(
            chromium,
            f"--window-size={args.width},{height}",
            f"--screenshot={out}",
            html.resolve().as_uri(),
        )
    if not out.exists():
        sys.exit(f"render_preview: chromium wrote no screenshot to {out}")
    print(out)


if __name__ == "__main__":
    main()
