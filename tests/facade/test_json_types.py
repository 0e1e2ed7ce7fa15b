"""Body fields have their JSON type, with no coercion: a boolean is true/false, an integer a
JSON integer, a string a string. What reaches Auth0 is exactly what was validated.

The finding: {"blocked": "true"} passed the gateway (marshmallow's Boolean accepts
"true", "1", 1 and 0), to be refused by Auth0 after a token was minted, or, worse,
read differently by something downstream.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Stack

ADMIN = "carol"

# Every JSON value of the wrong type a lenient parser would turn into the right one.
NOT_BOOLEANS = ["true", "false", "True", "1", "0", "yes", "", 1, 0, 1.0, 0.0, [], {}, None]
NOT_INTEGERS = ["5", "5.0", " 5", 5.0, 5.5, True, False, [5], None]
NOT_STRINGS = [5, 5.5, True, False, ["Username-Password-Authentication"], {}, None]

# (method, path, {field: the wrong values tried}): one stack per operation.
CASES: list[tuple[str, str, dict[str, list[Any]]]] = [
    ("PATCH", "/users/{dave}", {"blocked": NOT_BOOLEANS, "email_verified": NOT_BOOLEANS,
                                "verify_email": NOT_BOOLEANS, "connection": NOT_STRINGS}),
    ("POST", "/users", {"blocked": NOT_BOOLEANS, "email_verified": NOT_BOOLEANS,
                        "connection": NOT_STRINGS}),
    ("POST", "/tickets/password-change", {"ttl_sec": NOT_INTEGERS,
                                          "mark_email_as_verified": NOT_BOOLEANS}),
]


def _body(stack: Stack, path: str, field: str, value: Any) -> dict[str, Any]:
    if path == "/users":
        base = {"connection": "Username-Password-Authentication", "email": "t@example.com",
                "password": "a long passphrase"}
    elif path == "/tickets/password-change":
        base = {"user_id": stack.user("dave")}
    else:
        base = {}
    return {**base, field: value}


@pytest.mark.parametrize(("method", "path", "wrong"), CASES,
                         ids=[f"{m} {p}" for m, p, _ in CASES])
def test_a_value_of_the_wrong_json_type_is_400(stack: Stack, method: str, path: str,
                                                wrong: dict[str, list[Any]]) -> None:
    url = "/api/v2" + path.replace("{dave}", stack.user("dave"))
    for field, values in wrong.items():
        for value in values:
            response = stack.call(ADMIN, method, url, json=_body(stack, path, field, value))
            assert response.status_code == 400, (field, value, response.text)
            problem = response.json()
            assert problem["type"] == "https://admin-gateway.dev/problems/invalid-request"
            assert field in problem["errors"], (field, value, problem)
    assert stack.upstream() == []


ACCEPTED_BODIES: list[dict[str, Any]] = [
    {"blocked": True}, {"blocked": False, "email_verified": True},
    {"verify_email": False, "email_verified": False},
    {"connection": "Username-Password-Authentication", "user_metadata": {"n": 1, "b": True}},
]


def test_what_reaches_auth0_is_exactly_what_was_validated(stack: Stack) -> None:
    for body in ACCEPTED_BODIES:
        before = len(stack.upstream())
        response = stack.call(ADMIN, "PATCH", f"/api/v2/users/{stack.user('dave')}", json=body)
        assert response.status_code == 200, response.text
        [sent] = [e for e in stack.upstream()[before:] if e.method == "PATCH"]
        assert sent.json == body
        # The same JSON types too (True == 1 in Python: the comparison above cannot tell).
        assert {k: type(v) for k, v in sent.json.items()} == {k: type(v) for k, v in body.items()}
    ticket = {"user_id": stack.user("dave"), "ttl_sec": 3600, "mark_email_as_verified": True}
    before = len(stack.upstream())
    response = stack.call(ADMIN, "POST", "/api/v2/tickets/password-change", json=ticket)
    assert response.status_code == 201, response.text
    [sent] = [e for e in stack.upstream()[before:] if e.method == "POST"]
    assert sent.json == ticket
    assert type(sent.json["ttl_sec"]) is int and sent.json["mark_email_as_verified"] is True


# Query values are text by nature: per_page=5 and include_totals=true are parsed, and sent on
# in Auth0's spelling; anything else stays a 400 (as before bodies became strict).
QUERIES: list[tuple[dict[str, str], int, dict[str, list[str]] | None]] = [
    ({"include_totals": "true", "per_page": "5", "page": "0"}, 200,
     {"include_totals": ["true"], "per_page": ["5"], "page": ["0"]}),
    ({"include_totals": "false"}, 200, {"include_totals": ["false"]}),
    ({"include_totals": "yes"}, 400, None),
    ({"include_totals": "1"}, 400, None),
    ({"include_totals": "True"}, 400, None),
    ({"per_page": "five"}, 400, None),
]


def test_query_strings_are_parsed_from_text_as_before(stack: Stack) -> None:
    for params, status, forwarded in QUERIES:
        before = len(stack.upstream())
        response = stack.call(ADMIN, "GET", "/api/v2/roles", params=params)
        assert response.status_code == status, (params, response.text)
        sent = stack.upstream()[before:]
        if forwarded is None:
            assert sent == [], params
        else:
            assert [e.query for e in sent] == [forwarded]
