"""The audit trail over real HTTP: events for allowed, denied and failed writes with the
right fields and no secrets; GET /gateway/audit filters and pages; Redis loss logs only."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.redis_servers import PrivateRedis
from tests.support.stack import Stack, call_with, token_for

Events = Callable[[], list[dict[str, Any]]]
PASSWORD = "Sup3r-Secret-Passw0rd!"


def _event(events: Events, response: Any) -> dict[str, Any]:
    found = [e for e in events() if e["request_id"] == response.headers["X-Request-ID"]]
    assert len(found) == 1, found
    return found[0]


def test_allowed_write_records_who_what_whom(gstack: Stack, events: Events) -> None:
    bob, dave = gstack.user("bob"), gstack.user("dave")
    response = gstack.call("bob", "PATCH", f"/api/v2/users/{dave}", json={
        "name": "Dave Audited", "blocked": True, "user_metadata": {"theme": "dark"}})
    assert response.status_code == 200, response.text
    event = _event(events, response)
    assert event["actor"] == {"sub": bob, "ip": "127.0.0.1",
                              "client_id": gstack.tenant.panel_client_id}
    assert (event["operation"], event["method"], event["target"]) == \
        ("patch_users_by_id", "PATCH", dave)
    assert event["fields"] == ["blocked", "name", "user_metadata.theme"]
    assert event["values"] == {"name": "Dave Audited", "blocked": True}
    assert (event["outcome"], event["status"], event["tier"]) == ("allowed", 200, "write")
    assert event["time"].endswith("Z") and abs(event["ts"] - time.time()) < 60


def test_metadata_values_only_when_whitelisted(gstack: Stack, events: Events) -> None:
    response = gstack.call("carol", "PATCH", f"/api/v2/users/{gstack.user('dave')}", json={
        "app_metadata": {"department": "support", "plan": "gold"}})
    assert response.status_code == 200, response.text
    event = _event(events, response)
    assert event["fields"] == ["app_metadata.department", "app_metadata.plan"]
    assert event["values"] == {"app_metadata.department": "support"}
    assert "gold" not in json.dumps(event)


def test_denied_writes_are_recorded(gstack: Stack, events: Events) -> None:
    path = f"/api/v2/users/{gstack.user('dave')}"
    forbidden = gstack.call("alice", "PATCH", path, json={"name": "Nope"})
    anonymous = gstack.call(None, "PATCH", path, json={"name": "Nope"})
    assert (forbidden.status_code, anonymous.status_code) == (403, 401)
    first, second = _event(events, forbidden), _event(events, anonymous)
    assert (first["outcome"], first["reason"], first["actor"]["sub"], first["tier"]) == \
        ("denied", "insufficient-permission", gstack.user("alice"), None)
    assert first["fields"] == ["name"] and first["target"] == gstack.user("dave")
    assert (second["outcome"], second["status"], second["actor"]["sub"]) == \
        ("denied", 401, None)
    assert second["actor"]["ip"] == "127.0.0.1"


def test_failed_writes_are_recorded(gstack: Stack, events: Events) -> None:
    missing = gstack.call("bob", "POST", "/api/v2/jobs/verification-email",
                          json={"user_id": "auth0|nobody000000000000000001"})
    gstack.tenant.faults.fail_next(3, 500)
    broken = gstack.call("carol", "DELETE", f"/api/v2/user-blocks/{gstack.user('dave')}")
    assert (missing.status_code, broken.status_code) == (404, 502)
    assert (_event(events, missing)["outcome"], _event(events, broken)["outcome"]) == \
        ("failed", "failed")


def test_reads_are_recorded_only_when_denied(gstack: Stack, events: Events) -> None:
    ok = gstack.call("alice", "GET", f"/api/v2/users/{gstack.user('dave')}")
    refused = gstack.call("dave", "GET", "/api/v2/users")
    outside = gstack.call("alice", "GET", f"/api/v2/users/{gstack.user('carol')}")
    assert (ok.status_code, refused.status_code, outside.status_code) == (200, 403, 404)
    ids = [e["request_id"] for e in events()]
    assert ok.headers["X-Request-ID"] not in ids
    assert _event(events, refused)["outcome"] == "denied"
    assert _event(events, outside)["reason"] == "outside-scope"


def test_no_secrets_in_events_or_logs(gstack: Stack, events: Events,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="admin_gateway.audit")
    token = gstack.token("carol")
    created = call_with(gstack, token, "POST", "/api/v2/users", json={
        "connection": "Username-Password-Authentication", "email": "audited@example.com",
        "password": PASSWORD})
    assert created.status_code == 201, created.text
    ticket = call_with(gstack, token, "POST", "/api/v2/tickets/password-change",
                       json={"user_id": gstack.user("dave")})
    assert ticket.status_code == 201, ticket.text
    event = _event(events, created)
    assert "password" in event["fields"] and "password" not in event["values"]
    assert event["target"] == created.json()["user_id"]
    stream = json.dumps(events())
    logged = "\n".join(json.dumps(getattr(r, "audit", {})) + r.getMessage()
                       for r in caplog.records if r.name == "admin_gateway.audit")
    assert logged and len(caplog.records) >= 2
    for secret in (PASSWORD, token, ticket.json()["ticket"]):
        assert secret not in stream and secret not in logged


# -- GET /gateway/audit ------------------------------------------------------------------


@pytest.fixture
def trail(gstack: Stack) -> Stack:
    """Seven events: bob's three allowed edits, alice's two refusals, carol's two."""
    dave, bob_user = gstack.user("dave"), gstack.user("bob")
    for name in ("One", "Two", "Three"):
        assert gstack.call("bob", "PATCH", f"/api/v2/users/{dave}",
                           json={"name": name}).status_code == 200
    for _ in range(2):
        assert gstack.call("alice", "PATCH", f"/api/v2/users/{dave}",
                           json={"name": "x"}).status_code == 403
    assert gstack.call("carol", "PATCH", f"/api/v2/users/{bob_user}",
                       json={"nickname": "b"}).status_code == 200
    assert gstack.call("carol", "DELETE", f"/api/v2/users/{dave}").status_code == 204
    return gstack


def _audit(stack: Stack, alias: str = "carol", **params: Any) -> Any:
    return stack.call(alias, "GET", "/gateway/audit", params=params)


def test_audit_lists_newest_first(trail: Stack) -> None:
    response = _audit(trail)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert [e["operation"] for e in body["events"]][:2] == \
        ["delete_users_by_id", "patch_users_by_id"]
    assert len(body["events"]) == 7 and body["next_cursor"] is None
    assert all(e["id"] for e in body["events"])


@pytest.mark.parametrize(("params", "count"), [
    ({"actor": "bob"}, 3),
    ({"actor": "alice", "outcome": "denied"}, 2),
    ({"outcome": "allowed"}, 5),
    ({"operation": "delete_users_by_id"}, 1),
    ({"target": "dave"}, 6),
    ({"target": "bob", "actor": "carol"}, 1),
], ids=["actor", "actor+outcome", "outcome", "operation", "target", "target+actor"])
def test_audit_filters(trail: Stack, params: dict[str, str], count: int) -> None:
    resolved = {k: trail.user(v) if k in ("actor", "target") else v for k, v in params.items()}
    events = _audit(trail, **resolved).json()["events"]
    assert len(events) == count
    for event in events:
        if "actor" in resolved:
            assert event["actor"]["sub"] == resolved["actor"]
        if "target" in resolved:
            assert event["target"] == resolved["target"]


def test_audit_time_window(trail: Stack) -> None:
    events = _audit(trail).json()["events"]
    middle = events[3]["ts"]
    newer = _audit(trail, since=str(middle)).json()["events"]
    older = _audit(trail, until=str(middle - 0.0005)).json()["events"]
    assert len(newer) + len(older) == 7 and len(newer) >= 4
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert _audit(trail, since=iso).json()["events"] == []


def test_audit_pages_with_a_cursor(trail: Stack) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = _audit(trail, **params).json()
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    everything = [e["id"] for e in _audit(trail).json()["events"]]
    assert seen == everything and len(seen) == 7


def test_audit_needs_its_permission_and_the_refusal_is_recorded(trail: Stack,
                                                                events: Events) -> None:
    response = _audit(trail, "bob")
    assert response.status_code == 403
    assert response.json()["required_permission"] == "audit:read"
    event = _event(events, response)
    assert (event["operation"], event["outcome"]) == ("gateway_audit", "denied")
    assert _audit(trail, None).status_code == 401


BAD_QUERIES = [
    ("limit-zero", {"limit": "0"}, "limit"),
    ("limit-too-big", {"limit": "101"}, "limit"),
    ("outcome", {"outcome": "maybe"}, "outcome"),
    ("operation", {"operation": "drop_tables"}, "operation"),
    ("since-words", {"since": "yesterday"}, "since"),
    ("until-huge", {"until": "99999999999999"}, "until"),
    ("cursor", {"cursor": "abc"}, "cursor"),
    ("cursor-trailing-newline", {"cursor": "1-1\n"}, "cursor"),
    ("unknown", {"user": "x"}, "user"),
    ("window", {"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "since"),
    ("repeated", [("limit", "1"), ("limit", "2")], "limit"),
    # Out of a Redis stream id's range: once a 503 "Redis unavailable" (review finding).
    ("cursor-beyond-64-bits", {"cursor": "99999999999999999999-99999999999999999999"},
     "cursor"),
    ("cursor-before-everything", {"cursor": "0-0"}, "cursor"),
    ("until-before-the-epoch", {"until": "0001-01-01T00:00:00"}, "until"),
]


@pytest.mark.parametrize(("params", "field"), [(p, f) for _, p, f in BAD_QUERIES],
                         ids=[i for i, _, _ in BAD_QUERIES])
def test_audit_rejects_bad_queries(gstack: Stack, params: Any, field: str) -> None:
    response = gstack.call("carol", "GET", "/gateway/audit", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_scoped_auditor_may_not_read_the_whole_trail(trail: Stack, events: Events) -> None:
    """The trail names every user's events and delegated scope does not filter it: audit:read
    alone (here: a Support Reader given it through RBAC) is not enough."""
    token = token_for(trail, "alice", permissions=["audit:read"])
    response = call_with(trail, token, "GET", "/gateway/audit")
    assert response.status_code == 403, response.text
    assert response.json()["required_permission"] == "users:scope:all"
    assert _event(events, response)["outcome"] == "denied"


def test_redis_loss_logs_only_never_500(make_guard_stack: Callable[..., Stack],
                                        private_redis: PrivateRedis,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="admin_gateway.audit")
    stack = make_guard_stack(REDIS_URL=private_redis.url)
    path = f"/api/v2/users/{stack.user('dave')}"
    assert stack.call("bob", "PATCH", path, json={"name": "Before"}).status_code == 200
    private_redis.stop()
    after = stack.call("bob", "PATCH", path, json={"name": "After"})
    assert after.status_code == 200, after.text
    record = next(r for r in caplog.records if r.name == "admin_gateway.audit"
                  and getattr(r, "audit", {}).get("request_id") == after.headers["X-Request-ID"])
    assert record.stream_id is None  # type: ignore[attr-defined]
    reading = stack.call("carol", "GET", "/gateway/audit")
    assert reading.status_code == 503
    assert reading.json()["type"].endswith("/audit-unavailable")


def test_audit_endpoint_is_in_the_openapi_document(gstack: Stack) -> None:
    document = gstack.session.get(gstack.gateway.url + "/openapi.json", timeout=30).json()
    operation = document["paths"]["/gateway/audit"]["get"]
    assert operation["x-gateway-permission"] == "audit:read"
    assert {p["name"] for p in operation["parameters"]} == \
        {"actor", "target", "operation", "outcome", "since", "until", "cursor", "limit"}
    assert {"200", "400", "401", "403", "503"} <= set(operation["responses"])
