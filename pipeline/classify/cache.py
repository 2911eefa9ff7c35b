"""A cache of compiled rules under the data directory, so a process whose rules did not change
has its classifier ready without parsing, validating and compiling ``rules.toml`` again.

One file per rules file (``<data_dir>/cache/rules-<hash of its path>.pickle``)::

    MAGIC (8 bytes) | key (64 hex digits) | SHA-256 of the payload (32 bytes) | payload (pickle)

The key is the SHA-256 of the code's version (``pipeline.__version__`` and ``FORMAT``, the
version of this layout and of the pickled classes, raised whenever they change), the Python
version, the rules file's resolved path and its text. A file whose magic, key or checksum does
not match — stale, truncated, corrupt, or written by another version — is never unpickled: the
rules are compiled from the file and the cache rewritten. A cache that cannot be read or written
(a read-only data directory, a full disk) is logged and skipped; classification never depends on
it.

Why pickle, and why that is acceptable: the classifier is a graph of frozen dataclasses and
tuples that pickle restores in a few milliseconds, where rebuilding it from JSON would redo most
of the compile. The file lives in lendwatch's own data directory, next to the database it
already trusts (whoever can write there can rewrite the database and the rules as well), it is
written atomically (temporary file + rename), its checksum is verified before a byte is
unpickled, and the unpickler accepts only the classes a compiled classifier is made of (see
``_Unpickler.find_class``): a tampered file that names anything else fails to load and is
rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline import __version__

logger = logging.getLogger(__name__)

# Raise when the layout of the file or any class pickled in it (rules, engine, matcher,
# registry, verdict) changes: an old cache then misses instead of loading a wrong shape.
FORMAT = 1
MAGIC = b"LWRULES\n"
_HEADER = len(MAGIC) + 64 + 32

# What a compiled classifier is made of: its own modules, plus these few standard classes.
_ALLOWED_MODULES = ("pipeline.classify", "pipeline.models")
_ALLOWED_GLOBALS = frozenset(
    {
        ("builtins", "frozenset"),
        ("builtins", "set"),
        ("builtins", "slice"),
        ("pathlib", "PosixPath"),
        ("pathlib", "WindowsPath"),
        ("pathlib", "PurePosixPath"),
        ("copyreg", "_reconstructor"),
        ("builtins", "object"),
        (__name__, "_proxy"),
    }
)


def cache_key(text: str, path: Path) -> str:
    """The key a cached classifier must carry to stand for ``text`` read from ``path``."""
    h = hashlib.sha256()
    for part in (__version__, str(FORMAT), sys.version.split()[0], str(path.resolve())):
        h.update(part.encode("utf-8") + b"\0")
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def cache_file(cache_dir: Path, path: Path) -> Path:
    """The cache file of the rules file ``path`` (one per rules file, rewritten on a change)."""
    name = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_dir / f"rules-{name}.pickle"


def load(cache_dir: Path, path: Path, text: str) -> object | None:
    """The cached compiled rules of ``text``, or None on a miss (absent, stale, corrupt).

    The caller checks the type of what it gets (``pipeline.classify`` wants a ``Classifier``);
    this module does not import the classifier, which imports it."""
    file = cache_file(cache_dir, path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        logger.warning("rules cache %s unreadable (%s); compiling the rules", file, e)
        return None
    why = _check(data, cache_key(text, path))
    if why:
        logger.info("rules cache %s %s; compiling the rules", file, why)
        return None
    try:
        loaded: object = _Unpickler(io.BytesIO(data[_HEADER:])).load()
    except Exception as e:  # a checksum collision or a class renamed without FORMAT raised
        logger.warning("rules cache %s cannot be loaded (%s); compiling the rules", file, e)
        return None
    logger.debug("rules loaded from cache %s", file)
    return loaded


def _check(data: bytes, key: str) -> str:
    """Why ``data`` cannot stand for ``key`` (empty when it can)."""
    if len(data) < _HEADER or not data.startswith(MAGIC):
        return "is not a rules cache (or truncated)"
    if data[len(MAGIC) : len(MAGIC) + 64] != key.encode("ascii"):
        return "is stale (other rules or another lendwatch version)"
    if hashlib.sha256(data[_HEADER:]).digest() != data[len(MAGIC) + 64 : _HEADER]:
        return "is corrupt (checksum mismatch)"
    return ""


def save(cache_dir: Path, path: Path, text: str, classifier: object) -> bool:
    """Write the cache atomically; False (logged) when it cannot be written."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(classifier)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        logger.warning("rules cache not written: the classifier does not pickle (%s)", e)
        return False
    payload = buffer.getvalue()
    header = MAGIC + cache_key(text, path).encode("ascii") + hashlib.sha256(payload).digest()
    file = cache_file(cache_dir, path)
    tmp: str | None = None
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, file)
        tmp = None
    except OSError as e:
        logger.warning("rules cache %s not written (%s); rules compile on every start", file, e)
        return False
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True


def _proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuilds a read-only mapping (``MappingProxyType`` does not pickle by itself)."""
    return MappingProxyType(mapping)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is MappingProxyType:
            return _proxy, (dict(obj),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module in _ALLOWED_MODULES or module.startswith("pipeline.classify."):
            found = super().find_class(module, name)
            if isinstance(found, type):  # a class of ours, never a function to call
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a compiled classifier")
