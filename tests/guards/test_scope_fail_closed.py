"""Delegated scope fails closed (issue: "Delegated scope that fails closed and is proven
against Apache Lucene's own parser"). Each test reproduces one finding of the attack pass
against the demo over real HTTP; each failed on the gateway before the fix."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import requests

from app.catalog import CATALOG
from tests.support.policies import write_policy
from tests.support.stack import Stack, call_with, role_id, token_for

SUPPORT = "support"


def _department(stack: Stack, user_id: str) -> Any:
    return stack.tenant.users[user_id]["app_metadata"].get("department")


def _support_count(stack: Stack) -> int:
    return sum(1 for u in stack.tenant.users.values()
               if u["app_metadata"].get("department") == SUPPORT)


def _metric(stack: Stack, name: str) -> float:
    text = requests.get(stack.gateway.url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


# -- 1. a missing roles claim must never widen what a caller sees --------------------------

READER = ["users:read", "users:roles:read", "users:logs:read", "roles:read"]


def _roleless(stack: Stack, alias: str = "alice", also: tuple[str, ...] = ()) -> str:
    """alice's token as Auth0 issues it when the post-login Action that adds the roles
    claim is missing: RBAC `permissions`, her department, no roles claim."""
    return str(stack.tenant.issue_user_token(alias, include_roles=False, extra_claims={
        "permissions": [*READER, *also]}))


def _no_roles(stack: Stack, alias: str = "alice", **claims: Any) -> str:
    """A token whose roles claim is present and empty: the user holds no role."""
    return str(stack.tenant.issue_user_token(alias, include_roles=False, extra_claims={
        "permissions": READER, stack.tenant.roles_claim: [], **claims}))


# Organization operations check the org first (tests/guards/test_org_scope.py).
SCOPED_READS = [op for op in CATALOG
                if op.scope_check != "none" and not op.is_write and not op.org_param]


@pytest.mark.parametrize("op", SCOPED_READS, ids=[f"{op.method} {op.path}" for op in SCOPED_READS])
def test_no_roles_claim_sees_nobody(gstack: Stack, op: Any) -> None:
    carol = gstack.user("carol")  # engineering: outside alice's department
    params = {"email": gstack.tenant.users[carol]["email"]} if "by-email" in op.path else {}
    token = _roleless(gstack, also=(op.permission,))
    response = call_with(gstack, token, op.method,
                         op.gateway_path.format(id=carol, user_id=carol,
                                                authentication_method_id="x"),
                         params=params)
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/scope-claim-missing")
    assert "roles claim" in response.json()["detail"]
    assert gstack.upstream() == []  # nothing was read for the caller


def test_no_roles_claim_search_reports_no_tenant_total(gstack: Stack) -> None:
    response = call_with(gstack, _roleless(gstack), "GET", "/api/v2/users",
                         params={"include_totals": "true", "per_page": "1"})
    assert response.status_code == 403
    assert "total" not in response.json()


def test_roles_not_needed_for_operations_without_users(gstack: Stack) -> None:
    response = call_with(gstack, _roleless(gstack), "GET", "/api/v2/roles")
    assert response.status_code == 200, response.text


def test_no_role_at_all_is_no_rule(gstack: Stack) -> None:
    response = call_with(gstack, _no_roles(gstack), "GET", "/api/v2/users")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/scope-no-rule")
    assert gstack.upstream() == []


def test_unknown_role_is_no_rule_either(gstack: Stack) -> None:
    token = token_for(gstack, "alice", **{gstack.tenant.roles_claim: ["Support Lead"],
                                          "permissions": ["users:read"]})
    response = call_with(gstack, token, "GET", "/api/v2/users")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/scope-no-rule")


def test_unrestricted_permission_is_the_only_way_to_see_everyone(gstack: Stack) -> None:
    token = str(gstack.tenant.issue_user_token("alice", include_roles=False, extra_claims={
        "permissions": ["users:read", "users:scope:all"]}))
    users = call_with(gstack, token, "GET", "/api/v2/users", params={"per_page": "100"}).json()
    assert len({u["app_metadata"].get("department") for u in users}) > 1


def test_default_allow_is_explicit_and_warned(make_guard_stack: Any, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    policy = write_policy(tmp_path, {'\ndefault = "deny"': '\ndefault = "allow"'})
    with caplog.at_level(logging.WARNING, logger="admin_gateway.policy"):
        stack = make_guard_stack(POLICY_FILE=str(policy))
    assert any('default = "allow"' in r.getMessage() for r in caplog.records)
    users = call_with(stack, _no_roles(stack), "GET", "/api/v2/users",
                      params={"per_page": "100"}).json()
    assert len({u["app_metadata"].get("department") for u in users}) > 1
    # "allow" is for callers no rule applies to, never for a claim that is missing.
    missing = call_with(stack, _roleless(stack), "GET", "/api/v2/users")
    assert missing.status_code == 403
    assert missing.json()["type"].endswith("/scope-claim-missing")


def test_org_member_without_a_role_sees_only_the_org(gstack: Stack) -> None:
    """The org rule applies by attribute: a role-less token from an organization is
    restricted to it, not refused and not widened."""
    erin = gstack.tenant.users[gstack.user("erin")]["app_metadata"]
    token = _no_roles(gstack, "erin", org_id=erin["org_id"])
    response = call_with(gstack, token, "GET", "/api/v2/users", params={"per_page": "100"})
    assert response.status_code == 200, response.text
    assert response.json()
    assert {u["app_metadata"]["org_id"] for u in response.json()} == {erin["org_id"]}


# -- 2. the gateway and the tenant can no longer read q differently -----------------------

ATTACKS = [
    ("quote-inside-word", 'email:* OR a"b) OR (c"'),
    ("bracket-inside-word", "a[b OR identities.access_token:ya29* OR c]"),
    ("brace-inside-word", "a{b OR identities.access_token:ya29* OR c}"),
    ("idp-token-range", "identities.access_token:[ya29.a TO ya29.b]"),
    ("escaped-hidden-field", "identities\\.access_token:ya29*"),
    ("hidden-field-group", "identities.access_token:(ya29* OR x)"),
]


@pytest.mark.parametrize("q", [q for _, q in ATTACKS], ids=[i for i, _ in ATTACKS])
def test_reported_queries_are_refused_or_stay_in_scope(gstack: Stack, q: str) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users",
                           params={"q": q, "per_page": "100", "include_totals": "true"})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        body = response.json()
        assert body["type"].endswith("/query-refused") and body["position"] >= 1
        assert gstack.upstream() == []
        return
    body = response.json()
    assert all(_department(gstack, u["user_id"]) == SUPPORT for u in body["users"])
    assert body["total"] <= _support_count(gstack)
    (entry,) = gstack.upstream()
    assert "identities.access_token" not in entry.query["q"][0]


def test_idp_token_prefix_cannot_be_recovered_by_search(gstack: Stack) -> None:
    """The reported oracle: ranges and prefixes on another department's IdP token."""
    for q in ("identities.access_token:ya29*", "identities.access_token:[ya29 TO ya2A]",
              "_exists_:identities.access_token", "identities.*:ya29*"):
        response = gstack.call("alice", "GET", "/api/v2/users", params={"q": q})
        assert response.status_code == 400, (q, response.text)
    assert gstack.upstream() == []


# -- 3. counts never include users the caller may not see ---------------------------------

def test_upstream_misreading_is_a_502_tripwire_without_counts(gstack: Stack) -> None:
    before = _metric(gstack, "agw_scope_violations_total")
    gstack.tenant.faults.misread_search_next(1)  # upstream ignores the scope clause
    response = gstack.call("alice", "GET", "/api/v2/users",
                           params={"include_totals": "true", "per_page": "100"})
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["type"].endswith("/scope-violation")
    assert not {"users", "total", "length", "start", "limit"} & set(body)
    assert _metric(gstack, "agw_scope_violations_total") == before + 1


def test_tripwire_is_logged_as_a_security_event(gstack: Stack,
                                                caplog: pytest.LogCaptureFixture) -> None:
    gstack.tenant.faults.misread_search_next(1)
    with caplog.at_level(logging.ERROR, logger="admin_gateway.security"):
        response = gstack.call("alice", "GET", "/api/v2/users", params={"per_page": "100"})
    assert response.status_code == 502
    (record,) = [r for r in caplog.records if r.name == "admin_gateway.security"]
    assert record.security_event == "scope-violation"  # type: ignore[attr-defined]
    assert record.request_id == response.json()["request_id"]  # type: ignore[attr-defined]


def test_in_scope_counts_are_the_departments(gstack: Stack) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users",
                           params={"include_totals": "true", "per_page": "5"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == _support_count(gstack)
    assert body["length"] == len(body["users"]) == 5


def test_unrestricted_caller_is_not_tripped(gstack: Stack) -> None:
    gstack.tenant.faults.misread_search_next(1)
    response = gstack.call("carol", "GET", "/api/v2/users", params={"per_page": "5"})
    assert response.status_code == 200, response.text


# -- review (attack pass on this change): claims that are absent or malformed ------------

@pytest.mark.parametrize("roles", [None, 7, {"a": 1}, ["Support Reader", 3]],
                         ids=["absent", "number", "object", "mixed-list"])
def test_org_member_without_a_usable_roles_claim_sees_nobody(gstack: Stack,
                                                             roles: Any) -> None:
    """Before: erin's department rule was skipped and her org rule alone applied, so she
    read every department of her organization."""
    erin = gstack.tenant.users[gstack.user("erin")]["app_metadata"]
    claims: dict[str, Any] = {"permissions": ["users:read"]}
    if roles is not None:
        claims[gstack.tenant.roles_claim] = roles
    token = str(gstack.tenant.issue_user_token("erin", include_roles=roles is not None,
                                               org_id=erin["org_id"], extra_claims=claims))
    response = call_with(gstack, token, "GET", "/api/v2/users",
                         params={"include_totals": "true"})
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/scope-claim-missing")


@pytest.mark.parametrize("org_id", ["", 123, ["org_x"], {"a": 1}, None],
                         ids=["empty", "number", "list", "object", "null"])
def test_malformed_org_id_is_a_missing_attribute(gstack: Stack, org_id: Any) -> None:
    """Before: a malformed org_id made the org rule not apply: the whole department."""
    token = token_for(gstack, "erin", org_id=org_id)
    response = call_with(gstack, token, "GET", "/api/v2/users")
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/scope-claim-missing")


def test_a_list_valued_scope_field_is_in_scope_as_search_reads_it(gstack: Stack) -> None:
    """Auth0 (Elasticsearch) matches arrays element by element; the gateway's check agrees,
    so no user the search counted is one the check hides (no 502 oracle, no count gap)."""
    shared = gstack.user("dave")
    gstack.tenant.users[shared]["app_metadata"]["department"] = ["support", "sales"]
    for alias in ("alice", "erin"):
        response = gstack.call(alias, "GET", "/api/v2/users", params={
            "q": f'user_id:"{shared}"', "include_totals": "true"})
        assert response.status_code == 200, (alias, response.text)
    alice = gstack.call("alice", "GET", f"/api/v2/users/{shared}")
    assert alice.status_code == 200, alice.text


def test_scoped_editor_cannot_set_another_rules_field(gstack: Stack) -> None:
    """Before: a department-scoped editor could give a user any org_id, putting the user
    inside another organization's administrators' scope."""
    token = token_for(gstack, "bob", permissions=["users:read", "users:update_app_metadata",
                                                   "users:create"])
    dave = gstack.user("dave")
    response = call_with(gstack, token, "PATCH", f"/api/v2/users/{dave}",
                         json={"app_metadata": {"org_id": "org_abc"}})
    assert response.status_code == 403, response.text
    assert response.json()["field"] == "app_metadata.org_id"
    assert "org_id" not in gstack.tenant.users[dave]["app_metadata"]
    created = call_with(gstack, token, "POST", "/api/v2/users", json={
        "connection": "Username-Password-Authentication", "email": "n@example.com",
        "password": "Corr3ct-Horse-Battery",
        "app_metadata": {"department": "support", "org_id": "org_abc"}})
    assert created.status_code == 403, created.text


def test_scoped_creator_cannot_probe_user_ids(gstack: Stack) -> None:
    """Before: POST /users with an existing user_id answered Auth0's 409 for users outside
    the caller's scope: an existence oracle."""
    token = token_for(gstack, "bob", permissions=["users:read", "users:create",
                                                   "users:update_app_metadata"])
    carol_local = gstack.user("carol").split("|", 1)[1]
    response = call_with(gstack, token, "POST", "/api/v2/users", json={
        "connection": "Username-Password-Authentication", "email": "n2@example.com",
        "password": "Corr3ct-Horse-Battery", "user_id": carol_local,
        "app_metadata": {"department": "support"}})
    assert response.status_code == 403, response.text
    assert response.json()["field"] == "user_id"
    assert not [e for e in gstack.upstream() if e.method == "POST"]


def test_protected_role_beyond_the_first_page_is_found(gstack: Stack) -> None:
    """Before: only the first 100 roles were read, so an admin holding 100 other roles
    first could be changed (and get a password-change ticket) by a Support Editor."""
    from emulator.models import Role

    target = next(uid for uid, u in gstack.tenant.users.items()
                  if u["app_metadata"].get("department") == "support"
                  and uid not in gstack.tenant.user_roles)
    fillers = []
    for n in range(100):
        role = Role(id=f"rol_filler{n:011d}", name=f"Filler {n:03d}", description="",
                    permissions=[])
        gstack.tenant.roles[role.id] = role
        fillers.append(role.id)
    gstack.tenant.user_roles[target] = [*fillers, role_id(gstack, "User Admin")]
    for method, path, body in (("PATCH", f"/api/v2/users/{target}", {"name": "x"}),
                               ("POST", "/api/v2/tickets/password-change",
                                {"user_id": target})):
        response = gstack.call("bob", method, path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["type"].endswith("/protected-user")


@pytest.mark.parametrize("q", ["\u3000", "\u00a0\u2003", "\x1c"], ids=["ideographic", "nbsp-em",
                                                                       "file-separator"])
def test_unicode_blank_q_is_parsed_for_everyone(gstack: Stack, q: str) -> None:
    """A q Python calls blank but Lucene reads as a query is refused, never passed on."""
    response = gstack.call("carol", "GET", "/api/v2/users", params={"q": q})
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/query-refused")
    assert gstack.upstream() == []
