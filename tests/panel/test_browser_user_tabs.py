"""A user's tabs in a real browser: panel/e2e/user_tabs.mjs drives Chromium through the
permissions, sessions, MFA, identities and organizations tabs, the lock-out and the
roles screen, as the emulator's seeded users (README of the script for each scenario).

What the browser saw is checked by the script; what reached the tenant is checked here
(each write went through the gateway once, with the tier its operation needs, and did
what the screen said; the reader's and the plan's refusals never left the gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.support.panel_e2e import run_e2e, screenshot_names

# Management API writes of the emulator's request log: (method, route) per request.
WRITE = ("POST", "PATCH", "DELETE")


def writes(tenant: Any) -> list[Any]:
    with tenant.lock:
        return [r for r in tenant.request_log if r.method in WRITE]


def test_reader_reads_and_editor_revokes_and_locks_out(
        node: str, chromium: str, panel_stack: dict[str, Any]) -> None:
    tenant = panel_stack["emulator"].tenant
    alice = tenant.user_id("alice")
    with tenant.lock:
        sessions_before = {s["id"] for s in tenant.accounts.sessions_of(alice)}
    assert len(sessions_before) == 2
    tenant.reset_counters()

    result = run_e2e(node, chromium, panel_stack["panel"].url, "user_tabs.mjs",
                     SCENARIO="reader-editor")

    assert len(result["checks"]) >= 25
    assert {"20-sessions-reader.png", "21-lock-out-confirm.png",
            "22-locked-out.png"} <= screenshot_names(result)
    # alice only read; bob revoked one session, forgot her browsers and locked her out.
    calls = [(r.method, r.route) for r in writes(tenant)]
    assert calls == [
        ("DELETE", "/api/v2/sessions/{id}"),
        ("POST", "/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser"),
        ("PATCH", "/api/v2/users/{id}"),
        ("POST", "/api/v2/users/{id}/revoke-access"),
    ]
    revoke, forget, block, revoke_access = writes(tenant)
    assert unquote(revoke.raw_path).rsplit("/", 1)[1] in sessions_before
    assert {forget.params["id"], block.params["id"], revoke_access.params["id"]} == {alice}
    assert block.json == {"blocked": True}
    with tenant.lock:
        assert tenant.users[alice]["blocked"] is True
        assert tenant.accounts.sessions_of(alice) == []
        assert tenant.accounts.refresh_tokens_of(alice) == []
        assert alice in tenant.accounts.browsers_forgotten_at


def test_admin_changes_mfa_permissions_and_identities(
        node: str, chromium: str, panel_stack: dict[str, Any]) -> None:
    tenant = panel_stack["emulator"].tenant
    erin, bob, dave = (tenant.user_id(a) for a in ("erin", "bob", "dave"))
    with tenant.lock:
        google = next(i for i in tenant.users[dave]["identities"]
                      if i["provider"] == "google-oauth2")
        push = next(m["id"] for m in tenant.accounts.auth_methods[erin] if m["type"] == "push")
    tenant.reset_counters()

    result = run_e2e(node, chromium, panel_stack["panel"].url, "user_tabs.mjs",
                     SCENARIO="admin")

    assert len(result["checks"]) >= 14
    assert {"23-mfa-methods.png", "24-direct-permission.png",
            "25-role-users.png"} <= screenshot_names(result)
    calls = [(r.method, r.route, r.params.get("id")) for r in writes(tenant)]
    assert calls == [
        ("DELETE", "/api/v2/users/{id}/authentication-methods/{authentication_method_id}",
         erin),
        ("POST", "/api/v2/users/{id}/recovery-code-regeneration", bob),
        ("POST", "/api/v2/users/{id}/permissions", dave),
        ("DELETE", "/api/v2/users/{id}/permissions", dave),
        ("DELETE", "/api/v2/users/{id}/identities/{provider}/{user_id}", dave),
    ]
    delete_method, _, assign, remove, _ = writes(tenant)
    assert delete_method.params["authentication_method_id"] == push
    granted = {"permissions": [{"permission_name": "users:read",
                                "resource_server_identifier": tenant.gateway_audience}]}
    assert assign.json == granted and remove.json == granted
    with tenant.lock:
        assert push not in {m["id"] for m in tenant.accounts.auth_methods.get(erin, [])}
        assert dave not in tenant.accounts.direct_permissions
        assert [i["provider"] for i in tenant.users[dave]["identities"]] == ["auth0"]
        assert f"google-oauth2|{google['user_id']}" in tenant.users


def test_plan_without_sessions_hides_them_and_says_why(
        node: str, chromium: str, make_panel_stack: Callable[..., dict[str, Any]]) -> None:
    # A plan without sessions and refresh tokens; the emulator's generous budget.
    stack = make_panel_stack(MGMT_PLAN="free", MGMT_BUDGET_RATE="50", MGMT_BUDGET_BURST="100")
    tenant = stack["emulator"].tenant
    alice = tenant.user_id("alice")
    tenant.reset_counters()

    result = run_e2e(node, chromium, stack["panel"].url, "user_tabs.mjs", SCENARIO="plan")

    assert len(result["checks"]) >= 6
    assert {"26-plan-required.png", "27-lock-out-incomplete.png"} <= screenshot_names(result)
    # The gateway refused the sessions read and the revocation itself: only the block
    # reached the tenant.
    assert [(r.method, r.route) for r in writes(tenant)] == [("PATCH", "/api/v2/users/{id}")]
    with tenant.lock:
        assert not any("/sessions" in r.raw_path or "/refresh-tokens" in r.raw_path
                       for r in tenant.request_log)
        assert tenant.users[alice]["blocked"] is True
        assert len(tenant.accounts.sessions_of(alice)) == 2
