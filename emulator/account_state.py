"""What the tenant holds about users beyond their profile documents.

Directly assigned permissions, sessions and refresh tokens, MFA authentication
methods, organization membership (with roles per organization) and invitations.
Documents are kept in the shape the Management API returns them; keys that
start with ``_`` are the emulator's own and never leave it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Auth0's plans; only Enterprise offers session and refresh token management.
ENTERPRISE = "enterprise"
PLANS = ("free", "essentials", "professional", ENTERPRISE)
DEFAULT_PLAN = ENTERPRISE
# Method types that are a second factor (recovery codes, passwords and email are not
# Guardian enrollments: they never make a user "enrolled in MFA").
MFA_FACTORS = frozenset({"totp", "push", "phone", "webauthn-roaming", "webauthn-platform"})


@dataclass
class AccountState:
    # user_id -> (resource server identifier, permission name), in assignment order.
    direct_permissions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Session and refresh token documents by their id (each names its user_id).
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    # user_id -> authentication method documents, in enrollment order.
    auth_methods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # user_id -> when an admin last invalidated the user's remembered browsers.
    browsers_forgotten_at: dict[str, str] = field(default_factory=dict)
    # org_id -> member user_ids in the order they joined.
    org_members: dict[str, list[str]] = field(default_factory=dict)
    # org_id -> user_id -> role ids assigned in that organization.
    org_member_roles: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # org_id -> invitation id -> invitation document.
    invitations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def sessions_of(self, user_id: str) -> list[dict[str, Any]]:
        return sorted((s for s in self.sessions.values() if s["user_id"] == user_id),
                      key=lambda s: (s["created_at"], s["id"]))

    def refresh_tokens_of(self, user_id: str) -> list[dict[str, Any]]:
        return sorted((r for r in self.refresh_tokens.values() if r["user_id"] == user_id),
                      key=lambda r: (r["created_at"], r["id"]))

    def delete_sessions(self, ids: list[str]) -> None:
        for session_id in ids:
            self.sessions.pop(session_id, None)

    def delete_refresh_tokens(self, ids: list[str]) -> None:
        for token_id in ids:
            self.refresh_tokens.pop(token_id, None)

    def has_mfa(self, user_id: str) -> bool:
        return any(m["type"] in MFA_FACTORS for m in self.auth_methods.get(user_id, []))

    def clear_mfa(self, user: dict[str, Any]) -> None:
        """Every factor and recovery code gone, and the profile says so (as after an
        admin's MFA reset)."""
        self.auth_methods.pop(user["user_id"], None)
        user.pop("multifactor", None)
        user.pop("multifactor_last_modified", None)

    def organizations_of(self, user_id: str) -> list[str]:
        return [org_id for org_id, members in self.org_members.items() if user_id in members]

    def forget_user(self, user_id: str) -> None:
        """Drop what belonged to a deleted user."""
        self.direct_permissions.pop(user_id, None)
        self.delete_sessions([s["id"] for s in self.sessions_of(user_id)])
        self.delete_refresh_tokens([r["id"] for r in self.refresh_tokens_of(user_id)])
        self.auth_methods.pop(user_id, None)
        self.browsers_forgotten_at.pop(user_id, None)
        for members in self.org_members.values():
            if user_id in members:
                members.remove(user_id)
        for roles in self.org_member_roles.values():
            roles.pop(user_id, None)
