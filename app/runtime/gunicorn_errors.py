"""Requests gunicorn refuses before the gateway sees them (a request line over
`limit_request_line`, headers over `limit_request_field_size` or `limit_request_fields`,
malformed HTTP) answered as RFC 9457 problem details, like every other error, instead of
gunicorn's HTML page.

gunicorn writes those answers with `gunicorn.util.write_error(sock, status, reason,
message)` (its workers' `handle_error`); `install()` replaces that function in the
worker (config/gunicorn.conf.py, `post_fork`). Found by schemathesis against the demo's
gunicorn: an over-long query string got an HTML 414.

Design: docs/runtime.md, "Processes".
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from .security_headers import DEFAULT_HEADERS

# gunicorn's messages can quote what the client sent (a request line, a header): the
# problem's detail names only the kind of refusal.
_DETAILS = {
    400: "The HTTP request could not be read; it never reached the gateway.",
    403: "The request was refused before it reached the gateway.",
    414: "The request line (method, path and query string) is longer than the server "
         "accepts; it never reached the gateway.",
    417: "The Expect header asks for something the server does not do.",
    431: "The request headers are larger, or more, than the server accepts; the request "
         "never reached the gateway.",
    501: "The request's Transfer-Encoding is not supported.",
}


def problem_response(status: int, reason: str) -> bytes:
    """The whole HTTP/1.1 response (head and body) for one refusal."""
    request_id = uuid.uuid4().hex
    body = json.dumps({
        "type": "about:blank", "title": reason, "status": status,
        "detail": _DETAILS.get(status, "The server could not handle this request."),
        "request_id": request_id,
    }).encode()
    headers = {"Connection": "close", "Content-Type": "application/problem+json",
               "Content-Length": str(len(body)), "X-Request-ID": request_id, **DEFAULT_HEADERS}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"HTTP/1.1 {status} {reason}\r\n{head}\r\n".encode("latin-1") + body


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for `gunicorn.util.write_error` (same arguments; `mesg` is not sent)."""
    from gunicorn import util

    util.write_nonblock(sock, problem_response(int(status_int), str(reason)))


def install() -> None:
    from gunicorn import util

    util.write_error = write_problem
