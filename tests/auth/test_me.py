"""GET /gateway/me: who the caller is and which operations the panel may offer them."""

from __future__ import annotations

from typing import Any

import pytest

from app.catalog import CATALOG, GATEWAY_ACTIONS
from tests.support.tokens import me

READS = {op.operation_id for op in CATALOG if op.method == "GET"}


def operations(body: dict[str, Any]) -> set[str]:
    return {op["operation_id"] for op in body["operations"]}


def test_role_a_sees_only_read_operations(shared_gateway: Any, tenant: Any) -> None:
    response = me(shared_gateway, tenant.issue_user_token("alice"))
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == tenant.user_id("alice")
    assert body["roles"] == ["Support Reader"]
    assert body["permissions"] == ["orgs:read", "roles:read", "roles:users:read",
                                   "users:logs:read", "users:mfa:read", "users:read",
                                   "users:roles:read", "users:sessions:read"]
    assert {op["method"] for op in body["operations"]} == {"GET"}
    assert operations(body) == READS
    assert response.headers["Cache-Control"] == "no-store"


def test_role_b_also_sees_patch(shared_gateway: Any, tenant: Any) -> None:
    body = me(shared_gateway, tenant.issue_user_token("bob")).json()
    assert body["roles"] == ["Support Editor"]
    assert "patch_users_by_id" in operations(body)
    assert {"PATCH", "GET"} <= {op["method"] for op in body["operations"]}
    assert not {"delete_users_by_id", "post_users", "post_user_roles",
                "delete_user_roles"} & operations(body)
    patch = next(op for op in body["operations"] if op["operation_id"] == "patch_users_by_id")
    assert patch["method"] == "PATCH" and patch["path"] == "/api/v2/users/{id}"
    # The fields bob may change: not app_metadata (users:update_app_metadata).
    assert "blocked" in patch["fields"] and "user_metadata" in patch["fields"]
    assert "name" in patch["fields"] and "app_metadata" not in patch["fields"]


def test_no_role_sees_nothing(shared_gateway: Any, tenant: Any) -> None:
    body = me(shared_gateway, tenant.issue_user_token("dave")).json()
    assert body["roles"] == [] and body["permissions"] == [] and body["operations"] == []


def test_user_admin_sees_every_operation(shared_gateway: Any, tenant: Any) -> None:
    body = me(shared_gateway, tenant.issue_user_token("carol")).json()
    assert operations(body) == {op.operation_id for op in (*CATALOG, *GATEWAY_ACTIONS)}


def test_org_and_department(shared_gateway: Any, tenant: Any) -> None:
    user = tenant.users[tenant.user_id("erin")]
    body = me(shared_gateway, tenant.issue_user_token("erin")).json()
    assert body["org_id"] == user["app_metadata"]["org_id"]
    assert body["department"] == user["app_metadata"]["department"]
    assert body["client_id"] == tenant.panel_client_id
    assert body["is_machine"] is False
    assert body["roles"] == ["Support Reader"]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt"], ids=["none", "bad"])
def test_me_needs_a_valid_token(shared_gateway: Any, authorization: str | None) -> None:
    response = me(shared_gateway, authorization=authorization)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
