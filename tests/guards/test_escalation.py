"""Escalation protection over real HTTP: assignable roles, protected users, self-actions.
Every refusal is a 403 problem+json and an audit event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.catalog import PERMISSIONS
from tests.support.stack import Stack, call_with, role_id, token_for

Events = Callable[[], list[dict[str, Any]]]


def _admin_target(stack: Stack) -> str:
    """A seeded user other than carol who holds the protected "User Admin" role."""
    admin = role_id(stack, "User Admin")
    return next(uid for uid, roles in stack.tenant.user_roles.items()
                if admin in roles and uid != stack.user("carol"))


def _assert_refused(response: Any, slug: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + slug) and body["detail"] and body["request_id"]


def _denied_event(events: Events, request_id: str) -> dict[str, Any]:
    found = [e for e in events() if e["request_id"] == request_id]
    assert len(found) == 1, found
    assert found[0]["outcome"] == "denied" and found[0]["status"] == 403
    return found[0]


def test_assigning_a_role_you_may_not_assign_is_refused(gstack: Stack, events: Events) -> None:
    dave = gstack.user("dave")
    response = gstack.call("carol", "POST", f"/api/v2/users/{dave}/roles",
                           json={"roles": [role_id(gstack, "User Admin")]})
    _assert_refused(response, "role-not-assignable")
    assert "User Admin" in response.json()["detail"]
    assert not gstack.tenant.user_roles.get(dave)
    event = _denied_event(events, response.headers["X-Request-ID"])
    assert event["reason"] == "role-not-assignable" and event["target"] == dave
    assert event["values"]["roles"] == [role_id(gstack, "User Admin")]


def test_unknown_role_id_is_refused(gstack: Stack) -> None:
    response = gstack.call("carol", "POST", f"/api/v2/users/{gstack.user('dave')}/roles",
                           json={"roles": ["rol_doesnotexist0000"]})
    _assert_refused(response, "role-not-assignable")


def test_assigning_and_removing_an_assignable_role_succeeds(gstack: Stack,
                                                           events: Events) -> None:
    dave, reader = gstack.user("dave"), role_id(gstack, "Support Reader")
    added = gstack.call("carol", "POST", f"/api/v2/users/{dave}/roles", json={"roles": [reader]})
    assert added.status_code < 300, added.text
    assert gstack.tenant.user_roles[dave] == [reader]
    removed = gstack.call("carol", "DELETE", f"/api/v2/users/{dave}/roles",
                          json={"roles": [reader]})
    assert removed.status_code < 300, removed.text
    assert not gstack.tenant.user_roles.get(dave)
    outcomes = [(e["operation"], e["outcome"]) for e in events()]
    assert outcomes == [("post_user_roles", "allowed"), ("delete_user_roles", "allowed")]


def test_removing_a_role_you_may_not_assign_is_refused(gstack: Stack) -> None:
    # Even with the permission to touch protected users, User Admin is not assignable.
    target = _admin_target(gstack)
    token = token_for(gstack, "carol", permissions=sorted(PERMISSIONS))
    response = call_with(gstack, token, "DELETE", f"/api/v2/users/{target}/roles",
                         json={"roles": [role_id(gstack, "User Admin")]})
    _assert_refused(response, "role-not-assignable")


# (id, method, path suffix, body, the refusal): a grant to oneself is a self-grant,
# refused whatever [protection] self_actions says (test_permission_escalation.py).
SELF_ACTIONS = [
    ("delete", "DELETE", "", None, "self-action"),
    ("block", "PATCH", "", {"blocked": True}, "self-action"),
    ("remove-own-roles", "DELETE", "/roles", {"roles": ["ROLE"]}, "self-action"),
    ("add-own-roles", "POST", "/roles", {"roles": ["ROLE"]}, "self-grant"),
    ("reset-own-mfa", "DELETE", "/authenticators", None, "self-action"),
]


@pytest.mark.parametrize(("method", "suffix", "body", "refusal"),
                         [(m, s, b, r) for _, m, s, b, r in SELF_ACTIONS],
                         ids=[i for i, *_ in SELF_ACTIONS])
def test_acting_on_yourself_is_refused(gstack: Stack, events: Events, method: str, suffix: str,
                                       body: dict[str, Any] | None, refusal: str) -> None:
    carol = gstack.user("carol")
    if body and body.get("roles") == ["ROLE"]:
        body = {"roles": [role_id(gstack, "Support Reader")]}
    # With every permission there is, so that only the self-action rule can refuse.
    token = token_for(gstack, "carol", permissions=sorted(PERMISSIONS))
    response = call_with(gstack, token, method, f"/api/v2/users/{carol}{suffix}", json=body)
    _assert_refused(response, refusal)
    assert not [e for e in gstack.upstream() if e.method != "GET"]
    event = _denied_event(events, response.headers["X-Request-ID"])
    assert event["actor"]["sub"] == event["target"] == carol


def test_self_actions_allowed_when_the_policy_says_so(make_guard_stack: Callable[..., Stack],
                                                      tmp_path: Any) -> None:
    from tests.support.policies import write_policy

    policy = write_policy(tmp_path, {'self_actions = "deny"': 'self_actions = "allow"'})
    stack = make_guard_stack(POLICY_FILE=str(policy))
    token = token_for(stack, "carol", permissions=sorted(PERMISSIONS))
    response = call_with(stack, token, "DELETE",
                         f"/api/v2/users/{stack.user('carol')}/authenticators")
    assert response.status_code == 204, response.text


PROTECTED_WRITES = [
    ("patch", "PATCH", "", {"name": "Renamed Admin"}),
    ("block", "PATCH", "", {"blocked": True}),
    ("delete", "DELETE", "", None),
    ("clear-blocks", "DELETE", "/user-blocks", None),
    ("mfa-reset", "DELETE", "/authenticators", None),
    ("password-ticket", "POST", "/tickets", None),
]


def _protected_request(stack: Stack, kind: str, method: str, suffix: str,
                       body: dict[str, Any] | None, target: str) -> tuple[str, str, Any]:
    if suffix == "/user-blocks":
        return method, f"/api/v2/user-blocks/{target}", body
    if suffix == "/tickets":
        return method, "/api/v2/tickets/password-change", {"user_id": target}
    return method, f"/api/v2/users/{target}{suffix}", body


@pytest.mark.parametrize(("kind", "method", "suffix", "body"), PROTECTED_WRITES,
                         ids=[k for k, *_ in PROTECTED_WRITES])
def test_protected_users_need_the_stronger_permission(gstack: Stack, events: Events, kind: str,
                                                      method: str, suffix: str,
                                                      body: dict[str, Any] | None) -> None:
    target = _admin_target(gstack)
    method, path, json_body = _protected_request(gstack, kind, method, suffix, body, target)
    refused = gstack.call("carol", method, path, json=json_body)
    _assert_refused(refused, "protected-user")
    assert refused.json()["required_permission"] == "users:manage_protected"
    assert not [e for e in gstack.upstream() if e.method != "GET"]
    _denied_event(events, refused.headers["X-Request-ID"])
    strong = token_for(gstack, "carol", permissions=sorted(PERMISSIONS))
    allowed = call_with(gstack, strong, method, path, json=json_body)
    assert allowed.status_code < 300, allowed.text


def test_unprotected_users_are_changed_without_the_stronger_permission(gstack: Stack) -> None:
    response = gstack.call("carol", "PATCH", f"/api/v2/users/{gstack.user('bob')}",
                           json={"name": "Bob Renamed"})
    assert response.status_code == 200, response.text
