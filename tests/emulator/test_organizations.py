"""Organization members, their roles, invitations, a user's organizations, role users."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api

Conforms = Callable[[requests.Response], None]
NO_ORG = {"statusCode": 404, "error": "Not Found",
          "message": "No organization found by that id or name"}
MISSING_ORG = "org_doesnotexist0000"


def org_id(t: Tenant, name: str) -> str:
    return next(o.id for o in t.organizations.values() if o.name == name)


def quoted(user_id: str) -> str:
    return user_id.replace("|", "%7C")


def role_id(t: Tenant, name: str) -> str:
    return next(r.id for r in t.roles.values() if r.name == name)


def _members(api: Api, t: Tenant, org: str, **params: Any) -> Any:
    return api("GET", f"/organizations/{org_id(t, org)}/members", params=params).json()


def _member_ids(api: Api, t: Tenant, org: str) -> list[str]:
    return [m["user_id"] for m in _members(api, t, org, per_page=100)]


# -- a user's organizations --------------------------------------------------------------


def test_user_organizations(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("GET", f"/users/{quoted(t.user_id('erin'))}/organizations",
                        params={"include_totals": "true"})
    conforms(response)
    acme = org_id(t, "acme")
    assert response.json() == {"start": 0, "limit": 50, "total": 1, "organizations": [
        {"id": acme, "name": "acme", "display_name": "Acme Corp"}]}
    assert t.users[t.user_id("erin")]["app_metadata"]["org_id"] == acme
    assert full_api("GET", f"/users/{quoted(t.user_id('dave'))}/organizations").json() == []
    missing = full_api("GET", "/users/auth0%7Cnobody/organizations")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "inexistent_user"


# -- members -------------------------------------------------------------------------------


def test_members_shape(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("GET", f"/organizations/{org_id(t, 'acme')}/members")
    conforms(response)
    members = response.json()
    assert [m["user_id"] for m in members[:2]] == [t.user_id("erin"), t.user_id("bob")]
    assert members[0] == {"user_id": t.user_id("erin"), "email": "erin@example.com",
                          "picture": t.users[t.user_id("erin")]["picture"],
                          "name": "Erin Evans"}
    assert len(members) > 5  # the org with a few members
    # Members whose app_metadata names the org are members of it.
    assert {u for u, doc in t.users.items()
            if doc["app_metadata"].get("org_id") == org_id(t, "acme")} <= set(
        m["user_id"] for m in members)
    totals = full_api("GET", f"/organizations/{org_id(t, 'acme')}/members",
                      params={"include_totals": "true", "per_page": 2, "page": 1})
    assert totals.json()["total"] == len(members)
    assert [m["user_id"] for m in totals.json()["members"]] == [
        m["user_id"] for m in members[2:4]]
    assert set(totals.json()) == {"start", "limit", "total", "members"}


def test_members_with_roles(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    response = full_api("GET", f"/organizations/{org_id(t, 'acme')}/members",
                        params={"fields": "user_id,roles", "include_fields": "true"})
    conforms(response)
    erin, bob = response.json()[:2]
    assert erin == {"user_id": t.user_id("erin"), "roles": [
        {"id": role_id(t, "Support Reader"), "name": "Support Reader"}]}
    assert bob == {"user_id": t.user_id("bob"), "roles": []}
    without = full_api("GET", f"/organizations/{org_id(t, 'acme')}/members",
                       params={"fields": "email", "include_fields": "false"}).json()
    assert set(without[0]) == {"user_id", "picture", "name"}


def test_member_roles_need_their_scope(emu: EmulatorServer,
                                       scoped_token: Callable[[list[str]], str],
                                       api_as: Callable[[str | None], Api]) -> None:
    t = emu.tenant
    api = api_as(scoped_token(["read:organization_members"]))
    path = f"/organizations/{org_id(t, 'acme')}/members"
    assert api("GET", path).status_code == 200
    refused = api("GET", path, params={"fields": "roles"})
    assert refused.status_code == 403
    assert refused.json() == {"statusCode": 403, "error": "Forbidden", "message":
                              "Insufficient scope, expected any of: "
                              "read:organization_member_roles",
                              "errorCode": "insufficient_scope"}


def test_members_checkpoint_paging(emu: EmulatorServer, full_api: Api,
                                   conforms: Conforms) -> None:
    t = emu.tenant
    everyone = _member_ids(full_api, t, "acme")
    seen: list[str] = []
    params: dict[str, Any] = {"take": 4}
    while True:
        response = full_api("GET", f"/organizations/{org_id(t, 'acme')}/members",
                            params=params)
        body = response.json()
        seen += [m["user_id"] for m in body["members"]]
        if "next" not in body:
            # {"members": [...]} alone matches two of the spec's oneOf branches, so
            # openapi-core refuses it; it is what Auth0 answers (go-auth0's recordings).
            assert set(body) == {"members"}
            break
        conforms(response)
        assert set(body) == {"members", "next"}
        params = {"take": 4, "from": body["next"]}
    assert seen == everyone
    assert _members(full_api, t, "acme", take=2, **{"from": "bm9ib2R5"}) == {"members": []}


def test_add_and_remove_members(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    globex = org_id(t, "globex")
    alice, bob = t.user_id("alice"), t.user_id("bob")
    for _ in range(2):  # adding a member twice keeps one membership
        added = full_api("POST", f"/organizations/{globex}/members",
                         json={"members": [alice, bob]})
        assert added.status_code == 204
        conforms(added)
    assert _member_ids(full_api, t, "globex").count(alice) == 1
    orgs = full_api("GET", f"/users/{quoted(alice)}/organizations").json()
    assert [o["name"] for o in orgs] == ["globex"]
    for _ in range(2):
        removed = full_api("DELETE", f"/organizations/{globex}/members",
                           json={"members": [alice]})
        assert removed.status_code == 204
    assert alice not in _member_ids(full_api, t, "globex")
    assert bob in _member_ids(full_api, t, "globex")


def test_removing_a_member_drops_their_org_roles(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    acme, erin = org_id(t, "acme"), t.user_id("erin")
    assert full_api("DELETE", f"/organizations/{acme}/members",
                    json={"members": [erin]}).status_code == 204
    assert full_api("GET", f"/organizations/{acme}/members/{quoted(erin)}/roles").json() == []


@pytest.mark.parametrize("body,message", [
    ({"members": []}, "Payload validation error: 'Array is too short (0), minimum 1' on "
                      "property members (List of user IDs to add to the organization as "
                      "members)."),
    ({}, "Payload validation error: 'Missing required property: members'."),
    ({"members": ["auth0|nobody"]}, "One or more of the users do not exist."),
], ids=["empty", "missing", "unknown-user"])
def test_add_members_validation(emu: EmulatorServer, full_api: Api, body: dict[str, Any],
                                message: str) -> None:
    response = full_api("POST", f"/organizations/{org_id(emu.tenant, 'globex')}/members",
                        json=body)
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert response.json()["errorCode"] == "invalid_body"


# -- member roles --------------------------------------------------------------------------


def test_member_roles(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    acme, bob = org_id(t, "acme"), quoted(t.user_id("bob"))
    path = f"/organizations/{acme}/members/{bob}/roles"
    assert full_api("GET", path).json() == []
    admin, reader = role_id(t, "User Admin"), role_id(t, "Support Reader")
    for _ in range(2):
        assert full_api("POST", path, json={"roles": [admin, reader]}).status_code == 204
    listed = full_api("GET", path, params={"include_totals": "true"})
    conforms(listed)
    assert listed.json()["total"] == 2
    assert [r["name"] for r in listed.json()["roles"]] == ["User Admin", "Support Reader"]
    assert set(listed.json()["roles"][0]) == {"id", "name", "description"}
    # Roles in an organization are not the user's tenant roles.
    assert [r["name"] for r in full_api("GET", f"/users/{bob}/roles").json()] == [
        "Support Editor"]
    for _ in range(2):
        assert full_api("DELETE", path, json={"roles": [admin]}).status_code == 204
    assert [r["name"] for r in full_api("GET", path).json()] == ["Support Reader"]


def test_member_roles_refusals(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    acme = org_id(t, "acme")
    reader = role_id(t, "Support Reader")
    not_member = full_api("POST", f"/organizations/{acme}/members/"
                                  f"{quoted(t.user_id('dave'))}/roles", json={"roles": [reader]})
    assert not_member.status_code == 400
    assert not_member.json()["message"] == "The user is not a member of the organization."
    erin = quoted(t.user_id("erin"))
    unknown_role = full_api("POST", f"/organizations/{acme}/members/{erin}/roles",
                            json={"roles": ["rol_nosuchrole000000"]})
    assert unknown_role.status_code == 404
    assert unknown_role.json()["message"] == "The role does not exist."
    unknown_user = full_api("GET", f"/organizations/{acme}/members/auth0%7Cnobody/roles")
    assert unknown_user.status_code == 404
    assert unknown_user.json()["errorCode"] == "inexistent_user"
    empty = full_api("POST", f"/organizations/{acme}/members/{erin}/roles", json={"roles": []})
    assert empty.status_code == 400


# -- invitations ---------------------------------------------------------------------------


def test_invitations_listing(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    acme = org_id(t, "acme")
    listed = full_api("GET", f"/organizations/{acme}/invitations")
    conforms(listed)
    (invitation,) = listed.json()
    assert invitation["organization_id"] == acme
    assert invitation["invitee"] == {"email": "new.hire.acme@example.com"}
    assert invitation["inviter"] == {"name": "Erin Evans"}
    assert invitation["invitation_url"].startswith("https://")
    assert f"organization={acme}" in invitation["invitation_url"]
    assert invitation["ticket_id"] in invitation["invitation_url"]
    totals = full_api("GET", f"/organizations/{acme}/invitations",
                      params={"include_totals": "true"})
    conforms(totals)
    assert totals.json() == {"invitations": [invitation], "start": 0, "limit": 50}
    fields = full_api("GET", f"/organizations/{acme}/invitations",
                      params={"fields": "id,invitee"}).json()
    assert fields == [{"id": invitation["id"], "invitee": invitation["invitee"]}]
    bad_sort = full_api("GET", f"/organizations/{acme}/invitations", params={"sort": "x"})
    assert bad_sort.status_code == 400


def test_create_and_delete_invitation(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    acme = org_id(t, "acme")
    body = {"inviter": {"name": "Carol Chen"}, "invitee": {"email": "sam@example.com"},
            "client_id": t.panel_client_id, "ttl_sec": 3600,
            "roles": [role_id(t, "Support Reader")], "app_metadata": {"team": "support"}}
    created = full_api("POST", f"/organizations/{acme}/invitations", json=body)
    assert created.status_code == 201
    invitation = created.json()
    assert invitation["id"].startswith("uinv_")
    assert invitation["app_metadata"] == {"team": "support"}
    start = datetime.datetime.fromisoformat(invitation["created_at"])
    end = datetime.datetime.fromisoformat(invitation["expires_at"])
    assert end - start == datetime.timedelta(seconds=3600)
    listed = full_api("GET", f"/organizations/{acme}/invitations",
                      params={"sort": "created_at:-1"}).json()
    assert listed[0] == invitation
    path = f"/organizations/{acme}/invitations/{invitation['id']}"
    for _ in range(2):
        assert full_api("DELETE", path).status_code == 204
    assert [i["id"] for i in full_api("GET", f"/organizations/{acme}/invitations").json()] \
        == [i["id"] for i in listed[1:]]


@pytest.mark.parametrize("change,status,message", [
    ({"invitee": None}, 400, "Payload validation error: 'Missing required property: invitee'."),
    ({"invitee": {}}, 400, "Payload validation error: 'Missing required property: email' on "
                           "property invitee."),
    ({"inviter": {"name": "A", "title": "B"}}, 400, "Payload validation error: 'Additional "
                                                    "properties not allowed: title' on property "
                                                    "inviter."),
    ({"client_id": "nosuchclient"}, 400, "The client nosuchclient does not exist."),
    ({"ttl_sec": 2592001}, 400, "Payload validation error: 'Value 2592001 is greater than "
                                "maximum 2592000' on property ttl_sec (Number of seconds for "
                                "which the invitation is valid before expiration. If "
                                "unspecified or set to 0, this value defaults to 604800 "
                                "seconds (7 days). Max value: 2592000 seconds (30 days))."),
    ({"roles": ["rol_nosuchrole000000"]}, 404, "The role does not exist."),
    ({"surprise": 1}, 400, "Payload validation error: 'Additional properties not allowed: "
                           "surprise'."),
], ids=["no-invitee", "invitee-without-email", "inviter-extra", "unknown-client", "long-ttl",
        "unknown-role", "unknown-field"])
def test_create_invitation_validation(emu: EmulatorServer, full_api: Api,
                                      change: dict[str, Any], status: int,
                                      message: str) -> None:
    t = emu.tenant
    body: dict[str, Any] = {"inviter": {"name": "Carol"}, "invitee": {"email": "s@example.com"},
                            "client_id": t.panel_client_id}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = full_api("POST", f"/organizations/{org_id(t, 'acme')}/invitations", json=body)
    assert response.status_code == status
    assert response.json()["message"] == message


# -- unknown organization ------------------------------------------------------------------


def _alice(t: Tenant) -> str:
    return quoted(t.user_id("alice"))


ORG_REQUESTS: dict[str, Callable[[Tenant], tuple[str, str, dict[str, Any]]]] = {
    "members": lambda t: ("GET", "/members", {}),
    "add-members": lambda t: ("POST", "/members", {"json": {"members": [t.user_id("alice")]}}),
    "remove-members": lambda t: ("DELETE", "/members",
                                 {"json": {"members": [t.user_id("alice")]}}),
    "member-roles": lambda t: ("GET", f"/members/{_alice(t)}/roles", {}),
    "add-member-roles": lambda t: ("POST", f"/members/{_alice(t)}/roles",
                                   {"json": {"roles": [role_id(t, "Support Reader")]}}),
    "remove-member-roles": lambda t: ("DELETE", f"/members/{_alice(t)}/roles",
                                      {"json": {"roles": [role_id(t, "Support Reader")]}}),
    "invitations": lambda t: ("GET", "/invitations", {}),
    "invite": lambda t: ("POST", "/invitations", {"json": {
        "inviter": {"name": "A"}, "invitee": {"email": "a@example.com"},
        "client_id": t.panel_client_id}}),
    "delete-invitation": lambda t: ("DELETE", "/invitations/uinv_0000000000000001", {}),
}


@pytest.mark.parametrize("name", sorted(ORG_REQUESTS))
def test_unknown_organization(emu: EmulatorServer, full_api: Api, name: str) -> None:
    method, rest, kwargs = ORG_REQUESTS[name](emu.tenant)
    response = full_api(method, f"/organizations/{MISSING_ORG}{rest}", **kwargs)
    assert response.status_code == 404
    assert response.json() == NO_ORG


# -- users of a role -----------------------------------------------------------------------


def _holders(t: Tenant, role: str) -> list[str]:
    wanted = role_id(t, role)
    return sorted(u for u, roles in t.user_roles.items() if wanted in roles)


def test_role_users_offset_paging(emu: EmulatorServer, full_api: Api,
                                  conforms: Conforms) -> None:
    t = emu.tenant
    path = f"/roles/{role_id(t, 'Support Reader')}/users"
    holders = _holders(t, "Support Reader")
    assert t.user_id("alice") in holders and len(holders) > 10
    plain = full_api("GET", path)
    conforms(plain)
    assert [u["user_id"] for u in plain.json()] == holders
    alice = next(u for u in plain.json() if u["user_id"] == t.user_id("alice"))
    assert alice == {"user_id": t.user_id("alice"), "email": "alice@example.com",
                     "picture": t.users[t.user_id("alice")]["picture"], "name": "Alice Anders"}
    page = full_api("GET", path, params={"page": 1, "per_page": 5, "include_totals": "true"})
    conforms(page)
    body = page.json()
    assert (body["start"], body["limit"], body["total"]) == (5, 5, len(holders))
    assert [u["user_id"] for u in body["users"]] == holders[5:10]


def test_role_users_checkpoint_paging(emu: EmulatorServer, full_api: Api,
                                      conforms: Conforms) -> None:
    t = emu.tenant
    path = f"/roles/{role_id(t, 'Support Reader')}/users"
    seen: list[str] = []
    params: dict[str, Any] = {"take": 7}
    while True:
        response = full_api("GET", path, params=params)
        body = response.json()
        assert len(body["users"]) <= 7
        seen += [u["user_id"] for u in body["users"]]
        if "next" not in body:
            assert set(body) == {"users"}  # ambiguous in the spec's oneOf (see above)
            break
        conforms(response)
        params = {"take": 7, "from": body["next"]}
    assert seen == _holders(t, "Support Reader")


def test_role_users_follow_assignments(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    admin = role_id(t, "User Admin")
    dave = t.user_id("dave")
    assert dave not in [u["user_id"] for u in full_api("GET", f"/roles/{admin}/users").json()]
    assert full_api("POST", f"/users/{quoted(dave)}/roles", json={"roles": [admin]}
                    ).status_code == 204
    assert dave in [u["user_id"] for u in full_api("GET", f"/roles/{admin}/users",
                                                   params={"per_page": 100}).json()]


def test_role_users_unknown_role(full_api: Api) -> None:
    response = full_api("GET", "/roles/rol_nosuchrole000000/users")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found",
                               "message": "The role does not exist.",
                               "errorCode": "inexistent_role"}
