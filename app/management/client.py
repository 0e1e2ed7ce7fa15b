"""The outbound Management API client: one connection pool, bounded waits, Auth0 errors mapped.

- The caller's `Authorization` header is never forwarded: every call carries
  the tier's Management token and nothing else from the incoming request.
- 429: wait for `Retry-After` (or `x-ratelimit-reset`) only within
  UPSTREAM_429_WAIT_SECONDS, else answer 429 with `Retry-After` — never pin a
  worker for a minute the way auth0-python's retry does, never turn a 429 into
  a 401 the way Oathkeeper did.
- Retries: a request that provably never reached Auth0 (connect error) is
  retried once whatever its method; idempotent ones (GET, DELETE) also once on
  read errors and 502/503/504, with jitter. A POST or PATCH that may have
  reached Auth0 is never sent twice.
- 401 from Auth0 means our token is dead (revoked, rotated): drop it from the
  cache, mint once more and retry once; a second 401 is a 502.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from config.settings import Settings, TierConfig

from .. import metrics, tracing
from ..catalog import Operation
from ..errors import Problem
from ..observability import redact
from . import plans
from .transport import Transport, TransportError, UpstreamResponse, encode_json

log = logging.getLogger("admin_gateway.management")

IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE"})
RETRYABLE_STATUS = frozenset({502, 503, 504})
MAX_DETAIL = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class TokenSource(Protocol):
    def get_token(self, tier: TierConfig) -> str: ...
    def invalidate(self, tier: TierConfig, token: str) -> None: ...


@dataclass(frozen=True)
class UpstreamResult:
    status: int
    body: Any


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP answer: `never_sent` when the request cannot have reached Auth0."""

    kind: str
    never_sent: bool
    status: int

    def problem(self, operation: Operation) -> Problem:
        if self.status == 504:
            detail = "Auth0 did not answer in time."
            if operation.is_write and not self.never_sent:
                detail += " The change may or may not have been applied."
            return Problem(504, detail, slug="upstream-timeout")
        return Problem(502, "Auth0 could not be reached.", slug="upstream-unavailable")


class Budget(Protocol):
    """The fleet-wide Management API budget (app/guards/budget.py), asked on every attempt."""

    def acquire(self, operation: Operation) -> None: ...
    def learn(self, operation: Operation, response: UpstreamResponse) -> None: ...


def sanitize(message: Any) -> str:
    """Auth0's message, safe to show: one line, bounded, no tokens."""
    text = _CONTROL.sub(" ", str(message)).strip()
    return redact(text)[:MAX_DETAIL]


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds until Auth0 accepts calls again, from a 429's headers (case-insensitive, any
    HTTP library's): Retry-After first, then x-ratelimit-reset."""
    now = time.time() if now is None else now
    header = headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return 1.0


# Auth0's errorCode when a token lacks the operation's scope.
INSUFFICIENT_SCOPE = "insufficient_scope"


def _auth0_error(response: UpstreamResponse) -> tuple[str, dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return "", {}
    if not isinstance(body, dict):
        return "", {}
    extra = {}
    if isinstance(body.get("errorCode"), str):
        extra["auth0_error_code"] = sanitize(body["errorCode"])[:64]
    return sanitize(body.get("message", "")), extra


class ManagementClient:
    def __init__(self, settings: Settings, tokens: TokenSource,
                 transport: Transport | None = None, budget: Budget | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.base_url = settings.management_url
        self.transport = transport or Transport(settings, self.base_url)
        self.budget = budget
        self._headers = {**self.transport.headers, "Accept": "application/json"}

    def call(self, operation: Operation, tier: TierConfig, path: str,
             query: list[tuple[str, str]], body: dict[str, Any] | None) -> UpstreamResult:
        """Send one Management API call; returns Auth0's answer or raises a Problem."""
        idempotent = operation.method in IDEMPOTENT
        wait_deadline = time.monotonic() + self.settings.upstream_429_wait_seconds
        token = self.tokens.get_token(tier)
        refreshed = retried = False
        while True:
            outcome = self._send(operation, path, token, query, body)
            if isinstance(outcome, TransportFailure):
                if not retried and (outcome.never_sent or idempotent):
                    retried = True
                    continue
                raise outcome.problem(operation)
            status = outcome.status
            if status == 401 and not refreshed:
                log.warning("Auth0 refused the %s tier's token; minting a fresh one", tier.name)
                self.tokens.invalidate(tier, token)
                token = self.tokens.get_token(tier)
                refreshed = True
                continue
            if status == 429:
                wait = retry_after_seconds(outcome.headers)
                if time.monotonic() + wait <= wait_deadline:
                    time.sleep(wait)
                    continue
                raise self._too_many_requests(wait)
            if status in RETRYABLE_STATUS and idempotent and not retried:
                retried = True
                time.sleep(random.uniform(0.05, 0.25))
                continue
            return self._result(operation, tier, outcome)

    def _send(self, operation: Operation, path: str, token: str,
              query: list[tuple[str, str]], body: dict[str, Any] | None,
              ) -> UpstreamResponse | TransportFailure:
        # One client span per attempt when tracing is on (the route template, never the URL).
        with tracing.upstream_span(operation, self.base_url) as span:
            outcome = self._attempt(operation, path, token, query, body)
            if isinstance(outcome, TransportFailure):
                tracing.upstream_result(span, error=outcome.kind)
            else:
                tracing.upstream_result(span, outcome.status)
            return outcome

    def _attempt(self, operation: Operation, path: str, token: str,
                 query: list[tuple[str, str]], body: dict[str, Any] | None,
                 ) -> UpstreamResponse | TransportFailure:
        if self.budget is not None:
            self.budget.acquire(operation)  # may wait for the fleet's budget, or raise 429
        started = time.perf_counter()
        headers = {**self._headers, "Authorization": f"Bearer {token}"}
        payload = None
        if body is not None:
            payload = encode_json(body)
            headers["Content-Type"] = "application/json"
        tracing.inject_traceparent(headers)  # the W3C trace context, when tracing is on
        try:
            # No cookies kept, no redirect followed, no retry inside: this loop decides.
            response = self.transport.send(operation.method, path, query, payload, headers)
        except TransportError as exc:
            return self._failure(operation, exc.kind, never_sent=exc.never_sent,
                                 status=exc.status)
        finally:
            metrics.UPSTREAM_SECONDS.labels(operation.operation_id).observe(
                time.perf_counter() - started)
        metrics.UPSTREAM_CALLS.labels(operation.operation_id, str(response.status)).inc()
        if response.status == 429:
            metrics.UPSTREAM_429.labels(operation.operation_id).inc()
        if self.budget is not None:
            self.budget.learn(operation, response)
        return response

    @staticmethod
    def _failure(operation: Operation, kind: str, *, never_sent: bool,
                 status: int) -> TransportFailure:
        metrics.UPSTREAM_CALLS.labels(operation.operation_id, kind).inc()
        log.warning("Auth0 %s on %s", kind, operation.operation_id)
        return TransportFailure(kind, never_sent, status)

    def _too_many_requests(self, wait: float) -> Problem:
        seconds = max(1, math.ceil(wait))
        return Problem(429, f"Auth0's Management API rate limit is exhausted; retry in "
                            f"{seconds} s.", slug="upstream-rate-limited",
                       headers={"Retry-After": str(seconds)})

    def _result(self, operation: Operation, tier: TierConfig,
                response: UpstreamResponse) -> UpstreamResult:
        status = response.status
        if 200 <= status < 300:
            try:
                body = response.json() if response.body else None
            except ValueError:
                log.error("Auth0 answered %s on %s with a body that is not JSON", status,
                          operation.operation_id)
                raise Problem(502, "Auth0's answer could not be read.",
                              slug="upstream-error") from None
            return UpstreamResult(status, body)
        if status < 400:  # a redirect or other non-answer: never passed on as a success
            log.error("Auth0 answered %s on %s", status, operation.operation_id)
            raise Problem(502, f"Auth0 answered {status}.", slug="upstream-error")
        message, extra = _auth0_error(response)
        if status == 403 and operation.enterprise_only \
                and extra.get("auth0_error_code") != INSUFFICIENT_SCOPE:
            # Auth0's refusal of an Enterprise-only feature (its exact body is unconfirmed:
            # anything but a scope refusal on these operations is taken as the plan's).
            raise plans.plan_required(message)
        if status in (401, 403):
            # Our credentials, not the caller's: an operator problem, never the caller's 401.
            log.error("Auth0 answered %s to the %s tier (client %s) on %s: %s", status, tier.name,
                      tier.client_id, operation.operation_id, message or "(no message)")
            raise Problem(502, "The gateway's Management API credentials were refused; the "
                          "operators have been told.", slug="upstream-credentials")
        if status >= 500:
            raise Problem(502, f"Auth0 failed with {status}.", slug="upstream-error")
        # 400/404/409 keep their status; any other 4xx is the caller's bad request too.
        mapped = status if status in (400, 404, 409) else 400
        raise Problem(mapped, message or f"Auth0 answered {status}.",
                      slug=f"upstream-{mapped}", extra=extra)
