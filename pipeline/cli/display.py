"""Text from outside, made fit for a terminal: no escape sequences, no control characters, no
credentials.

``safe`` is applied to every stored or fetched string a command prints (titles, reasons, URLs,
SMTP errors), as defence in depth: the fetch side strips control characters before storing,
but a title stored by an older lendwatch, or an error text a server sent, never reaches the
terminal as an ANSI/OSC sequence (which can retitle the window, rewrite what was printed
before, or make a link say one thing and open another).

``redact_url`` (``pipeline.redact``) masks a URL's credentials, then makes it ``safe``.
"""

from __future__ import annotations

import json
import re

from pipeline import redact

# ESC-introduced sequences: CSI (ESC [ ... final), OSC / DCS / APC / PM / SOS (ESC ] ... ST or
# BEL), and the two-character ones; then their 8-bit forms (C1: U+009B CSI, U+009D OSC ...).
_ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]?                       # CSI
    | \x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)          # OSC, DCS, SOS, PM, APC .. ST / BEL
    | \x1b[ -/]*[0-~]?                                # other ESC sequences
    | \x9b[0-?]*[ -/]*[@-~]?                          # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x9c|\x1b\\|$)  # 8-bit OSC, DCS, SOS, PM, APC
    """,
    re.VERBOSE | re.DOTALL,
)
# what is left: line breaks and tabs (made spaces), other C0 and C1 controls, DEL, and the
# bidirectional overrides and isolates that make text display in another order than it reads
_BREAKS = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # JSON escapes C0 itself


def safe(text: object) -> str:
    """One line of printable text: escape sequences and control characters dropped, line
    breaks and tabs made spaces."""
    value = "" if text is None else str(text)
    value = _ESCAPES.sub("", value)
    return _CONTROLS.sub("", _BREAKS.sub(" ", value))


def json_line(value: object, indent: int | None = None) -> str:
    """``json.dumps`` (UTF-8 kept) with the characters a terminal could act on escaped as
    ``\\uXXXX``: JSON escapes C0 controls itself, not DEL, C1 or bidirectional overrides."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def safe_lines(text: str) -> str:
    """``safe`` line by line: a multi-line report keeps its lines."""
    return "\n".join(safe(line) for line in text.splitlines())


def redact_url(url: str) -> str:
    """The URL with its password and secret-looking query values masked, fit to print."""
    return safe(redact.redact_url(url))
