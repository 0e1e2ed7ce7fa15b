"""Lists of users without app_metadata (a role's users, an organization's members) are
answered to a scoped caller from the in-scope users only (issue 15): no page, no `total`
counts a user outside the scope — the same no-count-leak rule as restricted searches.

The oracle is the emulator tenant's own data (who holds the role, which department each
user is in), read directly, never through the gateway."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.stack import Stack, call_with, token_for

ROLE_NAMES = ["Support Reader", "Support Editor", "User Admin"]


def _reader(stack: Stack, department: str = "support") -> str:
    return token_for(stack, "alice", **{stack.tenant.roles_claim: ["Support Reader"],
                        stack.tenant.department_claim: department})


def _role(stack: Stack, name: str) -> str:
    return str(next(r.id for r in stack.tenant.roles.values() if r.name == name))


def _oracle(stack: Stack, role: str, department: str) -> set[str]:
    tenant = stack.tenant
    return {uid for uid, user in tenant.users.items()
            if role in tenant.user_roles.get(uid, [])
            and user.get("app_metadata", {}).get("department") == department}


def _everyone(stack: Stack, role: str) -> set[str]:
    return {uid for uid, roles in stack.tenant.user_roles.items() if role in roles}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(role_name=st.sampled_from(ROLE_NAMES), per_page=st.integers(1, 9),
       department=st.sampled_from(["support", "sales", "engineering"]))
def test_pages_and_totals_hold_only_in_scope_users(gstack: Stack, role_name: str,
                                                    per_page: int, department: str) -> None:
    role = _role(gstack, role_name)
    expected = _oracle(gstack, role, department)
    token = _reader(gstack, department)
    seen: list[str] = []
    for page in range(60):
        response = call_with(gstack, token, "GET", f"/api/v2/roles/{role}/users",
                             params={"page": page, "per_page": per_page,
                                     "include_totals": "true"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["total"] == len(expected)  # the total counts in-scope users only
        assert body["start"] == page * per_page and body["limit"] == per_page
        assert len(body["users"]) <= per_page
        if not body["users"]:
            break
        seen.extend(user["user_id"] for user in body["users"])
    assert len(seen) == len(set(seen))  # no user twice across pages
    assert set(seen) == expected


def test_a_role_held_across_departments_is_filtered(gstack: Stack) -> None:
    """The precondition the property needs: some role's users span departments, and the
    scoped caller sees strictly fewer of them than an unrestricted one."""
    spans = [name for name in ROLE_NAMES
             if _everyone(gstack, _role(gstack, name)) - _oracle(gstack, _role(gstack, name),
                                                                  "support")
             and _oracle(gstack, _role(gstack, name), "support")]
    assert spans, "the seed must put some role's users in several departments"
    role = _role(gstack, spans[0])
    scoped = call_with(gstack, _reader(gstack), "GET", f"/api/v2/roles/{role}/users",
                       params={"per_page": 100}).json()
    everyone = gstack.call("carol", "GET", f"/api/v2/roles/{role}/users",
                           params={"per_page": 100}).json()
    assert {u["user_id"] for u in scoped} == _oracle(gstack, role, "support")
    assert {u["user_id"] for u in everyone} == _everyone(gstack, role)
    assert len(scoped) < len(everyone)


def test_checkpoint_paging_is_refused_to_a_scoped_caller(gstack: Stack) -> None:
    role = _role(gstack, "Support Reader")
    response = call_with(gstack, _reader(gstack), "GET", f"/api/v2/roles/{role}/users",
                         params={"take": 5})
    assert response.status_code == 400
    assert "page and per_page" in response.json()["detail"]


def test_a_role_user_list_without_roles_claim_is_refused(gstack: Stack) -> None:
    role = _role(gstack, "Support Reader")
    token = str(gstack.tenant.issue_user_token("alice", include_roles=False, extra_claims={
        "permissions": ["roles:users:read"]}))
    response = call_with(gstack, token, "GET", f"/api/v2/roles/{role}/users",
                         params={"include_totals": "true"})
    assert response.status_code == 403
    assert "total" not in response.json()
    assert gstack.upstream() == []


def test_fields_apply_to_a_scoped_callers_members(gstack: Stack) -> None:
    org = sorted(gstack.tenant.organizations)[0]
    # Any organization (orgs:scope:all), her department's users only.
    token = token_for(gstack, "alice", permissions=["orgs:scope:all"],
                      **{gstack.tenant.roles_claim: ["Support Reader"],
                         gstack.tenant.department_claim: "support"})
    path = f"/api/v2/organizations/{org}/members"
    only = call_with(gstack, token, "GET", path, params={"fields": "user_id,name"})
    assert only.status_code == 200, only.text
    assert only.json() and all(set(m) == {"user_id", "name"} for m in only.json())
    without = call_with(gstack, token, "GET", path,
                        params={"fields": "picture", "include_fields": "false"})
    assert without.json() and all("picture" not in m and "user_id" in m
                                  for m in without.json())
