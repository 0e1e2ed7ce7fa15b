"""Where injected faults take effect outside the Management API pipeline.

Dropped connections happen below Flask (a WSGI middleware), so no response
is ever written; latency, forced failures and the ``/oauth/token`` rate limit
are request hooks. ``/emulator/*`` is never affected, so a test can always
disarm what it armed. Management API faults live in ``emulator.management.guard``
because they must be recorded and carry rate-limit headers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from emulator.context import tenant
from emulator.errors import forced_failure, oauth_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from emulator.tenant import Tenant

DEV_PREFIX = "/emulator/"
MANAGEMENT_PREFIX = "/api/v2"
TOKEN_PATH = "/oauth/token"


class DropConnections:
    """Close the client's TCP connection without answering when a drop is armed."""

    def __init__(self, app: WSGIApplication, tenant: Tenant,
                 on_drop: Callable[[WSGIEnvironment], None] | None = None) -> None:
        self.app = app
        self.tenant = tenant
        self.on_drop = on_drop

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(DEV_PREFIX) and self.tenant.faults.take_drop(path):
            if self.on_drop is not None:
                self.on_drop(environ)
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # Werkzeug treats ConnectionError as "client went away" and writes nothing.
            raise ConnectionAbortedError("emulator fault: connection dropped")
        return self.app(environ, start_response)


def install(app: Flask, t: Tenant,
            on_drop: Callable[[WSGIEnvironment], None] | None = None) -> None:
    app.wsgi_app = DropConnections(app.wsgi_app, t, on_drop)  # type: ignore[method-assign]
    app.before_request(_before)
    app.after_request(_after)


def _before() -> Response | None:
    path = request.path
    if path.startswith(DEV_PREFIX):
        return None
    faults = tenant().faults
    delay = faults.delay_for(path)
    if delay > 0:
        time.sleep(delay)
    if path.startswith(MANAGEMENT_PREFIX):
        return None
    is_token = path == TOKEN_PATH
    if is_token:
        state = faults.token_bucket.take()
        g.token_rate = state
        if not state.allowed:
            response = oauth_response(429, "too_many_requests", "Global limit has been reached")
            if faults.retry_after:
                response.headers["Retry-After"] = str(state.retry_after())
            return response
    status = faults.take_failure(path)
    if status is not None:
        response = forced_failure(status, oauth=is_token or path.startswith("/oauth"))
        if status == 429 and faults.retry_after:
            response.headers["Retry-After"] = "1"
        return response
    return None


def _after(response: Response) -> Response:
    state: Any = g.get("token_rate")
    if state is not None:
        response.headers.update(state.headers())
    return response
