"""Run the emulator on a loopback port in a background thread."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.app import create_emulator_app
from emulator.tenant import Tenant


class _QuietHandler(WSGIRequestHandler):
    """Tests start many servers; per-request access logs would drown their output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class EmulatorServer:
    """``with EmulatorServer() as emu: requests.get(emu.url + "/.well-known/jwks.json")``."""

    def __init__(self, tenant: Tenant | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.tenant = tenant if tenant is not None else Tenant.demo()
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.domain}"

    @property
    def domain(self) -> str:
        if not self.port:
            raise RuntimeError("EmulatorServer is not started")
        return f"{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        app = create_emulator_app(self.tenant)
        # Port 0: the OS picks a free port, so parallel tests never collide.
        self._server = make_server(self.host, self.port, app, threaded=True,
                                   request_handler=_QuietHandler)
        # Request threads must not keep the test process alive.
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self.tenant.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

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
