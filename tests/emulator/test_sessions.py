"""Sessions, refresh tokens and revoke-access: shapes, paging, errors, what deletions do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api

Conforms = Callable[[requests.Response], None]
MISSING = "auth0%7Cnobody000000000000000000"
USER_NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "User not found",
                  "errorCode": "inexistent_user"}


def quoted(user_id: str) -> str:
    return user_id.replace("|", "%7C")


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(item["id"]) for item in items]


def _sessions(api: Api, t: Tenant, alias: str) -> list[str]:
    body = api("GET", f"/users/{quoted(t.user_id(alias))}/sessions").json()
    return _ids(body["sessions"])


def _tokens(api: Api, t: Tenant, alias: str) -> list[str]:
    body = api("GET", f"/users/{quoted(t.user_id(alias))}/refresh-tokens").json()
    return _ids(body["tokens"])


def test_session_list_shape(emu: EmulatorServer, full_api: Api, conforms: Conforms) -> None:
    t = emu.tenant
    alice = t.user_id("alice")
    response = full_api("GET", f"/users/{quoted(alice)}/sessions")
    conforms(response)
    body = response.json()
    assert set(body) == {"sessions"}  # no next: everything fits
    assert len(body["sessions"]) == 2
    session = body["sessions"][0]
    assert session["user_id"] == alice
    assert {"id", "created_at", "updated_at", "authenticated_at", "idle_expires_at",
            "expires_at", "last_interacted_at", "device", "clients",
            "authentication"} <= set(session)
    assert set(session["device"]) == {"initial_user_agent", "initial_ip", "initial_asn",
                                      "last_user_agent", "last_ip", "last_asn"}
    assert session["clients"] == [{"client_id": t.panel_client_id}]
    assert session["authentication"]["methods"][0]["name"] == "pwd"
    single = full_api("GET", f"/sessions/{session['id']}")
    conforms(single)
    assert single.json() == session


def test_sessions_of_an_mfa_user_name_the_factor(emu: EmulatorServer, full_api: Api) -> None:
    session = full_api("GET", f"/users/{quoted(emu.tenant.user_id('carol'))}/sessions"
                       ).json()["sessions"][0]
    assert [m["name"] for m in session["authentication"]["methods"]] == ["pwd", "mfa"]


def test_refresh_token_list_shape(emu: EmulatorServer, full_api: Api,
                                  conforms: Conforms) -> None:
    t = emu.tenant
    alice = t.user_id("alice")
    response = full_api("GET", f"/users/{quoted(alice)}/refresh-tokens",
                        params={"include_totals": "true"})
    conforms(response)
    body = response.json()
    assert body["total"] == 2 and len(body["tokens"]) == 2
    sessions = set(_sessions(full_api, t, "alice"))
    bound = [r for r in body["tokens"] if r["session_id"] is not None]
    assert len(bound) == 1 and bound[0]["session_id"] in sessions
    for token in body["tokens"]:
        assert token["user_id"] == alice
        assert token["client_id"] == t.panel_client_id
        assert token["resource_servers"][0]["audience"] == t.gateway_audience
        single = full_api("GET", f"/refresh-tokens/{token['id']}")
        conforms(single)
        assert single.json() == token


@pytest.mark.parametrize("kind,key", [("sessions", "sessions"), ("refresh-tokens", "tokens")])
def test_checkpoint_paging(emu: EmulatorServer, full_api: Api, conforms: Conforms, kind: str,
                           key: str) -> None:
    path = f"/users/{quoted(emu.tenant.user_id('alice'))}/{kind}"
    everything = _ids(full_api("GET", path).json()[key])
    first = full_api("GET", path, params={"take": 1})
    conforms(first)
    assert _ids(first.json()[key]) == everything[:1]
    assert first.json()["next"] == everything[0]  # the cursor is the last id (exclusive)
    second = full_api("GET", path, params={"take": 1, "from": first.json()["next"]}).json()
    assert _ids(second[key]) == everything[1:2] and "next" not in second
    assert full_api("GET", path, params={"from": "unknown"}).json() == {key: []}
    assert full_api("GET", path, params={"take": 0}).status_code == 400
    assert full_api("GET", path, params={"take": 101}).status_code == 400


@pytest.mark.parametrize("method,path,kwargs", [
    ("GET", "/users/{missing}/sessions", {}),
    ("DELETE", "/users/{missing}/sessions", {}),
    ("GET", "/users/{missing}/refresh-tokens", {}),
    ("DELETE", "/users/{missing}/refresh-tokens", {}),
    ("POST", "/users/{missing}/revoke-access", {"json": {}}),
], ids=["list-sessions", "delete-sessions", "list-tokens", "delete-tokens", "revoke-access"])
def test_unknown_user(full_api: Api, method: str, path: str, kwargs: dict[str, Any]) -> None:
    response = full_api(method, path.replace("{missing}", MISSING), **kwargs)
    assert response.status_code == 404
    assert response.json() == USER_NOT_FOUND


@pytest.mark.parametrize("path,message,code", [
    ("/sessions/nosuchsession", "The session does not exist.", "inexistent_session"),
    ("/refresh-tokens/nosuchtoken", "The refresh token does not exist.",
     "inexistent_refresh_token"),
], ids=["session", "refresh-token"])
def test_unknown_ids(full_api: Api, conforms: Conforms, path: str, message: str,
                     code: str) -> None:
    response = full_api("GET", path)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": message,
                               "errorCode": code}
    conforms(response)


def test_delete_one_session_is_idempotent(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    first, second = _sessions(full_api, t, "alice")
    tokens = _tokens(full_api, t, "alice")
    for _ in range(2):
        response = full_api("DELETE", f"/sessions/{first}")
        assert response.status_code == 202 and response.json() == {}
    assert full_api("GET", f"/sessions/{first}").status_code == 404
    assert _sessions(full_api, t, "alice") == [second]
    assert _tokens(full_api, t, "alice") == tokens  # sessions and tokens are deleted apart


def test_delete_all_sessions(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    path = f"/users/{quoted(t.user_id('alice'))}/sessions"
    tokens = _tokens(full_api, t, "alice")
    bob_sessions = _sessions(full_api, t, "bob")
    for _ in range(2):
        assert full_api("DELETE", path).status_code == 202
    assert _sessions(full_api, t, "alice") == []
    assert _tokens(full_api, t, "alice") == tokens
    assert _sessions(full_api, t, "bob") == bob_sessions


def test_delete_refresh_tokens(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    one, other = _tokens(full_api, t, "alice")
    sessions = _sessions(full_api, t, "alice")
    for _ in range(2):
        assert full_api("DELETE", f"/refresh-tokens/{one}").status_code == 202
    assert _tokens(full_api, t, "alice") == [other]
    assert full_api("GET", f"/refresh-tokens/{one}").status_code == 404
    for _ in range(2):
        deleted = full_api("DELETE", f"/users/{quoted(t.user_id('alice'))}/refresh-tokens")
        assert deleted.status_code == 202 and deleted.json() == {}
    assert _tokens(full_api, t, "alice") == []
    assert _sessions(full_api, t, "alice") == sessions
    assert _tokens(full_api, t, "bob")


def _revoke(api: Api, t: Tenant, alias: str, body: dict[str, Any]) -> requests.Response:
    return api("POST", f"/users/{quoted(t.user_id(alias))}/revoke-access", json=body)


def test_revoke_access_revokes_everything(emu: EmulatorServer, full_api: Api,
                                          conforms: Conforms) -> None:
    t = emu.tenant
    response = _revoke(full_api, t, "alice", {})
    assert response.status_code == 202
    conforms(response)
    assert _sessions(full_api, t, "alice") == [] and _tokens(full_api, t, "alice") == []
    assert _sessions(full_api, t, "bob") and _tokens(full_api, t, "bob")
    assert _revoke(full_api, t, "alice", {}).status_code == 202


def test_revoke_access_can_preserve_refresh_tokens(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    tokens = _tokens(full_api, t, "alice")
    assert _revoke(full_api, t, "alice", {"preserve_refresh_tokens": True}).status_code == 202
    assert _sessions(full_api, t, "alice") == []
    assert _tokens(full_api, t, "alice") == tokens


def test_revoke_access_of_one_session(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    alice = t.user_id("alice")
    tokens = t.accounts.refresh_tokens_of(alice)
    (bound,) = [r for r in tokens if r["session_id"]]
    (unbound,) = [r for r in tokens if not r["session_id"]]
    other = next(s for s in _sessions(full_api, t, "alice") if s != bound["session_id"])
    assert _revoke(full_api, t, "alice", {"session_id": bound["session_id"]}).status_code == 202
    assert _sessions(full_api, t, "alice") == [other]
    assert _tokens(full_api, t, "alice") == [unbound["id"]]


def test_revoke_access_leaves_other_users_sessions(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    bobs = _sessions(full_api, t, "bob")
    assert _revoke(full_api, t, "alice", {"session_id": bobs[0]}).status_code == 202
    assert _sessions(full_api, t, "bob") == bobs
    assert len(_sessions(full_api, t, "alice")) == 2


@pytest.mark.parametrize("body,message", [
    ({"session_id": 5}, "Payload validation error: 'Expected type string but found type "
                        "integer' on property session_id (ID of the session to revoke)."),
    ({"session_id": "x" * 51}, "Payload validation error: 'String is too long (51 chars), "
                               "maximum 50' on property session_id (ID of the session to "
                               "revoke)."),
    ({"everything": True}, "Payload validation error: 'Additional properties not allowed: "
                           "everything'."),
    ({"preserve_refresh_tokens": "yes"}, "Payload validation error: 'Expected type boolean "
                                         "but found type string' on property "
                                         "preserve_refresh_tokens (Whether to preserve the "
                                         "refresh tokens associated with the session)."),
], ids=["session-not-string", "session-too-long", "unknown-field", "preserve-not-boolean"])
def test_revoke_access_bad_body(emu: EmulatorServer, full_api: Api, body: dict[str, Any],
                                message: str) -> None:
    response = _revoke(full_api, emu.tenant, "alice", body)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": message,
                               "errorCode": "invalid_body"}
    assert len(_sessions(full_api, emu.tenant, "alice")) == 2


def test_deleting_a_user_drops_sessions_and_tokens(emu: EmulatorServer, full_api: Api) -> None:
    t = emu.tenant
    alice = t.user_id("alice")
    assert full_api("DELETE", f"/users/{quoted(alice)}").status_code == 204
    assert t.accounts.sessions_of(alice) == [] and t.accounts.refresh_tokens_of(alice) == []


def test_random_users_have_sessions_too(emu: EmulatorServer) -> None:
    t = emu.tenant
    owners = {s["user_id"] for s in t.accounts.sessions.values()}
    assert len(owners - set(t.aliases.values())) > 20
    assert all(r["user_id"] in t.users for r in t.accounts.refresh_tokens.values())
