"""A token bucket, the algorithm Auth0 documents for its rate limits."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketState:
    """What the ``x-ratelimit-*`` headers report after one request."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # UTC epoch seconds when the bucket is full again (next token when denied)
    wait: float = 0.0  # seconds behind ``reset``

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }

    def retry_after(self) -> int:
        """Seconds until at least one token is back (for an optional Retry-After)."""
        return max(1, math.ceil(self.wait))


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; each request takes one."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def take(self) -> BucketState:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            allowed = self._tokens >= 1.0
            if allowed:
                self._tokens -= 1.0
            if allowed:
                # Time until the bucket is full again.
                wait = (self.burst - self._tokens) / self.rate
            else:
                # Time until the next token: what a client should wait before retrying.
                wait = (1.0 - self._tokens) / self.rate
            return BucketState(
                allowed=allowed,
                limit=self.burst,
                remaining=int(math.floor(self._tokens)),
                reset=int(math.ceil(time.time() + wait)),
                wait=wait,
            )
