"""Graceful degradation over real HTTP through the gateway: what the caller sees
and what is logged when Redis is down, Auth0 is slow, or Auth0 is down."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from tests.support.ports import free_port
from tests.support.secret_watch import capture_gateway_logs
from tests.support.servers import LiveServer


def _path(tenant: Any, alias: str) -> str:
    return "/api/v2/users/" + tenant.user_id(alias).replace("|", "%7C")


def _entries(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_redis_down_requests_keep_working(fresh_emulator: Any,
                                          make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    dead = f"redis://:redispassword@127.0.0.1:{free_port()}/0"
    server = make_gateway(fresh_emulator, REDIS_URL=dead)
    token = tenant.issue_user_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    with capture_gateway_logs(tee=True) as logs:
        statuses = [requests.get(server.url + _path(tenant, "dave"), headers=headers,
                                 timeout=10).status_code for _ in range(3)]
        ready = requests.get(server.url + "/readyz", timeout=10)
    # Served with a per-process token: a Redis failure is a cache miss, never an error.
    assert statuses == [200, 200, 200]
    assert dict(tenant.tokens_issued) == {"gateway-read": 1}
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"]["ok"] is False
    assert ready.json()["checks"]["management_token"]["ok"] is True
    text = logs.getvalue()
    warnings = [e for e in _entries(text) if e["level"] in ("WARNING", "ERROR")]
    assert warnings, "a Redis outage must be visible in the logs"
    assert all(e["level"] == "WARNING" for e in warnings)  # degraded, not failing
    assert "redispassword" not in text


def test_redis_down_limits_fall_back_to_memory(fresh_emulator: Any,
                                               make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    dead = f"redis://127.0.0.1:{free_port()}/0"
    server = make_gateway(fresh_emulator, REDIS_URL=dead, RATE_LIMIT_READS="3/minute")
    headers = {"Authorization": f"Bearer {tenant.issue_user_token('alice')}"}
    statuses = [requests.get(server.url + _path(tenant, "dave"), headers=headers,
                             timeout=10).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_auth0_slow_is_a_504_problem(fresh_emulator: Any,
                                     make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator, UPSTREAM_READ_TIMEOUT_SECONDS="0.3")
    headers = {"Authorization": f"Bearer {tenant.issue_user_token('alice')}"}
    assert requests.get(server.url + _path(tenant, "dave"), headers=headers,
                        timeout=10).status_code == 200
    tenant.faults.latency(1.5)
    try:
        with capture_gateway_logs(tee=True) as logs:
            response = requests.get(server.url + _path(tenant, "dave"), headers=headers,
                                    timeout=10)
    finally:
        tenant.faults.clear()
    assert response.status_code == 504
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/upstream-timeout") and body["request_id"]
    access = [e for e in _entries(logs.getvalue()) if e["logger"] == "admin_gateway.access"]
    assert access[-1]["status"] == 504 and access[-1]["operation"] == "get_users_by_id"


def test_auth0_down_is_a_502_problem(fresh_emulator: Any,
                                     make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator)
    headers = {"Authorization": f"Bearer {tenant.issue_user_token('alice')}"}
    fresh_token = {"Authorization": f"Bearer {tenant.issue_user_token('alice', expires_in=600)}"}
    assert requests.get(server.url + _path(tenant, "dave"), headers=headers,
                        timeout=10).status_code == 200
    fresh_emulator.stop()  # connection refused from now on
    with capture_gateway_logs(tee=True) as logs:
        response = requests.get(server.url + _path(tenant, "dave"), headers=fresh_token,
                                timeout=15)
        me = requests.get(server.url + "/gateway/me", headers=fresh_token, timeout=10)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/upstream-unavailable")
    # Signing keys and the Management token are cached: callers are still authenticated.
    assert me.status_code == 200
    assert any(e["level"] in ("WARNING", "ERROR") for e in _entries(logs.getvalue())
               if e["logger"] != "admin_gateway.access")


def test_auth0_down_before_any_key_was_fetched(fresh_emulator: Any,
                                               make_gateway: Callable[..., LiveServer]) -> None:
    tenant = fresh_emulator.tenant
    server = make_gateway(fresh_emulator)
    token = tenant.issue_user_token("alice")
    fresh_emulator.stop()
    response = requests.get(server.url + "/gateway/me", timeout=15,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Retry-After" in response.headers
