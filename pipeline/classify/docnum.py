"""Chinese document numbers (发文字号): find them in any bracket style and normalise them.

A 发文字号 is an issuer code, a year in brackets and a serial number: ``银保监发〔2020〕9号``.
Sources write the brackets every way there is: 〔〕, [], ［］, (), （）, 【】, 〖〗, ［2021], even
mixed (``银办发〔2025]203号``), with full-width digits or spaces. Normalised form:
``<issuer code>〔YYYY〕<n>号`` with ASCII digits, no spaces, and ``第`` kept when written
(``中国人民银行令〔2021〕第4号``). A placeholder serial such as ``x`` (``银发[2021]x号``) is kept,
lower-cased.
"""

from __future__ import annotations

import re
import unicodedata

_OPEN = "〔[［(（【〖⁅"
_CLOSE = "〕]］)）】〗⁆"
# ``\d`` matches full-width digits too; they are converted with int() afterwards.
_DOCNUM = re.compile(
    r"[" + re.escape(_OPEN) + r"]\s*(\d{4})\s*[" + re.escape(_CLOSE) + r"]"
    r"\s*(第?)\s*(\d{1,5}|[xX×＊*ｘＸ]{1,3})\s*号"
)
# The issuer code is the run of CJK characters right before the bracket, at most this long.
_MAX_CODE = 12
# Words that often stand between the text and a code, and are not part of the code.
_LEADING_NOISE = (
    "根据",
    "按照",
    "依据",
    "依照",
    "参照",
    "执行",
    "印发",
    "转发",
    "关于",
    "文件",
    "通知",
    "即",
    "见",
    "和",
    "及",
    "与",
    "或",
)


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _issuer_code(text: str, bracket_at: int, floor: int) -> str:
    """The CJK run before the bracket, not reaching back past ``floor`` (the previous number)."""
    i = bracket_at
    while i > floor and text[i - 1] == " ":
        i -= 1
    end = i
    while i > floor and end - i < _MAX_CODE and _is_cjk(text[i - 1]):
        i -= 1
    code = text[i:end]
    changed = True
    while changed and code:
        changed = False
        for noise in _LEADING_NOISE:
            if code.startswith(noise) and len(code) > len(noise) + 1:
                code = code[len(noise) :]
                changed = True
    return code


def find_doc_numbers(text: str) -> tuple[str, ...]:
    """Every document number in ``text``, normalised, in order of appearance, without repeats."""
    if "号" not in text:
        return ()
    found: list[str] = []
    floor = 0
    for m in _DOCNUM.finditer(text):
        code = _issuer_code(text, m.start(), floor)
        floor = m.end()
        year = int(m.group(1))
        if not code or not 1949 <= year <= 2199:
            continue
        serial = m.group(3)
        if serial.isdigit():
            serial = str(int(serial))
        else:  # a placeholder such as x, ×, ｘ
            serial = unicodedata.normalize("NFKC", serial).lower().replace("×", "x")
        number = f"{code}〔{year}〕{m.group(2)}{serial}号"
        if number not in found:
            found.append(number)
    return tuple(found)


def normalize_doc_number(raw: str) -> str | None:
    """Normalise one document number; None if ``raw`` is not one."""
    found = find_doc_numbers(raw)
    return found[0] if found else None
