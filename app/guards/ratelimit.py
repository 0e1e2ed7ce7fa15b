"""Per-caller rate limits: flask-limiter on the shared Redis.

`limit_for_request` picks the one limit a request counts against: the client IP
without a valid token, else the subject's `[limits]` entry for the operation or
its permission, else RATE_LIMIT_READS / RATE_LIMIT_WRITES. Probes, /metrics and
the API docs are never limited.

Design: docs/guardrails.md, "Per-caller rate limits"; the limits and headers:
README.md, "Rate limits".
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limit, Limiter, RateLimitExceeded
from limits import parse_many
from werkzeug.exceptions import HTTPException

from config.settings import Settings

from .. import audit, metrics
from ..auth import current_principal
from ..auth.policy import Locator
from ..catalog import BY_ID, PERMISSIONS
from ..errors import problem_response, problem_type
from ..redis_conn import key as redis_key
from ..redis_conn import limiter_storage
from ..runtime import PUBLIC_ENDPOINTS
from ..state import current_operation, policy_section
from ..state import settings as current_settings

log = logging.getLogger("admin_gateway.guards")

SECTION = "limits"
EXTENSION = "admin_gateway.limiter"
EXEMPT_BLUEPRINTS = frozenset({"openapi"})
ANONYMOUS = "unauthenticated"


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> dict[str, str]:
    """`[limits]`: operation id or permission -> rate string ("10/minute;100/hour")."""
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [limits] must be a table")
        return {}
    limits: dict[str, str] = {}
    for name, value in raw.items():
        where = locate.where(section=(SECTION,), key=name)
        if name not in BY_ID and name not in PERMISSIONS:
            problems.append(f"{where}: [limits] {name!r} is neither an operation id nor a "
                            f"permission (see README, Endpoints and Permissions)")
            continue
        try:
            if not isinstance(value, str) or not parse_many(value):
                raise ValueError
        except ValueError:
            problems.append(f"{where}: [limits] {name!r} must be a rate such as \"10/minute\" "
                            f"(several joined by ;)")
            continue
        limits[name] = value
    return limits


def _caller() -> tuple[str, str]:
    """("sub", subject) for a valid token, else ("ip", address). Never raises: an
    exception here would make flask-limiter believe its storage is down. (Authentication
    runs once per request; its answer or refusal is remembered by the auth extension.)"""
    try:
        return ("sub", current_principal().subject)
    except HTTPException:
        return ("ip", request.remote_addr or "unknown")
    except Exception:  # noqa: BLE001 - the view will report it; count as anonymous
        log.exception("authentication failed unexpectedly while rate limiting")
        return ("ip", request.remote_addr or "unknown")


def caller_key() -> str:
    kind, value = _caller()
    return f"{kind}:{value}"


def limit_for_request(settings: Settings) -> tuple[str, str]:
    """(scope, rate) of the one limit this request counts against."""
    if _caller()[0] == "ip":
        return ANONYMOUS, settings.rate_limit_unauthenticated
    overrides: dict[str, str] = policy_section(SECTION, {})
    operation = current_operation()
    if operation is not None:
        if operation.operation_id in overrides:
            return f"op:{operation.operation_id}", overrides[operation.operation_id]
        if operation.permission in overrides:
            return f"perm:{operation.permission}", overrides[operation.permission]
        write = operation.is_write
    else:
        write = request.method not in ("GET", "HEAD", "OPTIONS")
    return ("writes", settings.rate_limit_writes) if write else \
        ("reads", settings.rate_limit_reads)


def _exempt() -> bool:
    return (request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in EXEMPT_BLUEPRINTS
            or request.method == "OPTIONS")  # CORS preflights carry no token


def _rate_limited(exc: RateLimitExceeded) -> Response:
    scope = limit_for_request(current_settings())[0]
    metrics.RATE_LIMITED.labels(scope).inc()
    who = "this client address" if scope == ANONYMOUS else "you"
    what = {"reads": "read requests", "writes": "write requests",
            ANONYMOUS: "requests without a valid token"}.get(scope, scope.partition(":")[2])
    detail = f"Rate limit for {what} reached ({exc.limit.limit} for {who}); see Retry-After."
    # Refused before the facade's pipeline runs: the audit trail hears of it here.
    audit.record_refusal(current_operation(), 429, "rate-limited", detail)
    return problem_response(
        429, "Too Many Requests", detail,
        type_=problem_type("rate-limited"), extra={"limit": str(exc.limit.limit)})


def _finish_headers(response: Response) -> Response:
    # flask-limiter writes Retry-After on every limited response; it only means
    # something on 429 and 503 (RFC 9110 §10.2.3).
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    # The IETF draft's RateLimit-* fields beside flask-limiter's X-RateLimit-*:
    # same limit and remaining, but the reset as seconds from now, not an epoch.
    reset = response.headers.get("X-RateLimit-Reset")
    if reset is not None:
        response.headers["RateLimit-Limit"] = response.headers.get("X-RateLimit-Limit", "")
        response.headers["RateLimit-Remaining"] = response.headers.get(
            "X-RateLimit-Remaining", "")
        try:
            response.headers["RateLimit-Reset"] = str(max(0, math.ceil(float(reset)
                                                                       - time.time())))
        except ValueError:
            pass
    return response


def init_app(app: Flask, settings: Settings) -> Limiter | None:
    if not settings.rate_limits_enabled:
        return None
    uri, options = limiter_storage(settings)
    options = {**options, "key_prefix": redis_key(settings, "ratelimit")}

    def provider() -> str:
        return limit_for_request(settings)[1]

    def scope(_endpoint: str) -> str:
        return limit_for_request(settings)[0]

    # Registered before the limiter so that it runs after the limiter's header injection.
    app.after_request(_finish_headers)
    limiter = Limiter(
        caller_key,
        default_limits=[Limit(provider, key_function=caller_key, scope=scope, shared=True)],
        storage_uri=uri,
        storage_options=options,
        strategy="sliding-window-counter",
        headers_enabled=True,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        retry_after="delta-seconds",
    )
    limiter.request_filter(_exempt)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.extensions[EXTENSION] = limiter
    return limiter
