"""Bad input is a 400 (or 413/415) problem naming what is wrong, and nothing reaches Auth0."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Stack

BAD_QUERIES = [
    ("unknown-parameter", {"connection_name": "x"}, "Unknown query parameter(s): connection_name"),
    ("per-page-over-100", {"per_page": "101"}, "per_page"),
    ("per-page-not-int", {"per_page": "ten"}, "per_page"),
    ("negative-page", {"page": "-1"}, "page"),
    ("beyond-1000-results", {"page": "10", "per_page": "100"}, "first 1000 results"),
    ("bool-not-true-false", {"include_totals": "yes"}, "include_totals"),
    ("sort-unknown-field", {"sort": "password:1"}, "sort"),
    ("sort-bad-direction", {"sort": "created_at:2"}, "sort"),
    ("fields-unknown", {"fields": "user_id,identities.access_token"}, "fields"),
    ("search-engine-v2", {"search_engine": "v2"}, "search_engine"),
    ("excluded-primary-order", {"primary_order": "true"}, "primary_order"),
    ("q-too-long", {"q": "a" * 3000}, "q"),
]


@pytest.mark.parametrize(("params", "needle"), [(p, n) for _, p, n in BAD_QUERIES],
                         ids=[i for i, _, _ in BAD_QUERIES])
def test_bad_query_is_400(stack: Stack, params: dict[str, str], needle: str) -> None:
    response = stack.call("alice", "GET", "/api/v2/users", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert needle in body["detail"] or needle in str(body.get("errors"))
    assert body["request_id"]
    assert stack.upstream() == []


def test_repeated_query_parameter_is_400(stack: Stack) -> None:
    response = stack.call("alice", "GET", "/api/v2/users?page=1&page=2")
    assert response.status_code == 400
    assert "page" in response.json()["errors"]
    assert stack.upstream() == []


def test_users_by_email_requires_a_valid_email(stack: Stack) -> None:
    missing = stack.call("alice", "GET", "/api/v2/users-by-email")
    bad = stack.call("alice", "GET", "/api/v2/users-by-email", params={"email": "not-an-email"})
    assert missing.status_code == bad.status_code == 400
    assert "email" in missing.json()["errors"] and "email" in bad.json()["errors"]
    assert stack.upstream() == []


BAD_BODIES: list[tuple[str, str, str, Any, str]] = [
    ("unknown-field", "PATCH", "/users/{dave}", {"name": "A", "is_admin": True},
     "Unknown body field(s): is_admin"),
    ("password-never-via-patch", "PATCH", "/users/{dave}", {"password": "x"},
     "password-change"),
    ("empty-patch", "PATCH", "/users/{dave}", {}, "names no field"),
    ("not-an-object", "PATCH", "/users/{dave}", ["name"], "JSON object"),
    ("wrong-type", "PATCH", "/users/{dave}", {"blocked": "yes"}, "blocked"),
    ("name-too-long", "PATCH", "/users/{dave}", {"name": "n" * 301}, "name"),
    ("bad-email", "PATCH", "/users/{dave}", {"email": "nope"}, "email"),
    ("bad-phone", "PATCH", "/users/{dave}", {"phone_number": "555-1234"}, "phone_number"),
    ("metadata-not-object", "PATCH", "/users/{dave}", {"user_metadata": "x"}, "user_metadata"),
    ("create-without-connection", "POST", "/users", {"email": "a@example.com"}, "connection"),
    ("roles-not-role-ids", "POST", "/users/{dave}/roles", {"roles": ["admin"]}, "roles"),
    ("roles-empty", "POST", "/users/{dave}/roles", {"roles": []}, "roles"),
    ("ticket-without-user", "POST", "/tickets/password-change", {"ttl_sec": 5}, "user_id"),
    ("ticket-by-email", "POST", "/tickets/password-change",
     {"user_id": "{dave}", "email": "a@example.com"}, "email"),
    ("ttl-negative", "POST", "/tickets/password-change", {"user_id": "{dave}", "ttl_sec": -1},
     "ttl_sec"),
]


@pytest.mark.parametrize(("method", "path", "body", "needle"),
                         [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_400(stack: Stack, method: str, path: str, body: Any, needle: str) -> None:
    dave = stack.user("dave")
    if isinstance(body, dict):
        body = {k: (v.replace("{dave}", dave) if isinstance(v, str) else v)
                for k, v in body.items()}
    response = stack.call("carol", method, "/api/v2" + path.replace("{dave}", dave), json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert needle in problem["detail"] or needle in str(problem.get("errors"))
    assert stack.upstream() == []


@pytest.mark.parametrize("raw", [
    '{"user_metadata": {"x": NaN}}',
    '{"user_metadata": {"x": Infinity}}',
    '{"user_metadata": {"x": 1e999}}',
    '{"user_metadata": ' + "[" * 5000 + "]" * 5000 + "}",
    "[" * 30000 + "]" * 30000,
    # Half a surrogate pair: no UTF-8 encoder (nor Auth0) takes it (review finding: the
    # emulator failed with a 500 that reached the caller as a 502).
    '{"user_metadata": {"\\ud800": 1}}',
    '{"name": "x\\udfff"}',
], ids=["nan", "infinity", "overflowing-float", "deep-metadata", "deep-body",
        "lone-surrogate-key", "lone-surrogate-value"])
def test_json_that_is_not_json_is_400(stack: Stack, raw: str) -> None:
    response = stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert stack.upstream() == [] and stack.tenant.tokens_issued["gateway-write"] == 0


def test_non_json_body_is_415(stack: Stack) -> None:
    response = stack.call("carol", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          data="name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert stack.upstream() == []


def test_malformed_json_is_400(stack: Stack) -> None:
    response = stack.call("carol", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          data="{name", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert stack.upstream() == []


def test_body_on_a_get_is_400(stack: Stack) -> None:
    response = stack.call("alice", "GET", "/api/v2/users", json={"q": "x"})
    assert response.status_code == 400
    assert "no request body" in response.json()["detail"]
    assert stack.upstream() == []


def test_oversized_body_is_413(stack: Stack) -> None:
    response = stack.call("carol", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"user_metadata": {"blob": "x" * 70000}})
    assert response.status_code == 413
    assert stack.upstream() == []


def test_unauthenticated_bad_input_is_401_not_400(stack: Stack) -> None:
    response = stack.call(None, "GET", "/api/v2/users", params={"per_page": "5000"})
    assert response.status_code == 401
