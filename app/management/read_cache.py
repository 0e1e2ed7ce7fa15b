"""An optional short cache of Management API reads (MGMT_READ_CACHE_SECONDS), in Redis,
encrypted with TOKEN_CACHE_KEY like the token cache, shared by the fleet.

Every write the gateway sends bumps the written user's generation and the search
generation; an entry is only served under the generation it was stored with. Design:
docs/token-broker.md, "Read cache".
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken

from config.settings import Settings

from .. import metrics
from ..redis_conn import Breaker
from ..redis_conn import key as redis_key
from .client import UpstreamResult

log = logging.getLogger("admin_gateway.read_cache")

SEARCHES = "searches"  # the generation of every read not about one user


class ReadCache:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.ttl = settings.mgmt_read_cache_seconds
        self._fernet = Fernet(settings.token_cache_key.reveal().encode())
        self.breaker = Breaker("read_cache")

    def _generation_key(self, user: str | None) -> str:
        owner = "user:" + hashlib.sha256(user.encode()).hexdigest() if user else SEARCHES
        return redis_key(self.settings, "readgen", owner)

    def _entry_key(self, fingerprint: tuple[Any, ...]) -> str:
        digest = hashlib.sha256(json.dumps(fingerprint).encode()).hexdigest()
        return redis_key(self.settings, "read", digest)

    def lookup(self, fingerprint: tuple[Any, ...], user: str | None
               ) -> tuple[UpstreamResult | None, int]:
        """(the cached answer or None, the generation to store a fresh one under)."""
        if not self.breaker.closed:
            return None, -1
        try:
            generation, sealed = self.client.mget(self._generation_key(user),
                                                  self._entry_key(fingerprint))
            self.breaker.succeeded()
        except redis.RedisError as exc:
            self.breaker.failed(exc)
            return None, -1
        current = int(generation or 0)
        if sealed is not None:
            try:
                entry = json.loads(self._fernet.decrypt(sealed))
            except (InvalidToken, ValueError):
                entry = None
            if isinstance(entry, dict) and entry.get("generation") == current:
                metrics.READ_CACHE.labels("hit").inc()
                return UpstreamResult(int(entry["status"]), entry["body"]), current
        metrics.READ_CACHE.labels("miss").inc()
        return None, current

    def store(self, fingerprint: tuple[Any, ...], generation: int,
              result: UpstreamResult) -> None:
        if generation < 0 or not self.breaker.closed:
            return
        sealed = self._fernet.encrypt(json.dumps(
            {"generation": generation, "status": result.status, "body": result.body}).encode())
        try:
            self.client.set(self._entry_key(fingerprint), sealed, ex=self.ttl)
            self.breaker.succeeded()
        except redis.RedisError as exc:
            self.breaker.failed(exc)

    def invalidate(self, user: str | None) -> None:
        """A write: the user's reads and every search are stale from now on."""
        keys = [self._generation_key(None), *([self._generation_key(user)] if user else [])]
        try:
            pipe = self.client.pipeline(transaction=False)
            for name in keys:
                pipe.incr(name)
                # Outlives every entry stored under the old generation.
                pipe.expire(name, max(60, 10 * self.ttl))
            pipe.execute()
        except redis.RedisError as exc:
            # Cannot invalidate: serve no cached read for the breaker's cool-down (an entry
            # that survives it is at most MGMT_READ_CACHE_SECONDS old: docs/token-broker.md).
            self.breaker.failed(exc)
            log.warning("could not invalidate cached reads (%s); serving none for now",
                        type(exc).__name__)

