"""Delegated scope over real HTTP: helpdesk roles see their department only, Organization
members their organization only, whatever they put in q; single-user operations outside
scope are Auth0's own 404."""

from __future__ import annotations

from typing import Any

import pytest

from app.catalog import CATALOG, PERMISSIONS
from app.guards.lucene import parse, restrict
from tests.support.stack import Stack, call_with, role_id, token_for

INJECTIONS = [
    ("star", "*"),
    ("close-or-open", ") OR ("),
    ("close-or-everything", "name:x) OR (*"),
    ("backslash", "\\"),
    ("escaped-close", "name:x\\) OR (*"),
    ("quote", '"'),
    ("quote-swallow", 'name:"x) OR (*'),
    ("not", "NOT app_metadata.department:support"),
    ("not-alone", "NOT name:nobody"),
    ("field-wildcard", "*:*"),
    ("metadata-wildcard", "app_metadata.*:sales"),
    ("exists", "_exists_:app_metadata.department"),
    ("exists-org", "_exists_:app_metadata.org_id"),
    ("unbalanced-open", "((app_metadata.department:sales"),
    ("unbalanced-close", "app_metadata.department:sales))"),
    ("department-star", "app_metadata.department:*"),
    ("other-department", "app_metadata.department:sales"),
    ("or-other-department", "app_metadata.department:support OR app_metadata.department:sales"),
    ("regex", "app_metadata.department:/.*/"),
    ("range", "app_metadata.department:[a TO z]"),
    ("or-operator", "a || app_metadata.department:sales"),
    ("minus", "-app_metadata.department:support"),
]


def _users(body: Any) -> list[dict[str, Any]]:
    return body["users"] if isinstance(body, dict) else body


@pytest.mark.parametrize("q", [q for _, q in INJECTIONS], ids=[i for i, _ in INJECTIONS])
def test_search_injection_never_leaves_the_department(gstack: Stack, q: str) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users", params={"q": q, "per_page": "100"})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert gstack.upstream() == []  # refused before Auth0 saw it
        return
    # Accepted: what Auth0 received is the gateway's own reading of q, re-serialized,
    # as a required clause beside the required restriction; every user that came back is
    # inside the department. (tests/guards/test_lucene_properties.py checks the same
    # against Apache Lucene's own parser.)
    (entry,) = gstack.upstream()
    assert entry.query["q"] == [restrict(q, [("app_metadata.department", "support")])]
    assert entry.query["q"][0].endswith(' +app_metadata.department:"support"')
    assert entry.query["q"][0].startswith("+")
    for user in _users(response.json()):
        assert user["app_metadata"]["department"] == "support", user["user_id"]


def test_search_without_q_returns_the_whole_department(gstack: Stack) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users",
                           params={"per_page": "100", "include_totals": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = sum(1 for u in gstack.tenant.users.values()
                   if u["app_metadata"].get("department") == "support")
    assert body["total"] == expected > 10
    assert {u["app_metadata"]["department"] for u in body["users"]} == {"support"}
    sent = [e for e in gstack.upstream() if e.route == "/api/v2/users"][-1]
    assert sent.query["q"] == ['+app_metadata.department:"support"']


def test_callers_q_is_wrapped_and_anded(gstack: Stack) -> None:
    gstack.call("bob", "GET", "/api/v2/users", params={"q": "name:Dave OR name:Erin"})
    sent = [e for e in gstack.upstream() if e.route == "/api/v2/users"][-1]
    caller, scope = sent.query["q"][0].rsplit(" ", 1)
    assert scope == '+app_metadata.department:"support"'
    assert caller.startswith("+") and parse(caller[1:]) == parse("name:Dave OR name:Erin")


def test_fields_without_app_metadata_still_scoped(gstack: Stack) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users",
                           params={"fields": "user_id,email", "per_page": "100"})
    assert response.status_code == 200, response.text
    users = response.json()
    assert users and all(set(u) == {"user_id", "email"} for u in users)
    for user in users:
        assert gstack.tenant.users[user["user_id"]]["app_metadata"]["department"] == "support"


def test_excluding_app_metadata_still_scoped(gstack: Stack) -> None:
    response = gstack.call("alice", "GET", "/api/v2/users", params={
        "fields": "app_metadata,identities", "include_fields": "false", "per_page": "100"})
    assert response.status_code == 200, response.text
    users = response.json()
    assert users and not any("app_metadata" in u or "identities" in u for u in users)
    for user in users:
        assert gstack.tenant.users[user["user_id"]]["app_metadata"]["department"] == "support"


def test_unrestricted_permission_sees_every_department(gstack: Stack) -> None:
    users = gstack.call("carol", "GET", "/api/v2/users", params={"per_page": "100"}).json()
    assert len({u["app_metadata"]["department"] for u in users}) > 1


def test_org_scope_for_erin(gstack: Stack) -> None:
    erin = gstack.tenant.users[gstack.user("erin")]["app_metadata"]
    response = gstack.call("erin", "GET", "/api/v2/users", params={"per_page": "100", "q": "*"})
    assert response.status_code == 200, response.text
    users = response.json()
    assert users
    for user in users:
        assert user["app_metadata"]["department"] == erin["department"] == "sales"
        assert user["app_metadata"]["org_id"] == erin["org_id"]


def test_org_scope_single_user_in_department_but_other_org_is_404(gstack: Stack) -> None:
    erin = gstack.tenant.users[gstack.user("erin")]["app_metadata"]
    outsider = next(uid for uid, u in gstack.tenant.users.items()
                    if u["app_metadata"].get("department") == "sales"
                    and u["app_metadata"].get("org_id") != erin["org_id"])
    assert gstack.call("erin", "GET", f"/api/v2/users/{outsider}").status_code == 404


def test_missing_department_claim_sees_nothing(gstack: Stack) -> None:
    token = token_for(gstack, "alice", **{gstack.tenant.department_claim: ""})
    response = call_with(gstack, token, "GET", "/api/v2/users")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/scope-claim-missing")
    assert not [e for e in gstack.upstream() if e.route == "/api/v2/users"]


def test_users_by_email_drops_out_of_scope_users(gstack: Stack) -> None:
    carol_email = gstack.tenant.users[gstack.user("carol")]["email"]
    dave_email = gstack.tenant.users[gstack.user("dave")]["email"]
    outside = gstack.call("alice", "GET", "/api/v2/users-by-email", params={"email": carol_email})
    inside = gstack.call("alice", "GET", "/api/v2/users-by-email", params={"email": dave_email})
    assert outside.status_code == inside.status_code == 200
    assert outside.json() == []
    assert [u["user_id"] for u in inside.json()] == [gstack.user("dave")]


# -- single-user operations -----------------------------------------------------------

ALL_BUT_SCOPE = sorted(p for p in PERMISSIONS if p != "users:scope:all")
# Issue 15's rows (after get_roles) are checked the same way by their own table
# (tests/facade/test_new_operations.py, test_a_scoped_caller_cannot_reach_a_user_outside_its_scope).
_FIRST_NEW = [op.operation_id for op in CATALOG].index("get_roles") + 1
SINGLE_USER = [op for op in CATALOG[:_FIRST_NEW] if op.target_user]


def _request(stack: Stack, operation_id: str, target: str) -> tuple[str, str, dict[str, Any]]:
    op = next(o for o in CATALOG if o.operation_id == operation_id)
    path = "/api/v2" + op.path.replace("{id}", target)
    kwargs: dict[str, Any] = {}
    if op.target_user == "user_id":
        kwargs["json"] = {"user_id": target}
    elif operation_id == "patch_users_by_id":
        kwargs["json"] = {"name": "Out Of Scope"}
    elif operation_id in ("post_user_roles", "delete_user_roles"):
        kwargs["json"] = {"roles": [role_id(stack, "Support Reader")]}
    return op.method, path, kwargs


@pytest.mark.parametrize("operation_id", [op.operation_id for op in SINGLE_USER])
def test_single_user_outside_scope_is_auth0s_404(gstack: Stack, operation_id: str) -> None:
    # A support-department editor holding every permission except the scope override.
    token = token_for(gstack, "bob", permissions=ALL_BUT_SCOPE)
    method, path, kwargs = _request(gstack, operation_id, gstack.user("carol"))
    outside = call_with(gstack, token, method, path, **kwargs)
    method, path, kwargs = _request(gstack, operation_id, "auth0|nobody000000000000000001")
    missing = call_with(gstack, token, method, path, **kwargs)
    assert outside.status_code == missing.status_code == 404, outside.text
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(outside) == strip(missing)
    assert strip(outside)["detail"] == "The user does not exist."
    # Only the scope lookup reached Auth0: nothing was read or changed for the caller.
    assert {(e.method, e.route) for e in gstack.upstream()} == {("GET", "/api/v2/users/{id}")}


def test_single_user_inside_scope_works(gstack: Stack) -> None:
    response = gstack.call("alice", "GET", f"/api/v2/users/{gstack.user('dave')}/logs")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("fields", [None, "user_id,name", "app_metadata"],
                         ids=["all-fields", "fields-without-app-metadata", "only-app-metadata"])
def test_reading_one_user_in_scope_costs_one_management_call(gstack: Stack,
                                                             fields: str | None) -> None:
    params = {"fields": fields} if fields else {}
    response = gstack.call("alice", "GET", f"/api/v2/users/{gstack.user('dave')}",
                           params=params)
    assert response.status_code == 200, response.text
    user = response.json()
    # What the caller asked for, no more (app_metadata was only added for the check).
    if fields:
        assert set(user) == set(fields.split(","))
    else:
        assert user["user_id"] == gstack.user("dave") and "identities" in user
    (entry,) = gstack.upstream()
    assert (entry.method, entry.route) == ("GET", "/api/v2/users/{id}")


def test_patch_cannot_move_a_user_out_of_scope(gstack: Stack) -> None:
    token = token_for(gstack, "bob", permissions=ALL_BUT_SCOPE)
    response = call_with(gstack, token, "PATCH", f"/api/v2/users/{gstack.user('dave')}",
                         json={"app_metadata": {"department": "sales"}})
    assert response.status_code == 403
    assert response.json()["type"].endswith("/outside-scope")
    assert gstack.tenant.users[gstack.user("dave")]["app_metadata"]["department"] == "support"
    other = call_with(gstack, token, "PATCH", f"/api/v2/users/{gstack.user('dave')}",
                      json={"app_metadata": {"plan": "gold"}})
    assert other.status_code == 200, other.text


def test_emptying_app_metadata_cannot_move_a_user_out_of_scope(gstack: Stack) -> None:
    """Auth0 replaces app_metadata with {} wholesale: the department goes with it."""
    token = token_for(gstack, "bob", permissions=ALL_BUT_SCOPE)
    response = call_with(gstack, token, "PATCH", f"/api/v2/users/{gstack.user('dave')}",
                         json={"app_metadata": {}})
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/outside-scope")
    assert gstack.tenant.users[gstack.user("dave")]["app_metadata"]["department"] == "support"


def test_scoped_create_must_land_inside_scope(gstack: Stack) -> None:
    token = token_for(gstack, "bob", permissions=ALL_BUT_SCOPE)
    body = {"connection": "Username-Password-Authentication", "email": "new@example.com",
            "password": "Corr3ct-Horse-Battery"}
    refused = call_with(gstack, token, "POST", "/api/v2/users", json=body)
    assert refused.status_code == 403
    created = call_with(gstack, token, "POST", "/api/v2/users",
                        json={**body, "app_metadata": {"department": "support"}})
    assert created.status_code == 201, created.text
