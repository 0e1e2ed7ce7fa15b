"""Auth0's limits on bodies (docs/limits.md): refused by the gateway with a 400 naming the
limit, before anything reaches Auth0.

The finding: user_metadata nested 500 levels deep passed the gateway and was stored, after
which every read of that user failed (a stored denial of service).
"""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack

ADMIN = "carol"  # User Admin: every body field, and no delegated-scope restriction
MAX_DEPTH = 99


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def new_user(**fields: Any) -> dict[str, Any]:
    return {"connection": "Username-Password-Authentication", "email": "deep@example.com",
            "password": "a long passphrase", **fields}


def assert_refused(response: Any, stack: Stack, field: str, *needles: str) -> None:
    assert response.status_code == 400, response.text[:500]
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://admin-gateway.dev/problems/invalid-request"
    for needle in needles:
        assert needle in problem["detail"], problem["detail"]
    assert field in problem["errors"]
    assert stack.upstream() == []
    assert stack.tenant.tokens_issued["gateway-write"] == 0
    assert stack.tenant.tokens_issued["gateway-admin"] == 0


def test_patch_with_metadata_500_levels_deep_is_400_naming_the_limit(stack: Stack) -> None:
    dave = stack.user("dave")
    for field in ("user_metadata", "app_metadata"):
        response = stack.call(ADMIN, "PATCH", f"/api/v2/users/{dave}", json={field: nested(500)})
        assert_refused(response, stack, field,
                       f"{field} is nested 500 levels deep; at most {MAX_DEPTH} are accepted")


def test_create_with_metadata_one_level_too_deep_is_400(stack: Stack) -> None:
    response = stack.call(ADMIN, "POST", "/api/v2/users",
                          json=new_user(user_metadata=nested(MAX_DEPTH + 1)))
    assert_refused(response, stack, "user_metadata",
                   f"nested {MAX_DEPTH + 1} levels deep; at most {MAX_DEPTH}")


def test_any_body_field_too_deep_is_400(stack: Stack) -> None:
    """Not only metadata: a deep value anywhere is refused before anything walks it."""
    response = stack.call(ADMIN, "POST", "/api/v2/jobs/verification-email",
                          json={"user_id": stack.user("dave"), "identity": nested(300)})
    assert_refused(response, stack, "identity", "identity is nested 300 levels deep")


def test_metadata_at_the_depth_limit_is_forwarded_and_read_back(stack: Stack) -> None:
    dave = stack.user("dave")
    deepest = nested(MAX_DEPTH)
    patched = stack.call(ADMIN, "PATCH", f"/api/v2/users/{dave}",
                         json={"user_metadata": deepest})
    assert patched.status_code == 200, patched.text[:300]
    read = stack.call(ADMIN, "GET", f"/api/v2/users/{dave}")
    assert read.status_code == 200 and read.json()["user_metadata"]["a"] == deepest["a"]


FORBIDDEN_NAMES: list[tuple[dict[str, Any], str]] = [
    ({"preference.color": "pink"}, "'preference.color'"),
    ({"$where": "1"}, "'$where'"),
    ({"preference": {"colour.dark": "navy"}}, "'colour.dark'"),
    ({"list": [{"a$b": 1}]}, "'a$b'"),
]


def test_metadata_field_names_with_dot_or_dollar_are_400(stack: Stack) -> None:
    for field in ("user_metadata", "app_metadata"):
        for metadata, key in FORBIDDEN_NAMES:
            response = stack.call(ADMIN, "PATCH", f"/api/v2/users/{stack.user('dave')}",
                                  json={field: metadata})
            assert_refused(response, stack, field,
                           f"{field} has field names with '.' or '$' ({key})")


def test_create_with_a_dotted_metadata_name_is_400(stack: Stack) -> None:
    response = stack.call(ADMIN, "POST", "/api/v2/users",
                          json=new_user(app_metadata={"plan.tier": "gold"}))
    assert_refused(response, stack, "app_metadata", "'plan.tier'")


def test_dots_in_metadata_values_are_fine(stack: Stack) -> None:
    response = stack.call(ADMIN, "PATCH", f"/api/v2/users/{stack.user('dave')}",
                          json={"user_metadata": {"preference": "light.blue"}})
    assert response.status_code == 200, response.text

