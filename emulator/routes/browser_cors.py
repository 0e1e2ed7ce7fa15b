"""CORS on the endpoints a SPA calls with ``fetch``: ``/oauth/token`` and ``/userinfo``.

Auth0 answers cross-origin requests from an application's "Allowed Web
Origins" only. The list changes at run time (``tenant.allow_panel_origin``),
which is why this is a few lines here rather than flask-cors, whose origins are
fixed when it is set up. ``auth0-spa-js`` sends an ``Auth0-Client`` header, so
every token request is preflighted (Fetch standard, CORS-preflight request);
preflights are answered before fault injection and rate limits, like Auth0's
edge does, so an armed fault hits the real request.
"""

from __future__ import annotations

from flask import Flask, Response, request

from emulator.context import tenant

CORS_PATHS = frozenset({"/oauth/token", "/userinfo"})
ALLOWED_HEADERS = frozenset({"auth0-client", "content-type", "authorization"})
ALLOWED_METHODS = "GET, POST"
PREFLIGHT_MAX_AGE = "600"


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    if not origin or request.path not in CORS_PATHS:
        return None
    t = tenant()
    with t.lock:
        allowed = any(origin in client.web_origins for client in t.spa_clients.values())
    return origin if allowed else None


def _preflight() -> Response | None:
    if (request.method != "OPTIONS" or request.path not in CORS_PATHS
            or "Access-Control-Request-Method" not in request.headers):
        return None
    response = Response(status=204)
    origin = _allowed_origin()
    if origin is not None:
        asked = request.headers.get("Access-Control-Request-Headers", "")
        headers = [h.strip() for h in asked.split(",") if h.strip().lower() in ALLOWED_HEADERS]
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ", ".join(headers)
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.headers["Vary"] = "Origin"
    return response


def _add_headers(response: Response) -> Response:
    origin = _allowed_origin()
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    return response


def install(app: Flask) -> None:
    # First of all before_request functions: fault hooks must not see a preflight.
    app.before_request_funcs.setdefault(None, []).insert(0, _preflight)
    app.after_request(_add_headers)
