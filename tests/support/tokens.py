"""Tokens for tests: claims of a valid token, tokens with chosen permissions or a forged
header, a JWT's payload; and `me`, the call that shows what the gateway read from one."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import requests


def me(gateway: Any, token: str | None = None, *, authorization: str | None = None,
       **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(gateway.url + "/gateway/me", headers=headers, timeout=10, **kwargs)


def claims_for(tenant: Any, **overrides: Any) -> dict[str, Any]:
    """Claims of a valid Auth0-profile token for alice; a value of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": tenant.issuer,
        "sub": tenant.user_id("alice"),
        "aud": [tenant.gateway_audience, tenant.issuer + "userinfo"],
        "iat": now,
        "exp": now + 600,
        "azp": tenant.panel_client_id,
        "scope": "openid profile email",
        "permissions": ["users:read"],
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def with_header(token: str, **header: Any) -> str:
    """`token` with its header replaced (the signature no longer matches: fine for checks
    that come before the signature)."""
    _, payload, signature = token.split(".")
    return ".".join([b64url(json.dumps(header).encode()), payload, signature])


def token_with(tenant: Any, permissions: set[str]) -> str:
    """A valid token for carol whose only permissions are `permissions` (no roles)."""
    user = tenant.users[tenant.user_id("carol")]
    return tenant.sign(claims_for(
        tenant, sub=tenant.user_id("carol"), permissions=sorted(permissions),
        **{tenant.roles_claim: [],
           tenant.department_claim: (user.get("app_metadata") or {}).get("department")}))


def jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the tests only read `exp`)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims
