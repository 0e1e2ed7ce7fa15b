"""Issue 17, benchmark 2: the admin panel's user screen, under Auth0's Enterprise rate limit.

    .venv/bin/python bench/panel_workload.py            # 20 agents, 60 s per system (~4 min)
    .venv/bin/python bench/panel_workload.py --quick    # 15 s per system, a smoke check

Each system gets a fresh Auth0 tenant emulator (`Tenant.demo()`, served by a
child process over loopback HTTP) whose Management API is a token bucket with
the Enterprise figures (`tenant.faults.rate_limit(16, 50)`: Auth0's 429 shape
once it is empty). Closed-loop agents (threads, one `requests.Session` each,
no think time) then repeat one screen of the panel:

  1. search by a name prefix: GET /api/v2/users?q=name:<prefix>*&per_page=10
     &page=0&include_totals=true&sort=name:1&search_engine=v3; the prefix (first
     three letters of a user's name) is drawn from a Zipf distribution over the
     tenant's distinct prefixes, ranked in a seeded random order;
  2. open one result, drawn from a Zipf distribution over the page's rows:
     GET /api/v2/users/{id};
  3. that user's GET /users/{id}/roles, /users/{id}/permissions,
     /users/{id}/logs?per_page=10&page=0&sort=date:-1 and /user-blocks/{id};
  4. one screen in five, a PATCH /users/{id} of `user_metadata` (skipped for
     holders of a protected role, whom the gateway's policy refuses to carol);
  5. back to 1.

So a few prefixes and a few users are hot. Every agent draws its screens from
its own seeded generator before the screen starts, so each system is offered
the same sequence of screens. A screen completes when every call answered 2xx.
A 429 is retried after its `Retry-After` (1 s without one) at most `--retries`
times (`--retries 0`: the reference panel, which shows the error); any other failure,
or a 429 left after the retries, abandons the screen and the agent waits
`--failure-pause` (1 s) before the next one. Latency is the whole screen's,
waits included. At the deadline agents abandon the screen they are in.

Systems, one after another (`--systems`):
  coalescing  the gateway (gunicorn, config/gunicorn.conf.py, wsgi:app, 2 workers x 16
              threads), MGMT_PLAN=enterprise (the fleet budget), read coalescing only
              (MGMT_READ_CACHE_SECONDS=0)
  cache       the same with MGMT_READ_CACHE_SECONDS=5 (`--cache-seconds`)
  lean        bench/proxies/lean_panel.py (lean.py's hand-written proxy with the
              screen's routes), gunicorn -w 2 -k gthread --threads 16, no budget
The gateway is called with carol's token (User Admin, unrestricted scope), per-caller
limits out of the way; the lean proxy gets the same token and one client-credentials
client with every scope (gateway-all). Redis: `--redis` (default 127.0.0.1:6379 db 14),
a unique key prefix per run, its keys deleted at the end.

Reported per system: screens completed per second, p50/p95 screen latency, the
Management API calls the emulator received (`tenant.request_log`) per completed
screen, the emulator's 429s, and the 429s the panel saw (the gateway's own, after its
budget wait, or Auth0's passed through). For the gateway also its read-cache hits,
coalesced reads and budget waits (/metrics). Two replays explain the figures: the
panel's own successful reads through an ideal cache with the gateway's rules (what a
`--cache-seconds` cache could answer at best, and what arrived while an identical read
was in flight), and the arrivals at the emulator through the gateway's own budget
(15.2/s, burst 45): how close they came to Auth0's limit.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import multiprocessing
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(ROOT / "bench")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

ENTERPRISE_RATE, ENTERPRISE_BURST = 16.0, 50  # app/guards/budget.py PLANS["enterprise"]
SYSTEMS = {
    "coalescing": "gateway, coalescing only (read cache 0 s)",
    "cache": "gateway, coalescing + 5 s read cache",
    "lean": "lean hand-written proxy",
}
PROTECTED_ROLES = {"User Admin"}  # config/policy.toml [protection]
LEAN_CLIENT = "gateway-all"  # the demo tenant's M2M client with every scope
CLEAN_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
PREFIX_LENGTH = 3
PAGE = 10
TIMEOUT = (5.0, 30.0)


# --- the emulator, in a child process ----------------------------------------------------


def _serve_emulator(conn: Any, latency: float) -> None:
    """Child process: a fresh demo tenant; answers the parent's commands over `conn`."""
    from devtools.demo import demo_environment
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    with EmulatorServer(Tenant.demo()) as emulator:
        tenant = emulator.tenant
        if latency:
            tenant.faults.latency(latency)  # Management API calls only
        with tenant.lock:
            users = [(uid, str(u.get("name", "")),
                      any(r.name in PROTECTED_ROLES for r in tenant.roles_of(uid)))
                     for uid, u in tenant.users.items()]
            lean_client = tenant.clients[LEAN_CLIENT]
        # When each Management request took its token (or was refused): the emulator's
        # bucket, wrapped here only to time-stamp it.
        arrivals: list[tuple[float, bool]] = []

        def record_takes() -> None:
            bucket = tenant.faults.management_bucket
            take = bucket.take

            def timed() -> Any:
                state = take()
                arrivals.append((time.monotonic(), state.allowed))
                return state

            bucket.take = timed  # type: ignore[method-assign]

        conn.send({
            "url": emulator.url,
            "env": demo_environment(tenant, "redis://unused", "unused"),
            "token": tenant.issue_user_token("carol", expires_in=4 * 3600),
            "users": users,
            "audience": tenant.gateway_audience,
            "issuer": tenant.issuer,
            "lean_client": (lean_client.client_id, lean_client.client_secret),
        })
        reset_at = time.monotonic()
        while True:
            command, *args = conn.recv()
            if command == "limit":
                tenant.faults.rate_limit(*args)
                record_takes()
                conn.send(True)
            elif command == "reset":
                tenant.reset_counters()
                arrivals.clear()
                reset_at = time.monotonic()
                conn.send(True)
            elif command == "stats":
                with tenant.lock:
                    log = list(tenant.request_log)
                    calls = dict(tenant.calls)
                conn.send({
                    "requests": len(log),
                    "statuses": dict(Counter(e.status for e in log)),
                    "routes": dict(Counter(f"{e.method} {e.route}" for e in log)),
                    "routes_429": dict(Counter(f"{e.method} {e.route}" for e in log
                                               if e.status == 429)),
                    "calls": calls,
                    "arrivals": [(at - reset_at, allowed) for at, allowed in arrivals],
                })
            elif command == "stop":
                conn.send(True)
                return


class Emulator:
    def __init__(self, latency: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_emulator, args=(child, latency),
                                       daemon=True)
        self.process.start()
        if not self.conn.poll(60):
            raise SystemExit("the emulator did not start")
        self.info: dict[str, Any] = self.conn.recv()

    def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        try:
            self.ask("stop")
        except (OSError, EOFError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


# --- the workload ---------------------------------------------------------------------


def zipf_cumulative(n: int, s: float) -> list[float]:
    weights = [1.0 / (k ** s) for k in range(1, n + 1)]
    total = sum(weights)
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


@dataclass(frozen=True)
class Workload:
    prefixes: list[str]  # hottest first
    prefix_cdf: list[float]
    result_cdfs: dict[int, list[float]]  # rows on the page -> CDF over positions
    protected: frozenset[str]  # user ids the gateway's policy protects
    patch_share: float

    @classmethod
    def build(cls, users: list[tuple[str, str, bool]], s: float, seed: int,
              patch_share: float) -> Workload:
        prefixes = sorted({name[:PREFIX_LENGTH] for _, name, _ in users
                           if len(name) >= PREFIX_LENGTH and name[:PREFIX_LENGTH].isalpha()})
        random.Random(seed).shuffle(prefixes)  # which prefixes are hot: seeded, not alphabetical
        return cls(prefixes, zipf_cumulative(len(prefixes), s),
                   {m: zipf_cumulative(m, s) for m in range(1, PAGE + 1)},
                   frozenset(uid for uid, _, protected in users if protected), patch_share)


@dataclass(frozen=True)
class ScreenPlan:
    prefix: str
    position: float  # uniform in [0, 1): mapped onto the page's rows by Zipf
    patch: bool
    theme: str

    def pick(self, rows: int, workload: Workload) -> int:
        return min(rows - 1, bisect.bisect_left(workload.result_cdfs[rows], self.position))


def plan_screen(rng: random.Random, workload: Workload) -> ScreenPlan:
    prefix = workload.prefixes[min(len(workload.prefixes) - 1,
                                   bisect.bisect_left(workload.prefix_cdf, rng.random()))]
    return ScreenPlan(prefix, rng.random(), rng.random() < workload.patch_share,
                      rng.choice(("light", "dark", "system")))


@dataclass(frozen=True)
class Call:
    """One answered call of the panel (monotonic times)."""

    start: float
    end: float
    method: str
    key: str  # path and sorted query
    user: str | None  # the user it is about; None: a search
    status: int


@dataclass
class AgentResult:
    latencies: list[float] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    seen_429: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    patches: int = 0
    calls: list[Call] = field(default_factory=list)
    retry_after: Counter[str] = field(default_factory=Counter)  # of the 429s seen


class Abandon(Exception):
    pass


def user_of(path: str) -> str | None:
    """The user a screen's call is about (/users/{id}..., /user-blocks/{id}); None: a search."""
    parts = path.split("/")  # "", "api", "v2", "users", id, ...
    return parts[4] if len(parts) > 4 else None


def ideal_cache_hits(calls: list[Call], ttl: float) -> tuple[int, int, int]:
    """(hits, in flight, reads) of the successful reads in the panel's own call log: reads
    an ideal `ttl`-second cache with the gateway's rules could have answered (an entry
    stored when a miss is answered, kept `ttl` seconds; a PATCH answered invalidates that
    user's reads and every search), and, of the rest, reads that arrived while an identical
    one was in flight (what coalescing can share, within one worker process)."""
    events: list[tuple[float, int, int]] = []  # (time, kind: 0 store 1 patch 2 lookup, call)
    for index, call in enumerate(calls):
        if call.method == "PATCH":
            events.append((call.end, 1, index))
        elif 200 <= call.status < 300:
            events.append((call.start, 2, index))
    heapq.heapify(events)
    stored: dict[str, float] = {}
    patched: dict[str | None, float] = {}
    in_flight: Counter[str] = Counter()
    hits = shared = reads = 0
    while events:
        at, kind, index = heapq.heappop(events)
        call = calls[index]
        if kind == 1:
            patched[call.user] = patched[None] = at
        elif kind == 0:
            stored[call.key] = at
            in_flight[call.key] -= 1
        else:
            reads += 1
            since = stored.get(call.key)
            if since is not None and at - since <= ttl and since > patched.get(call.user, -1.0):
                hits += 1
                continue
            if in_flight[call.key] > 0:
                shared += 1
            in_flight[call.key] += 1
            heapq.heappush(events, (call.end, 0, index))
    return hits, shared, reads


def run_agent(index: int, base: str, token: str, workload: Workload, seed: int,
              start: float, deadline: float, retries: int, failure_pause: float,
              result: AgentResult) -> None:
    rng = random.Random(seed * 1000 + index)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, params: dict[str, str] | None = None,
             body: dict[str, Any] | None = None) -> requests.Response:
        for attempt in range(retries + 1):
            if time.monotonic() >= deadline:
                raise Abandon("deadline")
            sent = time.monotonic()
            try:
                response = session.request(method, base + path, params=params, json=body,
                                           timeout=TIMEOUT)
            except requests.RequestException as exc:
                raise Abandon(type(exc).__name__) from None
            result.requests += 1
            result.statuses[response.status_code] += 1
            result.calls.append(Call(sent, time.monotonic(), method, path + "?" + "&".join(
                f"{k}={v}" for k, v in sorted((params or {}).items())), user_of(path),
                response.status_code))
            if response.status_code != 429:
                if not 200 <= response.status_code < 300:
                    raise Abandon(f"{method} {path.split('/')[3] if path.count('/') > 2 else path}"
                                  f" {response.status_code}")
                return response
            result.seen_429 += 1
            result.retry_after[response.headers.get("Retry-After", "none")] += 1
            if attempt < retries:
                wait = min(10.0, float(response.headers.get("Retry-After") or 1))
                if time.monotonic() + wait >= deadline:
                    time.sleep(max(0.0, deadline - time.monotonic()))
                    raise Abandon("deadline")
                time.sleep(wait)
        raise Abandon("429 after retries")

    time.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < deadline:
        plan = plan_screen(rng, workload)
        began = time.monotonic()
        try:
            page = call("GET", "/api/v2/users", {
                "q": f"name:{plan.prefix}*", "per_page": str(PAGE), "page": "0",
                "include_totals": "true", "sort": "name:1", "search_engine": "v3"}).json()
            rows = page.get("users") if isinstance(page, dict) else page
            if not rows:
                raise Abandon("empty search")
            user_id = rows[plan.pick(len(rows), workload)]["user_id"]
            user = quote(user_id, safe="")
            call("GET", f"/api/v2/users/{user}")
            call("GET", f"/api/v2/users/{user}/roles")
            call("GET", f"/api/v2/users/{user}/permissions")
            call("GET", f"/api/v2/users/{user}/logs",
                 {"per_page": "10", "page": "0", "sort": "date:-1"})
            call("GET", f"/api/v2/user-blocks/{user}")
            if plan.patch and user_id not in workload.protected:
                call("PATCH", f"/api/v2/users/{user}",
                     body={"user_metadata": {"theme": plan.theme}})
                result.patches += 1
        except Abandon as why:
            if str(why) == "deadline":
                break
            result.failed[str(why)] += 1
            # The person at the panel reads the error before trying again.
            time.sleep(max(0.0, min(failure_pause, deadline - time.monotonic())))
            continue
        result.latencies.append(time.monotonic() - began)


# --- the systems ----------------------------------------------------------------------


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with {process.returncode}; see {log}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start; see {log}")


def start_lean(info: dict[str, Any], log: Path) -> tuple[str, Any]:
    from devtools.demo import free_port

    port = free_port()
    client_id, secret = info["lean_client"]
    env = {k: v for k, v in os.environ.items() if k in CLEAN_ENV}
    env.update({"BENCH_UPSTREAM": info["url"], "BENCH_AUDIENCE": info["audience"],
                "BENCH_ISSUER": info["issuer"], "BENCH_CLIENT_ID": client_id,
                "BENCH_CLIENT_SECRET": secret, "LOG_LEVEL": "WARNING"})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "16",
             "--keep-alive", "5", "-b", f"127.0.0.1:{port}", "bench.proxies.lean_panel:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, process, log)
    except SystemExit:
        process.kill()
        process.wait()
        raise

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return url, stop


def gateway_metrics(url: str) -> dict[str, float]:
    """Sums of the counters this benchmark explains itself with."""
    wanted = {"agw_read_cache_total": "cache", "agw_coalesced_reads_total": "coalesced",
              "agw_budget_waits_total": "budget_waits", "agw_upstream_429_total": "upstream_429",
              "agw_rate_limited_total": "rate_limited"}
    out: dict[str, float] = {}
    try:
        text = requests.get(url + "/metrics", timeout=10).text
    except requests.RequestException:
        return {}
    for line in text.splitlines():
        match = re.match(r"([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$", line)
        if not match or match.group(1) not in wanted:
            continue
        name, labels = wanted[match.group(1)], match.group(2) or ""
        if name == "cache":
            name = "cache_hit" if 'result="hit"' in labels else "cache_miss"
        elif name == "budget_waits":
            outcome = re.search(r'outcome="([^"]+)"', labels)
            name = f"budget_{outcome.group(1) if outcome else 'waits'}"
        out[name] = out.get(name, 0.0) + float(match.group(3))
    return out


def mirror_deficit(arrivals: list[tuple[float, bool]], rate: float, burst: float
                   ) -> tuple[float, list[float]]:
    """Replay the Management requests as they reached the emulator through a token bucket
    (`rate`/s, `burst`, full at the start): (its lowest level, below 0 when the arrivals
    were more than that bucket allows; the level at each Auth0 429)."""
    level, last, lowest, at_429 = float(burst), 0.0, float(burst), []
    for at, allowed in arrivals:
        level = min(burst, level + (at - last) * rate)
        last = at
        if not allowed:
            at_429.append(round(level, 2))
            continue
        level -= 1
        lowest = min(lowest, level)
    return lowest, at_429


def delete_keys(redis_url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def run_system(system: str, args: argparse.Namespace, redis_url: str, prefix: str,
               log: Path) -> dict[str, Any]:
    from gateway_process import start_gateway

    emulator = Emulator(args.upstream_latency)
    info = emulator.info
    metrics: dict[str, float] = {}
    try:
        workload = Workload.build(info["users"], args.zipf, args.seed, args.patch_share)
        if system == "lean":
            url, stop = start_lean(info, log)
        else:
            env = dict(info["env"])
            env.update({
                "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": f"{prefix}{system}:",
                "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
                "MGMT_PLAN": "enterprise", "MGMT_BUDGET_RATE": "0", "MGMT_BUDGET_BURST": "0",
                "MGMT_READ_CACHE_SECONDS": str(args.cache_seconds) if system == "cache" else "0",
                "RATE_LIMITS_ENABLED": "true", "RATE_LIMIT_READS": "1000000/minute",
                "RATE_LIMIT_WRITES": "1000000/minute", "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json", "GUNICORN_THREADS": "16", "METRICS_ENABLED": "true",
            })
            gateway = start_gateway(env, 2, log)
            url, stop = gateway.url, gateway.stop
        try:
            headers = {"Authorization": f"Bearer {info['token']}"}
            some_user = quote(info["users"][0][0], safe="")
            # Warm every worker (JWKS, Management token, connections) on the generous
            # default bucket, then let the gateway's fleet budget refill.
            for _ in range(8):
                response = requests.get(f"{url}/api/v2/users/{some_user}", headers=headers,
                                        timeout=30)
                if response.status_code != 200:
                    raise SystemExit(f"{system}: warm-up answered {response.status_code}: "
                                     f"{response.text[:300]}")
            time.sleep(ENTERPRISE_BURST / ENTERPRISE_RATE + 0.5)
            before = gateway_metrics(url) if system != "lean" else {}
            emulator.ask("limit", ENTERPRISE_RATE, ENTERPRISE_BURST)  # a fresh, full bucket
            emulator.ask("reset")
            start = time.monotonic() + 0.2
            deadline = start + args.duration
            results = [AgentResult() for _ in range(args.agents)]
            threads = [threading.Thread(target=run_agent, name=f"agent-{i}", daemon=True,
                                        args=(i, url, info["token"], workload, args.seed, start,
                                              deadline, args.retries, args.failure_pause,
                                              results[i]))
                       for i in range(args.agents)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stats = emulator.ask("stats")
            if system != "lean":
                after = gateway_metrics(url)
                metrics = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        finally:
            stop()
    finally:
        emulator.stop()
    latencies = sorted(x for r in results for x in r.latencies)
    ideal_hits, in_flight, reads = ideal_cache_hits([c for r in results for c in r.calls],
                                                    float(args.cache_seconds))
    screens = len(latencies)
    failed: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    retry_after: Counter[str] = Counter()
    for r in results:
        failed.update(r.failed)
        statuses.update(r.statuses)
        retry_after.update(r.retry_after)
    return {
        "system": system, "label": SYSTEMS[system], "screens": screens,
        "screens_per_s": screens / args.duration,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[min(screens - 1, int(0.95 * screens))] if latencies else float("nan"),
        "failed": sum(failed.values()), "failures": dict(failed),
        "panel_requests": sum(r.requests for r in results),
        "panel_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "panel_429": sum(r.seen_429 for r in results),
        "panel_429_retry_after": dict(retry_after),
        "patches": sum(r.patches for r in results),
        "auth0_calls": stats["requests"], "auth0_429": stats["statuses"].get(429, 0),
        "auth0_statuses": {str(k): v for k, v in sorted(stats["statuses"].items())},
        "auth0_routes": stats["routes"], "auth0_routes_429": stats["routes_429"],
        "calls_per_screen": stats["requests"] / screens if screens else float("nan"),
        "ok_calls_per_screen": ((stats["requests"] - stats["statuses"].get(429, 0)) / screens
                                if screens else float("nan")),
        "gateway_metrics": metrics,
        "ideal_cache": {"hits": ideal_hits, "in_flight": in_flight, "reads": reads},
        "auth0_429_at_s": [round(at, 2) for at, allowed in stats["arrivals"] if not allowed],
        # The gateway's own budget (app/guards/budget.py: 0.95 x 16/s, burst 50 - 5 reserve)
        # replayed over the arrivals: how far they overshot it.
        "budget_mirror_lowest": mirror_deficit(stats["arrivals"], 0.95 * ENTERPRISE_RATE,
                                               ENTERPRISE_BURST - 5)[0],
    }


# --- report -----------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| system | screens | screens/s | p50 s | p95 s | Auth0 calls/screen "
            "| of them 2xx | Auth0 429s | 429s to the panel | abandoned screens |")
    lines = [head, "|---|" + "---:|" * 9]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['screens']:,} | {r['screens_per_s']:.2f} | {r['p50']:.2f} "
            f"| {r['p95']:.2f} | {r['calls_per_screen']:.2f} | {r['ok_calls_per_screen']:.2f} "
            f"| {r['auth0_429']:,} | {r['panel_429']:,} | {r['failed']:,} |")
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    by = {r["system"]: r for r in rows}
    out = []
    for name in ("coalescing", "cache"):
        if name in by:
            n = by[name]["auth0_429"]
            out.append(f"{'MET' if n == 0 else 'NOT MET'}: 0 Auth0 429s, {SYSTEMS[name]}: {n}")
    if "cache" in by and "lean" in by:
        cache, lean = by["cache"], by["lean"]
        ratio = (cache["screens_per_s"] / lean["screens_per_s"] if lean["screens_per_s"]
                 else float("inf"))
        out.append(f"{'MET' if ratio >= 3 else 'NOT MET'}: read cache >= 3x lean's screens/s: "
                   f"{cache['screens_per_s']:.2f} vs {lean['screens_per_s']:.2f} = {ratio:.2f}x")
        ok = cache["p95"] <= lean["p95"]
        out.append(f"{'MET' if ok else 'NOT MET'}: read cache p95 <= lean's: "
                   f"{cache['p95']:.2f} s vs {lean['p95']:.2f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per system")
    parser.add_argument("--quick", action="store_true", help="15 s per system")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--zipf", type=float, default=1.0,
                        help="Zipf exponent s over prefixes and over a page's rows")
    parser.add_argument("--patch-share", type=float, default=0.2)
    parser.add_argument("--retries", type=int, default=3, help="retries of a 429, per call")
    parser.add_argument("--failure-pause", type=float, default=1.0,
                        help="seconds an agent waits after an abandoned screen")
    parser.add_argument("--cache-seconds", type=int, default=5,
                        help="MGMT_READ_CACHE_SECONDS of the `cache` system")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--upstream-latency", type=float, default=0.0,
                        help="seconds the emulator adds to each Management API call")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/14"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.duration = 15.0
    if args.cache_seconds != 5:
        SYSTEMS["cache"] = f"gateway, coalescing + {args.cache_seconds} s read cache"
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"--systems: unknown {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(SYSTEMS)}")

    import redis

    try:
        redis.Redis.from_url(args.redis, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis at {args.redis} does not answer ({exc}); "
                         f"pass --redis URL") from None
    prefix = f"agwbench-panel-{uuid.uuid4().hex[:10]}:"
    log = Path(tempfile.mkdtemp(prefix="agw-bench-panel-")) / "servers.log"
    header = (f"panel workload: {args.agents} closed-loop agents, {args.duration:g} s per system; "
              f"emulator Management API limited to {ENTERPRISE_RATE:g}/s burst "
              f"{ENTERPRISE_BURST} (fresh tenant per system); Zipf s={args.zipf:g} over name "
              f"prefixes and page rows; PATCH share {args.patch_share:g}; 429 retries "
              f"{args.retries}, pause after an abandoned screen {args.failure_pause:g} s; "
              f"upstream latency {args.upstream_latency * 1000:g} ms; "
              f"{os.cpu_count()} CPUs; Python {platform.python_version()}; Redis {args.redis} "
              f"(key prefix {prefix}); server log {log}")
    print(header, flush=True)
    rows = []
    try:
        for system in systems:
            print(f"  running {system} ...", flush=True)
            row = run_system(system, args, args.redis, prefix, log)
            rows.append(row)
            print(f"  {system}: {row['screens']} screens ({row['screens_per_s']:.2f}/s), "
                  f"p50 {row['p50']:.2f} s, p95 {row['p95']:.2f} s, Auth0 calls "
                  f"{row['auth0_calls']} ({row['calls_per_screen']:.2f}/screen), Auth0 429s "
                  f"{row['auth0_429']}, panel 429s {row['panel_429']}, failed {row['failures']}, "
                  f"panel statuses {row['panel_statuses']}, gateway {row['gateway_metrics']}, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        print(f"deleted {delete_keys(args.redis, prefix)} Redis key(s) under {prefix}")
    print()
    print(header)
    print()
    print(table(rows))
    print()
    for r in rows:
        m = r["gateway_metrics"]
        routes = ", ".join(f"{k} {v}" for k, v in sorted(r["auth0_routes"].items(),
                                                          key=lambda kv: -kv[1]))
        extra = ""
        if m:
            lookups = m.get("cache_hit", 0) + m.get("cache_miss", 0)
            waits = ", ".join(f"{k[len('budget_'):]} {v:.0f}" for k, v in m.items()
                              if k.startswith("budget_")) or "0"
            extra = (f"; read cache hits {m.get('cache_hit', 0):.0f}/{lookups:.0f}"
                     f"; coalesced reads {m.get('coalesced', 0):.0f}; budget waits {waits}")
        ideal = r["ideal_cache"]
        reads = max(1, ideal["reads"])
        print(f"{r['label']}: {r['panel_requests']:,} panel requests {r['panel_statuses']} "
              f"(Retry-After of the 429s: {r['panel_429_retry_after']}), "
              f"{r['patches']} PATCHes; Auth0 calls by route: {routes}{extra}; of this run's "
              f"{ideal['reads']} successful reads an ideal {args.cache_seconds} s cache answers "
              f"{ideal['hits']} ({100 * ideal['hits'] / reads:.0f} %), and "
              f"{ideal['in_flight']} more ({100 * ideal['in_flight'] / reads:.0f} %) arrive "
              f"while an identical read is in flight")
        if m:
            times = r["auth0_429_at_s"]
            print(f"  {r['label']}: the gateway's budget (15.2/s, burst 45) replayed over the "
                  f"arrivals at the emulator: lowest level {r['budget_mirror_lowest']:.1f} "
                  f"(below 0: more arrived than it allows); Auth0 429s at "
                  f"{', '.join(f'{t:g}' for t in times[:10]) or '-'} s into the run")
    print()
    for line in verdicts(rows):
        print(line)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
