"""Checkpoint pagination (``from``/``take``), as the newer list endpoints offer it.

Auth0 answers ``{<key>: [...], "next": <cursor>}``; ``next`` is absent on the
last page. The sessions and refresh token lists use the last item's id as the
cursor (``from`` is exclusive); role users and organization members use an
opaque string, here base64url of the last item's id.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

DEFAULT_TAKE = 50


def wants_checkpoint(query: dict[str, Any]) -> bool:
    return "from" in query or "take" in query


def opaque(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _unwrap(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def page(items: list[Any], query: dict[str, Any], key_of: Callable[[Any], str], *,
         opaque_cursor: bool) -> tuple[list[Any], str | None]:
    """The items after ``from`` (at most ``take``) and the cursor of the next page.

    A cursor that names no item gives an empty last page (what Auth0 answers for a
    stale or foreign cursor is UNCONFIRMED).
    """
    take = int(query.get("take", DEFAULT_TAKE))
    start = 0
    cursor = query.get("from")
    if cursor:
        wanted = _unwrap(str(cursor)) if opaque_cursor else str(cursor)
        keys = [key_of(item) for item in items]
        if wanted not in keys:
            return [], None
        start = keys.index(wanted) + 1
    window = items[start:start + take]
    if not window or start + take >= len(items):
        return window, None
    last = key_of(window[-1])
    return window, opaque(last) if opaque_cursor else last
