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
from dataclasses import dataclass
from typing import Any

from flask import current_app

from ..auth.policy import Locator
from ..call import Call
from ..catalog import LIST_ROLES, PERMISSIONS, READ_USER_ROLES
from ..errors import Problem
from ..management import upstream
from ..state import policy, policy_section

SECTION = "protection"
ROLE_KEY = "assignable_roles"
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


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> ProtectionConfig:
    where = locate.where(section=(SECTION,))
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [protection] must be a table")
        return ProtectionConfig()
    unknown = set(raw) - {"protected_roles", "manage_permission", "self_actions"}
    if unknown:
        problems.append(f"{where}: [protection]: unknown key(s) {', '.join(sorted(unknown))}; "
                        f"allowed: protected_roles, manage_permission, self_actions")
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
    return ProtectionConfig(frozenset(protected), str(permission), str(self_actions))


def config() -> ProtectionConfig:
    found = policy_section(SECTION, ProtectionConfig())
    assert isinstance(found, ProtectionConfig)
    return found


def assignable_roles(role_names: tuple[str, ...]) -> frozenset[str]:
    roles = policy().roles
    granted: set[str] = set()
    for name in role_names:
        role = roles.get(name)
        if role is not None:
            granted |= set(role.extras.get(ROLE_KEY, frozenset()))
    return frozenset(granted)


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


def _held_role_names(target: str) -> set[str] | None:
    """Every role name the target holds, page by page; None when there are more pages than
    the gateway reads (the caller is then refused: unverified is not unprotected)."""
    held: set[str] = set()
    for page in range(ROLE_MAX_PAGES):
        body = upstream().read(READ_USER_ROLES, {"id": target},
                               [("page", str(page)), ("per_page", str(ROLE_PAGE_SIZE))],
                               fresh=True).body
        roles = body.get("roles", []) if isinstance(body, dict) else body
        if not isinstance(roles, list):
            return held
        held.update(str(r.get("name")) for r in roles if isinstance(r, dict))
        if len(roles) < ROLE_PAGE_SIZE:
            return held
    return None


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


def check(call: Call) -> None:
    """Pipeline step: self-actions, role assignment and protected users (writes only)."""
    if not call.operation.is_write:
        return
    protection = config()
    target = call.target_user
    if target is not None and target == call.principal.subject \
            and protection.self_actions == "deny":
        action = call.operation.self_action_for(call.fields)
        if action is not None:
            raise _refuse(f"You may not {action}; ask another administrator.", "self-action")
    if call.operation.assigns_roles:
        _check_assignable(call)
    if target is not None:
        _check_protected(call, target, protection)
