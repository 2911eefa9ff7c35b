"""Take the DOCTYPE out of a feed before any XML parser sees it.

A DTD's internal subset can declare entities that expand to gigabytes (nested ones, or a large
one referenced many times); expat's amplification limit still lets a 5 MB document cost a minute
of CPU. So the DOCTYPE is removed, and only *simple* internal entities are kept: a value of plain
text (no ``&`` or ``<``) or a single character reference, as feedparser keeps them. They are
substituted here, outside CDATA sections and comments, and the whole expansion is bounded. An
external entity (``SYSTEM``/``PUBLIC``) is never fetched; a reference to a dropped entity stays
as written and the lenient parser reads it as an unknown entity.
"""

from __future__ import annotations

import re

from pipeline.errors import LayoutChangedError

# Characters the expansion may add beyond the document's own size.
MAX_EXPANSION = 1_000_000

_DOCTYPE = re.compile(r"<!DOCTYPE\b(?:[^\[>]*)(?:\[(?P<subset>.*?)\]\s*)?>", re.S | re.I)
_ENTITY = re.compile(r"<!ENTITY\s+(?!%)([A-Za-z_][\w.-]*)\s+([\"'])(.*?)\2\s*>", re.S)
_SAFE_VALUE = re.compile(r"^(?:&#(?:\d+|x[0-9a-fA-F]+);|[^&<\"]*)$")
_PREDEFINED = frozenset({"lt", "gt", "amp", "quot", "apos"})
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_SKIP = r"<!\[CDATA\[.*?\]\]>|<!--.*?-->"


def strip(text: str, source_id: str, *, limit: int = MAX_EXPANSION) -> str:
    """The document without its DOCTYPE, simple internal entities substituted.

    Raises LayoutChangedError when the substitution would add more than ``limit`` characters.
    """
    start = _FIRST_ELEMENT.search(text)
    head_end = start.start() if start else len(text)
    head = text[:head_end]
    if "<!DOCTYPE" not in head.upper():
        return text
    m = _DOCTYPE.search(head)
    if m is None:  # an unterminated DOCTYPE: drop everything from it to the first element
        cut = head.upper().index("<!DOCTYPE")
        return text[:cut] + text[head_end:]
    entities = _safe_entities(m.group("subset") or "")
    body = text[: m.start()] + text[m.end() :]
    if not entities:
        return body
    return _substitute(body, entities, source_id, limit)


def _safe_entities(subset: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, _quote, value in _ENTITY.findall(subset):
        if name in _PREDEFINED or name in found:
            continue  # the first declaration binds (XML 1.0 section 4.2)
        if _SAFE_VALUE.match(value):
            found[name] = value
    return found


def _substitute(body: str, entities: dict[str, str], source_id: str, limit: int) -> str:
    names = "|".join(re.escape(n) for n in sorted(entities, key=len, reverse=True))
    pattern = re.compile(rf"({_SKIP})|&({names});", re.S)
    added = 0

    def expand(m: re.Match[str]) -> str:
        nonlocal added
        if m.group(1) is not None:
            return m.group(1)
        value = entities[m.group(2)]
        added += len(value) - len(m.group(0))
        if added > limit:
            raise LayoutChangedError(
                source_id,
                f"the feed's DTD entities expand to more than {limit:,} characters;"
                " entity expansion refused",
            )
        return value

    return pattern.sub(expand, body)
