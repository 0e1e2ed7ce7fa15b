"""The Organizations screen in a real browser: panel/e2e/organizations.mjs drives
Chromium through an organization's members, member roles and invitations, as an
organization administrator confined to her own organization, as a User Admin who may
open any, and as a reader (README of the script for each scenario).

What the browser saw is checked by the script; what reached the tenant is checked here.
"""

from __future__ import annotations

from typing import Any

from emulator.models import Role
from tests.support.panel_e2e import run_e2e, screenshot_names

WRITE = ("POST", "PATCH", "DELETE")


def acme(tenant: Any) -> str:
    return str(next(org.id for org in tenant.organizations.values() if org.name == "acme"))


def writes(tenant: Any) -> list[Any]:
    with tenant.lock:
        return [r for r in tenant.request_log if r.method in WRITE]


def make_org_admin(tenant: Any, org_id: str) -> str:
    """Give a seeded member of the organization (logging in through it: app_metadata.org_id)
    the shipped policy's "Org Admin" role, as the login page's "olga"."""
    with tenant.lock:
        fixed = set(tenant.aliases.values())
        user_id: str = next(uid for uid in sorted(tenant.accounts.org_members[org_id])
                       if uid not in fixed and uid.startswith("auth0|")
                       and not tenant.user_roles.get(uid)
                       and tenant.users[uid]["app_metadata"].get("org_id") == org_id)
        role = Role(id="rol_OrgAdmin00000001", name="Org Admin",
                    description="Manages the organization they log in through", permissions=[])
        tenant.roles[role.id] = role
        tenant.user_roles[user_id] = [role.id]
        tenant.aliases["olga"] = user_id
    return user_id


def test_org_admin_manages_her_own_organization(node: str, chromium: str,
                                                panel_stack: dict[str, Any]) -> None:
    tenant = panel_stack["emulator"].tenant
    org = acme(tenant)
    olga = make_org_admin(tenant, org)
    erin = tenant.user_id("erin")
    with tenant.lock:
        seeded = set(tenant.accounts.invitations[org])
    tenant.reset_counters()

    result = run_e2e(node, chromium, panel_stack["panel"].url, "organizations.mjs",
                     SCENARIO="org-admin", ERIN_ID=erin, DAVE_ID=tenant.user_id("dave"))

    assert len(result["checks"]) >= 16
    assert {"30-organization-members.png", "31-organization-invitations.png",
            "32-member-tabs-org-admin.png"} <= screenshot_names(result)
    calls = [(r.method, r.route, r.params.get("id")) for r in writes(tenant)]
    assert calls == [
        ("DELETE", "/api/v2/organizations/{id}/members", org),
        ("POST", "/api/v2/organizations/{id}/members", org),
        ("POST", "/api/v2/organizations/{id}/invitations", org),
        ("DELETE", "/api/v2/organizations/{id}/invitations/{invitation_id}", org),
    ]
    remove, add, invite, revoke = writes(tenant)
    assert remove.json == add.json == {"members": [erin]}
    with tenant.lock:
        olga_name = tenant.users[olga]["name"]
    assert invite.json == {"inviter": {"name": olga_name},
                           "invitee": {"email": "new.person@example.com"},
                           "client_id": tenant.panel_client_id}
    assert revoke.params["invitation_id"] == invite.response_json["id"]
    with tenant.lock:
        assert erin in tenant.accounts.org_members[org]
        assert set(tenant.accounts.invitations[org]) == seeded


def test_admin_opens_any_organization_and_a_reader_only_reads(
        node: str, chromium: str, panel_stack: dict[str, Any]) -> None:
    tenant = panel_stack["emulator"].tenant
    org = acme(tenant)
    erin, dave = tenant.user_id("erin"), tenant.user_id("dave")
    with tenant.lock:
        roles_before = {uid: list(roles) for uid, roles in
                        tenant.accounts.org_member_roles[org].items()}
        editor = next(r.id for r in tenant.roles.values() if r.name == "Support Editor")
    tenant.reset_counters()

    result = run_e2e(node, chromium, panel_stack["panel"].url, "organizations.mjs",
                     SCENARIO="scope-all", ERIN_ID=erin, DAVE_ID=dave)

    assert len(result["checks"]) >= 12
    assert {"33-member-roles.png", "34-organization-reader.png"} <= screenshot_names(result)
    calls = [(r.method, r.route) for r in writes(tenant)]
    assert calls == [
        ("POST", "/api/v2/organizations/{id}/members"),
        ("POST", "/api/v2/organizations/{id}/members/{user_id}/roles"),
        ("DELETE", "/api/v2/organizations/{id}/members/{user_id}/roles"),
        ("DELETE", "/api/v2/organizations/{id}/members"),
    ]
    add, assign, unassign, remove = writes(tenant)
    assert add.json == remove.json == {"members": [dave]}
    assert assign.json == unassign.json == {"roles": [editor]}
    assert assign.params["user_id"] == erin
    # erin only read: every write above was carol's, through the gateway's tiers.
    with tenant.lock:
        assert dave not in tenant.accounts.org_members[org]
        assert tenant.accounts.org_member_roles[org] == roles_before
