"""Step-up authentication (RFC 9470) over real HTTP: operations named in `[step_up]` need a
recent login with a second factor; anything else is a 401 challenge carrying `acr_values`
and `max_age`, answered before any call to Auth0 and recorded in the audit trail."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.auth.policy import PolicyError
from app.policy_format import parse
from tests.support.policies import policy_with
from tests.support.stack import Stack, call_with, token_for

MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
NS = "https://admin-gateway.example.com/"
STEP_UP = f"""
[step_up]
operations = ["delete_users_by_id"]
permissions = ["users:update_app_metadata"]
max_age = 300
acr_values = ["{MFA}"]
amr_values = ["mfa"]
"""

Events = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def sstack(make_guard_stack: Callable[..., Stack], tmp_path: Path) -> Stack:
    return make_guard_stack(POLICY_FILE=str(policy_with(tmp_path, STEP_UP)))


def _challenge(header: str) -> dict[str, str]:
    assert header.startswith("Bearer "), header
    return {name: quoted or bare for name, quoted, bare in
            re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', header)}


def _assert_challenged(response: Any) -> dict[str, str]:
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/insufficient-user-authentication")
    assert body["acr_values"] == MFA and body["max_age"] == 300
    params = _challenge(response.headers["WWW-Authenticate"])
    assert params["error"] == "insufficient_user_authentication"
    assert params["acr_values"] == MFA and params["max_age"] == "300"
    assert params["error_description"]
    return params


def _mfa(auth_time: int | None = None, *, namespaced: bool = True) -> dict[str, Any]:
    when = int(time.time()) if auth_time is None else auth_time
    if namespaced:
        return {NS + "auth_time": when, NS + "acr": MFA, NS + "amr": ["pwd", "mfa"]}
    return {"auth_time": when, "acr": MFA, "amr": ["pwd", "mfa"]}


@pytest.mark.parametrize("claims", [
    {},  # no auth_time at all (Auth0's default access token)
    {NS + "auth_time": 0, NS + "amr": ["pwd", "mfa"], NS + "acr": MFA},  # an old MFA login
    {NS + "amr": ["pwd", "mfa"], NS + "acr": MFA},  # MFA, but when?
    {NS + "auth_time": "recently", NS + "amr": ["mfa"]},  # a malformed auth_time
], ids=["no-auth-time", "old-mfa", "mfa-without-time", "malformed-time"])
def test_old_or_missing_login_gets_the_rfc9470_challenge(sstack: Stack, events: Events,
                                                         claims: dict[str, Any]) -> None:
    dave = sstack.user("dave")
    before = len(sstack.upstream())
    response = call_with(sstack, token_for(sstack, "carol", **claims), "DELETE",
                         f"/api/v2/users/{dave}")
    _assert_challenged(response)
    assert dave in sstack.tenant.users
    assert len(sstack.upstream()) == before  # nothing reached Auth0
    event = next(e for e in events() if e["request_id"] == response.headers["X-Request-ID"])
    assert event["outcome"] == "denied" and event["status"] == 401
    assert event["reason"] == "insufficient-user-authentication"


def test_fresh_single_factor_login_is_challenged(sstack: Stack) -> None:
    token = token_for(sstack, "carol", **{NS + "auth_time": int(time.time()),
                                          NS + "amr": ["pwd"]})
    _assert_challenged(call_with(sstack, token, "DELETE",
                                 f"/api/v2/users/{sstack.user('dave')}"))


def test_fresh_mfa_login_passes(sstack: Stack) -> None:
    dave = sstack.user("dave")
    response = call_with(sstack, token_for(sstack, "carol", **_mfa()), "DELETE",
                         f"/api/v2/users/{dave}")
    assert response.status_code == 204, response.text
    assert dave not in sstack.tenant.users


def test_standard_claims_win_and_amr_alone_suffices(sstack: Stack) -> None:
    # The standard claims (no namespace) are read first; acr is not needed when amr says mfa.
    claims = {"auth_time": int(time.time()), "amr": ["mfa"]}
    response = call_with(sstack, token_for(sstack, "carol", **claims), "PATCH",
                         f"/api/v2/users/{sstack.user('dave')}",
                         json={"app_metadata": {"plan": "gold"}})
    assert response.status_code == 200, response.text


def test_a_field_permission_triggers_step_up_and_others_do_not(sstack: Stack) -> None:
    dave = sstack.user("dave")
    plain = sstack.token("carol")
    _assert_challenged(call_with(sstack, plain, "PATCH", f"/api/v2/users/{dave}",
                                 json={"app_metadata": {"plan": "gold"}}))
    renamed = call_with(sstack, plain, "PATCH", f"/api/v2/users/{dave}",
                        json={"name": "Dave Renamed"})
    assert renamed.status_code == 200, renamed.text


def test_without_a_step_up_section_nothing_changes(gstack: Stack) -> None:
    response = gstack.call("carol", "DELETE", f"/api/v2/users/{gstack.user('dave')}")
    assert response.status_code == 204, response.text


def test_unauthenticated_and_unauthorized_come_first(sstack: Stack) -> None:
    # 401 invalid/missing token and 403 still answer before the step-up question.
    assert sstack.call(None, "DELETE", f"/api/v2/users/{sstack.user('dave')}"
                       ).json()["type"].endswith("/missing-token")
    refused = sstack.call("alice", "DELETE", f"/api/v2/users/{sstack.user('dave')}")
    assert refused.status_code == 403


@pytest.mark.parametrize(("section", "message"), [
    ('operations = ["delete_user"]', "unknown operation 'delete_user'"),
    ('permissions = ["users:nuke"]', "unknown permission 'users:nuke'"),
    ('operations = ["delete_users_by_id"]\nmax_age = 0', "max_age must be seconds"),
    ('operations = ["delete_users_by_id"]\nmfa = true', "unknown key(s) mfa"),
    ("max_age = 60", "would protect nothing"),
])
def test_policy_problems_name_file_and_line(tmp_path: Path, section: str, message: str) -> None:
    path = policy_with(tmp_path, "[step_up]\n" + section + "\n")
    with pytest.raises(PolicyError) as raised:
        parse(path.read_text(), path)
    problem = next(p for p in raised.value.problems if message in p)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", problem), problem
