"""Real servers for runtime tests: gunicorn, nginx, a Redis Cluster, a Redis Sentinel.

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
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from tests.support.redis_helpers import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


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


def _stop(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
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
            _stop(self.proc)
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
            _stop(self.proc, timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


def _redis_server(port: int, directory: Path, *args: str) -> subprocess.Popen[bytes]:
    binary = require_program("redis-server")
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _cli(*args: str) -> str:
    binary = require_program("redis-cli")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=20,
                          check=True).stdout


@contextlib.contextmanager
def redis_cluster(nodes: int = 3) -> Iterator[list[int]]:
    """A real Redis Cluster of `nodes` masters (no replicas) on loopback; yields the ports."""
    directory = Path(tempfile.mkdtemp(prefix="agw-cluster-"))
    ports = [cluster_port() for _ in range(nodes)]
    procs = [
        _redis_server(port, directory, "--cluster-enabled", "yes",
                      "--cluster-config-file", f"nodes-{port}.conf",
                      "--cluster-node-timeout", "5000")
        for port in ports
    ]
    try:
        for port in ports:
            wait_until(lambda p=port: "PONG" in _cli("-p", str(p), "ping"), 10, f"redis {port}")
        _cli("--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-yes")
        for port in ports:
            wait_until(lambda p=port: "cluster_state:ok" in _cli("-p", str(p), "cluster", "info"),
                       15, f"cluster state on {port}")
        yield ports
    finally:
        for proc in procs:
            _stop(proc, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def redis_sentinel(service: str = "mymaster") -> Iterator[tuple[int, int]]:
    """One master and one sentinel watching it; yields (master_port, sentinel_port)."""
    directory = Path(tempfile.mkdtemp(prefix="agw-sentinel-"))
    master_port, sentinel_port = free_port(), free_port()
    conf = directory / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor {service} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {service} 5000\n")
    master = _redis_server(master_port, directory)
    sentinel = subprocess.Popen([require_program("redis-server"), str(conf), "--sentinel"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: "PONG" in _cli("-p", str(master_port), "ping"), 10, "master")
        wait_until(lambda: str(master_port) in _cli(
            "-p", str(sentinel_port), "sentinel", "get-master-addr-by-name", service),
            10, "sentinel")
        yield master_port, sentinel_port
    finally:
        for proc in (sentinel, master):
            _stop(proc, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
