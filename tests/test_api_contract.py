"""The successes and documented errors that generated input rarely reaches, sent once
each and held to the same checks as the fuzzing (tests/test_api_fuzz.py,
tests/support/contract.py).

Random bodies rarely satisfy every permission and rule at once, so the fuzzer sees few
successes of the writes: each operation's success is sent here as the panel would send
it, and its 2xx body must match Auth0's schema. Each runs against a fresh tenant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from schemathesis.checks import ignored_auth

from tests.support.contract import CHECKS, DOCUMENT, ROLES, load_contract
from tests.support.policies import policy_with
from tests.support.servers import LiveServer

schema = load_contract()

# label: (role, method, path template, expected status, case arguments for the tenant)
Arguments = Callable[[Any], dict[str, Any]]


def _user(alias: str) -> Arguments:
    return lambda tenant: {"path_parameters": {"id": tenant.user_id(alias)}}


def _role_change(tenant: Any) -> dict[str, Any]:
    reader = next(rid for rid, role in tenant.roles.items() if role.name == "Support Reader")
    return {"path_parameters": {"id": tenant.user_id("dave")}, "body": {"roles": [reader]}}


def _someone(tenant: Any) -> dict[str, Any]:
    # A generated user (no alias), in the admin's scope (users:scope:all).
    plain = sorted(set(tenant.users) - set(tenant.aliases.values()))
    return {"path_parameters": {"id": plain[0]}}


def _org(name: str) -> Callable[[Any], str]:
    return lambda tenant: next(o.id for o in tenant.organizations.values() if o.name == name)


def _role(tenant: Any, name: str) -> str:
    return next(rid for rid, role in tenant.roles.items() if role.name == name)


def _owner(alias: str, what: str = "user_id") -> Arguments:
    return lambda tenant: {"path_parameters": {what: tenant.user_id(alias)}}


def _session(tenant: Any) -> dict[str, Any]:
    return {"path_parameters": {"id": tenant.accounts.sessions_of(tenant.user_id("alice"))[0][
        "id"]}}


def _refresh_token(tenant: Any) -> dict[str, Any]:
    return {"path_parameters": {"id": tenant.accounts.refresh_tokens_of(
        tenant.user_id("alice"))[0]["id"]}}


def _permission(tenant: Any) -> dict[str, Any]:
    # The shipped policy's assignable_permissions (User Admin), which carol holds herself.
    return {"permissions": [{"resource_server_identifier": tenant.gateway_audience,
                             "permission_name": "users:read"}]}


def _method(tenant: Any) -> dict[str, Any]:
    bob = tenant.user_id("bob")
    return {"path_parameters": {"id": bob, "authentication_method_id":
                                tenant.accounts.auth_methods[bob][0]["id"]}}


def _linked(tenant: Any) -> dict[str, Any]:
    bob = tenant.user_id("bob")
    identity = tenant.users[bob]["identities"][1]
    return {"path_parameters": {"id": bob, "provider": identity["provider"],
                                "user_id": identity["user_id"]}}


def _in_org(org: str, **more: Callable[[Any], Any]) -> Arguments:
    def arguments(tenant: Any) -> dict[str, Any]:
        found: dict[str, Any] = {"path_parameters": {"id": _org(org)(tenant)}}
        for key, value in more.items():
            if key == "body":
                found["body"] = value(tenant)
            else:
                found["path_parameters"][key] = value(tenant)
        return found
    return arguments


def _invitation(tenant: Any) -> dict[str, Any]:
    org = _org("acme")(tenant)
    return {"path_parameters": {"id": org,
                                "invitation_id": next(iter(tenant.accounts.invitations[org]))}}


SUCCESSES: dict[str, tuple[str, str, str, int, Arguments]] = {
    "search": ("reader", "GET", "/api/v2/users", 200, lambda t: {"query": {
        "q": "app_metadata.department:support", "per_page": 5, "include_totals": "true"}}),
    "list": ("reader", "GET", "/api/v2/users", 200, lambda t: {"query": {"per_page": 3}}),
    "read": ("reader", "GET", "/api/v2/users/{id}", 200, _user("dave")),
    "by-email": ("reader", "GET", "/api/v2/users-by-email", 200,
                 lambda t: {"query": {"email": "dave@example.com"}}),
    "roles-of": ("reader", "GET", "/api/v2/users/{id}/roles", 200, _user("alice")),
    "permissions": ("reader", "GET", "/api/v2/users/{id}/permissions", 200, _user("alice")),
    "logs": ("reader", "GET", "/api/v2/users/{id}/logs", 200, _user("dave")),
    "blocks": ("reader", "GET", "/api/v2/user-blocks/{id}", 200, _user("dave")),
    "roles": ("reader", "GET", "/api/v2/roles", 200, lambda t: {}),
    "me": ("reader", "GET", "/gateway/me", 200, lambda t: {}),
    "health": ("reader", "GET", "/healthz", 200, lambda t: {}),
    "rename": ("editor", "PATCH", "/api/v2/users/{id}", 200,
               lambda t: {**_user("dave")(t), "body": {"name": "Dave Fuzz"}}),
    "unblock": ("editor", "DELETE", "/api/v2/user-blocks/{id}", 204, _user("dave")),
    "password-ticket": ("editor", "POST", "/api/v2/tickets/password-change", 201,
                        lambda t: {"body": {"user_id": t.user_id("dave")}}),
    "verification-email": ("editor", "POST", "/api/v2/jobs/verification-email", 201,
                           lambda t: {"body": {"user_id": t.user_id("dave")}}),
    "create": ("admin", "POST", "/api/v2/users", 201, lambda t: {"body": {
        "connection": "Username-Password-Authentication", "email": "fuzz-new@example.com",
        "password": "correct horse battery staple 42!", "name": "Fuzz New",
        "app_metadata": {"department": "support"}}}),
    "assign-role": ("admin", "POST", "/api/v2/users/{id}/roles", 204, _role_change),
    "remove-role": ("admin", "DELETE", "/api/v2/users/{id}/roles", 204, _role_change),
    "reset-mfa": ("admin", "DELETE", "/api/v2/users/{id}/authenticators", 204, _user("dave")),
    "delete": ("admin", "DELETE", "/api/v2/users/{id}", 204, _someone),
    "audit": ("admin", "GET", "/gateway/audit", 200, lambda t: {"query": {"limit": 5}}),
    "ready": ("reader", "GET", "/readyz", 200, lambda t: {}),
    "lock-out": ("editor", "POST", "/gateway/users/{id}/lock-out", 200, _user("dave")),
    # Direct permissions.
    "assign-permission": ("admin", "POST", "/api/v2/users/{id}/permissions", 201,
                          lambda t: {**_user("dave")(t), "body": _permission(t)}),
    "remove-permission": ("admin", "DELETE", "/api/v2/users/{id}/permissions", 204,
                          lambda t: {**_user("alice")(t), "body": _permission(t)}),
    # Sessions and refresh tokens (the demo gateway and tenant are on enterprise).
    "sessions": ("reader", "GET", "/api/v2/users/{user_id}/sessions", 200, _owner("alice")),
    "revoke-sessions": ("editor", "DELETE", "/api/v2/users/{user_id}/sessions", 202,
                        _owner("alice")),
    "session": ("reader", "GET", "/api/v2/sessions/{id}", 200, _session),
    "revoke-session": ("editor", "DELETE", "/api/v2/sessions/{id}", 202, _session),
    "refresh-tokens": ("reader", "GET", "/api/v2/users/{user_id}/refresh-tokens", 200,
                       _owner("alice")),
    "revoke-refresh-tokens": ("editor", "DELETE", "/api/v2/users/{user_id}/refresh-tokens",
                              202, _owner("alice")),
    "refresh-token": ("reader", "GET", "/api/v2/refresh-tokens/{id}", 200, _refresh_token),
    "revoke-refresh-token": ("editor", "DELETE", "/api/v2/refresh-tokens/{id}", 202,
                             _refresh_token),
    # `{}` (revoke everything) is refused by the gateway's "a body names a field" rule.
    "revoke-access": ("editor", "POST", "/api/v2/users/{id}/revoke-access", 202,
                      lambda t: {**_user("alice")(t),
                                 "body": {"preserve_refresh_tokens": False}}),
    # MFA detail (bob has a second factor; carol, the admin, acts on him).
    "enrollments": ("reader", "GET", "/api/v2/users/{id}/enrollments", 200, _user("bob")),
    "methods": ("reader", "GET", "/api/v2/users/{id}/authentication-methods", 200,
                _user("bob")),
    "method": ("reader", "GET",
               "/api/v2/users/{id}/authentication-methods/{authentication_method_id}", 200,
               _method),
    "delete-method": ("admin", "DELETE",
                      "/api/v2/users/{id}/authentication-methods/{authentication_method_id}",
                      204, _method),
    "delete-methods": ("admin", "DELETE", "/api/v2/users/{id}/authentication-methods", 204,
                       _user("bob")),
    "forget-browsers": ("editor", "POST",
                        "/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser",
                        204, _user("dave")),
    "recovery-code": ("admin", "POST", "/api/v2/users/{id}/recovery-code-regeneration", 200,
                      _user("bob")),
    "unlink": ("admin", "DELETE", "/api/v2/users/{id}/identities/{provider}/{user_id}", 200,
               _linked),
    # Users by role, rebuilt from the reader's in-scope users.
    "role-users": ("reader", "GET", "/api/v2/roles/{id}/users", 200,
                   lambda t: {"path_parameters": {"id": _role(t, "Support Reader")}}),
    # Organizations (carol holds orgs:scope:all).
    "user-orgs": ("reader", "GET", "/api/v2/users/{id}/organizations", 200, _user("bob")),
    "org-members": ("admin", "GET", "/api/v2/organizations/{id}/members", 200,
                    _in_org("acme")),
    "add-members": ("admin", "POST", "/api/v2/organizations/{id}/members", 204,
                    _in_org("globex", body=lambda t: {"members": [t.user_id("alice")]})),
    "remove-members": ("admin", "DELETE", "/api/v2/organizations/{id}/members", 204,
                       _in_org("acme", body=lambda t: {"members": [t.user_id("bob")]})),
    "member-roles": ("admin", "GET", "/api/v2/organizations/{id}/members/{user_id}/roles",
                     200, _in_org("acme", user_id=lambda t: t.user_id("erin"))),
    "assign-member-roles": ("admin", "POST",
                            "/api/v2/organizations/{id}/members/{user_id}/roles", 204,
                            _in_org("acme", user_id=lambda t: t.user_id("bob"),
                                    body=lambda t: {"roles": [_role(t, "Support Reader")]})),
    "remove-member-roles": ("admin", "DELETE",
                            "/api/v2/organizations/{id}/members/{user_id}/roles", 204,
                            _in_org("acme", user_id=lambda t: t.user_id("erin"),
                                    body=lambda t: {"roles": [_role(t, "Support Reader")]})),
    "invitations": ("admin", "GET", "/api/v2/organizations/{id}/invitations", 200,
                    _in_org("acme")),
    "invite": ("admin", "POST", "/api/v2/organizations/{id}/invitations", 200, _in_org(
        "acme", body=lambda t: {"inviter": {"name": "Carol Chen"},
                                "invitee": {"email": "sam@example.com"},
                                "client_id": t.panel_client_id,
                                "roles": [_role(t, "Support Reader")]})),
    "revoke-invitation": ("admin", "DELETE",
                          "/api/v2/organizations/{id}/invitations/{invitation_id}", 204,
                          _invitation),
}


# The four-eyes endpoints, walked in order by test_approval_requests_answer_as_documented.
APPROVALS = {("GET", "/gateway/approvals"), ("GET", "/gateway/approvals/{id}"),
             ("POST", "/gateway/approvals/{id}/withdraw"),
             ("POST", "/gateway/approvals/{id}/approve"),
             ("POST", "/gateway/approvals/{id}/reject")}


def test_every_documented_operation_has_a_success_case() -> None:
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items()
                  for method in item}
    covered = {(method, path) for _, method, path, _, _ in SUCCESSES.values()} | APPROVALS
    assert documented == covered, "a documented operation needs its case in SUCCESSES"


def test_approval_requests_answer_as_documented(
        fresh_emulator: Any, make_gateway: Callable[..., LiveServer],
        tmp_path: Path) -> None:
    """A held write (202), the queue, one request withdrawn, one approved (it executes),
    one rejected: each answer held to the document."""
    policy = policy_with(tmp_path, '[approvals]\npermissions = ["users:block"]\n')
    gateway = make_gateway(fresh_emulator, POLICY_FILE=str(policy))
    tenant = fresh_emulator.tenant
    bearer = {role: {"Authorization": "Bearer " + tenant.issue_user_token(alias,
                                                                          expires_in=600)}
              for role, alias in ROLES.items()}

    def call(role: str, method: str, path: str, status: int, **arguments: Any) -> Any:
        case = schema[path][method].Case(**arguments)
        response = case.call_and_validate(base_url=gateway.url, headers=bearer[role],
                                          checks=CHECKS, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def held() -> str:
        approval = call("editor", "DELETE", "/api/v2/user-blocks/{id}", 202,
                        path_parameters={"id": tenant.user_id("dave")},
                        headers={"X-Approval-Reason": "contract test"})
        assert approval["state"] == "pending"
        return str(approval["id"])

    first = held()
    listed = call("editor", "GET", "/gateway/approvals", 200, query={"state": "pending"})
    assert [a["id"] for a in listed["approvals"]] == [first]
    call("editor", "GET", "/gateway/approvals/{id}", 200, path_parameters={"id": first})
    withdrawn = call("editor", "POST", "/gateway/approvals/{id}/withdraw", 200,
                     path_parameters={"id": first})
    assert withdrawn["state"] == "withdrawn"
    executed = call("admin", "POST", "/gateway/approvals/{id}/approve", 200,
                    path_parameters={"id": held()}, body={"reason": "checked"})
    assert executed["state"] == "executed"
    rejected = call("admin", "POST", "/gateway/approvals/{id}/reject", 200,
                    path_parameters={"id": held()})
    assert rejected["state"] == "rejected"


# Known differences between the document and what the emulator answers.
DIFFERENCES = {
    "invite": "the emulator answers 201 (go-auth0's recordings of Auth0); Auth0's spec, and "
              "so the gateway's document, lists 200 only",
}


@pytest.mark.parametrize("label", [
    pytest.param(label, marks=pytest.mark.xfail(reason=DIFFERENCES[label], strict=True))
    if label in DIFFERENCES else label for label in sorted(SUCCESSES)])
def test_successes_answer_as_documented(label: str, fresh_emulator: Any,
                                        make_gateway: Callable[..., LiveServer]) -> None:
    role, method, path, status, arguments = SUCCESSES[label]
    gateway = make_gateway(fresh_emulator)
    token = fresh_emulator.tenant.issue_user_token(ROLES[role], expires_in=600)
    case = schema[path][method].Case(**arguments(fresh_emulator.tenant))
    response = case.call_and_validate(base_url=gateway.url,
                                      headers={"Authorization": f"Bearer {token}"},
                                      checks=CHECKS, timeout=30)
    assert response.status_code == status, response.text


# Documented errors that generated input rarely or never provokes: the document offers
# only JSON bodies (so no 415), no body near MAX_BODY_BYTES (so no 413), and random emails
# never collide (so no 409). Each is sent once, as the admin, and held to the same checks.
FORM = "application/x-www-form-urlencoded"
OVERSIZED = b'{"name": "' + b"x" * 70_000 + b'"}'  # MAX_BODY_BYTES is 65536 by default
EXISTING = (b'{"connection": "Username-Password-Authentication", "email": "dave@example.com", '
            b'"password": "correct horse battery staple 42!"}')
REFUSALS = [
    *(pytest.param(method.upper(), path, 415, b"name=x", FORM, id=f"{method.upper()} {path} form")
      for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
      if "requestBody" in operation),
    *(pytest.param(method.upper(), path, 413, OVERSIZED, "application/json",
                   id=f"{method.upper()} {path} oversized")
      for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
      if "requestBody" in operation),
    pytest.param("POST", "/api/v2/users", 409, EXISTING, "application/json",
                 id="POST /api/v2/users existing email"),
]


@pytest.mark.parametrize(("method", "path", "status", "body", "content_type"), REFUSALS)
def test_refusals_answer_as_documented(method: str, path: str, status: int, body: bytes,
                                       content_type: str, fresh_emulator: Any,
                                       make_gateway: Callable[..., LiveServer]) -> None:
    gateway = make_gateway(fresh_emulator)
    tenant = fresh_emulator.tenant
    token = tenant.issue_user_token("carol", expires_in=600)
    # Every path parameter gets a user id: the body is refused before any is looked up.
    case = schema[path][method].Case(path_parameters={
        name: tenant.user_id("dave") for name in re.findall(r"{(\w+)}", path)})
    response = requests.request(method, gateway.url + case.formatted_path, data=body,
                                headers={"Authorization": f"Bearer {token}",
                                         "Content-Type": content_type}, timeout=30)
    assert response.status_code == status, response.text
    case.validate_response(response, checks=[check for check in CHECKS
                                             if check is not ignored_auth])
