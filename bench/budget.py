"""Fleet-wide Management API budget: Auth0 429s and achieved rate at 3x the tenant limit.

Starts the Auth0 tenant emulator (served from this process over loopback HTTP)
with its Management API rate-limited like a tenant on the given plan
(`tenant.faults.rate_limit(rate, burst)`), a Redis (REDIS_URL, else a private
redis-server), and I gateway instances (gunicorn, config/gunicorn.conf.py,
wsgi:app) of W workers each: I x W gateway processes sharing Redis. Client
threads then send `GET /api/v2/roles` (read tier, no guardrail lookups) as
alice at `--factor` times the plan's rate for `--seconds`, spread over the
instances, and the emulator's request log is counted.

Two modes per plan:
  budget  the fleet-wide budget at the plan's figures (MGMT_PLAN)
  none    no budget (MGMT_BUDGET_RATE=10000): each request goes straight to
          Auth0 and the client's bounded 429 handling is all there is

    .venv/bin/python bench/budget.py [--plans free,enterprise-nonprod,enterprise]
        [--instances 2] [--workers 2] [--seconds 10] [--factor 3] [--modes budget,none]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from gateway_process import start_gateway

from app.guards.budget import PLANS
from devtools.demo import demo_environment, demo_redis

ROOT = Path(__file__).resolve().parents[1]
MODES = ("budget", "none")


def run(plan: str, mode: str, args: argparse.Namespace, tenant: Any, redis_url: str,
        log: Path) -> dict[str, Any]:
    bucket = PLANS[plan][0]
    rate, burst = bucket.rate, bucket.burst
    env = demo_environment(tenant, redis_url, Fernet.generate_key().decode())
    env.update({"MGMT_PLAN": plan, "REDIS_KEY_PREFIX": f"agwbench:{uuid.uuid4().hex[:8]}:",
                "RATE_LIMIT_READS": "1000000/minute", "LOG_LEVEL": "WARNING",
                "MGMT_BUDGET_WAIT_SECONDS": str(args.wait), "LOG_FORMAT": "json"})
    if mode == "none":
        env.update({"MGMT_BUDGET_RATE": "10000", "MGMT_BUDGET_BURST": "10000"})
    tenant.faults.clear()
    env.setdefault("GUNICORN_THREADS", "16")
    gateways = [start_gateway(env, args.workers, log) for _ in range(args.instances)]
    token = tenant.issue_user_token("alice", expires_in=3600)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        # Warm up every worker (JWKS, Management token), then let the buckets refill.
        for gateway in gateways:
            url = gateway.url
            for _ in range(4 * args.workers):
                requests.get(url + "/api/v2/roles", headers=headers, timeout=30)
        time.sleep(burst / rate + 0.5)
        tenant.faults.rate_limit(rate, burst)
        tenant.reset_counters()
        offered = args.factor * rate
        total = int(offered * args.seconds)
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        start = time.monotonic() + 0.5

        def fire(index: int) -> None:
            time.sleep(max(0.0, start + index / offered - time.monotonic()))
            url = gateways[index % len(gateways)].url
            began = time.monotonic()
            try:
                status = requests.get(url + "/api/v2/roles", headers=headers, timeout=60
                                      ).status_code
            except requests.RequestException:
                status = 0
            with lock:
                statuses[status] += 1
                latencies.append(time.monotonic() - began)

        with ThreadPoolExecutor(max_workers=min(256, int(offered * (args.wait + 3)) + 8)) as pool:
            list(pool.map(fire, range(total)))
        wall = time.monotonic() - start
        upstream = Counter(e.status for e in tenant.request_log)
    finally:
        for gateway in gateways:
            gateway.stop()
    accepted = upstream.get(200, 0)
    allowed = rate * wall + burst  # what Auth0's bucket allows over the window
    latencies.sort()
    return {
        "plan": plan, "mode": mode, "limit": rate, "burst": burst, "offered": offered,
        "sent": total, "ok": statuses.get(200, 0), "gw429": statuses.get(429, 0),
        "other": total - statuses.get(200, 0) - statuses.get(429, 0),
        "auth0_429": upstream.get(429, 0), "accepted": accepted, "wall": wall,
        "achieved": accepted / wall, "use": 100 * accepted / allowed,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", default="free,enterprise-nonprod,enterprise")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--wait", type=float, default=1.0, help="MGMT_BUDGET_WAIT_SECONDS")
    args = parser.parse_args()
    plans = [p for p in args.plans.split(",") if p]
    modes = [m for m in args.modes.split(",") if m]
    for plan in plans:
        if plan not in PLANS or len(PLANS[plan]) != 1:
            raise SystemExit(f"plan must be one of free, enterprise-nonprod, enterprise: {plan}")

    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    log = Path(tempfile.mkdtemp(prefix="agw-bench-")) / "gateways.log"
    rows = []
    with EmulatorServer(Tenant.demo()) as emulator, demo_redis() as (redis_url, redis_what):
        print(f"budget: {args.instances} instances x {args.workers} workers = "
              f"{args.instances * args.workers} gateway processes; {args.factor:g}x the plan "
              f"rate for {args.seconds:g} s; MGMT_BUDGET_WAIT_SECONDS={args.wait:g}; "
              f"Redis: {redis_what}; gateway log: {log}")
        for plan in plans:
            for mode in modes:
                rows.append(run(plan, mode, args, emulator.tenant, redis_url, log))
    header = (f"{'plan':19} {'mode':6} {'limit/s':>7} {'burst':>5} {'offered/s':>9} "
              f"{'sent':>5} {'200':>5} {'gw 429':>6} {'other':>5} {'Auth0 429':>9} "
              f"{'Auth0 ok/s':>10} {'use %':>6} {'p50 ms':>7} {'p99 ms':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['plan']:19} {r['mode']:6} {r['limit']:7g} {r['burst']:5d} "
              f"{r['offered']:9g} {r['sent']:5d} {r['ok']:5d} {r['gw429']:6d} {r['other']:5d} "
              f"{r['auth0_429']:9d} {r['achieved']:10.2f} {r['use']:6.1f} {r['p50']:7.0f} "
              f"{r['p99']:7.0f}")
    print("use % = Auth0-accepted calls / (limit x window + burst): what the tenant's bucket "
          "allows over the window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
