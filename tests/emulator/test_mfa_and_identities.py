"""MFA detail (enrollments, authentication methods, remembered browsers, recovery codes)
and unlinking identities."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api

Conforms = Callable[[requests.Response], None]
MISSING = "auth0%7Cnobody000000000000000000"
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "The user does not exist.",
             "errorCode": "inexistent_user"}


def linked_of(t: Tenant, alias: str) -> tuple[str, str]:
    identity = t.users[t.user_id(alias)]["identities"][1]
    return str(identity["provider"]), str(identity["user_id"])


def quoted(user_id: str) -> str:
    return user_id.replace("|", "%7C")


def _path(t: Tenant, alias: str, rest: str) -> str:
    return f"/users/{quoted(t.user_id(alias))}{rest}"


def _types(api: Api, t: Tenant, alias: str) -> list[str]:
    return [m["type"] for m in api("GET", _path(t, alias, "/authentication-methods")).json()]


# -- enrollments --------------------------------------------------------------------------


def test_enrollment_is_the_first_confirmed_factor(emu: EmulatorServer, full_api: Api,
                                                  conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("GET", _path(t, "carol", "/enrollments"))
    conforms(response)
    (enrollment,) = response.json()
    phone = t.accounts.auth_methods[t.user_id("carol")][0]
    assert enrollment["id"] == phone["id"].split("|", 1)[1]
    assert enrollment["status"] == "confirmed"
    assert enrollment["auth_method"] == "sms"
    assert re.fullmatch(r"X+\d{4}", enrollment["phone_number"])
    assert {"enrolled_at", "last_auth", "name", "type"} <= set(enrollment)
    push = full_api("GET", _path(t, "erin", "/enrollments")).json()
    assert [(e["auth_method"], e["type"]) for e in push] == [("guardian", "pn")]
    assert push[0]["identifier"]
    assert full_api("GET", _path(t, "bob", "/enrollments")).json()[0]["auth_method"] == \
        "authenticator"
    assert full_api("GET", _path(t, "alice", "/enrollments")).json() == []


def test_enrollments_of_own_user_with_current_user_scope(emu: EmulatorServer) -> None:
    t = emu.tenant
    carol = t.user_id("carol")
    token = t.sign({"iss": t.issuer, "sub": carol, "aud": t.management_audience,
                    "iat": 0, "exp": 4102444800, "scope": "read:current_user"})
    api = Api(emu, token)
    assert api("GET", f"/users/{quoted(carol)}/enrollments").status_code == 200
    assert api("GET", _path(t, "bob", "/enrollments")).status_code == 403


# -- authentication methods ----------------------------------------------------------------


def test_authentication_methods_shape(emu: EmulatorServer, full_api: Api,
                                      conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("GET", _path(t, "carol", "/authentication-methods"))
    conforms(response)
    methods = response.json()
    assert [m["type"] for m in methods] == ["phone", "webauthn-roaming", "email",
                                            "recovery-code"]
    phone, key, email, recovery = methods
    assert phone["preferred_authentication_method"] == "sms"
    assert phone["authentication_methods"] == [
        {"id": "sms|" + phone["id"].split("|", 1)[1], "type": "sms"}]
    assert email["email"] == "caro*@exam*******"  # masked as Auth0 masks it
    assert key["relying_party_identifier"] and key["key_id"]
    assert all(m["confirmed"] and m["id"].startswith(m["type"] + "|dev_") for m in methods)
    totals = full_api("GET", _path(t, "carol", "/authentication-methods"),
                      params={"include_totals": "true", "per_page": 1, "page": 1})
    conforms(totals)
    assert totals.json() == {"start": 1, "limit": 1, "total": 4, "authenticators": [key]}
    one = full_api("GET", _path(t, "carol", f"/authentication-methods/{quoted(key['id'])}"))
    conforms(one)
    assert one.json() == key
    assert full_api("GET", _path(t, "dave", "/authentication-methods")).json() == []


@pytest.mark.parametrize("method,rest", [
    ("GET", "/enrollments"),
    ("GET", "/authentication-methods"),
    ("GET", "/authentication-methods/totp%7Cdev_x"),
    ("DELETE", "/authentication-methods/totp%7Cdev_x"),
    ("POST", "/multifactor/actions/invalidate-remember-browser"),
    ("POST", "/recovery-code-regeneration"),
], ids=["enrollments", "methods", "method", "delete-method", "remember-browser",
        "recovery-code"])
def test_unknown_user(full_api: Api, method: str, rest: str) -> None:
    response = full_api(method, f"/users/{MISSING}{rest}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_method(emu: EmulatorServer, full_api: Api, method: str) -> None:
    response = full_api(method, _path(emu.tenant, "carol", "/authentication-methods/"
                                                           "totp%7Cdev_nosuchdevice00"))
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found",
                               "message": "The authentication method does not exist.",
                               "errorCode": "inexistent_authentication_method"}


def test_delete_one_method(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    phone = t.accounts.auth_methods[t.user_id("carol")][0]["id"]
    path = _path(t, "carol", f"/authentication-methods/{quoted(phone)}")
    assert full_api("DELETE", path).status_code == 204
    assert full_api("DELETE", path).status_code == 404  # gone: the spec's 404
    assert _types(full_api, t, "carol") == ["webauthn-roaming", "email", "recovery-code"]
    # The enrollment moves on to the next confirmed factor.
    assert full_api("GET", _path(t, "carol", "/enrollments")).json()[0]["auth_method"] == \
        "webauthn-roaming"
    assert full_api("GET", _path(t, "carol", "")).json()["multifactor"] == ["guardian"]


def test_deleting_the_last_factor_ends_mfa(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    assert full_api("GET", _path(t, "bob", "")).json()["multifactor"] == ["guardian"]
    totp = t.accounts.auth_methods[t.user_id("bob")][0]["id"]
    assert full_api("DELETE", _path(t, "bob", f"/authentication-methods/{quoted(totp)}")
                    ).status_code == 204
    assert _types(full_api, t, "bob") == []  # the recovery code went with it
    assert "multifactor" not in full_api("GET", _path(t, "bob", "")).json()
    assert full_api("GET", _path(t, "bob", "/enrollments")).json() == []


def test_delete_all_methods_is_idempotent(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    for _ in range(2):
        assert full_api("DELETE", _path(t, "carol", "/authentication-methods")
                        ).status_code == 204
    assert _types(full_api, t, "carol") == []
    assert full_api("GET", _path(t, "carol", "/enrollments")).json() == []
    assert "multifactor" not in full_api("GET", _path(t, "carol", "")).json()
    assert _types(full_api, t, "bob") == ["totp", "recovery-code"]
    assert full_api("DELETE", f"/users/{MISSING}/authentication-methods").status_code == 204


def test_delete_authenticators_wipes_methods_and_enrollments(emu: EmulatorServer,
                                                            full_api: Api) -> None:
    t = emu.tenant
    assert full_api("DELETE", _path(t, "erin", "/authenticators")).status_code == 204
    assert _types(full_api, t, "erin") == []
    assert full_api("GET", _path(t, "erin", "/enrollments")).json() == []
    assert "multifactor" not in full_api("GET", _path(t, "erin", "")).json()


def test_seeded_multifactor_users_have_methods(emu: EmulatorServer) -> None:
    t = emu.tenant
    with_flag = {u for u, doc in t.users.items() if doc.get("multifactor")}
    assert with_flag == {u for u in t.users if t.accounts.has_mfa(u)}
    assert len(with_flag) > 10


# -- remembered browsers, recovery codes ------------------------------------------------


def test_invalidate_remember_browser(emu: EmulatorServer, full_api: Api,
                                     conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("POST", _path(t, "bob", "/multifactor/actions/"
                                                "invalidate-remember-browser"))
    assert response.status_code == 204
    conforms(response)
    assert t.user_id("bob") in t.accounts.browsers_forgotten_at


def test_recovery_code_regeneration(emu: EmulatorServer, full_api: Api,
                                    conforms: Conforms) -> None:
    t = emu.tenant
    before = [m["id"] for m in t.accounts.auth_methods[t.user_id("bob")]]
    codes = set()
    for _ in range(2):
        response = full_api("POST", _path(t, "bob", "/recovery-code-regeneration"))
        assert response.status_code == 200
        conforms(response)
        assert re.fullmatch(r"[A-Z0-9]{24}", response.json()["recovery_code"])
        codes.add(response.json()["recovery_code"])
    assert len(codes) == 2
    after = [m for m in full_api("GET", _path(t, "bob", "/authentication-methods")).json()]
    assert [m["type"] for m in after] == ["totp", "recovery-code"]
    assert after[0]["id"] == before[0] and after[1]["id"] != before[1]


def test_recovery_code_needs_an_enrollment(emu: EmulatorServer, full_api: Api) -> None:
    response = full_api("POST", _path(emu.tenant, "alice", "/recovery-code-regeneration"))
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found",
                               "message": "Enrollment not found",
                               "errorCode": "enrollment_not_found"}


# -- unlinking identities -------------------------------------------------------------------


def test_linked_user_shows_both_identities(emu: EmulatorServer, full_api: Api,
                                           conforms: Conforms) -> None:
    t = emu.tenant
    for alias in ("bob", "dave"):
        response = full_api("GET", _path(t, alias, ""))
        conforms(response)
        primary, secondary = response.json()["identities"]
        assert primary["provider"] == "auth0"
        assert secondary["provider"] == "google-oauth2" and secondary["isSocial"] is True
        assert secondary["profileData"]["email"].endswith("@gmail.com")


def test_unlink_restores_the_secondary_user(emu: EmulatorServer, full_api: Api,
                                            conforms: Conforms) -> None:
    t = emu.tenant
    provider, secondary_id = linked_of(t, "bob")
    profile = t.users[t.user_id("bob")]["identities"][1]["profileData"]
    response = full_api("DELETE", _path(t, "bob", f"/identities/{provider}/{secondary_id}"))
    assert response.status_code == 200
    conforms(response)
    assert response.json() == [{"connection": "Username-Password-Authentication",
                                "user_id": t.user_id("bob").split("|", 1)[1],
                                "provider": "auth0", "isSocial": False}]
    assert len(full_api("GET", _path(t, "bob", "")).json()["identities"]) == 1
    restored = full_api("GET", f"/users/{provider}%7C{secondary_id}")
    assert restored.status_code == 200
    conforms(restored)
    user = restored.json()
    assert user["user_id"] == f"{provider}|{secondary_id}"
    assert user["email"] == profile["email"] and user["name"] == profile["name"]
    assert "app_metadata" not in user and "user_metadata" not in user  # no metadata
    (identity,) = user["identities"]
    assert (identity["provider"], identity["user_id"]) == (provider, secondary_id)
    assert "profileData" not in identity
    # Unlinked: a second attempt finds nothing to unlink.
    again = full_api("DELETE", _path(t, "bob", f"/identities/{provider}/{secondary_id}"))
    assert again.status_code == 404


def test_unlink_hides_idp_tokens_without_the_scope(
    emu: EmulatorServer, scoped_token: Callable[[list[str]], str],
    api_as: Callable[[str | None], Api],
) -> None:
    t = emu.tenant
    bob = t.users[t.user_id("bob")]
    # Link a second social identity so one remains in the answer.
    extra: dict[str, Any] = {"connection": "google-oauth2", "user_id": "1", "provider":
                             "google-oauth2", "isSocial": True, "access_token": "ya29.secret"}
    bob["identities"].append(extra)
    provider, secondary_id = linked_of(t, "bob")
    api = api_as(scoped_token(["update:users"]))
    remaining = api("DELETE", _path(t, "bob", f"/identities/{provider}/{secondary_id}")).json()
    assert [i["user_id"] for i in remaining][1:] == ["1"]
    assert "access_token" not in remaining[1]


@pytest.mark.parametrize("target,status,error,message,code", [
    ("primary", 400, "Bad Request", "Main identity cannot be unlinked from its own user.",
     "invalid_uri"),
    ("unknown", 404, "Not Found", "The identity does not exist.", "inexistent_identity"),
], ids=["primary", "unknown-identity"])
def test_unlink_refusals(emu: EmulatorServer, full_api: Api, target: str, status: int,
                         error: str, message: str, code: str) -> None:
    t = emu.tenant
    bob = t.user_id("bob")
    rest = f"/identities/auth0/{bob.split('|', 1)[1]}" if target == "primary" \
        else "/identities/google-oauth2/999"
    response = full_api("DELETE", _path(t, "bob", rest))
    assert response.status_code == status
    assert response.json() == {"statusCode": status, "error": error,
                               "message": message, "errorCode": code}
    assert len(t.users[bob]["identities"]) == 2


def test_unlink_for_unknown_user(full_api: Api) -> None:
    response = full_api("DELETE", f"/users/{MISSING}/identities/google-oauth2/1")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_unlink_with_current_user_scope(emu: EmulatorServer) -> None:
    t = emu.tenant
    dave = t.user_id("dave")
    token = t.sign({"iss": t.issuer, "sub": dave, "aud": t.management_audience, "iat": 0,
                    "exp": 4102444800, "scope": "update:current_user_identities"})
    provider, secondary_id = linked_of(t, "dave")
    api = Api(emu, token)
    assert api("DELETE", _path(t, "dave", f"/identities/{provider}/{secondary_id}")
               ).status_code == 200
    provider, secondary_id = linked_of(t, "bob")
    refused = api("DELETE", _path(t, "bob", f"/identities/{provider}/{secondary_id}"))
    assert refused.status_code == 403
