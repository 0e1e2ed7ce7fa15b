"""Handlers of the ``/users`` operations."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import ROLE_NOT_FOUND, USER_NOT_FOUND, ManagementError
from emulator.management import search
from emulator.management.assignments import add_missing
from emulator.management.guard import caller, current_operation, query
from emulator.management.present import paged, sort_order, user_document
from emulator.management.user_updates import (
    PATCH_FIELDS,
    apply_patch,
    check_patch_scopes,
    create_user,
)
from emulator.management.validation import validate_body
from emulator.tenant import Tenant


def _user(t: Tenant, user_id: str) -> dict[str, Any]:
    user = t.users.get(user_id)
    if user is None:
        raise ManagementError(404, USER_NOT_FOUND, "inexistent_user")
    return user


def _body() -> Any:
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if body is None:
        # hapi's text for unparsable JSON (Auth0's API runs on hapi).
        raise ManagementError(400, "Invalid request payload JSON format")
    return body


def validated_body(allow_additional: bool | None = None) -> dict[str, Any]:
    op = current_operation()
    assert op is not None
    return validate_body(op, _body(), allow_additional=allow_additional)


def _shape(user: dict[str, Any]) -> dict[str, Any]:
    q = query()
    return user_document(user, caller().scopes, q.get("fields"), q.get("include_fields", True))


def get_users() -> ResponseReturnValue:
    t = tenant()
    q = query()
    if t.faults.take_misread_search():
        q = {name: value for name, value in q.items() if name != "q"}
    with t.lock:
        found = search.search(list(t.users.values()), q)
        return jsonify(paged(found, q, "users", with_length=True, shape=_shape))


def get_users_by_email() -> ResponseReturnValue:
    t = tenant()
    email = str(query()["email"]).lower()  # Auth0 stores database emails lowercased
    with t.lock:
        found = [_shape(u) for u in sorted(t.users.values(), key=lambda u: str(u["user_id"]))
                 if str(u.get("email", "")).lower() == email]
    return jsonify(found)


def get_user(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify(_shape(_user(t, id)))


def patch_user(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body(allow_additional=True)
    unknown = [k for k in body if k not in PATCH_FIELDS]
    if unknown:
        # The spec allows extra properties here, Auth0 itself does not.
        raise ManagementError(
            400, f"Payload validation error: 'Additional properties not allowed: "
            f"{','.join(unknown)}'.", "invalid_body")
    check_patch_scopes(body, caller().scopes)
    with t.lock:
        user = _user(t, id)
        apply_patch(t, user, body)
        return jsonify(user_document(user, caller().scopes))


def delete_user(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        # No 404 here in Auth0's spec: deleting a missing user is a no-op.
        t.users.pop(id, None)
        t.user_roles.pop(id, None)
        t.user_blocks.pop(id, None)
        t.accounts.forget_user(id)
    return "", 204


def post_users() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        user = create_user(t, body)
        return jsonify(user_document(user, caller().scopes)), 201


def get_user_roles(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        _user(t, id)
        roles = [r.as_json() for r in t.roles_of(id)]
    return jsonify(paged(roles, query(), "roles", with_length=False))


def _role_ids(t: Tenant) -> list[str]:
    roles: list[str] = validated_body()["roles"]
    missing = [r for r in roles if r not in t.roles]
    if missing:
        raise ManagementError(404, ROLE_NOT_FOUND, "inexistent_role")
    return roles


def post_user_roles(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        _user(t, id)
        add_missing(t.user_roles.setdefault(id, []), _role_ids(t))
    return "", 204


def delete_user_roles(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        _user(t, id)
        remove = set(_role_ids(t))
        t.user_roles[id] = [r for r in t.user_roles.get(id, []) if r not in remove]
    return "", 204


def get_user_logs(id: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    field, descending = sort_order(q, "date:-1")
    with t.lock:
        logs = sorted(t.logs.get(id, []), key=lambda e: str(e.get(field, "")),
                      reverse=descending)
        logs = [dict(e) for e in logs]
    return jsonify(paged(logs, q, "logs", with_length=True))
