"""End-user tokens and the JWKS, verified with an independent library (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant


def jwks_client(server: EmulatorServer) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(server.url + "/.well-known/jwks.json", cache_keys=False,
                           cache_jwk_set=False)


def verify(server: EmulatorServer, token: str, audience: str | None = None) -> dict[str, Any]:
    key = jwks_client(server).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"],
        audience=audience or server.tenant.gateway_audience, issuer=server.tenant.issuer,
    )
    return claims


@pytest.mark.parametrize("profile,typ,client_claim", [
    ("auth0", "JWT", "azp"),
    ("rfc9068", "at+jwt", "client_id"),
], ids=["auth0-profile", "rfc9068-profile"])
def test_user_token_verifies_with_pyjwt(emu: EmulatorServer, profile: str, typ: str,
                                        client_claim: str) -> None:
    t = emu.tenant
    token = t.issue_user_token("bob", profile=profile)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": typ, "kid": t.keys.current_kid}
    claims = verify(emu, token)
    assert claims["iss"] == emu.url + "/"
    assert claims["sub"] == t.user_id("bob")
    assert claims["aud"] == [t.gateway_audience, emu.url + "/userinfo"]
    assert claims[client_claim] == t.panel_client_id
    assert claims["exp"] - claims["iat"] == 3600
    assert "users:update" in claims["permissions"]
    assert claims["scope"].split()[:3] == ["openid", "profile", "email"]
    assert set(claims["scope"].split()[3:]) == set(claims["permissions"])
    assert claims[t.roles_claim] == ["Support Editor"]
    assert claims[t.department_claim] == "support"
    assert "org_id" not in claims


def test_rfc9068_token_has_jti(emu: EmulatorServer) -> None:
    claims = verify(emu, emu.tenant.issue_user_token("alice", profile="rfc9068"))
    assert claims["jti"]


@pytest.mark.parametrize("alias,roles,has_permissions", [
    ("alice", ["Support Reader"], True),
    ("carol", ["User Admin"], True),
    ("dave", [], False),
], ids=["reader", "admin", "no-role"])
def test_roles_and_permissions_follow_rbac(emu: EmulatorServer, alias: str, roles: list[str],
                                           has_permissions: bool) -> None:
    t = emu.tenant
    claims = verify(emu, t.issue_user_token(alias))
    assert claims[t.roles_claim] == roles
    assert bool(claims["permissions"]) is has_permissions
    assert claims["permissions"] == t.user_permission_names(t.user_id(alias))


def test_admin_has_every_gateway_permission(emu: EmulatorServer) -> None:
    claims = verify(emu, emu.tenant.issue_user_token("carol"))
    for permission in ("users:create", "users:delete", "users:roles:assign",
                       "users:update_app_metadata", "users:mfa_reset", "audit:read",
                       "users:read", "users:block", "users:password_reset"):
        assert permission in claims["permissions"]


def test_org_id_from_app_metadata_or_argument(emu: EmulatorServer) -> None:
    t = emu.tenant
    erin = verify(emu, t.issue_user_token("erin"))
    assert erin["org_id"] == t.users[t.user_id("erin")]["app_metadata"]["org_id"]
    assert erin[t.department_claim] == "sales"
    assert verify(emu, t.issue_user_token("alice", org_id="org_abc"))["org_id"] == "org_abc"


def test_token_options(emu: EmulatorServer) -> None:
    t = emu.tenant
    token = t.issue_user_token(t.user_id("alice"), expires_in=60, audience="https://other",
                               extra_claims={"amr": ["mfa"]}, include_roles=False)
    claims = verify(emu, token, audience="https://other")
    assert claims["aud"] == "https://other"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["amr"] == ["mfa"]
    assert t.roles_claim not in claims


def test_unknown_user_is_an_error(emu: EmulatorServer) -> None:
    with pytest.raises(KeyError):
        emu.tenant.issue_user_token("mallory")


def test_dev_token_endpoint(emu: EmulatorServer) -> None:
    response = requests.post(emu.url + "/emulator/token",
                             json={"user": "carol", "profile": "rfc9068", "expires_in": 120},
                             timeout=5)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = verify(emu, token)
    assert claims["exp"] - claims["iat"] == 120
    missing = requests.post(emu.url + "/emulator/token", json={"user": "mallory"}, timeout=5)
    assert missing.status_code == 404


def test_discovery_document(emu: EmulatorServer) -> None:
    doc = requests.get(emu.url + "/.well-known/openid-configuration", timeout=5).json()
    assert doc["issuer"] == emu.tenant.issuer == emu.url + "/"
    assert doc["jwks_uri"] == emu.url + "/.well-known/jwks.json"
    assert doc["token_endpoint"] == emu.url + "/oauth/token"
    assert doc["authorization_endpoint"] == emu.url + "/authorize"


def test_jwks_shape_and_fetch_counter(emu: EmulatorServer) -> None:
    for _ in range(3):
        jwks = requests.get(emu.url + "/.well-known/jwks.json", timeout=5).json()
    assert emu.tenant.jwks_fetches == 3
    (key,) = jwks["keys"]
    assert {"kid", "kty", "n", "e", "use", "alg"} <= set(key)
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    assert "d" not in key and "p" not in key  # never the private parts


def test_rotation(fresh_emu: EmulatorServer) -> None:
    t = fresh_emu.tenant
    old = t.keys.current_kid
    old_token = t.issue_user_token("alice")
    new = t.keys.publish_next()
    kids = [k["kid"] for k in t.keys.jwks()["keys"]]
    assert kids == [old, new]
    # Published but not yet signing.
    assert jwt.get_unverified_header(t.issue_user_token("alice"))["kid"] == old
    t.keys.promote_next()
    assert t.keys.current_kid == new
    new_token = t.issue_user_token("alice")
    assert jwt.get_unverified_header(new_token)["kid"] == new
    assert verify(fresh_emu, new_token)["sub"] == t.user_id("alice")
    assert verify(fresh_emu, old_token)["sub"] == t.user_id("alice")  # old key still published
    t.keys.revoke(old)
    assert [k["kid"] for k in t.keys.jwks()["keys"]] == [new]
    with pytest.raises(jwt.PyJWKClientError):
        verify(fresh_emu, old_token)
    with pytest.raises(ValueError):
        t.keys.revoke(new)  # the signing key cannot be revoked


def test_rotation_through_dev_endpoints(fresh_emu: EmulatorServer) -> None:
    url = fresh_emu.url + "/emulator/keys/"
    old = fresh_emu.tenant.keys.current_kid
    new = requests.post(url + "publish-next", timeout=5).json()["kid"]
    assert requests.post(url + "promote-next", timeout=5).json()["kid"] == new
    revoked = requests.post(url + "revoke", json={"kid": old}, timeout=5)
    assert revoked.json()["published"] == [new]
    assert requests.post(url + "revoke", json={"kid": new}, timeout=5).status_code == 409
    assert requests.post(url + "revoke", json={"kid": "nope"}, timeout=5).status_code == 404


def _segments(token: str) -> list[str]:
    return token.split(".")


def raw_header(token: str) -> dict[str, Any]:
    """The header as serialized (PyJWT's own reader rejects some negative-test headers)."""
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(_unb64(segment))
    return decoded


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize("key,headers,check", [
    ("foreign", None, lambda h, s: h["alg"] == "RS256" and s[2]),
    ("hs256-public", None, lambda h, s: h["alg"] == "HS256"),
    ("current", {"alg": "none"}, lambda h, s: h["alg"] == "none" and s[2] == ""),
    ("current", {"jku": "https://evil.example/jwks"}, lambda h, s: h["jku"].startswith("https")),
    ("current", {"kid": "../../etc/passwd"}, lambda h, s: h["kid"] == "../../etc/passwd"),
    ("current", {"crit": ["x"]}, lambda h, s: h["crit"] == ["x"]),
    ("current", {"kid": None}, lambda h, s: "kid" not in h),
    ("current", {"typ": "at+jwt"}, lambda h, s: h["typ"] == "at+jwt"),
], ids=["foreign", "hs256-public", "alg-none", "jku", "kid-traversal", "crit", "no-kid",
        "typ-override"])
def test_sign_for_negative_tests(emu: EmulatorServer, key: str, headers: dict[str, Any] | None,
                                 check: Any) -> None:
    token = emu.tenant.sign({"sub": "x", "exp": int(time.time()) + 60}, headers, key=key)
    assert check(raw_header(token), _segments(token))


def test_foreign_key_is_not_in_jwks_and_fails_verification(emu: EmulatorServer) -> None:
    t = emu.tenant
    claims = {"iss": t.issuer, "aud": t.gateway_audience, "sub": "x",
              "exp": int(time.time()) + 60}
    token = t.sign(claims, key="foreign")
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid not in {k["kid"] for k in t.keys.jwks()["keys"]}
    with pytest.raises(jwt.PyJWKClientError):
        verify(emu, token)


def test_hs256_public_key_token_is_a_valid_hmac(emu: EmulatorServer) -> None:
    t = emu.tenant
    token = t.sign({"sub": "x"}, key="hs256-public")
    # The attack: an HS256 verifier keyed with the published PEM accepts it.
    # (PyJWT refuses PEM-looking HMAC keys, so check the MAC by hand.)
    head, body, signature = token.split(".")
    mac = hmac.new(t.keys.current.public_pem, f"{head}.{body}".encode(), hashlib.sha256)
    assert hmac.compare_digest(mac.digest(), _unb64(signature))


def test_sign_with_next_key_requires_a_next_key(fresh_emu: EmulatorServer) -> None:
    t = fresh_emu.tenant
    with pytest.raises(ValueError):
        t.sign({"sub": "x"}, key="next")
    kid = t.keys.publish_next()
    assert jwt.get_unverified_header(t.sign({"sub": "x"}, key="next"))["kid"] == kid


def test_demo_tenant_is_deterministic() -> None:
    # No key is generated here: the key ring starts on first use.
    a, b = Tenant.demo(seed=7), Tenant.demo(seed=7)
    assert list(a.users) == list(b.users)
    assert [r.id for r in a.roles.values()] == [r.id for r in b.roles.values()]
    assert a.clients["gateway-read"].client_secret != b.clients["gateway-read"].client_secret
    assert list(Tenant.demo(seed=8).users) != list(a.users)


def test_snapshot_restore(emu: EmulatorServer) -> None:
    t = emu.tenant
    snap = t.snapshot()
    alice = t.user_id("alice")
    t.users[alice]["app_metadata"]["department"] = "hr"
    del t.users[t.user_id("bob")]
    t.add_client("temp", ["read:users"])
    t.restore(snap)
    assert t.users[alice]["app_metadata"]["department"] == "support"
    assert t.user_id("bob") in t.users
    assert "temp" not in t.clients
    t.users[alice]["name"] = "changed"
    assert snap.data()["users"][alice]["name"] == "Alice Anders"  # the snapshot is independent
