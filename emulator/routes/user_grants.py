"""``POST /oauth/token`` for single-page applications: the authorization code grant.

A SPA is a public client (token endpoint auth method "none"): it proves the
code is its own with the PKCE ``code_verifier`` (RFC 7636 §4.5), not with a
secret. ``auth0-spa-js`` sends ``grant_type=authorization_code``, ``client_id``,
``code``, ``code_verifier`` and ``redirect_uri`` (form-encoded by default) and
expects ``access_token``, ``id_token``, ``scope``, ``expires_in`` and
``token_type``. The refresh token grant is not offered: configure the SDK
without ``useRefreshTokens`` (silent authentication uses ``prompt=none``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from emulator.errors import oauth_response
from emulator.login import BROWSER_TOKEN_LIFETIME, MFA_ACR, GrantError, SpaApplication
from emulator.oidc import id_token
from emulator.tenant import Tenant

AUTHORIZATION_CODE = "authorization_code"


def exchange(t: Tenant, client: SpaApplication, grant_type: str,
             params: dict[str, Any]) -> Response:
    if grant_type not in client.grant_types or grant_type != AUTHORIZATION_CODE:
        return oauth_response(403, "unauthorized_client",
                              f"Grant type '{grant_type}' not allowed for the client.")
    code = params.get("code")
    if not code:
        return oauth_response(400, "invalid_request", "Missing required parameter: code")
    try:
        grant = t.login.redeem_code(str(code), client_id=client.client_id,
                                    redirect_uri=params.get("redirect_uri"),
                                    code_verifier=params.get("code_verifier"))
    except GrantError as exc:
        return oauth_response(exc.status, exc.error, exc.description)
    request = grant.request
    # Like tenant.issue_user_token for that user; without an audience Auth0 issues
    # a token good for /userinfo only.
    audience = None if request.audience else t.issuer + "userinfo"
    # As the gateway's post-login Action does: when and how the user logged in.
    login: dict[str, Any] = {t.auth_time_claim: grant.auth_time, t.amr_claim: list(grant.amr)}
    if "mfa" in grant.amr:
        login[t.acr_claim] = MFA_ACR
    access_token = t.issue_user_token(grant.user_id, expires_in=BROWSER_TOKEN_LIFETIME,
                                      audience=audience, extra_claims=login)
    response = jsonify({
        "access_token": access_token,
        "id_token": id_token(t, grant),
        "scope": request.scope,
        "expires_in": BROWSER_TOKEN_LIFETIME,
        "token_type": "Bearer",
    })
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
