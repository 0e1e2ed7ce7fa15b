"""Permissions assigned to users directly, next to those their roles grant."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api

Conforms = Callable[[requests.Response], None]
DIRECT = {"source_id": "", "source_name": "", "source_type": "DIRECT"}


def quoted(user_id: str) -> str:
    return user_id.replace("|", "%7C")


def role_id(t: Tenant, name: str) -> str:
    return next(r.id for r in t.roles.values() if r.name == name)


def _body(t: Tenant, *names: str, api: str | None = None) -> dict[str, Any]:
    return {"permissions": [{"resource_server_identifier": api or t.gateway_audience,
                             "permission_name": name} for name in names]}


def _path(t: Tenant, alias: str) -> str:
    return f"/users/{quoted(t.user_id(alias))}/permissions"


def _by_name(api: Api, t: Tenant, alias: str) -> dict[str, list[dict[str, str]]]:
    return {p["permission_name"]: p["sources"] for p in api("GET", _path(t, alias)).json()}


def test_assign_direct_permissions(emu: EmulatorServer, full_api: Api,
                                   conforms: Conforms) -> None:
    t = emu.tenant
    created = full_api("POST", _path(t, "dave"), json=_body(t, "users:read", "audit:read"))
    assert created.status_code == 201 and created.json() == {}
    conforms(created)
    listed = full_api("GET", _path(t, "dave"), params={"include_totals": "true"})
    conforms(listed)
    body = listed.json()
    assert body["total"] == 2
    assert [p["permission_name"] for p in body["permissions"]] == ["audit:read", "users:read"]
    assert body["permissions"][0] == {
        "permission_name": "audit:read", "description": "audit:read",
        "resource_server_name": t.gateway_api_name,
        "resource_server_identifier": t.gateway_audience, "sources": [DIRECT]}
    # Direct permissions reach the user's access tokens, as with RBAC in Auth0.
    assert t.user_permission_names(t.user_id("dave")) == ["audit:read", "users:read"]


def test_direct_and_role_sources_together(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    assert full_api("POST", _path(t, "alice"), json=_body(t, "users:read", "users:delete")
                    ).status_code == 201
    sources = _by_name(full_api, t, "alice")
    reader = {"source_id": role_id(t, "Support Reader"), "source_name": "Support Reader",
              "source_type": "ROLE"}
    assert sources["users:read"] == [DIRECT, reader]
    assert sources["users:delete"] == [DIRECT]
    assert sources["roles:read"] == [reader]


def test_assigning_twice_keeps_one(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    for _ in range(2):
        assert full_api("POST", _path(t, "dave"), json=_body(t, "users:read")).status_code == 201
    assert _by_name(full_api, t, "dave") == {"users:read": [DIRECT]}


def test_remove_direct_permissions_is_idempotent(emu: EmulatorServer, full_api: Api,
                                                 conforms: Conforms) -> None:
    t = emu.tenant
    full_api("POST", _path(t, "alice"), json=_body(t, "users:read", "users:delete"))
    for _ in range(2):
        removed = full_api("DELETE", _path(t, "alice"), json=_body(t, "users:read",
                                                                   "users:delete"))
        assert removed.status_code == 204
        conforms(removed)
    sources = _by_name(full_api, t, "alice")
    assert "users:delete" not in sources
    assert sources["users:read"][0]["source_type"] == "ROLE"  # the role's grant stays
    assert t.user_permission_names(t.user_id("alice")) == sorted(
        ["users:read", "roles:read", "users:roles:read", "users:logs:read"])


def test_permissions_of_another_api(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    server = full_api("POST", "/resource-servers", json={
        "identifier": "https://reports.example.com/", "name": "Reports",
        "scopes": [{"value": "reports:read", "description": "Read reports"}]})
    assert server.status_code == 201
    assert full_api("POST", _path(t, "dave"), json=_body(
        t, "reports:read", api="https://reports.example.com/")).status_code == 201
    (row,) = full_api("GET", _path(t, "dave")).json()
    assert (row["resource_server_name"], row["description"]) == ("Reports", "Read reports")
    assert t.user_permission_names(t.user_id("dave")) == []  # not the gateway's API


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize("body,message", [
    ({"permissions": [{"resource_server_identifier": "https://nowhere.example.com/",
                       "permission_name": "users:read"}]},
     "Resource server https://nowhere.example.com/ does not exist"),
    ({"permissions": [{"resource_server_identifier": "{gateway}",
                       "permission_name": "users:fly"}]},
     "Permission users:fly does not exist for resource server {gateway}"),
    ({"permissions": [{"resource_server_identifier": "{gateway}"}]},
     "Payload validation error: 'Missing required property: permission_name' on property "
     "permissions[0]."),
    ({"permissions": [{"resource_server_identifier": "{gateway}",
                       "permission_name": "users:read", "note": "x"}]},
     "Payload validation error: 'Additional properties not allowed: note' on property "
     "permissions[0]."),
    ({"permissions": []},
     "Payload validation error: 'Array is too short (0), minimum 1' on property permissions "
     "(List of permissions to {verb} this user)."),
    ({"permissions": ["users:read"]},
     "Payload validation error: 'Expected type object but found type string' on property "
     "permissions[0]."),
    ({}, "Payload validation error: 'Missing required property: permissions'."),
], ids=["unknown-api", "unknown-permission", "no-name", "extra-field", "empty", "not-object",
        "missing"])
def test_bad_bodies(emu: EmulatorServer, full_api: Api, method: str, body: dict[str, Any],
                    message: str) -> None:
    t = emu.tenant
    verb = "add to" if method == "POST" else "remove from"
    filled = json.loads(json.dumps(body).replace("{gateway}", t.gateway_audience))
    response = full_api(method, _path(t, "dave"), json=filled)
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
        "message": message.replace("{gateway}", t.gateway_audience).replace("{verb}", verb)}
    assert t.accounts.direct_permissions.get(t.user_id("dave")) is None


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_user(emu: EmulatorServer, full_api: Api, method: str) -> None:
    kwargs = {} if method == "GET" else {"json": _body(emu.tenant, "users:read")}
    response = full_api(method, "/users/auth0%7Cnobody0000000000000000/permissions", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found",
                               "message": "The user does not exist.",
                               "errorCode": "inexistent_user"}


def test_deleting_a_user_drops_direct_permissions(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    full_api("POST", _path(t, "dave"), json=_body(t, "users:read"))
    assert full_api("DELETE", f"/users/{quoted(t.user_id('dave'))}").status_code == 204
    assert t.user_id("dave") not in t.accounts.direct_permissions
