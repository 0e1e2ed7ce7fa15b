"""The demo's gateway, served as in production: `python -m gunicorn -c config/gunicorn.conf.py
wsgi:app` (docs/runtime.md), bound to 127.0.0.1:<port>.

It runs from the source checkout (wsgi.py and config/gunicorn.conf.py sit at its root) in a
session of its own, so a Ctrl-C in the terminal reaches only the demo, which then stops it
the production way: SIGTERM, and wait until the master has exited (it waits for its workers,
up to GUNICORN_GRACEFUL_TIMEOUT). gunicorn's own log goes to the demo's stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "gunicorn.conf.py"


class GatewayStartError(Exception):
    """The gateway could not be started; the message says why."""


class PortUnavailable(GatewayStartError):
    """Something else listens on the gateway's port."""


def _check_port(port: int) -> None:
    # gunicorn would retry a busy address for 5 s and then exit; say so at once instead.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortUnavailable(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None


def _graceful_seconds(env: Mapping[str, str]) -> int:
    try:
        return int(env.get("GUNICORN_GRACEFUL_TIMEOUT", "").strip() or 20)
    except ValueError:
        return 20  # gunicorn.conf.py refuses the value itself


def stop(proc: subprocess.Popen[bytes], graceful_seconds: int) -> None:
    """SIGTERM to the master and wait for it; SIGKILL its process group (master and
    workers: their own session) if it hangs, or on a second Ctrl-C while waiting."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=graceful_seconds + 10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextlib.contextmanager
def gunicorn_gateway(env: Mapping[str, str], port: int, timeout: float = 60
                     ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yield (url, master process) once /healthz answers; stop gunicorn when the block ends."""
    if not (ROOT / "wsgi.py").is_file() or not CONFIG.is_file():
        raise GatewayStartError(f"wsgi.py and config/gunicorn.conf.py are not in {ROOT}: the "
                                f"demo runs from a source checkout")
    _check_port(port)
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "wsgi:app"],
        cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise GatewayStartError(f"gunicorn exited with code {proc.returncode} "
                                        f"(its log is above)")
            if time.monotonic() > deadline:
                raise GatewayStartError(f"gunicorn did not answer {url}/healthz within "
                                        f"{timeout:.0f}s")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, proc
    finally:
        stop(proc, _graceful_seconds(env))
