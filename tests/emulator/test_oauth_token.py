"""``POST /oauth/token``: client credentials as Auth0 answers them."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest
import requests

from emulator.seed import READ_SCOPES, WRITE_SCOPES
from emulator.server import EmulatorServer


def token_request(emu: EmulatorServer, *, as_json: bool = False, **overrides: Any
                  ) -> requests.Response:
    t = emu.tenant
    params: dict[str, Any] = {
        "grant_type": "client_credentials",
        "client_id": "gateway-read",
        "client_secret": t.clients["gateway-read"].client_secret,
        "audience": t.management_audience,
    }
    for name, value in overrides.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    if as_json:
        return requests.post(emu.url + "/oauth/token", json=params, timeout=5)
    return requests.post(emu.url + "/oauth/token", data=params, timeout=5)


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_grants_every_granted_scope_whatever_was_asked(emu: EmulatorServer,
                                                       as_json: bool) -> None:
    response = token_request(emu, as_json=as_json, scope="read:users")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert body["scope"] == " ".join(READ_SCOPES)
    assert response.headers["Cache-Control"] == "no-store"


def test_management_token_claims_verify_with_pyjwt(emu: EmulatorServer) -> None:
    t = emu.tenant
    token = token_request(emu).json()["access_token"]
    key = jwt.PyJWKClient(emu.url + "/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=t.management_audience,
                        issuer=t.issuer)
    assert claims["sub"] == "gateway-read@clients"
    assert claims["azp"] == "gateway-read"
    assert claims["gty"] == "client-credentials"
    assert claims["aud"] == emu.url + "/api/v2/"
    assert claims["scope"] == " ".join(READ_SCOPES)
    assert claims["exp"] - claims["iat"] == 86400


def test_client_secret_basic(emu: EmulatorServer) -> None:
    t = emu.tenant
    secret = t.clients["gateway-write"].client_secret
    basic = base64.b64encode(f"gateway-write:{secret}".encode()).decode()
    response = requests.post(
        emu.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": t.management_audience},
        headers={"Authorization": f"Basic {basic}"}, timeout=5)
    assert response.status_code == 200
    assert response.json()["scope"] == " ".join(WRITE_SCOPES)


@pytest.mark.parametrize("overrides,status,error,description", [
    ({"grant_type": None}, 400, "invalid_request", "Missing required parameter: grant_type"),
    ({"grant_type": "magic"}, 400, "unsupported_grant_type", "Unsupported grant type: magic"),
    ({"client_id": None}, 400, "invalid_request", "Missing required parameter: client_id"),
    ({"client_secret": None}, 401, "access_denied", "Unauthorized"),
    ({"client_secret": "wrong"}, 401, "access_denied", "Unauthorized"),
    ({"client_id": "nobody"}, 401, "access_denied", "Unauthorized"),
    ({"grant_type": "password"}, 403, "unauthorized_client",
     "Grant type 'password' not allowed for the client."),
    ({"audience": None}, 403, "access_denied",
     "No audience parameter was provided, and no default audience has been configured"),
    ({"audience": "https://elsewhere.example/api"}, 403, "access_denied",
     "Service not enabled within domain: https://elsewhere.example/api"),
], ids=["no-grant-type", "unknown-grant-type", "no-client-id", "no-secret", "wrong-secret",
        "unknown-client", "grant-not-allowed", "no-audience", "unknown-audience"])
def test_errors(emu: EmulatorServer, overrides: dict[str, Any], status: int, error: str,
                description: str) -> None:
    response = token_request(emu, **overrides)
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}
    assert emu.tenant.tokens_issued["gateway-read"] == 0


def test_audience_without_trailing_slash_is_another_service(emu: EmulatorServer) -> None:
    audience = emu.tenant.management_audience.rstrip("/")
    response = token_request(emu, audience=audience)
    assert response.status_code == 403
    assert response.json()["error_description"] == f"Service not enabled within domain: {audience}"


def test_client_without_grant(emu: EmulatorServer) -> None:
    t = emu.tenant
    response = token_request(emu, client_id="no-grant-app",
                             client_secret=t.clients["no-grant-app"].client_secret)
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "access_denied"
    assert body["error_description"].startswith(
        f'Client is not authorized to access "{t.management_audience}".')


def test_gateway_audience_has_no_client_grants(emu: EmulatorServer) -> None:
    response = token_request(emu, audience=emu.tenant.gateway_audience)
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


def test_lifetime_per_tenant_and_per_client(emu: EmulatorServer) -> None:
    t = emu.tenant
    t.token_lifetime = 600
    try:
        assert token_request(emu).json()["expires_in"] == 600
        t.add_client("short-lived", ["read:users"], secret="s3cret", token_lifetime=30)
        body = token_request(emu, client_id="short-lived", client_secret="s3cret").json()
        assert body["expires_in"] == 30
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 30
    finally:
        t.token_lifetime = 86400


def test_counts_tokens_per_client(emu: EmulatorServer) -> None:
    for _ in range(3):
        token_request(emu)
    token_request(emu, client_secret="wrong")
    assert emu.tenant.tokens_issued["gateway-read"] == 3
    stats = requests.get(emu.url + "/emulator/stats", timeout=5).json()
    assert stats["tokens_issued"] == {"gateway-read": 3}


def test_rate_limit_on_token_endpoint(emu: EmulatorServer) -> None:
    emu.tenant.faults.token_rate_limit(0.01, 2)
    first, second, third = (token_request(emu) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert third.json() == {"error": "too_many_requests",
                            "error_description": "Global limit has been reached"}
    assert third.headers["x-ratelimit-limit"] == "2"
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert int(third.headers["x-ratelimit-reset"]) >= int(time.time())
    assert "Retry-After" not in third.headers
    emu.tenant.faults.send_retry_after(True)
    assert 90 <= int(token_request(emu).headers["Retry-After"]) <= 100
    assert emu.tenant.tokens_issued["gateway-read"] == 2


def test_token_endpoint_always_sends_rate_headers(emu: EmulatorServer) -> None:
    response = token_request(emu)
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= {
        h.lower() for h in response.headers}
