"""Minting: what is sent to /oauth/token, how its answers are checked, how failures surface."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from app import create_app
from app.errors import PROBLEM_JSON, Problem
from app.management import broker as broker_of
from emulator.seed import READ_SCOPES
from tests.support.brokers import BrokerFactory, TokenEndpointRecorder
from tests.support.metrics import metric
from tests.support.servers import LiveServer

BROKER_LOG = "admin_gateway.token_broker"


def problem_text(problem: Problem) -> str:
    return f"{problem.description} {json.dumps(problem.extra)} {problem.title} {problem.type}"


def secrets_of(tenant: Any) -> list[str]:
    return [client.client_secret for client in tenant.clients.values()]


def test_mint_sends_client_credentials_with_audience_and_the_tier_scopes(
        make_broker: BrokerFactory, token_recorder: TokenEndpointRecorder, tenant: Any) -> None:
    broker = make_broker(AUTH0_DOMAIN=token_recorder.domain,
                         AUTH0_MANAGEMENT_AUDIENCE=tenant.management_audience)
    read = broker.settings.tier("read")
    assert broker.get_token(read)
    [form] = token_recorder.forms
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == "gateway-read"
    assert form["client_secret"] == tenant.clients["gateway-read"].client_secret
    assert form["audience"] == tenant.management_audience
    assert form["scope"] == " ".join(sorted(READ_SCOPES))  # declared, sorted


def test_missing_granted_scope_is_a_502_and_an_operator_log_line(
        make_broker: BrokerFactory, tenant: Any, caplog: pytest.LogCaptureFixture) -> None:
    broker = make_broker(MGMT_TIER_WRITE_SCOPES="update:users create:user_tickets delete:users")
    write = broker.settings.tier("write")
    before = metric("agw_token_scope_mismatch_total", tier="write", kind="missing")
    with caplog.at_level(logging.INFO, logger=BROKER_LOG), pytest.raises(Problem) as caught:
        broker.get_token(write)
    assert caught.value.code == 502
    assert caught.value.type.endswith("/tier-misconfigured")
    # Tier names and scopes are for operators: the log has them, the caller does not.
    assert caught.value.extra == {}
    shown = problem_text(caught.value)
    assert "write" not in shown and "delete:users" not in shown
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "gateway-write" in line.getMessage() and "delete:users" in line.getMessage()
    assert "MGMT_TIER_WRITE_SCOPES" in line.getMessage()
    assert metric("agw_token_scope_mismatch_total", tier="write", kind="missing") == before + 1
    for secret in secrets_of(tenant):
        assert secret not in caplog.text and secret not in problem_text(caught.value)
    # Never cached: the next call asks Auth0 again (and fails again).
    with pytest.raises(Problem):
        broker.get_token(write)
    assert tenant.tokens_issued["gateway-write"] == 2
    assert [s.cached for s in broker.status() if s.tier == "write"] == ["none"]


def test_extra_granted_scope_is_a_warning_and_a_metric(
        make_broker: BrokerFactory, tenant: Any, caplog: pytest.LogCaptureFixture) -> None:
    broker = make_broker(MGMT_TIER_READ_SCOPES="read:users")
    read = broker.settings.tier("read")
    before = metric("agw_token_scope_mismatch_total", tier="read", kind="extra")
    with caplog.at_level(logging.INFO, logger=BROKER_LOG):
        assert broker.get_token(read)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    extra = " ".join(sorted(set(READ_SCOPES) - {"read:users"}))
    assert extra in warning.getMessage()
    assert "gateway-read" in warning.getMessage()
    assert metric("agw_token_scope_mismatch_total", tier="read", kind="extra") == before + 1


def test_extra_granted_scope_is_refused_in_strict_mode(
        make_broker: BrokerFactory, tenant: Any) -> None:
    broker = make_broker(MGMT_TIER_READ_SCOPES="read:users", STRICT_TIER_SCOPES="true")
    read = broker.settings.tier("read")
    for _ in range(2):
        with pytest.raises(Problem) as caught:
            broker.get_token(read)
        assert caught.value.code == 502
        assert caught.value.type.endswith("/tier-over-granted")
        assert "read:roles" not in problem_text(caught.value)
    assert tenant.tokens_issued["gateway-read"] == 2  # refused tokens are never cached


def _bad_secret(tenant: Any) -> dict[str, str]:
    return {"MGMT_TIER_READ_CLIENT_SECRET": "wrong-secret-never-echoed"}


def _no_client_credentials(tenant: Any) -> dict[str, str]:
    tenant.clients["gateway-read"].grant_types = ["authorization_code"]
    return {}


def _no_grant(tenant: Any) -> dict[str, str]:
    client = tenant.clients["no-grant-app"]
    return {"MGMT_TIER_READ_CLIENT_ID": client.client_id,
            "MGMT_TIER_READ_CLIENT_SECRET": client.client_secret}


def _rate_limited(tenant: Any) -> dict[str, str]:
    tenant.faults.fail_next(1, 429, path_prefix="/oauth/token")
    return {}


def _server_error(tenant: Any) -> dict[str, str]:
    tenant.faults.fail_next(1, 500, path_prefix="/oauth/token")
    return {}


def _slow(tenant: Any) -> dict[str, str]:
    tenant.faults.latency(3.0, path_prefix="/oauth/token")
    # Generous enough that a loaded machine still answers the next, unslowed mint in time.
    return {"UPSTREAM_READ_TIMEOUT_SECONDS": "1"}


@pytest.mark.parametrize(("arrange", "status", "slug", "upstream_status"), [
    (_bad_secret, 502, "token-endpoint-error", 401),
    (_no_client_credentials, 502, "token-endpoint-error", 403),
    (_no_grant, 502, "token-endpoint-error", 403),
    (_rate_limited, 502, "token-endpoint-error", 429),
    (_server_error, 502, "token-endpoint-error", 500),
    (_slow, 504, "token-endpoint-timeout", None),
], ids=["401-bad-secret", "403-grant-type-not-allowed", "403-no-client-grant", "429",
        "500", "timeout"])
def test_token_endpoint_failures_become_problems_without_secrets(
        make_broker: BrokerFactory, tenant: Any, caplog: pytest.LogCaptureFixture,
        arrange: Callable[[Any], dict[str, str]], status: int, slug: str,
        upstream_status: int | None) -> None:
    broker = make_broker(**arrange(tenant))
    read = broker.settings.tier("read")
    with caplog.at_level(logging.INFO, logger=BROKER_LOG), pytest.raises(Problem) as caught:
        broker.get_token(read)
    problem = caught.value
    assert (problem.code, problem.type.rsplit("/", 1)[1]) == (status, slug)
    assert problem.extra == {}  # tier and Auth0's status are in the operator log only
    if upstream_status is not None:
        assert any(getattr(r, "upstream_status", None) == upstream_status
                   for r in caplog.records)
    text = problem_text(problem) + caplog.text
    for secret in [*secrets_of(tenant), "wrong-secret-never-echoed"]:
        assert secret not in text
    # Auth0's error_description is never echoed (it can quote request parameters).
    for description in ("Unauthorized", "not allowed for the client", "client-grant"):
        assert description not in problem_text(problem)
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


@pytest.mark.parametrize("arrange", [_rate_limited, _server_error, _slow],
                         ids=["429", "500", "timeout"])
def test_a_failed_mint_is_not_cached(make_broker: BrokerFactory, tenant: Any,
                                     arrange: Callable[[Any], dict[str, str]]) -> None:
    broker = make_broker(**arrange(tenant))
    read = broker.settings.tier("read")
    with pytest.raises(Problem):
        broker.get_token(read)
    tenant.faults.clear()
    assert broker.get_token(read)
    assert tenant.tokens_issued["gateway-read"] == 1
    assert [s.cached for s in broker.status() if s.tier == "read"] == ["l1"]


def test_mint_failure_reaches_the_client_as_problem_json(
        make_broker: BrokerFactory, tenant: Any) -> None:
    settings = make_broker.settings(MGMT_TIER_READ_CLIENT_SECRET="wrong-secret-never-echoed")
    app = create_app(settings)
    read = settings.tier("read")
    app.add_url_rule("/probe", "probe", lambda: {"ok": bool(broker_of(app).get_token(read))})
    with LiveServer(app) as server:
        response = requests.get(server.url + "/probe", timeout=10)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"].endswith("/token-endpoint-error")
    assert "tier" not in body and "upstream_status" not in body
    assert "wrong-secret-never-echoed" not in response.text
    assert tenant.clients["gateway-read"].client_secret not in response.text
