"""Every catalog operation end to end over real HTTP: gateway → emulator, Auth0's shapes back.

Each test also checks that every request the gateway sent upstream is valid
against Auth0's OpenAPI document (recorded at the emulator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.catalog import CATALOG
from tests.support.operations import CASES
from tests.support.spec import validate_recorded
from tests.support.stack import Stack

ADMIN = "carol"  # "User Admin": every permission


def test_every_catalog_operation_has_a_case() -> None:
    # Issue 15's rows (after get_roles) have their table in test_new_operations.py.
    first = [op.operation_id for op in CATALOG].index("get_roles") + 1
    assert {name for name, _, _ in CASES} == {op.operation_id for op in CATALOG[:first]}


@pytest.mark.parametrize(("operation_id", "build", "status"), CASES, ids=[c[0] for c in CASES])
def test_operation_succeeds_end_to_end(stack: Stack, operation_id: str,
                                       build: Callable[[Stack], tuple[str, str, dict[str, Any]]],
                                       status: int | None) -> None:
    method, path, kwargs = build(stack)
    response = stack.call(ADMIN, method, path, **kwargs)
    assert response.status_code < 300, response.text
    if status is not None:
        assert response.status_code == status
    operation = next(o for o in CATALOG if o.operation_id == operation_id)
    # Role changes first look up role names (GET /roles, escalation protection); the
    # operation itself must reach Auth0 exactly once.
    upstream = [e for e in stack.upstream() if (e.method, e.route) != ("GET", "/api/v2/roles")
                or operation_id == "get_roles"]
    assert len(upstream) == 1, [(e.method, e.raw_path) for e in stack.upstream()]
    entry = upstream[0]
    assert (entry.method, entry.route) == (method, "/api/v2" + operation.path)
    assert entry.status == response.status_code
    validate_recorded(entry)
    # Auth0's own JSON comes back, unchanged (the read tier holds no read:user_idp_tokens,
    # so there is nothing for the response filter to remove).
    if response.content:
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == entry.response_json


def test_list_users_returns_auth0_totals_shape(stack: Stack) -> None:
    response = stack.call("alice", "GET", "/api/v2/users",
                          params={"include_totals": "true", "per_page": "3"})
    body = response.json()
    assert set(body) == {"start", "limit", "length", "total", "users"}
    assert body["limit"] == 3 and body["length"] == 3 and len(body["users"]) == 3


def test_patch_then_get_shows_the_change(stack: Stack) -> None:
    target = stack.user("dave")
    patched = stack.call("bob", "PATCH", f"/api/v2/users/{target}",
                         json={"name": "Dave Two", "user_metadata": {"a": 1}})
    assert patched.status_code == 200, patched.text
    again = stack.call("alice", "GET", f"/api/v2/users/{target}").json()
    assert again["name"] == "Dave Two" and again["user_metadata"]["a"] == 1


def test_read_only_request_uses_only_the_read_tier(stack: Stack) -> None:
    stack.call("alice", "GET", f"/api/v2/users/{stack.user('bob')}")
    stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}", json={"name": "X Y"})
    reads = [e for e in stack.upstream() if e.method == "GET"]
    writes = [e for e in stack.upstream() if e.method == "PATCH"]
    assert reads and all(e.client_id == "gateway-read" for e in reads)
    assert all(not any(s.startswith(("update:", "create:", "delete:")) for s in e.scopes)
               for e in reads)
    assert writes and all(e.client_id == "gateway-write" for e in writes)
