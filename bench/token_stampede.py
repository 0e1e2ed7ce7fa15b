"""Cold-cache token stampede: how many Management tokens does a fleet mint?

Starts the Auth0 tenant emulator (served from this process over loopback HTTP)
and a Redis (REDIS_URL, else a private redis-server). The emulator counts the
tokens it issues per tier. Two parts, each a few rounds on a cold cache:

1. processes: N spawned gateway-like processes each fire T threads at once at
   the token cache, spread over the three demo tiers (read, write, admin):
     broker  the real TokenBroker: L1 + L2 (Redis) + fleet-wide single flight
     naive   a per-process cache (one dict + lock, the Delegated Administration
             Extension's approach): each process mints its own
2. gateway: two gateway instances (gunicorn, config/gunicorn.conf.py, wsgi:app)
   with W workers each; R concurrent HTTP requests by an admin user (carol)
   over three operations, one per tier, through the whole facade.

    .venv/bin/python bench/token_stampede.py [--processes 8] [--threads 40]
        [--rounds 3] [--latency 0.1] [--workers 4] [--requests 300]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from cryptography.fernet import Fernet
from gateway_process import start_gateway

from app.management.broker import TokenBroker
from app.management.minting import Minter, pooled_session
from app.redis_conn import connect
from config.settings import Settings, TierConfig, load_settings
from devtools.demo import DEMO_TIERS, demo_environment, demo_redis

MODES = ("broker", "naive")
ROOT = Path(__file__).resolve().parents[1]


class NaiveCache:
    """One token per tier per process, minted by whichever thread gets there first."""

    def __init__(self, settings: Settings) -> None:
        self._minter = Minter(settings, pooled_session(settings))
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_token(self, tier: TierConfig) -> str:
        with self._lock:
            if tier.name not in self._tokens:
                self._tokens[tier.name] = self._minter.mint(tier).access_token
            return self._tokens[tier.name]


def worker(mode: str, env: dict[str, str], threads: int, barrier: Any, results: Any) -> None:
    """One gateway process: build the cache, wait for the others, then stampede."""
    import logging

    logging.disable(logging.WARNING)  # the scope-mismatch and wait warnings are expected noise
    settings = load_settings(env)
    cache: Any = TokenBroker(settings, connect(settings)) if mode == "broker" \
        else NaiveCache(settings)
    latencies: list[float] = []
    errors: list[str] = []

    def call(i: int) -> None:
        tier = settings.tiers[i % len(settings.tiers)]
        started = time.perf_counter()
        try:
            cache.get_token(tier)
            latencies.append(time.perf_counter() - started)
        except Exception as exc:  # counted, shown in the table
            errors.append(type(exc).__name__)

    pool = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
    barrier.wait(timeout=120)
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put((latencies, errors))


def run_round(mode: str, env: dict[str, str], processes: int, threads: int,
              tenant: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    env = {**env, "REDIS_KEY_PREFIX": f"agwbench:{uuid.uuid4().hex[:10]}:"}
    tenant.reset_counters()
    procs = [context.Process(target=worker, args=(mode, env, threads, barrier, results))
             for _ in range(processes)]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)  # every process is built: start the clock
    started = time.perf_counter()
    latencies: list[float] = []
    errors: list[str] = []
    for _ in procs:
        got_latencies, got_errors = results.get(timeout=300)
        latencies += got_latencies
        errors += got_errors
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    _cleanup(env)
    issued = Counter({tier: tenant.tokens_issued[client] for tier, client in DEMO_TIERS.items()})
    return {"issued": issued, "latencies": latencies, "errors": errors, "wall": wall}


def gateway_round(env: dict[str, str], workers: int, total: int, tenant: Any,
                  log: Path) -> dict[str, Any]:
    """Two fresh gateway instances (cold L1s), a fresh Redis prefix, one burst of requests."""
    env = {**env, "REDIS_KEY_PREFIX": f"agwbench:{uuid.uuid4().hex[:10]}:",
           # Only the token cache is measured: per-caller limits and the fleet budget off.
           "RATE_LIMITS_ENABLED": "false", "MGMT_BUDGET_RATE": "10000",
           "MGMT_BUDGET_BURST": "100000", "LOG_LEVEL": "ERROR", "GUNICORN_LOG_LEVEL": "warning"}
    gateways = [start_gateway(env, workers, log) for _ in range(2)]
    time.sleep(2)  # let every worker finish booting (booting mints nothing)
    tenant.reset_counters()
    token = tenant.issue_user_token("carol", expires_in=3600)
    target = quote(tenant.user_id("dave"), safe="")
    calls = [  # one operation per tier
        ("GET", f"/api/v2/users/{target}", None),
        ("POST", "/api/v2/tickets/password-change", {"user_id": tenant.user_id("dave")}),
        ("DELETE", f"/api/v2/users/{target}/authenticators", None),
    ]
    barrier = threading.Barrier(total)
    statuses: list[int] = []
    latencies: list[float] = []

    def call(i: int) -> None:
        method, path, body = calls[i % len(calls)]
        url = gateways[i % len(gateways)].url + path
        barrier.wait()
        started = time.perf_counter()
        try:
            answer = requests.request(method, url, json=body, timeout=60,
                                      headers={"Authorization": f"Bearer {token}"})
            statuses.append(answer.status_code)
        except requests.RequestException:
            statuses.append(0)
        latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(total)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for gateway in gateways:
        gateway.stop()
    _cleanup(env)
    issued = Counter({tier: tenant.tokens_issued[client] for tier, client in DEMO_TIERS.items()})
    errors = [s for s in statuses if s == 0 or s >= 500]
    return {"issued": issued, "latencies": latencies, "errors": errors, "wall": wall,
            "statuses": Counter(statuses)}


def _cleanup(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    keys = list(client.scan_iter(match=env["REDIS_KEY_PREFIX"] + "*"))
    if keys:
        client.delete(*keys)


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=40, help="per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds the emulator's /oauth/token takes (Auth0: ~0.1-0.3)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--requests", type=int, default=300,
                        help="concurrent requests per gateway round")
    parser.add_argument("--skip-gateway", action="store_true")
    args = parser.parse_args()

    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    with EmulatorServer(Tenant.demo()) as emulator, demo_redis() as (redis_url, redis_what):
        emulator.tenant.faults.latency(args.latency, path_prefix="/oauth/token")
        env = demo_environment(emulator.tenant, redis_url, Fernet.generate_key().decode())
        env["LOG_LEVEL"] = "ERROR"
        requests_per_round = args.processes * args.threads
        print(f"token stampede: {args.processes} processes x {args.threads} threads = "
              f"{requests_per_round} cold-cache token requests per round over "
              f"{len(DEMO_TIERS)} tiers; /oauth/token latency {args.latency * 1000:.0f} ms; "
              f"{args.rounds} rounds; Redis: {redis_what}")
        header = (f"{'mode':<7} {'round':>5} {'mints read':>10} {'write':>6} {'admin':>6} "
                  f"{'total':>6} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
                  f"{'wall s':>7}")
        print(header)
        print("-" * len(header))
        totals: dict[str, list[int]] = {mode: [] for mode in MODES}
        for mode in MODES:
            for number in range(1, args.rounds + 1):
                result = run_round(mode, env, args.processes, args.threads, emulator.tenant)
                issued, lat = result["issued"], result["latencies"]
                total = sum(issued.values())
                totals[mode].append(total)
                print(f"{mode:<7} {number:>5} {issued['read']:>10} {issued['write']:>6} "
                      f"{issued['admin']:>6} {total:>6} {len(result['errors']):>6} "
                      f"{_ms(lat, 0.5):>7} {_ms(lat, 0.99):>7} "
                      f"{(max(lat) * 1000 if lat else 0):>7.0f} {result['wall']:>7.2f}")
        print()
        for mode in MODES:
            print(f"{mode}: mean {statistics.mean(totals[mode]):.1f} mints per stampede "
                  f"(ideal {len(DEMO_TIERS)})")
        print(hot_path(env))
        if not args.skip_gateway:
            print()
            print(gateway_part(env, args, emulator.tenant))


def gateway_part(env: dict[str, str], args: argparse.Namespace, tenant: Any) -> str:
    log = Path(tempfile.mkdtemp(prefix="token-stampede-")) / "gunicorn.log"
    lines = [f"gateway: 2 instances x {args.workers} gunicorn workers (gthread), "
             f"{args.requests} concurrent requests by carol per round: GET user (read), "
             "POST password-change ticket (write), DELETE authenticators (admin)",
             f"{'round':>5} {'mints read':>10} {'write':>6} {'admin':>6} {'total':>6} "
             f"{'5xx':>4} {'p50 ms':>7} {'p99 ms':>7} {'wall s':>7}  statuses"]
    lines.append("-" * len(lines[1]))
    print("\n".join(lines))
    for number in range(1, args.rounds + 1):
        result = gateway_round(env, args.workers, args.requests, tenant, log)
        issued, lat = result["issued"], result["latencies"]
        statuses = " ".join(f"{k}x{v}" for k, v in sorted(result["statuses"].items()))
        print(f"{number:>5} {issued['read']:>10} {issued['write']:>6} {issued['admin']:>6} "
              f"{sum(issued.values()):>6} {len(result['errors']):>4} {_ms(lat, 0.5):>7} "
              f"{_ms(lat, 0.99):>7} {result['wall']:>7.2f}  {statuses}")
    return f"(gunicorn log: {log})"


def hot_path(env: dict[str, str], calls: int = 200_000) -> str:
    """Cost of a warm L1 hit, the path nearly every request takes."""
    settings = load_settings({**env, "REDIS_KEY_PREFIX": f"agwbench:{uuid.uuid4().hex[:10]}:"})
    broker = TokenBroker(settings, connect(settings))
    tier = settings.tier("read")
    broker.get_token(tier)
    started = time.perf_counter()
    for _ in range(calls):
        broker.get_token(tier)
    per_call = (time.perf_counter() - started) / calls
    _cleanup({"REDIS_URL": settings.redis_url, "REDIS_KEY_PREFIX": settings.redis_key_prefix})
    return (f"hot path: warm L1 hit {per_call * 1e6:.1f} us per get_token "
            f"({calls} calls, one thread, no Redis round trip)")


if __name__ == "__main__":
    main()
