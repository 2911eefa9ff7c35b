"""Shared fixtures: a real loopback HTTP server, a real aiosmtpd server, temp data dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.httpserver import HTTPTestServer
from tests.support.smtpserver import SMTPTestServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def http_server() -> Iterator[HTTPTestServer]:
    with HTTPTestServer() as srv:
        yield srv


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    with SMTPTestServer() as srv:
        yield srv
