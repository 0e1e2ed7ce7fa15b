"""The JWKS cache: key rotation, refetch cool-down under a flood of unknown kids, stale keys.

JWKS requests are counted where they land, at the emulator (`tenant.jwks_fetches`);
failed attempts (a fault answers before the JWKS view) in agw_jwks_fetches_total.
In-process tests drive the real cache and verifier against the emulator with a
hand-advanced clock, so TTLs and cool-downs need no sleeping.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.auth.extension import jwks_session
from app.auth.jwks import JwksCache
from app.auth.verifier import TokenRejected, TokenVerifier
from tests.support.metrics import jwks_fetch_metric, rejections
from tests.support.tokens import me, with_header

JWKS_PATH = "/.well-known/jwks.json"


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def random_kid_token(tenant: Any) -> str:
    """A token naming a kid nobody published (rejected before its signature is looked at)."""
    return with_header(tenant.issue_user_token("alice"), alg="RS256", typ="JWT",
                       kid=secrets.token_urlsafe(24))


@pytest.fixture
def in_process(make_settings: Any, fresh_emulator: Any) -> Any:
    settings = make_settings(fresh_emulator)
    clock = Clock()
    cache = JwksCache(settings.jwks_url, session=jwks_session(settings),
                      ttl=settings.jwks_cache_ttl_seconds,
                      cooldown=settings.jwks_refetch_cooldown_seconds, timeout=(2.0, 2.0),
                      clock=clock)

    class Rig:
        tenant = fresh_emulator.tenant
        verifier = TokenVerifier(settings, cache)
        ttl = settings.jwks_cache_ttl_seconds
        cooldown = settings.jwks_refetch_cooldown_seconds

        def __init__(self) -> None:
            self.clock = clock

        def verify(self, token: str) -> dict[str, Any]:
            return self.verifier.verify(token)

        def reason(self, token: str) -> str:
            with pytest.raises(TokenRejected) as caught:
                self.verifier.verify(token)
            return caught.value.reason

    rig = Rig()
    rig.verify(rig.tenant.issue_user_token("alice"))  # the initial fetch
    rig.tenant.reset_counters()
    return rig


def test_rotated_key_verifies_after_exactly_one_refetch(make_gateway: Any,
                                                        fresh_emulator: Any) -> None:
    tenant = fresh_emulator.tenant
    gateway = make_gateway(fresh_emulator)
    old_token = tenant.issue_user_token("alice")
    assert me(gateway, old_token).status_code == 200
    tenant.reset_counters()

    tenant.keys.publish_next()
    tenant.keys.promote_next()
    new_token = tenant.issue_user_token("bob")
    assert me(gateway, new_token).status_code == 200
    assert tenant.jwks_fetches == 1
    # The new key is now cached; the previous one stays published and keeps working.
    assert me(gateway, tenant.issue_user_token("carol")).status_code == 200
    assert me(gateway, tenant.issue_user_token("alice")).status_code == 200
    assert tenant.jwks_fetches == 1


def test_flood_of_unknown_kids_costs_one_fetch_per_cooldown(in_process: Any) -> None:
    tokens = [random_kid_token(in_process.tenant) for _ in range(1000)]
    assert {in_process.reason(token) for token in tokens} == {"unknown_kid"}
    assert in_process.tenant.jwks_fetches == 1

    in_process.clock.now += in_process.cooldown - 1
    assert in_process.reason(random_kid_token(in_process.tenant)) == "unknown_kid"
    assert in_process.tenant.jwks_fetches == 1

    in_process.clock.now += 1
    assert in_process.reason(random_kid_token(in_process.tenant)) == "unknown_kid"
    assert in_process.tenant.jwks_fetches == 2


def test_concurrent_threads_share_one_fetch(in_process: Any) -> None:
    # A slow JWKS makes every thread arrive while the one fetch is in flight.
    in_process.tenant.faults.latency(0.3, path_prefix=JWKS_PATH)
    tokens = [random_kid_token(in_process.tenant) for _ in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        reasons = set(pool.map(in_process.reason, tokens))
    assert reasons == {"unknown_kid"}
    assert in_process.tenant.jwks_fetches == 1


def test_concurrent_first_use_shares_one_fetch(make_settings: Any,
                                               fresh_emulator: Any) -> None:
    tenant = fresh_emulator.tenant
    settings = make_settings(fresh_emulator)
    cache = JwksCache(settings.jwks_url, session=jwks_session(settings), ttl=600, cooldown=30,
                      timeout=(2.0, 2.0))
    verifier = TokenVerifier(settings, cache)
    tenant.faults.latency(0.3, path_prefix=JWKS_PATH)
    tenant.reset_counters()
    tokens = [tenant.issue_user_token("alice") for _ in range(32)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        subjects = {claims["sub"] for claims in pool.map(verifier.verify, tokens)}
    assert subjects == {tenant.user_id("alice")}
    assert tenant.jwks_fetches == 1


def test_ttl_refresh_does_not_hold_up_other_requests(in_process: Any) -> None:
    tenant = in_process.tenant
    tenant.faults.latency(1.0, path_prefix=JWKS_PATH)
    in_process.clock.now += in_process.ttl
    refresher = threading.Thread(
        target=in_process.verify, args=(tenant.issue_user_token("alice"),))
    refresher.start()
    lock = in_process.verifier._jwks._lock
    while not lock.locked():  # the refresh is in flight
        time.sleep(0.005)
    in_process.verify(tenant.issue_user_token("bob"))  # served by the keys already held
    assert refresher.is_alive() and tenant.jwks_fetches == 0
    refresher.join()
    assert tenant.jwks_fetches == 1


def test_flood_over_http_costs_one_fetch(make_gateway: Any, fresh_emulator: Any) -> None:
    tenant = fresh_emulator.tenant
    # 100 bad tokens a minute from one address would meet RATE_LIMIT_UNAUTHENTICATED first.
    gateway = make_gateway(fresh_emulator, RATE_LIMITS_ENABLED="false")
    assert me(gateway, tenant.issue_user_token("alice")).status_code == 200
    tenant.reset_counters()
    before = rejections("unknown_kid")
    tokens = [random_kid_token(tenant) for _ in range(100)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda t: me(gateway, t).status_code, tokens))
    assert statuses == [401] * 100
    assert rejections("unknown_kid") == before + 100
    assert tenant.jwks_fetches == 1
    # Valid tokens are unaffected by the flood.
    assert me(gateway, tenant.issue_user_token("bob")).status_code == 200


def test_ttl_expiry_refreshes_once(in_process: Any) -> None:
    in_process.clock.now += in_process.ttl
    for _ in range(5):
        in_process.verify(in_process.tenant.issue_user_token("alice"))
    assert in_process.tenant.jwks_fetches == 1


def test_unknown_kid_at_ttl_expiry_fetches_once(in_process: Any) -> None:
    # The refresh due to the TTL already answers "is this kid published?".
    in_process.clock.now += in_process.ttl
    assert in_process.reason(random_kid_token(in_process.tenant)) == "unknown_kid"
    assert in_process.tenant.jwks_fetches == 1


def test_revoked_key_stops_verifying_after_refresh(in_process: Any) -> None:
    tenant = in_process.tenant
    old_kid = tenant.keys.current_kid
    old_token = tenant.issue_user_token("alice")
    in_process.verify(old_token)
    tenant.keys.promote_next()
    tenant.keys.revoke(old_kid)
    in_process.clock.now += in_process.ttl
    # The verified-token cache is not in this rig: the signature is checked afresh.
    assert in_process.reason(old_token) == "unknown_kid"
    in_process.verify(tenant.issue_user_token("alice"))


def test_stale_keys_are_kept_when_the_jwks_fails(in_process: Any) -> None:
    tenant = in_process.tenant
    tenant.faults.fail_next(100, 503, path_prefix=JWKS_PATH)
    errors_before = jwks_fetch_metric("error")

    in_process.clock.now += in_process.ttl  # the keys are due for a refresh
    in_process.verify(tenant.issue_user_token("alice"))  # the refresh fails: stale keys serve
    assert jwks_fetch_metric("error") == errors_before + 1
    # No further attempt before the cool-down, however many unknown kids arrive.
    for _ in range(50):
        assert in_process.reason(random_kid_token(tenant)) == "unknown_kid"
    in_process.verify(tenant.issue_user_token("bob"))
    assert jwks_fetch_metric("error") == errors_before + 1

    tenant.faults.clear()
    in_process.clock.now += in_process.cooldown
    in_process.verify(tenant.issue_user_token("carol"))
    assert tenant.jwks_fetches == 1


def test_stale_keys_are_kept_over_http(make_gateway: Any, fresh_emulator: Any) -> None:
    tenant = fresh_emulator.tenant
    gateway = make_gateway(fresh_emulator)
    assert me(gateway, tenant.issue_user_token("alice")).status_code == 200
    tenant.faults.fail_next(100, 503, path_prefix=JWKS_PATH)
    errors_before = jwks_fetch_metric("error")

    assert me(gateway, random_kid_token(tenant)).status_code == 401  # refetch fails
    assert jwks_fetch_metric("error") == errors_before + 1
    assert me(gateway, tenant.issue_user_token("bob")).status_code == 200


def test_jwks_never_fetched_answers_503_without_hammering(make_gateway: Any,
                                                          fresh_emulator: Any) -> None:
    tenant = fresh_emulator.tenant
    tenant.faults.fail_next(100, 503, path_prefix=JWKS_PATH)
    gateway = make_gateway(fresh_emulator, RATE_LIMITS_ENABLED="false")
    errors_before = jwks_fetch_metric("error")
    for _ in range(5):
        response = me(gateway, tenant.issue_user_token("alice"))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "WWW-Authenticate" not in response.headers
    assert jwks_fetch_metric("error") == errors_before + 1
