"""Escalation protection for direct permissions and every grant (issue 15): only the
permissions a caller's roles may assign (`assignable_permissions`), never one the caller
does not hold itself unless `[protection] grant_unheld_permissions = true`, and never to
oneself — whatever `self_actions` says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.catalog import CATALOG
from tests.support.policies import write_policy
from tests.support.stack import Stack, call_with, role_id, token_for

API = "https://admin-gateway.example.com/api"
ASSIGNABLE = {"resource_server_identifier": API, "permission_name": "users:read"}
# Assignable by the shipped policy's User Admin only once the policy names it; bob (whose
# Auth0 role is Support Editor) does not hold it.
UNHELD = {"resource_server_identifier": API, "permission_name": "audit:read"}
GRANTS = [op for op in CATALOG if op.grants]


def _direct(stack: Stack, user_id: str) -> set[str]:
    response = stack.call("carol", "GET", f"/api/v2/users/{user_id}/permissions")
    assert response.status_code == 200, response.text
    return {p["permission_name"] for p in response.json()
            if any(s.get("source_type") == "DIRECT" for s in p.get("sources", []))}


def _writes(stack: Stack) -> list[Any]:
    return [r for r in stack.upstream() if r.method != "GET"]


def test_an_assignable_permission_is_granted_and_removed(gstack: Stack) -> None:
    dave = gstack.user("dave")
    granted = gstack.call("carol", "POST", f"/api/v2/users/{dave}/permissions",
                          json={"permissions": [ASSIGNABLE]})
    assert granted.status_code == 201, granted.text
    assert "users:read" in _direct(gstack, dave)
    removed = gstack.call("carol", "DELETE", f"/api/v2/users/{dave}/permissions",
                          json={"permissions": [ASSIGNABLE]})
    assert removed.status_code == 204, removed.text
    assert "users:read" not in _direct(gstack, dave)


def test_a_permission_outside_assignable_permissions_is_refused(gstack: Stack) -> None:
    response = gstack.call("carol", "POST", f"/api/v2/users/{gstack.user('dave')}/permissions",
                           json={"permissions": [UNHELD]})
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/permission-not-assignable")
    assert "audit:read" in response.json()["detail"]
    assert _writes(gstack) == []


def _unheld_policy(tmp_path: Path, allow: bool) -> Path:
    replacements = {
        '  { resource_server_identifier = "https://admin-gateway.example.com/api", '
        'permission_name = "users:logs:read" },':
            '  { resource_server_identifier = "https://admin-gateway.example.com/api", '
            'permission_name = "audit:read" },'}
    if allow:
        replacements["grant_unheld_permissions = false"] = "grant_unheld_permissions = true"
    return write_policy(tmp_path, replacements)


def _bob_as_admin(stack: Stack) -> str:
    """bob's token naming the User Admin role (so the policy lets him assign), while Auth0
    says what bob actually holds: the Support Editor role's permissions."""
    return token_for(stack, "bob", **{stack.tenant.roles_claim: ["User Admin"]})


def test_a_permission_the_caller_does_not_hold_is_refused(
        make_guard_stack: Callable[..., Stack], tmp_path: Path) -> None:
    stack = make_guard_stack(POLICY_FILE=str(_unheld_policy(tmp_path, allow=False)))
    response = call_with(stack, _bob_as_admin(stack), "POST",
                         f"/api/v2/users/{stack.user('dave')}/permissions",
                         json={"permissions": [UNHELD]})
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/permission-not-held")
    assert _writes(stack) == []


def test_the_policy_may_allow_granting_unheld_permissions(
        make_guard_stack: Callable[..., Stack], tmp_path: Path) -> None:
    stack = make_guard_stack(POLICY_FILE=str(_unheld_policy(tmp_path, allow=True)))
    dave = stack.user("dave")
    response = call_with(stack, _bob_as_admin(stack), "POST",
                         f"/api/v2/users/{dave}/permissions", json={"permissions": [UNHELD]})
    assert response.status_code == 201, response.text
    assert "audit:read" in _direct(stack, dave)


def _grant_request(stack: Stack, op: Any, user_id: str) -> tuple[str, dict[str, Any]]:
    org = sorted(stack.tenant.organizations)[0]
    path = op.gateway_path.format(id=user_id, user_id=user_id)
    if op.org_param:
        path = op.gateway_path.format(id=org, user_id=user_id)
    if op.grantee_email:  # an invitation to the caller's own address
        return path, {"inviter": {"name": "Carol"},
                      "invitee": {"email": stack.tenant.users[user_id]["email"].upper()},
                      "client_id": next(iter(stack.tenant.clients))}
    if op.assigns_permissions:
        return path, {"permissions": [ASSIGNABLE]}
    if op.assigns_roles:
        return path, {"roles": [role_id(stack, "Support Reader")]}
    assert op.body_users is not None, op.operation_id
    return path, {op.body_users: [user_id]}


@pytest.mark.parametrize("op", GRANTS, ids=lambda op: op.operation_id)
def test_nobody_grants_themselves_anything_even_with_self_actions_allowed(
        make_guard_stack: Callable[..., Stack], tmp_path: Path, op: Any) -> None:
    policy = write_policy(tmp_path, {'self_actions = "deny"': 'self_actions = "allow"'})
    stack = make_guard_stack(POLICY_FILE=str(policy))
    path, body = _grant_request(stack, op, stack.user("carol"))
    response = stack.call("carol", op.method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/self-grant")
    assert _writes(stack) == []


def test_granting_permissions_needs_its_own_permission(gstack: Stack) -> None:
    # bob is a Support Editor: he may edit profiles, not grant permissions.
    response = gstack.call("bob", "POST", f"/api/v2/users/{gstack.user('alice')}/permissions",
                           json={"permissions": [ASSIGNABLE]})
    assert response.status_code == 403
    assert "users:permissions:assign" in response.json()["detail"]
    assert gstack.upstream() == []


def test_invitation_metadata_needs_the_app_metadata_permission(gstack: Stack) -> None:
    """Auth0 gives an invitation's app_metadata to whoever accepts it: setting it is
    setting app_metadata, which Support Editors and Org Admins may not."""
    org = sorted(gstack.tenant.organizations)[0]
    token = token_for(gstack, "bob", permissions=["orgs:invitations:manage", "orgs:scope:all"])
    body = {"inviter": {"name": "Bob"}, "invitee": {"email": "new.hire@example.com"},
            "client_id": next(iter(gstack.tenant.clients)),
            "app_metadata": {"department": "finance"}}
    response = call_with(gstack, token, "POST", f"/api/v2/organizations/{org}/invitations",
                         json=body)
    assert response.status_code == 403, response.text
    assert "users:update_app_metadata" in response.json()["detail"]
    assert _writes(gstack) == []


def test_a_scoped_callers_invitation_keeps_the_invitee_in_scope(gstack: Stack) -> None:
    org = sorted(gstack.tenant.organizations)[0]
    token = token_for(gstack, "bob", permissions=[
        "orgs:invitations:manage", "orgs:scope:all", "users:update_app_metadata"])
    body = {"inviter": {"name": "Bob"}, "invitee": {"email": "new.hire@example.com"},
            "client_id": next(iter(gstack.tenant.clients))}
    outside = call_with(gstack, token, "POST", f"/api/v2/organizations/{org}/invitations",
                        json={**body, "app_metadata": {"department": "finance"}})
    assert outside.status_code == 403, outside.text
    assert outside.json()["type"].endswith("/outside-scope")
    inside = call_with(gstack, token, "POST", f"/api/v2/organizations/{org}/invitations",
                       json={**body, "app_metadata": {"department": "support"}})
    assert inside.status_code in (200, 201), inside.text


def test_a_look_alike_spelling_of_ones_own_address_is_ones_own(gstack: Stack) -> None:
    """Fullwidth letters and another case are the same address once normalised (NFKC,
    casefold): still a self-grant."""
    own = gstack.tenant.users[gstack.user("carol")]["email"]
    local, domain = own.split("@", 1)
    lookalike = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c
                        for c in local.upper()) + "@" + domain
    org = sorted(gstack.tenant.organizations)[0]
    response = gstack.call("carol", "POST", f"/api/v2/organizations/{org}/invitations", json={
        "inviter": {"name": "Carol"}, "invitee": {"email": lookalike},
        "client_id": next(iter(gstack.tenant.clients))})
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/self-grant")
    assert _writes(gstack) == []
