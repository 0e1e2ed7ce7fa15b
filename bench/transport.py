"""CPU per Management call of the upstream transports, against one TLS nginx upstream.

    .venv/bin/python bench/transport.py                  # ~1 minute: the tables
    .venv/bin/python bench/transport.py --rounds 40 --calls 300 --body list

Starts nginx (1 worker) on loopback serving, over HTTPS with a certificate
from a CA made here (bench/proxy_compare.py's `make_tls`), a constant-time
`GET /api/v2/users/<id>` (one ~700-byte Auth0 user, as in proxy_compare) and
`GET /api/v2/users` (a page of 50 users, ~35 kB). Every transport verifies
the certificate against that CA and keeps its connections alive, then times,
in this process and one thread, what one call costs the caller:

- `requests` — the Management client's path before issue 17 (still how the
  token endpoint is called): the headers merged with the session's,
  `requests.Request(...).prepare()`, the session's pooled adapter
  (`app.egress.EgressAdapter`, as the gateway mounts it) `.send(...)`,
  `response.elapsed` set, the body read, `response.json()`;
- `gateway` — the gateway's transport now (app/management/transport.py):
  `Transport(settings, base_url).send(...)` as `ManagementClient._attempt`
  calls it (the egress settings' TLS context, the host's one pool), then
  `UpstreamResponse.json()` (stdlib `json`);
- `gateway+orjson` — the same with `orjson.loads(response.body)` (when orjson
  is installed; it is not a project dependency);
- `urllib3` — `urllib3.PoolManager(...).request(...)` with the query
  url-encoded by hand, then `json.loads(response.data)`;
- `urllib3-pool` — an `HTTPSConnectionPool` for the one host, `.request(...)`
  on it (no PoolManager lookup per call), `json.loads`: the floor.

A second table times the JSON decoding alone (`json.loads` and, when
installed, `orjson.loads` of the same bytes), per body.

Measure: this thread's CPU time (`time.thread_time`) over `--calls` calls, in
`--rounds` rounds that rotate the order of the transports (drift hits all
alike); the table gives the median and the quartiles over the rounds, in µs of
CPU per call, and the ratio of medians to `requests`. nginx's own CPU is not
counted: the upstream is the same for all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import urllib3  # noqa: E402

from app.egress import Egress, EgressAdapter  # noqa: E402
from app.management.transport import Transport  # noqa: E402
from bench.proxy_compare import (  # noqa: E402
    USER,
    USER_ID,
    Upstream,
    free_port,
    make_tls,
    nginx_quote,
    started,
    trust_for_urllib,
)
from config.settings import load_settings  # noqa: E402

orjson: Any
try:
    import orjson
except ImportError:  # measured only when installed
    orjson = None

TIMEOUT = (3.05, 10.0)  # the gateway's connect / read defaults
TOKEN = "eyJhbGciOiJSUzI1NiJ9." + "x" * 600 + ".sig"  # a Management token's size


def nginx_config(tmp: Path, upstream: Upstream) -> str:
    page = [dict(USER, user_id=f"auth0|{i:024x}", email=f"user{i}@example.com")
            for i in range(50)]
    (tmp / "users.json").write_text(json.dumps(page))  # too long for an nginx string
    user_directive = "user nobody nogroup;" if os.geteuid() == 0 else ""
    return f"""
{user_directive}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    default_type application/json;
    server {{
        listen 127.0.0.1:{upstream.port} ssl;
        ssl_certificate {upstream.cert_file};
        ssl_certificate_key {upstream.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /healthz {{ return 200 '{{}}'; }}
        location = /api/v2/users {{
            add_header x-ratelimit-limit 1000000 always;
            add_header x-ratelimit-remaining 999999 always;
            alias {tmp}/users.json;
        }}
        location /api/v2/users/ {{
            add_header x-ratelimit-limit 1000000 always;
            add_header x-ratelimit-remaining 999999 always;
            return 200 {nginx_quote(json.dumps(USER))};
        }}
    }}
}}
"""


Call = Callable[[], Any]


def requests_call(origin: str, path: str, query: list[tuple[str, str]], ca_file: Path) -> Call:
    """app/management/client.py's `_attempt` + `_result` on a 200."""
    session = requests.Session()
    adapter = EgressAdapter(Egress(ca_bundle=str(ca_file)), pool_connections=4, pool_maxsize=32,
                            max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    url = origin + path

    def call() -> Any:
        started_at = time.perf_counter()
        headers = {**session.headers, "Authorization": f"Bearer {TOKEN}",
                   "Accept": "application/json"}
        request = requests.Request("GET", url, params=query, json=None,
                                   headers=headers).prepare()
        response = session.get_adapter(url).send(request, timeout=TIMEOUT)
        response.elapsed = timedelta(seconds=time.perf_counter() - started_at)
        response.content  # noqa: B018 - as the gateway: read it all, the connection goes back
        assert response.status_code == 200
        return response.json() if response.content else None

    return call


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
            "User-Agent": "admin-gateway"}


def urllib3_call(origin: str, path: str, query: list[tuple[str, str]], ca_file: Path,
                 loads: Callable[[bytes], Any], direct_pool: bool) -> Call:
    context = ssl.create_default_context(cafile=str(ca_file))
    timeout = urllib3.Timeout(connect=TIMEOUT[0], read=TIMEOUT[1])
    target = origin + path + ("?" + urlencode(query) if query else "")
    if direct_pool:
        host_port = origin.split("://", 1)[1]
        host, _, port = host_port.rpartition(":")
        pool: urllib3.HTTPSConnectionPool | urllib3.PoolManager = urllib3.HTTPSConnectionPool(
            host, int(port), maxsize=32, block=False, retries=False, timeout=timeout,
            ssl_context=context)
        target = path + ("?" + urlencode(query) if query else "")
    else:
        pool = urllib3.PoolManager(num_pools=4, maxsize=32, retries=False, timeout=timeout,
                                   ssl_context=context)

    def call() -> Any:
        started_at = time.perf_counter()
        response = pool.request("GET", target, headers=_headers(), redirect=False)
        elapsed = time.perf_counter() - started_at  # the budget reads it
        assert response.status == 200 and elapsed >= 0
        data = response.data
        return loads(data) if data else None

    return call


def gateway_call(origin: str, path: str, query: list[tuple[str, str]], ca_file: Path,
                 loads: Callable[[bytes], Any] | None) -> Call:
    """app/management/client.py's `_attempt` + `_result` on a 200, through its Transport."""
    from cryptography.fernet import Fernet

    settings = load_settings({
        "AUTH0_DOMAIN": origin.split("://", 1)[1], "AUTH0_SCHEME": "https",
        "AUTH0_CA_BUNDLE": str(ca_file), "AUTH0_AUDIENCE": "https://bench.example/api",
        "MGMT_TIERS": "read", "MGMT_TIER_READ_CLIENT_ID": "bench",
        "MGMT_TIER_READ_CLIENT_SECRET": "bench-secret", "MGMT_TIER_READ_SCOPES": "read:users",
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": str(TIMEOUT[0]),
        "UPSTREAM_READ_TIMEOUT_SECONDS": str(TIMEOUT[1])})
    transport = Transport(settings, settings.management_url)
    base = {**transport.headers, "Accept": "application/json"}
    management_path = path.removeprefix("/api/v2")

    def call() -> Any:
        headers = {**base, "Authorization": f"Bearer {TOKEN}"}
        response = transport.send("GET", management_path, query, None, headers)
        assert response.status == 200
        if not response.body:
            return None
        return loads(response.body) if loads else response.json()

    return call


def decode_samples(data: bytes, rounds: int, per_round: int) -> dict[str, list[float]]:
    """µs of CPU per decode of `data`, json.loads and orjson.loads, alternating rounds."""
    decoders: dict[str, Callable[[bytes], Any]] = {"json.loads": json.loads}
    if orjson is not None:
        decoders["orjson.loads"] = orjson.loads
    samples: dict[str, list[float]] = {name: [] for name in decoders}
    for index in range(rounds):
        for name in (list(decoders) if index % 2 == 0 else list(decoders)[::-1]):
            decode = decoders[name]
            began = time.thread_time()
            for _ in range(per_round):
                decode(data)
            samples[name].append((time.thread_time() - began) / per_round * 1e6)
    return samples


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=200, help="calls per transport per round")
    parser.add_argument("--body", choices=("user", "list", "both"), default="both",
                        help="one user (~700 B) and/or a page of 50 users (~35 kB)")
    parser.add_argument("--json", type=Path, help="also write the samples here")
    return parser.parse_args()


def measure(calls: dict[str, Call], rounds: int, per_round: int) -> dict[str, list[float]]:
    names = list(calls)
    for name in names:  # warm: connections, TLS sessions, caches
        for _ in range(50):
            calls[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            call = calls[name]
            began = time.thread_time()
            for _ in range(per_round):
                call()
            samples[name].append((time.thread_time() - began) / per_round * 1e6)
    return samples


def report(title: str, samples: dict[str, list[float]], base_name: str = "requests",
           what: str = "transport", unit: str = "call") -> str:
    base = statistics.median(samples[base_name])
    lines = [title, f"| {what} | µs CPU/{unit}, median | p25 | p75 | vs {base_name} |",
             "|---|---:|---:|---:|---:|"]
    for name, values in samples.items():
        q1, _, q3 = statistics.quantiles(values, n=4)
        median = statistics.median(values)
        lines.append(f"| {name} | {median:,.0f} | {q1:,.0f} | {q3:,.0f} | "
                     f"{median / base:.2f}× |")
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        raise SystemExit("nginx is missing: apt-get install -y nginx")
    base_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    results: dict[str, dict[str, list[float]]] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agw-transport-")))
        tmp.chmod(0o755)
        ca_file, cert_file, key_file = make_tls(tmp)
        upstream = Upstream(free_port(), free_port(), ca_file, cert_file, key_file)
        trust_for_urllib(ca_file)
        (tmp / "nginx.conf").write_text(nginx_config(tmp, upstream))
        stack.enter_context(started(
            "nginx", [nginx, "-e", "stderr", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            base_env, upstream.port, tmp, "/healthz", "https"))
        bodies = {"user": ("/api/v2/users/" + quote(USER_ID, safe=""), []),
                  "list": ("/api/v2/users", [("page", "0"), ("per_page", "50")])}
        chosen = list(bodies) if args.body == "both" else [args.body]
        header = (f"transport: {args.rounds} rounds x {args.calls} calls per transport, order "
                  f"rotating; this thread's CPU; nginx 1 worker over HTTPS (TLS, RSA-2048 "
                  f"certificate from a CA made here, verified by every transport), keep-alive; "
                  f"Python {platform.python_version()}, requests {requests.__version__}, "
                  f"urllib3 {version('urllib3')}"
                  + (f", orjson {orjson.__version__}" if orjson else ", orjson not installed")
                  + f", {ssl.OPENSSL_VERSION}; load average "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
        print(header, flush=True)
        for body in chosen:
            path, query = bodies[body]
            calls: dict[str, Call] = {
                "requests": requests_call(upstream.origin, path, query, ca_file),
                "gateway": gateway_call(upstream.origin, path, query, ca_file, None),
            }
            if orjson is not None:
                calls["gateway+orjson"] = gateway_call(upstream.origin, path, query, ca_file,
                                                       orjson.loads)
            calls["urllib3"] = urllib3_call(upstream.origin, path, query, ca_file, json.loads,
                                            False)
            calls["urllib3-pool"] = urllib3_call(upstream.origin, path, query, ca_file,
                                                 json.loads, True)
            expected = calls["requests"]()
            for name, call in calls.items():
                if call() != expected:
                    raise SystemExit(f"{name} returned another body than requests")
            results[body] = measure(calls, args.rounds, args.calls)
            size = len(json.dumps(expected).encode())
            print()
            print(report(f"GET {path}{'?' + urlencode(query) if query else ''} "
                         f"({size:,} bytes of JSON):", results[body]), flush=True)
            raw = json.dumps(expected).encode()
            results[body + "-decode"] = decode_samples(raw, args.rounds, args.calls * 5)
            print()
            print(report(f"decoding that body alone ({len(raw):,} bytes):",
                         results[body + "-decode"], "json.loads", "decoder", "decode"),
                  flush=True)
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "samples": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
