"""The tenant's signing keys, fetched from its JWKS and cached in-process.

Keys are reused for a TTL; an unknown `kid` refetches at most once per cool-down,
concurrent threads share one fetch, and a failed fetch keeps the keys held.

Design: docs/authentication.md, "Signing keys (JWKS)".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from app import metrics

log = logging.getLogger("admin_gateway.auth.jwks")

PublicKey = RSAKey | ECKey
# A JWKS is a few KiB; anything much larger is not one.
MAX_JWKS_BYTES = 256 * 1024
# Only public members are imported; private ones ("d", ...) in a JWKS are ignored.
_PUBLIC_MEMBERS = {"RSA": ("kty", "n", "e"), "EC": ("kty", "crv", "x", "y")}


class JwksUnavailable(Exception):
    """No key has ever been fetched: tokens cannot be verified at all right now."""


class JwksCache:
    def __init__(self, url: str, *, session: requests.Session, ttl: float, cooldown: float,
                 timeout: tuple[float, float], clock: Callable[[], float] = time.monotonic,
                 ) -> None:
        self.url = url
        self._session = session
        self._ttl = ttl
        self._cooldown = cooldown
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        # Replaced whole, never mutated, so readers need no lock.
        self._keys: Mapping[str, _Entry] = {}
        self._expires_at = float("-inf")  # when the held keys are due for a refresh
        self._refetch_after = float("-inf")  # earliest unknown-kid refetch
        self._attempts = 0  # fetch attempts so far
        self._ever_fetched = False

    def key(self, kid: str) -> tuple[PublicKey, str | None] | None:
        """The published key with this `kid` and its `alg` member, or None."""
        attempts = self._attempts
        if self._clock() >= self._expires_at:
            self._fetch(attempts, unknown_kid=False)
        entry = self._keys.get(kid)
        if entry is None:
            self._fetch(attempts, unknown_kid=True)
            entry = self._keys.get(kid)
        if entry is None and not self._ever_fetched:
            raise JwksUnavailable("the signing keys could not be fetched")
        return (entry.key, entry.alg) if entry else None

    def _fetch(self, attempts_seen: int, *, unknown_kid: bool) -> None:
        # A routine TTL refresh while keys are held never makes a request wait: if another
        # thread is already fetching, carry on with the current keys. An unknown kid (or no
        # keys at all) waits for that fetch, bounded by the session timeouts.
        if not self._lock.acquire(blocking=unknown_kid or not self._keys):
            return
        try:
            self._fetch_locked(attempts_seen, unknown_kid=unknown_kid)
        finally:
            self._lock.release()

    def _fetch_locked(self, attempts_seen: int, *, unknown_kid: bool) -> None:
        if self._attempts != attempts_seen:
            # A fetch happened since this lookup began (another thread's, while this
            # one waited for the lock, or this lookup's own TTL refresh): use its result.
            return
        now = self._clock()
        if unknown_kid and now < self._refetch_after:
            return
        if not unknown_kid and now < self._expires_at:
            return
        self._attempts += 1
        if unknown_kid:
            self._refetch_after = now + self._cooldown
        keys = self._download()
        if keys is None:
            # Keep what we have; try again no sooner than the cool-down.
            self._expires_at = now + self._cooldown
            self._refetch_after = now + self._cooldown
            return
        self._keys = keys
        self._expires_at = now + self._ttl
        self._ever_fetched = True

    def _download(self) -> dict[str, _Entry] | None:
        try:
            response = self._session.get(self.url, timeout=self._timeout, stream=True,
                                         allow_redirects=False)
            with response:
                if response.status_code != 200:
                    raise ValueError(f"HTTP {response.status_code}")
                body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("response too large")
            keys = _parse_jwks(json.loads(body))
            if not keys:
                raise ValueError("no usable signing key")
        except (requests.RequestException, ValueError) as exc:
            metrics.JWKS_FETCHES.labels(outcome="error").inc()
            log.warning("JWKS fetch failed, keeping %d cached key(s): %s", len(self._keys),
                        exc if isinstance(exc, ValueError) else type(exc).__name__,
                        extra={"jwks_url": self.url})
            return None
        metrics.JWKS_FETCHES.labels(outcome="ok").inc()
        log.info("JWKS fetched: %d key(s)", len(keys), extra={"jwks_url": self.url})
        return keys


class _Entry:
    __slots__ = ("key", "alg")

    def __init__(self, key: PublicKey, alg: str | None) -> None:
        self.key = key
        self.alg = alg


def _parse_jwks(document: Any) -> dict[str, _Entry]:
    """The usable signature keys of a JWKS document by `kid`; odd entries are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, _Entry] = {}
    for item in document["keys"]:
        if not isinstance(item, dict):
            continue
        kid, kty, use, alg = item.get("kid"), item.get("kty"), item.get("use"), item.get("alg")
        if not isinstance(kid, str) or kty not in _PUBLIC_MEMBERS or use not in (None, "sig"):
            continue
        public = {name: item[name] for name in _PUBLIC_MEMBERS[kty] if name in item}
        try:
            key: PublicKey = (RSAKey if kty == "RSA" else ECKey).import_key(public)
        except (JoseError, ValueError, TypeError):
            continue
        keys[kid] = _Entry(key, alg if isinstance(alg, str) else None)
    return keys
