"""Load ``sources.toml`` (and find ``rules.toml``) into frozen dataclasses.

Every problem in the file is collected and reported at once, each naming the file, the table or
source id, and the key; unknown keys list the allowed ones. The defaults of optional keys are
the dataclasses' own (``Settings`` … here, ``Source`` in ``pipeline.models``): the loader passes
on only the keys the file sets.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError
from pipeline.fetch.registry import KINDS
from pipeline.models import Source
from pipeline.redact import redact_url
from pipeline.validate import KeyType, Problems, check_table

CONFIG_ENV = "LENDWATCH_CONFIG"
PASSWORD_ENV = "LENDWATCH_SMTP_PASSWORD"

SOURCE_ID_RE = re.compile(r"^[a-z0-9-]+$")
DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
SEVERITY_CHOICES = ("high", "medium", "low")
DEFAULT_USER_AGENT = (
    "lendwatch/0.1 (+https://github.com/lendwatch/lendwatch; policy monitor for online lending)"
)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")  # relative paths are read from the configuration's folder
    timezone: str = "Asia/Shanghai"
    rules: Path = Path("rules.toml")
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 16
    per_host: int = 2
    retention_days: int = 180
    # fetch = "browser": the Chromium and chromedriver to run (None: the usual system paths)
    chromium: str | None = None
    chromedriver: str | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "lendwatch.db"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def cache_dir(self) -> Path:
        """Compiled rules (``pipeline.classify.cache``); safe to delete at any time."""
        return self.data_dir / "cache"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    topics: tuple[str, ...] = ()  # empty = every topic
    min_severity: str = "low"


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str
    port: int
    security: str  # none | starttls | ssl
    sender: str
    recipients: tuple[Recipient, ...]
    username: str = ""
    timeout_seconds: float = 30.0

    @property
    def password(self) -> str:
        """Only ever from the environment."""
        return os.environ.get(PASSWORD_ENV, "")


@dataclass(frozen=True, slots=True)
class DigestConfig:
    at: str = "08:00"
    language: str = "zh"
    send_empty: bool = False
    max_items: int = 200
    # backlog (pipeline.news): a source failing longer than this comes back as backlog; on a
    # list with no item seen before, items published longer ago than this are backlog
    max_age_days: int = 14
    # a source's first fetch: "count" (told once in the digest as counts) or "mail" (its items
    # mailed as news, except those published more than max_age_days ago)
    first_fetch: str = "count"
    # reminders of flagged items' deadlines, effective dates and transition ends: N days before
    remind_days: tuple[int, ...] = (7, 1)


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    min_severity: str = "high"  # high | medium | low | off


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    url: str
    name: str = ""
    min_severity: str = "high"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    settings: Settings
    sources: tuple[Source, ...]
    email: EmailConfig | None = None
    digest: DigestConfig = field(default_factory=DigestConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    notify: tuple[NotifyConfig, ...] = ()

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)


def parse_duration(value: object) -> int:
    """``"30m"`` -> 1800. Integers are seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '30m'")
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str):
        m = DURATION_RE.match(value)
        if m and int(m.group(1)) > 0:
            return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    raise ValueError(f"expected a duration like '30m', '2h', '1d', got {value!r}")


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, "sources.toml"))


# key -> (accepted types, required)
_T = KeyType
SETTINGS_KEYS: Mapping[str, _T] = {
    "data_dir": str,
    "timezone": str,
    "rules": str,
    "user_agent": str,
    "concurrency": int,
    "per_host": int,
    "retention_days": int,
    "chromium": str,
    "chromedriver": str,
}
EMAIL_KEYS: Mapping[str, _T] = {
    "host": str,
    "port": int,
    "security": str,
    "username": str,
    "sender": str,
    "recipients": list,
    "timeout": (int, float),
}
EMAIL_REQUIRED = ("host", "sender", "recipients")
RECIPIENT_KEYS: Mapping[str, _T] = {"address": str, "topics": list, "min_severity": str}
DIGEST_KEYS: Mapping[str, _T] = {
    "at": str,
    "language": str,
    "send_empty": bool,
    "max_items": int,
    "max_age_days": int,
    "remind_days": list,
    "first_fetch": str,
}
ALERTS_KEYS: Mapping[str, _T] = {"min_severity": str}
NOTIFY_KEYS: Mapping[str, _T] = {"url": str, "name": str, "min_severity": str}
SOURCE_KEYS: Mapping[str, _T] = {
    "id": str,
    "name": str,
    "kind": str,
    "url": str,
    "every": (str, int),
    "authority": str,
    "issuer": str,
    "timezone": str,
    "language": str,
    "enabled": bool,
    "method": str,
    "headers": dict,
    "body": str,
    "min_items": int,
    "max_bytes": int,
    "timeout": (int, float),
}
SOURCE_REQUIRED = ("id", "name", "kind", "url")
TOP_KEYS = ("settings", "email", "digest", "alerts", "notify", "sources")
AUTHORITIES = ("regulator", "association", "media")

# Allowed ranges of the numeric keys, (least, most), both included: a value outside is an error
# naming the file, the table or source and the key.
RANGES: Mapping[str, tuple[float, float]] = {
    "settings.concurrency": (1, 1024),
    "settings.per_host": (1, 256),
    "settings.retention_days": (1, 36_500),
    "email.port": (1, 65_535),
    "email.timeout": (0.1, 600),
    "digest.max_items": (1, 100_000),
    "digest.max_age_days": (1, 36_500),
    "digest.remind_days": (0, 365),
    "source.every": (1, 30 * 86_400),  # seconds
    "source.timeout": (0.1, 600),
    "source.max_bytes": (1, 1 << 30),
    "source.min_items": (0, 100_000),
}
_WHITE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def _check_range(value: float, rule: str, where: str, problems: Problems) -> bool:
    least, most = RANGES[rule]
    if least <= value <= most:
        return True
    problems.add(where, f"must be between {_number(least)} and {_number(most)}, got {value!r}")
    return False


def _remind_days(value: list[Any], problems: Problems) -> tuple[int, ...]:
    """``[digest] remind_days``: distinct whole days 0..365 (0: on the day), largest first;
    ``[]`` sends no reminders."""
    where = "digest.remind_days"
    days: list[int] = []
    for n in value:
        if isinstance(n, bool) or not isinstance(n, int):
            problems.add(where, f"expected whole numbers of days, got {n!r}")
        elif _check_range(n, where, where, problems):
            days.append(n)
    if len(set(days)) != len(days):
        problems.add(where, f"lists a day twice: {value!r}")
    return tuple(sorted(set(days), reverse=True))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched (shown redacted), or None: http(s), a host, a valid port,
    no white space or control characters."""
    shown = repr(redact_url(url))
    if _WHITE_OR_CONTROL.search(url):
        return f"contains white space or control characters: {shown}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as e:
        return f"not a valid URL ({e}): {shown}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"only http(s) URLs are fetched, got {shown}"
    if not parts.hostname:
        return f"has no host: {shown}"
    if port == 0:
        return f"port 0 is not a port: {shown}"
    return None


def _check_tz(name: str, where: str, problems: Problems) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(where, f"unknown time zone {name!r}")
        return False
    return True


def _check_severity(value: str, where: str, problems: Problems, *, allow_off: bool) -> None:
    allowed = (*SEVERITY_CHOICES, "off") if allow_off else SEVERITY_CHOICES
    if value not in allowed:
        problems.add(where, f"expected one of {', '.join(allowed)}, got {value!r}")


def _load_sources(raw: object, settings_tz: str, problems: Problems) -> tuple[Source, ...]:
    if not isinstance(raw, list):
        problems.add("sources", "expected an array of tables ([[sources]])")
        return ()
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            problems.add(f"sources[{index}]", "expected a table")
            continue
        sid = table.get("id")
        label = f"source {sid!r}" if isinstance(sid, str) else f"sources[{index}]"
        kind_name = table.get("kind")
        kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
        allowed: dict[str, _T] = dict(SOURCE_KEYS)
        if kind is not None:
            allowed.update(kind.key_types())
        good = check_table(table, allowed, label, problems, SOURCE_REQUIRED)
        if isinstance(kind_name, str) and kind is None:
            problems.add(
                f"{label}.kind",
                f"unknown kind {kind_name!r}; allowed kinds: {', '.join(sorted(KINDS))}",
            )
        if isinstance(sid, str):
            if not SOURCE_ID_RE.match(sid):
                problems.add(f"{label}.id", "must match [a-z0-9-]+")
            if sid in seen:
                problems.add(f"{label}.id", f"duplicate id (also sources[{seen[sid]}])")
            seen.setdefault(sid, index)
        url = good.get("url", "")
        if "url" in good and (problem := url_problem(url)):
            problems.add(f"{label}.url", problem)
        # only the keys the file sets: the others take Source's defaults
        given: dict[str, Any] = {"timezone": good.get("timezone", settings_tz)}
        if "every" in good:
            try:
                given["every_seconds"] = parse_duration(good["every"])
            except ValueError as e:
                problems.add(f"{label}.every", str(e))
            else:
                _check_range(given["every_seconds"], "source.every", f"{label}.every", problems)
        for key in ("timeout", "max_bytes", "min_items"):
            if key in good:
                _check_range(good[key], f"source.{key}", f"{label}.{key}", problems)
        if "authority" in good:
            given["authority"] = good["authority"]
            if good["authority"] not in AUTHORITIES:
                problems.add(f"{label}.authority", f"expected one of {', '.join(AUTHORITIES)}")
        if "timezone" in good:
            _check_tz(good["timezone"], f"{label}.timezone", problems)
        if "method" in good:
            given["method"] = good["method"].upper()
            if given["method"] not in ("GET", "POST"):
                problems.add(f"{label}.method", "expected GET or POST")
        if "headers" in good:
            given["headers"] = MappingProxyType(dict(good["headers"]))
            if not all(isinstance(v, str) for v in good["headers"].values()):
                problems.add(f"{label}.headers", "header values must be strings")
        if "timeout" in good:
            given["timeout_seconds"] = float(good["timeout"])
        for key in ("issuer", "language", "enabled", "body", "min_items", "max_bytes"):
            if key in good:
                given[key] = good[key]
        options = {k: v for k, v in good.items() if k not in SOURCE_KEYS}
        if kind is not None:
            missing = kind.required - set(table)
            for key in sorted(missing):
                problems.add(f"{label}.{key}", f"missing required key for kind {kind.name!r}")
            for message in kind.validate(options):
                problems.add(label, message)
        if kind is None or any(k not in good for k in SOURCE_REQUIRED):
            continue
        sources.append(
            Source(
                id=good["id"],
                name=good["name"],
                kind=good["kind"],
                url=url,
                options=MappingProxyType(options),
                **given,
            )
        )
    return tuple(sources)


def _load_email(raw: object, problems: Problems) -> EmailConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add("email", "expected a table")
        return None
    good = check_table(raw, EMAIL_KEYS, "email", problems, EMAIL_REQUIRED)
    security = good.get("security", "none")
    if security not in ("none", "starttls", "ssl"):
        problems.add("email.security", f"expected none, starttls or ssl, got {security!r}")
    recipients: list[Recipient] = []
    for i, r in enumerate(good.get("recipients", [])):
        where = f"email.recipients[{i}]"
        if isinstance(r, str):
            recipients.append(Recipient(address=r))
        elif isinstance(r, dict):
            g = check_table(r, RECIPIENT_KEYS, where, problems, ("address",))
            if "min_severity" in g:
                _check_severity(
                    g["min_severity"], f"{where}.min_severity", problems, allow_off=False
                )
            if "topics" in g:
                g["topics"] = tuple(str(t) for t in g["topics"])
            if "address" in g:
                recipients.append(Recipient(**g))
        else:
            problems.add(where, "expected an address string or a table with 'address'")
    if "recipients" in good and not recipients:
        problems.add("email.recipients", "needs at least one recipient")
    for key in ("port", "timeout"):
        if key in good:
            _check_range(good[key], f"email.{key}", f"email.{key}", problems)
    if "host" in good and (not good["host"].strip() or _WHITE_OR_CONTROL.search(good["host"])):
        problems.add("email.host", f"not a host name: {good['host']!r}")
    if any(k not in good for k in EMAIL_REQUIRED):
        return None
    optional: dict[str, Any] = {}
    if "username" in good:
        optional["username"] = good["username"]
    if "timeout" in good:
        optional["timeout_seconds"] = float(good["timeout"])
    return EmailConfig(
        host=good["host"],
        port=good.get("port", 465 if security == "ssl" else 25),
        security=security,
        sender=good["sender"],
        recipients=tuple(recipients),
        **optional,
    )


def _sub(data: Mapping[str, Any], key: str, problems: Problems) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        problems.add(key, "expected a table")
        return {}
    return value


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate the configuration file. Raises ConfigError with every problem."""
    path = Path(path) if path is not None else default_config_path()
    problems = Problems(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError([f"{path}: file not found"]) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from e
    base = path.resolve().parent
    for key in data:
        if key not in TOP_KEYS:
            problems.add(key, f"unknown table; allowed: {', '.join(TOP_KEYS)}")

    s = check_table(_sub(data, "settings", problems), SETTINGS_KEYS, "settings", problems)
    for key in ("concurrency", "per_host", "retention_days"):
        if key in s:
            _check_range(s[key], f"settings.{key}", f"settings.{key}", problems)
    for key in ("data_dir", "rules"):
        if key in s:
            s[key] = Path(s[key])
    settings = Settings(**s)
    settings = replace(settings, data_dir=base / settings.data_dir, rules=base / settings.rules)
    tz = settings.timezone
    _check_tz(tz, "settings.timezone", problems)

    d = check_table(_sub(data, "digest", problems), DIGEST_KEYS, "digest", problems)
    if "at" in d and not TIME_RE.match(d["at"]):
        problems.add("digest.at", f"expected HH:MM (24h), got {d['at']!r}")
    if "language" in d and d["language"] not in ("zh", "en"):
        problems.add("digest.language", "expected zh or en")
    for key in ("max_items", "max_age_days"):
        if key in d:
            _check_range(d[key], f"digest.{key}", f"digest.{key}", problems)
    if "remind_days" in d:
        d["remind_days"] = _remind_days(d["remind_days"], problems)
    if "first_fetch" in d and d["first_fetch"] not in ("count", "mail"):
        problems.add("digest.first_fetch", "expected count or mail")
    digest = DigestConfig(**d)

    a = check_table(_sub(data, "alerts", problems), ALERTS_KEYS, "alerts", problems)
    if "min_severity" in a:
        _check_severity(a["min_severity"], "alerts.min_severity", problems, allow_off=True)
    alerts = AlertsConfig(**a)

    notify: list[NotifyConfig] = []
    raw_notify = data.get("notify", [])
    if not isinstance(raw_notify, list):
        problems.add("notify", "expected an array of tables ([[notify]])")
        raw_notify = []
    for i, n in enumerate(raw_notify):
        if not isinstance(n, dict):
            problems.add(f"notify[{i}]", "expected a table")
            continue
        g = check_table(n, NOTIFY_KEYS, f"notify[{i}]", problems, ("url",))
        if "url" in g and (_WHITE_OR_CONTROL.search(g["url"]) or "://" not in g["url"]):
            problems.add(f"notify[{i}].url", f"not a URL: {redact_url(g['url'])!r}")
        if "min_severity" in g:
            _check_severity(
                g["min_severity"], f"notify[{i}].min_severity", problems, allow_off=False
            )
        if "url" in g:
            notify.append(NotifyConfig(**g))

    email = _load_email(data.get("email"), problems)
    sources = _load_sources(data.get("sources", []), tz, problems)
    if problems.items:
        raise ConfigError(problems.items)
    return Config(
        path=path,
        settings=settings,
        sources=sources,
        email=email,
        digest=digest,
        alerts=alerts,
        notify=tuple(notify),
    )
