"""Request ids and JSON logs with secrets redacted.

Every response carries `X-Request-ID` (a well-formed incoming one is kept so a
reverse proxy's id follows the request), and every log line emitted while a
request is handled carries it too. Log records pass through `redact()`, which
removes bearer tokens, JWTs, Fernet tokens and client secrets wherever they
appear, so a careless log call cannot leak one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_REDACTIONS = (
    (re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), "[redacted-fernet]"),
    (re.compile(r"(?i)(client_secret|access_token|refresh_token|id_token|password)"
                r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1\2[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def current_request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class RequestContextFilter(logging.Filter):
    """Adds request_id (and the caller's subject when known) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "subject") and has_request_context():
            principal = getattr(g, "principal", None)
            record.subject = getattr(principal, "subject", None)
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
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            # The class only: tracebacks can hold tokens in their locals or messages.
            entry["exc_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        prefix = f"[{rid}] " if rid else ""
        return f"{record.levelname:7} {record.name}: {prefix}{redact(record.getMessage())}"


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


def _start_request() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "")
    started = getattr(g, "started", None)
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    operation = getattr(g, "operation", None)
    access_log.info(
        "%s %s %s", request.method, request.path, response.status_code,
        extra={"method": request.method, "path": request.path, "status": response.status_code,
               "duration_ms": duration_ms,
               "operation": getattr(operation, "operation_id", None)},
    )
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
