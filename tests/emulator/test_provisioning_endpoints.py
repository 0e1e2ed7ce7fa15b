"""The emulator's provisioning endpoints: Auth0's shapes, scopes and errors.

Every request and every 2xx answer is validated against Auth0's official
document (the vendored copy), and each endpoint refuses a token without the
scope Auth0's spec names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.extract_spec import SUPPORTED
from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api, client_token
from tests.support.official_spec import validate_official

PROVISIONING_SCOPES = [
    "read:resource_servers", "create:resource_servers", "update:resource_servers",
    "read:clients", "read:client_keys", "create:clients", "update:clients",
    "read:client_grants", "create:client_grants", "update:client_grants",
    "read:roles", "create:roles", "update:roles",
    "read:actions", "create:actions", "update:actions"]
PATHS = tuple(sorted({path for _, path in SUPPORTED}))


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    tenant = Tenant.demo()
    tenant.add_client("provisioner", PROVISIONING_SCOPES)
    tenant.add_client("reader", ["read:clients"])
    with EmulatorServer(tenant) as running:
        yield running


def test_provisioning_round_trip_validates_against_auth0s_document(
        server: EmulatorServer) -> None:
    t = server.tenant
    api = Api(server, client_token(server, "provisioner"))
    audience = "https://new-api.example.com/"

    created = api("POST", "/resource-servers", json={
        "identifier": audience, "name": "New API", "signing_alg": "RS256",
        "enforce_policies": True, "token_dialect": "access_token_authz",
        "scopes": [{"value": "things:read", "description": "Read things"}]})
    assert created.status_code == 201, created.text
    rs = created.json()
    assert api("POST", "/resource-servers", json={"identifier": audience}).status_code == 409
    listed = api("GET", "/resource-servers", params={"include_totals": "true"}).json()
    assert {s["identifier"] for s in listed["resource_servers"]} >= {
        audience, t.management_audience, t.gateway_audience}
    patched = api("PATCH", f"/resource-servers/{rs['id']}", json={
        "scopes": [{"value": "things:read", "description": "Read"},
                   {"value": "things:write", "description": "Write"}]})
    assert patched.status_code == 201
    assert [s["value"] for s in patched.json()["scopes"]] == ["things:read", "things:write"]

    m2m = api("POST", "/clients", json={"name": "Worker", "app_type": "non_interactive",
                                       "grant_types": ["client_credentials"],
                                       "client_metadata": {"managed_by": "test"}})
    assert m2m.status_code == 201 and m2m.json()["client_secret"]
    client_id = m2m.json()["client_id"]
    spa = api("POST", "/clients", json={"name": "Panel", "app_type": "spa",
                                       "callbacks": ["https://panel.example.com"],
                                       "web_origins": ["https://panel.example.com"],
                                       "token_endpoint_auth_method": "none"})
    assert spa.status_code == 201 and "client_secret" not in spa.json()
    assert spa.json()["client_id"] in t.spa_clients

    grant = api("POST", "/client-grants", json={"client_id": client_id,
                                                "audience": t.management_audience,
                                                "scope": ["read:users"]})
    assert grant.status_code == 201, grant.text
    assert t.clients[client_id].grant_scopes == ["read:users"]
    # The new application can mint a Management token with exactly that grant.
    assert api("POST", "/client-grants", json={"client_id": client_id,
                                               "audience": t.management_audience,
                                               "scope": []}).status_code == 409
    narrowed = api("PATCH", f"/client-grants/{grant.json()['id']}",
                   json={"scope": ["read:roles"]})
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == ["read:roles"]
    assert t.clients[client_id].grant_scopes == ["read:roles"]
    found = api("GET", "/client-grants", params={"client_id": client_id}).json()
    assert [g["scope"] for g in found] == [["read:roles"]]

    role = api("POST", "/roles", json={"name": "Thing Reader", "description": "reads"})
    assert role.status_code == 200
    role_id = role.json()["id"]
    perms = {"permissions": [{"resource_server_identifier": audience,
                              "permission_name": "things:read"}]}
    assert api("POST", f"/roles/{role_id}/permissions", json=perms).status_code == 201
    bad = {"permissions": [{"resource_server_identifier": audience,
                            "permission_name": "things:nope"}]}
    assert api("POST", f"/roles/{role_id}/permissions", json=bad).status_code == 400
    rows = api("GET", f"/roles/{role_id}/permissions").json()
    assert [(r["resource_server_identifier"], r["permission_name"]) for r in rows] == [
        (audience, "things:read")]
    assert api("DELETE", f"/roles/{role_id}/permissions", json=perms).status_code == 200
    assert api("GET", f"/roles/{role_id}/permissions").json() == []

    action = api("POST", "/actions/actions", json={
        "name": "claims", "supported_triggers": [{"id": "post-login", "version": "v3"}],
        "code": "exports.onExecutePostLogin = async () => {};", "runtime": "node22"})
    assert action.status_code == 201, action.text
    action_id = action.json()["id"]
    binding = {"bindings": [{"ref": {"type": "action_name", "value": "claims"},
                             "display_name": "claims"}]}
    # Not deployed yet: Auth0 refuses to bind it.
    assert api("PATCH", "/actions/triggers/post-login/bindings", json=binding).status_code == 400
    assert api("POST", f"/actions/actions/{action_id}/deploy").status_code == 202
    bound = api("PATCH", "/actions/triggers/post-login/bindings", json=binding)
    assert bound.status_code == 200, bound.text
    listed_bindings = api("GET", "/actions/triggers/post-login/bindings").json()
    assert [b["action"]["id"] for b in listed_bindings["bindings"]] == [action_id]
    assert api("GET", "/actions/actions", params={"actionName": "claims"}).json()["total"] == 1
    assert api("PATCH", f"/actions/actions/{action_id}",
               json={"code": "// changed"}).json()["all_changes_deployed"] is False
    assert api("GET", f"/actions/actions/{action_id}").status_code == 200

    checked = [e for e in t.request_log if e.route and not e.route.startswith("/api/v2/users")]
    assert len(checked) >= 20
    for entry in checked:
        validate_official(entry, PATHS)


def test_secrets_only_with_read_client_keys(server: EmulatorServer) -> None:
    reader = Api(server, client_token(server, "reader"))
    clients = reader("GET", "/clients").json()
    assert clients and all("client_secret" not in c for c in clients)
    provisioner = Api(server, client_token(server, "provisioner"))
    assert all("client_secret" in c for c in provisioner("GET", "/clients").json()
               if c["app_type"] == "non_interactive")


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("GET", "/resource-servers", "read:resource_servers"),
    ("POST", "/clients", "create:clients"),
    ("GET", "/client-grants", "read:client_grants"),
    ("POST", "/roles", "create:roles"),
    ("GET", "/actions/actions", "read:actions"),
    ("PATCH", "/actions/triggers/post-login/bindings", "update:actions"),
])
def test_each_endpoint_needs_its_scope(server: EmulatorServer, method: str, path: str,
                                       scope: str) -> None:
    reader = Api(server, client_token(server, "reader"))
    answer = reader(method, path, json={} if method != "GET" else None)
    assert answer.status_code == 403
    assert scope in answer.json()["message"]
