"""The verified-token cache: reuse within its TTL, never past `exp`, bounded, keyed by hash."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.auth import TokenRejected
from app.auth.extension import Authenticator
from app.auth.token_cache import VerifiedTokenCache
from app.policy_format import load as load_policy
from tests.support.tokens import claims_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_entries_live_for_the_ttl() -> None:
    clock = Clock()
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(30, clock=clock)
    cache.put("token-a", "alice", expires_at=clock.now + 3600)
    clock.now += 29
    assert cache.get("token-a") == "alice"
    clock.now += 1
    assert cache.get("token-a") is None


def test_entries_never_outlive_the_token() -> None:
    clock = Clock()
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(30, clock=clock)
    cache.put("token-a", "alice", expires_at=clock.now + 5)
    clock.now += 5
    assert cache.get("token-a") is None
    cache.put("token-b", "bob", expires_at=clock.now - 1)  # already expired: not kept
    assert len(cache) == 0


def test_size_is_bounded_oldest_first() -> None:
    clock = Clock()
    cache: VerifiedTokenCache[int] = VerifiedTokenCache(30, max_entries=3, clock=clock)
    for i in range(5):
        cache.put(f"token-{i}", i, expires_at=clock.now + 60)
    assert len(cache) == 3
    assert cache.get("token-0") is None and cache.get("token-1") is None
    assert cache.get("token-4") == 4


def test_disabled_with_zero_ttl() -> None:
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(0)
    cache.put("token-a", "alice", expires_at=time.time() + 60)
    assert cache.get("token-a") is None


def test_tokens_are_not_kept_in_clear() -> None:
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(30)
    cache.put("eyJsecret.token.value", "alice", expires_at=time.time() + 60)
    assert cache.get("eyJsecret.token.value") == "alice" and len(cache._entries) == 1
    assert all(b"eyJsecret" not in key for key in cache._entries)


def test_authenticator_reuses_verified_principals(make_settings: Any, tenant: Any) -> None:
    settings = make_settings()
    auth = Authenticator(settings, load_policy(settings.policy_file))
    token = tenant.issue_user_token("alice")
    first = auth.authenticate(token)
    assert auth.authenticate(token) is first

    uncached = make_settings(VERIFIED_TOKEN_CACHE_SECONDS="0")
    auth = Authenticator(uncached, load_policy(uncached.policy_file))
    assert auth.authenticate(token) is not auth.authenticate(token)


def test_rejected_tokens_are_not_cached(make_settings: Any, tenant: Any) -> None:
    settings = make_settings()
    auth = Authenticator(settings, load_policy(settings.policy_file))
    token = tenant.sign(claims_for(tenant, sub="gateway-read@clients"))
    for _ in range(2):
        with pytest.raises(TokenRejected):
            auth.authenticate(token)
    assert len(auth.verified) == 0
