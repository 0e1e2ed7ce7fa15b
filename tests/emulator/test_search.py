"""``GET /api/v2/users``: the Lucene subset, paging limits, totals, sort and fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.management import lucene
from emulator.server import EmulatorServer
from emulator.tenant import Tenant
from tests.support.emulator_api import Api

Conforms = Callable[[requests.Response], None]
pytestmark = pytest.mark.readonly_tenant


def all_matching(api: Api, q: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    for page in range(10):
        response = api("GET", "/users", params={"q": q, "per_page": 100, "page": page})
        assert response.status_code == 200, response.text
        batch = response.json()
        users += batch
        if len(batch) < 100:
            break
    return users


def ids(users: list[dict[str, Any]]) -> set[str]:
    return {u["user_id"] for u in users}


def where(t: Tenant, predicate: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {uid for uid, u in t.users.items() if predicate(u)}


def dept(u: dict[str, Any]) -> str:
    return str(u["app_metadata"].get("department"))


QUERIES: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
    ("field", "app_metadata.department:support", lambda u: dept(u) == "support"),
    ("quoted", 'email:"alice@example.com"', lambda u: u["email"] == "alice@example.com"),
    ("quoted-with-space", 'name:"Alice Anders"', lambda u: u["name"] == "Alice Anders"),
    # Lucene's (and Elasticsearch query_string's) default operator is OR; Auth0 does not
    # document another (docs/emulator.md). The gateway always sends explicit operators.
    ("implicit-or", "app_metadata.department:sales email_verified:false",
     lambda u: dept(u) == "sales" or not u["email_verified"]),
    ("and", "app_metadata.department:sales AND email_verified:false",
     lambda u: dept(u) == "sales" and not u["email_verified"]),
    ("or", "app_metadata.department:sales OR app_metadata.department:hr",
     lambda u: dept(u) in ("sales", "hr")),
    ("not", "NOT app_metadata.department:support", lambda u: dept(u) != "support"),
    ("minus", "-app_metadata.department:support", lambda u: dept(u) != "support"),
    ("parentheses",
     "(app_metadata.department:sales OR app_metadata.department:hr) AND email_verified:false",
     lambda u: dept(u) in ("sales", "hr") and u["email_verified"] is False),
    ("field-group", "app_metadata.department:(sales OR hr)",
     lambda u: dept(u) in ("sales", "hr")),
    ("trailing-wildcard", "email:ali*", lambda u: u["email"].startswith("ali")),
    ("wildcard-case-insensitive", "name:ALI*", lambda u: u["name"].lower().startswith("ali")),
    ("exists-star", "app_metadata.org_id:*", lambda u: "org_id" in u["app_metadata"]),
    ("exists-keyword", "_exists_:app_metadata.org_id", lambda u: "org_id" in u["app_metadata"]),
    ("not-exists", "NOT _exists_:blocked", lambda u: "blocked" not in u),
    ("escaped-pipe", r"user_id:auth0\|alice0000000000000000001",
     lambda u: u["user_id"] == "auth0|alice0000000000000000001"),
    # Any identity matches, the linked secondary ones too (bob and dave have one).
    ("nested-array", 'identities.connection:"google-oauth2"',
     lambda u: any(i["connection"] == "google-oauth2" for i in u["identities"])),
    ("boolean", "email_verified:true", lambda u: u["email_verified"] is True),
    ("number-range", "logins_count:[100 TO 200]", lambda u: 100 <= u["logins_count"] <= 200),
    ("exclusive-range", "logins_count:{100 TO 200}", lambda u: 100 < u["logins_count"] < 200),
    ("open-range", "logins_count:[390 TO *]", lambda u: u["logins_count"] >= 390),
    ("date-range", "created_at:[2023-01-01 TO 2023-06-30]",
     lambda u: "2023-01-01" <= u["created_at"] <= "2023-06-30"),
    ("metadata-case-sensitive", "app_metadata.department:Support", lambda u: False),
    ("email-case-insensitive", "email:ALICE@EXAMPLE.COM",
     lambda u: u["email"] == "alice@example.com"),
    ("bare-term", "anders", lambda u: u.get("family_name") == "Anders"),
]


@pytest.mark.parametrize("q,expected", [(q, e) for _, q, e in QUERIES],
                         ids=[name for name, _, _ in QUERIES])
def test_lucene_feature(emu: EmulatorServer, api: Api, q: str,
                        expected: Callable[[dict[str, Any]], bool]) -> None:
    assert ids(all_matching(api, q)) == where(emu.tenant, expected)


def test_queries_select_something(emu: EmulatorServer) -> None:
    """Guards the table above against vacuous expectations (empty == empty)."""
    empty_on_purpose = {"metadata-case-sensitive"}
    for name, _, expected in QUERIES:
        if name not in empty_on_purpose:
            assert where(emu.tenant, expected), name


@pytest.mark.parametrize("q", ["(app_metadata.department:sales", "email:\"open", "a:b)",
                               "AND email:x", "email:"],
                         ids=["unclosed-paren", "unclosed-quote", "stray-paren", "leading-and",
                              "no-value"])
def test_bad_queries_are_400(api: Api, q: str) -> None:
    response = api("GET", "/users", params={"q": q})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "invalid_query_string"
    assert body["message"].startswith("Query validation error:")


@pytest.mark.parametrize("engine,message", [
    ("v1", "You are not allowed to use search_engine=v1."),
    ("v2", "You are not allowed to use search_engine=v2. Use search_engine=v3 instead."),
], ids=["v1", "v2"])
def test_old_search_engines_refused(api: Api, conforms: Conforms, engine: str,
                                    message: str) -> None:
    response = api("GET", "/users", params={"q": "email:x", "search_engine": engine})
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": message,
                               "errorCode": "invalid_query_string"}
    conforms(response)


def test_unknown_search_engine(api: Api) -> None:
    response = api("GET", "/users", params={"search_engine": "v4"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Query validation error: 'No enum match for: v4'")


def test_v3_is_accepted(api: Api) -> None:
    assert api("GET", "/users", params={"search_engine": "v3"}).status_code == 200


@pytest.mark.parametrize("params,fragment", [
    ({"per_page": 101}, "'Value 101 is greater than maximum 100' on property per_page"),
    ({"per_page": -1}, "'Value -1 is less than minimum 0' on property per_page"),
    ({"page": -1}, "'Value -1 is less than minimum 0' on property page"),
    ({"page": "x"}, "'Expected type integer but found type string' on property page"),
], ids=["per-page-101", "per-page-negative", "page-negative", "page-not-integer"])
def test_paging_validation(api: Api, params: dict[str, Any], fragment: str) -> None:
    response = api("GET", "/users", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert response.json()["errorCode"] == "invalid_query_string"


@pytest.mark.parametrize("page,per_page,status", [
    (9, 100, 200), (10, 100, 400), (19, 50, 200), (20, 50, 400), (999, 1, 200), (1000, 1, 400),
], ids=["900-999", "1000", "950-999", "1000-by-50", "999-by-1", "1000-by-1"])
def test_first_thousand_results_only(api: Api, conforms: Conforms, page: int, per_page: int,
                                     status: int) -> None:
    response = api("GET", "/users", params={"page": page, "per_page": per_page})
    assert response.status_code == status
    if status == 400:
        assert response.json()["message"].startswith(
            "You can only page through the first 1000 records.")
    conforms(response)


def test_include_totals_shape(emu: EmulatorServer, api: Api, conforms: Conforms) -> None:
    q = "app_metadata.department:support"
    response = api("GET", "/users", params={"q": q, "include_totals": "true", "per_page": 7,
                                            "page": 2})
    conforms(response)
    body = response.json()
    assert set(body) == {"start", "limit", "length", "total", "users"}
    total = len(where(emu.tenant, lambda u: dept(u) == "support"))
    assert (body["start"], body["limit"], body["length"], body["total"]) == (14, 7, 7, total)
    assert len(body["users"]) == 7


def test_default_page_size_is_50(api: Api) -> None:
    assert len(api("GET", "/users").json()) == 50


def test_pages_do_not_overlap(api: Api) -> None:
    first = api("GET", "/users", params={"per_page": 10, "page": 0}).json()
    second = api("GET", "/users", params={"per_page": 10, "page": 1}).json()
    assert not ids(first) & ids(second)


@pytest.mark.parametrize("sort,key,reverse", [
    ("email:1", "email", False),
    ("email:-1", "email", True),
    ("logins_count:-1", "logins_count", True),
    ("created_at:1", "created_at", False),
], ids=["email-asc", "email-desc", "logins-desc", "created-asc"])
def test_sort(api: Api, sort: str, key: str, reverse: bool) -> None:
    users = api("GET", "/users", params={"sort": sort, "per_page": 100}).json()
    values = [u[key] for u in users]
    assert values == sorted(values, reverse=reverse)


def test_sort_by_nested_field(api: Api) -> None:
    users = api("GET", "/users", params={"sort": "app_metadata.department:1",
                                         "per_page": 100}).json()
    departments = [u["app_metadata"]["department"] for u in users]
    assert departments == sorted(departments)


@pytest.mark.parametrize("sort", ["email", "email:2", "email:asc"],
                         ids=["no-direction", "bad-number", "word"])
def test_bad_sort(api: Api, sort: str) -> None:
    response = api("GET", "/users", params={"sort": sort})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_query_string"


@pytest.mark.parametrize("params,check", [
    ({"fields": "user_id,email"}, lambda u: set(u) == {"user_id", "email"}),
    ({"fields": "user_id,email", "include_fields": "false"},
     lambda u: "email" not in u and "user_id" not in u and "name" in u),
], ids=["include", "exclude"])
def test_fields(api: Api, conforms: Conforms, params: dict[str, str],
                check: Callable[[dict[str, Any]], bool]) -> None:
    response = api("GET", "/users", params={**params, "per_page": 5})
    conforms(response)
    assert all(check(u) for u in response.json())


def test_empty_q_returns_everyone(emu: EmulatorServer, api: Api) -> None:
    body = api("GET", "/users", params={"q": "", "include_totals": "true"}).json()
    assert body["total"] == len(emu.tenant.users)


def test_parser_units() -> None:
    doc = {"a": {"b": ["x", "y"]}, "n": 5, "s": "Hello World", "t": True}
    assert lucene.matches(lucene.parse("a.b:y"), doc)
    assert lucene.matches(lucene.parse('s:"hello world"'), doc)
    assert lucene.matches(lucene.parse("s:hel*o*"), doc)
    assert lucene.matches(lucene.parse("n:[1 TO 5]"), doc)
    assert not lucene.matches(lucene.parse("n:[1 TO 5}"), doc)
    assert lucene.matches(lucene.parse("t:true && !n:4"), doc)
    assert lucene.matches(lucene.parse("n:4 || n:5"), doc)
    # An escaped space is one term for the parser but two for an analyzer: refused, not
    # guessed (tests/emulator/test_lucene_conformance.py).
    with pytest.raises(lucene.LuceneError):
        lucene.parse(r"s:Hello\ World")
    assert lucene.matches(lucene.parse("ORACLE:x OR n:5"), doc)  # ORACLE is a field
    with pytest.raises(lucene.LuceneError):
        lucene.parse("a:b \\")
