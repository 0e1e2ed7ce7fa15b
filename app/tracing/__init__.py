"""OpenTelemetry tracing, off unless the OTEL_* settings ask for it (docs/runtime.md, "Tracing").

Off (no OTLP endpoint, no OTEL_TRACES_EXPORTER, or OTEL_SDK_DISABLED=true): `init_app` returns
at once. Nothing is installed, neither the SDK nor any instrumentation is imported, and the
functions below cost one `is None` test per Management call, token mint and audit step.

On, `init_app` builds this process's tracer provider (under gunicorn: in each worker, after
the fork, since every worker builds its own app), instruments `requests` (the token endpoint,
JWKS) and `redis`, and the app (Flask: one server span per request, the caller's W3C
`traceparent` continued). The gateway adds:

- on each request span: `gateway.request_id`, `gateway.operation` (catalog id),
  `gateway.subject_hash` (first 16 hex of sha256 of the caller's `sub`: never the `sub`),
  and, from the audit step, `gateway.outcome` (allowed / denied / failed, as the audit
  trail says) and `gateway.tier`;
- a client span per Management API attempt (`PATCH /api/v2/users/{id}`: the route
  template, never the user id or the query), carrying `traceparent` to Auth0;
- `auth0.token_mint` around each client-credentials mint, with the tier's name.

Every span passes a scrubber before export (sdk.py): no query string, no path with a user
id in it, no credential header, no exception message or stack, and every value through
the log redaction (tokens, secrets) with e-mail addresses masked.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from flask import Flask

from config.settings import Settings

from ..catalog import Operation

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

    from .sdk import Tracing

__all__ = ["flush", "init_app", "inject_traceparent", "shutdown", "tag_outcome",
           "token_mint_span", "upstream_result", "upstream_span"]

# This process's tracing once an app turned it on; None while it is off.
_active: Tracing | None = None
_lock = threading.Lock()
_NO_SPAN: AbstractContextManager[None] = nullcontext()


def init_app(app: Flask, settings: Settings, *, exporter: SpanExporter | None = None) -> bool:
    """Trace this app when the settings say so (or when a test hands an `exporter`).

    Returns whether tracing is on. The provider and the `requests` / `redis` instrumentation
    are per process and made once; each app with tracing on gets its own server spans.
    """
    global _active
    if settings.traces_exporter is None and exporter is None:
        return False
    from . import sdk  # OpenTelemetry is imported only now

    with _lock:
        if _active is None:
            _active = sdk.Tracing(settings)
        if exporter is not None:
            _active.export_to(exporter)
        else:
            _active.export_as(settings)
    _active.instrument_app(app)
    return True


def upstream_span(operation: Operation, base_url: str) -> AbstractContextManager[Span | None]:
    """A client span around one Management API attempt (the budget wait included)."""
    active = _active
    return _NO_SPAN if active is None else active.upstream_span(operation, base_url)


def upstream_result(span: Span | None, status: int | None = None, error: str | None = None
                    ) -> None:
    """Auth0's status on the attempt's span, or the transport failure's kind."""
    if span is not None and _active is not None:
        _active.upstream_result(span, status, error)


def inject_traceparent(headers: MutableMapping[str, Any]) -> None:
    """Adds the current span's W3C `traceparent` (and nothing else) to an upstream request."""
    active = _active
    if active is not None:
        active.propagator.inject(headers)


def token_mint_span(tier: str) -> AbstractContextManager[Span | None]:
    """`auth0.token_mint` around one client-credentials request; the tier's name only."""
    active = _active
    return _NO_SPAN if active is None else active.token_mint_span(tier)


def tag_outcome(outcome: str, tier: str | None) -> None:
    """The audit step's verdict on the request span (app/audit.py calls it for every
    facade request, audited or not)."""
    active = _active
    if active is not None:
        active.tag_outcome(outcome, tier)


def flush(timeout_millis: int = 5000) -> bool:
    """Export every ended span now (tests)."""
    active = _active
    return True if active is None else active.flush(timeout_millis)


def shutdown() -> None:
    """Export what is left, then undo what `init_app` installed in this process (tests; the
    instrumented apps keep their wrappers but export nothing more)."""
    global _active
    with _lock:
        active, _active = _active, None
    if active is not None:
        active.shutdown()
