"""A brief in-process memory of verified tokens, so a busy caller is not re-verified per request.

RSA verification dominates the cost of an authenticated request; a panel
sends the same token many times a minute. Entries are keyed by a SHA-256 of
the token (the token itself is never kept), live at most `ttl` seconds and
never past the token's `exp`, and the cache holds at most `max_entries`
(oldest dropped first). Only successes are cached: a rejected token is
re-examined every time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_MAX_ENTRIES = 10_000


class VerifiedTokenCache(Generic[T]):
    def __init__(self, ttl: float, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                 clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock  # wall-clock: entries are bounded by `exp`, an epoch time
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode("ascii", "replace")).digest()

    def get(self, token: str) -> T | None:
        if not self.enabled:
            return None
        key = self._key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, token: str, value: T, expires_at: float) -> None:
        if not self.enabled:
            return
        now = self._clock()
        until = min(now + self._ttl, expires_at)
        if until <= now:
            return
        key = self._key(token)
        with self._lock:
            self._entries[key] = (until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
