"""Fields that must never reach a browser, removed from every response for every caller.

Auth0 returns identity-provider tokens inside `identities[]` to clients holding
read:user_idp_tokens (our tiers never should, but a misconfigured tier might):
they are credentials for Google, GitHub, ... and are dropped wherever a user
object appears (lists, single users, create/update answers).
"""

from __future__ import annotations

from typing import Any

IDENTITY_SECRET_FIELDS = frozenset({"access_token", "access_token_secret", "refresh_token",
                                    "id_token", "expires_in"})


def filter_response(body: Any) -> Any:
    """A copy of `body` without secret fields, at any depth (users are nested in lists)."""
    if isinstance(body, list):
        return [filter_response(item) for item in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "identities" and isinstance(value, list):
            out[name] = [
                {k: v for k, v in identity.items() if k not in IDENTITY_SECRET_FIELDS}
                if isinstance(identity, dict) else identity
                for identity in value
            ]
        elif isinstance(value, (list, dict)):
            out[name] = filter_response(value)
        else:
            out[name] = value
    return out
