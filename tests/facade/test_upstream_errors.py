"""Auth0's answers and failures, mapped: same status for 400/404/409, 429 stays 429 with
Retry-After, credentials trouble and 5xx are 502, timeouts 504; retries only where safe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.stack import Stack


def problem(response: object) -> dict[str, object]:
    assert response.headers["Content-Type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["request_id"]
    return body


def test_unknown_user_is_auth0s_404(stack: Stack) -> None:
    response = stack.call("alice", "GET", "/api/v2/users/auth0|doesnotexist000")
    assert response.status_code == 404
    body = problem(response)
    assert body["detail"] == "The user does not exist."
    assert body["auth0_error_code"] == "inexistent_user"


def test_duplicate_create_is_auth0s_409(stack: Stack) -> None:
    email = stack.tenant.users[stack.user("alice")]["email"]
    response = stack.call("carol", "POST", "/api/v2/users", json={
        "connection": "Username-Password-Authentication", "email": email,
        "password": "Corr3ct-Horse-Battery"})
    assert response.status_code == 409
    assert "already exists" in str(problem(response)["detail"])


def test_auth0_400_keeps_its_message(stack: Stack) -> None:
    # Valid for the gateway (it cannot know the tenant's connections); Auth0 refuses it.
    # (A q the gateway passes on is always one Auth0 reads as the gateway did.)
    response = stack.call("carol", "POST", "/api/v2/users", json={
        "connection": "No-Such-Connection", "email": "new@example.com",
        "password": "Corr3ct-Horse-Battery"})
    assert response.status_code == 400
    assert stack.upstream()[-1].route == "/api/v2/users"
    auth0_message = stack.upstream()[-1].response_json["message"]
    assert auth0_message and problem(response)["detail"] == auth0_message


def test_429_beyond_the_wait_budget_is_429_with_retry_after(stack: Stack) -> None:
    stack.tenant.faults.rate_limit(0.05, 1)  # one call, then a 20 s wait
    assert stack.call("alice", "GET", "/api/v2/roles").status_code == 200
    started = time.monotonic()
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "rate limit" in str(problem(response)["detail"])


def test_429_within_the_wait_budget_is_waited_out(stack: Stack) -> None:
    stack.tenant.faults.rate_limit(2, 1)
    statuses = [stack.call("alice", "GET", "/api/v2/roles").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert any(e.status == 429 for e in stack.upstream())


def test_429_storm_never_blocks_a_worker_beyond_the_budget(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack(UPSTREAM_429_WAIT_SECONDS="1")
    stack.tenant.faults.rate_limit(0.01, 1)
    stack.call("alice", "GET", "/api/v2/roles")

    def timed() -> tuple[int, float, str | None]:
        started = time.monotonic()
        response = stack.call("alice", "GET", "/api/v2/roles")
        return response.status_code, time.monotonic() - started, \
            response.headers.get("Retry-After")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: timed(), range(16)))
    assert all(status == 429 for status, _, _ in results)
    assert all(retry_after and int(retry_after) >= 1 for _, _, retry_after in results)
    # Budget 1 s plus request overhead; never Auth0's 100 s reset.
    assert max(elapsed for _, elapsed, _ in results) < 2.5


def test_auth0_500_is_502(stack: Stack) -> None:
    stack.tenant.faults.fail_next(1, 500)
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert response.status_code == 502
    assert len(stack.upstream()) == 1  # 500 is not retried


def test_503_on_a_read_is_retried_once(stack: Stack) -> None:
    stack.tenant.faults.fail_next(1, 503)
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert response.status_code == 200
    assert [e.status for e in stack.upstream()] == [503, 200]


def test_503_on_a_write_is_not_retried(stack: Stack) -> None:
    stack.tenant.faults.fail_next(1, 503)
    response = stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"name": "Not Twice"})
    assert response.status_code == 502
    assert [e.method for e in stack.upstream()] == ["PATCH"]


def test_read_timeout_is_504(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack(UPSTREAM_READ_TIMEOUT_SECONDS="0.3")
    stack.call("alice", "GET", "/api/v2/roles")  # mint first, outside the slow window
    stack.tenant.faults.latency(1.0)
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert response.status_code == 504
    assert problem(response)["detail"] == "Auth0 did not answer in time."


def test_write_timeout_is_504_and_sent_once(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack(UPSTREAM_READ_TIMEOUT_SECONDS="0.3")
    stack.call("bob", "GET", "/api/v2/roles")
    stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}", json={"name": "Warm Up"})
    stack.tenant.reset_counters()
    stack.tenant.faults.latency(1.0)
    response = stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"name": "Slow Write"})
    assert response.status_code == 504
    assert "may or may not" in str(problem(response)["detail"])
    time.sleep(1.0)
    assert stack.tenant.calls["PATCH /api/v2/users/{id}"] == 1


def test_dropped_connection_on_a_read_is_retried(stack: Stack) -> None:
    stack.call("alice", "GET", "/api/v2/roles")
    stack.tenant.faults.drop_next(1)
    assert stack.call("alice", "GET", "/api/v2/roles").status_code == 200


def test_dropped_connection_on_a_write_is_502_not_resent(stack: Stack) -> None:
    stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}", json={"name": "Warm Up"})
    stack.tenant.reset_counters()
    stack.tenant.faults.drop_next(1)
    response = stack.call("bob", "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"name": "Once Only"})
    assert response.status_code == 502
    assert stack.tenant.calls["PATCH /api/v2/users/{id}"] <= 1


def test_revoked_management_token_is_reminted_once(stack: Stack) -> None:
    assert stack.call("alice", "GET", "/api/v2/roles").status_code == 200
    stack.tenant.revoke_management_tokens("gateway-read")
    assert stack.call("alice", "GET", "/api/v2/roles").status_code == 200
    assert stack.tenant.tokens_issued["gateway-read"] == 2


def test_second_401_is_502_without_a_loop(stack: Stack) -> None:
    stack.call("alice", "GET", "/api/v2/roles")
    stack.tenant.faults.unauthorized_next(5)
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert response.status_code == 502
    assert "credentials" in str(problem(response)["detail"])
    assert stack.tenant.tokens_issued["gateway-read"] == 2
    assert [e.status for e in stack.upstream()][-2:] == [401, 401]


def test_auth0_403_is_502_not_the_callers_403(stack: Stack) -> None:
    stack.tenant.faults.fail_next(1, 403)
    response = stack.call("alice", "GET", "/api/v2/roles")
    assert response.status_code == 502


def test_auth0_down_is_502(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack()
    token = stack.token("alice")
    stack.call("alice", "GET", "/gateway/me")  # keys fetched while Auth0 is up
    stack.emulator.stop()
    response = stack.session.get(stack.gateway.url + "/api/v2/roles",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code in (502, 504)
    assert token not in response.text


def test_identity_provider_tokens_never_reach_the_caller(make_stack) -> None:  # type: ignore[no-untyped-def]
    # A misconfigured single tier holding read:user_idp_tokens: Auth0 returns IdP tokens.
    from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES
    from tests.support.stack import Stack as _Stack

    probe: _Stack = make_stack()
    client = probe.tenant.add_client("gateway-leaky", [
        "read:user_idp_tokens", *READ_SCOPES, *WRITE_SCOPES, *ADMIN_SCOPES])
    stack = make_stack(MGMT_TIERS="all", MGMT_TIER_ALL_CLIENT_ID=client.client_id,
                       MGMT_TIER_ALL_CLIENT_SECRET=client.client_secret,
                       MGMT_TIER_ALL_SCOPES=" ".join(client.grant_scopes))
    social = next(uid for uid, u in stack.tenant.users.items()
                  if any("access_token" in i for i in u.get("identities", [])))
    response = stack.call("alice", "GET", f"/api/v2/users/{social}")
    assert response.status_code == 200
    upstream_identities = stack.upstream()[-1].response_json["identities"]
    assert any("access_token" in i for i in upstream_identities)
    for identity in response.json()["identities"]:
        assert not {"access_token", "refresh_token", "access_token_secret"} & set(identity)
