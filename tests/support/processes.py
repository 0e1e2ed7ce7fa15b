"""Real servers for runtime tests: gunicorn and nginx, and the process helpers they share.

Each starts on free loopback ports in a temporary directory, waits until it
answers, and stops (SIGTERM, then SIGKILL) when its `with` block ends. A
missing program skips the test locally and fails it in CI (skip_or_fail).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.support.ports import free_port
from tests.support.redis_helpers import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def require_program(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        skip_or_fail(f"{name} is not installed (apt-get install {name})")
    assert path is not None
    return path


def wait_until(check: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"{what} did not come up within {timeout}s\n{tail}")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL when it has not exited within `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

class Gunicorn:
    """`gunicorn -c config/gunicorn.conf.py wsgi:app` with the given environment.

    stdout and stderr go to one file (`log_path`): everything the server and
    its workers print, to read or grep after `stop()`.
    """

    def __init__(self, env: dict[str, str], *, workers: int = 2, app: str = "wsgi:app",
                 worker_class: str = "gthread", threads: int = 4) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="agw-gunicorn-"))
        self.log_path = self._dir / "gunicorn.log"
        self.metrics_dir = self._dir / "metrics"
        self.env = {
            **os.environ, **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_WORKER_CLASS": worker_class,
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
        }
        self.app = app
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", self.app],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def booted() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "gunicorn exited"
            text = self.log_path.read_text(errors="replace")
            return (text.count("Booting worker") >= self.workers
                    and requests.get(self.url + "/healthz", timeout=1).ok)

        wait_until(booted, 30, "gunicorn", self.log_path)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    def access_entry(self, request_id: str) -> dict[str, Any]:
        """The app's access line for a request, found by the X-Request-ID we sent."""
        def found() -> bool:
            return any(e.get("request_id") == request_id and e.get("logger") ==
                       "admin_gateway.access" for e in self.json_lines())
        wait_until(found, 5, f"access line for {request_id}", self.log_path)
        return next(e for e in self.json_lines() if e.get("request_id") == request_id
                    and e.get("logger") == "admin_gateway.access")

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, so nginx can terminate TLS."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


NGINX_CONF = """
{user}
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            # nginx reaches gunicorn from its own address, distinct from the client's.
            proxy_bind {proxy_address};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
        }}
    }}
}}
"""


class Nginx:
    """nginx terminating TLS on a free port and proxying to a local upstream port."""

    def __init__(self, upstream_port: int, proxy_address: str = "127.0.0.3") -> None:
        self.binary = require_program("nginx")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="agw-nginx-"))
        cert, key = self_signed_certificate(self._dir)
        self.conf = self._dir / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "", dir=self._dir, port=self.port,
            cert=cert, key=key, upstream=upstream_port, proxy_address=proxy_address))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        log = self._dir / "error.log"
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf), "-p", str(self._dir), "-e", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def listening() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "nginx exited"
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True

        wait_until(listening, 10, "nginx", log)
        return self

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)
