"""Handlers of organization membership: members, their roles in the organization,
invitations, and a user's organizations.

An unknown organization answers Auth0's recorded 404 (ORGANIZATION_NOT_FOUND).
Member lists page by offset or, with ``from``/``take``, by checkpoint; roles
appear in them only when ``fields`` asks for ``roles``, which needs
``read:organization_member_roles`` (as Auth0's reference says).
"""

from __future__ import annotations

import datetime
import secrets
import string
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import ManagementError
from emulator.management import checkpoint
from emulator.management.assignments import add_missing
from emulator.management.guard import caller, query
from emulator.management.lookup import require_organization, require_role, require_user
from emulator.management.present import (
    json_copy,
    page_window,
    paged,
    select_fields,
    sort_order,
)
from emulator.management.user_updates import bad_body
from emulator.management.users import validated_body
from emulator.models import Organization
from emulator.seed import iso
from emulator.seed_accounts import INVITATION_TTL, invitation_url
from emulator.tenant import Tenant

MEMBER_ROLES_SCOPE = "read:organization_member_roles"
# Refusals Auth0 does not document; texts UNCONFIRMED.
UNKNOWN_MEMBER = "One or more of the users do not exist."
NOT_A_MEMBER = "The user is not a member of the organization."
_ALNUM = string.ascii_letters + string.digits


def _org_json(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "display_name": org.display_name}


def get_user_organizations(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_user(t, id)
        orgs = [_org_json(t.organizations[o]) for o in t.accounts.organizations_of(id)]
    return jsonify(paged(orgs, query(), "organizations", with_length=False))


# --- members ---------------------------------------------------------------------------


def _member(t: Tenant, org_id: str, user_id: str, with_roles: bool) -> dict[str, Any]:
    user = t.users[user_id]
    doc = {"user_id": user_id, "email": user.get("email"), "picture": user.get("picture"),
           "name": user.get("name")}
    doc = {k: v for k, v in doc.items() if v is not None}
    if with_roles:
        roles = t.accounts.org_member_roles.get(org_id, {}).get(user_id, [])
        doc["roles"] = [{"id": r, "name": t.roles[r].name} for r in roles if r in t.roles]
    return doc


def get_organization_members(id: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    fields = q.get("fields")
    include = q.get("include_fields", True)
    wanted = {f.strip() for f in str(fields or "").split(",")}
    with_roles = include and "roles" in wanted
    if with_roles and MEMBER_ROLES_SCOPE not in caller().scopes:
        raise ManagementError(403, f"Insufficient scope, expected any of: {MEMBER_ROLES_SCOPE}",
                              "insufficient_scope")
    with t.lock:
        require_organization(t, id)
        members = list(t.accounts.org_members.get(id, []))

        def shape(user_id: str) -> dict[str, Any]:
            return select_fields(_member(t, id, user_id, with_roles), fields, include)

        if checkpoint.wants_checkpoint(q):
            window, after = checkpoint.page(members, q, str, opaque_cursor=True)
            body: dict[str, Any] = {"members": [shape(m) for m in window]}
            if after is not None:
                body["next"] = after
            return jsonify(body)
        return jsonify(paged(members, q, "members", with_length=False, shape=shape))


def _members_body(t: Tenant) -> list[str]:
    members: list[str] = validated_body()["members"]
    if any(m not in t.users for m in members):
        raise bad_body(UNKNOWN_MEMBER)
    return members


def post_organization_members(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        add_missing(t.accounts.org_members.setdefault(id, []), _members_body(t))
    return "", 204


def delete_organization_members(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        remove = set(validated_body()["members"])
        current = t.accounts.org_members.get(id, [])
        t.accounts.org_members[id] = [m for m in current if m not in remove]
        roles = t.accounts.org_member_roles.get(id, {})
        for user_id in remove:
            roles.pop(user_id, None)
    return "", 204


# --- member roles ------------------------------------------------------------------------


def _role_ids(t: Tenant) -> list[str]:
    roles: list[str] = validated_body()["roles"]
    for role_id in roles:
        require_role(t, role_id)
    return roles


def get_organization_member_roles(id: str, user_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        require_user(t, user_id)
        assigned = t.accounts.org_member_roles.get(id, {}).get(user_id, [])
        roles = [t.roles[r].as_json() for r in assigned if r in t.roles]
    return jsonify(paged(roles, query(), "roles", with_length=False))


def post_organization_member_roles(id: str, user_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        require_user(t, user_id)
        if user_id not in t.accounts.org_members.get(id, []):
            raise bad_body(NOT_A_MEMBER)
        assigned = t.accounts.org_member_roles.setdefault(id, {}).setdefault(user_id, [])
        add_missing(assigned, _role_ids(t))
    return "", 204


def delete_organization_member_roles(id: str, user_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        remove = set(validated_body()["roles"])
        by_user = t.accounts.org_member_roles.get(id, {})
        kept = [r for r in by_user.get(user_id, []) if r not in remove]
        if kept:
            by_user[user_id] = kept
        else:
            by_user.pop(user_id, None)
    return "", 204


# --- invitations -------------------------------------------------------------------------


def get_invitations(id: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    field, descending = sort_order(q, "created_at:-1")
    with t.lock:
        require_organization(t, id)
        invitations = sorted(t.accounts.invitations.get(id, {}).values(),
                             key=lambda i: str(i.get(field, "")), reverse=descending)
        invitations = [select_fields(json_copy(i), q.get("fields"), q.get("include_fields", True))
                       for i in invitations]
    page, per_page = page_window(q)
    window = invitations[page * per_page:(page + 1) * per_page]
    if not q.get("include_totals"):
        return jsonify(window)
    # The spec's (and Auth0's recorded) shape: start and limit, no total.
    return jsonify({"invitations": window, "start": page * per_page, "limit": per_page})


def _required(body: dict[str, Any], name: str, member: str) -> str:
    value = body.get(name)
    if not isinstance(value, dict) or not isinstance(value.get(member), str):
        raise bad_body(f"Payload validation error: 'Missing required property: {member}' "
                       f"on property {name}.")
    extra = [k for k in value if k != member]
    if extra:
        raise bad_body("Payload validation error: 'Additional properties not allowed: "
                       f"{','.join(extra)}' on property {name}.")
    return str(value[member])


def post_invitation(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    inviter = _required(body, "inviter", "name")
    invitee = _required(body, "invitee", "email")
    # The spec bounds ttl_sec to 0..2592000 (30 days); 0 means Auth0's default.
    ttl = int(body.get("ttl_sec") or INVITATION_TTL)
    with t.lock:
        org = require_organization(t, id)
        client_id = str(body["client_id"])
        if client_id not in t.clients and client_id not in t.spa_clients:
            raise bad_body(f"The client {client_id} does not exist.")  # UNCONFIRMED text
        if "connection_id" in body and body["connection_id"] not in t.connections:
            raise bad_body(f"The connection with id {body['connection_id']} does not exist.")
        for role_id in body.get("roles", []):
            require_role(t, role_id)
        created = datetime.datetime.now(datetime.UTC)
        ticket = "".join(secrets.choice(_ALNUM) for _ in range(32))
        invitation: dict[str, Any] = {
            "id": "uinv_" + "".join(secrets.choice(_ALNUM) for _ in range(16)),
            "organization_id": org.id, "inviter": {"name": inviter},
            "invitee": {"email": invitee}, "invitation_url": invitation_url(ticket, org),
            "created_at": iso(created),
            "expires_at": iso(created + datetime.timedelta(seconds=ttl)),
            "client_id": client_id,
        }
        for name in ("connection_id", "app_metadata", "user_metadata", "roles"):
            if name in body:
                invitation[name] = json_copy(body[name])
        invitation["ticket_id"] = ticket
        t.accounts.invitations.setdefault(org.id, {})[invitation["id"]] = invitation
        # Auth0 answers 201 (go-auth0's recordings), though its spec documents 200.
        return jsonify(json_copy(invitation)), 201


def delete_invitation(id: str, invitation_id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        require_organization(t, id)
        # An invitation already gone is no error (UNCONFIRMED; Auth0's GET of one says
        # "The invitation does not exist.", inexistent_invitation).
        t.accounts.invitations.get(id, {}).pop(invitation_id, None)
    return "", 204
