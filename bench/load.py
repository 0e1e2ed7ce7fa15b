"""Sustained load on the gateway under gunicorn, against the Auth0 tenant emulator.

Starts the emulator (in a child process, over loopback HTTP), a Redis
(REDIS_URL, else a private redis-server) and `gunicorn -c config/gunicorn.conf.py
wsgi:app` exactly as in production (JSON access log at INFO, to a file), warms
up, then drives it with C closed-loop clients (threads, one keep-alive
connection each) for the duration. Prints throughput, latency percentiles,
errors and each worker's resident memory (RSS) at the start and end of the
measured run, sampled every few seconds to show whether it stays flat.

    .venv/bin/python bench/load.py [--duration 60] [--concurrency 16] [--workers 2]
        [--worker-class gthread|gevent] [--threads 16] [--mix me,user,search]
        [--upstream-latency 0.1]

Mix entries: `me` (GET /gateway/me: token verification only), `user` (GET
/api/v2/users/{id}: verification, authorization, Management token from the
process cache, one upstream call), `search` (GET /api/v2/users?q=...: the same
with a bigger response), `healthz`. Per-caller rate limits are switched off
(RATE_LIMITS_ENABLED=false) and the Management API budget raised: this
measures the runtime, not the guardrails.

The load generator shares the machine with gunicorn and the emulator, so the
figures are a floor for the gateway, not a ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.demo import demo_environment, demo_redis, free_port  # noqa: E402

PATHS = ("me", "user", "search", "healthz")


def _serve_emulator(pipe: Any, stop: Any, latency: float) -> None:
    """Child process: the emulator, its gateway settings and tokens sent back once."""
    from cryptography.fernet import Fernet

    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    with EmulatorServer(Tenant.demo()) as emulator:
        tenant = emulator.tenant
        if latency:
            tenant.faults.latency(latency)  # Management API calls only, like a real tenant's RTT
        pipe.send({
            "env": demo_environment(tenant, "redis://unused", Fernet.generate_key().decode()),
            "token": tenant.issue_user_token("alice", expires_in=4 * 3600),
            "user": tenant.user_id("dave"),
        })
        stop.wait()


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command) is the parent pid.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (fields 14 and 15 of /proc/pid/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Client(threading.Thread):
    """One closed-loop client: a keep-alive connection, requests back to back."""

    def __init__(self, port: int, targets: list[str], token: str, deadline: float,
                 offset: int) -> None:
        super().__init__(daemon=True)
        self.port, self.targets, self.deadline, self.offset = port, targets, deadline, offset
        self.headers = {"Authorization": f"Bearer {token}"}
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = self.offset
        while time.monotonic() < self.deadline:
            path = self.targets[i % len(self.targets)]
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                self.errors[type(exc).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.errors[str(status)] += 1
        connection.close()


def drive(port: int, targets: list[str], token: str, seconds: float, concurrency: int
          ) -> tuple[list[float], Counter[str], float]:
    deadline = time.monotonic() + seconds
    clients = [Client(port, targets, token, deadline, i) for i in range(concurrency)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started
    latencies = [x for c in clients for x in c.latencies]
    errors: Counter[str] = Counter()
    for client in clients:
        errors.update(client.errors)
    return latencies, errors, elapsed


def _json_lines(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "gevent"))
    parser.add_argument("--threads", type=int, default=16, help="gthread threads per worker")
    parser.add_argument("--mix", default="me,user,search")
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--upstream-latency", type=float, default=0.0,
                        help="seconds the emulator adds to each Management API call")
    args = parser.parse_args()
    mix = [m.strip() for m in args.mix.split(",") if m.strip()]
    if not mix or any(m not in PATHS for m in mix):
        parser.error(f"--mix takes a comma-separated list of {', '.join(PATHS)}")

    generator_cpu = time.process_time()
    parent, child = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    emulator = multiprocessing.Process(
        target=_serve_emulator, args=(child, stop, args.upstream_latency), daemon=True)
    emulator.start()
    info = parent.recv()
    quoted_user = info["user"].replace("|", "%7C")
    by_name = {"me": "/gateway/me", "user": f"/api/v2/users/{quoted_user}",
               "search": "/api/v2/users?q=app_metadata.department%3Asupport&per_page=5",
               "healthz": "/healthz"}
    targets = [by_name[m] for m in mix]

    with demo_redis() as (redis_url, redis_what), tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        log_path = Path(workdir) / "gunicorn.log"
        env = {
            **os.environ, **info["env"],
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": f"agwbench:{uuid.uuid4().hex[:8]}:",
            "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
            "RATE_LIMITS_ENABLED": "false", "MGMT_BUDGET_RATE": "10000",
            "MGMT_BUDGET_BURST": "10000",
            "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_WORKER_CLASS": args.worker_class, "GUNICORN_THREADS": str(args.threads),
            "PROMETHEUS_MULTIPROC_DIR": str(Path(workdir) / "metrics"),
        }
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while len(worker_pids(server.pid)) < args.workers or \
                    log_path.read_text().count("Booting worker") < args.workers:
                if time.monotonic() > deadline or server.poll() is not None:
                    print(log_path.read_text()[-3000:])
                    return 1
                time.sleep(0.1)
            time.sleep(1)
            drive(port, targets, info["token"], args.warmup, args.concurrency)  # JWKS, tokens
            pids = worker_pids(server.pid)
            samples: list[tuple[float, dict[int, float]]] = []
            sampling = threading.Event()

            def sample() -> None:
                begun = time.monotonic()
                while True:
                    samples.append((time.monotonic() - begun, {p: rss_mb(p) for p in pids}))
                    if sampling.wait(args.sample_every):
                        return

            assert emulator.pid is not None
            cpu_before = {p: cpu_seconds(p) for p in [*pids, emulator.pid]}
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            latencies, errors, elapsed = drive(port, targets, info["token"], args.duration,
                                               args.concurrency)
            sampling.set()
            sampler.join()
            samples.append((elapsed, {p: rss_mb(p) for p in pids}))
            cpu = {p: cpu_seconds(p) - before for p, before in cpu_before.items()}
            restarted = worker_pids(server.pid) != pids
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            stop.set()
            emulator.join(timeout=10)
        served = Counter(entry.get("pid") for entry in _json_lines(log_path)
                         if entry.get("logger") == "admin_gateway.access")
        log_lines = sum(1 for _ in log_path.open("rb"))

    total = len(latencies) + sum(v for k, v in errors.items() if not k.isdigit())
    ms = [x * 1000 for x in latencies]
    print(f"\nadmin-gateway load: {args.worker_class}, {args.workers} workers"
          + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
          + f", {args.concurrency} clients, {args.duration:g}s, mix {','.join(mix)}, "
          f"upstream latency {args.upstream_latency * 1000:g} ms, Redis: {redis_what}")
    print(f"{'requests':>9} {'req/s':>8} {'errors':>7} {'p50 ms':>7} {'p90 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7}")
    print(f"{total:>9} {total / elapsed:>8.0f} {sum(errors.values()):>7} "
          f"{percentile(ms, .5):>7.1f} {percentile(ms, .9):>7.1f} {percentile(ms, .99):>7.1f} "
          f"{max(ms, default=float('nan')):>7.1f}")
    if errors:
        print("errors:", dict(errors))
    print(f"\n{'worker pid':>10} {'requests':>9} {'CPU s':>6} {'RSS start MB':>13} "
          f"{'RSS end MB':>11} {'max MB':>7} {'growth MB':>10}")
    for pid in pids:
        series = [s[1][pid] for s in samples]
        print(f"{pid:>10} {served[pid]:>9} {cpu[pid]:>6.1f} {series[0]:>13.1f} "
              f"{series[-1]:>11.1f} {max(series):>7.1f} {series[-1] - series[0]:>10.1f}")
    print(f"emulator (upstream) CPU: {cpu[emulator.pid]:.1f} s; load generator CPU: "
          f"{time.process_time() - generator_cpu:.1f} s")
    print("RSS samples (s: MB per worker): " + "; ".join(
        f"{t:.0f}: " + "/".join(f"{v:.1f}" for v in values.values()) for t, values in samples))
    print(f"log lines written: {log_lines}; workers restarted during the run: {restarted}; "
          f"mean latency {statistics.fmean(ms) if ms else float('nan'):.1f} ms")
    return 0 if not errors and not restarted else 1


if __name__ == "__main__":
    raise SystemExit(main())
