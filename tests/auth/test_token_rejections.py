"""Every reason a bearer token is refused, over real HTTP against a gateway and the emulator.

Each case asserts the 401, the RFC 6750 challenge (`error="invalid_token"`) and
that the rejection was counted under its reason in agw_token_rejections_total.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.metrics import rejections
from tests.support.tokens import b64url, claims_for, me, with_header


def later(seconds: int) -> Callable[[], int]:
    """A time claim computed when the token is signed, not when the module was imported."""
    return lambda: int(time.time()) + seconds

Case = Callable[[Any], str]  # tenant -> the whole Authorization header value


def bearer(build: Callable[[Any], str]) -> Case:
    return lambda t: "Bearer " + build(t)


def signed(headers: dict[str, Any] | None = None, key: str = "current", **claims: Any) -> Case:
    def build(t: Any) -> str:
        values = {name: value() if callable(value) else value for name, value in claims.items()}
        return str(t.sign(claims_for(t, **values), headers or {}, key=key))
    return bearer(build)


def _oversized(t: Any) -> str:
    return t.sign(claims_for(t, padding="x" * 9000))


def _bad_signature(t: Any) -> str:
    # Signed by a key nobody published, but claiming the current key's kid.
    return t.sign(claims_for(t), {"kid": t.keys.current_kid}, key="foreign")


def _tampered(t: Any) -> str:
    # A valid token whose payload was swapped for one granting more: the signature breaks.
    good = t.sign(claims_for(t))
    other = t.sign(claims_for(t, permissions=["users:delete"]), key="foreign")
    header, _, signature = good.split(".")
    return ".".join([header, other.split(".")[1], signature])


def _raw_header(t: Any, header_json: bytes) -> str:
    _, payload, signature = t.issue_user_token("alice").split(".")
    return ".".join([b64url(header_json), payload, signature])


def _machine(t: Any) -> str:
    return t.sign(claims_for(t, sub="gateway-read@clients", azp="gateway-read",
                             gty="client-credentials"))


CASES: list[tuple[str, Case, str]] = [
    ("bad-signature", bearer(_bad_signature), "bad_signature"),
    ("tampered-payload", bearer(_tampered), "bad_signature"),
    ("alg-none", signed({"alg": "none"}), "algorithm"),
    ("alg-None-mixed-case", signed({"alg": "nOnE"}), "algorithm"),
    ("hs256-public-key-as-secret", signed(key="hs256-public"), "algorithm"),
    ("unknown-kid", signed(key="foreign"), "unknown_kid"),
    ("kid-missing", signed({"kid": None}), "kid"),
    ("kid-path-traversal", signed({"kid": "../../../../etc/passwd"}), "unknown_kid"),
    ("kid-sql-injection", signed({"kid": "' OR '1'='1' --"}), "kid"),
    ("kid-not-a-string", signed({"kid": 12345}), "kid"),
    ("embedded-jwk", bearer(lambda t: t.sign(claims_for(t), {"jwk": t.keys.foreign.public_jwk},
                                             key="foreign")), "untrusted_key_header"),
    ("jku", signed({"jku": "https://attacker.example/jwks.json"}), "untrusted_key_header"),
    ("x5u", signed({"x5u": "https://attacker.example/cert.pem"}), "untrusted_key_header"),
    ("x5c", bearer(lambda t: t.sign(claims_for(t), {"x5c": t.keys.foreign.public_jwk["x5c"]},
                                    key="foreign")), "untrusted_key_header"),
    ("crit", signed({"crit": ["exp"]}), "crit"),
    ("crit-b64", signed({"crit": ["b64"], "b64": False}), "crit"),
    ("unregistered-header", signed({"zip": "DEF"}), "header"),
    ("expired", signed(exp=later(-120), iat=later(-800)), "expired"),
    ("not-yet-valid-nbf", signed(nbf=later(600)), "not_yet_valid"),
    ("iat-in-future", signed(iat=later(600)), "iat"),
    ("wrong-issuer", signed(iss="https://attacker.example/"), "issuer"),
    ("issuer-without-trailing-slash",
     bearer(lambda t: t.sign(claims_for(t, iss=t.issuer.rstrip("/")))), "issuer"),
    ("wrong-audience", signed(aud="https://other-api.example.com/"), "audience"),
    ("wrong-audience-array", signed(aud=["https://other-api.example.com/", "x"]), "audience"),
    ("management-api-audience",
     bearer(lambda t: t.sign(claims_for(t, aud=t.management_audience))), "management_audience"),
    ("management-audience-among-others",
     bearer(lambda t: t.sign(claims_for(t, aud=[t.gateway_audience, t.management_audience]))),
     "management_audience"),
    ("missing-exp", signed(exp=None), "missing_claim"),
    ("missing-sub", signed(sub=None), "missing_claim"),
    ("missing-iss", signed(iss=None), "missing_claim"),
    ("missing-aud", signed(aud=None), "missing_claim"),
    ("exp-not-a-number", signed(exp="tomorrow"), "invalid_claim"),
    ("oversized-token", bearer(_oversized), "too_large"),
    ("garbage-base64", bearer(lambda t: "Zm9v.YmFy.YmF6"), "malformed"),
    ("bad-base64-chars", bearer(lambda t: "%%%.***.$$$"), "malformed"),
    ("two-dots-only", bearer(lambda t: ".."), "malformed"),
    ("header-without-alg", bearer(lambda t: with_header(t.issue_user_token("alice"), typ="JWT",
                                                        kid=t.keys.current_kid)), "algorithm"),
    ("header-a-json-string", bearer(lambda t: _raw_header(t, b'"alg"')), "malformed"),
    ("header-a-json-array", bearer(lambda t: _raw_header(t, b'["alg", "RS256"]')), "malformed"),
    ("two-segments", bearer(lambda t: ".".join(t.sign(claims_for(t)).split(".")[:2])),
     "malformed"),
    ("payload-not-an-object", bearer(lambda t: t.sign([1, 2, 3])), "malformed"),
    ("header-swapped-after-signing",
     bearer(lambda t: with_header(t.issue_user_token("alice"), alg="RS256", typ="JWT",
                                  kid=t.keys.current_kid, cty="JWT")), "bad_signature"),
    ("empty-bearer", lambda t: "Bearer ", "malformed_header"),
    ("two-tokens", lambda t: f"Bearer {t.issue_user_token('alice')} "
                             f"{t.issue_user_token('bob')}", "malformed_header"),
    ("two-bearer-credentials", lambda t: f"Bearer {t.issue_user_token('alice')}, "
                                         f"Bearer {t.issue_user_token('bob')}",
     "malformed_header"),
    ("machine-token", bearer(_machine), "machine_caller"),
    ("wrong-typ", signed({"typ": "id+jwt"}), "typ"),
    ("typ-missing", signed({"typ": None}), "typ"),
]


@pytest.mark.parametrize(("build", "reason"), [(b, r) for _, b, r in CASES],
                         ids=[i for i, _, _ in CASES])
def test_rejected(shared_gateway: Any, tenant: Any, build: Case, reason: str) -> None:
    authorization = build(tenant)
    before = rejections(reason)

    response = me(shared_gateway, authorization=authorization)

    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert "error_description=" in challenge
    assert response.headers["Content-Type"] == "application/problem+json"
    assert rejections(reason) == before + 1
    # Nothing of the token comes back.
    for part in authorization.replace(",", " ").split():
        if len(part) > 16:
            assert part[-16:] not in response.text


def test_no_authorization_header_gets_a_bare_challenge(shared_gateway: Any) -> None:
    before = rejections("missing_token")
    response = me(shared_gateway)
    assert response.status_code == 401
    # RFC 6750 §3.1: no error code when the request carried no credentials at all.
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="admin-gateway"'
    assert rejections("missing_token") == before + 1


def test_other_scheme_gets_a_bare_challenge(shared_gateway: Any, tenant: Any) -> None:
    response = me(shared_gateway, authorization="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert "error=" not in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("where", ["query", "form", "cookie"])
def test_token_outside_the_header_is_ignored(shared_gateway: Any, tenant: Any,
                                            where: str) -> None:
    token = tenant.issue_user_token("alice")
    url = shared_gateway.url + "/gateway/me"
    if where == "query":
        response = requests.get(url, params={"access_token": token}, timeout=10)
    elif where == "form":
        response = requests.request("GET", url, data={"access_token": token}, timeout=10)
    else:
        response = requests.get(url, cookies={"access_token": token}, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="admin-gateway"'


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(shared_gateway: Any, tenant: Any, scheme: str) -> None:
    # RFC 7235 §2.1: the auth-scheme is a case-insensitive token.
    response = me(shared_gateway, authorization=f"{scheme} {tenant.issue_user_token('alice')}")
    assert response.status_code == 200, response.text


def test_machine_token_accepted_when_allowed(make_gateway: Any, tenant: Any) -> None:
    gateway = make_gateway(ALLOW_MACHINE_CALLERS="true")
    response = me(gateway, _machine(tenant))
    assert response.status_code == 200, response.text
    assert response.json()["is_machine"] is True
    assert response.json()["client_id"] == "gateway-read"


def test_expired_within_leeway_is_accepted(shared_gateway: Any, tenant: Any) -> None:
    token = tenant.sign(claims_for(tenant, exp=int(time.time()) - 5))
    assert me(shared_gateway, token).status_code == 200


def test_leeway_is_configurable(make_gateway: Any, tenant: Any) -> None:
    gateway = make_gateway(JWT_LEEWAY_SECONDS="0")
    token = tenant.sign(claims_for(tenant, exp=int(time.time()) - 5))
    assert me(gateway, token).status_code == 401


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda t: t.issue_user_token("alice", profile="auth0"), id="auth0-profile"),
        pytest.param(lambda t: t.issue_user_token("alice", profile="rfc9068"),
                     id="rfc9068-profile"),
        pytest.param(lambda t: t.issue_user_token("alice", audience=t.gateway_audience),
                     id="aud-string"),
        pytest.param(lambda t: t.issue_user_token("alice"), id="aud-array"),
        pytest.param(lambda t: t.sign(claims_for(t), {"typ": "application/at+jwt"}),
                     id="typ-full-media-type"),
    ],
)
def test_accepted_token_shapes(shared_gateway: Any, tenant: Any,
                               build: Callable[[Any], str]) -> None:
    response = me(shared_gateway, build(tenant))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == tenant.user_id("alice")
    # azp (Auth0 profile) or client_id (RFC 9068) both name the calling app.
    assert body["client_id"] == tenant.panel_client_id


def test_algorithm_not_configured_is_rejected(make_gateway: Any, tenant: Any) -> None:
    # A correctly signed RS256 token, but the gateway is told to accept only PS256.
    gateway = make_gateway(JWT_ALGORITHMS="PS256")
    before = rejections("algorithm")
    assert me(gateway, tenant.issue_user_token("alice")).status_code == 401
    assert rejections("algorithm") == before + 1


def test_a_request_is_authenticated_once(gateway: Any, tenant: Any) -> None:
    # The per-caller rate limiter asks who the caller is before the view does: the
    # answer is kept for the request, so a bad token is examined and counted once.
    before = rejections("expired")
    token = tenant.sign(claims_for(tenant, exp=later(-3600)(), iat=later(-7200)()))
    response = me(gateway, token)
    assert response.status_code == 401
    assert rejections("expired") == before + 1
