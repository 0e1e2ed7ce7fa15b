"""The OpenTelemetry side of app/tracing: imported only once tracing is on.

`Tracing` is one process's provider, instrumentation and hooks; `ScrubbingExporter`
rewrites every span before any exporter sees it, so that nothing an instrumentation
records by default (or an operator's capture setting adds) can carry a token, a secret,
a query string or a user id in a path out of the process.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Flask, Response, g, request
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.propagate import get_global_textmap, set_global_textmap
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes, AttributeValue

from config.settings import Settings

from .. import observability
from ..catalog import BY_ROUTE, Operation

# Probes and the scrape: never a span (anchored on the path, so that no query string or
# longer path can switch tracing off for a real request).
EXCLUDED_URLS = r"^[a-z]+://[^/]+/(healthz|readyz|metrics)/?(\?.*)?$"
TRACEPARENT = "traceparent"
INSTRUMENTATION_NAME = "admin_gateway"


# -- what crosses the wire: W3C traceparent, and nothing else -----------------------------


class _WithoutTracestate(Getter[CarrierT]):
    def __init__(self, inner: Getter[CarrierT]) -> None:
        self._inner = inner

    def get(self, carrier: CarrierT, key: str) -> list[str] | None:
        return self._inner.get(carrier, key) if key == TRACEPARENT else None

    def keys(self, carrier: CarrierT) -> list[str]:
        return self._inner.keys(carrier)


class _OnlyTraceparent(Setter[CarrierT]):
    def __init__(self, inner: Setter[CarrierT]) -> None:
        self._inner = inner

    def set(self, carrier: CarrierT, key: str, value: str) -> None:
        if key == TRACEPARENT:
            self._inner.set(carrier, key, value)


class TraceparentOnly(TextMapPropagator):
    """Reads and writes `traceparent` only: a caller's `tracestate` and `baggage` are
    caller-chosen bytes, and nothing of the incoming request is sent on to Auth0 but the
    trace it belongs to. (OTEL_PROPAGATORS is therefore not read.)"""

    _w3c = TraceContextTextMapPropagator()

    def extract(self, carrier: CarrierT, context: Context | None = None,
                getter: Getter[CarrierT] = default_getter) -> Context:
        return self._w3c.extract(carrier, context, getter=_WithoutTracestate(getter))

    def inject(self, carrier: CarrierT, context: Context | None = None,
               setter: Setter[CarrierT] = default_setter) -> None:
        self._w3c.inject(carrier, context, setter=_OnlyTraceparent(setter))

    @property
    def fields(self) -> set[str]:
        return {TRACEPARENT}


# -- which spans exist: a request's, and its children -----------------------------------------


class RequestScoped(sampling.Sampler):
    """Traces start at a request. A span with no parent is kept only when it is a server span
    (then `delegate`, i.e. OTEL_TRACES_SAMPLER, decides); Redis commands, token mints and
    HTTP calls outside a request (readiness probes, start-up, the exporter itself) are
    dropped; a child follows its local parent."""

    def __init__(self, delegate: sampling.Sampler) -> None:
        self._delegate = delegate

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: trace.TraceState | None = None) -> sampling.SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if not parent.is_valid:
            if kind is not SpanKind.SERVER:
                return sampling.SamplingResult(sampling.Decision.DROP)
        elif not parent.is_remote:
            if not parent.trace_flags.sampled:
                return sampling.SamplingResult(sampling.Decision.DROP, None, parent.trace_state)
            return sampling.SamplingResult(sampling.Decision.RECORD_AND_SAMPLE, attributes,
                                           parent.trace_state)
        return self._delegate.should_sample(parent_context, trace_id, name, kind, attributes,
                                            links, trace_state)

    def get_description(self) -> str:
        return f"RequestScoped{{{self._delegate.get_description()}}}"


def _configured_sampler() -> sampling.Sampler:
    """OTEL_TRACES_SAMPLER / _ARG as the SDK reads them (default parentbased_always_on)."""
    from_env = getattr(sampling, "_get_from_env_or_default", None)
    found = from_env() if from_env is not None else None
    return found if isinstance(found, sampling.Sampler) else sampling.DEFAULT_ON


# -- what leaves the process: scrubbed spans --------------------------------------------------

_EMAIL = re.compile(r"[^\s@/\"'<>(),;:]+@[^\s@/\"'<>(),;:]+\.[A-Za-z]{2,}")
_CREDENTIAL_HEADER_ATTRIBUTE = re.compile(
    r"^http\.(request|response)\.header\.(authorization|proxy[-_]authorization|cookie|"
    r"set[-_]cookie|x[-_]api[-_]key)$", re.IGNORECASE)
_FULL_URLS = frozenset({"http.url", "url.full"})
_PATHS = frozenset({"http.target", "url.path"})
_DROPPED = frozenset({"url.query", "enduser.id", "exception.message", "exception.stacktrace"})
_STATEMENTS = frozenset({"db.statement", "db.query.text"})
_ROUTES = ("http.route", "url.template")


def _text(value: str) -> str:
    return _EMAIL.sub("[redacted-email]", observability.redact(value))


def _url_without_query(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "[unparsable-url]"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def scrub_attributes(attributes: Mapping[str, AttributeValue] | None,
                     route: str | None = None) -> dict[str, AttributeValue]:
    """The attributes a span may leave with. `route` is the span's route template: a path
    attribute becomes it (a user id never leaves in a path); without one it is dropped."""
    clean: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key in _DROPPED or _CREDENTIAL_HEADER_ATTRIBUTE.match(key):
            continue
        if key in _PATHS:
            if route is None:
                continue
            value = route
        elif key in _FULL_URLS and isinstance(value, str):
            value = _url_without_query(value)
            if route is not None:
                parts = urlsplit(value)
                value = urlunsplit((parts.scheme, parts.netloc, route, "", ""))
        elif key in _STATEMENTS and isinstance(value, str):
            value = value.split(" ", 1)[0]  # the command's name: never a key or a value
        if isinstance(value, str):
            value = _text(value)
        elif isinstance(value, (list, tuple)):
            value = tuple(_text(v) if isinstance(v, str) else v for v in value)
        clean[key] = value
    return clean


def scrub(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    found = next((attributes[k] for k in _ROUTES if k in attributes), None)
    route = found if isinstance(found, str) else None
    events = [Event(event.name, scrub_attributes(event.attributes), event.timestamp)
              for event in span.events]
    # A status description is an exception's message: its class is in the event already.
    status = Status(span.status.status_code)
    name = span.name
    if span.kind is SpanKind.SERVER and route is None:
        name = name.split(" ", 1)[0]  # "GET /raw/path" of an unmatched request: "GET"
    return ReadableSpan(
        name=_text(name), context=span.context, parent=span.parent,
        resource=span.resource, attributes=scrub_attributes(attributes, route),
        events=events, links=span.links, kind=span.kind, status=status,
        start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope)


class ScrubbingExporter(SpanExporter):
    """Hands `inner` only scrubbed spans (in the batch processor's thread, off the request)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def exporter_for(settings: Settings) -> SpanExporter:
    if settings.traces_exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # Straight to the collector: proxy variables meant for other programs are not read
    # (HTTPS_PROXY is the gateway's setting for Auth0 alone). Headers, certificates,
    # compression and timeout: the SDK's own OTEL_EXPORTER_OTLP_* variables.
    session = requests.Session()
    session.trust_env = False
    return OTLPSpanExporter(endpoint=settings.otlp_traces_url, session=session)


def subject_hash(subject: str) -> str:
    """What a span says about the caller: a pseudonym that still groups one caller's requests
    (first 16 hex digits of sha256 of the `sub`)."""
    return hashlib.sha256(subject.encode()).hexdigest()[:16]


# -- the process's tracing ----------------------------------------------------------------------


def _log_ids() -> tuple[str, str] | None:
    """The traced span's ids for a log line (app/observability.py), None outside one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class Tracing:
    """One process's tracing: the provider, the instrumentation, the gateway's spans."""

    def __init__(self, settings: Settings) -> None:
        resource = Resource.create({"service.name": settings.otel_service_name,
                                    "process.pid": os.getpid()})
        self.provider = TracerProvider(resource=resource,
                                       sampler=RequestScoped(_configured_sampler()))
        self.tracer = self.provider.get_tracer(INSTRUMENTATION_NAME)
        self._exporters: list[SpanExporter] = []
        self._destinations: set[tuple[str | None, str]] = set()
        self.propagator = TraceparentOnly()
        self._previous_propagator = get_global_textmap()
        set_global_textmap(self.propagator)  # what Flask reads and `requests` sends
        # The token endpoint and JWKS (Session.send); the Management API's calls do not use
        # requests (urllib3, app/management/transport.py) and get the gateway's own span.
        RequestsInstrumentor().instrument(tracer_provider=self.provider)
        RedisInstrumentor().instrument(tracer_provider=self.provider)
        observability.use_trace_ids(_log_ids)

    def export_to(self, exporter: SpanExporter) -> None:
        """Spans go (scrubbed, in batches) to `exporter` too; once per exporter."""
        if any(known is exporter for known in self._exporters):
            return
        self._exporters.append(exporter)
        self.provider.add_span_processor(BatchSpanProcessor(ScrubbingExporter(exporter)))

    def export_as(self, settings: Settings) -> None:
        """The exporter the settings name, once per destination in this process (a second
        app built from the same settings does not send every span twice)."""
        destination = (settings.traces_exporter, settings.otlp_traces_url)
        if destination not in self._destinations:
            self._destinations.add(destination)
            self.export_to(exporter_for(settings))

    def instrument_app(self, app: Flask) -> None:
        FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
            app, tracer_provider=self.provider, excluded_urls=EXCLUDED_URLS,
            enable_commenter=False)
        app.after_request(_tag_request)

    def flush(self, timeout_millis: int) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        RedisInstrumentor().uninstrument()
        RequestsInstrumentor().uninstrument()
        set_global_textmap(self._previous_propagator)
        observability.use_trace_ids(None)
        self.provider.shutdown()

    def upstream_span(self, operation: Operation, base_url: str
                      ) -> AbstractContextManager[Span]:
        parts = urlsplit(base_url)
        template = parts.path.rstrip("/") + operation.path
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.tracer.start_as_current_span(
            f"{operation.method} {template}", kind=SpanKind.CLIENT,
            attributes={"http.request.method": operation.method, "url.template": template,
                        "server.address": parts.hostname or "", "server.port": port,
                        "gateway.operation": operation.operation_id})

    @staticmethod
    def upstream_result(span: Span, status: int | None, error: str | None) -> None:
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if error is not None or (status is not None and status >= 400):
            span.set_attribute("error.type", error or str(status))
            span.set_status(StatusCode.ERROR)

    def token_mint_span(self, tier: str) -> AbstractContextManager[Span]:
        return self.tracer.start_as_current_span(
            "auth0.token_mint", kind=SpanKind.INTERNAL, attributes={"gateway.tier": tier})

    @staticmethod
    def tag_outcome(outcome: str, tier: str | None) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("gateway.outcome", outcome)
            if tier is not None:
                span.set_attribute("gateway.tier", tier)


def _tag_request(response: Response) -> Response:
    """The request span's gateway attributes (the Flask span is current until teardown)."""
    span = trace.get_current_span()
    if not span.is_recording():
        return response
    attributes: dict[str, Any] = {}
    request_id = g.get("request_id")
    if isinstance(request_id, str):
        attributes["gateway.request_id"] = request_id
    rule = request.url_rule
    operation = BY_ROUTE.get((rule.rule, request.method)) if rule is not None else None
    if operation is not None:
        attributes["gateway.operation"] = operation.operation_id
    subject = getattr(g.get("principal"), "subject", None)
    if isinstance(subject, str):
        attributes["gateway.subject_hash"] = subject_hash(subject)
    span.set_attributes(attributes)
    return response
