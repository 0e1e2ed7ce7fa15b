"""What a team writes by hand to proxy GET /api/v2/users/<id> to Auth0, minus the gateway.

Honest best effort: PyJWT's PyJWKClient (JWKS fetched once and cached, keys
cached by `kid`) verifying RS256, `iss`, `aud`, `exp` and `sub`; the
`permissions` claim must hold `users:read`; one client-credentials Management
token per process, fetched once and reused until shortly before it expires.
No rate limits, no budget, no audit, no metrics, no request ids, no response
filtering: the upstream JSON is passed through as bytes. Over HTTPS, every call
(JWKS, token, Management) verifies the upstream's certificate against
BENCH_CA_BUNDLE (`verify=<ca file>`; unset: the default CAs).

`lean.py` sends the upstream call on one pooled `requests.Session`;
`naive.py` calls `requests.get(...)` per request (a new connection each time),
the pattern found in forum answers. Settings come from BENCH_* variables set
by bench/proxy_compare.py.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import jwt
import requests
from flask import Flask, Response, request

HttpGet = Callable[..., requests.Response]

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8080")
AUDIENCE = os.environ.get("BENCH_AUDIENCE", "https://admin-gateway.bench/api")
ISSUER = os.environ.get("BENCH_ISSUER", UPSTREAM + "/")
CLIENT_ID = os.environ.get("BENCH_CLIENT_ID", "bench-read")
CLIENT_SECRET = os.environ.get("BENCH_CLIENT_SECRET", "")
MGMT_AUDIENCE = os.environ.get("BENCH_MGMT_AUDIENCE", UPSTREAM + "/api/v2/")
TIMEOUT = (3.05, 10.0)
RENEW_BEFORE_SECONDS = 60.0
REQUIRED_PERMISSION = "users:read"
# requests' `verify=`: the CA file of a private upstream, else the default CAs.
VERIFY: bool | str = os.environ.get("BENCH_CA_BUNDLE") or True

logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))


class ManagementToken:
    """One client-credentials token per process, fetched on first use, renewed near expiry."""

    def __init__(self, post: Callable[..., requests.Response]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0

    def get(self) -> str:
        if time.time() < self._renew_at:
            return self._token
        with self._lock:
            if time.time() >= self._renew_at:
                response = self._post(UPSTREAM + "/oauth/token", timeout=TIMEOUT, json={
                    "grant_type": "client_credentials", "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "audience": MGMT_AUDIENCE})
                response.raise_for_status()
                body = response.json()
                self._token = body["access_token"]
                self._renew_at = time.time() + float(body["expires_in"]) - RENEW_BEFORE_SECONDS
        return self._token


def _problem(status: int, detail: str) -> Response:
    return Response(f'{{"status": {status}, "detail": "{detail}"}}', status=status,
                    mimetype="application/json")


def make_app(http_get: HttpGet, http_post: Callable[..., requests.Response]) -> Flask:
    app = Flask(__name__)
    jwks = PyJWKClientCached(UPSTREAM + "/.well-known/jwks.json")
    management = ManagementToken(http_post)

    @app.get("/api/v2/users/<user_id>")
    def get_user(user_id: str) -> Response:
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
        if not isinstance(permissions, list) or REQUIRED_PERMISSION not in permissions:
            return _problem(403, "missing permission users:read")
        upstream = http_get(
            f"{UPSTREAM}/api/v2/users/{quote(user_id, safe='')}", timeout=TIMEOUT,
            headers={"Authorization": f"Bearer {management.get()}"})
        return Response(upstream.content, status=upstream.status_code,
                        mimetype="application/json")

    return app


class PyJWKClientCached(jwt.PyJWKClient):
    """PyJWKClient with its caches on: the JWKS for 10 minutes, signing keys by `kid`."""

    def __init__(self, uri: str) -> None:
        context = ssl.create_default_context(cafile=VERIFY) if isinstance(VERIFY, str) else None
        super().__init__(uri, cache_jwk_set=True, lifespan=600, cache_keys=True,
                         max_cached_keys=16, timeout=10, ssl_context=context)
