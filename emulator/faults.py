"""Fault injection: forced errors, slowness, dropped connections and rate limits.

Tests (or other processes, through ``POST /emulator/faults``) arm faults; the
app consumes them per request. Counted faults ("next n requests") match a path
prefix so a test can target ``/oauth/token`` or one Management API route.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from emulator.ratelimit import TokenBucket

MANAGEMENT_PREFIX = "/api/v2"
# Headers must always be present, so an unconfigured tenant still has a bucket,
# just one no test or benchmark should ever drain.
GENEROUS_RATE = 10_000.0
GENEROUS_BURST = 10_000


@dataclass
class _Counted:
    remaining: int
    path_prefix: str
    status: int = 0


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    # -- arming -----------------------------------------------------------------

    def clear(self) -> None:
        """Disarm everything and restore the generous default buckets."""
        with self._lock:
            self._failures: list[_Counted] = []
            self._drops: list[_Counted] = []
            self._latency: dict[str, float] = {}
            self._unauthorized = 0
            self._misread_searches = 0
            self.retry_after = False
            self.management_bucket = TokenBucket(GENEROUS_RATE, GENEROUS_BURST)
            self.token_bucket = TokenBucket(GENEROUS_RATE, GENEROUS_BURST)

    def fail_next(self, n: int, status: int, path_prefix: str = MANAGEMENT_PREFIX) -> None:
        """Answer the next ``n`` matching requests with ``status`` and an Auth0 error body.

        Meant for 429 and 5xx; any 4xx works too (401 "Invalid token", 403
        insufficient scope, ...) to test how a client maps Auth0's refusals.
        """
        if not 400 <= int(status) <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self._lock:
            self._failures.append(_Counted(int(n), path_prefix, int(status)))

    def drop_next(self, n: int, path_prefix: str = MANAGEMENT_PREFIX) -> None:
        """Close the TCP connection of the next ``n`` matching requests without answering."""
        with self._lock:
            self._drops.append(_Counted(int(n), path_prefix))

    def latency(self, seconds: float | None, path_prefix: str = MANAGEMENT_PREFIX) -> None:
        """Delay every matching request by ``seconds`` (None or 0 removes the delay)."""
        with self._lock:
            if not seconds:
                self._latency.pop(path_prefix, None)
            else:
                self._latency[path_prefix] = float(seconds)

    def unauthorized_next(self, n: int) -> None:
        """Answer the next ``n`` Management API calls with 401 Invalid token."""
        with self._lock:
            self._unauthorized += int(n)

    def misread_search_next(self, n: int) -> None:
        """Answer the next ``n`` user searches as if ``q`` were absent: a reader upstream
        that understood the query differently from the client (the whole tenant matches)."""
        with self._lock:
            self._misread_searches += int(n)

    def rate_limit(self, rate_per_s: float | None, burst: int | None = None) -> None:
        """A real token bucket on the Management API (None restores the generous default)."""
        with self._lock:
            self.management_bucket = _bucket(rate_per_s, burst)

    def token_rate_limit(self, rate_per_s: float | None, burst: int | None = None) -> None:
        """A token bucket on ``/oauth/token`` (None restores the generous default)."""
        with self._lock:
            self.token_bucket = _bucket(rate_per_s, burst)

    def send_retry_after(self, enabled: bool = True) -> None:
        """Add ``Retry-After`` to 429s (Auth0 does not document that it sends one)."""
        with self._lock:
            self.retry_after = enabled

    def apply(self, spec: dict[str, Any]) -> None:
        """Arm faults from a JSON document (``POST /emulator/faults``); see docs/emulator.md."""
        if spec.get("clear"):
            self.clear()
        prefix = spec.get("path_prefix", MANAGEMENT_PREFIX)
        if "fail_next" in spec:
            f = spec["fail_next"]
            self.fail_next(int(f["n"]), int(f["status"]), f.get("path_prefix", prefix))
        if "drop_next" in spec:
            d = spec["drop_next"]
            self.drop_next(int(d["n"]), d.get("path_prefix", prefix))
        if "latency" in spec:
            lat = spec["latency"]
            self.latency(lat.get("seconds"), lat.get("path_prefix", prefix))
        if "unauthorized_next" in spec:
            self.unauthorized_next(int(spec["unauthorized_next"]))
        if "misread_search_next" in spec:
            self.misread_search_next(int(spec["misread_search_next"]))
        if "rate_limit" in spec:
            r = spec["rate_limit"] or {}
            self.rate_limit(r.get("rate_per_s"), r.get("burst"))
        if "token_rate_limit" in spec:
            r = spec["token_rate_limit"] or {}
            self.token_rate_limit(r.get("rate_per_s"), r.get("burst"))
        if "retry_after" in spec:
            self.send_retry_after(bool(spec["retry_after"]))

    # -- consuming --------------------------------------------------------------

    def take_drop(self, path: str) -> bool:
        with self._lock:
            return _take(self._drops, path) is not None

    def take_failure(self, path: str) -> int | None:
        with self._lock:
            hit = _take(self._failures, path)
            return hit.status if hit else None

    def delay_for(self, path: str) -> float:
        with self._lock:
            return sum(s for p, s in self._latency.items() if path.startswith(p))

    def take_misread_search(self) -> bool:
        with self._lock:
            if self._misread_searches > 0:
                self._misread_searches -= 1
                return True
            return False

    def take_unauthorized(self) -> bool:
        with self._lock:
            if self._unauthorized > 0:
                self._unauthorized -= 1
                return True
            return False


def _bucket(rate_per_s: float | None, burst: int | None) -> TokenBucket:
    if rate_per_s is None:
        return TokenBucket(GENEROUS_RATE, GENEROUS_BURST)
    return TokenBucket(rate_per_s, burst if burst is not None else max(1, int(rate_per_s)))


def _take(rules: list[_Counted], path: str) -> _Counted | None:
    for rule in rules:
        if rule.remaining > 0 and path.startswith(rule.path_prefix):
            rule.remaining -= 1
            if rule.remaining == 0:
                rules.remove(rule)
            return rule
    return None
