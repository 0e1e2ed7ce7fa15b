"""Bearer token checks on every Management API operation, as Auth0 answers them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api
from tests.support.emulator_samples import SAMPLES, sample, spec_template

OPERATIONS = sorted(SAMPLES)
INVALID = {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}


def spec_scopes(spec_dict: dict[str, Any], method: str, template: str) -> list[str]:
    operation = spec_dict["paths"][template][method.lower()]
    for requirement in operation["security"]:
        if "oAuth2ClientCredentials" in requirement:
            return list(requirement["oAuth2ClientCredentials"])
    raise AssertionError("operation without client-credentials scopes")


def _claims(t: Tenant, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": t.issuer, "sub": "gateway-all@clients", "aud": t.management_audience,
        "iat": now, "exp": now + 600, "scope": " ".join(t.clients["gateway-all"].grant_scopes
                                                         or []),
        "gty": "client-credentials", "azp": "gateway-all",
    }
    claims.update(overrides)
    return claims


BAD_TOKENS: dict[str, Callable[[Tenant], str]] = {
    "garbage": lambda t: "not-a-jwt",
    "expired": lambda t: t.sign(_claims(t, exp=int(time.time()) - 5)),
    "wrong-audience": lambda t: t.sign(_claims(t, aud=t.gateway_audience)),
    "audience-without-slash": lambda t: t.sign(_claims(t, aud=t.management_audience[:-1])),
    "wrong-issuer": lambda t: t.sign(_claims(t, iss=t.issuer.rstrip("/"))),
    "foreign-key": lambda t: t.sign(_claims(t), key="foreign"),
    "alg-none": lambda t: t.sign(_claims(t), {"alg": "none"}),
    "hs256-public": lambda t: t.sign(_claims(t), key="hs256-public"),
    "user-token": lambda t: t.issue_user_token("carol"),
    "tampered": lambda t: t.sign(_claims(t))[:-4] + "AAAA",
}


@pytest.mark.readonly_tenant
@pytest.mark.parametrize("op_id", OPERATIONS)
def test_missing_authorization(emu: EmulatorServer, api_as: Callable[[str | None], Api],
                               op_id: str) -> None:
    method, path, kwargs = sample(op_id, emu.tenant)
    response = api_as(None)(method, path, **kwargs)
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized",
                               "message": "Missing authentication"}


# The check is the same code for every operation: every kind on one operation,
# the kinds Auth0 users meet most on all of them.
EVERY_OPERATION_KINDS = ("garbage", "expired", "wrong-audience", "foreign-key")
INVALID_CASES = [("get_users_by_id", kind) for kind in sorted(BAD_TOKENS)] + [
    (op_id, kind) for op_id in OPERATIONS for kind in EVERY_OPERATION_KINDS
    if op_id != "get_users_by_id"]


@pytest.mark.readonly_tenant
@pytest.mark.parametrize("op_id,kind", INVALID_CASES,
                         ids=[f"{kind}-{op_id}" for op_id, kind in INVALID_CASES])
def test_invalid_tokens(emu: EmulatorServer, api_as: Callable[[str | None], Api], op_id: str,
                        kind: str) -> None:
    method, path, kwargs = sample(op_id, emu.tenant)
    response = api_as(BAD_TOKENS[kind](emu.tenant))(method, path, **kwargs)
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_non_bearer_scheme(emu: EmulatorServer, api_as: Callable[[str | None], Api]) -> None:
    response = api_as(None)("GET", "/roles", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 401
    assert response.json()["message"] == "Bad HTTP authentication header format"


@pytest.mark.parametrize("op_id", OPERATIONS)
def test_revoked_tokens(emu: EmulatorServer, op_id: str) -> None:
    t = emu.tenant
    client = t.add_client("revoked-" + op_id, t.clients["gateway-all"].grant_scopes)
    token, _ = t.mint_management_token(client)
    method, path, kwargs = sample(op_id, t)
    assert t.revoke_management_tokens(client.client_id) == 1
    response = Api(emu, token)(method, path, **kwargs)
    assert response.status_code == 401
    assert response.json() == INVALID
    # A token minted after the revocation works again.
    fresh, _ = t.mint_management_token(client)
    assert Api(emu, fresh)("GET", "/roles").status_code == 200


def test_revocation_is_per_client(emu: EmulatorServer, token_for: Callable[[str], str]) -> None:
    read = Api(emu, token_for("gateway-read"))
    write_token = token_for("gateway-write")
    emu.tenant.revoke_management_tokens("gateway-write")
    assert read("GET", "/roles").status_code == 200
    assert Api(emu, write_token)("POST", "/jobs/verification-email", json={
        "user_id": emu.tenant.user_id("alice")}).status_code == 401


@pytest.mark.parametrize("op_id", OPERATIONS)
def test_insufficient_scope_lists_the_spec_scopes(
    emu: EmulatorServer, scoped_token: Callable[[list[str]], str],
    api_as: Callable[[str | None], Api], spec_dict: dict[str, Any], op_id: str,
) -> None:
    method, path, kwargs = sample(op_id, emu.tenant)
    template = spec_template(op_id)
    expected = spec_scopes(spec_dict, method, template)
    response = api_as(scoped_token(["read:clients"]))(method, path, **kwargs)
    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403, "error": "Forbidden",
        "message": f"Insufficient scope, expected any of: {','.join(expected)}",
        "errorCode": "insufficient_scope",
    }


@pytest.mark.parametrize("op_id", OPERATIONS)
def test_each_accepted_scope_is_enough(
    emu: EmulatorServer, spec_dict: dict[str, Any], op_id: str
) -> None:
    # Only authorization is under test: a 404/409 after an earlier scope's deletion is fine.
    t = emu.tenant
    method, path, kwargs = sample(op_id, t)
    template = spec_template(op_id)
    for scope in spec_scopes(spec_dict, method, template):
        if "current_user" in scope:
            continue  # only for the token's own user; see the test below
        client = t.add_client("only-" + scope.replace(":", "-"), [scope])
        token, _ = t.mint_management_token(client)
        response = Api(emu, token)(method, path, **kwargs)
        assert response.status_code not in (401, 403), (scope, response.text)


def test_current_user_scope_only_for_own_user(emu: EmulatorServer) -> None:
    t = emu.tenant
    alice = t.user_id("alice")
    claims = _claims(t, sub=alice, scope="read:current_user")
    token = t.sign(claims)
    api = Api(emu, token)
    assert api("GET", "/users/" + alice).status_code == 200
    other = api("GET", "/users/" + t.user_id("bob"))
    assert other.status_code == 403
    assert other.json()["message"] == "User to be acted on does not match subject in bearer token."


def test_unauthorized_next_fault(emu: EmulatorServer, api: Api) -> None:
    emu.tenant.faults.unauthorized_next(2)
    assert [api("GET", "/roles").status_code for _ in range(3)] == [401, 401, 200]


def test_unknown_route(emu: EmulatorServer, api: Api) -> None:
    response = api("GET", "/connections")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found"}


def test_token_signed_by_promoted_key_works_and_revoked_key_fails(
    fresh_emu: EmulatorServer,
) -> None:
    t = fresh_emu.tenant
    old_token, _ = t.mint_management_token(t.clients["gateway-read"])
    old_kid = t.keys.current_kid
    t.keys.promote_next()
    new_token, _ = t.mint_management_token(t.clients["gateway-read"])
    assert Api(fresh_emu, old_token)("GET", "/roles").status_code == 200
    assert Api(fresh_emu, new_token)("GET", "/roles").status_code == 200
    t.keys.revoke(old_kid)
    assert Api(fresh_emu, old_token)("GET", "/roles").status_code == 401
    assert Api(fresh_emu, new_token)("GET", "/roles").status_code == 200


def test_dev_revoke_endpoint(emu: EmulatorServer, token_for: Callable[[str], str]) -> None:
    token = token_for("gateway-read")
    body = requests.post(emu.url + "/emulator/revoke-management-tokens",
                         json={"client_id": "gateway-read"}, timeout=5).json()
    assert body["revoked"] >= 1
    assert Api(emu, token)("GET", "/roles").status_code == 401


@pytest.mark.parametrize("headers,accepted", [
    ({"kid": None}, False),
    ({"crit": ["x"]}, False),
    ({"kid": "../../etc/passwd"}, False),
    ({"jku": "https://evil.example/jwks.json"}, True),  # ignored, as it must be
    ({"typ": "at+jwt"}, True),
], ids=["no-kid", "crit", "kid-traversal", "jku-ignored", "typ-ignored"])
def test_header_tricks(emu: EmulatorServer, api_as: Callable[[str | None], Api],
                       headers: dict[str, Any], accepted: bool) -> None:
    token = emu.tenant.sign(_claims(emu.tenant), headers)
    response = api_as(token)("GET", "/roles")
    assert response.status_code == (200 if accepted else 401)
