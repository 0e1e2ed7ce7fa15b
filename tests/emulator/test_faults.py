"""Fault injection and the Management API token bucket."""

from __future__ import annotations

import time

import pytest
import requests

from emulator.faults import FaultInjector
from emulator.ratelimit import TokenBucket
from emulator.server import EmulatorServer
from tests.support.emulator_api import Api

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def test_rate_headers_always_present(emu: EmulatorServer, api: Api) -> None:
    for response in (api("GET", "/roles"), api("GET", "/users/nobody"),
                     Api(emu, None)("GET", "/roles"), api("GET", "/nowhere")):
        for header in RATE_HEADERS:
            assert header in response.headers, (response.status_code, header)
    assert int(api("GET", "/roles").headers["x-ratelimit-reset"]) >= int(time.time())


def test_token_bucket_gives_real_429s(emu: EmulatorServer, api: Api) -> None:
    # A slow refill (one token per 100 s) keeps the test independent of machine load.
    emu.tenant.faults.rate_limit(0.01, 3)
    responses = [api("GET", "/roles") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in responses)
    limited = responses[-1]
    assert limited.json() == {"statusCode": 429, "error": "Too Many Requests",
                              "message": "Global limit has been reached",
                              "errorCode": "too_many_requests"}
    assert "Retry-After" not in limited.headers
    # When the next token arrives: in about 100 s.
    assert 90 <= int(limited.headers["x-ratelimit-reset"]) - time.time() <= 101
    emu.tenant.faults.rate_limit(1000, 3)
    assert api("GET", "/roles").status_code == 200


def test_retry_after_is_optional(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.rate_limit(0.1, 1)
    emu.tenant.faults.send_retry_after(True)
    api("GET", "/roles")
    limited = api("GET", "/roles")
    assert limited.status_code == 429
    assert 5 <= int(limited.headers["Retry-After"]) <= 10


def test_rate_limit_counts_unauthenticated_calls_too(emu: EmulatorServer) -> None:
    emu.tenant.faults.rate_limit(0.1, 1)
    anonymous = Api(emu, None)
    assert anonymous("GET", "/roles").status_code == 401
    assert anonymous("GET", "/roles").status_code == 429


def test_rate_limit_none_restores_default(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.rate_limit(0.1, 1)
    api("GET", "/roles")
    emu.tenant.faults.rate_limit(None)
    assert api("GET", "/roles").status_code == 200


def test_bucket_refills_over_time() -> None:
    now = [1000.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.take().allowed for _ in range(3)] == [True, True, False]
    now[0] += 0.4
    assert not bucket.take().allowed
    now[0] += 0.1  # 0.5 s at 2/s: one token back
    state = bucket.take()
    assert state.allowed and state.remaining == 0
    now[0] += 10
    assert bucket.take().remaining == 1  # never more than the burst


@pytest.mark.parametrize("status,error,message", [
    (429, "Too Many Requests", "Global limit has been reached"),
    (500, "Internal Server Error", "An internal server error occurred"),
    (502, "Bad Gateway", "Bad Gateway"),
    (503, "Service Unavailable", "Service Unavailable"),
], ids=["429", "500", "502", "503"])
def test_fail_next(emu: EmulatorServer, api: Api, status: int, error: str,
                   message: str) -> None:
    emu.tenant.faults.fail_next(2, status)
    first, second, third = (api("GET", "/roles") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    assert first.json()["statusCode"] == status
    assert first.json()["error"] == error
    assert first.json()["message"] == message
    for header in RATE_HEADERS:
        assert header in first.headers
    assert emu.tenant.request_log[0].status == status
    assert emu.tenant.calls["GET /api/v2/roles"] == 3


def test_forced_429_reports_an_empty_bucket(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.fail_next(1, 429)
    assert api("GET", "/roles").headers["x-ratelimit-remaining"] == "0"


def test_fail_next_matches_path_prefix(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.fail_next(1, 503, path_prefix="/api/v2/users")
    assert api("GET", "/roles").status_code == 200
    assert api("GET", "/users/" + emu.tenant.user_id("alice")).status_code == 503
    assert api("GET", "/users/" + emu.tenant.user_id("alice")).status_code == 200


def test_fail_next_on_token_endpoint(emu: EmulatorServer) -> None:
    t = emu.tenant
    t.faults.fail_next(1, 503, path_prefix="/oauth/token")
    data = {"grant_type": "client_credentials", "client_id": "gateway-read",
            "client_secret": t.clients["gateway-read"].client_secret,
            "audience": t.management_audience}
    failed = requests.post(emu.url + "/oauth/token", data=data, timeout=5)
    assert failed.status_code == 503
    assert failed.json()["error"] == "server_error"
    assert requests.post(emu.url + "/oauth/token", data=data, timeout=5).status_code == 200


@pytest.mark.parametrize("status,body", [
    (401, {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}),
    (403, {"statusCode": 403, "error": "Forbidden",
           "message": "Insufficient scope, expected any of: read:roles",
           "errorCode": "insufficient_scope"}),
    (404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}),
], ids=["401", "403", "404"])
def test_fail_next_with_client_errors(emu: EmulatorServer, api: Api, status: int,
                                      body: dict[str, object]) -> None:
    emu.tenant.faults.fail_next(1, status)
    response = api("GET", "/roles")
    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.parametrize("status", [200, 302, 600], ids=["200", "302", "600"])
def test_fail_next_rejects_non_errors(status: int) -> None:
    with pytest.raises(ValueError):
        FaultInjector().fail_next(1, status)


def test_latency(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.latency(0.3)
    started = time.monotonic()
    assert api("GET", "/roles").status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        api("GET", "/roles", timeout=0.1)
    emu.tenant.faults.latency(0)
    assert emu.tenant.faults.delay_for("/api/v2/roles") == 0
    assert api("GET", "/roles").status_code == 200


def test_latency_only_on_its_prefix(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.latency(5.0, path_prefix="/.well-known/jwks.json")
    started = time.monotonic()
    api("GET", "/roles")
    assert time.monotonic() - started < 4
    assert emu.tenant.faults.delay_for("/.well-known/jwks.json") == 5.0


def test_drop_next(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        api("GET", "/users/" + emu.tenant.user_id("alice"), params={"fields": "email"})
    assert api("GET", "/roles").status_code == 200
    # The dropped call still counts, with status 0 in the log.
    assert emu.tenant.calls["GET /api/v2/users/{id}"] == 1
    dropped = emu.tenant.request_log[0]
    assert (dropped.status, dropped.route) == (0, "/api/v2/users/{id}")
    assert dropped.params == {"id": emu.tenant.user_id("alice")}
    assert dropped.query == {"fields": ["email"]}


def test_drop_on_jwks(emu: EmulatorServer) -> None:
    emu.tenant.faults.drop_next(1, path_prefix="/.well-known")
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url + "/.well-known/jwks.json", timeout=5)
    assert requests.get(emu.url + "/.well-known/jwks.json", timeout=5).status_code == 200


def test_dev_endpoints_are_never_faulted(emu: EmulatorServer) -> None:
    emu.tenant.faults.fail_next(5, 500, path_prefix="/")
    emu.tenant.faults.drop_next(5, path_prefix="/")
    assert requests.get(emu.url + "/emulator/stats", timeout=5).status_code == 200


def test_faults_over_http(emu: EmulatorServer, api: Api) -> None:
    url = emu.url + "/emulator/faults"
    assert requests.post(url, json={"fail_next": {"n": 1, "status": 502}},
                         timeout=5).status_code == 200
    assert api("GET", "/roles").status_code == 502
    requests.post(url, json={"rate_limit": {"rate_per_s": 0.1, "burst": 1},
                             "retry_after": True}, timeout=5)
    api("GET", "/roles")
    limited = api("GET", "/roles")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    requests.post(url, json={"clear": True}, timeout=5)
    assert api("GET", "/roles").status_code == 200
    assert requests.post(url, json={"fail_next": {"n": 1}}, timeout=5).status_code == 400
    requests.post(url, json={"unauthorized_next": 1}, timeout=5)
    assert api("GET", "/roles").status_code == 401
    requests.post(url, json={"drop_next": {"n": 1}}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        api("GET", "/roles")
    requests.post(url, json={"latency": {"seconds": 0.2}}, timeout=5)
    started = time.monotonic()
    api("GET", "/roles")
    assert time.monotonic() - started >= 0.2
    requests.post(url, json={"token_rate_limit": {"rate_per_s": 0.1, "burst": 1}}, timeout=5)
    assert emu.tenant.faults.token_bucket.burst == 1


def test_clear_disarms_everything(emu: EmulatorServer, api: Api) -> None:
    f = emu.tenant.faults
    f.fail_next(3, 500)
    f.drop_next(3)
    f.latency(2)
    f.unauthorized_next(3)
    f.rate_limit(0.1, 1)
    f.clear()
    assert api("GET", "/roles").status_code == 200
    assert api("GET", "/roles").status_code == 200


def test_stats_and_reset(emu: EmulatorServer, api: Api) -> None:
    api("GET", "/roles")
    api("GET", "/users/" + emu.tenant.user_id("alice"))
    requests.get(emu.url + "/.well-known/jwks.json", timeout=5)
    stats = requests.get(emu.url + "/emulator/stats", timeout=5).json()
    assert stats["calls"] == {"GET /api/v2/roles": 1, "GET /api/v2/users/{id}": 1}
    assert stats["jwks_fetches"] == 1
    assert stats["requests"] == 2
    log = requests.get(emu.url + "/emulator/requests", timeout=5).json()
    assert [e["route"] for e in log] == ["/api/v2/roles", "/api/v2/users/{id}"]
    requests.post(emu.url + "/emulator/reset-counters", timeout=5)
    assert emu.tenant.calls == {} and emu.tenant.request_log == []
    assert emu.tenant.jwks_fetches == 0
