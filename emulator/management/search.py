"""``GET /api/v2/users``: Lucene search, sorting and Auth0's paging limits."""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import ManagementError
from emulator.management import lucene
from emulator.management.present import page_window
from emulator.management.validation import INVALID_QUERY

MAX_RESULTS = 1000  # Auth0 lets you page through the first 1000 results only
PAGING_LIMIT = (
    "You can only page through the first 1000 records. See "
    "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation."
)
ENGINE_REFUSALS = {
    "v1": "You are not allowed to use search_engine=v1.",
    "v2": "You are not allowed to use search_engine=v2. Use search_engine=v3 instead.",
}
_SORT = re.compile(r"^([A-Za-z0-9_.\-]+):(1|-1)$")


def _bad(message: str) -> ManagementError:
    return ManagementError(400, message, INVALID_QUERY)


def check_engine(query: dict[str, Any]) -> None:
    engine = query.get("search_engine", "v3")
    if engine in ENGINE_REFUSALS:
        raise _bad(ENGINE_REFUSALS[engine])


def check_paging(query: dict[str, Any]) -> None:
    page, per_page = page_window(query)
    if page * per_page >= MAX_RESULTS and per_page > 0:
        raise _bad(PAGING_LIMIT)


def filter_users(users: list[dict[str, Any]], q: str | None) -> list[dict[str, Any]]:
    # Only an absent or ASCII-blank q means "everyone": Lucene reads other blanks
    # (U+2003, U+001C) as an empty query that matches nobody.
    if q is None or not q.strip(" \t\r\n"):
        return users
    try:
        node = lucene.parse(q)
    except lucene.LuceneError as exc:
        raise _bad(f"Query validation error: '{exc}' on property q.") from None
    return [u for u in users if lucene.matches(node, u)]


def _sort_key(field: str) -> Any:
    def key(user: dict[str, Any]) -> tuple[int, int, Any]:
        values = lucene.field_values(user, field)
        if not values or isinstance(values[0], (dict, list)):
            return (1, 0, "")
        value = values[0]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, 0, value)
        return (0, 1, str(value).lower())
    return key


def sort_users(users: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    # Default: a deterministic order (Auth0's own default order is unspecified).
    ordered = sorted(users, key=lambda u: str(u["user_id"]))
    if not sort:
        return ordered
    match = _SORT.match(sort)
    if match is None:
        raise _bad(
            "Query validation error: 'String does not match pattern "
            f"^(([a-zA-Z\\-_0-9\\.]+):(1|-1))$: {sort}' on property sort."
        )
    field, direction = match.group(1), match.group(2)
    present = [u for u in ordered if lucene.field_values(u, field)]
    missing = [u for u in ordered if not lucene.field_values(u, field)]
    present.sort(key=_sort_key(field), reverse=direction == "-1")
    # Users without the field come last whatever the direction.
    return present + missing


def search(users: list[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every matching user in order, capped at the 1000 Auth0 ever returns."""
    check_engine(query)
    check_paging(query)
    found = filter_users(users, query.get("q"))
    return sort_users(found, query.get("sort"))[:MAX_RESULTS]
