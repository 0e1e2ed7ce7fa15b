"""The fleet-wide Management API token broker: L1 (process) -> L2 (Redis) -> mint once.

`TokenBroker.get_token(tier)` answers from the process, else from Redis (values
encrypted, keyed by every parameter a token depends on), else mints exactly once
across the fleet; `invalidate` drops a token Auth0 refused. Redis trouble is a
cache miss, never an error.

Design: docs/token-broker.md, "The cache".
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

import redis
import requests
from cryptography.fernet import Fernet, InvalidToken
from redis.exceptions import LockError

from app.metrics import REDIS_ERRORS, TOKEN_CACHE
from app.redis_conn import key
from config.settings import Settings, TierConfig

from .minting import MintedToken, Minter, pooled_session

log = logging.getLogger("admin_gateway.token_broker")

CACHE_NAMESPACE = "mgmt-token"
LOCK_NAMESPACE = "mgmt-token-lock"
REDIS_LOG_INTERVAL_SECONDS = 30.0
# Waiting for another process's mint: first poll soon, then back off to this.
POLL_FIRST_SECONDS = 0.01
POLL_MAX_SECONDS = 0.1

# Delete the key only if it still holds the value we read: never drop a token
# another process stored in the meantime.
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

Where = Literal["l1", "l2", "none"]


@dataclass(frozen=True)
class CachedToken:
    token: str
    exp: float  # when Auth0 stops accepting it (epoch seconds)
    renew_at: float  # when the cache stops handing it out: exp - skew
    scopes: tuple[str, ...]  # as granted

    def fresh(self, now: float) -> bool:
        return now < self.renew_at


@dataclass(frozen=True)
class TierStatus:
    """What `admin-gateway tokens status` shows for a tier; never the token itself."""

    tier: str
    scopes: tuple[str, ...]
    expires_in: int | None  # seconds until the cached token's exp
    renews_in: int | None  # seconds until the cache renews it
    cached: Where


def cache_digest(settings: Settings, tier: TierConfig) -> str:
    """Hash of every parameter a token depends on (never the secret)."""
    material = json.dumps([settings.auth0_domain, settings.management_audience,
                           tier.client_id, sorted(tier.scopes)])
    return hashlib.sha256(material.encode()).hexdigest()


def renew_at(settings: Settings, exp: float, lifetime: float) -> float:
    skew = max(settings.token_cache_skew_seconds, settings.token_cache_skew_ratio * lifetime)
    # A skew as long as the lifetime would mean a mint per request (Auth0's top cause of
    # 429s); keep at least half of a short-lived token usable.
    return exp - min(skew, lifetime / 2)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


@dataclass(frozen=True)
class _Slot:
    """Everything about one tier's cache entry, computed once."""

    tier: TierConfig
    digest: str
    cache_key: str
    lock_key: str
    l1_hit: Any
    l1_miss: Any


class _Throttle:
    """Allows one event per interval; counts the ones it swallowed."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = 0.0
        self._suppressed = 0
        self._lock = threading.Lock()

    def ready(self) -> int | None:
        """Suppressed count since the last allowed event, or None if not allowed now."""
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._suppressed += 1
                return None
            self._next = now + self._interval
            suppressed, self._suppressed = self._suppressed, 0
            return suppressed


class TokenBroker:
    """Management API tokens per credential tier, minted once fleet-wide and cached."""

    def __init__(self, settings: Settings, redis_client: redis.Redis,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self._redis = redis_client
        self.session = session or pooled_session(settings)
        self._minter = Minter(settings, self.session)
        self._fernet = Fernet(settings.token_cache_key.reveal().encode())
        self._compare_and_delete = redis_client.register_script(_COMPARE_AND_DELETE)
        self._l1: dict[str, CachedToken] = {}
        self._l1_lock = threading.Lock()
        self._flights: dict[str, Future[CachedToken]] = {}
        self._flights_lock = threading.Lock()
        self._slots: dict[TierConfig, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._redis_log = _Throttle(REDIS_LOG_INTERVAL_SECONDS)
        self._decrypt_log = _Throttle(REDIS_LOG_INTERVAL_SECONDS)
        for tier in settings.tiers:
            self._slot(tier)

    # -- public API -----------------------------------------------------------

    def get_token(self, tier: TierConfig) -> str:
        """A token for `tier` that stays valid for at least the renewal skew."""
        slot = self._slot(tier)
        with self._l1_lock:
            entry = self._l1.get(slot.digest)
        if entry is not None and entry.fresh(time.time()):
            slot.l1_hit.inc()
            return entry.token
        slot.l1_miss.inc()
        return self._single_flight(slot).token

    def invalidate(self, tier: TierConfig, token: str) -> None:
        """Forget `token` (Auth0 answered 401 to it), but never a newer token for the tier."""
        slot = self._slot(tier)
        with self._l1_lock:
            current = self._l1.get(slot.digest)
            if current is not None and current.token == token:
                del self._l1[slot.digest]
        try:
            raw = self._redis.get(slot.cache_key)
            if raw is None:
                return
            entry = self._open(slot, raw)
            if entry is not None and entry.token != token:
                return
            # Undecryptable values go too: they can only cause misses.
            self._compare_and_delete(keys=[slot.cache_key], args=[raw])
            log.info("dropped the cached Management API token of tier %s", tier.name,
                     extra={"tier": tier.name})
        except redis.RedisError as exc:
            self._redis_failed(slot, exc)

    def status(self) -> list[TierStatus]:
        """Where each configured tier's token is cached, and for how long."""
        now = time.time()
        result = []
        for tier in self.settings.tiers:
            slot = self._slot(tier)
            where: Where = "none"
            with self._l1_lock:
                entry = self._l1.get(slot.digest)
            if entry is not None and entry.fresh(now):
                where = "l1"
            else:
                try:
                    entry = self._l2_get(slot, now, count=False)
                except redis.RedisError as exc:
                    self._redis_failed(slot, exc)
                    entry = None
                where = "l2" if entry is not None else "none"
            result.append(TierStatus(
                tier.name, tuple(sorted(tier.scopes)),
                int(entry.exp - now) if entry else None,
                int(entry.renew_at - now) if entry else None, where))
        return result

    def flush(self) -> int:
        """Drop every cached Management token (this process's L1 and all of Redis under
        REDIS_KEY_PREFIX, also of tiers no longer configured); return how many entries.

        Raises redis.RedisError when Redis is down (L1 is flushed regardless).
        """
        with self._l1_lock:
            dropped = len(self._l1)
            self._l1.clear()
        pattern = _glob_escape(key(self.settings, CACHE_NAMESPACE, "")) + "*"
        keys = set(self._redis.scan_iter(match=pattern, count=500))  # SCAN may repeat keys
        if keys:
            dropped += int(self._redis.delete(*keys))
        log.info("flushed %d cached Management API token(s)", dropped)
        return dropped

    # -- single flight ----------------------------------------------------------

    def _single_flight(self, slot: _Slot) -> CachedToken:
        """One thread per process obtains the token; concurrent callers share its outcome."""
        with self._flights_lock:
            flight = self._flights.get(slot.digest)
            leader = flight is None
            if flight is None:
                flight = self._flights[slot.digest] = Future()
        if not leader:
            return flight.result()
        try:
            entry = self._obtain(slot)
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(entry)
            return entry
        finally:
            # Whatever happened, the next caller starts afresh: failures are not cached.
            with self._flights_lock:
                del self._flights[slot.digest]

    def _obtain(self, slot: _Slot) -> CachedToken:
        now = time.time()
        with self._l1_lock:
            entry = self._l1.get(slot.digest)
        if entry is not None and entry.fresh(now):
            return entry  # a flight that just ended filled it
        try:
            entry = self._from_fleet(slot)
        except redis.RedisError as exc:
            # Redis down: a cache miss. Mint here; L1 keeps serving it.
            self._redis_failed(slot, exc)
            entry = self._mint(slot)
        if entry is None:
            log.warning("waited %.1fs for another process to mint tier %s; minting here",
                        self.settings.token_mint_wait_seconds, slot.tier.name,
                        extra={"tier": slot.tier.name})
            entry = self._mint(slot)
            self._l2_put(slot, entry)
        with self._l1_lock:
            self._l1[slot.digest] = entry
        return entry

    def _from_fleet(self, slot: _Slot) -> CachedToken | None:
        """From L2, or minted under the fleet lock, or from whoever holds it.

        None when the wait ran out. Raises redis.RedisError only before minting.
        """
        settings = self.settings
        deadline = time.monotonic() + settings.token_mint_wait_seconds
        pause = POLL_FIRST_SECONDS
        while True:
            entry = self._l2_get(slot, time.time())
            if entry is not None:
                return entry
            lock = self._redis.lock(slot.lock_key, timeout=settings.token_mint_lock_seconds,
                                    blocking=False, thread_local=False)
            if lock.acquire():
                try:
                    # Someone may have stored it between our GET and our SET NX.
                    entry = self._l2_get(slot, time.time(), count=False)
                    if entry is None:
                        entry = self._mint(slot)
                        self._l2_put(slot, entry)
                    return entry
                finally:
                    self._release(slot, lock)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(pause, remaining))
            pause = min(pause * 1.5, POLL_MAX_SECONDS)

    def _mint(self, slot: _Slot) -> CachedToken:
        minted: MintedToken = self._minter.mint(slot.tier)
        return CachedToken(minted.access_token, minted.exp,
                           renew_at(self.settings, minted.exp, minted.lifetime),
                           tuple(sorted(minted.granted)))

    def _release(self, slot: _Slot, lock: Any) -> None:
        try:
            lock.release()
        except LockError:
            pass  # it expired (TOKEN_MINT_LOCK_SECONDS) and may belong to someone else now
        except redis.RedisError as exc:
            self._redis_failed(slot, exc)

    # -- L2 -------------------------------------------------------------------

    def _l2_get(self, slot: _Slot, now: float, *, count: bool = True) -> CachedToken | None:
        raw = self._redis.get(slot.cache_key)
        entry = self._open(slot, raw) if raw is not None else None
        if entry is not None and not entry.fresh(now):
            entry = None
        if count:
            TOKEN_CACHE.labels(slot.tier.name, "l2", "hit" if entry else "miss").inc()
        return entry

    def _l2_put(self, slot: _Slot, entry: CachedToken) -> None:
        ttl_ms = int((entry.renew_at - time.time()) * 1000)
        if ttl_ms <= 0:
            return
        try:
            self._redis.set(slot.cache_key, self._seal(slot, entry), px=ttl_ms)
        except redis.RedisError as exc:
            self._redis_failed(slot, exc)

    def _seal(self, slot: _Slot, entry: CachedToken) -> bytes:
        # The digest inside the ciphertext binds the value to its key.
        payload = {"k": slot.digest, "t": entry.token, "exp": entry.exp,
                   "renew": entry.renew_at, "scope": list(entry.scopes)}
        return self._fernet.encrypt(json.dumps(payload).encode())

    def _open(self, slot: _Slot, raw: bytes | str) -> CachedToken | None:
        try:
            payload = json.loads(self._fernet.decrypt(raw))
            if payload["k"] != slot.digest:
                raise ValueError("value belongs to another cache key")
            return CachedToken(str(payload["t"]), float(payload["exp"]),
                               float(payload["renew"]), tuple(payload["scope"]))
        except (InvalidToken, ValueError, KeyError, TypeError) as exc:
            suppressed = self._decrypt_log.ready()
            if suppressed is not None:
                log.warning("ignored an unusable cached Management token for tier %s (%s; was "
                            "TOKEN_CACHE_KEY changed?)%s", slot.tier.name, type(exc).__name__,
                            f"; {suppressed} similar suppressed" if suppressed else "",
                            extra={"tier": slot.tier.name})
            return None

    def _redis_failed(self, slot: _Slot, exc: redis.RedisError) -> None:
        REDIS_ERRORS.labels("token_broker").inc()
        TOKEN_CACHE.labels(slot.tier.name, "l2", "error").inc()
        suppressed = self._redis_log.ready()
        if suppressed is not None:
            # The class only: messages can carry the Redis URL.
            log.warning("Redis unavailable for the Management token cache (%s); serving "
                        "from process memory and minting locally%s", type(exc).__name__,
                        f"; {suppressed} similar suppressed" if suppressed else "")

    # -- slots ----------------------------------------------------------------

    def _slot(self, tier: TierConfig) -> _Slot:
        slot = self._slots.get(tier)
        if slot is None:
            digest = cache_digest(self.settings, tier)
            slot = _Slot(tier, digest, key(self.settings, CACHE_NAMESPACE, digest),
                         key(self.settings, LOCK_NAMESPACE, digest),
                         TOKEN_CACHE.labels(tier.name, "l1", "hit"),
                         TOKEN_CACHE.labels(tier.name, "l1", "miss"))
            with self._slots_lock:
                slot = self._slots.setdefault(tier, slot)
        return slot
