"""The compiled-rules cache (pipeline/classify/cache.py): a hit gives the same verdicts as a
fresh compile; a change to the rules or to the code's version misses; a corrupt, truncated or
tampered file is rebuilt, never trusted; a cache that cannot be written is logged and skipped."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path

import pytest

from pipeline.classify import Classifier, cache, cached_classifier
from pipeline.models import Verdict
from tests.support.harness import ROOT, lendwatch, write_config

RULES = ROOT / "rules.toml"
SAMPLES = [
    ("关于暂停网络小贷业务的通知", "蚂蚁借呗利率上限下调", "nfra", "regulator"),
    ("沪深300指数收涨", "市场情绪回暖", None, "media"),
    ("金融监管总局发布消费金融公司管理办法", "", "nfra", "regulator"),
]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def verdicts(classifier: Classifier) -> list[Verdict]:
    return [classifier.classify(t, s, issuer=i, authority=a) for t, s, i, a in SAMPLES]


def test_a_hit_is_the_compiled_classifier(rules: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    compiled = Classifier.from_file(rules, cache_dir)
    assert [p.name for p in cache_dir.iterdir()] == [cache.cache_file(cache_dir, rules).name]
    loaded = cache.load(cache_dir, rules, rules.read_text(encoding="utf-8"))
    assert isinstance(loaded, Classifier) and loaded is not compiled
    assert loaded.version == compiled.version
    assert verdicts(loaded) == verdicts(compiled)
    assert any(v.flagged for v in verdicts(loaded))
    # from_file takes it from the cache: parse_rules is not called again
    again = Classifier.from_file(rules, cache_dir)
    assert verdicts(again) == verdicts(compiled)


def test_a_hit_does_not_compile(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    Classifier.from_file(rules, cache_dir)
    import pipeline.classify as classify

    def no_compile(*args: object) -> None:
        raise AssertionError("compiled although the cache was warm")

    monkeypatch.setattr(classify, "parse_rules", no_compile)
    assert verdicts(Classifier.from_file(rules, cache_dir)) == verdicts(
        Classifier(classify.load_rules(rules))
    )


def test_a_changed_rules_file_misses(rules: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    before = Classifier.from_file(rules, cache_dir)
    text = rules.read_text(encoding="utf-8").replace('version = "', 'version = "9', 1)
    rules.write_text(text, encoding="utf-8")
    assert cache.load(cache_dir, rules, text) is None
    after = Classifier.from_file(rules, cache_dir)
    assert after.version != before.version and after.version.startswith("9")
    assert cache.load(cache_dir, rules, text) is not None  # rewritten for the new rules


def test_another_code_version_misses(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    Classifier.from_file(rules, cache_dir)
    text = rules.read_text(encoding="utf-8")
    assert cache.load(cache_dir, rules, text) is not None
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache.load(cache_dir, rules, text) is None
    monkeypatch.undo()
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert cache.load(cache_dir, rules, text) is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_cache_is_rebuilt(rules: Path, tmp_path: Path, damage: str) -> None:
    cache_dir = tmp_path / "cache"
    good = Classifier.from_file(rules, cache_dir)
    file = cache.cache_file(cache_dir, rules)
    data = file.read_bytes()
    if damage == "truncate":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # one byte of the payload: the checksum no longer matches
        file.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    elif damage == "empty":
        file.write_bytes(b"")
    else:
        file.write_bytes(b"\x80\x05not a pickle at all" * 10)
    text = rules.read_text(encoding="utf-8")
    assert cache.load(cache_dir, rules, text) is None
    rebuilt = Classifier.from_file(rules, cache_dir)
    assert verdicts(rebuilt) == verdicts(good)
    assert cache.load(cache_dir, rules, text) is not None  # written again, whole


def test_a_tampered_payload_with_a_valid_checksum_loads_nothing_foreign(
    rules: Path, tmp_path: Path
) -> None:
    """Even a file whose header is right cannot make the loader call anything but our classes."""
    cache_dir = tmp_path / "cache"
    Classifier.from_file(rules, cache_dir)
    text = rules.read_text(encoding="utf-8")
    payload = pickle.dumps((os.system, ("true",)))  # names a global that is no class of ours

    header = cache.MAGIC + cache.cache_key(text, rules).encode() + hashlib.sha256(payload).digest()
    cache.cache_file(cache_dir, rules).write_bytes(header + payload)
    assert cache.load(cache_dir, rules, text) is None


def test_an_unwritable_cache_dir_still_classifies(
    rules: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline.classify.cache"):
        classifier = Classifier.from_file(rules, blocker / "cache")
    assert verdicts(classifier) == verdicts(Classifier.from_file(rules))
    assert any("not written" in r.getMessage() for r in caplog.records)


def test_the_daemon_cache_uses_the_disk_cache(rules: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    first = cached_classifier(rules, cache_dir)
    assert cache.cache_file(cache_dir, rules).exists()
    assert cached_classifier(rules, cache_dir) is first  # in-process: no read of the disk cache


def test_check_config_writes_the_cache_under_the_data_dir(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    first = lendwatch(config, "check-config")
    assert first.returncode == 0, first.stderr
    files = list((tmp_path / "data" / "cache").glob("rules-*.pickle"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = lendwatch(config, "check-config")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert files[0].stat().st_mtime_ns == stamp  # a hit: not rewritten
