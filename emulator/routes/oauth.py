"""``POST /oauth/token`` for the client-credentials grant, as Auth0 answers it.

Auth0 ignores a requested ``scope`` here and issues every scope of the
client grant; the emulator does the same so gateways learn to use one M2M
application per privilege tier.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import oauth_response
from emulator.routes import user_grants

bp = Blueprint("oauth", __name__)

CLIENT_CREDENTIALS = "client_credentials"
# Grants Auth0 knows: for these a client without the grant gets unauthorized_client.
KNOWN_GRANTS = frozenset({
    CLIENT_CREDENTIALS,
    "authorization_code",
    "refresh_token",
    "password",
    "implicit",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
})
UNAUTHORIZED = "Unauthorized"


def not_authorized_for(audience: str) -> str:
    return (
        f'Client is not authorized to access "{audience}". You need to create a '
        '"client-grant" associated to this API. See: '
        "https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
    )


def _params() -> dict[str, Any]:
    """Form (the OAuth standard) or JSON (Auth0 accepts both)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {}
        # Non-string JSON values are treated as absent, never as a crash.
        return {k: v for k, v in body.items() if isinstance(v, str)}
    return request.form.to_dict()


def _basic_credentials() -> tuple[str | None, str | None]:
    """client_secret_basic (RFC 6749 §2.3.1): form-urlencoded id and secret in Basic auth."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    t = tenant()
    params = _params()
    grant_type = params.get("grant_type")
    if not grant_type:
        return oauth_response(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type not in KNOWN_GRANTS:
        return oauth_response(400, "unsupported_grant_type",
                              f"Unsupported grant type: {grant_type}")
    spa = t.spa_clients.get(str(params.get("client_id", "")))
    if spa is not None:
        # A public client (the admin panel): no secret, PKCE instead (user_grants.py).
        return user_grants.exchange(t, spa, grant_type, params)
    basic_id, basic_secret = _basic_credentials()
    client_id = basic_id or params.get("client_id")
    secret = basic_secret if basic_id else params.get("client_secret")
    if not client_id:
        return oauth_response(400, "invalid_request", "Missing required parameter: client_id")
    client = t.clients.get(str(client_id))
    # Unknown client, missing and wrong secret look the same: no client enumeration.
    if client is None or not isinstance(secret, str) or not hmac.compare_digest(
        secret.encode(), client.client_secret.encode()
    ):
        return oauth_response(401, "access_denied", UNAUTHORIZED)
    if grant_type not in client.grant_types:
        return oauth_response(403, "unauthorized_client",
                              f"Grant type '{grant_type}' not allowed for the client.")
    if grant_type != CLIENT_CREDENTIALS:
        return oauth_response(403, "unauthorized_client",
                              f"Grant type '{grant_type}' is not supported by the emulator.")
    audience = params.get("audience")
    if not audience:
        return oauth_response(
            403, "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )
    if audience not in (t.management_audience, t.gateway_audience):
        return oauth_response(403, "access_denied",
                              f"Service not enabled within domain: {audience}")
    # Only Management API grants exist in the emulator; the gateway's own API has none.
    if audience != t.management_audience or not client.grant_scopes:
        return oauth_response(403, "access_denied", not_authorized_for(str(audience)))
    access_token, expires_in = t.mint_management_token(client)
    response = jsonify({
        "access_token": access_token,
        "scope": " ".join(client.grant_scopes),
        "expires_in": expires_in,
        "token_type": "Bearer",
    })
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
