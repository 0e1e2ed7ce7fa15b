"""A gateway instance for benchmarks: `gunicorn -c config/gunicorn.conf.py wsgi:app` on a
free loopback port, its own Prometheus directory, ready once /healthz answers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from devtools.demo import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class GatewayProcess:
    proc: subprocess.Popen[bytes]
    url: str
    metrics_dir: Path

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def start_gateway(env: dict[str, str], workers: int, log: Path,
                  timeout: float = 60) -> GatewayProcess:
    """Start one instance (output appended to `log`); exit the script if it does not boot."""
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="agw-bench-metrics-"))
    proc_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=proc_env, stdout=out, stderr=subprocess.STDOUT)
    gateway = GatewayProcess(proc, f"http://127.0.0.1:{port}", metrics_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(gateway.url + "/healthz", timeout=1).status_code == 200:
                return gateway
        except requests.RequestException:
            pass
        time.sleep(0.1)
    gateway.stop()
    raise SystemExit(f"gateway did not start; see {log}")
