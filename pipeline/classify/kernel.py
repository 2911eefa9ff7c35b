"""Find the compiled rule-evaluation kernel (``_kernel.pyx``), if it is built and current.

The kernel computes ``Engine.evaluate`` in C, about twice as fast; the pure-Python engine is the
reference it is tested against and the fallback when it is missing:

* not built (no C compiler at install time): a warning once, then pure Python;
* stale (``_kernel.pyx`` edited after the build; the module carries the hash of the source it
  was compiled from): a warning naming the rebuild command, then pure Python, never the old
  code;
* ``LENDWATCH_PURE_PYTHON=1`` in the environment: pure Python, silently (for comparisons).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

PURE_ENV = "LENDWATCH_PURE_PYTHON"
REBUILD = "make build (or: pip install -e .)"
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


def kernel_module() -> ModuleType | None:
    """The compiled module, or None (with the reason logged once) if it cannot be used."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None
    try:
        _kernel = importlib.import_module("pipeline.classify._kernel")
    except ImportError as exc:
        _warn_once(
            f"classifier: compiled kernel not available ({exc}); using the pure-Python engine "
            f"(same verdicts, about 60% of the speed). Build it with: {REBUILD}"
        )
        return None
    source = Path(_kernel.__file__ or "").with_name("_kernel.pyx")
    if not is_current(_kernel.SOURCE_HASH, source):
        _warn_once(
            f"classifier: compiled kernel is stale ({source} changed since it was built); "
            f"using the pure-Python engine. Rebuild with: {REBUILD}"
        )
        return None
    return _kernel


def is_current(source_hash: str, source: Path) -> bool:
    """Was the kernel compiled from ``source`` as it is now? (True when the source is not
    there: an installed wheel ships the module without it.)"""
    if not source.exists():
        return True
    return hashlib.sha256(source.read_bytes()).hexdigest() == source_hash


def status() -> str:
    """One line for humans: which engine classifies (``lendwatch version``, benchmarks)."""
    module = kernel_module()
    if module is None:
        return "pure Python"
    return f"compiled kernel ({Path(module.__file__ or '').name})"
