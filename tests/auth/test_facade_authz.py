"""Authorization on every catalog row of the /api/v2 facade, over real HTTP.

- a token holding exactly the permissions a row needs gets through (not 401/403);
- a token holding every other permission gets 403 naming the missing one;
- 401 and 403 never mint a Management token nor call the Management API
  (counted at the emulator: tokens_issued, request_log);
- role A (alice) reads but every write is 403; role B (bob) updates but cannot
  delete or assign roles.

The request for each row comes from the facade's own end-to-end table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from app.catalog import BY_ID, CATALOG, PERMISSIONS
from app.errors import problem_type
from tests.support.operations import CASES
from tests.support.stack import Stack
from tests.support.tokens import token_with

Build = Callable[[Stack], tuple[str, str, dict[str, Any]]]
# Rows a guardrail refuses for a role-less caller even with the right permissions.
GUARDED_BEYOND_PERMISSIONS = {"post_user_roles", "delete_user_roles"}
WRITES = [case for case in CASES if BY_ID[case[0]].is_write]


def body_fields(kwargs: dict[str, Any]) -> tuple[str, ...]:
    body = kwargs.get("json")
    return tuple(body) if isinstance(body, dict) else ()


class Upstream:
    """What the emulator saw: Management tokens minted and Management API calls."""

    def __init__(self, tenant: Any) -> None:
        self.tenant = tenant
        self.minted = sum(tenant.tokens_issued.values())
        self.calls = len(tenant.request_log)

    def untouched(self) -> bool:
        return (sum(self.tenant.tokens_issued.values()) == self.minted
                and len(self.tenant.request_log) == self.calls)


def send(stack_like: Any, token: str | None, method: str, path: str,
         **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, stack_like.gateway.url + path, headers=headers, timeout=30,
                            **kwargs)


@pytest.fixture
def stack(fresh_emulator: Any, make_gateway: Callable[..., Any]) -> Stack:
    """A fresh emulator (these requests change it) behind a gateway with the shipped policy."""
    return Stack(fresh_emulator, make_gateway(fresh_emulator), requests.Session())


@pytest.fixture
def shared_stack(emulator: Any, shared_gateway: Any) -> Stack:
    """The session emulator and one gateway: enough for requests that must never get through."""
    return Stack(emulator, shared_gateway, requests.Session())


def test_every_catalog_row_is_covered() -> None:
    # Issue 15's rows (after get_roles) are called with exactly their permission in
    # tests/facade/test_new_operations.py.
    first = [op.operation_id for op in CATALOG].index("get_roles") + 1
    assert {case[0] for case in CASES} == {op.operation_id for op in CATALOG[:first]}


@pytest.mark.parametrize(("operation_id", "build"), [(c[0], c[1]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_exact_permissions_are_enough(stack: Stack, operation_id: str, build: Build) -> None:
    method, path, kwargs = build(stack)
    needed = set(BY_ID[operation_id].required_permissions(body_fields(kwargs)))
    # Delegated scope is a dimension of its own and fails closed: a role-less token sees
    # users only with the override (tests/guards/test_scope_fail_closed.py: without it, 403).
    needed.add("users:scope:all")
    response = send(stack, token_with(stack.tenant, needed), method, path, **kwargs)
    assert response.status_code != 401, response.text
    if response.status_code == 403:
        # Only a guardrail may still refuse (e.g. role assignment needs `assignable_roles`,
        # which a role-less token has none of); the permission check itself passed.
        assert response.json()["type"] != problem_type("insufficient-permission"), response.text
        assert operation_id in GUARDED_BEYOND_PERMISSIONS
    else:
        assert response.status_code < 300, response.text


@pytest.mark.parametrize(("operation_id", "build"), [(c[0], c[1]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_missing_base_permission_is_403_before_any_upstream_work(
        shared_stack: Stack, operation_id: str, build: Build) -> None:
    operation = BY_ID[operation_id]
    method, path, kwargs = build(shared_stack)
    token = token_with(shared_stack.tenant, set(PERMISSIONS) - {operation.permission})
    upstream = Upstream(shared_stack.tenant)

    response = send(shared_stack, token, method, path, **kwargs)

    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["required_permission"] == operation.permission
    assert operation.permission in problem["detail"]
    assert f'scope="{operation.permission}"' in response.headers["WWW-Authenticate"]
    assert upstream.untouched()


@pytest.mark.parametrize("authorization", [None, "Bearer not.a.jwt", "Bearer "],
                         ids=["no-token", "bad-token", "empty-bearer"])
@pytest.mark.parametrize(("operation_id", "build"), [(c[0], c[1]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_401_before_any_upstream_work(shared_stack: Stack, operation_id: str, build: Build,
                                      authorization: str | None) -> None:
    method, path, kwargs = build(shared_stack)
    upstream = Upstream(shared_stack.tenant)
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.request(method, shared_stack.gateway.url + path, headers=headers,
                                timeout=30, **kwargs)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert upstream.untouched()


def test_role_a_reads_users(stack: Stack) -> None:
    assert stack.call("alice", "GET", "/api/v2/users", params={"per_page": "5"}).status_code \
        == 200
    user = stack.call("alice", "GET", f"/api/v2/users/{stack.user('bob')}")
    assert user.status_code == 200
    assert user.json()["user_id"] == stack.user("bob")


@pytest.mark.parametrize(("operation_id", "build"), [(c[0], c[1]) for c in WRITES],
                         ids=[c[0] for c in WRITES])
def test_role_a_gets_403_on_every_write(shared_stack: Stack, operation_id: str,
                                        build: Build) -> None:
    method, path, kwargs = build(shared_stack)
    upstream = Upstream(shared_stack.tenant)
    response = shared_stack.call("alice", method, path, **kwargs)
    assert response.status_code == 403, response.text
    assert BY_ID[operation_id].permission in response.json()["required_permission"].split()
    assert upstream.untouched()


def test_role_b_updates_a_user(stack: Stack) -> None:
    response = stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"name": "Dave Renamed", "blocked": True})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Dave Renamed"
    assert response.json()["blocked"] is True


@pytest.mark.parametrize("operation_id", ["delete_users_by_id", "post_user_roles",
                                          "delete_user_roles", "post_users",
                                          "delete_authenticators"])
def test_role_b_cannot_delete_create_or_assign_roles(shared_stack: Stack,
                                                     operation_id: str) -> None:
    build = next(c[1] for c in CASES if c[0] == operation_id)
    method, path, kwargs = build(shared_stack)
    upstream = Upstream(shared_stack.tenant)
    response = shared_stack.call("bob", method, path, **kwargs)
    assert response.status_code == 403, response.text
    assert response.json()["required_permission"] == BY_ID[operation_id].permission
    assert upstream.untouched()


@pytest.mark.parametrize(("alias", "body", "missing"), [
    ("bob", {"app_metadata": {"plan": "gold"}}, "users:update_app_metadata"),
    ("alice", {"blocked": True}, "users:block"),
    ("alice", {"user_metadata": {"x": 1}}, "users:update_metadata"),
    ("alice", {"name": "X", "blocked": True}, "users:block users:update"),
], ids=["role-b-app-metadata", "role-a-blocked", "role-a-user-metadata", "role-a-two-fields"])
def test_field_level_permissions(shared_stack: Stack, alias: str, body: dict[str, Any],
                                 missing: str) -> None:
    upstream = Upstream(shared_stack.tenant)
    response = shared_stack.call(alias, "PATCH", f"/api/v2/users/{shared_stack.user('dave')}",
                                 json=body)
    assert response.status_code == 403
    assert response.json()["required_permission"] == missing
    assert upstream.untouched()


def test_forbidden_field_is_400_before_any_upstream_work(shared_stack: Stack) -> None:
    upstream = Upstream(shared_stack.tenant)
    response = shared_stack.call("carol", "PATCH", f"/api/v2/users/{shared_stack.user('dave')}",
                                 json={"password": "Corr3ct-Horse-Battery"})
    assert response.status_code == 400
    assert response.json()["field"] == "password"
    assert upstream.untouched()


def test_patch_fields_decide_alone(stack: Stack) -> None:
    """PATCH touching only `blocked` needs users:block, not users:update (issue 4)."""
    # (users:scope:all: dave has no role, so no delegated-scope rule would let him see alice)
    token = stack.tenant.issue_user_token(
        "dave", extra_claims={"permissions": ["users:read", "users:block", "users:scope:all"]})
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{stack.gateway.url}/api/v2/users/{stack.user('alice')}"
    blocked = stack.session.patch(url, json={"blocked": True}, headers=headers, timeout=30)
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked"] is True
    renamed = stack.session.patch(url, json={"name": "Not Allowed"}, headers=headers, timeout=30)
    assert renamed.status_code == 403
    assert renamed.json()["required_permission"] == "users:update"
    me = stack.session.get(stack.gateway.url + "/gateway/me", headers=headers, timeout=30).json()
    patch = next(op for op in me["operations"] if op["operation_id"] == "patch_users_by_id")
    assert patch["fields"] == ["blocked"]
