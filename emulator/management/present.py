"""Shaping of Management API responses: user documents, field selection, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.errors import ManagementError
from emulator.management.validation import INVALID_QUERY

IDP_TOKEN_SCOPE = "read:user_idp_tokens"
IDP_TOKEN_FIELDS = ("access_token", "access_token_secret", "refresh_token")
DEFAULT_PER_PAGE = 50


def user_document(user: dict[str, Any], scopes: list[str], fields: str | None = None,
                  include_fields: bool = True) -> dict[str, Any]:
    """A copy of the stored user as Auth0 would return it to this caller.

    Identity provider tokens are only returned to holders of read:user_idp_tokens.
    """
    doc = json_copy(user)
    if IDP_TOKEN_SCOPE not in scopes:
        for identity in doc.get("identities", []):
            for name in IDP_TOKEN_FIELDS:
                identity.pop(name, None)
    return select_fields(doc, fields, include_fields)


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data without recursion: reading a user never depends on how
    deep its metadata is (copy.deepcopy fails at a few hundred levels)."""
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in items:
            if isinstance(child, (dict, list)):
                copied: Any = {} if isinstance(child, dict) else []
                stack.append((child, copied))
            else:
                copied = child
            if isinstance(target, dict):
                target[key] = copied
            else:
                target.append(copied)
    return root


def select_fields(doc: dict[str, Any], fields: str | None, include_fields: bool
                  ) -> dict[str, Any]:
    if not fields:
        return doc
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    if include_fields:
        return {k: v for k, v in doc.items() if k in wanted}
    return {k: v for k, v in doc.items() if k not in wanted}


def page_window(query: dict[str, Any], default_per_page: int = DEFAULT_PER_PAGE
                ) -> tuple[int, int]:
    page = int(query.get("page", 0))
    per_page = int(query.get("per_page", default_per_page))
    if page < 0:
        raise ManagementError(400, "Query validation error: 'Value "
                              f"{page} is less than minimum 0' on property page.", INVALID_QUERY)
    return page, per_page


def sort_order(query: dict[str, Any], default: str) -> tuple[str, bool]:
    """The field ``sort`` names and whether it is descending: ``field:1`` or ``field:-1``,
    ``default`` when absent; Auth0's 400 for any other spelling."""
    sort = str(query.get("sort") or default)
    field, _, direction = sort.partition(":")
    if direction not in ("1", "-1") or not field:
        raise ManagementError(400, "Query validation error: 'String does not match pattern "
                              f"^(([a-zA-Z\\-_0-9\\.]+):(1|-1))$: {sort}' on property sort.",
                              INVALID_QUERY)
    return field, direction == "-1"


def paged(items: list[Any], query: dict[str, Any], key: str, *, with_length: bool,
          default_per_page: int = DEFAULT_PER_PAGE,
          shape: Callable[[Any], Any] | None = None) -> Any:
    """A page of ``items``; with include_totals, Auth0's {start, limit, [length,] total, key}.

    ``shape`` is applied to the page only, not to every match.
    """
    page, per_page = page_window(query, default_per_page)
    start = page * per_page
    window = items[start:start + per_page]
    if shape is not None:
        window = [shape(item) for item in window]
    if not query.get("include_totals"):
        return window
    body: dict[str, Any] = {"start": start, "limit": per_page}
    # Users and logs report "length"; roles and permissions do not (per the spec schemas).
    if with_length:
        body["length"] = len(window)
    body["total"] = len(items)
    body[key] = window
    return body
