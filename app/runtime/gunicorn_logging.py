"""gunicorn's own log lines (its error log and, when enabled, its access log) as
redacted JSON, in the same shape as the gateway's.

Selected in config/gunicorn.conf.py with
`logger_class = "app.runtime.gunicorn_logging.JsonLogger"`.

Design: docs/runtime.md, "Logs".
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger

from config.settings import SPECS

from ..observability import JsonFormatter, TextFormatter

_MAX_USER_AGENT = 200


def _log_format() -> str:
    spec = next(s for s in SPECS if s.env == "LOG_FORMAT")
    try:
        value: str = spec.parse(os.environ.get(spec.env) or str(spec.default))
    except ValueError:
        value = "json"  # the app itself will refuse the bad value with a clear message
    return value


class JsonLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter: logging.Formatter = (
            JsonFormatter() if _log_format() == "json" else TextFormatter()
        )
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = getattr(resp, "status_code", None) or str(getattr(resp, "status", "-"))[:3]
        headers = dict((name.lower(), value) for name, value in getattr(resp, "headers", ()))
        method = environ.get("REQUEST_METHOD", "-")
        path = environ.get("PATH_INFO", "-")  # never the query string
        seconds = request_time.total_seconds() if hasattr(request_time, "total_seconds") else None
        self.access_log.info(
            "%s %s %s", method, path, status,
            extra={
                "method": method,
                "path": path,
                "status": int(status) if str(status).isdigit() else status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
                # After ProxyFix (it rewrites the WSGI environ in place): the client.
                "remote_addr": environ.get("REMOTE_ADDR"),
                "request_id": headers.get("x-request-id"),
                "user_agent": (environ.get("HTTP_USER_AGENT") or "")[:_MAX_USER_AGENT] or None,
            },
        )
