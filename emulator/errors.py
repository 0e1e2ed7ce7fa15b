"""Auth0's two error envelopes.

The Management API answers ``{"statusCode", "error", "message", "errorCode"?}``;
the Authentication API (``/oauth/token``) answers OAuth-style
``{"error", "error_description"}``. Message texts are listed, with which ones
are confirmed, in docs/emulator.md.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response, jsonify


class ManagementError(Exception):
    """Raised anywhere in a Management API handler; rendered by the app."""

    def __init__(self, status: int, message: str, error_code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return management_body(self.status, self.message, self.error_code)


def render_management_error(exc: ManagementError) -> Response:
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


def management_body(status: int, message: str, error_code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if error_code:
        body["errorCode"] = error_code
    return body


def management_response(status: int, message: str, error_code: str | None = None) -> Response:
    response = jsonify(management_body(status, message, error_code))
    response.status_code = status
    return response


def oauth_response(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# Texts shared by several handlers (Auth0's own wording where we know it).
INVALID_TOKEN = "Invalid token"
MISSING_AUTH = "Missing authentication"
USER_NOT_FOUND = "The user does not exist."
ROLE_NOT_FOUND = "The role does not exist."
# Recorded from Auth0 for GET/DELETE /organizations/{id} (go-auth0's test recordings), no
# errorCode; UNCONFIRMED for the member and invitation endpoints, which reuse it.
ORGANIZATION_NOT_FOUND = "No organization found by that id or name"
# The spec's text for the sessions and refresh token endpoints (UNCONFIRMED as a message).
SESSION_USER_NOT_FOUND = "User not found"

# Session and refresh token management on a plan other than Enterprise. Auth0 documents
# only that these endpoints are "available to customers on Enterprise plans"
# (auth0.com/docs/manage-users/sessions/manage-user-sessions-with-auth0-management-api,
# .../secure/tokens/manage-refresh-tokens-with-auth0-management-api); the body below is
# UNCONFIRMED. The gateway recognises the refusal by PLAN_REQUIRED_CODE.
PLAN_REQUIRED_MESSAGE = "This feature is not enabled for this tenant."
PLAN_REQUIRED_CODE = "operation_not_supported"

RATE_LIMITED = "Global limit has been reached"
_FORCED_MESSAGES = {
    401: INVALID_TOKEN,
    404: "Not Found",
    429: RATE_LIMITED,
    500: "An internal server error occurred",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


_FORCED_CODES = {429: "too_many_requests", 403: "insufficient_scope"}
_FORCED_OAUTH_ERRORS = {400: "invalid_request", 401: "access_denied", 403: "access_denied",
                        429: "too_many_requests"}


def forced_failure(status: int, *, oauth: bool, scopes: tuple[str, ...] = ()) -> Response:
    """The body of an injected failure, in the envelope of the API that was hit.

    ``scopes``: the operation's accepted scopes, for a realistic forced 403.
    """
    message = _FORCED_MESSAGES.get(status, HTTPStatus(status).phrase)
    if status == 403 and not oauth:
        message = f"Insufficient scope, expected any of: {','.join(scopes)}"
    if oauth:
        error = _FORCED_OAUTH_ERRORS.get(status, "server_error")
        return oauth_response(status, error, message)
    return management_response(status, message, _FORCED_CODES.get(status))
