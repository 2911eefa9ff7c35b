"""Table-by-table validation of a parsed ``rules.toml`` (see ``rules.py`` for the layout)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline.classify.rules import (
    AUTHORITY_KEYS,
    AUTHORITY_KINDS,
    EXCLUSION_KEYS,
    EXCLUSION_MODES,
    FIELDS,
    GROUP_KEYS,
    META_KEYS,
    RULE_KEYS,
    SCORING_KEYS,
    TOP_KEYS,
    TOPIC_KEYS,
    WEIGHTED_KEYS,
    Authority,
    Exclusion,
    Rule,
    RuleSet,
    Scoring,
    Vocabulary,
    Weighted,
    _fields,
    _names,
    _vocabulary,
    _weight,
)
from pipeline.validate import Problems, check_table


def _tables(data: dict[str, Any], key: str, p: Problems) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        p.add(key, "expected a table of tables")
        return {}
    return value


def _scoring(data: dict[str, Any], p: Problems) -> Scoring:
    s = check_table(data.get("scoring", {}), SCORING_KEYS, "scoring", p)
    weights: dict[str, float] = {"title": 1.0, "summary": 0.6, "body": 0.3}
    for name, value in s.get("field_weights", {}).items():
        where = f"scoring.field_weights.{name}"
        if name not in FIELDS:
            p.add(where, f"unknown field; allowed: {', '.join(FIELDS)}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            p.add(where, f"expected a non-negative number, got {value!r}")
        else:
            weights[name] = float(value)
    scoring = Scoring(
        field_weights=MappingProxyType(weights),
        min_relevance=float(s.get("min_relevance", 1.5)),
        high=float(s.get("high", 8.0)),
        medium=float(s.get("medium", 5.0)),
        snippet_chars=s.get("snippet_chars", 40),
    )
    if scoring.high <= scoring.medium:
        p.add("scoring.high", f"must be above scoring.medium ({scoring.medium})")
    if scoring.snippet_chars < 0:
        p.add("scoring.snippet_chars", "must not be negative")
    return scoring


def _source_authority(data: dict[str, Any], p: Problems) -> dict[str, float]:
    out = {"regulator": 2.0, "association": 1.0, "media": 0.0}
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
        within = e.get("within", 0)
        if within < 0:
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
            within=within,
            unless=_names(e.get("unless"), vocabs, "vocabulary", f"{where}.unless", p),
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
        near = r.get("near", 0)
        if near < 0:
            p.add(f"{where}.near", "must not be negative")
        if "name" in r and "topic" in r and "require" in r:
            out.append(
                Rule(
                    name=r["name"],
                    topic=topic,
                    require=require,
                    near=near,
                    fields=_fields(r.get("fields"), f"{where}.fields", p),
                    exclude=exclude,
                    weight=_weight(r.get("weight", 3.0), f"{where}.weight", p),
                    flag=r.get("flag", True),
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


def build_ruleset(data: dict[str, Any], path: Path, p: Problems) -> RuleSet | None:
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
        version=meta.get("version", "0"),
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
