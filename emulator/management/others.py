"""Handlers of ``/user-blocks``, ``/tickets``, ``/jobs`` and ``/roles``."""

from __future__ import annotations

import secrets
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import USER_NOT_FOUND, ManagementError
from emulator.management.guard import query
from emulator.management.present import paged
from emulator.management.user_updates import bad_body, now_iso
from emulator.management.users import validated_body


def _require_user(user_id: str) -> dict[str, Any]:
    user = tenant().users.get(user_id)
    if user is None:
        raise ManagementError(404, USER_NOT_FOUND, "inexistent_user")
    return user


def get_user_blocks(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        _require_user(id)
        return jsonify({"blocked_for": [dict(b) for b in t.user_blocks.get(id, [])]})


def delete_user_blocks(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        _require_user(id)
        # Clears brute-force blocks only; an admin's "blocked": true stays.
        t.user_blocks.pop(id, None)
    return "", 204


def post_password_change() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        if "user_id" in body:
            user = _require_user(str(body["user_id"]))
        elif "email" in body and "connection_id" in body:
            conn = t.connections.get(str(body["connection_id"]))
            if conn is None:
                raise bad_body(f"The connection with id {body['connection_id']} does not exist.")
            email = str(body["email"]).lower()
            matches = [u for u in t.users.values() if u.get("email") == email
                       and u["identities"][0]["connection"] == conn.name]
            if not matches:
                raise ManagementError(404, USER_NOT_FOUND, "inexistent_user")
            user = matches[0]
        else:
            raise bad_body("Payload validation error: 'Missing required property: user_id'.")
        if not user.get("email"):
            raise bad_body("The user does not have an email address.")
        if user["identities"][0].get("provider") != "auth0":
            raise bad_body("The user's main connection does not support this operation.")
        ticket = f"{t.issuer}lo/reset?ticket={secrets.token_urlsafe(24)}#"
        t.tickets.append({"user_id": user["user_id"], "ticket": ticket, **body})
    return jsonify({"ticket": ticket}), 201


def post_verification_email() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        user = _require_user(str(body["user_id"]))
        if not user.get("email"):
            raise bad_body("User does not have an email address.")
        if user["identities"][0].get("provider") != "auth0":
            raise bad_body("Connection must be a database connection.")
        job = {"type": "verification_email", "status": "pending", "created_at": now_iso(),
               "id": "job_" + secrets.token_hex(8)}
        t.jobs.append({**job, "user_id": user["user_id"]})
    return jsonify(job), 201


def get_roles() -> ResponseReturnValue:
    t = tenant()
    q = query()
    needle = str(q.get("name_filter") or "").lower()
    with t.lock:
        roles = [r.as_json() for r in sorted(t.roles.values(), key=lambda r: r.name)
                 if needle in r.name.lower()]
    return jsonify(paged(roles, q, "roles", with_length=False))
