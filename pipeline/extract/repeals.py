"""What a document repeals: titles (without the outer 《》; inner 〈〉 kept as
written) and, when no title is named, the 文号.

Read:

* ``《X》（…号文印发）同时废止``, ``原《X》…同时废止``;
* ``《X》（…）、《Y》（…）与《Z》同时废止``;
* ``《X》（…）自本公告发布之日起废止``;
* ``现决定废止《X》（…）等36件规范性文件`` -- the titles named only, not a list
  in an attachment;
* ``关于废止《X》的决定``;
* ``中国人民银行公告〔2006〕第11号同时废止``.

Not a repeal: ``此前凡与本规定相抵触的…``, ``进行了修订``, ``拟废止`` (a proposal).
"""

from __future__ import annotations

import re

from pipeline.classify.docnum import normalize_doc_number
from pipeline.extract.text import Text

_TITLE = r"《[^《》\n]{1,160}》"
_NOTE = r"(?:\s*[（(][^（）()\n]{0,80}(?:[（(][^（）()\n]{0,40}[）)][^（）()\n]{0,40})*[）)])?"
_ITEM = rf"(?:原\s*)?{_TITLE}{_NOTE}"
_SEP = r"\s*(?:、|和|与|及|以及)\s*"
_CHAIN = rf"{_ITEM}(?:{_SEP}{_ITEM})*"
_WHEN = r"(?:\s*自[^。；;\n]{0,24}?起)?"
_VERB = r"\s*(?:同时|一并|即行|予以)?\s*废止"
_BACK = re.compile(rf"(?P<chain>{_CHAIN}){_WHEN}{_VERB}")
_FORWARD = re.compile(rf"(?<!拟)(?:决定|现|关于|予以)\s*废止\s*(?P<chain>{_CHAIN})")
_NUMBER = re.compile(
    r"(?P<num>[^。；;\n，,《》：:]{1,60}?(?:第\s*\d{1,5}\s*号|\d{1,5}\s*号))" + _WHEN + _VERB
)


def _titles(raw_chain: str) -> list[tuple[int, str]]:
    """The top-level 《》 titles of a chain, with their offsets."""
    out: list[tuple[int, str]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(raw_chain):
        if ch == "《":
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                out.append((start, raw_chain[start:i].strip()))
    return out


def find_repeals(text: Text) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    norm = text.norm
    if "废止" not in norm:  # every pattern above names it: most texts end here
        return ()
    for pattern in (_BACK, _FORWARD):
        for m in pattern.finditer(norm):
            raw = text.cut(m.start("chain"), m.end("chain"))
            found.extend((m.start("chain") + at, t) for at, t in _titles(raw) if t)
    for m in _NUMBER.finditer(norm):
        piece = norm[m.start("num") : m.end("num")]
        if normalize_doc_number(piece) is None:
            continue
        raw = re.sub(r"\s+", "", text.cut(m.start("num"), m.end("num")))
        if not any(raw in title for _, title in found):
            found.append((m.start("num"), raw))
    out: list[str] = []
    for _, title in sorted(found):
        if title not in out:
            out.append(title)
    return tuple(out)
