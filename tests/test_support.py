"""The test servers themselves behave as the other tests assume."""

from __future__ import annotations

import smtplib

import httpx

from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer


def test_http_server_conditional_get(http_server: HTTPTestServer) -> None:
    http_server.routes["/feed"] = Route(body=b"<rss/>", etag='"v1"')
    first = httpx.get(http_server.url("/feed"))
    assert first.status_code == 200 and first.content == b"<rss/>"
    second = httpx.get(http_server.url("/feed"), headers={"If-None-Match": '"v1"'})
    assert second.status_code == 304
    assert httpx.get(http_server.url("/missing")).status_code == 404
    assert len(http_server.hits("/feed")) == 2


def test_smtp_server_records_and_rejects(smtp_server: SMTPTestServer) -> None:
    smtp_server.reject.add("bad@example.com")
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as smtp:
        refused = smtp.sendmail(
            "a@example.com", ["ok@example.com", "bad@example.com"], b"Subject: x\r\n\r\nhi"
        )
    assert set(refused) == {"bad@example.com"}
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0].recipients == ["ok@example.com"]
    assert smtp_server.messages[0].message["Subject"] == "x"
