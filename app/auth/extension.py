"""The authentication extension: who is calling (401) and may they do this (403).

`init_app` keeps one `Authenticator` (with the policy the factory loaded and
validated) in `app.extensions`. Views call `authorize(op,
fields)` before anything else — before any Management token is minted or
Auth0 is called — or `current_principal()` when no catalog operation applies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import requests
from flask import Flask, current_app, g, request

from app import errors, metrics
from app.catalog import Operation
from app.egress import egress_session
from config.settings import Settings

from .access import decide
from .bearer import BearerProblem, bearer_token
from .jwks import JwksCache, JwksUnavailable
from .policy import Policy
from .principal import Principal, principal_from_claims
from .token_cache import VerifiedTokenCache
from .verifier import TokenRejected, TokenVerifier

EXTENSION_KEY = "admin_gateway.auth"

log = logging.getLogger("admin_gateway.auth")

TRUST_SCOPE_WARNING = (
    "TRUST_SCOPE_CLAIM is on: permissions are also taken from the token's `scope`. This is "
    "only safe when the Auth0 API has RBAC enabled; without RBAC any client may request any "
    "scope defined on the API and Auth0 grants it, so every caller could grant itself every "
    "permission."
)


def jwks_session(settings: Settings) -> requests.Session:
    """One pooled session for JWKS fetches (no retries: the cool-down paces them), through
    the same proxy and CA bundle as every other call to Auth0 (app/egress.py)."""
    return egress_session(settings, pool_connections=1, pool_maxsize=4,
                          user_agent="admin-gateway (jwks)")


class Authenticator:
    """Token → Principal, with the JWKS cache, the verifier and the verified-token cache."""

    def __init__(self, settings: Settings, policy: Policy,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.policy = policy
        self.session = session or jwks_session(settings)
        self.jwks = JwksCache(
            settings.jwks_url, session=self.session, ttl=settings.jwks_cache_ttl_seconds,
            cooldown=settings.jwks_refetch_cooldown_seconds,
            timeout=(settings.upstream_connect_timeout, settings.upstream_read_timeout))
        self.verifier = TokenVerifier(settings, self.jwks)
        self.verified: VerifiedTokenCache[Principal] = VerifiedTokenCache(
            settings.verified_token_cache_seconds)

    def authenticate(self, token: str) -> Principal:
        """The principal of a bearer token, or raise TokenRejected / JwksUnavailable."""
        cached = self.verified.get(token)
        if cached is not None:
            return cached
        claims = self.verifier.verify(token)
        principal = principal_from_claims(claims, self.settings, self.policy)
        if principal.is_machine and not self.settings.allow_machine_callers:
            raise TokenRejected("machine_caller",
                                "Client-credentials (machine) tokens are not accepted")
        self.verified.put(token, principal, principal.expires_at)
        return principal


def init_app(app: Flask, settings: Settings, policy: Policy) -> Authenticator:
    authenticator = Authenticator(settings, policy)
    app.extensions[EXTENSION_KEY] = authenticator
    if settings.trust_scope_claim:
        log.warning(TRUST_SCOPE_WARNING)
    return authenticator


def authenticator() -> Authenticator:
    found: Authenticator = current_app.extensions[EXTENSION_KEY]
    return found


def _rejected(reason: str, description: str, *, missing: bool = False) -> errors.Problem:
    metrics.TOKEN_REJECTIONS.labels(reason=reason).inc()
    log.info("token rejected: %s", reason, extra={"reason": reason})
    return errors.unauthorized(description, error=None if missing else "invalid_token")


def current_principal() -> Principal:
    """The caller of this request, authenticated once and kept on `g.principal`.

    A failure is kept too (`g.auth_problem`): a rate limiter or another hook asking
    before the view gets the same answer, and the rejection is counted and logged once.
    """
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal
    problem: errors.Problem | None = g.get("auth_problem")
    if problem is not None:
        raise problem
    try:
        principal = _authenticate_request()
    except errors.Problem as exc:
        g.auth_problem = exc
        raise
    g.principal = principal
    return principal


def _authenticate_request() -> Principal:
    auth = authenticator()
    try:
        token = bearer_token(request.headers, auth.settings.jwt_max_token_bytes)
        return auth.authenticate(token)
    except BearerProblem as exc:
        raise _rejected(exc.reason, exc.description, missing=exc.missing) from None
    except TokenRejected as exc:
        raise _rejected(exc.reason, exc.description) from None
    except JwksUnavailable:
        # Not the caller's fault: say so instead of calling a good token invalid.
        metrics.TOKEN_REJECTIONS.labels(reason="jwks_unavailable").inc()
        raise errors.Problem(
            503, "The gateway cannot fetch the signing keys to verify tokens right now.",
            slug="keys-unavailable",
            headers={"Retry-After": str(auth.settings.jwks_refetch_cooldown_seconds)},
        ) from None


def authorize(operation: Operation, body_fields: Iterable[str] = ()) -> Principal:
    """Authenticate (401), then require the operation's permissions for these body fields
    (403 naming what is missing), then refuse fields the operation never accepts (400)."""
    principal = current_principal()
    decision = decide(operation, principal.permissions, body_fields)
    if decision.missing:
        missing = decision.missing
        detail = (f"This operation needs the permission {missing[0]}." if len(missing) == 1
                  else f"This operation needs the permissions {', '.join(missing)}.")
        raise errors.forbidden(" ".join(missing), detail)
    if decision.refused_fields:
        name = decision.refused_fields[0]
        raise errors.Problem(
            400, f"The field {name} is not accepted here: {operation.forbidden_fields[name]}",
            slug="forbidden-field", extra={"field": name})
    return principal
