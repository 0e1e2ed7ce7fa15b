"""Readiness probes for the gateway's own dependencies (`standard_probes`), which
`runtime.init_app` gives to /readyz: `redis` (one PING), `jwks` (the signing keys
have been fetched) and `management_token` (a tier holds a usable token, else one
mint, not retried for MINT_RETRY_SECONDS after a failure).

Design: docs/runtime.md, "Health and readiness".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from config.settings import Settings, TierConfig

from .. import redis_conn

MINT_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str = ""


Probe = Callable[[], ProbeResult]


def redis_probe(app: Flask) -> Probe:
    def probe() -> ProbeResult:
        started = time.perf_counter()
        redis_conn.redis_client(app).ping()
        return ProbeResult(True, f"ping {1000 * (time.perf_counter() - started):.1f} ms")

    return probe


def jwks_probe(app: Flask) -> Probe:
    loaded = threading.Event()

    def probe() -> ProbeResult:
        if loaded.is_set():
            return ProbeResult(True, "signing keys loaded")
        from ..auth import authenticator
        from ..auth.jwks import JwksUnavailable

        try:
            # No key has this kid: the lookup only makes the cache fetch if it never has.
            authenticator().jwks.key("")
        except JwksUnavailable:
            return ProbeResult(False, "signing keys could not be fetched yet")
        loaded.set()
        return ProbeResult(True, "signing keys loaded")

    return probe


def _failure(exc: Exception) -> str:
    if isinstance(exc, HTTPException) and exc.code:
        return f"{type(exc).__name__} {exc.code}"
    return type(exc).__name__


def _privilege(tier: TierConfig) -> tuple[int, int, str]:
    """Order tiers by what they could break: scopes that write first, then any scope."""
    writes = sum(1 for scope in tier.scopes if not scope.startswith("read:"))
    return writes, len(tier.scopes), tier.name


def management_token_probe(app: Flask, settings: Settings) -> Probe:
    lock = threading.Lock()
    last_failure: dict[str, float | str] = {"at": float("-inf"), "detail": ""}

    def probe() -> ProbeResult:
        from .. import management  # the broker is set up after the runtime

        broker = management.broker(app)
        statuses = broker.status()
        cached = [s.tier for s in statuses if s.cached != "none"]
        if cached:
            return ProbeResult(True, "token cached for tier " + ", ".join(cached))
        tier = min(settings.tiers, key=_privilege)
        with lock:
            since = time.monotonic() - float(last_failure["at"])
            if since < MINT_RETRY_SECONDS:
                return ProbeResult(False, str(last_failure["detail"]))
            try:
                broker.get_token(tier)
            except Exception as exc:  # reported, never raised out of a probe
                last_failure["at"] = time.monotonic()
                last_failure["detail"] = (f"no cached token; minting for tier {tier.name} "
                                          f"failed ({_failure(exc)})")
                return ProbeResult(False, str(last_failure["detail"]))
        return ProbeResult(True, f"minted a token for tier {tier.name}")

    return probe


def standard_probes(app: Flask, settings: Settings) -> dict[str, Probe]:
    probes = {"redis": redis_probe(app), "jwks": jwks_probe(app)}
    if settings.tiers:
        probes["management_token"] = management_token_probe(app, settings)
    return probes
