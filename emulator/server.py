"""Run the emulator on a loopback port in a background thread."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.app import create_emulator_app
from emulator.tenant import Tenant

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class _QuietHandler(WSGIRequestHandler):
    """Tests start many servers; per-request access logs would drown their output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _InFlight:
    """Counts requests being handled, so tests can wait for stragglers (timed-out calls)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        with self.idle:
            self.count += 1
        try:
            # Materialized here so the count covers the whole response.
            return list(self.app(environ, start_response))
        finally:
            with self.idle:
                self.count -= 1
                self.idle.notify_all()


class EmulatorServer:
    """``with EmulatorServer() as emu: requests.get(emu.url + "/.well-known/jwks.json")``."""

    def __init__(self, tenant: Tenant | None = None, host: str = "127.0.0.1",
                 port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.tenant = tenant if tenant is not None else Tenant.demo()
        self.host = host
        self.port = port
        # With a server certificate the tenant is served over TLS (https://...), as Auth0 is.
        self.ssl_context = ssl_context
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._in_flight: _InFlight | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.domain}"

    @property
    def domain(self) -> str:
        if not self.port:
            raise RuntimeError("EmulatorServer is not started")
        return f"{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        app = create_emulator_app(self.tenant)
        self._in_flight = _InFlight(app.wsgi_app)
        app.wsgi_app = self._in_flight  # type: ignore[method-assign]
        # Port 0: the OS picks a free port, so parallel tests never collide.
        self._server = make_server(self.host, self.port, app, threaded=True,
                                   request_handler=_QuietHandler, ssl_context=self.ssl_context)
        # Request threads must not keep the test process alive.
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self.tenant.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being handled (e.g. one a client gave up on)."""
        in_flight = self._in_flight
        if in_flight is None:
            return True
        with in_flight.idle:
            return in_flight.idle.wait_for(lambda: in_flight.count == 0, timeout)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
