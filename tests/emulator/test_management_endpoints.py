"""Each Management API operation: happy path, errors, and conformance to Auth0's spec."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api
from tests.support.emulator_samples import SAMPLES, sample

Conforms = Callable[[requests.Response], None]
EXPECTED_STATUS = {"GET": 200, "PATCH": 200, "DELETE": 204}
CREATED = {"post_users", "post_password-change", "post_verification-email"}
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "The user does not exist.",
             "errorCode": "inexistent_user"}
MISSING_ID = "auth0%7Cdoesnotexist000000000000"


def _role(t: Tenant, name: str) -> str:
    return next(r.id for r in t.roles.values() if r.name == name)


@pytest.mark.parametrize("op_id", sorted(SAMPLES))
def test_happy_path_conforms_to_spec(emu: EmulatorServer, api: Api, conforms: Conforms,
                                     op_id: str) -> None:
    method, path, kwargs = sample(op_id, emu.tenant)
    response = api(method, path, **kwargs)
    expected = 201 if op_id in CREATED else EXPECTED_STATUS.get(method, 204)
    assert response.status_code == expected, response.text
    conforms(response)
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert header in response.headers


@pytest.mark.parametrize("method,path,kwargs", [
    ("GET", "/users/{missing}", {}),
    ("PATCH", "/users/{missing}", {"json": {"blocked": True}}),
    ("GET", "/users/{missing}/roles", {}),
    ("POST", "/users/{missing}/roles", {"json": {"roles": ["{reader}"]}}),
    ("DELETE", "/users/{missing}/roles", {"json": {"roles": ["{reader}"]}}),
    ("GET", "/users/{missing}/permissions", {}),
    ("GET", "/user-blocks/{missing}", {}),
    ("DELETE", "/user-blocks/{missing}", {}),
    ("POST", "/tickets/password-change", {"json": {"user_id": "auth0|doesnotexist"}}),
], ids=["get-user", "patch-user", "get-roles", "assign-roles", "remove-roles", "permissions",
        "get-blocks", "delete-blocks", "password-change"])
def test_unknown_user_is_404(emu: EmulatorServer, api: Api, conforms: Conforms, method: str,
                             path: str, kwargs: dict[str, Any]) -> None:
    if "json" in kwargs and "roles" in kwargs["json"]:
        kwargs = {"json": {"roles": [_role(emu.tenant, "Support Reader")]}}
    response = api(method, path.replace("{missing}", MISSING_ID), **kwargs)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    conforms(response)


def test_verification_email_for_unknown_user(api: Api) -> None:
    # Auth0's spec lists no 404 here; the emulator still answers inexistent_user.
    response = api("POST", "/jobs/verification-email", json={"user_id": "auth0|nobody"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("op_id,expected", [
    ("delete_users_by_id", 204),
    ("delete_authenticators", 204),
], ids=["delete-user", "delete-authenticators"])
def test_deletes_of_unknown_users_succeed(api: Api, conforms: Conforms, op_id: str,
                                          expected: int) -> None:
    path = SAMPLES[op_id][1].replace("{victim}", MISSING_ID).replace("{alice}", MISSING_ID)
    response = api("DELETE", path)
    assert response.status_code == expected
    conforms(response)


# -- GET /users/{id} ------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["auth0|alice0000000000000000001",
                                 "auth0%7Calice0000000000000000001",
                                 "auth0%7calice0000000000000000001"],
                         ids=["pipe", "encoded", "encoded-lowercase"])
def test_user_id_decoded_once(emu: EmulatorServer, api: Api, raw: str) -> None:
    # http.client sends the path byte for byte (requests would re-quote it).
    connection = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    connection.request("GET", "/api/v2/users/" + raw,
                       headers={"Authorization": f"Bearer {api.token}"})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 200
    assert body["user_id"] == "auth0|alice0000000000000000001"
    entry = emu.tenant.request_log[-1]
    assert entry.raw_path == "/api/v2/users/" + raw
    assert entry.params == {"id": "auth0|alice0000000000000000001"}


def test_double_encoded_id_is_not_decoded_twice(api: Api) -> None:
    response = api("GET", "/users/auth0%257Calice0000000000000000001")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "inexistent_user"


def test_request_log_records_everything(emu: EmulatorServer, api: Api) -> None:
    alice = emu.tenant.user_id("alice")
    api("PATCH", "/users/" + alice.replace("|", "%7C") + "?x=1&x=2",
        json={"user_metadata": {"seen": True}})
    entry = emu.tenant.request_log[-1]
    assert entry.method == "PATCH"
    assert entry.route == "/api/v2/users/{id}"
    assert entry.query == {"x": ["1", "2"]}
    assert entry.json == {"user_metadata": {"seen": True}}
    assert entry.client_id == "gateway-all"
    assert "update:users" in entry.scopes
    assert entry.status == 200
    assert entry.response_json["user_id"] == alice
    assert emu.tenant.calls["PATCH /api/v2/users/{id}"] == 1


def _google_user(t: Tenant) -> str:
    return next(uid for uid in sorted(t.users) if uid.startswith("google-oauth2|"))


def test_idp_tokens_only_with_read_user_idp_tokens(
    emu: EmulatorServer, api: Api, scoped_token: Callable[[list[str]], str],
    api_as: Callable[[str | None], Api],
) -> None:
    google = _google_user(emu.tenant)
    plain = api("GET", "/users/" + google).json()
    assert plain["identities"][0]["provider"] == "google-oauth2"
    assert "access_token" not in plain["identities"][0]
    assert "refresh_token" not in plain["identities"][0]
    privileged = api_as(scoped_token(["read:users", "read:user_idp_tokens"]))
    full = privileged("GET", "/users/" + google).json()
    assert full["identities"][0]["access_token"].startswith("ya29.")
    assert full["identities"][0]["refresh_token"]
    listed = privileged("GET", "/users", params={"q": f'user_id:"{google}"'}).json()
    assert listed[0]["identities"][0]["access_token"]
    # The stored document keeps its tokens.
    assert emu.tenant.users[google]["identities"][0]["access_token"]


@pytest.mark.parametrize("params,keys", [
    ({"fields": "email,user_id"}, {"email", "user_id"}),
    ({"fields": "email,user_id", "include_fields": "true"}, {"email", "user_id"}),
    ({"fields": "identities,app_metadata", "include_fields": "false"}, None),
], ids=["include-default", "include-true", "exclude"])
def test_fields_selection(emu: EmulatorServer, api: Api, params: dict[str, str],
                          keys: set[str] | None) -> None:
    body = api("GET", "/users/" + emu.tenant.user_id("alice"), params=params).json()
    if keys is not None:
        assert set(body) == keys
    else:
        assert "identities" not in body and "app_metadata" not in body and "email" in body


def test_include_fields_must_be_boolean(emu: EmulatorServer, api: Api) -> None:
    response = api("GET", "/users/" + emu.tenant.user_id("alice"),
                   params={"fields": "email", "include_fields": "yes"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_query_string"
    assert response.json()["message"].startswith(
        "Query validation error: 'Expected type boolean but found type string' on property "
        "include_fields")


# -- GET /users-by-email ---------------------------------------------------------------


def test_users_by_email_is_case_insensitive(api: Api, conforms: Conforms) -> None:
    response = api("GET", "/users-by-email", params={"email": "ALICE@Example.com"})
    assert [u["email"] for u in response.json()] == ["alice@example.com"]
    conforms(response)
    assert api("GET", "/users-by-email", params={"email": "nobody@example.com"}).json() == []


def test_users_by_email_requires_email(api: Api) -> None:
    response = api("GET", "/users-by-email")
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400, "error": "Bad Request",
        "message": "Query validation error: 'Missing required property: email'.",
        "errorCode": "invalid_query_string",
    }


# -- PATCH /users/{id} -----------------------------------------------------------------


def test_patch_merges_metadata_first_level(emu: EmulatorServer, api: Api,
                                           conforms: Conforms) -> None:
    t = emu.tenant
    uid = t.user_id("dave")
    t.users[uid]["user_metadata"] = {"a": 1, "b": {"x": 1, "y": 2}, "c": 3}
    response = api("PATCH", "/users/" + uid,
                   json={"user_metadata": {"b": {"x": 9}, "c": None, "d": 4}})
    assert response.status_code == 200
    conforms(response)
    assert response.json()["user_metadata"] == {"a": 1, "b": {"x": 9}, "d": 4}
    cleared = api("PATCH", "/users/" + uid, json={"user_metadata": {}})
    assert cleared.json()["user_metadata"] == {}
    department = api("PATCH", "/users/" + uid, json={"app_metadata": {"department": "hr"}})
    assert department.json()["app_metadata"]["department"] == "hr"
    assert t.users[uid]["app_metadata"]["department"] == "hr"


def test_blocked_does_not_touch_brute_force_blocks(emu: EmulatorServer, api: Api) -> None:
    t = emu.tenant
    uid = next(iter(t.user_blocks))
    assert api("PATCH", "/users/" + uid, json={"blocked": True}).json()["blocked"] is True
    assert api("PATCH", "/users/" + uid, json={"blocked": False}).json()["blocked"] is False
    assert api("GET", "/user-blocks/" + uid).json()["blocked_for"]
    assert api("DELETE", "/user-blocks/" + uid).status_code == 204
    assert api("GET", "/user-blocks/" + uid).json() == {"blocked_for": []}


def test_patch_email_resets_verification(emu: EmulatorServer, api: Api) -> None:
    t = emu.tenant
    uid = t.user_id("dave")
    body = api("PATCH", "/users/" + uid, json={"email": "Dave.New@Example.com"}).json()
    assert body["email"] == "dave.new@example.com"
    assert body["email_verified"] is False
    named = api("PATCH", "/users/" + uid, json={"given_name": None, "name": "D"}).json()
    assert "given_name" not in named and named["name"] == "D"


@pytest.mark.parametrize("body,message", [
    ({"favourite_color": "blue"},
     "Payload validation error: 'Additional properties not allowed: favourite_color'."),
    ({"blocked": "yes"},
     "Payload validation error: 'Expected type boolean but found type string' on property "
     "blocked (Whether this user was blocked by an administrator (true) or not (false))."),
    ({"email": "not-an-email"},
     "Payload validation error: 'Object didn't pass validation for format email: "
     "not-an-email' on property email (Email address of this user)."),
    ({"user_metadata": "x"},
     "Payload validation error: 'Expected type object but found type string' on property "
     "user_metadata (User metadata to which this user has read/write access)."),
    ({"password": "x", "email": "a@b.co"}, "Cannot update password and email simultaneously."),
    ({"username": "x", "password": "y"}, "Cannot update username and password simultaneously."),
    ([1, 2], "Payload validation error: 'Expected type object but found type array'."),
], ids=["unknown-field", "wrong-type", "bad-email", "metadata-not-object", "password+email",
        "username+password", "not-an-object"])
def test_patch_validation(emu: EmulatorServer, api: Api, conforms: Conforms, body: Any,
                          message: str) -> None:
    response = api("PATCH", "/users/" + emu.tenant.user_id("dave"), json=body)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": message,
                               "errorCode": "invalid_body"}


def test_patch_social_user_email_refused(emu: EmulatorServer, api: Api) -> None:
    response = api("PATCH", "/users/" + _google_user(emu.tenant), json={"email": "x@y.co"})
    assert response.status_code == 400
    assert response.json()["message"] == "Cannot update email for non-database user."


def test_invalid_json(emu: EmulatorServer, api: Api) -> None:
    response = api("PATCH", "/users/" + emu.tenant.user_id("dave"), data="{nope",
                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request payload JSON format"


def test_metadata_scope_may_only_touch_metadata(
    emu: EmulatorServer, scoped_token: Callable[[list[str]], str],
    api_as: Callable[[str | None], Api],
) -> None:
    api = api_as(scoped_token(["update:users_app_metadata"]))
    uid = emu.tenant.user_id("dave")
    ok = api("PATCH", "/users/" + uid, json={"app_metadata": {"tier": "gold"}})
    assert ok.status_code == 200
    refused = api("PATCH", "/users/" + uid, json={"blocked": True})
    assert refused.status_code == 403
    assert refused.json()["message"] == "Insufficient scope, expected any of: update:users"


# -- POST /users -------------------------------------------------------------------------


def test_create_user_and_conflict(api: Api, conforms: Conforms) -> None:
    body = {"connection": "Username-Password-Authentication", "email": "New.Person@Example.com",
            "password": "a long passphrase", "app_metadata": {"department": "hr"},
            "given_name": "New"}
    created = api("POST", "/users", json=body)
    assert created.status_code == 201
    conforms(created)
    doc = created.json()
    assert doc["user_id"].startswith("auth0|")
    assert doc["email"] == "new.person@example.com"
    assert doc["identities"][0]["connection"] == "Username-Password-Authentication"
    assert "password" not in doc
    assert api("GET", "/users/" + doc["user_id"]).json()["app_metadata"] == {"department": "hr"}
    again = api("POST", "/users", json=body)
    assert again.status_code == 409
    conforms(again)
    assert again.json() == {"statusCode": 409, "error": "Conflict",
                            "message": "The user already exists.",
                            "errorCode": "auth0_idp_error"}


@pytest.mark.parametrize("body,message", [
    ({"email": "a@b.co", "password": "x"},
     "Payload validation error: 'Missing required property: connection'."),
    ({"connection": "nope", "email": "a@b.co", "password": "x"}, "Connection does not exist."),
    ({"connection": "google-oauth2", "email": "a@b.co", "password": "x"},
     "Connection does not support user creation through the API. It must either be a "
     "database or passwordless connection."),
    ({"connection": "Username-Password-Authentication", "password": "x"},
     "Payload validation error: 'Missing required property: email'."),
    ({"connection": "Username-Password-Authentication", "email": "a@b.co", "password": "x",
      "roles": []}, "Payload validation error: 'Additional properties not allowed: roles'."),
], ids=["no-connection", "unknown-connection", "social-connection", "no-email",
        "additional-property"])
def test_create_user_validation(api: Api, conforms: Conforms, body: dict[str, Any],
                                message: str) -> None:
    response = api("POST", "/users", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert response.json()["errorCode"] == "invalid_body"


def test_delete_user(emu: EmulatorServer, api: Api) -> None:
    t = emu.tenant
    uid = t.user_id("alice")
    assert api("DELETE", "/users/" + uid).status_code == 204
    assert api("GET", "/users/" + uid).status_code == 404
    assert uid not in t.user_roles


# -- roles and permissions ----------------------------------------------------------------


def test_assign_and_remove_roles(emu: EmulatorServer, api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    uid = t.user_id("dave")
    reader, editor = _role(t, "Support Reader"), _role(t, "Support Editor")
    assert api("GET", "/users/" + uid + "/roles").json() == []
    assert api("POST", "/users/" + uid + "/roles", json={"roles": [reader, editor]}
               ).status_code == 204
    listed = api("GET", "/users/" + uid + "/roles", params={"include_totals": "true"})
    conforms(listed)
    assert listed.json()["total"] == 2
    assert {r["name"] for r in listed.json()["roles"]} == {"Support Reader", "Support Editor"}
    assert set(listed.json()) == {"start", "limit", "total", "roles"}
    assert "users:update" in t.user_permission_names(uid)
    assert api("DELETE", "/users/" + uid + "/roles", json={"roles": [editor]}
               ).status_code == 204
    assert [r["name"] for r in api("GET", "/users/" + uid + "/roles").json()] == [
        "Support Reader"]


@pytest.mark.parametrize("body,status,message", [
    ({"roles": []}, 400, "Payload validation error: 'Array is too short (0), minimum 1' on "
     "property roles (List of roles IDs to associated with the user)."),
    ({"roles": ["rol_doesnotexist0000"]}, 404, "The role does not exist."),
    ({}, 400, "Payload validation error: 'Missing required property: roles'."),
], ids=["empty", "unknown-role", "missing"])
def test_assign_roles_validation(emu: EmulatorServer, api: Api, body: dict[str, Any],
                                 status: int, message: str) -> None:
    response = api("POST", "/users/" + emu.tenant.user_id("dave") + "/roles", json=body)
    assert response.status_code == status
    assert response.json()["message"] == message


def test_permissions_shape(emu: EmulatorServer, api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    response = api("GET", "/users/" + t.user_id("alice") + "/permissions")
    conforms(response)
    body = response.json()
    assert [p["permission_name"] for p in body] == t.user_permission_names(t.user_id("alice"))
    assert body[0]["resource_server_identifier"] == t.gateway_audience
    assert body[0]["sources"] == [{"source_id": _role(t, "Support Reader"),
                                   "source_name": "Support Reader", "source_type": "ROLE"}]
    paged = api("GET", "/users/" + t.user_id("alice") + "/permissions",
                params={"include_totals": "true", "per_page": 2, "page": 1})
    conforms(paged)
    assert paged.json()["start"] == 2 and len(paged.json()["permissions"]) == 2
    assert paged.json()["total"] == 4


def test_roles_listing(api: Api, conforms: Conforms) -> None:
    response = api("GET", "/roles", params={"name_filter": "SUPPORT", "include_totals": "true"})
    conforms(response)
    body = response.json()
    assert [r["name"] for r in body["roles"]] == ["Support Editor", "Support Reader"]
    assert (body["start"], body["limit"], body["total"]) == (0, 50, 2)
    page = api("GET", "/roles", params={"per_page": 1, "page": 2})
    assert [r["name"] for r in page.json()] == ["User Admin"]
    assert api("GET", "/roles", params={"per_page": 0}).status_code == 400


# -- logs -----------------------------------------------------------------------------


def test_user_logs(emu: EmulatorServer, api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    uid = max(t.logs, key=lambda u: len(t.logs[u]))
    newest_first = api("GET", f"/users/{uid}/logs").json()
    dates = [e["date"] for e in newest_first]
    assert dates == sorted(dates, reverse=True) and len(dates) == len(t.logs[uid])
    oldest_first = api("GET", f"/users/{uid}/logs", params={"sort": "date:1"}).json()
    assert [e["date"] for e in oldest_first] == sorted(dates)
    totals = api("GET", f"/users/{uid}/logs", params={"include_totals": "true", "per_page": 2})
    conforms(totals)
    assert set(totals.json()) == {"start", "limit", "length", "total", "logs"}
    assert totals.json()["length"] == 2
    assert all(e["user_id"] == uid for e in newest_first)


# -- tickets and jobs ---------------------------------------------------------------------


def test_password_change_ticket(emu: EmulatorServer, api: Api) -> None:
    response = api("POST", "/tickets/password-change",
                   json={"user_id": emu.tenant.user_id("alice"), "ttl_sec": 300})
    assert response.status_code == 201
    assert response.json()["ticket"].startswith(emu.url + "/lo/reset?ticket=")
    by_email = api("POST", "/tickets/password-change", json={
        "email": "alice@example.com",
        "connection_id": next(c.id for c in emu.tenant.connections.values()
                              if c.is_database)})
    assert by_email.status_code == 201
    social = api("POST", "/tickets/password-change",
                 json={"user_id": _google_user(emu.tenant)})
    assert social.status_code == 400
    assert social.json()["message"] == "The user's main connection does not support this " \
                                       "operation."


def test_verification_email_job(emu: EmulatorServer, api: Api) -> None:
    body = api("POST", "/jobs/verification-email",
               json={"user_id": emu.tenant.user_id("bob")}).json()
    assert body["type"] == "verification_email"
    assert body["status"] == "pending"
    assert body["id"].startswith("job_")


def test_delete_authenticators_clears_mfa(emu: EmulatorServer, api: Api) -> None:
    t = emu.tenant
    uid = next(u for u, doc in t.users.items() if doc.get("multifactor"))
    assert api("DELETE", f"/users/{uid}/authenticators").status_code == 204
    assert "multifactor" not in api("GET", "/users/" + uid).json()


def test_form_encoded_body(emu: EmulatorServer, api: Api) -> None:
    response = api("POST", "/jobs/verification-email", data={
        "user_id": emu.tenant.user_id("alice")})
    assert response.status_code == 201
