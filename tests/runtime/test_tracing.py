"""OpenTelemetry tracing (docs/runtime.md, "Tracing"): off by default and then installs
nothing; on, one trace per request from the caller's `traceparent` through the token mint,
Redis and the Management API call to Auth0, with no token, secret, subject or e-mail in any
span, and log lines that name their trace.

In-process tests hand the factory an `InMemorySpanExporter` (spans pass the same scrubber
as in production); the last test runs real gunicorn workers exporting over OTLP/HTTP to a
collector on loopback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app import create_app, tracing
from config.settings import ConfigError, Settings, load_settings
from tests.support.environments import gateway_env, valid_env
from tests.support.processes import Gunicorn, wait_until
from tests.support.secret_watch import SecretWatch, capture_gateway_logs
from tests.support.servers import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_PARENT}-01"
NOTE = "dave.backup@example.com"  # an e-mail address in a body: never in a span


def _call(method: str, url: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    """A request from the test itself: never traced (the `requests` instrumentation is
    process-wide while tracing is on, and would send a traceparent of its own)."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with suppress_http_instrumentation():
        return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def _user_path(tenant: Any, alias: str) -> str:
    return "/api/v2/users/" + tenant.user_id(alias).replace("|", "%7C")


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _all_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    tracing.flush()
    return list(exporter.get_finished_spans())


def _trace(exporter: InMemorySpanExporter, *, trace_id: str | None = None,
           request_id: str | None = None) -> list[ReadableSpan]:
    """Every span of one request's trace, once its server span (which ends last) is out."""
    deadline = time.monotonic() + 10
    while True:
        spans = _all_spans(exporter)
        server = next((s for s in spans if s.kind is SpanKind.SERVER and (
            _hex(s.context.trace_id, 32) == trace_id if trace_id else
            (s.attributes or {}).get("gateway.request_id") == request_id)), None)
        if server is not None:
            return [s for s in spans if s.context.trace_id == server.context.trace_id]
        assert time.monotonic() < deadline, "the request's server span was never exported"
        time.sleep(0.02)


def _one(spans: list[ReadableSpan], kind: SpanKind, name: str | None = None) -> ReadableSpan:
    found = [s for s in spans if s.kind is kind and (name is None or s.name == name)]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def _text(spans: list[ReadableSpan]) -> str:
    return "\n".join(span.to_json(indent=None) for span in spans)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Spans of the gateways this test builds; tracing is undone afterwards, so no other
    test runs with the process-wide instrumentation installed."""
    found = InMemorySpanExporter()
    yield found
    tracing.shutdown()


@pytest.fixture
def traced(fresh_emulator: Any, make_settings: Callable[..., Settings],
           serve: Callable[[Any], LiveServer], exporter: InMemorySpanExporter
           ) -> Callable[..., LiveServer]:
    """Start a gateway (shipped policy, guardrails on) that traces into `exporter`."""
    def start(**overrides: str) -> LiveServer:
        settings = make_settings(fresh_emulator, **overrides)
        return serve(create_app(settings, span_exporter=exporter))
    return start


# -- the span tree ----------------------------------------------------------------------------


def test_a_write_is_one_trace_from_the_caller_through_auth0(
        traced: Callable[..., LiveServer], exporter: InMemorySpanExporter,
        fresh_emulator: Any) -> None:
    gateway = traced()
    tenant = fresh_emulator.tenant
    response = _call("PATCH", gateway.url + _user_path(tenant, "dave"),
                     tenant.issue_user_token("bob"), headers={"traceparent": TRACEPARENT},
                     json={"user_metadata": {"backup_contact": NOTE}})
    assert response.status_code == 200, response.text
    spans = _trace(exporter, trace_id=CALLER_TRACE)
    by_id = {s.context.span_id: s for s in spans}

    # The caller's trace continues: the server span's parent is the caller's span.
    server = _one(spans, SpanKind.SERVER)
    assert server.name == "PATCH /api/v2/users/<id>"
    assert server.parent is not None and server.parent.is_remote
    assert _hex(server.parent.span_id, 16) == CALLER_PARENT
    attributes = dict(server.attributes or {})
    assert attributes["gateway.operation"] == "patch_users_by_id"
    assert attributes["gateway.request_id"] == response.headers["X-Request-ID"]
    bob = tenant.user_id("bob")
    assert attributes["gateway.subject_hash"] == hashlib.sha256(bob.encode()).hexdigest()[:16]
    assert attributes["gateway.tier"] == "write"
    assert attributes["gateway.outcome"] == "allowed"
    assert attributes["http.route"] == "/api/v2/users/<id>"
    assert attributes["http.target"] == "/api/v2/users/<id>"  # never the user's id

    # One client span per Management API call, children of the server span: the scope
    # read, the escalation check's roles read, then the change.
    calls = [s for s in spans if s.kind is SpanKind.CLIENT and "url.template" in
             (s.attributes or {})]
    assert [s.name for s in sorted(calls, key=lambda s: s.start_time or 0)] == [
        "GET /api/v2/users/{id}", "GET /api/v2/users/{id}/roles", "PATCH /api/v2/users/{id}"]
    for span in calls:
        assert span.parent is not None and span.parent.span_id == server.context.span_id
        call = dict(span.attributes or {})
        assert call["http.response.status_code"] == 200
        assert call["server.address"] == "127.0.0.1"
        assert call["url.template"] == span.name.split(" ", 1)[1]

    # Each request Auth0 received carries the trace and the id of the span that sent it.
    received = [r for r in tenant.request_log
                if r.traceparent and r.traceparent.split("-")[1] == CALLER_TRACE]
    assert len(received) == 3
    sent = {(s.name.split(" ")[0], _hex(s.context.span_id, 16)) for s in calls}
    assert {(r.method, r.traceparent.split("-")[2]) for r in received} == sent
    assert all(r.traceparent.endswith("-01") for r in received)

    # A token mint per tier used (read, then write), each around its POST /oauth/token.
    mints = [s for s in spans if s.name == "auth0.token_mint"]
    assert sorted(dict(s.attributes or {})["gateway.tier"] for s in mints) == ["read", "write"]
    for mint in mints:
        assert mint.parent is not None and mint.parent.span_id == server.context.span_id
        post = [s for s in spans if s.parent is not None
                and s.parent.span_id == mint.context.span_id]
        assert [s.name for s in post] == ["POST"]
        url = dict(post[0].attributes or {}).get("http.url") or \
            dict(post[0].attributes or {}).get("url.full")
        assert isinstance(url, str) and url.endswith("/oauth/token")

    # Redis (token cache, locks, limits, budget, audit stream): client spans in the trace,
    # the command's name only.
    redis_spans = [s for s in spans if dict(s.attributes or {}).get("db.system") == "redis"]
    assert redis_spans
    assert {dict(s.attributes or {})["db.statement"] for s in redis_spans} <= {
        "GET", "SET", "EVALSHA", "EVAL", "XADD", "DEL", "PING", "SCRIPT"}
    assert any(s.name == "XADD" for s in redis_spans)  # the audit event
    for span in spans:
        assert span is server or span.parent is not None and span.parent.span_id in by_id


def test_no_span_holds_a_token_secret_subject_query_or_email(
        traced: Callable[..., LiveServer], exporter: InMemorySpanExporter,
        fresh_emulator: Any, secret_watch: SecretWatch) -> None:
    gateway = traced()
    tenant = fresh_emulator.tenant
    bob, carol = tenant.issue_user_token("bob"), tenant.issue_user_token("carol")
    secret_watch.add_token("bob's token", bob)
    dave = _user_path(tenant, "dave")
    assert _call("PATCH", gateway.url + dave, bob,
                 json={"user_metadata": {"backup_contact": NOTE}}).status_code == 200
    email = tenant.users[tenant.user_id("alice")]["email"]
    assert _call("GET", gateway.url + "/api/v2/users-by-email", carol,
                 params={"email": email}).status_code == 200
    assert _call("GET", gateway.url + "/api/v2/users", carol,
                 params={"q": f'email:"{email}"', "search_engine": "v3"}).status_code == 200
    assert _call("GET", gateway.url + "/gateway/me?access_token=" + bob, bob).status_code == 200
    assert _call("GET", gateway.url + dave, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
                 ).status_code == 401
    assert _call("GET", gateway.url + dave + "/no-such-route", bob).status_code == 404
    # The last one ends last: once it is out, so is everything before it.
    last = _call("GET", gateway.url + "/api/v2/roles", carol)
    _trace(exporter, request_id=last.headers["X-Request-ID"])
    spans = _all_spans(exporter)
    servers = [s for s in spans if s.kind is SpanKind.SERVER]
    assert len({s.context.trace_id for s in servers}) == 7
    assert "GET" in {s.name for s in servers}  # the unmatched path, by its method alone
    text = _text(spans)

    secret_watch.assert_absent_from(text, "the exported spans")
    for alias in ("alice", "bob", "carol", "dave"):
        assert tenant.user_id(alias) not in text, f"{alias}'s user id in a span"
        assert tenant.user_id(alias).split("|")[-1] not in text
    assert "@" not in text  # no e-mail address: not the body's, not a query's, not a user's
    assert "email" not in text.replace("users-by-email", "")  # no query parameter either
    assert "access_token" not in text
    assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}", text)  # nor any JWT-shaped string
    assert "bearer" not in text.lower()


def test_credential_headers_never_reach_a_span_even_when_captured(
        traced: Callable[..., LiveServer], exporter: InMemorySpanExporter,
        fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up refuses a capture pattern that matches Authorization (next test); should one
    get past it, the scrubber still drops those attributes before export."""
    for side in ("SERVER", "CLIENT"):
        monkeypatch.setenv(f"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_{side}_REQUEST", ".*")
        monkeypatch.setenv(f"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_{side}_RESPONSE", ".*")
    gateway = traced()
    tenant = fresh_emulator.tenant
    response = _call("GET", gateway.url + _user_path(tenant, "dave"),
                     tenant.issue_user_token("bob"), headers={
                         "traceparent": TRACEPARENT, "Cookie": "session=s3cr3t-cookie-value",
                         "X-Api-Key": "s3cr3t-api-key-value", "User-Agent": "trace-test/1"})
    assert response.status_code == 200
    spans = _trace(exporter, trace_id=CALLER_TRACE)
    server = _one(spans, SpanKind.SERVER)
    keys = {key for span in spans for key in (span.attributes or {})}
    assert "http.request.header.user_agent" in keys  # capture is on...
    assert dict(server.attributes or {})["http.request.header.user_agent"] == ("trace-test/1",)
    assert not [k for k in keys if re.search(r"authorization|cookie|api_key", k)]  # ...not these
    text = _text(spans)
    assert "s3cr3t" not in text and "Bearer" not in text


@pytest.mark.parametrize("variable", ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST",
                                      "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST"])
@pytest.mark.parametrize("pattern", ["Authorization", "user-agent,.*", "x-request-id,cook.*"])
def test_start_up_refuses_capturing_credential_headers(variable: str, pattern: str) -> None:
    env = valid_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, variable: pattern})
    assert any(line.startswith(f"{variable} would put") for line in caught.value.problems)
    # Harmless patterns, or tracing off: accepted.
    load_settings({**env, variable: "user-agent,x-request-id"})
    load_settings({**valid_env(), variable: pattern})


def test_outcomes_and_tiers_as_the_audit_trail_defines_them(
        traced: Callable[..., LiveServer], exporter: InMemorySpanExporter,
        fresh_emulator: Any) -> None:
    gateway = traced()
    tenant = fresh_emulator.tenant
    alice, bob = tenant.issue_user_token("alice"), tenant.issue_user_token("bob")

    def server_of(response: requests.Response) -> dict[str, Any]:
        spans = _trace(exporter, request_id=response.headers["X-Request-ID"])
        return dict(_one(spans, SpanKind.SERVER).attributes or {})

    read = server_of(_call("GET", gateway.url + _user_path(tenant, "dave"), alice))
    assert (read["gateway.outcome"], read["gateway.tier"]) == ("allowed", "read")
    forbidden = server_of(_call("PATCH", gateway.url + _user_path(tenant, "dave"), alice,
                                json={"user_metadata": {"a": "b"}}))
    assert forbidden["gateway.outcome"] == "denied" and "gateway.tier" not in forbidden
    anonymous = server_of(_call("GET", gateway.url + _user_path(tenant, "dave")))
    assert anonymous["gateway.outcome"] == "denied" and anonymous["http.status_code"] == 401
    assert "gateway.subject_hash" not in anonymous
    # carol is in engineering: out of bob's scope, answered as Auth0's 404 but denied.
    outside = server_of(_call("GET", gateway.url + _user_path(tenant, "carol"), bob))
    assert (outside["http.status_code"], outside["gateway.outcome"]) == (404, "denied")
    missing = server_of(_call("GET", gateway.url + "/api/v2/users/auth0%7Cnobody", bob))
    assert (missing["http.status_code"], missing["gateway.outcome"]) == (404, "failed")
    me = server_of(_call("GET", gateway.url + "/gateway/me", bob))
    assert "gateway.operation" not in me and "gateway.outcome" not in me
    assert me["gateway.subject_hash"] == hashlib.sha256(
        tenant.user_id("bob").encode()).hexdigest()[:16]


def test_probes_and_metrics_make_no_spans(traced: Callable[..., LiveServer],
                                          exporter: InMemorySpanExporter,
                                          fresh_emulator: Any) -> None:
    gateway = traced()
    for path in ("/healthz", "/readyz", "/metrics", "/healthz?x=/api/v2/users"):
        assert _call("GET", gateway.url + path).status_code in (200, 503)
    # Not excluded: a path that merely contains a probe's name.
    marker = _call("GET", gateway.url + "/gateway/me?healthz", headers={
        "traceparent": TRACEPARENT})
    assert marker.status_code == 401
    _trace(exporter, trace_id=CALLER_TRACE)
    spans = _all_spans(exporter)
    # Nothing but the marker's trace: no probe request, no Redis ping or token mint of
    # /readyz (they run in threads outside any request, and traces start at a request).
    assert {_hex(s.context.trace_id, 32) for s in spans} == {CALLER_TRACE}


def test_log_lines_carry_their_trace_and_span_ids(traced: Callable[..., LiveServer],
                                                  exporter: InMemorySpanExporter,
                                                  fresh_emulator: Any) -> None:
    gateway = traced()
    tenant = fresh_emulator.tenant
    with capture_gateway_logs() as logs:
        response = _call("GET", gateway.url + _user_path(tenant, "dave"),
                         tenant.issue_user_token("bob"), headers={"traceparent": TRACEPARENT})
        spans = _trace(exporter, trace_id=CALLER_TRACE)
        probe = _call("GET", gateway.url + "/healthz")
        wait_until(lambda: probe.headers["X-Request-ID"] in logs.getvalue(), 5, "access line")
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    request_id = response.headers["X-Request-ID"]
    mine = [e for e in lines if e.get("request_id") == request_id]
    access = next(e for e in mine if e["logger"] == "admin_gateway.access")
    server = _one(spans, SpanKind.SERVER)
    assert access["trace_id"] == CALLER_TRACE
    assert access["span_id"] == _hex(server.context.span_id, 16)
    assert all(e.get("trace_id") == CALLER_TRACE for e in mine)
    # The token mint's line is written inside the mint's span.
    minted = next(e for e in mine if e["msg"].startswith("minted a Management API token"))
    mint = next(s for s in spans if s.name == "auth0.token_mint")
    assert minted["span_id"] == _hex(mint.context.span_id, 16)
    # And the span names the request id the log lines carry.
    assert dict(server.attributes or {})["gateway.request_id"] == request_id
    # Untraced (a probe): no trace fields.
    untraced = next(e for e in lines if e.get("request_id") == probe.headers["X-Request-ID"])
    assert "trace_id" not in untraced and "span_id" not in untraced


# -- off: nothing installed -----------------------------------------------------------------


def test_tracing_off_installs_nothing(make_settings: Callable[..., Settings],
                                      emulator: Any, redis_url: str, redis_prefix: str) -> None:
    settings = make_settings()
    assert settings.traces_exporter is None
    app = create_app(settings)
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert not hasattr(app, "_original_wsgi_app")
    hooks = [*app.before_request_funcs[None], *app.after_request_funcs[None],
             *app.teardown_request_funcs[None]]
    assert not [f for f in hooks if "opentelemetry" in f.__module__ or "tracing" in
                f.__module__]

    # In a process of its own (other tests here turn tracing on): create_app with the
    # environment alone imports neither the SDK nor an instrumentation (redis-py imports the
    # OpenTelemetry API for metrics of its own), and patches nothing.
    env = gateway_env(emulator, redis_url, redis_prefix)
    script = (
        "import sys, requests, redis\n"
        "from app import create_app\n"
        "app = create_app()\n"
        "loaded = sorted(m for m in sys.modules if m == 'app.tracing.sdk' or m.startswith(\n"
        "    ('opentelemetry.instrumentation', 'opentelemetry.sdk.trace',\n"
        "     'opentelemetry.exporter')))\n"
        "assert not loaded, loaded\n"
        "assert requests.Session.send.__module__ == 'requests.sessions'\n"
        "assert not hasattr(requests.Session.send, '__wrapped__')\n"
        "assert not hasattr(redis.Redis.execute_command, '__wrapped__')\n"
        "print('nothing installed')\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nothing installed" in done.stdout


def test_settings_turn_tracing_on_and_off() -> None:
    def exporter(**env: str) -> str | None:
        return load_settings(valid_env(**env)).traces_exporter

    assert exporter() is None
    assert exporter(OTEL_EXPORTER_OTLP_ENDPOINT="http://c:4318") == "otlp"
    assert exporter(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://c:4318/v1/traces") == "otlp"
    assert exporter(OTEL_TRACES_EXPORTER="otlp") == "otlp"
    assert exporter(OTEL_TRACES_EXPORTER="console") == "console"
    assert exporter(OTEL_TRACES_EXPORTER="none", OTEL_EXPORTER_OTLP_ENDPOINT="http://c") is None
    assert exporter(OTEL_SDK_DISABLED="true", OTEL_TRACES_EXPORTER="otlp") is None

    def url(**env: str) -> str:
        return load_settings(valid_env(OTEL_TRACES_EXPORTER="otlp", **env)).otlp_traces_url

    assert url() == "http://localhost:4318/v1/traces"
    assert url(OTEL_EXPORTER_OTLP_ENDPOINT="https://c.example:4318/") == \
        "https://c.example:4318/v1/traces"
    assert url(OTEL_EXPORTER_OTLP_ENDPOINT="http://a", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=
               "http://b/custom") == "http://b/custom"
    # Only the OTLP/HTTP exporter ships: gRPC stops start-up, but only while tracing is on.
    load_settings(valid_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc"))
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        with pytest.raises(ConfigError) as caught:
            load_settings(valid_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://c", **{name: "grpc"}))
        assert caught.value.problems[0].startswith(f"{name} must be http/protobuf")


# -- under gunicorn, over OTLP ----------------------------------------------------------------


class _Collector:
    """An OTLP/HTTP trace receiver on loopback: keeps every span it is sent."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                message = ExportTraceServiceRequest()
                message.ParseFromString(body)
                if self.path == "/v1/traces":
                    collector.requests.append(message)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        out = []
        for message in list(self.requests):
            for resource_spans in message.resource_spans:
                resource = {a.key: a.value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    out.extend((resource, span) for span in scope_spans.spans)
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_gunicorn_workers_export_over_otlp(start_gunicorn: Callable[..., Gunicorn],
                                           emulator: Any) -> None:
    """Each worker builds its own tracer provider after the fork; its batch thread sends
    OTLP/HTTP to the collector, and the trace reaches Auth0."""
    collector = _Collector()
    try:
        server = start_gunicorn(workers=2, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                                OTEL_BSP_SCHEDULE_DELAY="50")
        assert server.proc is not None
        tenant = emulator.tenant
        token = tenant.issue_user_token("bob")
        traces: dict[str, str] = {}  # trace id -> request id
        pids: set[int] = set()
        for attempt in range(60):
            trace_id = hashlib.sha256(f"gunicorn-{attempt}".encode()).hexdigest()[:32]
            response = _call("GET", server.url + _user_path(tenant, "dave"), token, headers={
                "traceparent": f"00-{trace_id}-{CALLER_PARENT}-01", "Connection": "close"})
            assert response.status_code == 200, response.text
            traces[trace_id] = response.headers["X-Request-ID"]
            if attempt % 5 == 4:
                pids = {e["pid"] for e in server.json_lines()
                        if e.get("logger") == "admin_gateway.access"
                        and e.get("request_id") in traces.values()}
                if len(pids) >= 2:
                    break

        def exported() -> bool:
            servers = {s.trace_id.hex() for _, s in collector.spans() if s.kind == 2}
            return set(traces) <= servers

        wait_until(exported, 20, "every request's server span at the collector", server.log_path)
        received = collector.spans()
        worker_pids = {resource["process.pid"].int_value for resource, _ in received}
        assert server.proc.pid not in worker_pids  # made in the workers, not the master
        assert worker_pids <= pids and len(worker_pids) == len(pids)
        assert {resource["service.name"].string_value for resource, _ in received} == {
            "admin-gateway"}
        for trace_id, request_id in traces.items():
            spans = [s for _, s in received if s.trace_id.hex() == trace_id]
            server_span = next(s for s in spans if s.kind == 2)  # SPAN_KIND_SERVER
            attributes = {a.key: a.value.string_value for a in server_span.attributes}
            assert attributes["gateway.request_id"] == request_id
            assert attributes["gateway.operation"] == "get_users_by_id"
            assert any(s.name == "GET /api/v2/users/{id}" for s in spans)
            # The access line of that request names the trace.
            assert server.access_entry(request_id)["trace_id"] == trace_id
        reached = {r.traceparent.split("-")[1] for r in tenant.request_log if r.traceparent}
        assert set(traces) <= reached
    finally:
        collector.close()
