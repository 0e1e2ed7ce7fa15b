"""The authenticated caller, built from verified claims and the policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.catalog import PERMISSIONS
from config.settings import Settings

from .policy import Policy

# Auth0 client-credentials tokens have sub = "{client_id}@clients"; `gty` is not
# reliable for spotting them (AUTH0_FACTS.md).
MACHINE_SUBJECT_SUFFIX = "@clients"


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str | None
    org_id: str | None
    department: str | None
    roles: tuple[str, ...]
    permissions: frozenset[str]
    is_machine: bool
    expires_at: int  # `exp`, seconds since the epoch
    # Claims the token carries in a shape the gateway cannot use ("roles", "org_id",
    # "department"): present but malformed, or (for roles) absent. Delegated scope treats
    # them as missing attributes, never as "no rule applies" (fail closed).
    unusable_claims: frozenset[str] = frozenset()
    # How the user last authenticated (RFC 9470 step-up): `auth_time` (epoch seconds),
    # `acr` and `amr`, from the standard claims or the configured namespaced ones.
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()

    def has(self, permission: str) -> bool:
        return permission in self.permissions


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...]:
    """A claim that should be a list of strings; a lone string counts as one item.

    Anything else (numbers, objects) is ignored rather than trusted.
    """
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))
    return ()


def _unusable(claims: Mapping[str, Any], settings: Settings) -> frozenset[str]:
    """Which scope-relevant claims cannot be trusted to say what they should."""
    bad = set()
    roles = claims.get(settings.roles_claim)
    # Absent: the post-login Action that adds it is missing, disabled or failed; the
    # caller's roles are unknown, not empty. Present: a string or a list of strings.
    if not (isinstance(roles, str) or (isinstance(roles, list)
                                       and all(isinstance(r, str) for r in roles))):
        bad.add("roles")
    for name, claim in (("org_id", "org_id"), ("department", settings.department_claim)):
        if claim in claims and _string(claims[claim]) is None:
            bad.add(name)  # present, but not a non-empty string
    return frozenset(bad)


def _authentication(claims: Mapping[str, Any], settings: Settings
                    ) -> tuple[int | None, str | None, tuple[str, ...]]:
    """(auth_time, acr, amr): the standard claim when the token has it, else the namespaced
    one a post-login Action adds (Auth0 access tokens carry neither by default). A value of
    the wrong type counts as absent: step-up then asks for a fresh login."""
    def first(*names: str) -> Any:
        return next((claims[name] for name in names if name in claims), None)
    raw_time = first("auth_time", settings.auth_time_claim)
    auth_time = int(raw_time) if isinstance(raw_time, (int, float)) \
        and not isinstance(raw_time, bool) else None
    return (auth_time, _string(first("acr", settings.acr_claim)),
            _strings(first("amr", settings.amr_claim)))


def is_machine_subject(subject: str) -> bool:
    return subject.endswith(MACHINE_SUBJECT_SUFFIX)


def principal_from_claims(claims: Mapping[str, Any], settings: Settings,
                          policy: Policy) -> Principal:
    """Effective permissions = `permissions` ∪ roles via the policy (∪ `scope` if trusted).

    Only names the gateway knows count: anything else a token carries (other APIs'
    permissions, OIDC scopes) is ignored.
    """
    roles = _strings(claims.get(settings.roles_claim))
    granted = set(_strings(claims.get("permissions")))
    granted |= policy.permissions_for(roles)
    if settings.trust_scope_claim:
        # Only safe with RBAC on: without it Auth0 grants any scope a client requests.
        scope = claims.get("scope")
        if isinstance(scope, str):
            granted |= set(scope.split())
    subject = str(claims["sub"])
    auth_time, acr, amr = _authentication(claims, settings)
    return Principal(
        subject=subject,
        client_id=_string(claims.get("azp")) or _string(claims.get("client_id")),
        org_id=_string(claims.get("org_id")),
        department=_string(claims.get(settings.department_claim)),
        roles=roles,
        permissions=frozenset(p for p in granted if p in PERMISSIONS),
        is_machine=is_machine_subject(subject),
        expires_at=int(claims["exp"]),
        unusable_claims=_unusable(claims, settings),
        auth_time=auth_time,
        acr=acr,
        amr=amr,
    )
