"""Content-Encoding decoded with the size cap on the *decoded* bytes.

httpx inflates each received chunk in one call, so a few kilobytes of ``gzip, gzip`` can become
gigabytes before any cap is checked. Here the raw bytes are inflated with ``max_length`` set to
what the cap still allows: the output can never exceed ``max_bytes`` by more than one byte.
Only ``gzip`` and ``deflate`` are asked for and accepted; stacked encodings are refused.
"""

from __future__ import annotations

import zlib

from pipeline.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate"


class Inflater:
    def __init__(self, header: str, limit: int, source_id: str, status: int) -> None:
        self.limit = limit
        self.source_id = source_id
        self.status = status
        self.size = 0
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise self._error(f"stacked Content-Encoding {header!r} refused")
        self.coding = codings[0] if codings else None
        self._zlib: zlib._Decompress | None = None
        self._raw_deflate = False
        if self.coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        elif self.coding is not None:
            raise self._error(f"unsupported Content-Encoding {header!r}")

    def _error(self, reason: str) -> FetchError:
        return FetchError(self.source_id, reason, http_status=self.status)

    def _count(self, out: bytes) -> bytes:
        self.size += len(out)
        if self.size > self.limit:
            raise self._error(f"response exceeds max_bytes {self.limit}")
        return out

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            return self._count(chunk)
        try:
            out = self._zlib.decompress(chunk, self.limit - self.size + 1)
        except zlib.error as e:
            if self.coding == "deflate" and not self._raw_deflate and self.size == 0:
                # "deflate" is often sent raw, without the zlib header
                self._raw_deflate = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk)
            raise self._error(f"cannot decode Content-Encoding {self.coding}: {e}") from e
        if self._zlib.unconsumed_tail:  # the cap stopped the output: there is more
            raise self._error(f"response exceeds max_bytes {self.limit}")
        return self._count(out)

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush(self.limit - self.size + 1))
