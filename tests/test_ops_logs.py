"""Logging: secrets are redacted on every handler; the rotating file is private and lazy."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import PASSWORD_ENV
from pipeline.logs import LOG_NAME, RedactFilter, attach_file_log, detach_file_log, redact

SECRET = "s3cr3t-P@ss"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("headers={'authorization': 'Basic dXNlcjpwdw=='}", "dXNlcjpwdw=="),
        ("GET https://api.example.cn/list?page=2&password=hunter2&x=1", "hunter2"),
        ("GET https://api.example.cn/list?token=tok123", "tok123"),
        ("smtp://mailer:hunter2@mail.example.com:465", "hunter2"),
    ],
)
def test_redact_patterns(text: str, leak: str) -> None:
    cleaned = redact(text)
    assert leak not in cleaned
    assert "***" in cleaned


def test_redact_keeps_ordinary_text() -> None:
    line = "cn-news: ok fetched=3 new=1 updated=0 flagged=1 (0.12s) https://news.example.cn/a?id=7"
    assert redact(line) == line


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_filter_redacts_args_and_tracebacks(
    stream_logger: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, stream = stream_logger
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    logger.info("login as %s with %s", "mailer", SECRET)
    try:
        raise RuntimeError(f"535 auth failed for password {SECRET}")
    except RuntimeError:
        logger.exception("smtp failed")
    output = stream.getvalue()
    assert SECRET not in output
    assert "login as mailer with ***" in output
    assert "535 auth failed for password ***" in output
    assert "Traceback" in output


def test_file_log_is_private_lazy_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SECRET)
    data = tmp_path / "data"
    handler = attach_file_log(data)
    logger = logging.getLogger("tests.filelog")
    logger.setLevel(logging.INFO)
    try:
        assert not data.exists(), "nothing logged yet: nothing created"
        logger.info("connecting with password %s", SECRET)
        handler.flush()
        path = data / LOG_NAME
        assert path.stat().st_mode & 0o777 == 0o600
        text = path.read_text(encoding="utf-8")
        assert "connecting with password ***" in text and SECRET not in text
    finally:
        detach_file_log()
    assert handler not in logging.getLogger().handlers
