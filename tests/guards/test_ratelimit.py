"""Per-caller rate limits over real HTTP and a real Redis: per subject, shared by every
instance, by IP without a valid token, exempt probes, per-operation overrides, and the
in-memory fallback when Redis goes away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.support.environments import gateway_env
from tests.support.policies import write_policy
from tests.support.redis_servers import PrivateRedis
from tests.support.servers import LiveServer
from tests.support.stack import Stack

Events = Callable[[], list[dict[str, Any]]]


def _get(base: str, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(base + path, headers=headers, timeout=30)


def _assert_429(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    body: dict[str, Any] = response.json()
    assert body["status"] == 429 and body["request_id"] and body["type"].endswith("/rate-limited")
    return body


def test_reads_are_limited_per_subject_with_headers(make_guard_stack: Callable[..., Stack]
                                                    ) -> None:
    stack = make_guard_stack(RATE_LIMIT_READS="3/minute")
    alice = stack.token("alice")
    seen = [_get(stack.gateway.url, "/api/v2/roles", alice) for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Limit"] for r in seen] == ["3", "3", "3"]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0"]
    assert all(int(r.headers["X-RateLimit-Reset"]) > 1_600_000_000 for r in seen)
    # The IETF draft fields: same numbers, reset in seconds from now.
    assert [r.headers["RateLimit-Limit"] for r in seen] == ["3", "3", "3"]
    assert [r.headers["RateLimit-Remaining"] for r in seen] == ["2", "1", "0"]
    assert all(0 <= int(r.headers["RateLimit-Reset"]) <= 61 for r in seen)
    assert "Retry-After" not in seen[0].headers
    body = _assert_429(_get(stack.gateway.url, "/api/v2/roles", alice))
    assert "read requests" in body["detail"]
    # Another caller has a counter of their own.
    assert _get(stack.gateway.url, "/api/v2/roles", stack.token("bob")).status_code == 200


def test_limits_are_shared_by_every_instance(make_gateway: Callable[..., LiveServer],
                                             fresh_emulator: Any) -> None:
    first = make_gateway(fresh_emulator, RATE_LIMIT_READS="3/minute")
    second = make_gateway(fresh_emulator, RATE_LIMIT_READS="3/minute")  # same Redis prefix
    token = fresh_emulator.tenant.issue_user_token("alice")
    assert _get(first.url, "/api/v2/roles", token).status_code == 200
    assert _get(second.url, "/api/v2/roles", token).status_code == 200
    assert _get(first.url, "/api/v2/roles", token).status_code == 200
    _assert_429(_get(second.url, "/api/v2/roles", token))


def test_writes_have_their_own_limit_and_429s_are_audited(
        make_guard_stack: Callable[..., Stack], events: Events) -> None:
    stack = make_guard_stack(RATE_LIMIT_WRITES="1/minute")
    path = f"/api/v2/users/{stack.user('dave')}"
    assert stack.call("bob", "PATCH", path, json={"name": "One"}).status_code == 200
    refused = stack.call("bob", "PATCH", path, json={"name": "Two"})
    _assert_429(refused)
    assert stack.call("bob", "GET", path).status_code == 200  # reads unaffected
    event = next(e for e in events() if e["request_id"] == refused.headers["X-Request-ID"])
    assert (event["operation"], event["outcome"], event["status"]) == \
        ("patch_users_by_id", "denied", 429)
    assert event["actor"]["sub"] == stack.user("bob") and event["target"] == stack.user("dave")
    assert event["fields"] == ["name"]


def test_unauthenticated_attempts_are_limited_by_ip(make_guard_stack: Callable[..., Stack]
                                                    ) -> None:
    stack = make_guard_stack(RATE_LIMIT_UNAUTHENTICATED="3/minute")
    base = stack.gateway.url
    assert _get(base, "/api/v2/roles").status_code == 401
    assert _get(base, "/api/v2/roles", "not-a-jwt").status_code == 401
    expired = str(stack.tenant.issue_user_token("alice", expires_in=-3600))
    assert _get(base, "/gateway/me", expired).status_code == 401
    body = _assert_429(_get(base, "/api/v2/roles", "still-not-a-jwt"))
    assert "without a valid token" in body["detail"]
    # A valid token is counted against the caller, not the address.
    assert _get(base, "/api/v2/roles", stack.token("alice")).status_code == 200


def test_probes_and_docs_are_never_limited(make_guard_stack: Callable[..., Stack]) -> None:
    stack = make_guard_stack(RATE_LIMIT_UNAUTHENTICATED="1/minute")
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs") * 3:
        response = _get(stack.gateway.url, path)
        assert response.status_code != 429, path
        assert "X-RateLimit-Limit" not in response.headers, path


def test_policy_overrides_by_operation_and_permission(make_guard_stack: Callable[..., Stack],
                                                      tmp_path: Any) -> None:
    policy = write_policy(tmp_path, {"[limits]\n": '[limits]\n"get_roles" = "1/minute"\n'
                                                   '"users:logs:read" = "2/minute"\n'})
    stack = make_guard_stack(POLICY_FILE=str(policy))
    alice = stack.token("alice")
    assert _get(stack.gateway.url, "/api/v2/roles", alice).headers["X-RateLimit-Limit"] == "1"
    _assert_429(_get(stack.gateway.url, "/api/v2/roles", alice))
    logs = f"/api/v2/users/{stack.user('dave')}/logs"
    assert [_get(stack.gateway.url, logs, alice).status_code for _ in range(3)] == \
        [200, 200, 429]
    # Other reads still count against RATE_LIMIT_READS.
    users = _get(stack.gateway.url, "/api/v2/users", alice)
    assert users.status_code == 200 and users.headers["X-RateLimit-Limit"] == "600"


def test_redis_loss_falls_back_to_memory_never_500(make_gateway: Callable[..., LiveServer],
                                                   fresh_emulator: Any,
                                                   private_redis: PrivateRedis) -> None:
    gateway = make_gateway(fresh_emulator, REDIS_URL=private_redis.url,
                           RATE_LIMIT_READS="3/minute")
    token = fresh_emulator.tenant.issue_user_token("alice")
    assert _get(gateway.url, "/api/v2/roles", token).status_code == 200
    private_redis.stop()
    statuses = [_get(gateway.url, "/api/v2/roles", token).status_code for _ in range(5)]
    # In memory the count starts again: three more reads, then the limit holds.
    assert statuses == [200, 200, 200, 429, 429]


def test_limits_hold_across_gunicorn_workers(fresh_emulator: Any, redis_url: str,
                                             redis_prefix: str) -> None:
    from tests.support.processes import Gunicorn

    env = gateway_env(fresh_emulator, redis_url, redis_prefix, RATE_LIMIT_READS="4/minute")
    with Gunicorn(env, workers=2, threads=2) as server:
        token = fresh_emulator.tenant.issue_user_token("alice")
        session = requests.Session()  # one connection per request: workers take turns
        statuses = [session.get(server.url + "/api/v2/roles", timeout=30,
                                headers={"Authorization": f"Bearer {token}",
                                         "Connection": "close"}).status_code
                    for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_unauthenticated_key_is_the_address_proxyfix_trusts(
        make_guard_stack: Callable[..., Stack]) -> None:
    stack = make_guard_stack(RATE_LIMIT_UNAUTHENTICATED="2/minute", PROXY_FIX_X_FOR="1")

    def anonymous(forwarded: str) -> int:
        return requests.get(stack.gateway.url + "/gateway/me", timeout=30,
                            headers={"X-Forwarded-For": forwarded}).status_code

    assert [anonymous("198.51.100.1") for _ in range(3)] == [401, 401, 429]
    # Another client behind the proxy has its own counter...
    assert anonymous("198.51.100.2") == 401
    # ...and a spoofed left-most entry does not make a new client: the proxy's hop counts.
    assert anonymous("203.0.113.77, 198.51.100.1") == 429
