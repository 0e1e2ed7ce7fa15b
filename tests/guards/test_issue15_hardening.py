"""Findings of the attack pass on issue 15's operations, each reproduced over real HTTP:
approvals by a user the request acts on through its body, member lists that would spend
the fleet's budget, the lock-out's own rate limit, id and audit target, and a session a
revoke-access body names that is not the path user's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.policies import policy_with, write_policy
from tests.support.stack import Stack, call_with, token_for

Events = Callable[[], list[dict[str, Any]]]


def _org(stack: Stack) -> str:
    return sorted(stack.tenant.organizations)[0]


def test_a_member_the_request_adds_may_not_approve_it(
        make_guard_stack: Callable[..., Stack], tmp_path: Path) -> None:
    policy = policy_with(tmp_path, """
[approvals]
operations = ["post_members"]
approver_permission = "approvals:decide"
approvers = 1
expires_in = 3600
""")
    stack = make_guard_stack(POLICY_FILE=str(policy))
    dave = stack.user("dave")
    held = stack.call("carol", "POST", f"/api/v2/organizations/{_org(stack)}/members",
                      json={"members": [dave]}, headers={"X-Approval-Reason": "new hire"})
    assert held.status_code == 202, held.text
    approval = held.json()["id"]
    dave_approves = token_for(stack, "dave", permissions=[
        "approvals:decide", "users:scope:all", "users:read"])
    refused = call_with(stack, dave_approves, "POST", f"/gateway/approvals/{approval}/approve",
                        json={"reason": "looks fine"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/approval-on-self")
    assert not [r for r in stack.upstream() if r.method == "POST" and "/members" in r.raw_path]


@pytest.mark.parametrize(("members", "message"), [
    (lambda s: [s.user("alice")] * 2, "more than once"),
    (lambda s: [f"auth0|{n:024d}" for n in range(51)], "At most 50"),
], ids=["duplicates", "too-many"])
def test_a_members_list_is_bounded(gstack: Stack, members: Callable[[Stack], list[str]],
                                   message: str) -> None:
    response = gstack.call("carol", "POST", f"/api/v2/organizations/{_org(gstack)}/members",
                           json={"members": members(gstack)})
    assert response.status_code == 400, response.text
    assert message in response.json()["errors"]["members"][0]
    assert gstack.upstream() == []


def test_the_lock_out_has_the_rate_limit_the_policy_gives_it(
        make_guard_stack: Callable[..., Stack], tmp_path: Path) -> None:
    policy = write_policy(tmp_path, {'"post_password-change" = "20/hour"':
                                     '"post_password-change" = "20/hour"\n"lock_out" = "1/hour"'})
    stack = make_guard_stack(POLICY_FILE=str(policy))
    alice = stack.user("alice")
    first = stack.call("bob", "POST", f"/gateway/users/{alice}/lock-out")
    assert first.status_code == 200, first.text
    assert first.headers["RateLimit-Limit"] == "1"
    second = stack.call("bob", "POST", f"/gateway/users/{alice}/lock-out")
    assert second.status_code == 429


@pytest.mark.parametrize("raw", ["%2E%2E", "a%0Ab", "a%20b", "a%23b"])
def test_the_lock_out_refuses_an_id_that_is_not_a_user_id(gstack: Stack, raw: str) -> None:
    response = gstack.call("carol", "POST", f"/gateway/users/{raw}/lock-out")
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == {"id": ["Not a valid user id."]}
    assert not [r for r in gstack.upstream() if r.method != "GET"]


def test_a_refused_lock_out_is_audited_with_its_target(gstack: Stack, events: Events) -> None:
    bob = gstack.user("bob")
    refused = gstack.call("alice", "POST", f"/gateway/users/{bob}/lock-out")
    assert refused.status_code == 403
    [event] = [e for e in events() if e["operation"] == "lock_out"]
    assert event["target"] == bob and event["status"] == 403


def test_revoke_access_refuses_a_session_of_another_user(gstack: Stack) -> None:
    carol_session = gstack.call("carol", "GET",
                                f"/api/v2/users/{gstack.user('carol')}/sessions"
                                ).json()["sessions"][0]["id"]
    alice = gstack.user("alice")
    response = gstack.call("bob", "POST", f"/api/v2/users/{alice}/revoke-access",
                           json={"session_id": carol_session})
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "The session does not exist."
    assert carol_session in {s["id"] for s in gstack.call(
        "carol", "GET", f"/api/v2/users/{gstack.user('carol')}/sessions").json()["sessions"]}
    own = gstack.call("carol", "GET", f"/api/v2/users/{alice}/sessions").json()["sessions"]
    mine = gstack.call("bob", "POST", f"/api/v2/users/{alice}/revoke-access",
                       json={"session_id": own[0]["id"]})
    assert mine.status_code == 202, mine.text


def test_a_members_roles_are_not_a_members_list_field(gstack: Stack) -> None:
    """`fields=roles` needs read:organization_member_roles, which the members tier does not
    hold (a 502 for an administrator, empty members for a scoped caller): refused, with the
    operation that reads a member's roles."""
    response = gstack.call("carol", "GET", f"/api/v2/organizations/{_org(gstack)}/members",
                           params={"fields": "user_id,roles"})
    assert response.status_code == 400, response.text
    assert "/members/{user_id}/roles" in response.json()["errors"]["fields"][0]
    assert gstack.upstream() == []


def test_an_invitation_is_audited_with_whom_it_invites(gstack: Stack, events: Events) -> None:
    body = {"inviter": {"name": "Carol"}, "invitee": {"email": "new.hire@example.com"},
            "client_id": next(iter(gstack.tenant.clients))}
    response = gstack.call("carol", "POST", f"/api/v2/organizations/{_org(gstack)}/invitations",
                           json=body)
    assert response.status_code in (200, 201), response.text
    [event] = [e for e in events() if e["operation"] == "post_invitations"]
    assert event["values"]["invitee"] == {"email": "new.hire@example.com"}
    assert event["resource"] == {"id": _org(gstack)}
