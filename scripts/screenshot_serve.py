#!/usr/bin/env python3
"""A screenshot of `lendwatch serve` on the demo's database, in headless Chromium.

    .venv/bin/python scripts/screenshot_serve.py [--out docs/serve-items.png] [--width 1280]
                                                 [--height 900] [--path /lendwatch/items]

Runs `lendwatch demo` into a temporary folder, serves it on a free loopback port and takes the
picture with the system Chromium (found as scripts/render_preview.py finds it).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from render_preview import find_chromium, run  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "serve-items.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--path", default="/lendwatch/items")
    args = parser.parse_args()
    chromium = find_chromium()
    lendwatch = [sys.executable, "-m", "pipeline"]
    with tempfile.TemporaryDirectory(prefix="lendwatch-shot-") as tmp:
        folder = Path(tmp) / "demo"
        subprocess.run(
            [*lendwatch, "demo", "--dir", str(folder)], check=True, cwd=ROOT, capture_output=True
        )
        port = free_port()
        config = str(folder / "sources.toml")
        server = subprocess.Popen(
            [*lendwatch, "--config", config, "serve", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}{args.path}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(url, timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            out = args.out.resolve()
            run(chromium, f"--window-size={args.width},{args.height}", f"--screenshot={out}", url)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
