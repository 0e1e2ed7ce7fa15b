"""/readyz's Management token probe against the emulator: warms the cache with
the least-privileged tier, and paces mint attempts after a failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.support.servers import LiveServer


def test_first_readyz_mints_the_least_privileged_tier_once(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator)
    first = requests.get(server.url + "/readyz", timeout=10)
    assert first.status_code == 200
    assert first.json()["checks"]["management_token"] == {
        "ok": True, "detail": "minted a token for tier read"}
    assert dict(tenant.tokens_issued) == {"gateway-read": 1}

    second = requests.get(server.url + "/readyz", timeout=10)
    assert second.json()["checks"]["management_token"]["detail"] == "token cached for tier read"
    assert dict(tenant.tokens_issued) == {"gateway-read": 1}


def test_failed_mint_makes_it_not_ready_and_is_not_retried_at_once(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator)
    tenant.faults.fail_next(10, 503, path_prefix="/oauth/token")
    first = requests.get(server.url + "/readyz", timeout=15)
    assert first.status_code == 503
    check = first.json()["checks"]["management_token"]
    assert check["ok"] is False
    assert check["detail"].startswith("no cached token; minting for tier read failed (")
    assert first.json()["checks"]["redis"]["ok"] is True

    tenant.faults.clear()  # Auth0 is back, but the probe waits out its pause
    second = requests.get(server.url + "/readyz", timeout=10)
    assert second.status_code == 503
    assert second.json()["checks"]["management_token"] == check
    assert sum(tenant.tokens_issued.values()) == 0
    for secret in (c.client_secret for c in tenant.clients.values()):
        assert secret not in first.text


def test_jwks_probe_fetches_once_then_never_again(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator)
    assert tenant.jwks_fetches == 0
    for _ in range(3):
        response = requests.get(server.url + "/readyz", timeout=10)
        assert response.json()["checks"]["jwks"] == {"ok": True, "detail": "signing keys loaded"}
    assert tenant.jwks_fetches == 1
    # The keys it loaded verify real tokens without another fetch.
    me = requests.get(server.url + "/gateway/me", timeout=10, headers={
        "Authorization": f"Bearer {tenant.issue_user_token('alice')}"})
    assert me.status_code == 200 and tenant.jwks_fetches == 1


def test_jwks_probe_not_ready_while_keys_cannot_be_fetched(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer]) -> None:
    server = make_gateway(fresh_emulator)
    fresh_emulator.stop()
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 503
    assert response.json()["checks"]["jwks"] == {
        "ok": False, "detail": "signing keys could not be fetched yet"}
