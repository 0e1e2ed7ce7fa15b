"""``/authorize`` (with a login page), ``/v2/logout`` and ``/userinfo`` for the admin panel.

Enough of Auth0's Universal Login for ``@auth0/auth0-react`` to log a demo user
in on loopback (authorization code + PKCE); the code is exchanged at
``/oauth/token`` (``emulator.routes.user_grants``).

Design: docs/emulator.md, "Login for the admin panel".
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from joserfc import jwt
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

from emulator import pages
from emulator.context import tenant
from emulator.login import (
    PASSWORD_ONLY,
    PKCE_METHODS,
    WITH_MFA,
    AuthorizationRequest,
    SpaApplication,
    origin_of,
)
from emulator.oidc import profile_claims
from emulator.tenant import Tenant

bp = Blueprint("login", __name__)

SESSION_COOKIE = "auth0"  # Auth0's own session cookie name
RESPONSE_MODES = ("query", "web_message")
LOGIN_PATH = "/login"


class AuthorizeError(Exception):
    """An error to send back to the application (its redirect URI is trusted)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _error_page(error: str, description: str, status: int = 400) -> Response:
    return pages.page(pages.ERROR, status, title="Something went wrong", error=error,
                      description=description)


def _redirect_allowed(client: SpaApplication, redirect_uri: str, response_mode: str) -> bool:
    if response_mode == "web_message":
        # The iframe's redirect_uri is the page's origin: Auth0 checks Allowed Web Origins.
        return origin_of(redirect_uri) in client.web_origins or redirect_uri in client.callbacks
    return redirect_uri in client.callbacks


def _validated(t: Tenant, args: dict[str, str], client: SpaApplication) -> AuthorizationRequest:
    if args.get("response_type") != "code":
        raise AuthorizeError("unsupported_response_type",
                             f"Unsupported response type: {args.get('response_type', '')}")
    if "authorization_code" not in client.grant_types:
        raise AuthorizeError("unauthorized_client", "Grant type not allowed for the client.")
    audience = args.get("audience") or None
    if audience is not None and audience != t.gateway_audience:
        raise AuthorizeError("access_denied", f"Service not found: {audience}")
    challenge = args.get("code_challenge", "")
    method = args.get("code_challenge_method") or "plain"  # RFC 7636 §4.3 default
    if not challenge:
        # A public client has no secret: PKCE is what binds the code to it (RFC 7636 §1).
        raise AuthorizeError("invalid_request", "Parameter 'code_challenge' is required")
    if method not in PKCE_METHODS:
        raise AuthorizeError("invalid_request",
                             f"Unsupported code_challenge_method: {method}")
    max_age = args.get("max_age")
    if max_age is not None and not (max_age.isdigit() and len(max_age) <= 9):
        raise AuthorizeError("invalid_request", "Parameter 'max_age' must be a number")
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=args["redirect_uri"],
        response_mode=args.get("response_mode") or "query",
        state=args.get("state"),
        nonce=args.get("nonce"),
        scope=args.get("scope") or "openid",
        audience=audience,
        code_challenge=challenge,
        code_challenge_method=method,
        acr_values=tuple(args.get("acr_values", "").split()),
        max_age=int(max_age) if max_age is not None else None,
    )


def _respond(redirect_uri: str, response_mode: str, params: dict[str, str]
             ) -> BaseResponse:
    """Hand the result to the application by its response mode."""
    if response_mode == "web_message":
        return pages.web_message(params, origin_of(redirect_uri))
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    response = redirect(urlunsplit(parts._replace(query=query)), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_response(redirect_uri: str, response_mode: str, state: str | None,
                    error: str, description: str) -> BaseResponse:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return _respond(redirect_uri, response_mode, params)


def _with_code(t: Tenant, auth: AuthorizationRequest, user_id: str, session_id: str,
               auth_time: int, amr: tuple[str, ...] = PASSWORD_ONLY) -> BaseResponse:
    code = t.login.issue_code(auth, user_id, session_id, auth_time, amr)
    params = {"code": code}
    if auth.state is not None:
        params["state"] = auth.state
    return _respond(auth.redirect_uri, auth.response_mode, params)


@bp.get("/authorize")
def authorize() -> ResponseReturnValue:
    t = tenant()
    args = request.args.to_dict()
    client = t.spa_clients.get(args.get("client_id", ""))
    if client is None:
        return _error_page("invalid_request", f"Unknown client: {args.get('client_id', '')}")
    redirect_uri = args.get("redirect_uri", "")
    response_mode = args.get("response_mode") or "query"
    if response_mode not in RESPONSE_MODES:
        return _error_page("invalid_request", f"Unsupported response_mode: {response_mode}")
    if not redirect_uri or not _redirect_allowed(client, redirect_uri, response_mode):
        return _error_page(
            "invalid_request",
            f'Callback URL mismatch. "{redirect_uri}" is not in the list of allowed callback '
            "URLs of the application.")
    try:
        auth = _validated(t, args, client)
    except AuthorizeError as exc:
        return _error_response(redirect_uri, response_mode, args.get("state"), exc.error,
                               exc.description)
    session_id = request.cookies.get(SESSION_COOKIE)
    session = t.login.session(session_id)
    prompt = set(args.get("prompt", "").split())
    # max_age and acr_values (step-up, RFC 9470): a session too old or without MFA needs
    # a new login, as Auth0 asks for one.
    usable = session is not None and session_id is not None and auth.satisfied_by(
        session[1], session[2], time.time())
    if "none" in prompt:
        if session is None or session_id is None or not usable:
            return _error_response(redirect_uri, response_mode, auth.state, "login_required",
                                   "Login required")
        return _with_code(t, auth, session[0], session_id, session[1], session[2])
    if session is not None and session_id is not None and usable and "login" not in prompt:
        return _with_code(t, auth, session[0], session_id, session[1],
                          session[2])  # single sign-on
    return _login_page(t, auth, client)


def _login_page(t: Tenant, auth: AuthorizationRequest, client: SpaApplication) -> Response:
    with t.lock:
        users = [_login_choice(t, alias, user_id) for alias, user_id in t.aliases.items()]
    return pages.page(pages.LOGIN, tenant_name=t.domain, app_name=client.name,
                      action=LOGIN_PATH, transaction=t.login.park(auth), users=users,
                      audience=auth.audience, redirect_origin=origin_of(auth.redirect_uri),
                      wants_mfa=auth.wants_mfa, max_age=auth.max_age)


def _login_choice(t: Tenant, alias: str, user_id: str) -> dict[str, Any]:
    user = t.users[user_id]
    name = str(user.get("name", alias))
    return {
        "alias": alias,
        "name": name,
        "initials": "".join(word[0] for word in name.split()[:2]).upper(),
        "email": user.get("email", ""),
        "roles": ", ".join(role.name for role in t.roles_of(user_id)),
        "department": (user.get("app_metadata") or {}).get("department", "–"),
    }


@bp.post(LOGIN_PATH)
def login() -> ResponseReturnValue:
    """The login form: start a session for the chosen demo user and answer the request."""
    t = tenant()
    auth = t.login.take_pending(request.form.get("transaction", ""))
    if auth is None:
        return _error_page("invalid_request",
                           "This login page has expired or was already used; start again "
                           "from the application.")
    try:
        user_id = t.user_id(request.form.get("user", ""))
    except KeyError:
        return _error_page("invalid_request", "Unknown user.")
    # The simulated second factor: a checkbox instead of an authenticator app.
    amr = WITH_MFA if request.form.get("mfa") == "1" else PASSWORD_ONLY
    session_id = t.login.start_session(user_id, amr)
    response = _with_code(t, auth, user_id, session_id, int(time.time()), amr)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Lax", path="/")
    return response


@bp.get("/v2/logout")
def logout() -> ResponseReturnValue:
    """End the session; go to ``returnTo`` if it is an allowed logout URL."""
    t = tenant()
    t.login.end_session(request.cookies.get(SESSION_COOKIE))
    return_to = request.args.get("returnTo")
    response: BaseResponse
    if return_to:
        client_id = request.args.get("client_id")
        clients = ([t.spa_clients[client_id]] if client_id in t.spa_clients
                   else list(t.spa_clients.values()))
        if not any(return_to in c.allowed_logout_urls for c in clients):
            response = _error_page(
                "invalid_request",
                f'The "returnTo" querystring parameter "{return_to}" is not defined as a valid '
                'URL in "Allowed Logout URLs".')
        else:
            response = redirect(return_to, code=302)
    else:
        response = pages.page(pages.LOGGED_OUT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _userinfo_unauthorized(description: str) -> Response:
    response = Response("Unauthorized", status=401, mimetype="text/plain")
    # RFC 6750 §3.1 challenge, as OIDC Core §5.3.3 asks of the UserInfo endpoint.
    response.headers["WWW-Authenticate"] = (
        f'Bearer error="invalid_token", error_description="{description}"')
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> ResponseReturnValue:
    """OIDC Core §5.3: the user's claims for an access token whose audience includes it."""
    t = tenant()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _userinfo_unauthorized("Missing access token")

    try:
        claims = dict(jwt.decode(token.strip(), t.keys.verification_key,
                                 algorithms=["RS256"]).claims)
        jwt.JWTClaimsRegistry(
            now=int(time.time()), leeway=0,
            iss={"essential": True, "value": t.issuer},
            aud={"essential": True, "value": t.issuer + "userinfo"},
            exp={"essential": True}, sub={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError, TypeError, KeyError):
        return _userinfo_unauthorized("Invalid access token")
    with t.lock:
        user = t.users.get(str(claims["sub"]))
        user = dict(user) if user is not None else None
    if user is None:
        return _userinfo_unauthorized("Invalid access token")
    scope = claims.get("scope")
    response = jsonify(profile_claims(user, scope if isinstance(scope, str) else ""))
    response.headers["Cache-Control"] = "no-store"
    return response
