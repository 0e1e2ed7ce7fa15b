"""Creating and updating user documents with Auth0's rules.

PATCH merges ``user_metadata``/``app_metadata`` at the first level (``null``
removes a key, ``{}`` clears the object) and refuses the field combinations
Auth0 refuses. Changing ``blocked`` never touches brute-force blocks.
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any

from emulator.errors import ManagementError
from emulator.management.validation import INVALID_BODY
from emulator.seed import iso
from emulator.tenant import Tenant

# Root fields PATCH /users/{id} accepts (Auth0 rejects anything else).
PATCH_FIELDS = frozenset({
    "blocked", "email", "email_verified", "phone_number", "phone_verified", "given_name",
    "family_name", "name", "nickname", "picture", "username", "password", "verify_email",
    "verify_phone_number", "user_metadata", "app_metadata", "connection", "client_id",
})
METADATA_FIELDS = ("user_metadata", "app_metadata")
# Scopes that may only touch some fields (the rest needs update:users).
LIMITED_SCOPES = {
    "update:users_app_metadata": frozenset({"app_metadata", "user_metadata"}),
    "update:current_user_metadata": frozenset({"user_metadata"}),
}
CONFLICTS = (
    ("password", "email"),
    ("password", "email_verified"),
    ("username", "email"),
    ("username", "email_verified"),
    ("username", "password"),
)
# Fields that are instructions, not stored attributes.
NOT_STORED = frozenset({"verify_email", "verify_phone_number", "connection", "client_id",
                        "password"})
USER_EXISTS = "The user already exists."
# Auth0: user_metadata and app_metadata together hold at most 16 MB per user, and their
# field names contain neither "." nor "$" (docs/limits.md). The size is measured as
# compact UTF-8 JSON (Auth0 measures its stored form, which we cannot see).
MAX_METADATA_BYTES = 16 * 1024 * 1024
FORBIDDEN_KEY_CHARACTERS = ".$"


def now_iso() -> str:
    return iso(datetime.datetime.now(datetime.UTC))


def bad_body(message: str) -> ManagementError:
    return ManagementError(400, message, INVALID_BODY)


def check_patch_scopes(body: dict[str, Any], scopes: list[str]) -> None:
    if "update:users" in scopes:
        return
    allowed: set[str] = set()
    for scope in scopes:
        allowed |= LIMITED_SCOPES.get(scope, frozenset())
    if any(name not in allowed for name in body):
        raise ManagementError(403, "Insufficient scope, expected any of: update:users",
                              "insufficient_scope")


def apply_patch(tenant: Tenant, user: dict[str, Any], body: dict[str, Any]) -> None:
    for first, second in CONFLICTS:
        if first in body and second in body:
            raise bad_body(f"Cannot update {first} and {second} simultaneously.")
    is_database = user["identities"][0].get("provider") == "auth0"
    if not is_database and ("email" in body or "password" in body):
        what = "email" if "email" in body else "password"
        raise bad_body(f"Cannot update {what} for non-database user.")
    if "connection" in body and tenant.connection_named(body["connection"]) is None:
        raise bad_body("Connection does not exist.")
    check_metadata_keys(body)
    metadata = {name: merge_metadata(user.get(name, {}), body[name]) if name in body
                else user.get(name, {}) for name in METADATA_FIELDS}
    check_metadata_size(metadata)
    for name in METADATA_FIELDS:
        if name in body:
            user[name] = metadata[name]
    for name, value in body.items():
        if name in METADATA_FIELDS or name in NOT_STORED:
            continue
        if value is None:
            user.pop(name, None)
        elif name == "email":
            user["email"] = str(value).lower()
            if "email_verified" not in body:
                user["email_verified"] = False
        else:
            user[name] = value
    if "password" in body:
        user["last_password_reset"] = now_iso()
    user["updated_at"] = now_iso()


def _forbidden_key(value: Any) -> str | None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if any(c in key for c in FORBIDDEN_KEY_CHARACTERS):
                    return str(key)
                stack.append(child)
        elif isinstance(node, list):
            stack.extend(node)
    return None


def check_metadata_keys(body: dict[str, Any]) -> None:
    """Field names with "." or "$" are a 400 at any depth (Auth0 documents the 400)."""
    for name in METADATA_FIELDS:
        key = _forbidden_key(body.get(name))
        if key is not None:
            raise bad_body(f"Payload validation error: 'Field names must not contain \".\" or "
                           f"\"$\": {key}' on property {name}.")


def check_metadata_size(metadata: dict[str, Any]) -> None:
    """The user's metadata after this change, both fields together, within 16 MB."""
    size = sum(len(json.dumps(metadata.get(name) or {}, separators=(",", ":"),
                              ensure_ascii=False).encode()) for name in METADATA_FIELDS)
    if size > MAX_METADATA_BYTES:
        raise bad_body(f"user_metadata and app_metadata together would hold {size} bytes; "
                       f"the limit is {MAX_METADATA_BYTES} bytes (16 MB) per user.")


def merge_metadata(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    if not patch:
        return {}
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value  # first level only: nested objects are replaced
    return merged


def create_user(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    connection = tenant.connection_named(body["connection"])
    if connection is None:
        raise bad_body("Connection does not exist.")
    if not connection.is_database:
        raise bad_body("Connection does not support user creation through the API. "
                       "It must either be a database or passwordless connection.")
    for required in ("email", "password"):
        if required not in body:
            raise bad_body(f"Payload validation error: 'Missing required property: {required}'.")
    if "username" in body:
        raise bad_body("Cannot set username for connection without requires_username.")
    check_metadata_keys(body)
    check_metadata_size({name: body.get(name) for name in METADATA_FIELDS})
    email = str(body["email"]).lower()
    local_id = str(body.get("user_id") or secrets.token_hex(12))
    user_id = f"auth0|{local_id}"
    for existing in tenant.users.values():
        same_connection = existing["identities"][0]["connection"] == connection.name
        if existing["user_id"] == user_id or (same_connection and existing.get("email") == email):
            raise ManagementError(409, USER_EXISTS, "auth0_idp_error")
    now = now_iso()
    user: dict[str, Any] = {
        "user_id": user_id,
        "email": email,
        "email_verified": bool(body.get("email_verified", False)),
        "name": body.get("name", email),
        "nickname": body.get("nickname", email.split("@", 1)[0]),
        "picture": body.get("picture", f"https://cdn.auth0.com/avatars/{email[:2]}.png"),
        "created_at": now,
        "updated_at": now,
        "identities": [{"connection": connection.name, "user_id": local_id,
                        "provider": "auth0", "isSocial": False}],
        "app_metadata": dict(body.get("app_metadata") or {}),
        "user_metadata": dict(body.get("user_metadata") or {}),
    }
    for optional in ("given_name", "family_name", "phone_number", "phone_verified", "blocked"):
        if optional in body:
            user[optional] = body[optional]
    tenant.users[user_id] = user
    tenant.logs.setdefault(user_id, [])
    return user
