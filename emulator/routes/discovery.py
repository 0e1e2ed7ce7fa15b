"""OIDC discovery and the JWKS, shaped like Auth0's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant

bp = Blueprint("discovery", __name__)


@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> ResponseReturnValue:
    issuer = tenant().issuer
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "authorize",
        "token_endpoint": issuer + "oauth/token",
        "device_authorization_endpoint": issuer + "oauth/device/code",
        "userinfo_endpoint": issuer + "userinfo",
        "mfa_challenge_endpoint": issuer + "mfa/challenge",
        "jwks_uri": issuer + ".well-known/jwks.json",
        "registration_endpoint": issuer + "oidc/register",
        "revocation_endpoint": issuer + "oauth/revoke",
        "end_session_endpoint": issuer + "oidc/logout",
        "scopes_supported": ["openid", "profile", "offline_access", "name", "given_name",
                             "family_name", "nickname", "email", "email_verified", "picture",
                             "created_at", "identities", "phone", "address"],
        "response_types_supported": ["code", "token", "id_token", "code token",
                                     "code id_token", "token id_token",
                                     "code token id_token"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt"],
        "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_supported": ["aud", "auth_time", "created_at", "email", "email_verified",
                             "exp", "family_name", "given_name", "iat", "identities", "iss",
                             "name", "nickname", "phone_number", "picture", "sub"],
    }
    return jsonify(doc)


@bp.get("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        t.jwks_fetches += 1
    return jsonify(t.keys.jwks())
