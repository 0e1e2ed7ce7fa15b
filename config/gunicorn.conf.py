"""gunicorn settings, read from the environment (README, "Running in production").

    gunicorn -c config/gunicorn.conf.py wsgi:app

Every knob is an environment variable with a production default; a malformed
value stops start-up with a message naming the variable. docs/runtime.md says
why the defaults are what they are (worker class measured, not guessed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, e.g. {default}, got {raw!r}") from None
    if not low <= value <= high:
        raise SystemExit(f"{name} must be between {low} and {high}, e.g. {default}, got {raw!r}")
    return value


def _choice(name: str, default: str, options: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in options:
        raise SystemExit(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


# --- sockets and processes ---------------------------------------------------
bind = os.environ.get("GUNICORN_BIND", "").strip() or f"0.0.0.0:{_int('PORT', 8000, 1, 65535)}"
workers = _int("WEB_CONCURRENCY", 2, 1, 64)
# gthread: measured against gevent in docs/runtime.md (bench/load.py).
worker_class = _choice("GUNICORN_WORKER_CLASS", "gthread", ("gthread", "gevent", "sync"))
threads = _int("GUNICORN_THREADS", 16, 1, 256)
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000, 1, 100000)  # gevent only
backlog = _int("GUNICORN_BACKLOG", 2048, 64, 65535)
# A worker silent for this long is killed and replaced. Above the slowest
# legitimate request: UPSTREAM_READ_TIMEOUT_SECONDS + 429 and budget waits.
timeout = _int("GUNICORN_TIMEOUT", 30, 5, 3600)
# On SIGTERM, in-flight requests get this long to finish before workers die.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20, 1, 3600)
# Idle keep-alive seconds; keep it below the proxy's upstream idle timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 5, 0, 3600)
# Recycle a worker after N requests (+ random jitter), 0 = never.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0, 0, 10_000_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0, 0, 1_000_000)
proc_name = "admin-gateway"
# The heartbeat file on tmpfs: a disk-backed /tmp in a container can stall it
# long enough for the arbiter to kill healthy workers (gunicorn FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No runtime control socket: nothing should steer the server from inside the box.
control_socket_disable = True
# Every worker imports wsgi.py and builds its own app after the fork: Redis pools, HTTP
# sessions and, with tracing on, the OpenTelemetry tracer provider and its export thread
# (a thread does not survive a fork). Never preload the app in the master.
preload_app = False

# --- proxies ------------------------------------------------------------------
# gunicorn would by default believe X-Forwarded-Proto from 127.0.0.1 and mark
# the request https. The app's ProxyFix (PROXY_FIX_* settings) is the one place
# where forwarded headers are trusted, so gunicorn trusts none.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = ""

# --- logs ---------------------------------------------------------------------
# JSON lines, redacted (app/runtime/gunicorn_logging.py). The app writes one
# access line per request itself (with subject, operation and request id), so
# gunicorn's access log is off unless GUNICORN_ACCESS_LOG names a file or "-".
logger_class = "app.runtime.gunicorn_logging.JsonLogger"
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "").strip() or "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "").strip() or None
loglevel = _choice("GUNICORN_LOG_LEVEL", "info", ("debug", "info", "warning", "error"))

# --- Prometheus multiprocess mode ---------------------------------------------
# Every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR; /metrics
# sums them. The variable must be set before any worker imports
# prometheus_client, so it is set here, in the master, when absent.
# The marker survives a configuration reload (SIGHUP re-reads this file).
_OWN_MARKER = "ADMIN_GATEWAY_OWNS_METRICS_DIR"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="admin-gateway-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.environ[_OWN_MARKER] = "1"


def _metrics_dir() -> Path:
    return Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Any) -> None:
    # Files left by a previous run would be summed into this one's counters.
    directory = _metrics_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink()


def post_fork(server: Any, worker: Any) -> None:
    # What gunicorn refuses itself (request line or headers too large, malformed HTTP) is
    # answered as problem+json like every other error, not with its HTML page
    # (app/runtime/gunicorn_errors.py; the app is imported in the worker, as by wsgi.py).
    from app.runtime.gunicorn_errors import install

    install()


def child_exit(server: Any, worker: Any) -> None:
    # Keeps a dead worker's counters (they are cumulative) but drops its
    # live-gauge files, as prometheus_client's multiprocess docs require.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if os.environ.get(_OWN_MARKER) == "1":
        shutil.rmtree(_metrics_dir(), ignore_errors=True)
