"""Security headers on every response, errors included: no sniffing, no framing, a
`default-src 'none'` CSP, no Referer, `Cache-Control: no-store`, HSTS over https.

A view that serves a page (Swagger UI on /docs) gives itself its own policy with
`@content_security_policy("...")`; headers a view set are never overwritten.

Design: docs/runtime.md, "CORS and security headers".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, make_response, request

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=63072000; includeSubDomains"

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": API_CSP,
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}

F = TypeVar("F", bound=Callable[..., Any])


def content_security_policy(policy: str) -> Callable[[F], F]:
    """Give one view its own Content-Security-Policy (the hook for an HTML /docs page)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            response = make_response(view(*args, **kwargs))
            response.headers["Content-Security-Policy"] = policy
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


def _add_headers(response: Response) -> Response:
    for name, value in DEFAULT_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
