"""A real HTTP server on 127.0.0.1 for tests: serves recorded pages and injects faults.

Routes map a path (with query string, or without it as a fallback) to a ``Route``. A route
honours conditional GET when it has an ``etag``/``last_modified``; it can delay, cut the body
short, redirect, or run a custom handler. Every request is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the response starts
    truncate_to: int | None = None  # send Content-Length of the full body, then only this much
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None

    @classmethod
    def file(cls, path: Path | str, **kwargs: object) -> Route:
        return cls(body=Path(path).read_bytes(), **kwargs)  # type: ignore[arg-type]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.requests.append(
            Request(self.command, self.path, dict(self.headers.items()), body)
        )
        routes = self.server.owner.routes
        route = routes.get(self.path) or routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html", {})
            return
        if route.delay:
            time.sleep(route.delay)
        if route.handler is not None:
            route.handler(self)
            return
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (route.etag and inm == route.etag) or (
            route.last_modified and not route.etag and ims == route.last_modified
        ):
            self.send_response(304)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(route.status, route.body, route.content_type, headers, route.truncate_to)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
        truncate_to: int | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            self.wfile.write(body if truncate_to is None else body[:truncate_to])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        if truncate_to is not None:
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
    do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HTTPTestServer


class HTTPTestServer:
    """``with HTTPTestServer() as srv: srv.routes["/feed"] = Route(...); srv.url("/feed")``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path or r.path.split("?", 1)[0] == path]

    def start(self) -> HTTPTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HTTPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
