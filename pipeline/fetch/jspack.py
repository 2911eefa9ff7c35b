"""Unpack Dean Edwards' ``eval(function(p,a,c,k,e,r){…}(p, a, c, k.split('|'), 0, {}))`` scripts
without running JavaScript.

Why a real unpacker: WZWS challenge pages hide their variables in such a script. Public scrapers
pair the words of the ``k`` list (names and values alternating), but that breaks as soon as the
packer drops an empty word or a value equals a name; and the legacy WZWS pages use a base-59
alphabet that the shortcut cannot read at all. Unpacking the way the browser does it gives the
script text, from which plain ``var x = "…"`` assignments are read.

What the browser does (the packer's fast path, taken by every engine): build a dictionary
``d[e(i)] = k[i] || e(i)`` for ``i < c``, then replace every ``\\b\\w+\\b`` word of ``p`` by
``d[word]``. ``e`` turns a number into a token; its body is read from the script (three forms
exist in the wild, see ``_encoder``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

_STR = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_PACKED = re.compile(
    r"eval\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,\s*[rd]\s*\)\s*\{(?P<body>.*?)\}"
    rf"\s*\(\s*(?P<p>{_STR})\s*,\s*(?P<a>\d+)\s*,\s*(?P<c>\d+)\s*,\s*(?P<k>{_STR})"
    r"\s*\.split\(\s*(?P<q>['\"])\|(?P=q)\s*\)",
    re.S,
)
# e=function(c){return(c<a?'':e(parseInt(c/a)))+
#                ((c=c%a)>35?String.fromCharCode(c+29):c.toString(36))}
_RECURSIVE = re.compile(
    r">\s*(?P<n>\d+)\s*\?\s*String\.fromCharCode\(\s*c\s*\+\s*(?P<m>\d+)\s*\)\s*:"
    r"\s*c\.toString\(\s*(?P<b>\d+|a)\s*\)"
)
# e=function(c){return c.toString(a)}   or   c.toString(36)
_SIMPLE = re.compile(
    r"e\s*=\s*function\s*\(\s*c\s*\)\s*\{\s*return\s+c\.toString\(\s*(?P<b>\d+|a)\s*\)"
)
_STRING_E = re.compile(r"\be\s*=\s*String\s*[;,}]")
_WORD = re.compile(r"\b\w+\b", re.ASCII)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")


class UnpackError(ValueError):
    """The script looks packed but its arguments cannot be read."""


def js_string(literal: str) -> str:
    """The value of a JavaScript string literal, quotes included in ``literal``."""
    if len(literal) < 2 or literal[0] not in "'\"" or literal[-1] != literal[0]:
        raise UnpackError(f"not a JavaScript string literal: {literal[:40]!r}")

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc.startswith("u{"):
            return chr(int(esc[2:-1], 16))
        if esc[0] in "ux" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if esc in ("\n", "\r", "\r\n", "\u2028", "\u2029"):
            return ""  # line continuation
        return _ESCAPES.get(esc, esc)

    return _ESCAPE.sub(one, literal[1:-1])


def _in_base(n: int, base: int) -> str:
    if not 2 <= base <= 36:
        raise UnpackError(f"radix {base} out of range")
    out = ""
    while True:
        n, r = divmod(n, base)
        out = _DIGITS[r] + out
        if n == 0:
            return out


def _encoder(body: str, a: int) -> Callable[[int], str]:
    """The packer's ``e`` function, read from the unpacker's own source."""
    m = _RECURSIVE.search(body)
    if m is not None:
        over, shift = int(m["n"]), int(m["m"])
        base = a if m["b"] == "a" else int(m["b"])

        def recursive(c: int) -> str:
            head = "" if c < a else recursive(c // a)
            r = c % a
            return head + (chr(r + shift) if r > over else _in_base(r, base))

        return recursive
    m = _SIMPLE.search(body)
    if m is not None:
        base = a if m["b"] == "a" else int(m["b"])
        return lambda c: _in_base(c, base)
    if _STRING_E.search(body):
        return str
    log.debug("unknown packer encoder, assuming the standard one for radix %d", a)
    if a <= 36:
        return lambda c: _in_base(c, a)
    return _encoder("(c=c%a)>35?String.fromCharCode(c+29):c.toString(36)", a)


def _unpack(m: re.Match[str]) -> str:
    p = js_string(m["p"])
    a, count = int(m["a"]), int(m["c"])
    words = js_string(m["k"]).split("|")
    encode = _encoder(m["body"], a)
    table: dict[str, str] = {}
    for i in range(count):
        token = encode(i)
        word = words[i] if i < len(words) else ""
        table[token] = word or token
    # The browser would write "undefined" for a word missing from the table; the packer never
    # emits one, so such a word is kept as it is.
    return _WORD.sub(lambda w: table.get(w.group(0), w.group(0)), p)


def unpack_all(text: str) -> Iterator[str]:
    """The unpacked source of every packed script in ``text``, in order.

    Raises ``UnpackError`` when a packed script's arguments are malformed (an unknown escape
    is not malformed; a non-numeric radix is)."""
    for m in _PACKED.finditer(text):
        try:
            yield _unpack(m)
        except (ValueError, RecursionError) as e:
            raise UnpackError(f"cannot unpack script at offset {m.start()}: {e}") from e


def is_packed(text: str) -> bool:
    return _PACKED.search(text) is not None
