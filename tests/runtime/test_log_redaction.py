"""No token, client secret or cache key in any log line, over a whole scenario:
real user tokens, Management tokens minted and invalidated, rejected tokens,
upstream failures, a password in a body and a crash with a token in its message.

Run once in-process (everything the gateway's log handler writes) and once
under gunicorn at debug level (everything the server and workers print).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import requests
from flask import Flask, request

from app import create_app
from config.settings import Settings
from tests.support.processes import Gunicorn
from tests.support.secret_watch import SecretWatch, capture_gateway_logs
from tests.support.servers import LiveServer

PASSWORD = "Corr3ct-Horse-Battery-Staple!"


def run_scenario(base: str, tenant: Any, watch: SecretWatch) -> None:
    def call(method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    alice, bob, carol = (tenant.issue_user_token(u) for u in ("alice", "bob", "carol"))
    dave = "/api/v2/users/" + tenant.user_id("dave").replace("|", "%7C")
    watch.add("a password in a request body", PASSWORD)

    assert call("GET", "/gateway/me", alice).status_code == 200
    assert call("GET", dave, alice).status_code == 200  # mints the read tier's token
    assert call("PATCH", dave, bob, json={"name": "Dave Renamed"}).status_code == 200
    assert call("PATCH", dave, alice, json={"name": "Nope"}).status_code == 403
    assert call("POST", "/api/v2/users", carol, json={
        "connection": "Username-Password-Authentication", "email": "new.person@example.com",
        "password": PASSWORD}).status_code == 201  # the password crossed every layer

    tampered = alice[:-4] + ("AAAA" if not alice.endswith("AAAA") else "BBBB")
    assert call("GET", dave, tampered).status_code == 401
    foreign = tenant.sign({"sub": "x", "aud": tenant.gateway_audience, "iss": tenant.issuer,
                           "exp": int(time.time()) + 600}, key="foreign")
    assert call("GET", dave, foreign).status_code == 401
    expired = tenant.issue_user_token("alice", expires_in=-3600)
    assert call("GET", dave, expired).status_code == 401
    secret = tenant.clients["gateway-admin"].client_secret
    assert call("GET", dave, secret).status_code == 401  # a client secret as a bearer token
    assert call("GET", f"/api/v2/users?access_token={alice}", None).status_code == 401
    assert call("GET", f"/gateway/me?client_secret={secret}", alice).status_code == 200

    tenant.faults.fail_next(5, 500)
    assert call("GET", dave, alice).status_code == 502
    tenant.faults.clear()
    tenant.faults.unauthorized_next(1)  # Auth0 refuses the cached Management token once
    assert call("GET", dave, alice).status_code == 200  # re-minted once, retried
    tenant.faults.clear()

    assert call("GET", "/test-crash", alice).status_code == 500
    assert call("GET", "/readyz", None).status_code in (200, 503)


def test_no_secret_in_gateway_logs(fresh_emulator: Any, make_settings: Callable[..., Settings]
                                   ) -> None:
    watch = SecretWatch()
    watch.watch_tenant(fresh_emulator.tenant)
    settings = make_settings(fresh_emulator, LOG_LEVEL="DEBUG")
    watch.add_settings(settings)
    app: Flask = create_app(settings)

    def crash() -> str:
        raise RuntimeError("failed for " + request.headers.get("Authorization", ""))

    app.add_url_rule("/test-crash", "test_crash", crash)
    with capture_gateway_logs() as logs, LiveServer(app) as server:
        run_scenario(server.url, fresh_emulator.tenant, watch)
    text = logs.getvalue()
    assert "admin_gateway.access" in text and "unhandled RuntimeError" in text  # it did log
    assert len(watch) > 10
    watch.assert_absent_from(text, "the gateway's log output")


def test_no_secret_in_gunicorn_output(fresh_emulator: Any, start_gunicorn: Callable[..., Gunicorn],
                                      make_settings: Callable[..., Settings]) -> None:
    watch = SecretWatch()
    watch.watch_tenant(fresh_emulator.tenant)
    server = start_gunicorn(emulator_server=fresh_emulator, workers=2,
                            app="tests.support.crash_wsgi:app", LOG_LEVEL="DEBUG",
                            GUNICORN_LOG_LEVEL="debug", GUNICORN_ACCESS_LOG="-")
    watch.add("TOKEN_CACHE_KEY", server.env["TOKEN_CACHE_KEY"])
    run_scenario(server.url, fresh_emulator.tenant, watch)
    # A request gunicorn itself refuses (bad header line), with a token in its URI.
    token = fresh_emulator.tenant.issue_user_token("alice")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(f"GET /x?access_token={token} HTTP/1.1\r\nBad Header\r\n\r\n".encode())
        raw.recv(4096)
    server.stop()
    text = server.log_text()
    assert "gunicorn.error" in text and "admin_gateway.access" in text
    watch.assert_absent_from(text, "gunicorn's stdout/stderr")
