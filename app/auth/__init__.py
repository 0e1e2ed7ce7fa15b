"""End-user authentication (Auth0 access tokens → Principal) and per-operation authorization.

    from app.auth import authorize
    principal = authorize(operation, body.keys())   # 401 / 403 / 400, or the caller

See docs/authentication.md for every check and rejection reason.
"""

from __future__ import annotations

from .extension import Authenticator, authenticator, authorize, current_principal, init_app
from .policy import Policy, PolicyError, PolicyFormat, load_policy
from .principal import Principal
from .verifier import TokenRejected

__all__ = [
    "Authenticator",
    "Policy",
    "PolicyError",
    "PolicyFormat",
    "Principal",
    "TokenRejected",
    "authenticator",
    "authorize",
    "current_principal",
    "init_app",
    "load_policy",
]
