"""Redis servers of a test's own: a private redis-server it may stop and restart, a real
Redis Cluster, a Redis Sentinel.

Each runs on free loopback ports in a temporary directory. A missing redis-server skips
the test locally and fails it in CI (skip_or_fail).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.ports import cluster_port, free_port
from tests.support.processes import require_program, stop_process, wait_until
from tests.support.redis_helpers import skip_or_fail


class PrivateRedis:
    """A redis-server of our own on a free port, so a test can stop and restart it."""

    def __init__(self) -> None:
        program = shutil.which("redis-server")
        if program is None:
            skip_or_fail("redis-server is not installed (apt-get install redis-server)")
        assert program is not None
        self.program = program
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="agw-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        """Kill it (a crash, not a shutdown); `start()` brings it back, empty."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
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
            stop_process(proc, timeout=10)
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
            stop_process(proc, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
