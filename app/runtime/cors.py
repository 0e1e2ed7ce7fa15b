"""CORS for the admin panel's origins (CORS_ORIGINS), and for nobody else.

No credentials mode (bearer tokens, no cookies); other origins get no CORS
header at all; preflights are answered before authentication and rate limits.

Design: docs/runtime.md, "CORS and security headers".
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from config.settings import Settings

from .. import observability

ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Request-ID",
                 "X-Approval-Reason")  # why a write held for approval is asked for
# Headers the panel's scripts may read: correlation id, rate-limit state
# (draft-ietf-httpapi-ratelimit-headers and the X- names Auth0 uses), and the
# RFC 6750 challenge explaining a 401/403.
EXPOSE_HEADERS = (
    "X-Request-ID", "Retry-After", "WWW-Authenticate",
    "RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
)
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")
PREFLIGHT_MAX_AGE = 600  # seconds; Chromium caps at 7200, Firefox at 86400


def _answer_preflight() -> Response | None:
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return current_app.make_default_options_response()
    return None


def init_app(app: Flask, settings: Settings) -> None:
    if not settings.cors_origins:
        return
    CORS(
        app,
        origins=list(settings.cors_origins),
        methods=list(METHODS),
        allow_headers=list(ALLOW_HEADERS),
        expose_headers=list(EXPOSE_HEADERS),
        supports_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
        vary_header=True,
    )
    # Right after the request id is set, before every other before_request
    # function: authentication and rate limits must not see a preflight.
    funcs = app.before_request_funcs.setdefault(None, [])
    start = observability.start_request
    funcs.insert(funcs.index(start) + 1 if start in funcs else 0, _answer_preflight)
