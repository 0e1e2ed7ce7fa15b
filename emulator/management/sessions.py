"""Handlers of the session and refresh token endpoints, and of ``revoke-access``.

Auth0 offers them on Enterprise plans only: on another plan (``Tenant.plan``,
set with ``POST /emulator/tenant/plan``) every one answers 403 with
``errorCode`` PLAN_REQUIRED_CODE, after the scope check. Deletions are accepted
asynchronously in Auth0 (202 ``{}``); here they take effect at once.
Deleting sessions leaves refresh tokens alone (also those bound to a deleted
session; UNCONFIRMED); ``revoke-access`` removes both unless told to keep the
refresh tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.account_state import ENTERPRISE, AccountState
from emulator.context import tenant
from emulator.errors import (
    PLAN_REQUIRED_CODE,
    PLAN_REQUIRED_MESSAGE,
    SESSION_USER_NOT_FOUND,
    ManagementError,
)
from emulator.management import checkpoint
from emulator.management.guard import query
from emulator.management.lookup import require_user
from emulator.management.present import json_copy
from emulator.management.users import validated_body
from emulator.tenant import Tenant

# The spec's texts for unknown ids; the errorCodes follow Auth0's inexistent_* pattern
# (both UNCONFIRMED).
SESSION_NOT_FOUND = "The session does not exist."
REFRESH_TOKEN_NOT_FOUND = "The refresh token does not exist."


def _enterprise_tenant() -> Tenant:
    t = tenant()
    if t.plan != ENTERPRISE:
        raise ManagementError(403, PLAN_REQUIRED_MESSAGE, PLAN_REQUIRED_CODE)
    return t


def _accepted() -> ResponseReturnValue:
    return jsonify({}), 202


def _listing(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    q = query()
    window, after = checkpoint.page(items, q, lambda item: str(item["id"]),
                                    opaque_cursor=False)
    body: dict[str, Any] = {key: json_copy(window)}
    if after is not None:
        body["next"] = after
    if q.get("include_totals"):
        body["total"] = len(items)
    return body


@dataclass(frozen=True)
class _Kind:
    """One of the two collections these endpoints serve, with its Auth0 names."""

    list_key: str                     # the key of a user's listing
    not_found: str                    # the 404 of an unknown id, and its errorCode
    not_found_code: str
    by_id: Callable[[AccountState], dict[str, dict[str, Any]]]
    of_user: Callable[[AccountState, str], list[dict[str, Any]]]
    delete: Callable[[AccountState, list[str]], None]


SESSIONS = _Kind("sessions", SESSION_NOT_FOUND, "inexistent_session",
                 lambda a: a.sessions, AccountState.sessions_of, AccountState.delete_sessions)
REFRESH_TOKENS = _Kind("tokens", REFRESH_TOKEN_NOT_FOUND, "inexistent_refresh_token",
                       lambda a: a.refresh_tokens, AccountState.refresh_tokens_of,
                       AccountState.delete_refresh_tokens)


def _list_of_user(kind: _Kind, user_id: str) -> ResponseReturnValue:
    t = _enterprise_tenant()
    with t.lock:
        require_user(t, user_id, SESSION_USER_NOT_FOUND)
        return jsonify(_listing(kind.list_key, kind.of_user(t.accounts, user_id)))


def _delete_of_user(kind: _Kind, user_id: str) -> ResponseReturnValue:
    t = _enterprise_tenant()
    with t.lock:
        require_user(t, user_id, SESSION_USER_NOT_FOUND)
        kind.delete(t.accounts, [item["id"] for item in kind.of_user(t.accounts, user_id)])
    return _accepted()


def _get_one(kind: _Kind, id: str) -> ResponseReturnValue:
    t = _enterprise_tenant()
    with t.lock:
        item = kind.by_id(t.accounts).get(id)
        if item is None:
            raise ManagementError(404, kind.not_found, kind.not_found_code)
        return jsonify(json_copy(item))


def _delete_one(kind: _Kind, id: str) -> ResponseReturnValue:
    t = _enterprise_tenant()
    with t.lock:
        # The spec lists no 404: deleting one that is gone is accepted too.
        kind.delete(t.accounts, [id])
    return _accepted()


def get_user_sessions(user_id: str) -> ResponseReturnValue:
    return _list_of_user(SESSIONS, user_id)


def delete_user_sessions(user_id: str) -> ResponseReturnValue:
    return _delete_of_user(SESSIONS, user_id)


def get_session(id: str) -> ResponseReturnValue:
    return _get_one(SESSIONS, id)


def delete_session(id: str) -> ResponseReturnValue:
    return _delete_one(SESSIONS, id)


def get_user_refresh_tokens(user_id: str) -> ResponseReturnValue:
    return _list_of_user(REFRESH_TOKENS, user_id)


def delete_user_refresh_tokens(user_id: str) -> ResponseReturnValue:
    return _delete_of_user(REFRESH_TOKENS, user_id)


def get_refresh_token(id: str) -> ResponseReturnValue:
    return _get_one(REFRESH_TOKENS, id)


def delete_refresh_token(id: str) -> ResponseReturnValue:
    return _delete_one(REFRESH_TOKENS, id)


def post_revoke_access(id: str) -> ResponseReturnValue:
    """Revoke one session (``session_id``) or all of them; with each, the refresh tokens
    bound to it, or all of the user's when no session is named, unless
    ``preserve_refresh_tokens``. A session of another user is left alone."""
    t = _enterprise_tenant()
    body = validated_body()
    with t.lock:
        # The spec lists no 404 here; an unknown user gets the sessions API's (UNCONFIRMED).
        require_user(t, id, SESSION_USER_NOT_FOUND)
        accounts = t.accounts
        sessions = [s["id"] for s in accounts.sessions_of(id)]
        tokens = accounts.refresh_tokens_of(id)
        if "session_id" in body:
            sessions = [s for s in sessions if s == body["session_id"]]
            tokens = [r for r in tokens if r["session_id"] == body["session_id"]]
        accounts.delete_sessions(sessions)
        if not body.get("preserve_refresh_tokens", False):
            accounts.delete_refresh_tokens([r["id"] for r in tokens])
    return _accepted()
