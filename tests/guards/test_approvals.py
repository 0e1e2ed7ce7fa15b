"""Four-eyes approvals over real HTTP: a write the policy names is held (202), refused to its
requester, executed exactly once by another approver after every check ran again (also
when approvals race across two gunicorn servers), and every step is in the audit trail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import redis
import requests

from app.guards import approvals as approvals_module
from tests.support.environments import gateway_env
from tests.support.policies import policy_with
from tests.support.stack import Stack, call_with, token_for

APPROVALS = """
[approvals]
operations = ["delete_users_by_id"]
permissions = ["users:update_app_metadata", "users:block"]
approver_permission = "approvals:decide"
approvers = 1
expires_in = 3600
"""
APPROVER_PERMISSIONS = ["approvals:decide", "users:scope:all", "users:read"]

Events = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    return policy_with(tmp_path, APPROVALS)


@pytest.fixture
def astack(make_guard_stack: Callable[..., Stack], policy_file: Path) -> Stack:
    return make_guard_stack(POLICY_FILE=str(policy_file))


def _approver(stack: Stack) -> str:
    """bob, given the approver permissions in his token (Support Editor alone cannot)."""
    return token_for(stack, "bob", permissions=APPROVER_PERMISSIONS)


def _upstream(stack: Stack, method: str, user: str) -> list[Any]:
    return [r for r in stack.upstream() if r.method == method and user in unquote(r.raw_path)]


def _decide(stack: Stack, token: str, approval_id: str, verdict: str = "approve",
            reason: str = "checked with the team") -> requests.Response:
    return call_with(stack, token, "POST", f"/gateway/approvals/{approval_id}/{verdict}",
                     json={"reason": reason})


def _held(stack: Stack, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = stack.call("carol", method, path,
                          headers={"X-Approval-Reason": "ticket HR-42: left the company"},
                          **kwargs)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["state"] == "pending" and body["id"].startswith("apr_")
    return body


def _type(response: requests.Response) -> str:
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def test_held_refused_to_its_requester_then_executed_once(astack: Stack,
                                                          events: Events) -> None:
    dave, carol, bob = astack.user("dave"), astack.user("carol"), astack.user("bob")
    held = _held(astack, "DELETE", f"/api/v2/users/{dave}")
    assert held["operation"]["id"] == "delete_users_by_id" and held["target"] == dave
    assert held["requester"]["sub"] == carol
    assert held["reason"] == "ticket HR-42: left the company"
    assert dave in astack.tenant.users and not _upstream(astack, "DELETE", dave)

    own = _decide(astack, astack.token("carol"), held["id"])
    assert own.status_code == 403 and _type(own) == "approval-by-requester"

    seen = astack.call("carol", "GET", f"/gateway/approvals/{held['id']}")
    assert seen.status_code == 200 and seen.json()["state"] == "pending"

    approved = _decide(astack, _approver(astack), held["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "executed"
    assert approved.json()["outcome"] == {"status": 204}
    assert dave not in astack.tenant.users
    assert len(_upstream(astack, "DELETE", dave)) == 1

    again = _decide(astack, token_for(astack, "erin", permissions=APPROVER_PERMISSIONS),
                    held["id"])
    assert again.status_code == 409 and _type(again) == "approval-decided"
    assert len(_upstream(astack, "DELETE", dave)) == 1

    trail = [e for e in events() if (e.get("approval") or {}).get("id") == held["id"]]
    assert [(e["operation"], e["outcome"], e["actor"]["sub"]) for e in trail] == [
        ("delete_users_by_id", "held", carol),
        ("gateway_approval", "denied", carol),  # her own approval
        ("gateway_approval", "allowed", bob),
        ("delete_users_by_id", "allowed", carol),  # executed as hers, approved by bob
        ("gateway_approval", "failed", astack.user("erin")),  # too late
    ]
    assert trail[3]["approval"]["approved_by"] == [bob] and trail[3]["status"] == 204
    assert trail[2]["approval"]["decision"] == "approve"


def test_rejection_ends_it(astack: Stack, events: Events) -> None:
    dave = astack.user("dave")
    held = _held(astack, "PATCH", f"/api/v2/users/{dave}", json={"blocked": True})
    rejected = _decide(astack, _approver(astack), held["id"], "reject", "not without HR")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert rejected.json()["decisions"][0]["reason"] == "not without HR"
    late = _decide(astack, token_for(astack, "erin", permissions=APPROVER_PERMISSIONS),
                   held["id"])
    assert late.status_code == 409 and late.json()["state"] == "rejected"
    assert not astack.tenant.users[dave].get("blocked")
    assert not _upstream(astack, "PATCH", dave)


def test_expired_requests_cannot_be_approved(astack: Stack,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    held = _held(astack, "DELETE", f"/api/v2/users/{astack.user('dave')}")

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + 3601

    monkeypatch.setattr(approvals_module, "time", Later)
    listed = astack.call("carol", "GET", "/gateway/approvals", params={"state": "expired"})
    assert [a["id"] for a in listed.json()["approvals"]] == [held["id"]]
    refused = _decide(astack, _approver(astack), held["id"])
    assert refused.status_code == 409 and _type(refused) == "approval-expired"
    assert astack.user("dave") in astack.tenant.users


def test_approval_re_checks_the_requesters_scope_against_the_current_target(
        astack: Stack) -> None:
    # bob (Support Editor: the support department only) asks to block dave...
    dave = astack.user("dave")
    response = astack.call("bob", "PATCH", f"/api/v2/users/{dave}", json={"blocked": True})
    assert response.status_code == 202, response.text
    approval_id = response.json()["id"]
    # ...dave moves to another department meanwhile...
    with astack.tenant.lock:
        astack.tenant.users[dave]["app_metadata"]["department"] = "sales"
    # ...so the approved request fails its re-check: bob may no longer touch dave.
    approver = token_for(astack, "carol", permissions=APPROVER_PERMISSIONS)
    refused = _decide(astack, approver, approval_id)
    assert refused.status_code == 404 and _type(refused) == "upstream-404", refused.text
    assert refused.json()["state"] == "failed"
    assert not _upstream(astack, "PATCH", dave)
    record = astack.call("bob", "GET", f"/gateway/approvals/{approval_id}").json()
    assert record["state"] == "failed" and record["outcome"]["status"] == 404


def test_an_approver_cannot_decide_about_their_own_account(astack: Stack) -> None:
    bob = astack.user("bob")
    held = _held(astack, "PATCH", f"/api/v2/users/{bob}", json={"blocked": True})
    refused = _decide(astack, _approver(astack), held["id"])
    assert refused.status_code == 403 and _type(refused) == "approval-on-self"


def test_who_sees_what(astack: Stack) -> None:
    dave = astack.user("dave")
    held = _held(astack, "DELETE", f"/api/v2/users/{dave}")
    # alice neither asked nor approves: she sees nothing and decides nothing.
    assert astack.call("alice", "GET", "/gateway/approvals").json()["approvals"] == []
    hidden = astack.call("alice", "GET", f"/gateway/approvals/{held['id']}")
    assert hidden.status_code == 404 and _type(hidden) == "approval-not-found"
    refused = astack.call("alice", "POST", f"/gateway/approvals/{held['id']}/approve")
    assert refused.status_code == 403 and _type(refused) == "insufficient-permission"
    # The approver's queue and the requester's own view.
    pending = call_with(astack, _approver(astack), "GET", "/gateway/approvals",
                        params={"state": "pending"}).json()["approvals"]
    assert [a["id"] for a in pending] == [held["id"]]
    mine = astack.call("carol", "GET", "/gateway/approvals", params={"mine": "true"})
    assert [a["id"] for a in mine.json()["approvals"]] == [held["id"]]
    assert call_with(astack, _approver(astack), "GET", "/gateway/approvals",
                     params={"state": "decided"}).json()["approvals"] == []


def test_records_are_encrypted_in_redis(astack: Stack, redis_url: str,
                                        redis_prefix: str) -> None:
    dave = astack.user("dave")
    _held(astack, "PATCH", f"/api/v2/users/{dave}",
          json={"app_metadata": {"secret_note": "quarterly-bonus-9917"}})
    client = redis.Redis.from_url(redis_url)
    try:
        dumped = b"".join(v for k in client.scan_iter(match=redis_prefix + "approval:*")
                          for v in client.hgetall(k).values())
    finally:
        client.close()
    assert dumped and b"quarterly-bonus-9917" not in dumped and dave.encode() not in dumped


def test_requests_outside_the_policy_are_not_held(astack: Stack) -> None:
    response = astack.call("carol", "PATCH", f"/api/v2/users/{astack.user('dave')}",
                           json={"name": "Dave Renamed"})
    assert response.status_code == 200, response.text


def test_concurrent_approvals_across_two_gunicorn_servers_execute_once(
        fresh_emulator: Any, redis_url: str, redis_prefix: str, policy_file: Path) -> None:
    from tests.support.processes import Gunicorn

    tenant = fresh_emulator.tenant
    dave = tenant.user_id("dave")
    env = gateway_env(fresh_emulator, redis_url, redis_prefix, POLICY_FILE=str(policy_file),
                      RATE_LIMIT_WRITES="1000/minute")
    with Gunicorn(env, workers=2, threads=8) as one, Gunicorn(env, workers=2,
                                                              threads=8) as two:
        held = requests.delete(f"{one.url}/api/v2/users/{dave}", timeout=30, headers={
            "Authorization": f"Bearer {tenant.issue_user_token('carol')}"})
        assert held.status_code == 202, held.text
        approval_id = held.json()["id"]
        tokens = [tenant.issue_user_token(alias, extra_claims={
            "permissions": APPROVER_PERMISSIONS}) for alias in ("bob", "erin")]
        statuses: list[int] = []
        start = threading.Barrier(16)

        def approve(n: int) -> None:
            server = (one, two)[n % 2]
            start.wait()
            response = requests.post(
                f"{server.url}/gateway/approvals/{approval_id}/approve", timeout=30,
                headers={"Authorization": f"Bearer {tokens[n // 2 % 2]}",
                         "Connection": "close"})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=approve, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = requests.get(f"{two.url}/gateway/approvals/{approval_id}", timeout=30,
                             headers={"Authorization": f"Bearer {tokens[0]}"}).json()
    assert sorted(statuses) == [200] + [409] * 15, statuses
    assert final["state"] == "executed" and final["outcome"] == {"status": 204}
    deletes = [r for r in tenant.request_log
               if r.method == "DELETE" and dave in unquote(r.raw_path)]
    assert len(deletes) == 1 and dave not in tenant.users


def test_approving_a_step_up_operation_takes_a_fresh_mfa_login(
        make_guard_stack: Callable[..., Stack], tmp_path: Path) -> None:
    mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
    ns = "https://admin-gateway.example.com/"
    stack = make_guard_stack(POLICY_FILE=str(policy_with(tmp_path, APPROVALS + f"""
[step_up]
operations = ["delete_users_by_id"]
acr_values = ["{mfa}"]
""")))
    dave = stack.user("dave")
    fresh = {ns + "auth_time": int(time.time()), ns + "acr": mfa}
    held = call_with(stack, token_for(stack, "carol", **fresh), "DELETE", f"/api/v2/users/{dave}")
    assert held.status_code == 202, held.text
    approval_id = held.json()["id"]
    challenged = _decide(stack, _approver(stack), approval_id)
    assert challenged.status_code == 401, challenged.text
    assert "insufficient_user_authentication" in challenged.headers["WWW-Authenticate"]
    assert dave in stack.tenant.users
    # Rejecting changes nothing and needs no step-up; approving with MFA executes.
    approver = token_for(stack, "bob", permissions=APPROVER_PERMISSIONS, **fresh)
    approved = _decide(stack, approver, approval_id)
    assert approved.status_code == 200 and approved.json()["state"] == "executed"
    assert dave not in stack.tenant.users


def test_without_redis_nothing_is_held_and_nothing_is_sent(
        make_guard_stack: Callable[..., Stack], policy_file: Path, private_redis: Any) -> None:
    stack = make_guard_stack(POLICY_FILE=str(policy_file), REDIS_URL=private_redis.url)
    dave = stack.user("dave")
    private_redis.stop()
    refused = stack.call("carol", "DELETE", f"/api/v2/users/{dave}")
    assert refused.status_code == 503 and _type(refused) == "approvals-unavailable"
    assert dave in stack.tenant.users and not _upstream(stack, "DELETE", dave)


def test_the_requester_may_withdraw_a_pending_request_and_nobody_else(astack: Stack,
                                                                     events: Events) -> None:
    dave = astack.user("dave")
    held = _held(astack, "DELETE", f"/api/v2/users/{dave}")
    path = f"/gateway/approvals/{held['id']}/withdraw"
    other = call_with(astack, _approver(astack), "POST", path)
    assert other.status_code == 404 and _type(other) == "approval-not-found"
    withdrawn = astack.call("carol", "POST", path)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    late = _decide(astack, _approver(astack), held["id"])
    assert late.status_code == 409 and late.json()["state"] == "withdrawn"
    assert astack.call("carol", "POST", path).status_code == 409
    assert dave in astack.tenant.users and not _upstream(astack, "DELETE", dave)
    decisions = [e["approval"]["decision"] for e in events()
                 if e["operation"] == "gateway_approval" and e["outcome"] == "allowed"]
    assert decisions == ["withdraw"]


def test_two_approvers_are_two_different_people(make_guard_stack: Callable[..., Stack],
                                                tmp_path: Path) -> None:
    stack = make_guard_stack(POLICY_FILE=str(policy_with(
        tmp_path, APPROVALS.replace("approvers = 1", "approvers = 2"))))
    dave = stack.user("dave")
    held = stack.call("carol", "DELETE", f"/api/v2/users/{dave}")
    assert held.status_code == 202 and held.json()["approvals_required"] == 2
    first = _decide(stack, _approver(stack), held.json()["id"])
    assert first.status_code == 200 and first.json()["state"] == "pending"
    twice = _decide(stack, _approver(stack), held.json()["id"])
    assert twice.status_code == 409 and _type(twice) == "approval-decided"
    assert dave in stack.tenant.users
    second = _decide(stack, token_for(stack, "erin", permissions=APPROVER_PERMISSIONS),
                     held.json()["id"])
    assert second.status_code == 200 and second.json()["state"] == "executed"
    assert [d["decision"] for d in second.json()["decisions"]] == ["approve", "approve"]
    assert dave not in stack.tenant.users and len(_upstream(stack, "DELETE", dave)) == 1


@pytest.mark.parametrize("query", [{"state": "approved"}, {"limit": "0"}, {"before": "nan"},
                                   {"mine": "yes"}, {"sort": "created"}])
def test_bad_list_queries_are_400(astack: Stack, query: dict[str, str]) -> None:
    response = astack.call("carol", "GET", "/gateway/approvals", params=query)
    assert response.status_code == 400 and _type(response) == "invalid-request"


def test_a_request_survives_its_gateway(astack: Stack, fresh_emulator: Any,
                                        make_gateway: Callable[..., Any],
                                        policy_file: Path) -> None:
    # Held by one instance, which then stops; approved through a new one on the same Redis.
    dave = astack.user("dave")
    held = _held(astack, "DELETE", f"/api/v2/users/{dave}")
    astack.gateway.stop()
    replacement = make_gateway(fresh_emulator, POLICY_FILE=str(policy_file))
    approved = requests.post(f"{replacement.url}/gateway/approvals/{held['id']}/approve",
                             headers={"Authorization": f"Bearer {_approver(astack)}"},
                             timeout=30)
    assert approved.status_code == 200 and approved.json()["state"] == "executed"
    assert dave not in astack.tenant.users
