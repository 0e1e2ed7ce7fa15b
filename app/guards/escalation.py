"""Escalation protection, the facade's `escalation.check` step: who may assign or
remove which roles (`assignable_roles`), who may change users holding a
protected role (`[protection]`), and no acting on your own account. Every
refusal is a 403 naming the rule.

Design: docs/guardrails.md, "Escalation protection"; the policy: README.md,
"Escalation protection".
"""

from __future__ import annotations

import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask import current_app

from ..auth.policy import Locator
from ..call import Call, field_value
from ..catalog import (
    LIST_ROLES,
    PERMISSIONS,
    READ_USER,
    READ_USER_PERMISSIONS,
    READ_USER_ROLES,
    Operation,
)
from ..errors import Problem
from ..management import upstream
from ..state import policy, policy_section

SECTION = "protection"
ROLE_KEY = "assignable_roles"
PERMISSION_KEY = "assignable_permissions"
PERMISSION_FIELDS = ("resource_server_identifier", "permission_name")
DEFAULT_MANAGE_PERMISSION = "users:manage_protected"
SELF_ACTION_CHOICES = ("deny", "allow")
ROLE_CACHE_SECONDS = 60.0
ROLE_PAGE_SIZE = 100
ROLE_MAX_PAGES = 20
CACHE_EXTENSION = "admin_gateway.role_names"


@dataclass(frozen=True)
class ProtectionConfig:
    protected_roles: frozenset[str] = frozenset()
    manage_permission: str = DEFAULT_MANAGE_PERMISSION
    self_actions: str = "deny"
    # Direct permissions: may a caller grant one it does not hold itself?
    grant_unheld_permissions: bool = False


# (resource_server_identifier, permission_name): a permission as Auth0's body names it.
PermissionRef = tuple[str, str]


def _names(raw: Any) -> list[str] | None:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
        return None
    return list(raw)


def parse_assignable(role: str, raw: Any, locate: Locator, problems: list[str]) -> frozenset[str]:
    names = _names(raw)
    if names is None:
        problems.append(f"{locate.where(section=('roles', role), key=ROLE_KEY)}: role {role!r}: "
                        f"{ROLE_KEY} must be a list of role names")
        return frozenset()
    return frozenset(names)


def parse_assignable_permissions(role: str, raw: Any, locate: Locator,
                                 problems: list[str]) -> frozenset[PermissionRef]:
    """`assignable_permissions = [{ resource_server_identifier = "...", permission_name =
    "..." }, ...]`: the direct permissions holders of the role may assign and remove."""
    where = locate.where(section=("roles", role), key=PERMISSION_KEY)
    entries = raw if isinstance(raw, list) else None
    refs: set[PermissionRef] = set()
    for entry in entries or []:
        if (not isinstance(entry, dict) or set(entry) != set(PERMISSION_FIELDS)
                or not all(isinstance(entry[k], str) and entry[k].strip()
                           for k in PERMISSION_FIELDS)):
            entries = None
            break
        refs.add((entry["resource_server_identifier"], entry["permission_name"]))
    if entries is None:
        problems.append(f"{where}: role {role!r}: {PERMISSION_KEY} must be a list of tables "
                        f"{{ resource_server_identifier = \"...\", permission_name = "
                        f"\"...\" }}")
        return frozenset()
    return frozenset(refs)


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> ProtectionConfig:
    where = locate.where(section=(SECTION,))
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [protection] must be a table")
        return ProtectionConfig()
    unknown = set(raw) - {"protected_roles", "manage_permission", "self_actions",
                          "grant_unheld_permissions"}
    if unknown:
        problems.append(f"{where}: [protection]: unknown key(s) {', '.join(sorted(unknown))}; "
                        f"allowed: protected_roles, manage_permission, self_actions, "
                        f"grant_unheld_permissions")
    unheld = raw.get("grant_unheld_permissions", False)
    if not isinstance(unheld, bool):
        problems.append(f"{locate.where(section=(SECTION,), key='grant_unheld_permissions')}: "
                        f"grant_unheld_permissions must be true or false")
        unheld = False
    protected = _names(raw.get("protected_roles", []))
    if protected is None:
        problems.append(f"{locate.where(section=(SECTION,), key='protected_roles')}: "
                        f"protected_roles must be a list of role names")
        protected = []
    permission = raw.get("manage_permission", DEFAULT_MANAGE_PERMISSION)
    if permission not in PERMISSIONS:
        problems.append(f"{locate.where(section=(SECTION,), key='manage_permission')}: "
                        f"manage_permission {permission!r} is not a gateway permission")
        permission = DEFAULT_MANAGE_PERMISSION
    self_actions = raw.get("self_actions", "deny")
    if self_actions not in SELF_ACTION_CHOICES:
        problems.append(f"{locate.where(section=(SECTION,), key='self_actions')}: self_actions "
                        f"must be \"deny\" or \"allow\"")
        self_actions = "deny"
    return ProtectionConfig(frozenset(protected), str(permission), str(self_actions), unheld)


def config() -> ProtectionConfig:
    found = policy_section(SECTION, ProtectionConfig())
    assert isinstance(found, ProtectionConfig)
    return found


def _role_grants(role_names: tuple[str, ...], key: str) -> frozenset[Any]:
    roles = policy().roles
    granted: set[Any] = set()
    for name in role_names:
        role = roles.get(name)
        if role is not None:
            granted |= set(role.extras.get(key, frozenset()))
    return frozenset(granted)


def assignable_roles(role_names: tuple[str, ...]) -> frozenset[str]:
    return _role_grants(role_names, ROLE_KEY)


def assignable_permissions(role_names: tuple[str, ...]) -> frozenset[PermissionRef]:
    return _role_grants(role_names, PERMISSION_KEY)


class RoleNames:
    """Role id -> name from GET /roles, refreshed every ROLE_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._fetched = float("-inf")

    def lookup(self, role_ids: list[str]) -> dict[str, str]:
        with self._lock:
            fresh = time.monotonic() - self._fetched < ROLE_CACHE_SECONDS
            if fresh and all(r in self._names for r in role_ids):
                return dict(self._names)
        names = self._fetch()
        with self._lock:
            self._names, self._fetched = names, time.monotonic()
        return names

    @staticmethod
    def _fetch() -> dict[str, str]:
        names: dict[str, str] = {}
        for page in range(ROLE_MAX_PAGES):
            body = upstream().read(LIST_ROLES, {}, [("page", str(page)),
                                                    ("per_page", str(ROLE_PAGE_SIZE))],
                                   fresh=True).body
            roles = body.get("roles", []) if isinstance(body, dict) else body
            if not isinstance(roles, list):
                break
            for role in roles:
                if isinstance(role, dict) and isinstance(role.get("id"), str):
                    names[role["id"]] = str(role.get("name", ""))
            if len(roles) < ROLE_PAGE_SIZE:
                break
        return names


def role_names() -> RoleNames:
    found = current_app.extensions.setdefault(CACHE_EXTENSION, RoleNames())
    assert isinstance(found, RoleNames)
    return found


def _refuse(detail: str, slug: str, **extra: Any) -> Problem:
    return Problem(403, detail, slug=slug, extra=extra)


def _check_assignable(call: Call) -> None:
    requested = [r for r in (call.request.body or {}).get("roles", []) if isinstance(r, str)]
    names = role_names().lookup(requested)
    allowed = assignable_roles(call.principal.roles)
    refused = [names.get(role_id, role_id) for role_id in requested
               if names.get(role_id) not in allowed]
    if refused:
        verb = "assign" if call.operation.method == "POST" else "remove"
        may = ", ".join(sorted(allowed)) or "none"
        raise _refuse(f"You may not {verb} the role(s) {', '.join(refused)}; roles you may "
                      f"{verb}: {may}.", "role-not-assignable", roles=refused)


def _every_item(operation: Operation, user_id: str, key: str) -> list[dict[str, Any]] | None:
    """Every item of a user's paged list (roles, permissions), read fresh; None when there
    are more pages than the gateway reads (the caller is then refused: unverified is not
    allowed)."""
    items: list[dict[str, Any]] = []
    for page in range(ROLE_MAX_PAGES):
        body = upstream().read(operation, {"id": user_id},
                               [("page", str(page)), ("per_page", str(ROLE_PAGE_SIZE))],
                               fresh=True).body
        found = body.get(key, []) if isinstance(body, dict) else body
        if not isinstance(found, list):
            return items
        items.extend(item for item in found if isinstance(item, dict))
        if len(found) < ROLE_PAGE_SIZE:
            return items
    return None


def _held_role_names(target: str) -> set[str] | None:
    """Every role name the target holds."""
    roles = _every_item(READ_USER_ROLES, target, "roles")
    return None if roles is None else {str(r.get("name")) for r in roles}


def _check_protected(call: Call, target: str, protection: ProtectionConfig) -> None:
    if not protection.protected_roles or call.principal.has(protection.manage_permission):
        return
    held = _held_role_names(target)
    if held is None:
        raise _refuse(f"This user holds more than {ROLE_MAX_PAGES * ROLE_PAGE_SIZE} roles, "
                      f"too many to verify that none is protected; changing them needs the "
                      f"permission {protection.manage_permission}.", "protected-user",
                      required_permission=protection.manage_permission)
    protected = sorted(n for n in held if n in protection.protected_roles)
    if protected:
        raise _refuse(f"This user holds the protected role {', '.join(protected)}; changing "
                      f"them needs the permission {protection.manage_permission}.",
                      "protected-user", required_permission=protection.manage_permission)


def _requested_permissions(call: Call) -> list[PermissionRef]:
    refs = []
    for entry in (call.request.body or {}).get("permissions", []):
        if isinstance(entry, dict):
            refs.append((str(entry.get("resource_server_identifier", "")),
                         str(entry.get("permission_name", ""))))
    return refs


def _held_permissions(user_id: str) -> set[PermissionRef] | None:
    """Every permission the user holds (direct and through roles), from Auth0."""
    items = _every_item(READ_USER_PERMISSIONS, user_id, "permissions")
    return None if items is None else {
        (str(p.get("resource_server_identifier")), str(p.get("permission_name")))
        for p in items}


def _label(ref: PermissionRef) -> str:
    return f"{ref[1]} ({ref[0]})"


def _check_permissions(call: Call, protection: ProtectionConfig) -> None:
    """Direct permissions: only those the caller's roles may assign (`assignable_permissions`),
    and, when granting, only those the caller holds itself (unless the policy allows)."""
    requested = _requested_permissions(call)
    allowed = assignable_permissions(call.principal.roles)
    refused = [_label(ref) for ref in requested if ref not in allowed]
    verb = "assign" if call.operation.method == "POST" else "remove"
    if refused:
        raise _refuse(f"You may not {verb} the permission(s) {', '.join(refused)}; see "
                      f"{PERMISSION_KEY} in the gateway's policy.", "permission-not-assignable",
                      permissions=refused)
    if call.operation.method != "POST" or protection.grant_unheld_permissions:
        return
    held = _held_permissions(call.principal.subject)
    unheld = [_label(ref) for ref in requested if held is None or ref not in held]
    if unheld:
        raise _refuse(f"You may not grant permission(s) you do not hold yourself: "
                      f"{', '.join(unheld)}.", "permission-not-held", permissions=unheld)


def check(call: Call) -> None:
    """Pipeline step: self-actions, role and permission assignment and protected users
    (writes only)."""
    if not call.operation.is_write:
        return
    protection = config()
    acted = call.acted_users
    if call.principal.subject in acted or _grants_to_own_email(call):
        action = call.operation.self_action_for(call.fields)
        if call.operation.grants:
            # Never to oneself, whatever self_actions says: nobody grants themselves power.
            raise _refuse(f"You may not {action or 'grant yourself anything'}; ask another "
                          f"administrator.", "self-grant")
        if action is not None and protection.self_actions == "deny":
            raise _refuse(f"You may not {action}; ask another administrator.", "self-action")
    if call.operation.assigns_roles:
        _check_assignable(call)
    if call.operation.assigns_permissions:
        _check_permissions(call, protection)
    template = call.operation.secondary_user
    secondary = template.format(**call.request.path) if template else None
    for user_id in acted:
        try:
            _check_protected(call, user_id, protection)
        except Problem as refused:
            if user_id != secondary or refused.code != 404:
                raise
            # The account an unlink restores is not a user of its own yet: the identity
            # lives inside the (checked) primary.


def _grants_to_own_email(call: Call) -> bool:
    """An invitation to the caller's own address is a grant to the caller."""
    path = call.operation.grantee_email
    if path is None:
        return False
    given = field_value(call.request.body, path)
    if not isinstance(given, str):
        return False
    try:
        own = upstream().read(READ_USER, {"id": call.principal.subject},
                              [("fields", "user_id,email"), ("include_fields", "true")],
                              fresh=True).body
    except Problem as refused:
        if refused.code != 404:
            raise
        return True  # the caller's own address cannot be told: never grant blind
    email = own.get("email") if isinstance(own, dict) else None
    return not isinstance(email, str) or _address(email) == _address(given)


def _address(email: str) -> str:
    """An email as compared for self-grants: compatibility forms and case folded away, so
    that a look-alike spelling of one's own address counts as one's own."""
    return unicodedata.normalize("NFKC", email).casefold().strip()


