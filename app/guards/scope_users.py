"""Which users of a list a scoped caller may see, asked of Auth0 itself.

Lists that carry no `app_metadata` (a role's users, an organization's members, the
`members` of a request body) cannot be checked field by field. Each batch of ids is
asked as one user search, restricted exactly as the caller's own searches are
(`lucene.restrict`), and only the users that search returns — and that the
restriction admits once more, here — count as inside the scope. An id Auth0 does
not know is simply not returned: outside the scope and nonexistent look the same.

Design: docs/guardrails.md, "Delegated scope".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..call import Restriction
from ..catalog import SEARCH_USERS
from ..errors import Problem
from ..management import upstream
from . import lucene

log = logging.getLogger("admin_gateway.security")

# Ids per search: the search answers at most one page, and Auth0 caps per_page at 100.
BATCH = 50
# The restriction's own clauses need room too within the gateway's longest q.
QUERY_BUDGET = lucene.MAX_LENGTH - 256
# A role's users or an organization's members a scoped caller's answer is built from;
# beyond it the gateway refuses rather than answer from part of the list.
MAX_MEMBERS = 1000
PAGE_SIZE = 100


def _batches(ids: Sequence[str]) -> list[list[str]]:
    """Ids grouped so that each group's query fits the gateway's q length, BATCH at most."""
    batches: list[list[str]] = []
    length = 0
    for user_id in ids:
        clause = len(lucene.serialize(lucene.Phrase("user_id", user_id))) + len(" OR ")
        if not batches or len(batches[-1]) >= BATCH or length + clause > QUERY_BUDGET:
            batches.append([])
            length = 0
        batches[-1].append(user_id)
        length += clause
    return batches


def _ids_query(ids: Sequence[str]) -> str:
    return " OR ".join(lucene.serialize(lucene.Phrase("user_id", user_id)) for user_id in ids)


def admitted(ids: Iterable[str], restriction: Restriction, *, fresh: bool) -> set[str]:
    """The ids among `ids` that are users inside the restriction."""
    inside: set[str] = set()
    for batch in _batches(list(dict.fromkeys(ids))):
        try:
            q = lucene.restrict(_ids_query(batch), restriction.clauses)
        except (lucene.QueryRefused, ValueError):
            # An id or claim no query can carry (too long, control characters): nobody in
            # this batch counts as inside.
            log.warning("a batch of %d user ids could not be checked against the caller's "
                        "scope; treated as outside it", len(batch))
            continue
        query = [("q", q), ("search_engine", "v3"), ("per_page", str(BATCH)),
                 ("fields", "user_id,app_metadata"), ("include_fields", "true")]
        body = upstream().read(SEARCH_USERS, {}, query, fresh=fresh).body
        users = body.get("users") if isinstance(body, dict) else body
        wanted = set(batch)
        for user in users if isinstance(users, list) else []:
            user_id = user.get("user_id") if isinstance(user, dict) else None
            if user_id in wanted and restriction.admits(user):
                inside.add(user_id)
    return inside


def _items(body: Any, list_key: str) -> list[Any]:
    items = body.get(list_key) if isinstance(body, dict) else body
    return items if isinstance(items, list) else []


def _paging(query: Mapping[str, Any]) -> tuple[int, int, bool]:
    if "from" in query or "take" in query:
        raise Problem(400, "Checkpoint paging (from, take) is not available to delegated "
                           "administrators on this list; use page and per_page.",
                      title="Invalid request", slug="invalid-request",
                      extra={"errors": {"from": ["Use page and per_page."]}})
    page = int(query.get("page", 0))
    per_page = int(query.get("per_page", 50))
    return page, per_page, query.get("include_totals") is True


def _project(item: dict[str, Any], query: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` / `include_fields` as Auth0 applies them (the upstream pages were read
    whole, since the gateway needs each user_id)."""
    requested = query.get("fields")
    if requested is None:
        return item
    names = {name.strip() for name in str(requested).split(",") if name.strip()}
    include = query.get("include_fields", True) is not False
    return {k: v for k, v in item.items() if (k in names) == include}


def in_scope_answer(operation_read: Any, path: dict[str, str], query: Mapping[str, Any],
                    list_key: str, restriction: Restriction, *, fresh: bool) -> Any:
    """The answer a scoped caller gets for a list of users without app_metadata: built
    from the whole list's in-scope users only, so that no page or `total`
    counts a user outside the scope (the same rule as restricted searches)."""
    page, per_page, include_totals = _paging(query)
    everyone: list[Any] = []
    for upstream_page in range(MAX_MEMBERS // PAGE_SIZE + 1):
        body = upstream().read(operation_read, path, [("page", str(upstream_page)),
                                                      ("per_page", str(PAGE_SIZE))],
                               fresh=fresh).body
        items = _items(body, list_key)
        everyone.extend(items)
        if len(items) < PAGE_SIZE:
            break
    if len(everyone) > MAX_MEMBERS:
        raise Problem(403, f"This list holds more than {MAX_MEMBERS} users, too many to "
                           f"filter by your delegated scope; ask an administrator without "
                           f"a scope restriction.", slug="scope-list-too-long")
    ids = [item.get("user_id") for item in everyone if isinstance(item, dict)]
    inside = admitted([i for i in ids if isinstance(i, str)], restriction, fresh=fresh)
    kept = [item for item in everyone
            if isinstance(item, dict) and item.get("user_id") in inside]
    shown = [_project(item, query) for item in kept[page * per_page:(page + 1) * per_page]]
    if include_totals:
        return {list_key: shown, "start": page * per_page, "limit": per_page,
                "total": len(kept)}
    return shown
