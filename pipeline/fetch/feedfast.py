"""feedparser made cheaper without changing a result: pure functions memoised, general code
paths skipped where their answer is known.

feedparser stays the one RSS/Atom parser (``pipeline.fetch.rss``); these are installed once per
process, on first use, and each one gives exactly what the code it stands in for gives
(``tests/test_feed_fast.py`` parses the conformance corpus and the recorded feeds with and
without them and compares everything). What each one saves was measured on 30-entry feeds
(``benchmarks/bench_stages.py``, parse stage):

* ``xml:base`` resolution: every start tag joins the current base with itself
  (``make_safe_absolute_uri``, ``_urljoin`` in ``feedparser.mixin``), a fifth of the parse time;
  both are pure functions of their strings, so a bounded memo stands in front of them.
* ``FeedParserDict`` lookups: every ``d[key]`` and ``d.get(key)`` first tests five special keys
  and looks the key up in the alias table (``keymap``), about 250,000 times for 6,000 entries.
  For a key that is neither special nor an alias that path always ends in
  ``dict.__getitem__``, so such keys go there at once; the others take feedparser's own path.
  Likewise ``d[key] = value`` for a key that is no alias.
* Content parameters: every text element's parameters (type, language, base) are copied with
  ``copy.deepcopy``. A ``FeedParserDict`` whose keys are no aliases and whose values are all
  strings, numbers or None is copied as it is (a deep copy of immutable values is a shallow
  one); anything else still goes to ``copy.deepcopy``.

The lookups and the copies together took the parse stage from 256–266 to 201–203 µs an entry
(2026-12-04, 200 feeds of 30 entries).
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

MEMO = 4096  # URL pairs feedparser resolved, remembered
_SPECIAL = ("category", "enclosures", "license", "updated", "updated_parsed")
_SCALARS = (str, int, bool, float, type(None))


# what each fast path stands in for, by where it lives: ``mixin.<name>`` or
# ``FeedParserDict.<name>`` (the tests put these back to compare)
REPLACED: dict[str, Any] = {}
_INSTALLING = threading.Lock()  # parse threads may start at once: one installs, once


def install(mixin: Any, util: Any) -> None:
    """Install the fast paths into ``feedparser.mixin`` and ``feedparser.util`` (once)."""
    with _INSTALLING:
        if not REPLACED:
            _install(mixin, util)


def _install(mixin: Any, util: Any) -> None:
    REPLACED.update(
        {
            "mixin._urljoin": mixin._urljoin,
            "mixin.make_safe_absolute_uri": mixin.make_safe_absolute_uri,
            "mixin.copy": mixin.copy,
            "FeedParserDict.__getitem__": util.FeedParserDict.__getitem__,
            "FeedParserDict.get": util.FeedParserDict.get,
            "FeedParserDict.__setitem__": util.FeedParserDict.__setitem__,
        }
    )
    mixin._urljoin = functools.lru_cache(maxsize=MEMO)(mixin._urljoin)
    mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=MEMO)(mixin.make_safe_absolute_uri)
    cls = util.FeedParserDict
    aliased = frozenset(cls.keymap)
    special = aliased | frozenset(_SPECIAL)
    slow_getitem, slow_get, slow_setitem = cls.__getitem__, cls.get, cls.__setitem__
    plain_getitem, plain_get, plain_setitem = dict.__getitem__, dict.get, dict.__setitem__

    def getitem(self: dict[str, Any], key: str) -> Any:
        if key in special:
            return slow_getitem(self, key)
        return plain_getitem(self, key)

    def get(self: dict[str, Any], key: str, default: Any = None) -> Any:
        if key in special:
            return slow_get(self, key, default)
        return plain_get(self, key, default)

    def setitem(self: dict[str, Any], key: str, value: Any) -> None:
        if key in aliased:
            slow_setitem(self, key, value)
        else:
            plain_setitem(self, key, value)

    class _Copy:
        """``copy`` as ``feedparser.mixin`` uses it (``copy.deepcopy`` of content params)."""

        @staticmethod
        def deepcopy(value: Any) -> Any:
            if type(value) is cls and all(
                k not in aliased and type(v) in _SCALARS for k, v in dict.items(value)
            ):
                twin = cls()
                dict.update(twin, dict.items(value))
                return twin
            return copy.deepcopy(value)

    cls.__getitem__ = getitem
    cls.get = get
    cls.__setitem__ = setitem
    mixin.copy = _Copy
