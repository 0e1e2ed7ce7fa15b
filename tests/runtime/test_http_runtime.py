"""Security headers, CORS, /readyz and /metrics, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask

from app import create_app
from app.runtime import ProbeResult, register_probe
from app.runtime.cors import PREFLIGHT_MAX_AGE
from config.settings import Settings
from tests.support.servers import LiveServer

PANEL = "https://admin.example.com"


@pytest.fixture
def app_with_crash(make_settings: Callable[..., Settings]) -> Flask:
    app = create_app(make_settings(CORS_ORIGINS=PANEL))

    def crash() -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/test-crash", "test_crash", crash)
    return app


# --- security headers ----------------------------------------------------------

@pytest.mark.parametrize("method, path, status", [
    ("GET", "/healthz", 200),
    ("GET", "/readyz", 200),
    ("GET", "/metrics", 200),
    ("GET", "/gateway/me", 401),
    ("GET", "/no/such/route", 404),
    ("DELETE", "/healthz", 405),
    ("GET", "/test-crash", 500),
], ids=["ok", "readyz", "metrics", "unauthenticated", "not-found", "wrong-method", "crash"])
def test_security_headers_on_every_response(app_with_crash: Flask, serve: Callable[..., Any],
                                            method: str, path: str, status: int) -> None:
    server = serve(app_with_crash)
    response = requests.request(method, server.url + path, timeout=5)
    assert response.status_code == status
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # Plain http: HSTS would be meaningless (RFC 6797 §7.2).
    assert "Strict-Transport-Security" not in headers
    assert headers["X-Request-ID"]


def test_crash_is_a_bare_problem(app_with_crash: Flask, serve: Callable[..., Any]) -> None:
    response = requests.get(serve(app_with_crash).url + "/test-crash", timeout=5)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "boom" not in response.text and "RuntimeError" not in response.text


def test_hsts_only_when_the_trusted_proxy_says_https(make_gateway: Callable[..., LiveServer]
                                                     ) -> None:
    trusted = make_gateway(PROXY_FIX_X_PROTO="1")
    https = requests.get(trusted.url + "/healthz", headers={"X-Forwarded-Proto": "https"},
                         timeout=5)
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "includeSubDomains" in https.headers["Strict-Transport-Security"]

    untrusted = make_gateway()  # PROXY_FIX_X_PROTO=0: the header is anyone's to forge
    forged = requests.get(untrusted.url + "/healthz", headers={"X-Forwarded-Proto": "https"},
                          timeout=5)
    assert "Strict-Transport-Security" not in forged.headers


def test_docs_page_keeps_its_own_policy(make_gateway: Callable[..., LiveServer]) -> None:
    response = requests.get(make_gateway().url + "/docs", timeout=5)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp  # the page's policy, not the API's default-src 'none'
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"


# --- CORS ------------------------------------------------------------------------

def test_allowed_origin_gets_cors_headers_without_credentials(
        make_gateway: Callable[..., LiveServer], emulator: Any) -> None:
    server = make_gateway(CORS_ORIGINS=f"{PANEL},https://other.example.com")
    token = emulator.tenant.issue_user_token("alice")
    response = requests.get(server.url + "/gateway/me", timeout=5, headers={
        "Origin": PANEL, "Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PANEL
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"]
               .split(",")}
    assert {"x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining",
            "ratelimit-reset"} <= exposed


def test_preflight_is_answered_before_authentication(make_gateway: Callable[..., LiveServer]
                                                     ) -> None:
    server = make_gateway(CORS_ORIGINS=PANEL)
    response = requests.options(server.url + "/api/v2/users/auth0%7C1", timeout=5, headers={
        "Origin": PANEL, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, x-request-id"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PANEL
    assert response.headers["Access-Control-Max-Age"] == str(PREFLIGHT_MAX_AGE)
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"]
               .split(",")}
    assert allowed == {"authorization", "content-type", "x-request-id"}
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("origin", [
    "https://evil.example.com",
    "http://admin.example.com",  # same host, other scheme: another origin
    "https://admin.example.com.evil.com",
    "null",
], ids=["other-host", "other-scheme", "suffix-trick", "null-origin"])
def test_disallowed_origin_gets_no_cors_headers(make_gateway: Callable[..., LiveServer],
                                                origin: str) -> None:
    server = make_gateway(CORS_ORIGINS=PANEL)
    simple = requests.get(server.url + "/healthz", headers={"Origin": origin}, timeout=5)
    preflight = requests.options(server.url + "/api/v2/users", timeout=5, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    for response in (simple, preflight):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_no_cors_origins_means_no_cors_at_all(make_gateway: Callable[..., LiveServer]) -> None:
    server = make_gateway()
    response = requests.get(server.url + "/healthz", headers={"Origin": PANEL}, timeout=5)
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


# --- /readyz -----------------------------------------------------------------------

def test_readyz_ready_without_a_token(make_gateway: Callable[..., LiveServer]) -> None:
    response = requests.get(make_gateway().url + "/readyz", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"]["ok"] is True


def test_readyz_not_ready_when_redis_is_down(make_settings: Callable[..., Settings],
                                             serve: Callable[..., Any]) -> None:
    from tests.support.ports import free_port

    url = f"redis://:hunter2secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    server = serve(create_app(make_settings(REDIS_URL=url)))
    response = requests.get(server.url + "/readyz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["redis"]["ok"] is False
    assert "hunter2secret" not in response.text and "127.0.0.1" not in response.text


def test_readyz_runs_registered_probes_under_a_deadline(make_settings: Callable[..., Settings],
                                                        serve: Callable[..., Any]) -> None:
    app = create_app(make_settings())

    def crashing() -> ProbeResult:
        raise RuntimeError("secret-in-message")

    def hanging() -> ProbeResult:
        time.sleep(5)
        return ProbeResult(True, "late")

    register_probe(app, "test_ok", lambda: ProbeResult(True, "fine"))
    register_probe(app, "test_crash", crashing)
    register_probe(app, "test_hang", hanging)
    with pytest.raises(ValueError, match="twice"):
        register_probe(app, "test_ok", lambda: ProbeResult(True))
    server = serve(app)

    started = time.monotonic()
    response = requests.get(server.url + "/readyz", timeout=10)
    assert time.monotonic() - started < 4  # the 2 s deadline, not the 5 s probe
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["test_ok"] == {"ok": True, "detail": "fine"}
    assert checks["test_crash"] == {"ok": False, "detail": "probe raised RuntimeError"}
    assert checks["test_hang"]["ok"] is False and "no answer" in checks["test_hang"]["detail"]
    assert "secret-in-message" not in response.text


# --- /metrics ------------------------------------------------------------------------

def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{{{wanted}}}")


def test_metrics_count_requests_by_route_and_status(make_gateway: Callable[..., LiveServer]
                                                    ) -> None:
    server = make_gateway()
    before = requests.get(server.url + "/metrics", timeout=5).text
    try:
        base = _sample(before, "agw_requests_total", operation="/gateway/me", status="401")
    except AssertionError:
        base = 0.0
    for _ in range(3):
        requests.get(server.url + "/gateway/me", timeout=5)
    requests.get(server.url + "/nowhere/abc123", timeout=5)
    response = requests.get(server.url + "/metrics", timeout=5)
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "agw_requests_total", operation="/gateway/me", status="401") == base + 3
    # Unknown paths share one label: a scanner cannot blow up the series count.
    assert _sample(text, "agw_requests_total", operation="unmatched", status="404") >= 1
    assert "/nowhere/abc123" not in text
    assert _sample(text, "agw_request_seconds_count", operation="/gateway/me") >= 3


def test_metrics_can_be_switched_off(make_gateway: Callable[..., LiveServer]) -> None:
    response = requests.get(make_gateway(METRICS_ENABLED="false").url + "/metrics", timeout=5)
    assert response.status_code == 404
