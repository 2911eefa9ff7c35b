"""The configuration's selector check: plain selectors are accepted without soupsieve
(``plain_selector()``), everything else still goes to soupsieve. What the plain grammar accepts
must be valid for soupsieve, or a broken selector would pass ``check-config``."""

from __future__ import annotations

import random
import tomllib

import pytest
import soupsieve

from pipeline.fetch.items import plain_selector, selector_problems, split_attr
from tests.support.harness import ROOT

SELECTOR_KEYS = ("item", "title", "link", "date", "summary", "detail", "attachment_links")

# pieces of selectors, valid and not: random strings of them probe the grammar's edges
ATOMS = (
    "a", "div", "li", "x-y", "_q", "-p", "1", "2a", ".c", "#i", "#3", "[h]", "[h='v']", '[h="v"]',
    "[h=v]", "[h~=v]", "[h!=v]", "[h=1]", " ", " > ", ">", "+", "~", ",", ", ", "*", ":has(",
    ")", ":nth-child(2)", ":nth-of-type(", ":first-child", ":hover", "(", "[", "]", "'", '"',
    "\\", ".", "#", ":", "@", "-", "span", "::before", "\n", "\t", "|", "ns|a",
)  # fmt: skip


def shipped_selectors() -> set[str]:
    config = tomllib.loads((ROOT / "sources.toml").read_text(encoding="utf-8"))
    found = set()
    for source in config["sources"]:
        if source.get("kind") != "html" and "detail" not in source:
            continue
        for key in SELECTOR_KEYS:
            if isinstance(source.get(key), str):
                css = split_attr(source[key])[0]
                if css not in ("", "."):
                    found.add(css)
    return found


def test_what_the_plain_grammar_accepts_soupsieve_accepts() -> None:
    rng = random.Random(13)
    accepted = 0
    for _ in range(6000):
        text = "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 8)))
        if plain_selector().fullmatch(text):
            accepted += 1
            soupsieve.compile(text)  # raises on a false acceptance
    assert accepted > 300  # the probe reached the accepting side often enough to mean something


def test_every_shipped_selector_is_plain() -> None:
    """So that loading the shipped configuration never imports soupsieve (and bs4, lxml)."""
    selectors = shipped_selectors()
    assert len(selectors) > 20
    assert sorted(s for s in selectors if not plain_selector().fullmatch(s)) == []


@pytest.mark.parametrize(
    "css",
    ["li:has(> span.fr)", "td:nth-of-type(2) a", "#zoom, #easysiteText", "table[width='720']"],
)
def test_plain_selectors_pass(css: str) -> None:
    assert plain_selector().fullmatch(css)
    assert selector_problems("item", css) == []


@pytest.mark.parametrize("css", ["li >", "div[", "a:has(", "#1abc", "p::", "a,,b", "li:nope"])
def test_broken_selectors_are_still_reported_by_soupsieve(css: str) -> None:
    assert not plain_selector().fullmatch(css)
    problems = selector_problems("item", css)
    assert len(problems) == 1 and problems[0].startswith(f"item: invalid CSS selector {css!r}")


def test_a_selector_beyond_the_grammar_goes_to_soupsieve() -> None:
    css = "li:not(.ad) > a:is(.t, .u)"
    assert not plain_selector().fullmatch(css)
    assert selector_problems("item", css) == []  # valid, checked the slow way
