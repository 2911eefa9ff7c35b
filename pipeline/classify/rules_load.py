"""Read and validate ``rules.toml`` into the frozen dataclasses of ``rules.py``.

Every problem in the file is collected and reported at once as a ``ConfigError``; each names the
file, the table and the key, and an unknown key lists the allowed ones. The file's layout (see
the comments in the shipped ``rules.toml``)::

    [meta]            version, description
    [scoring]         field_weights, min_relevance, high, medium, snippet_chars
    [source_authority]  weight of a source's authority (regulator/association/media)
    [authorities.KEY] name, kind, weight, names           issuer registry (KEY = source issuer)
    [doctypes.KEY]    name, weight, terms                  document types (title terms)
    [actions.KEY]     name, weight, terms                  actions (暂停, 处罚, 下调 ...)
    [groups.NAME]     description, terms, aliases          vocabularies used by rules
    [topics.NAME]     title, terms, aliases                topics (their terms are a vocabulary)
    [exclusions.NAME] mode, terms, aliases, fields, within, unless
    [[rules]]         name, topic, require, near, fields, exclude, weight, flag
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline.classify.normalize import fold_term
from pipeline.classify.rules import (
    AUTHORITY_KINDS,
    DEFAULT_FIELD_WEIGHTS,
    DEFAULT_SOURCE_AUTHORITY,
    EXCLUSION_MODES,
    FIELDS,
    Authority,
    Exclusion,
    Rule,
    RuleSet,
    Scoring,
    Term,
    Vocabulary,
    Weighted,
)
from pipeline.errors import ConfigError
from pipeline.validate import KeyType, Problems, check_table

TOP_KEYS = (
    "meta",
    "scoring",
    "source_authority",
    "authorities",
    "doctypes",
    "actions",
    "groups",
    "topics",
    "exclusions",
    "rules",
)
_T = KeyType
META_KEYS: Mapping[str, _T] = {"version": str, "description": str}
SCORING_KEYS: Mapping[str, _T] = {
    "field_weights": dict,
    "min_relevance": (int, float),
    "high": (int, float),
    "medium": (int, float),
    "snippet_chars": int,
}
AUTHORITY_KEYS: Mapping[str, _T] = {"name": str, "kind": str, "weight": (int, float), "names": list}
WEIGHTED_KEYS: Mapping[str, _T] = {"name": str, "weight": (int, float), "terms": list}
GROUP_KEYS: Mapping[str, _T] = {"description": str, "terms": list, "aliases": dict}
TOPIC_KEYS: Mapping[str, _T] = {"title": str, "terms": list, "aliases": dict}
EXCLUSION_KEYS: Mapping[str, _T] = {
    "mode": str,
    "description": str,
    "terms": list,
    "aliases": dict,
    "fields": list,
    "within": int,
    "unless": list,
}
RULE_KEYS: Mapping[str, _T] = {
    "name": str,
    "topic": str,
    "require": list,
    "near": int,
    "fields": list,
    "exclude": list,
    "weight": (int, float),
    "flag": bool,
    "description": str,
}


def parse_rules(text: str, path: Path) -> RuleSet:
    """Validate the TOML ``text`` of a rules file. Raises ConfigError listing every problem."""
    p = Problems(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from e
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    ruleset = _ruleset(data, path, digest, p)
    if p.items:
        raise ConfigError(p.items)
    return ruleset


def read_rules(path: Path) -> str:
    """The text of a rules file; ConfigError naming the file if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError([f"{path}: rules file not found"]) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from e


def load_rules(path: Path | str) -> RuleSet:
    """Read and validate a rules file."""
    path = Path(path)
    return parse_rules(read_rules(path), path)


def _ruleset(data: dict[str, Any], path: Path, digest: str, p: Problems) -> RuleSet:
    """Every table, validated; the version is the declared one + the hash of the file."""
    for key in data:
        if key not in TOP_KEYS:
            p.add(key, f"unknown table; allowed: {', '.join(TOP_KEYS)}")
    meta = check_table(data.get("meta", {}), META_KEYS, "meta", p, ("version",))
    scoring = _scoring(data, p)
    source_authority = _source_authority(data, p)
    authorities = _authorities(data, p)
    doctypes = _weighted(data, "doctypes", "doctype", p)
    actions = _weighted(data, "actions", "action", p)
    vocabs = _vocabularies(data, p)
    exclusions = _exclusions(data, vocabs, p)
    rules = _rules(data, vocabs, exclusions, p)
    return RuleSet(
        path=path,
        version=f"{meta.get('version', '0')}+{digest}",
        description=meta.get("description", ""),
        scoring=scoring,
        source_authority=MappingProxyType(source_authority),
        authorities=authorities,
        doctypes=doctypes,
        actions=actions,
        vocabularies=MappingProxyType(vocabs),
        exclusions=MappingProxyType(exclusions),
        rules=rules,
    )


def _tables(data: dict[str, Any], key: str, p: Problems) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        p.add(key, "expected a table of tables")
        return {}
    return value


def _scoring(data: dict[str, Any], p: Problems) -> Scoring:
    s = check_table(data.get("scoring", {}), SCORING_KEYS, "scoring", p)
    weights = dict(DEFAULT_FIELD_WEIGHTS)
    for name, value in s.get("field_weights", {}).items():
        where = f"scoring.field_weights.{name}"
        if name not in FIELDS:
            p.add(where, f"unknown field; allowed: {', '.join(FIELDS)}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            p.add(where, f"expected a non-negative number, got {value!r}")
        else:
            weights[name] = float(value)
    given: dict[str, Any] = {k: float(s[k]) for k in ("min_relevance", "high", "medium") if k in s}
    if "snippet_chars" in s:
        given["snippet_chars"] = s["snippet_chars"]
    scoring = Scoring(field_weights=MappingProxyType(weights), **given)
    if scoring.high <= scoring.medium:
        p.add("scoring.high", f"must be above scoring.medium ({scoring.medium})")
    if scoring.snippet_chars < 0:
        p.add("scoring.snippet_chars", "must not be negative")
    return scoring


def _source_authority(data: dict[str, Any], p: Problems) -> dict[str, float]:
    out = dict(DEFAULT_SOURCE_AUTHORITY)
    table = data.get("source_authority", {})
    if not isinstance(table, dict):
        p.add("source_authority", "expected a table")
        return out
    for key, value in table.items():
        where = f"source_authority.{key}"
        if key not in AUTHORITY_KINDS:
            p.add(where, f"unknown key; allowed keys: {', '.join(AUTHORITY_KINDS)}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            p.add(where, f"expected a non-negative number, got {value!r}")
        else:
            out[key] = float(value)
    return out


def _authorities(data: dict[str, Any], p: Problems) -> tuple[Authority, ...]:
    out: list[Authority] = []
    for key, table in _tables(data, "authorities", p).items():
        where = f"authorities.{key}"
        a = check_table(table, AUTHORITY_KEYS, where, p, ("name", "weight", "names"))
        kind = a.get("kind", "regulator")
        if kind not in AUTHORITY_KINDS:
            p.add(f"{where}.kind", f"expected one of {', '.join(AUTHORITY_KINDS)}, got {kind!r}")
        vocab = _vocabulary(f"authority:{key}", "authority", a.get("names"), None, where, p)
        weight = _weight(a.get("weight", 0), f"{where}.weight", p)
        out.append(Authority(key, a.get("name", key), kind, weight, vocab))
    return tuple(out)


def _weighted(
    data: dict[str, Any], table_name: str, kind: str, p: Problems
) -> tuple[Weighted, ...]:
    out: list[Weighted] = []
    for key, table in _tables(data, table_name, p).items():
        where = f"{table_name}.{key}"
        w = check_table(table, WEIGHTED_KEYS, where, p, ("weight", "terms"))
        vocab = _vocabulary(f"{kind}:{key}", kind, w.get("terms"), None, where, p)
        weight = _weight(w.get("weight", 0), f"{where}.weight", p)
        out.append(Weighted(key, w.get("name", key), weight, vocab))
    return tuple(out)


def _vocabularies(data: dict[str, Any], p: Problems) -> dict[str, Vocabulary]:
    vocabs: dict[str, Vocabulary] = {}
    for key, table in _tables(data, "groups", p).items():
        g = check_table(table, GROUP_KEYS, f"groups.{key}", p)
        vocabs[key] = _vocabulary(
            key, "group", g.get("terms"), g.get("aliases"), f"groups.{key}", p
        )
    for key, table in _tables(data, "topics", p).items():
        where = f"topics.{key}"
        t = check_table(table, TOPIC_KEYS, where, p, ("title",))
        if key in vocabs:
            p.add(where, "a group has the same name; topics and groups share one namespace")
        if "terms" in t or "aliases" in t:
            vocabs[key] = _vocabulary(
                key, "topic", t.get("terms"), t.get("aliases"), where, p, t.get("title", key)
            )
        else:  # a topic without its own terms (its rules require groups)
            vocabs[key] = Vocabulary(key, "topic", (), t.get("title", key))
    return vocabs


def _exclusions(
    data: dict[str, Any], vocabs: dict[str, Vocabulary], p: Problems
) -> dict[str, Exclusion]:
    out: dict[str, Exclusion] = {}
    for key, table in _tables(data, "exclusions", p).items():
        where = f"exclusions.{key}"
        e = check_table(table, EXCLUSION_KEYS, where, p, ("mode",))
        mode = e.get("mode", "veto")
        if mode not in EXCLUSION_MODES:
            p.add(f"{where}.mode", f"expected one of {', '.join(EXCLUSION_MODES)}, got {mode!r}")
        if e.get("within", 0) < 0:
            p.add(f"{where}.within", "must not be negative")
        if mode == "mask" and ("unless" in e or "within" in e):
            p.add(where, "'unless' and 'within' apply to mode = 'veto' only")
        vocab = _vocabulary(
            f"exclusion:{key}", "exclusion", e.get("terms"), e.get("aliases"), where, p
        )
        out[key] = Exclusion(
            name=key,
            mode=mode,
            vocabulary=vocab,
            fields=_fields(e.get("fields"), f"{where}.fields", p),
            unless=_names(e.get("unless"), vocabs, "vocabulary", f"{where}.unless", p),
            **({"within": e["within"]} if "within" in e else {}),
        )
    return out


def _rules(
    data: dict[str, Any],
    vocabs: dict[str, Vocabulary],
    exclusions: dict[str, Exclusion],
    p: Problems,
) -> tuple[Rule, ...]:
    raw = data.get("rules", [])
    if not isinstance(raw, list):
        p.add("rules", "expected an array of tables ([[rules]])")
        return ()
    topics = {k: v for k, v in vocabs.items() if v.kind == "topic"}
    out: list[Rule] = []
    seen: set[str] = set()
    for i, table in enumerate(raw):
        name = table.get("name") if isinstance(table, dict) else None
        where = f"rules[{i}]" + (f" ({name})" if isinstance(name, str) else "")
        r = check_table(table, RULE_KEYS, where, p, ("name", "topic", "require"))
        if isinstance(name, str):
            if name in seen:
                p.add(f"{where}.name", "duplicate rule name")
            seen.add(name)
        topic = r.get("topic", "")
        if topic and topic not in topics:
            p.add(f"{where}.topic", f"unknown topic {topic!r}; topics: {', '.join(sorted(topics))}")
        require = _names(r.get("require"), vocabs, "vocabulary", f"{where}.require", p)
        if "require" in r and not r["require"]:
            p.add(f"{where}.require", "needs at least one vocabulary")
        for v in require:
            if not vocabs[v].terms:
                p.add(f"{where}.require", f"topic {v!r} has no terms of its own")
        exclude = _names(r.get("exclude"), exclusions, "exclusion", f"{where}.exclude", p)
        for x in exclude:
            if exclusions[x].mode == "mask":
                p.add(f"{where}.exclude", f"{x!r} is a mask (applies to every rule); list vetoes")
        if r.get("near", 0) < 0:
            p.add(f"{where}.near", "must not be negative")
        if "name" in r and "topic" in r and "require" in r:
            given: dict[str, Any] = {k: r[k] for k in ("near", "flag") if k in r}
            fields = _fields(r.get("fields"), f"{where}.fields", p)
            if "weight" in r:
                given["weight"] = _weight(r["weight"], f"{where}.weight", p)
            out.append(
                Rule(
                    name=r["name"],
                    topic=topic,
                    require=require,
                    fields=fields,
                    exclude=exclude,
                    **given,
                )
            )
    if not out and not p.items:
        p.add("rules", "needs at least one rule")
    used = {v for r in out for v in r.require} | {u for e in exclusions.values() for u in e.unless}
    for name, vocab in vocabs.items():
        if vocab.terms and name not in used:
            table = "topics" if vocab.kind == "topic" else "groups"
            p.add(f"{table}.{name}", "not used by any rule or exclusion (a typo in a require?)")
    return tuple(out)


def _vocabulary(
    name: str, kind: str, terms: Any, aliases: Any, where: str, p: Problems, title: str = ""
) -> Vocabulary:
    """Terms (strings) plus aliases (canonical -> variants); folded, duplicates reported."""
    out: list[Term] = []
    seen: dict[str, str] = {}
    raw: list[tuple[str, list[Any], str]] = []
    for i, t in enumerate(terms or []):
        raw.append((t, [], f"{where}.terms[{i}]"))
    if aliases is not None and not isinstance(aliases, dict):
        p.add(f"{where}.aliases", "expected a table of term = [variants]")
        aliases = {}
    for canonical, variants in (aliases or {}).items():
        if not isinstance(variants, list):
            p.add(f"{where}.aliases.{canonical}", "expected a list of strings")
            continue
        raw = [r for r in raw if r[0] != canonical]
        raw.append((canonical, variants, f"{where}.aliases.{canonical}"))
    for canonical, variants, at in raw:
        patterns: list[str] = []
        for text in [canonical, *variants]:
            if not isinstance(text, str):
                p.add(at, f"expected a string, got {text!r}")
                continue
            folded = fold_term(text)
            if not folded:
                p.add(at, f"empty term {text!r}")
            elif folded in seen:
                p.add(at, f"term {text!r} repeats {seen[folded]!r} (same after normalisation)")
            else:
                seen[folded] = text
                patterns.append(folded)
        if patterns and isinstance(canonical, str):
            out.append(Term(canonical, tuple(patterns)))
    if not out:
        p.add(where, "needs at least one term")
    return Vocabulary(name, kind, tuple(out), title)


def _fields(value: Any, where: str, p: Problems) -> tuple[str, ...]:
    if value is None:
        return FIELDS
    bad = [f for f in value if f not in FIELDS]
    if bad or not value:
        p.add(where, f"expected a non-empty list of {', '.join(FIELDS)}, got {value!r}")
        return FIELDS
    return tuple(value)


def _names(
    value: Any, known: Mapping[str, Any], what: str, where: str, p: Problems
) -> tuple[str, ...]:
    out: list[str] = []
    for v in value or []:
        if not isinstance(v, str) or v not in known:
            p.add(where, f"unknown {what} {v!r}; known: {', '.join(sorted(known))}")
        else:
            out.append(v)
    return tuple(out)


def _weight(value: Any, where: str, p: Problems) -> float:
    if value < 0:
        p.add(where, "must not be negative")
    return float(value)
