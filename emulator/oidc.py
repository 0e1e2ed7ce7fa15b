"""OpenID Connect claims of the emulated tenant: ID tokens and ``/userinfo``.

Standard claims follow OIDC Core §5.1 and the scopes that release them
(§5.4: ``profile``, ``email``); ID tokens carry ``aud`` = the client id,
the request's ``nonce`` echoed, ``auth_time`` and ``sid`` as Auth0's do.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from emulator.login import ID_TOKEN_LIFETIME

if TYPE_CHECKING:
    from emulator.login import CodeGrant
    from emulator.tenant import Tenant

PROFILE_CLAIMS = ("name", "given_name", "family_name", "nickname", "picture", "updated_at")
EMAIL_CLAIMS = ("email", "email_verified")


def profile_claims(user: dict[str, Any], scope: str) -> dict[str, Any]:
    """The user's standard claims released by ``scope`` (always ``sub``)."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user["user_id"]}
    released = (PROFILE_CLAIMS if "profile" in scopes else ()) + (
        EMAIL_CLAIMS if "email" in scopes else ())
    for name in released:
        if name in user:
            claims[name] = user[name]
    return claims


def id_token(tenant: Tenant, grant: CodeGrant) -> str:
    """An RS256 ID token for the user a code was issued to."""
    now = int(time.time())
    request = grant.request
    with tenant.lock:
        user = dict(tenant.users[grant.user_id])
    claims: dict[str, Any] = {
        **profile_claims(user, request.scope),
        "iss": tenant.issuer,
        "aud": request.client_id,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "auth_time": grant.auth_time,
        # Derived, never the cookie itself: scripts can read ID tokens.
        "sid": hashlib.sha256(grant.session_id.encode()).hexdigest()[:32],
    }
    if request.nonce is not None:
        claims["nonce"] = request.nonce
    return tenant.sign(claims)
