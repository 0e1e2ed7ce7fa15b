"""One error envelope: RFC 9457 problem details for every error the gateway returns.

Werkzeug's own exceptions (404, 405, 413, 415, ...) and our `Problem`s share one
handler; anything else is a 500 whose body says nothing about the internals and
whose log line carries the request id, the exception class and where it was
raised, never a traceback with locals, tokens or secrets.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://admin-gateway.dev/problems/"

log = logging.getLogger("admin_gateway.errors")


# Every problem type the gateway answers with, and what it means. The README's
# table is generated from this; a Problem with an undeclared slug is a bug.
PROBLEM_TYPES: dict[str, str] = {
    "invalid-token": "401: the bearer token is malformed, expired, or not ours "
                     "(`WWW-Authenticate` says which check failed).",
    "missing-token": "401: no bearer token in `Authorization`.",
    "insufficient-user-authentication": "401: the operation needs a recent login with a "
                                        "second factor (`[step_up]`); `WWW-Authenticate` "
                                        "carries RFC 9470's `acr_values` and `max_age`.",
    "insufficient-permission": "403: the caller lacks the permission the operation or a "
                               "body field needs (`required_permission`).",
    "forbidden-field": "400: a body field this operation never accepts (e.g. `password` "
                       "in PATCH).",
    "invalid-request": "400: query, path or body failed validation (`errors` by field).",
    "query-refused": "400: a search `q` outside the Lucene subset the gateway reads and "
                     "resends (`position` names the character).",
    "keys-unavailable": "503: Auth0's signing keys could not be fetched yet.",
    "outside-scope": "403: the change would create or move a user outside the caller's "
                     "delegated scope.",
    "scope-claim-missing": "403: the token lacks, or carries malformed, a claim the "
                           "delegated-scope rules depend on (roles, department, org_id).",
    "scope-no-rule": "403: no delegated-scope rule applies to the caller (e.g. a token "
                     "without the roles claim) and the policy's `[scope] default` is "
                     "`deny`: the caller sees no users.",
    "scope-violation": "502: Auth0's answer to a search held users outside the caller's "
                       "scope; nothing of it is returned (a security event).",
    "role-not-assignable": "403: the caller's roles may not assign or remove that role.",
    "protected-user": "403: the target holds a protected role; a stronger permission is "
                      "needed.",
    "self-action": "403: acting on yourself (delete, block, own roles, own MFA) is refused.",
    "self-grant": "403: granting yourself roles, permissions or membership is always refused.",
    "permission-not-assignable": "403: the caller's roles may not assign or remove that "
                                 "permission (`assignable_permissions`).",
    "permission-not-held": "403: the caller may not grant a permission it does not hold "
                           "itself (`[protection] grant_unheld_permissions`).",
    "org-claim-missing": "403: the token carries no usable `org_id`, so the caller may act on "
                         "no organization (without `orgs:scope:all`).",
    "org-not-yours": "403: the organization is not the one the caller logged in through.",
    "scope-list-too-long": "403: a list of users too long to filter by the caller's "
                           "delegated scope.",
    "plan-required": "403: Auth0 offers the operation on Enterprise plans only (MGMT_PLAN).",
    "lock-out-incomplete": "502: a lock-out could not block the user (`steps` says what "
                           "each step did).",
    "rate-limited": "429: the caller's own rate limit (`Retry-After`, `RateLimit-*`).",
    "budget-exhausted": "429: the fleet-wide Management API budget is spent "
                        "(`Retry-After`).",
    "upstream-rate-limited": "429: Auth0 answered 429 beyond the wait budget "
                             "(`Retry-After`).",
    "upstream-400": "400: Auth0 refused the request; its message is in `detail`.",
    "upstream-404": "404: no such user (or outside the caller's scope: same answer).",
    "upstream-409": "409: Auth0 reports a conflict (e.g. the user already exists).",
    "upstream-credentials": "502: Auth0 refused the gateway's own Management credentials.",
    "upstream-error": "502: Auth0 failed (5xx) or answered with something other than its "
                      "JSON (a redirect, a body that is not JSON).",
    "upstream-unavailable": "502: Auth0 could not be reached.",
    "upstream-timeout": "504: Auth0 did not answer in time.",
    "tier-misconfigured": "502: a credential tier's token lacks scopes it was declared with.",
    "tier-over-granted": "502: a tier's token has more scopes than declared "
                         "(STRICT_TIER_SCOPES).",
    "token-endpoint-error": "502: Auth0's `/oauth/token` refused or failed.",
    "token-endpoint-timeout": "504: Auth0's `/oauth/token` did not answer in time.",
    "approval-not-found": "404: no such approval request, not yours to see, or approvals are "
                          "not enabled (`[approvals]`).",
    "approval-by-requester": "403: the requester may not approve or reject their own request.",
    "approval-on-self": "403: an approver may not decide a request that acts on their own "
                        "account.",
    "approval-decided": "409: the approval request is no longer pending (executing, executed, "
                        "failed, rejected, withdrawn), or you already approved it (`state`).",
    "approval-expired": "409: the approval request expired before enough approvals.",
    "approvals-unavailable": "503: approval requests are kept in Redis, which is unavailable; "
                             "nothing was held or executed.",
    "audit-unavailable": "503: the audit stream (Redis) cannot be read right now.",
}


def problem_type(slug: str) -> str:
    """The `type` URI of a declared problem kind (README, "Errors")."""
    if slug not in PROBLEM_TYPES:
        raise KeyError(f"undeclared problem type {slug!r}: add it to PROBLEM_TYPES")
    return PROBLEM_TYPE_BASE + slug


class Problem(HTTPException):
    """An HTTP error with problem-details fields; raise it anywhere in a request."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        slug: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.title = title or HTTPStatus(status).phrase
        self.type = problem_type(slug) if slug else "about:blank"
        self.extra_headers = dict(headers or {})
        self.extra = dict(extra or {})


def bearer_challenge(error: str | None = None, description: str | None = None,
                     scope: str | None = None) -> str:
    """An RFC 6750 §3 `WWW-Authenticate` value."""
    parts = ['Bearer realm="admin-gateway"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no " or \).
        clean = "".join(c for c in description if 0x20 <= ord(c) <= 0x7E and c not in '"\\')
        parts.append(f'error_description="{clean}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return ", ".join(parts)


def unauthorized(detail: str, *, error: str | None = "invalid_token") -> Problem:
    """401 with the RFC 6750 challenge; `error=None` when no token was sent at all."""
    return Problem(
        401, detail, slug="invalid-token" if error else "missing-token",
        headers={"WWW-Authenticate": bearer_challenge(error, detail if error else None)},
    )


def forbidden(permission: str, detail: str | None = None) -> Problem:
    """403 naming the gateway permission the caller lacks (RFC 6750 insufficient_scope)."""
    return Problem(
        403, detail or f"This operation needs the permission {permission}.",
        slug="insufficient-permission",
        headers={"WWW-Authenticate": bearer_challenge("insufficient_scope", None, permission)},
        extra={"required_permission": permission},
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update(extra or {})
    body["request_id"] = getattr(g, "request_id", None)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = bearer_challenge()
    return response


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, Problem):
        return problem_response(status, exc.title, exc.description or exc.title, type_=exc.type,
                                headers=exc.extra_headers, extra=exc.extra)
    # werkzeug's own: keep meaningful headers (Allow on 405, Retry-After on 429/503).
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    detail = exc.description or HTTPStatus(status).phrase
    if status >= 500:
        detail = ("The gateway failed to handle this request; "
                  "quote the request id when reporting it.")
    return problem_response(status, HTTPStatus(status).phrase, detail, headers=headers)


def _where(exc: BaseException) -> str:
    """The innermost frame, enough to find the bug without logging a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


def _from_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    log.error("unhandled %s at %s", type(exc).__name__, _where(exc))
    return _from_http_exception(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(Exception, _from_unexpected)
