"""Handlers of ``/users/{id}/permissions``: permissions from roles and assigned directly.

GET lists each permission once with where it comes from: Auth0's ``sources``,
``{"source_id": "", "source_name": "", "source_type": "DIRECT"}`` for a direct
assignment (as recorded from Auth0 by go-auth0's tests) and the role for each
role that grants it.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.management.assignments import add_missing
from emulator.management.guard import query
from emulator.management.lookup import require_user
from emulator.management.present import paged
from emulator.management.provisioning import resource_server_by_identifier
from emulator.management.user_updates import bad_body
from emulator.management.users import validated_body
from emulator.tenant import Tenant

DIRECT_SOURCE = {"source_id": "", "source_name": "", "source_type": "DIRECT"}
_ITEM_FIELDS = ("resource_server_identifier", "permission_name")


def _granted(t: Tenant, user_id: str) -> list[tuple[tuple[str, str], dict[str, str]]]:
    """(identifier, permission) with the source of each grant, direct ones first."""
    grants = [(pair, DIRECT_SOURCE) for pair in t.accounts.direct_permissions.get(user_id, [])]
    for role in t.roles_of(user_id):
        source = {"source_id": role.id, "source_name": role.name, "source_type": "ROLE"}
        pairs = [(t.gateway_audience, name) for name in role.permissions]
        pairs += t.provisioning.other_role_permissions.get(role.id, [])
        grants += [(pair, source) for pair in pairs]
    return grants


def _row(t: Tenant, identifier: str, name: str) -> dict[str, Any]:
    server = resource_server_by_identifier(t, identifier) or {"name": identifier, "scopes": []}
    description = next((s.get("description", "") for s in server["scopes"]
                        if s.get("value") == name), "")
    return {"permission_name": name, "description": description,
            "resource_server_name": server["name"], "resource_server_identifier": identifier,
            "sources": []}


def get_user_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for (identifier, name), source in _granted(t, id):
            row = rows.setdefault((identifier, name), _row(t, identifier, name))
            row["sources"].append(dict(source))
        permissions = [rows[key] for key in sorted(rows)]
    return jsonify(paged(permissions, query(), "permissions", with_length=False))


def _requested(t: Tenant) -> list[tuple[str, str]]:
    """The body's (identifier, permission) pairs, each defined by its API."""
    pairs = []
    for index, item in enumerate(validated_body()["permissions"]):
        where = f"on property permissions[{index}]"
        for name in _ITEM_FIELDS:
            if not isinstance(item.get(name), str):
                raise bad_body(f"Payload validation error: 'Missing required property: {name}' "
                               f"{where}.")
        extra = [k for k in item if k not in _ITEM_FIELDS]
        if extra:
            raise bad_body("Payload validation error: 'Additional properties not allowed: "
                           f"{','.join(extra)}' {where}.")
        identifier, name = item["resource_server_identifier"], item["permission_name"]
        server = resource_server_by_identifier(t, identifier)
        # Same texts as for role permissions; for users Auth0 answers 400 (the spec lists
        # no other 4xx than the user's 404). Wording UNCONFIRMED.
        if server is None:
            raise bad_body(f"Resource server {identifier} does not exist")
        if name not in {s["value"] for s in server["scopes"]}:
            raise bad_body(f"Permission {name} does not exist for resource server {identifier}")
        pairs.append((identifier, name))
    return pairs


def post_user_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        requested = _requested(t)
        add_missing(t.accounts.direct_permissions.setdefault(id, []), requested)
    return jsonify({}), 201


def delete_user_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        remove = set(_requested(t))
        kept = [p for p in t.accounts.direct_permissions.get(id, []) if p not in remove]
        if kept:
            t.accounts.direct_permissions[id] = kept
        else:
            t.accounts.direct_permissions.pop(id, None)
    return "", 204
