"""Auth0's limits on user bodies (docs/limits.md), as the emulator enforces them.

What the emulator cannot read back it must never store: a user whose metadata is
nested hundreds of levels deep used to be accepted and then fail every read of
that user with a 500 (a stored denial of service, even for a client that
bypasses the gateway).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.server import EmulatorServer
from tests.support.emulator_api import Api

UM = "user_metadata (User metadata to which this user has read/write access)"
MAX_DEPTH = 99


def nested(levels: int) -> Any:
    """An object `levels` deep: {"a": {"a": ... {"a": 1}}}."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def new_user(**fields: Any) -> dict[str, Any]:
    return {"connection": "Username-Password-Authentication", "email": "deep@example.com",
            "password": "a long passphrase", **fields}


def test_metadata_nested_500_deep_is_400_and_the_user_stays_readable(
        emu: EmulatorServer, api: Api) -> None:
    uid = emu.tenant.user_id("dave")
    response = api("PATCH", "/users/" + uid, json={"user_metadata": nested(500)})
    assert response.status_code == 400, response.text[:300]
    assert response.json() == {
        "statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
        "message": f"Payload validation error: 'Object nested too deeply (500 levels), "
                   f"maximum {MAX_DEPTH}' on property {UM}."}
    read = api("GET", "/users/" + uid)
    assert read.status_code == 200
    assert "a" not in read.json()["user_metadata"]
    assert api("GET", "/users", params={"per_page": 100}).status_code == 200


def test_create_with_metadata_nested_too_deep_is_400(emu: EmulatorServer, api: Api) -> None:
    response = api("POST", "/users", json=new_user(app_metadata=nested(MAX_DEPTH + 1)))
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        f"Payload validation error: 'Object nested too deeply ({MAX_DEPTH + 1} levels), "
        f"maximum {MAX_DEPTH}' on property app_metadata")
    assert not any(u.get("email") == "deep@example.com" for u in emu.tenant.users.values())


def test_metadata_at_the_depth_limit_is_stored_and_read_back(emu: EmulatorServer,
                                                            api: Api) -> None:
    uid = emu.tenant.user_id("dave")
    deepest = nested(MAX_DEPTH)
    assert api("PATCH", "/users/" + uid, json={"user_metadata": deepest}).status_code == 200
    assert api("GET", "/users/" + uid).json()["user_metadata"]["a"] == deepest["a"]
    found = api("GET", "/users", params={"q": f'user_id:"{uid}"'})
    assert found.status_code == 200 and found.json()[0]["user_metadata"]["a"] == deepest["a"]


def test_a_stored_user_of_any_depth_is_read_without_a_500(emu: EmulatorServer,
                                                          api: Api) -> None:
    """Whatever a tenant holds (seeded, or stored before a limit existed) reads back."""
    uid = emu.tenant.user_id("dave")
    with emu.tenant.lock:
        emu.tenant.users[uid]["user_metadata"] = nested(500)
    read = api("GET", "/users/" + uid)
    assert read.status_code == 200
    assert read.json()["user_metadata"] == nested(500)
    assert api("GET", "/users", params={"per_page": 100}).status_code == 200


@pytest.mark.parametrize("metadata,key", [
    ({"preference.color": "pink"}, "preference.color"),
    ({"$set": {"x": 1}}, "$set"),
    ({"preference": {"colour.dark": "navy"}}, "colour.dark"),
    ({"list": [{"a$b": 1}]}, "a$b"),
], ids=["dot", "dollar", "nested-dot", "in-array"])
def test_metadata_field_names_with_dot_or_dollar_are_400(
        emu: EmulatorServer, api: Api, metadata: dict[str, Any], key: str) -> None:
    uid = emu.tenant.user_id("dave")
    for field in ("user_metadata", "app_metadata"):
        response = api("PATCH", "/users/" + uid, json={field: metadata})
        assert response.status_code == 400
        assert response.json() == {
            "statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body",
            "message": f"Payload validation error: 'Field names must not contain \".\" or "
                       f"\"$\": {key}' on property {field}."}
    created = api("POST", "/users", json=new_user(user_metadata=metadata))
    assert created.status_code == 400
    stored = emu.tenant.users[uid]
    assert not set(metadata) & (set(stored["user_metadata"]) | set(stored["app_metadata"]))


def test_a_dot_in_a_value_is_fine(emu: EmulatorServer, api: Api) -> None:
    uid = emu.tenant.user_id("dave")
    response = api("PATCH", "/users/" + uid, json={"user_metadata": {"preference": "light.blue"}})
    assert response.status_code == 200


def test_metadata_of_a_user_is_at_most_16_mb(emu: EmulatorServer, api: Api) -> None:
    """Checked on the merged result: many small PATCHes cannot grow past it either."""
    uid = emu.tenant.user_id("dave")
    limit = 16 * 1024 * 1024
    with emu.tenant.lock:
        emu.tenant.users[uid]["user_metadata"] = {"blob": "x" * (limit - 1000)}
        emu.tenant.users[uid]["app_metadata"] = {}
    grown = api("PATCH", "/users/" + uid, json={"app_metadata": {"more": "y" * 2000}})
    assert grown.status_code == 400
    assert grown.json()["errorCode"] == "invalid_body"
    assert f"the limit is {limit} bytes (16 MB) per user" in grown.json()["message"]
    assert emu.tenant.users[uid]["app_metadata"] == {}
    shrunk = api("PATCH", "/users/" + uid, json={"user_metadata": {"blob": None},
                                                 "app_metadata": {"more": "y" * 2000}})
    assert shrunk.status_code == 200


def test_body_over_1_mb_is_hapis_413(emu: EmulatorServer, api: Api) -> None:
    response = api("PATCH", "/users/" + emu.tenant.user_id("dave"),
                   json={"user_metadata": {"blob": "x" * (1024 * 1024)}})
    assert response.status_code == 413
    assert response.json() == {
        "statusCode": 413, "error": "Request Entity Too Large",
        "message": "Payload content length greater than maximum allowed: 1048576"}


def test_json_too_deep_for_the_parser_is_400_not_500(emu: EmulatorServer, api: Api) -> None:
    raw = '{"user_metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    response = api("PATCH", "/users/" + emu.tenant.user_id("dave"), data=raw,
                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request payload JSON format"
