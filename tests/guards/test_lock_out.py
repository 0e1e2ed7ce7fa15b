"""The session kill switch (issue 15): sessions and refresh tokens by user and one by one
(the owner checked under delegated scope), "lock out now" (block + revoke-access, each
step reported, idempotent, audited as one event), and Auth0's Enterprise-only operations
answered with a problem naming the plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from app.catalog import CATALOG
from tests.support.stack import Stack, call_with, role_id, token_for
from tests.support.tokens import me

ENTERPRISE_ONLY = [op for op in CATALOG if op.enterprise_only]


def _sessions(stack: Stack, alias: str) -> list[dict[str, Any]]:
    response = stack.call("carol", "GET", f"/api/v2/users/{stack.user(alias)}/sessions")
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


def _refresh_tokens(stack: Stack, alias: str) -> list[dict[str, Any]]:
    response = stack.call("carol", "GET", f"/api/v2/users/{stack.user(alias)}/refresh-tokens")
    assert response.status_code == 200, response.text
    tokens: list[dict[str, Any]] = response.json()["tokens"]
    return tokens


def test_lock_out_blocks_and_revokes_everything_and_says_so(gstack: Stack,
                                                            events: Callable[[], Any]) -> None:
    alice = gstack.user("alice")
    assert _sessions(gstack, "alice") and _refresh_tokens(gstack, "alice")
    response = gstack.call("bob", "POST", f"/gateway/users/{alice}/lock-out")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == alice and body["complete"] is True
    assert [(s["step"], s["outcome"]) for s in body["steps"]] == [
        ("block", "done"), ("revoke_access", "done")]
    assert gstack.tenant.users[alice]["blocked"] is True
    assert _sessions(gstack, "alice") == [] and _refresh_tokens(gstack, "alice") == []
    lockouts = [e for e in events() if e["operation"] == "lock_out"]
    assert len(lockouts) == 1  # one audit event for the whole action
    assert lockouts[0]["target"] == alice and lockouts[0]["status"] == 200
    assert [s["step"] for s in lockouts[0]["steps"]] == ["block", "revoke_access"]
    again = gstack.call("bob", "POST", f"/gateway/users/{alice}/lock-out")
    assert again.status_code == 200 and again.json()["complete"] is True  # idempotent


def test_lock_out_is_refused_on_yourself_outside_your_scope_and_without_permission(
        gstack: Stack) -> None:
    bob, carol = gstack.user("bob"), gstack.user("carol")
    own = gstack.call("bob", "POST", f"/gateway/users/{bob}/lock-out")
    assert own.status_code == 403 and own.json()["type"].endswith("/self-action")
    outside = gstack.call("bob", "POST", f"/gateway/users/{carol}/lock-out")  # engineering
    assert outside.status_code == 404
    assert outside.json()["detail"] == "The user does not exist."
    reader = gstack.call("alice", "POST", f"/gateway/users/{bob}/lock-out")
    assert reader.status_code == 403 and "users:lock_out" in reader.json()["detail"]
    assert not any(r.method != "GET" for r in gstack.upstream())
    assert gstack.tenant.users[carol].get("blocked") is not True


def test_on_a_plan_without_session_management_lock_out_still_blocks(
        make_guard_stack: Callable[..., Stack]) -> None:
    stack = make_guard_stack(MGMT_PLAN="free")
    alice = stack.user("alice")
    response = stack.call("bob", "POST", f"/gateway/users/{alice}/lock-out")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complete"] is False
    assert body["steps"][1]["outcome"] == "not-offered"
    assert "Enterprise" in body["steps"][1]["detail"]
    assert stack.tenant.users[alice]["blocked"] is True


@pytest.mark.parametrize("op", ENTERPRISE_ONLY, ids=lambda op: op.operation_id)
def test_enterprise_only_operations_name_the_plan_and_call_nobody(
        make_guard_stack: Callable[..., Stack], op: Any) -> None:
    stack = make_guard_stack(MGMT_PLAN="free")
    path = op.gateway_path.format(id=stack.user("alice"), user_id=stack.user("alice"))
    response = stack.call("carol", op.method, path)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["type"].endswith("/plan-required")
    assert "Enterprise" in problem["detail"]
    assert stack.upstream() == []


def test_gateway_me_lists_only_what_the_plan_offers(make_guard_stack: Callable[..., Stack]
                                                    ) -> None:
    enterprise_ids = {op.operation_id for op in ENTERPRISE_ONLY}
    free = make_guard_stack(MGMT_PLAN="free")
    listed = {op["operation_id"]
              for op in me(free.gateway, free.token("carol")).json()["operations"]}
    assert not listed & enterprise_ids and "lock_out" in listed
    enterprise = make_guard_stack(MGMT_PLAN="enterprise")
    listed = {op["operation_id"]
              for op in me(enterprise.gateway,
                           enterprise.token("carol")).json()["operations"]}
    assert enterprise_ids <= listed


def test_auth0s_own_plan_refusal_is_answered_as_the_plan_requirement(gstack: Stack) -> None:
    """The gateway thinks the plan is Enterprise, Auth0 knows better."""
    gstack.tenant.set_plan("free")
    response = gstack.call("carol", "GET", f"/api/v2/users/{gstack.user('alice')}/sessions")
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/plan-required")


def test_one_session_is_revoked_only_inside_the_callers_scope(gstack: Stack) -> None:
    carol_session = _sessions(gstack, "carol")[0]["id"]  # carol: engineering
    alice_session = _sessions(gstack, "alice")[0]["id"]  # alice: support, like bob
    outside = gstack.call("bob", "DELETE", f"/api/v2/sessions/{carol_session}")
    missing = gstack.call("bob", "DELETE", "/api/v2/sessions/" + "0" * 20)
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"] == missing.json()["detail"]  # indistinguishable
    assert carol_session in {s["id"] for s in _sessions(gstack, "carol")}
    inside = gstack.call("bob", "DELETE", f"/api/v2/sessions/{alice_session}")
    assert inside.status_code in (200, 202, 204), inside.text
    assert alice_session not in {s["id"] for s in _sessions(gstack, "alice")}


def test_reading_a_session_checks_its_owner_too(gstack: Stack) -> None:
    carol_session = _sessions(gstack, "carol")[0]["id"]
    response = gstack.call("bob", "GET", f"/api/v2/sessions/{carol_session}")
    assert response.status_code == 404
    alice_session = _sessions(gstack, "alice")[0]["id"]
    mine = gstack.call("bob", "GET", f"/api/v2/sessions/{alice_session}")
    assert mine.status_code == 200 and mine.json()["user_id"] == gstack.user("alice")


def test_a_free_tenant_needs_no_scope_it_cannot_use(fresh_emulator: Any,
                                                     make_gateway: Callable[..., Any]) -> None:
    """MGMT_PLAN=free: the start-up tier plan leaves out the Enterprise-only operations, so
    a tier without any session or refresh-token scope starts and serves."""
    from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES

    enterprise = {"read:sessions", "delete:sessions", "read:refresh_tokens",
                  "delete:refresh_tokens"}
    scopes = [s for s in (*READ_SCOPES, *WRITE_SCOPES, *ADMIN_SCOPES) if s not in enterprise]
    client = fresh_emulator.tenant.add_client("gateway-free", scopes)
    gateway = make_gateway(fresh_emulator, MGMT_PLAN="free", MGMT_TIERS="all",
                           MGMT_TIER_ALL_CLIENT_ID=client.client_id,
                           MGMT_TIER_ALL_CLIENT_SECRET=client.client_secret,
                           MGMT_TIER_ALL_SCOPES=" ".join(scopes))
    token = fresh_emulator.tenant.issue_user_token("carol")
    headers = {"Authorization": f"Bearer {token}"}
    alice = fresh_emulator.tenant.user_id("alice")
    read = requests.get(f"{gateway.url}/api/v2/users/{alice}", headers=headers, timeout=30)
    assert read.status_code == 200, read.text
    sessions = requests.get(f"{gateway.url}/api/v2/users/{alice}/sessions", headers=headers,
                            timeout=30)
    assert sessions.status_code == 403
    assert sessions.json()["type"].endswith("/plan-required")


def test_lock_out_of_a_user_that_does_not_exist_is_a_404(gstack: Stack) -> None:
    """An unrestricted caller who may change protected users reads nothing first: Auth0's
    404 on the block is the answer, never a 502."""
    token = token_for(gstack, "carol", permissions=["users:manage_protected"])
    response = call_with(gstack, token, "POST", "/gateway/users/auth0%7Cnobody/lock-out")
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "The user does not exist."


def test_unlink_refuses_to_restore_a_protected_account(gstack: Stack) -> None:
    """The secondary account exists on its own and holds the protected User Admin role:
    unlinking it (which changes it) needs users:manage_protected, like any change."""
    dave = gstack.user("dave")
    secondary = next(i for i in gstack.tenant.users[dave]["identities"]
                     if i["provider"] != "auth0")
    standalone = f"{secondary['provider']}|{secondary['user_id']}"
    with gstack.tenant.lock:
        gstack.tenant.users[standalone] = {
            "user_id": standalone, "email": "dave.diaz@gmail.com", "name": "Dave Diaz",
            "identities": [{**secondary}], "app_metadata": {}, "user_metadata": {},
            "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:00.000Z"}
        gstack.tenant.logs[standalone] = []
        gstack.tenant.user_roles[standalone] = [role_id(gstack, "User Admin")]
    path = f"/api/v2/users/{dave}/identities/{secondary['provider']}/{secondary['user_id']}"
    response = gstack.call("carol", "DELETE", path)
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/protected-user")
    assert len(gstack.tenant.users[dave]["identities"]) == 2
