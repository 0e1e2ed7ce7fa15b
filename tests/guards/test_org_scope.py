"""Organization-scoped delegation fails closed (issue 15): an organization in the path must
be the one the caller logged in through (the token's `org_id`), unless the caller holds
`orgs:scope:all`. A missing, empty or malformed `org_id` never widens access.

The property is checked over real HTTP against an independent oracle (`_oracle`, a
restatement of the rule, not the gateway's code), with the emulator's own record of the
Management calls as the witness that a refusal reached nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog import CATALOG
from tests.support.stack import Stack, call_with, token_for

ORG_OPERATIONS = [op for op in CATALOG if op.org_param]
READ_INVITATIONS = next(op for op in ORG_OPERATIONS if op.operation_id == "get_invitations")
ORG_PERMISSIONS = ["orgs:read", "orgs:members:manage", "orgs:roles:assign",
                   "orgs:invitations:manage", "users:read"]
MISSING = object()


def _oracle(claim: Any, path_org: str, unrestricted: bool) -> str:
    """"allowed", or the problem type the rule calls for."""
    if unrestricted:
        return "allowed"
    if not isinstance(claim, str) or not claim:
        return "org-claim-missing"
    return "allowed" if claim == path_org else "org-not-yours"


def _token(stack: Stack, claim: Any, unrestricted: bool) -> str:
    claims: dict[str, Any] = {
        "permissions": ORG_PERMISSIONS + (["orgs:scope:all"] if unrestricted else []),
        stack.tenant.roles_claim: ["Org Admin"]}
    if claim is not MISSING:
        claims["org_id"] = claim
    return token_for(stack, "carol", **claims)


def _orgs(stack: Stack) -> list[str]:
    return sorted(stack.tenant.organizations)


CLAIMS = st.one_of(
    st.just(MISSING), st.none(), st.just(""), st.integers(), st.booleans(),
    st.lists(st.sampled_from(["org_a", "org_b"]), max_size=2),
    st.dictionaries(st.just("id"), st.text(max_size=3), max_size=1),
    st.sampled_from(["OWN", "OTHER", "OWN ", " OWN", "own-upper"]),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim=CLAIMS, path_org=st.sampled_from(["OWN", "OTHER"]), unrestricted=st.booleans())
def test_the_org_in_the_path_must_be_the_callers(gstack: Stack, claim: Any, path_org: str,
                                                  unrestricted: bool) -> None:
    own, other = _orgs(gstack)[:2]
    real = {"OWN": own, "OTHER": other, "OWN ": own + " ", " OWN": " " + own,
            "own-upper": own.upper()}
    claim_value = real.get(claim, claim) if isinstance(claim, str) else claim
    org = own if path_org == "OWN" else other
    before = len(gstack.upstream())
    response = call_with(gstack, _token(gstack, claim_value, unrestricted), "GET",
                         f"/api/v2/organizations/{org}/invitations")
    expected = _oracle(claim_value, org, unrestricted)
    if expected == "allowed":
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), list | dict)
    else:
        assert response.status_code == 403, response.text
        assert response.json()["type"].endswith("/" + expected)
        assert len(gstack.upstream()) == before  # nothing reached Auth0


def _body(stack: Stack, op: Any) -> dict[str, Any] | None:
    """A body the operation's validation accepts, so the org check is what decides."""
    if op.body_users:
        return {op.body_users: [stack.user("alice")]}
    if op.assigns_roles and op.target_user:
        return {"roles": [next(iter(stack.tenant.roles))]}
    if op.operation_id == READ_INVITATIONS.operation_id.replace("get_", "post_"):
        return {"inviter": {"name": "Carol"}, "invitee": {"email": "new@example.com"},
                "client_id": next(iter(stack.tenant.clients))}
    return None


def _path(op: Any, org: str, user: str) -> str:
    return op.gateway_path.format(id=org, user_id=user, invitation_id="uinv_0000000000000000")


@pytest.mark.parametrize("op", ORG_OPERATIONS, ids=lambda op: op.operation_id)
def test_every_org_operation_refuses_another_org(gstack: Stack, op: Any) -> None:
    own, other = _orgs(gstack)[:2]
    token = _token(gstack, own, unrestricted=False)
    response = call_with(gstack, token, op.method, _path(op, other, gstack.user("alice")),
                         json=_body(gstack, op))
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/org-not-yours")
    assert gstack.upstream() == []


@pytest.mark.parametrize("op", ORG_OPERATIONS, ids=lambda op: op.operation_id)
def test_every_org_operation_refuses_a_token_without_org_id(gstack: Stack, op: Any) -> None:
    own = _orgs(gstack)[0]
    response = call_with(gstack, _token(gstack, MISSING, unrestricted=False), op.method,
                         _path(op, own, gstack.user("alice")), json=_body(gstack, op))
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/org-claim-missing")
    assert gstack.upstream() == []


def test_an_org_admin_sees_only_its_own_org_among_a_users_organizations(gstack: Stack) -> None:
    """A user in two organizations, read by the administrator of one of them."""
    orgs = _orgs(gstack)
    erin = gstack.user("erin")
    for org in orgs[:2]:
        added = gstack.call("carol", "POST", f"/api/v2/organizations/{org}/members",
                            json={"members": [erin]})
        assert added.status_code == 204, added.text
    everyone = gstack.call("carol", "GET", f"/api/v2/users/{erin}/organizations").json()
    assert {o["id"] for o in everyone} >= set(orgs[:2])
    # An admin of orgs[0] who may see erin (unrestricted users, org-scoped organizations).
    token = str(gstack.tenant.issue_user_token("carol", include_roles=False, extra_claims={
        "org_id": orgs[0], "permissions": ["orgs:read", "users:read", "users:scope:all"]}))
    scoped = call_with(gstack, token, "GET", f"/api/v2/users/{erin}/organizations")
    assert scoped.status_code == 200, scoped.text
    assert [o["id"] for o in scoped.json()] == [orgs[0]]
