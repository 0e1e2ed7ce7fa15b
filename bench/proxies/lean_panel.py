"""The lean proxy (bench/proxies/lean.py) with every call of the admin panel's user screen.

    gunicorn -w 2 -k gthread --threads 16 bench.proxies.lean_panel:app

lean.py proxies GET /api/v2/users/<id> only. This adds, in the same hand-written style
(PyJWT + PyJWKClient, one process-wide client-credentials token, one pooled
`requests.Session`, the upstream answer passed through as bytes with its status):

    GET   /api/v2/users?q=...              users:read
    GET   /api/v2/users/<id>               users:read
    PATCH /api/v2/users/<id>               users:update (the JSON body as sent)
    GET   /api/v2/users/<id>/roles         users:roles:read
    GET   /api/v2/users/<id>/permissions   users:roles:read
    GET   /api/v2/users/<id>/logs          users:logs:read
    GET   /api/v2/user-blocks/<id>         users:read

The query string goes upstream as received. Nothing is cached, coalesced or
budgeted: every call is one Management API call, and Auth0's 429 reaches the
caller as Auth0 sent it. Settings: the BENCH_* variables of handwritten.py; the
Management client (BENCH_CLIENT_ID) needs the read scopes and update:users.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import jwt
from flask import Flask, Response, request

from bench.proxies.handwritten import (
    AUDIENCE,
    ISSUER,
    TIMEOUT,
    UPSTREAM,
    ManagementToken,
    PyJWKClientCached,
    _problem,
)
from bench.proxies.lean import session

app = Flask(__name__)
jwks = PyJWKClientCached(UPSTREAM + "/.well-known/jwks.json")
management = ManagementToken(session.post)


def _forward(method: str, path: str, permission: str) -> Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _problem(401, "missing bearer token")
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.PyJWTError:
        return _problem(401, "invalid token")
    permissions = claims.get("permissions")
    if not isinstance(permissions, list) or permission not in permissions:
        return _problem(403, f"missing permission {permission}")
    url = UPSTREAM + "/api/v2" + path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    headers = {"Authorization": f"Bearer {management.get()}"}
    body = None
    if method == "PATCH":
        headers["Content-Type"] = "application/json"
        body = request.get_data()
    upstream = session.request(method, url, data=body, headers=headers, timeout=TIMEOUT)
    return Response(upstream.content, status=upstream.status_code, mimetype="application/json")


def _user(user_id: str) -> str:
    return quote(user_id, safe="")


@app.get("/api/v2/users")
def search_users() -> Response:
    return _forward("GET", "/users", "users:read")


@app.get("/api/v2/users/<user_id>")
def get_user(user_id: str) -> Response:
    return _forward("GET", f"/users/{_user(user_id)}", "users:read")


@app.patch("/api/v2/users/<user_id>")
def patch_user(user_id: str) -> Response:
    return _forward("PATCH", f"/users/{_user(user_id)}", "users:update")


@app.get("/api/v2/users/<user_id>/roles")
def user_roles(user_id: str) -> Response:
    return _forward("GET", f"/users/{_user(user_id)}/roles", "users:roles:read")


@app.get("/api/v2/users/<user_id>/permissions")
def user_permissions(user_id: str) -> Response:
    return _forward("GET", f"/users/{_user(user_id)}/permissions", "users:roles:read")


@app.get("/api/v2/users/<user_id>/logs")
def user_logs(user_id: str) -> Response:
    return _forward("GET", f"/users/{_user(user_id)}/logs", "users:logs:read")


@app.get("/api/v2/user-blocks/<user_id>")
def user_blocks(user_id: str) -> Response:
    return _forward("GET", f"/user-blocks/{_user(user_id)}", "users:read")


@app.get("/healthz")
def healthz() -> Response:
    return Response('{"status": "ok"}', mimetype="application/json")
