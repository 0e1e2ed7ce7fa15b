"""Bearer token checks of the Management API, with Auth0's 401/403 answers.

Any failure to validate (bad signature, unknown or revoked kid, alg other
than RS256, wrong iss/aud, expired, revoked token) is the same 401
"Invalid token": Auth0 does not say which check failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from emulator.errors import INVALID_TOKEN, MISSING_AUTH, ManagementError
from emulator.management.spec import Operation
from emulator.tenant import Tenant

BAD_HEADER = "Bad HTTP authentication header format"
CURRENT_USER_MARKER = "current_user"


@dataclass(frozen=True)
class Caller:
    """Who called, from a verified Management API token."""

    claims: dict[str, Any]

    @property
    def scopes(self) -> list[str]:
        scope = self.claims.get("scope", "")
        return scope.split() if isinstance(scope, str) else []

    @property
    def client_id(self) -> str | None:
        value = self.claims.get("azp") or self.claims.get("client_id")
        if value is None and str(self.claims.get("sub", "")).endswith("@clients"):
            value = str(self.claims["sub"])[: -len("@clients")]
        return str(value) if value is not None else None

    @property
    def subject(self) -> str | None:
        sub = self.claims.get("sub")
        return str(sub) if sub is not None else None


def unauthorized(message: str = INVALID_TOKEN) -> ManagementError:
    return ManagementError(401, message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(header: str | None) -> str:
    if not header:
        raise unauthorized(MISSING_AUTH)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(BAD_HEADER)
    return token.strip()


def authenticate(tenant: Tenant, header: str | None) -> Caller:
    token = bearer_token(header)

    try:
        decoded = jwt.decode(token, tenant.keys.verification_key, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError):
        raise unauthorized() from None
    claims = dict(decoded.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(time.time()),
        leeway=0,
        iss={"essential": True, "value": tenant.issuer},
        aud={"essential": True, "value": tenant.management_audience},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError:
        raise unauthorized() from None
    if tenant.is_revoked(claims.get("jti")):
        raise unauthorized()
    return Caller(claims)


def insufficient_scope(op: Operation) -> ManagementError:
    # Auth0 lists the operation's accepted scopes comma-separated (UNCONFIRMED for >1).
    return ManagementError(
        403, f"Insufficient scope, expected any of: {','.join(op.scopes)}", "insufficient_scope"
    )


def authorize(op: Operation, caller: Caller, target_id: str | None) -> None:
    """403 unless the token holds one of the operation's accepted scopes.

    ``*:current_user*`` scopes only act on the token's own user, as in Auth0.
    """
    held = set(caller.scopes)
    general = [s for s in op.scopes if CURRENT_USER_MARKER not in s]
    if held.intersection(general):
        return
    own = [s for s in op.scopes if CURRENT_USER_MARKER in s]
    if held.intersection(own):
        if target_id is not None and target_id == caller.subject:
            return
        raise ManagementError(403, "User to be acted on does not match subject in bearer token.",
                              "insufficient_scope")
    raise insufficient_scope(op)
