"""On a terminal, `lendwatch fetch` shows a progress display (sources done / total, new,
flagged, failed) and `sources` / `status` print tables; off a terminal the output is the
log lines and plain text alone, as before."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.harness import ROOT, Src, clean_env, good_route, lendwatch, write_config
from tests.support.httpserver import HTTPTestServer

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(config: Path, *args: str, stream: str = "stderr") -> tuple[int, str]:
    """Run lendwatch with ``stream`` on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        cwd=ROOT,
        env=clean_env(COLUMNS="160", TERM="xterm"),
        stdout=slave if stream == "stdout" else subprocess.DEVNULL,
        stderr=slave if stream == "stderr" else subprocess.DEVNULL,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_fetch_on_a_terminal_shows_progress(tmp_path: Path, http_server: HTTPTestServer) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    sources = [Src("a", http_server.url("/a.xml")), Src("dead", http_server.url("/404.xml"))]
    config = write_config(tmp_path, sources)
    code, seen = on_a_terminal(config, "fetch")
    assert code == 0, seen
    assert "2/2" in seen, seen
    assert "新条目 2 · 标记 1 · 失败 1" in seen, seen


def test_off_a_terminal_only_the_log_lines(tmp_path: Path, http_server: HTTPTestServer) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))])
    done = lendwatch(config, "fetch")
    assert done.returncode == 0, done.stderr
    assert "新条目" not in done.stderr and "\x1b[" not in done.stderr
    assert "a: ok fetched=2 new=2" in done.stderr


def test_sources_and_status_are_tables_on_a_terminal(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    sources = [Src("a", http_server.url("/a.xml")), Src("dead", http_server.url("/404.xml"))]
    config = write_config(tmp_path, sources)
    assert lendwatch(config, "fetch").returncode == 0
    code, raw = on_a_terminal(config, "sources", stream="stdout")
    seen = ANSI.sub("", raw)
    assert code == 0, seen
    assert "┃ ID" in seen and "┃ STATUS" in seen, seen  # a drawn table, not the plain columns
    assert "\x1b[32mok" in raw and "\x1b[31merror" in raw  # health in colour
    code, raw = on_a_terminal(config, "status", stream="stdout")
    assert code == 0 and "┃ HEALTH" in ANSI.sub("", raw), raw
    plain = lendwatch(config, "sources")  # a pipe: the plain columns, as before
    assert "┃" not in plain.stdout and plain.stdout.startswith("ID")


def test_reclassify_on_a_terminal_shows_progress(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))])
    assert lendwatch(config, "fetch").returncode == 0
    code, raw = on_a_terminal(config, "reclassify")
    assert code == 0, raw
    seen = ANSI.sub("", raw)
    assert "重新分类" in seen and "2/2" in seen and "变化 0" in seen, seen
    plain = lendwatch(config, "reclassify")
    assert "重新分类" not in plain.stderr and "reclassified 2 item(s)" in plain.stdout
