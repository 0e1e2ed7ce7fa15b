"""Serve the reference admin panel (panel/dist) and its config.json on loopback.

For `admin-gateway demo` and the browser tests: builds the panel when its build
is missing or stale (only where Node.js and npm exist) and serves it from a
small Flask app in a daemon thread, under a strict Content-Security-Policy.

Design: docs/panel.md, "Running it" and "Configuration: one build, any tenant".
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import Flask, Response, abort, jsonify, send_from_directory
from werkzeug.serving import BaseWSGIServer, make_server

PANEL_DIR = Path(__file__).resolve().parents[1] / "panel"
MIN_NODE = "20.19"  # Vite 8's floor
SOURCES = ("src", "index.html", "vite.config.js", "package.json", "package-lock.json")
NODE_HINT = (f"install Node.js >= {MIN_NODE} with npm (Debian: apt-get install nodejs npm; "
             "or https://nodejs.org), then run `make demo` again")


@dataclass(frozen=True)
class PanelConfig:
    """What the panel reads from config.json (see panel/config.example.json)."""

    domain: str  # the Auth0 tenant, e.g. "tenant.eu.auth0.com" or "http://127.0.0.1:8787"
    clientId: str  # the SDK's own spelling, served as JSON as is
    audience: str
    gatewayUrl: str
    title: str = "Admin panel"


def origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def content_security_policy(config: PanelConfig) -> str:
    tenant = origin(config.domain if "://" in config.domain else "https://" + config.domain)
    gateway = origin(config.gatewayUrl)
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {gateway} {tenant}; frame-src {tenant}; "
            "object-src 'none'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'")


def _newest_mtime(paths: Iterable[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def is_stale(panel_dir: Path = PANEL_DIR) -> bool:
    """True when dist/index.html is missing or older than any source of the build."""
    built = panel_dir / "dist" / "index.html"
    if not built.exists():
        return True
    sources = [panel_dir / name for name in SOURCES if (panel_dir / name).exists()]
    return _newest_mtime(sources) > built.stat().st_mtime


def ensure_built(panel_dir: Path = PANEL_DIR, *, log: Any = print) -> tuple[Path | None, str]:
    """(dist directory, "") when the panel is ready, else (None, why not and what to do)."""
    dist = panel_dir / "dist"
    if not (panel_dir / "package.json").exists():
        return None, f"its sources are not here ({panel_dir})"
    if not is_stale(panel_dir):
        return dist, ""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return None, "not built, and Node.js is not installed: " + NODE_HINT
    installed = panel_dir / "node_modules" / ".package-lock.json"
    lock = panel_dir / "package-lock.json"
    steps = [[npm, "run", "build"]]
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        steps.insert(0, [npm, "ci", "--no-audit", "--no-fund"])
    for step in steps:
        log(f"admin-gateway demo: building the admin panel: {' '.join(step[1:])} ...")
        done = subprocess.run(step, cwd=panel_dir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n    ".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            return None, f"`npm {' '.join(step[1:])}` failed in {panel_dir}:\n    {tail}"
    return dist, ""


def create_panel_app(dist: Path, config: PanelConfig) -> Flask:
    """index.html, the hashed assets and config.json; nothing else."""
    app = Flask("admin_gateway_panel", static_folder=None)
    policy = content_security_policy(config)
    root = dist.resolve()

    @app.get("/config.json")
    def config_json() -> Response:
        return jsonify(asdict(config))

    @app.get("/")
    def index() -> Response:
        response = send_from_directory(root, "index.html")
        response.headers["Cache-Control"] = "no-cache"  # always revalidate: names the assets
        return response

    @app.get("/<path:name>")
    def asset(name: str) -> Response:
        if not name.startswith("assets/"):
            abort(404)
        # send_from_directory refuses paths that leave `root` (safe_join).
        response = send_from_directory(root, name)
        # File names carry a content hash: a new build has new names.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


class PanelServer:
    """The panel on a loopback port in a daemon thread.

    Bind first (`.url` is known at once, so CORS and the tenant's allowed
    origins can name it), configure, then `start(config)`.
    """

    def __init__(self, dist: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.dist = dist
        self._app = _Deferred()
        self._server: BaseWSGIServer = make_server(host, port, self._app, threaded=True)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    def start(self, config: PanelConfig) -> PanelServer:
        self._app.app = create_panel_app(self.dist, config)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="admin-panel", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> PanelServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _Deferred:
    """A WSGI app set after the socket is bound."""

    app: Flask | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"admin panel starting"]
        return self.app(environ, start_response)
