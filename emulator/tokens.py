"""Claims of the access tokens the emulated tenant issues.

End-user tokens follow Auth0's two access token profiles (``auth0`` and
``rfc9068``, see Auth0 "Access Token Profiles"); Management API tokens are the
ones ``/oauth/token`` mints for the client-credentials grant.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Protocol

from emulator.models import Client, Role


class Issuer(Protocol):
    """What token claims are made of (the Tenant; a protocol so that tenant.py, which
    imports this module, is not imported back)."""

    gateway_audience: str
    roles_claim: str
    department_claim: str
    panel_client_id: str
    users: dict[str, dict[str, Any]]

    @property
    def issuer(self) -> str: ...
    @property
    def management_audience(self) -> str: ...
    def roles_of(self, user_id: str) -> list[Role]: ...
    def user_permission_names(self, user_id: str) -> list[str]: ...

PROFILES = ("auth0", "rfc9068")
BASE_USER_SCOPES = ["openid", "profile", "email"]


def user_token_parts(
    tenant: Issuer,
    user_id: str,
    *,
    profile: str,
    expires_in: int,
    audience: str | list[str] | None,
    org_id: str | None,
    extra_claims: dict[str, Any] | None,
    include_roles: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of an end-user access token for ``user_id``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    user = tenant.users[user_id]
    now = int(time.time())
    permissions = tenant.user_permission_names(user_id)
    claims: dict[str, Any] = {
        "iss": tenant.issuer,
        "sub": user_id,
        "aud": audience if audience is not None else [tenant.gateway_audience,
                                                      tenant.issuer + "userinfo"],
        "iat": now,
        "exp": now + int(expires_in),
        # RBAC with "Add Permissions in the Access Token": scope carries the
        # requested OIDC scopes plus the granted permissions.
        "scope": " ".join(BASE_USER_SCOPES + permissions),
        "permissions": permissions,
    }
    if profile == "auth0":
        claims["azp"] = tenant.panel_client_id
    else:
        # RFC 9068 §2.2: client_id and jti are required.
        claims["client_id"] = tenant.panel_client_id
        claims["jti"] = secrets.token_urlsafe(16)
    if include_roles:
        claims[tenant.roles_claim] = [r.name for r in tenant.roles_of(user_id)]
    department = (user.get("app_metadata") or {}).get("department")
    if department is not None:
        claims[tenant.department_claim] = department
    org = org_id if org_id is not None else (user.get("app_metadata") or {}).get("org_id")
    if org is not None:
        claims["org_id"] = org
    if extra_claims:
        claims.update(extra_claims)
    header = {"alg": "RS256", "typ": "JWT" if profile == "auth0" else "at+jwt"}
    return header, claims


def management_token_claims(tenant: Issuer, client: Client, lifetime: int) -> dict[str, Any]:
    """Claims of a client-credentials token for the Management API.

    Auth0 ignores the requested ``scope`` and grants everything in the client
    grant, so the scope here is the whole grant.
    """
    now = int(time.time())
    return {
        "iss": tenant.issuer,
        "sub": f"{client.client_id}@clients",
        "aud": tenant.management_audience,
        "iat": now,
        "exp": now + lifetime,
        "scope": " ".join(client.grant_scopes or []),
        "gty": "client-credentials",
        "azp": client.client_id,
        # Lets the emulator revoke tokens individually (revoke_management_tokens).
        "jti": secrets.token_urlsafe(16),
    }
