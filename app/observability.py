"""Request ids and JSON logs with secrets redacted.

Every response carries `X-Request-ID` (a well-formed incoming one is kept so a
reverse proxy's id follows the request), and every log line emitted while a
request is handled carries it too (and, with tracing on, `trace_id` / `span_id` inside a
traced span: app/tracing). Log records pass through `redact()`, which
removes bearer tokens, JWTs, Fernet tokens and client secrets wherever they
appear, so a careless log call cannot leak one. The configured secrets
themselves (TOKEN_CACHE_KEY, every tier's client secret) are registered with
`register_secret()` at start-up and replaced verbatim wherever they appear.

Each request ends with one access line (`admin_gateway.access`: method, path,
status, duration, operation, subject, client address after ProxyFix, scheme)
and is counted in REQUESTS / REQUEST_SECONDS, labelled by catalog operation or,
outside the catalog, by URL rule (never by raw path: unbounded cardinality).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from config.settings import Secret, Settings

from .catalog import BY_ROUTE, Operation
from .metrics import REQUEST_SECONDS, REQUESTS

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}\Z")

_REDACTIONS = (
    (re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), "[redacted-fernet]"),
    (re.compile(r"(?i)(client_secret|access_token|refresh_token|id_token|password)"
                r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1\2[redacted]"),
)


# Secret values known at start-up, longest first so that one containing
# another is replaced whole. Shorter than 8 characters would redact noise.
_known_secrets: tuple[str, ...] = ()
_known_secrets_lock = threading.Lock()
_MIN_SECRET_LENGTH = 8


def register_secret(value: str | Secret) -> None:
    """Redact this exact value from every log line from now on."""
    global _known_secrets
    raw = value.reveal() if isinstance(value, Secret) else value
    if len(raw) < _MIN_SECRET_LENGTH:
        return
    with _known_secrets_lock:
        if raw not in _known_secrets:
            _known_secrets = tuple(sorted({*_known_secrets, raw}, key=len, reverse=True))


def register_settings_secrets(settings: Settings) -> None:
    register_secret(settings.token_cache_key)
    for tier in settings.tiers:
        register_secret(tier.client_secret)


def redact(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[redacted-secret]")
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def current_request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


# The active span's (trace_id, span_id) in hex, or None: set by app.tracing when tracing is
# on; while it is off, log records get no trace fields and cost nothing more.
TraceIds = Callable[[], tuple[str, str] | None]
_trace_ids: TraceIds | None = None


def use_trace_ids(source: TraceIds | None) -> None:
    """Every log line written inside a traced span carries `trace_id` and `span_id` (None:
    no more)."""
    global _trace_ids
    _trace_ids = source


class RequestContextFilter(logging.Filter):
    """Adds request_id (and the caller's subject when known) to every record, and the trace
    and span ids when tracing is on and a span is active."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "subject") and has_request_context():
            principal = getattr(g, "principal", None)
            record.subject = getattr(principal, "subject", None)
        trace_ids = _trace_ids
        if trace_ids is not None and not hasattr(record, "trace_id"):
            ids = trace_ids()
            if ids is not None:
                record.trace_id, record.span_id = ids
        return True


_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "pid": record.process,  # which gunicorn worker
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            # The class only: tracebacks can hold tokens in their locals or messages.
            entry["exc_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


# What could end a line, move the cursor or recolour a terminal: C0 controls, DEL, C1
# controls (NEL and CSI among them) and the Unicode line and paragraph separators. The
# backslash is escaped too, so that an escaped line reads back unambiguously.
_UNSAFE_TEXT = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """One printable line: `\\n`, `\\r`, `\\t`, `\\x1b`, `\\u2028`, `\\\\` for what
    could forge a line or drive a terminal (the JSON format escapes them already)."""
    return _UNSAFE_TEXT.sub(_escape_char, text)


class TextFormatter(logging.Formatter):
    """`LEVEL logger: [request id] message`; always exactly one line, whatever a path,
    a query, a claim or an exception message contains (every part is escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        prefix = f"[{rid}] " if rid else ""
        line = f"{record.levelname:7} {record.name}: {prefix}{redact(record.getMessage())}"
        return escape_text(line)


def configure_logging(level: str, fmt: str) -> None:
    """Configure the root logger once per process (idempotent)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_admin_gateway", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._admin_gateway = True  # type: ignore[attr-defined]
        handler.addFilter(RequestContextFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level)
    # werkzeug's access lines would print raw query strings; ours are structured.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


access_log = logging.getLogger("admin_gateway.access")


def start_request() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def _operation() -> Operation | None:
    rule = request.url_rule
    return BY_ROUTE.get((rule.rule, request.method)) if rule is not None else None


def _operation_label(operation: Operation | None) -> str:
    """The catalog operation, else the URL rule, else `unmatched` (a 404 path)."""
    if operation is not None:
        return operation.operation_id
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "")
    started = getattr(g, "started", None)
    elapsed = time.perf_counter() - started if started else None
    operation = _operation()
    label = _operation_label(operation)
    REQUESTS.labels(operation=label, status=str(response.status_code)).inc()
    if elapsed is not None:
        REQUEST_SECONDS.labels(operation=label).observe(elapsed)
    access_log.info(
        "%s %s %s", request.method, request.path, response.status_code,
        extra={"method": request.method, "path": request.path, "status": response.status_code,
               "duration_ms": round(elapsed * 1000, 2) if elapsed is not None else None,
               "operation": operation.operation_id if operation else None,
               "remote_addr": request.remote_addr, "scheme": request.scheme},
    )
    return response


def init_app(app: Flask, settings: Settings) -> None:
    register_settings_secrets(settings)
    app.before_request(start_request)
    app.after_request(_finish_request)
