"""The document's own 发文字号, found with and normalised by ``pipeline.classify.docnum``.

Normal form: docnum's (``<issuer code>〔YYYY〕<n>号``, brackets 〔〕, ASCII digits, no spaces),
in simplified script (a 文号 is an identifier: the same document must compare equal whatever
script a mirror used). Additions for forms docnum does not cover:

* joint issuers and long codes: the whole issuing line before the bracket
  (``中国人民银行 国家金融监督管理总局公告〔2024〕第5号``, inner spaces collapsed to one);
* ranges on penalty pages: ``银罚决字〔2026〕104-116号``;
* decrees numbered by year without brackets: ``国家金融监督管理总局令2024年第5号``,
  ``中国银行保险监督管理委员会令(2020年第8号)``;
* the pre-1990 form ``（84）银发字第13号`` -> ``〔84〕银发字第13号``;
* a number on its own line under the issuer: ``深圳市人民代表大会常务委员会公告`` /
  ``第三十七号``.

Where, in order: the title; the body line that follows the item's title or a head line that is
only a number; a header ``（2024年3月27日…令2024年第5号公布 自…起施行）``; a number right after a
title that is published (``发布了《X》（金规〔2024〕26号`` -- not ``根据《X》（…）``); a
``行政处罚决定书（…号）``. Numbers merely cited in the text are not the document's.
"""

from __future__ import annotations

import re

from pipeline.classify.docnum import normalize_doc_number
from pipeline.extract.dates import DATE_RE
from pipeline.extract.numerals import NUMBER_CHARS
from pipeline.extract.text import Text

_OPEN = re.escape("〔[［(（【〖")
_CLOSE = re.escape("〕]］)）】〗")
_BRACKETED = re.compile(
    rf"[{_OPEN}]\s*(?P<y>\d{{4}})\s*[{_CLOSE}]\s*(?P<di>第?)\s*(?P<a>\d{{1,5}})\s*"
    r"(?:(?P<dash>[-－—~～至])\s*(?P<b>\d{1,5})\s*)?号"
)
_DECREE = re.compile(
    r"(?P<code>[\u4e00-\u9fff][\u4e00-\u9fff ]{0,40}?令)\s*[(（]?\s*(?P<y>\d{4})\s*年\s*"
    r"第\s*(?P<n>\d{1,4})\s*号"
)
_OLD = re.compile(
    r"[(（〔\[]\s*(?P<y>\d{2})\s*[)）〕\]]\s*(?P<code>[\u4e00-\u9fff]{1,8}字)\s*第?\s*(?P<n>\d{1,5})\s*号"
)
_ALONE = re.compile(rf"^第[{NUMBER_CHARS}\d]{{1,6}}号$")
_HEADER = re.compile(
    rf"[(（]\s*(?:{DATE_RE})\s*(?P<num>[^()（）\n]{{4,60}}?号)\s*(?:公布|发布|印发)"
)
_PUBLISHED = re.compile(
    r"(?<!根据)(?<!依据)(?<!按照)(?:发布|印发|公布|出台|下发)了?\s*《[^《》\n]{2,120}》\s*[(（]"
    r"(?P<inner>[^()（）\n]{0,40})"
)
_DECISION = re.compile(r"决定书\s*[(（](?P<inner>[^()（）\n]{4,40}号)\s*[)）]")
_HEAD_LINES = 12
# A number that starts right here: an optional issuer code, then a bracketed year.
_NUMBER_NEXT = re.compile(rf"[(（]?[\u4e00-\u9fff]{{0,12}}[{_OPEN}]\s*\d{{2,4}}")
_DOCNUM_MAX_CODE = 12  # docnum keeps at most this many characters of the issuer code


def _issuer(line: str, at: int) -> str:
    """The issuing text of ``line`` before offset ``at``: the CJK run (spaces allowed between
    issuer names) that ends there, after any date (``2023年3月16日中国人民银行令``)."""
    prefix = line[max(0, at - 80) : at]  # no issuer is longer; keeps long lines linear
    dated = list(re.finditer(DATE_RE, prefix))
    if dated:
        prefix = prefix[dated[-1].end() :]
    m = re.search(r"[\u4e00-\u9fff][\u4e00-\u9fff ]*$", prefix)
    return re.sub(r"\s+", " ", m.group(0)).strip() if m else ""


def _key(number: str) -> tuple[str, str] | None:
    """(year, serial) of a normalised number, to compare two readings of it."""
    m = re.search(r"(?:〔(\d+)〕|(\d{4})年)第?([\w-]+?)号$", number)
    return None if m is None else (m.group(1) or m.group(2), m.group(3))


def _from_line(line: str) -> str | None:
    """The normalised number in ``line`` (the first), with the fuller issuer of the line."""
    m = _DECREE.search(line)
    if m:
        code = _issuer(line, m.end("code")) or m.group("code")
        return f"{code}{int(m.group('y'))}年第{int(m.group('n'))}号"
    m = _OLD.search(line)
    if m and not _BRACKETED.search(line):
        return f"〔{m.group('y')}〕{m.group('code')}第{int(m.group('n'))}号"
    m = _BRACKETED.search(line)
    if m is None:
        return None
    single = line[: m.end("a")] + "号"
    base = normalize_doc_number(single[max(0, m.start() - 40) :])
    if base is None:
        return None
    code = base[: base.index("〔")]
    issuer = _issuer(line, m.start())
    longer = issuer.endswith(code) and (" " in issuer or len(code) >= _DOCNUM_MAX_CODE)
    if issuer and (longer or (code.endswith(issuer) and len(issuer) < len(code))):
        base = issuer + base[len(code) :]
    if m.group("b"):
        base = base[:-1] + f"-{int(m.group('b'))}号"
    return base


def _lines(norm: str) -> list[str]:
    return [line.strip() for line in norm.split("\n") if line.strip()]


def _joined_head(lines: list[str]) -> list[str]:
    """Head lines, with a number on its own line joined to the issuer line above it."""
    out: list[str] = []
    for i, line in enumerate(lines[:_HEAD_LINES]):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.endswith(("令", "公告")) and (
            _ALONE.match(nxt.replace(" ", "")) or re.match(r"^[(（〔\[]?\s*\d{4}", nxt)
        ):
            out.append(line + nxt)
        out.append(line)
    return out


def _alone_value(line: str) -> str | None:
    m = re.match(rf"^(?P<code>.+?(?:令|公告))\s*第(?P<n>[{NUMBER_CHARS}\d]{{1,6}})号$", line)
    if m and not re.search(r"\d{4}", line):
        return re.sub(r"\s+", "", m.group("code")) + f"第{m.group('n')}号"
    return None


def _is_number_line(line: str) -> bool:
    """A line that holds little besides a number (the number line of a document's head): no
    cited title, no sentence around it."""
    rest = re.sub(
        r"[〔\[［(（【].{0,8}?[〕\]］)）】]\s*第?\s*\d+\s*号|\d{4}\s*年\s*第\s*\d+\s*号", "", line
    )
    if len(rest) == len(line) or re.search(r"[《，,。；;]", rest):
        return False
    return len(re.sub(r"[^\u4e00-\u9fff]", "", rest)) <= 24


def _prefer(found: str, other: str) -> str:
    """Of two readings of the same number, the one with the fuller issuer."""
    if _key(found) is not None and _key(found) == _key(other) and len(other) > len(found):
        return other
    return found


def find_doc_number(title: Text, body: Text) -> str | None:
    """The 文号 of the document itself (see the module docstring), or None."""
    lines = _lines(body.norm)
    head = _joined_head(lines)
    head_numbers = [n for n in (_from_line(x) for x in head if _is_number_line(x)) if n]
    head_numbers += [v for v in (_alone_value(x.replace(" ", "")) for x in head) if v]
    from_title = _from_line(title.norm) if title.norm.strip() else None
    if from_title:
        for other in head_numbers:
            from_title = _prefer(from_title, other)
        return from_title
    title_key = re.sub(r"\s+", "", title.norm)
    if len(title_key) >= 8:
        for i, line in enumerate(lines[:40]):
            flat = line.replace(" ", "")
            at = flat.find(title_key)
            if at == -1:
                continue
            after = flat[at + len(title_key) :].lstrip("》")
            found = _from_line(after) if _NUMBER_NEXT.match(after) else None
            if found is None and not after and i + 1 < len(lines):
                nxt = lines[i + 1].replace(" ", "")
                found = _from_line(nxt) if _is_number_line(nxt) else None
            if found:
                return found
    if head_numbers:
        return head_numbers[0]
    norm = body.norm
    for pattern in (_HEADER, _PUBLISHED, _DECISION):
        for m in pattern.finditer(norm):
            group = "num" if pattern is _HEADER else "inner"
            found = _from_line(m.group(group))
            if found:
                return found
    return None
