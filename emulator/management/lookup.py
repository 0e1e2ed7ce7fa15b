"""The 404s shared by several handlers: unknown user, role, organization."""

from __future__ import annotations

from typing import Any

from emulator.errors import ORGANIZATION_NOT_FOUND, ROLE_NOT_FOUND, USER_NOT_FOUND, ManagementError
from emulator.models import Organization, Role
from emulator.tenant import Tenant


def require_user(t: Tenant, user_id: str, message: str = USER_NOT_FOUND) -> dict[str, Any]:
    user = t.users.get(user_id)
    if user is None:
        raise ManagementError(404, message, "inexistent_user")
    return user


def require_role(t: Tenant, role_id: str) -> Role:
    role = t.roles.get(role_id)
    if role is None:
        raise ManagementError(404, ROLE_NOT_FOUND, "inexistent_role")
    return role


def require_organization(t: Tenant, org_id: str) -> Organization:
    org = t.organizations.get(org_id)
    if org is None:
        raise ManagementError(404, ORGANIZATION_NOT_FOUND)
    return org
