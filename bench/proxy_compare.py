"""The gateway side by side with hand-written proxies, against one constant-time upstream.

    .venv/bin/python bench/proxy_compare.py            # everything, ~3 minutes
    .venv/bin/python bench/proxy_compare.py --serve 300  # start everything, print URLs, wait

Starts on loopback:
- nginx as the upstream "Auth0", over HTTPS with a certificate from a CA made
  here (`--plain-upstream`: loopback HTTP instead): a static JWKS (public half
  of an RSA key made here), discovery, POST /oauth/token (a JWT-shaped token
  per tier, with the tier's declared scopes) and GET /api/v2/users/... (one
  static user JSON with x-ratelimit-* headers of a high limit) — constant
  time, no Python. Every proxy verifies the certificate against that CA: the
  gateway through its own AUTH0_CA_BUNDLE, the hand-written ones with
  `verify=<ca file>`;
- a private redis-server for the gateway (`--redis URL`: an existing one), so
  that its CPU and its commands are the gateway's alone;
- the gateway (config/gunicorn.conf.py, wsgi:app) with every guardrail on;
- bench/proxies/lean.py: PyJWT + one pooled requests.Session;
- bench/proxies/naive.py: the same with `requests.get` per request;
all three under gunicorn with the same -w/-k/--threads/--keep-alive, then
loads each of them and nginx directly with wrk (or a Python generator when wrk
is missing) at each concurrency, after a warm-up, and prints one table plus
the gateway's ratios against the issue's targets. User tokens are signed here
with the same RSA key (RS256, iss, aud, exp, `permissions: ["users:read",
"users:scope:all"]`), a
small pool of distinct ones sent round robin. `--rounds N` repeats the cells
N times, alternating the order of the targets, and adds a table of medians;
`--distinct-reads N` reads N user ids in turn instead of one, so that the
gateway's coalescing of identical reads in flight never applies (the gateway's
Management calls per request, from its /metrics, are in the table);
`--redis-commands N` counts, with MONITOR, the Redis commands a warm gateway
read sends (commands run inside scripts excluded). Everything started is
stopped, and the Redis keys written (a unique prefix) deleted, on the way out.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import http.client
import ipaddress
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402

from emulator.seed import ADMIN_SCOPES, READ_SCOPES, WRITE_SCOPES  # noqa: E402

GATEWAY_AUDIENCE = "https://admin-gateway.bench/api"
USER_ID = "auth0|65f0c0ffee0000000000b001"
KID = "bench-key-1"
# The gateway's defaults (ROLES_CLAIM, DEPARTMENT_CLAIM).
ROLES_CLAIM = "https://admin-gateway.example.com/roles"
DEPARTMENT_CLAIM = "https://admin-gateway.example.com/department"
UNRESTRICTED_PERMISSION = "users:scope:all"  # config/policy.toml [scope]
# --redis, or a private redis-server started by main() (the default).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
# The demo's three tiers (every catalog operation covered; reads on read-only scopes).
TIERS = {
    "read": ("bench-read", " ".join(READ_SCOPES)),
    "write": ("bench-write", " ".join(WRITE_SCOPES)),
    "admin": ("bench-admin", " ".join(ADMIN_SCOPES)),
}
TARGETS = ("direct", "floor", "lean", "naive", "gateway")
CLEAN_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
# Issue 17's targets against the lean proxy: throughput, CPU per request.
TARGET_RPS_VS_LEAN = 1.1
TARGET_CPU_VS_LEAN = 0.9

USER = {
    "user_id": USER_ID, "email": "bench.user@example.com", "email_verified": True,
    "name": "Bench User", "nickname": "bench.user", "given_name": "Bench",
    "family_name": "User", "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
    "created_at": "2024-03-12T09:15:00.000Z", "updated_at": "2025-01-07T16:02:11.123Z",
    "identities": [{"connection": "Username-Password-Authentication",
                    "user_id": USER_ID.split("|", 1)[1], "provider": "auth0",
                    "isSocial": False}],
    "app_metadata": {"department": "support"},
    "user_metadata": {"locale": "en-GB", "theme": "dark"},
    "last_ip": "192.0.2.10", "last_login": "2025-01-07T16:02:11.100Z", "logins_count": 42,
    "blocked": False,
}


# --- keys and tokens ----------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def management_token(scopes: str, now: int) -> str:
    """JWT-shaped, never verified by anyone here: the gateway reads `exp` unverified."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "mgmt"}).encode())
    payload = b64url(json.dumps({"iss": "bench", "sub": "bench@clients", "aud": "mgmt",
                                 "iat": now, "exp": now + 86400, "scope": scopes}).encode())
    return f"{header}.{payload}.{b64url(b'not-a-signature')}"


def user_tokens(key: RSAKey, issuer: str, count: int, role: str | None = None) -> list[str]:
    now = int(time.time())
    roles = {ROLES_CLAIM: [role]} if role else {}
    # Without a role, the policy's unrestricted permission: delegated scope fails closed
    # (a caller no rule applies to sees nobody), and this benchmark reads one user with one
    # Management call. With a role, its rules apply (the scope check reads the target).
    permissions = ["users:read"] if role else ["users:read", UNRESTRICTED_PERMISSION]
    return [
        jwt.encode({"alg": "RS256", "typ": "JWT", "kid": KID}, {
            "iss": issuer, "sub": f"auth0|bench-caller-{i}", "aud": [GATEWAY_AUDIENCE],
            "iat": now, "exp": now + 86400, "azp": "bench-panel",
            "permissions": permissions, DEPARTMENT_CLAIM: "support", **roles,
        }, key)
        for i in range(count)
    ]


# --- TLS ----------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """The nginx "Auth0": HTTPS with a certificate from the CA in `ca_file`, or plain HTTP."""

    port: int
    internal_port: int  # plain HTTP on loopback, for nginx's own /oauth/token hop only
    ca_file: Path | None = None  # None: plain HTTP
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ca_file else "http"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


def make_tls(tmp: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate it signs for 127.0.0.1 and localhost (RSA
    2048, as most public CAs still issue): (ca.pem, server.pem with the chain, server.key)."""
    now = time.time()
    not_before = datetime.datetime.fromtimestamp(now - 3600, datetime.UTC)
    not_after = datetime.datetime.fromtimestamp(now + 7 * 86400, datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin-gateway bench CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o644)  # nginx reads it as root before dropping privileges; tmp is ours
    return ca_file, cert_file, key_file


def trust_for_urllib(ca_file: Path) -> None:
    """This script's own probes (urllib) verify the upstream with the same CA."""
    context = ssl.create_default_context(cafile=str(ca_file))
    urllib.request.install_opener(urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context)))


# --- processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_quote(value: str) -> str:
    """A single-quoted nginx string; JSON here has no quote, backslash or `$`."""
    assert not any(c in value for c in "'\\$"), value
    return f"'{value}'"


def nginx_config(tmp: Path, upstream: Upstream, jwks: dict[str, Any]) -> str:
    base = upstream.origin
    now = int(time.time())
    discovery = {"issuer": base + "/", "jwks_uri": base + "/.well-known/jwks.json",
                 "token_endpoint": base + "/oauth/token",
                 "id_token_signing_alg_values_supported": ["RS256"]}
    token_json = {
        name: json.dumps({"access_token": management_token(scopes, now), "scope": scopes,
                          "expires_in": 86400, "token_type": "Bearer"})
        for name, (_, scopes) in TIERS.items()
    }
    # /oauth/token answers by client id: nginx only reads a body it proxies, so the
    # request goes once through itself with the body in a header (mints are rare).
    tier_map = "\n".join(f"        ~{client_id} {nginx_quote(token_json[name])};"
                         for name, (client_id, _) in TIERS.items() if name != "read")
    user_json = json.dumps(USER)
    reset = now + 3600
    user_directive = "user nobody nogroup;" if os.geteuid() == 0 else ""
    tls = "" if upstream.ca_file is None else f"""\
        ssl_certificate {upstream.cert_file};
        ssl_certificate_key {upstream.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:bench:1m;
"""
    return f"""
{user_directive}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
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
    map $http_x_bench_body $token_response {{
{tier_map}
        default {nginx_quote(token_json["read"])};
    }}
    server {{
        listen 127.0.0.1:{upstream.port}{" ssl" if upstream.ca_file else ""} backlog=4096;
        listen 127.0.0.1:{upstream.internal_port};
{tls}
        location = /.well-known/jwks.json {{ return 200 {nginx_quote(json.dumps(jwks))}; }}
        location = /.well-known/openid-configuration {{
            return 200 {nginx_quote(json.dumps(discovery))};
        }}
        location = /oauth/token {{
            proxy_pass http://127.0.0.1:{upstream.internal_port}/_token;
            proxy_set_header X-Bench-Body $request_body;
        }}
        location = /_token {{ return 200 $token_response; }}
        location /api/v2/users/ {{
            add_header x-ratelimit-limit 1000000 always;
            add_header x-ratelimit-remaining 999999 always;
            add_header x-ratelimit-reset {reset} always;
            return 200 {nginx_quote(user_json)};
        }}
    }}
}}
"""


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def wait_until_up(server: Server, path: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.process.returncode}; log:\n"
                             + server.log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(server.url + path, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{server.name} did not answer on {server.url} within {deadline_s:.0f} s")


def server_pids(server: Server) -> list[int]:
    """The master and its workers."""
    master = server.process.pid
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        children = []
    return [master, *map(int, children)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by these processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def started(name: str, argv: list[str], env: dict[str, str], port: int, tmp: Path,
            probe: str, scheme: str = "http", cwd: Path = ROOT) -> Iterator[Server]:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(name, f"{scheme}://127.0.0.1:{port}", process, log)
    try:
        wait_until_up(server, probe)
        yield server
    finally:
        stop(server)


@dataclass(frozen=True)
class Runtime:
    workers: int
    worker_class: str
    threads: int
    keepalive: int

    def gunicorn_args(self) -> list[str]:
        return ["-w", str(self.workers), "-k", self.worker_class, "--threads", str(self.threads),
                "--keep-alive", str(self.keepalive)]

    def describe(self) -> str:
        return (f"gunicorn -w {self.workers} -k {self.worker_class} --threads {self.threads} "
                f"--keep-alive {self.keepalive}")


def gateway_env(base: dict[str, str], upstream: Upstream, gateway_port: int, prefix: str,
                runtime: Runtime, overrides: list[str]) -> dict[str, str]:
    env = dict(base)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py makes its own
    env.update({
        "AUTH0_DOMAIN": f"127.0.0.1:{upstream.port}", "AUTH0_SCHEME": upstream.scheme,
        "AUTH0_AUDIENCE": GATEWAY_AUDIENCE,
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "MGMT_TIERS": ",".join(TIERS),
        "REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix,
        # Every guardrail on, with limits the benchmark never reaches: each request
        # still pays for the checks (the Redis round trips), none is refused.
        "RATE_LIMITS_ENABLED": "true",
        "RATE_LIMIT_READS": "10000000/minute", "RATE_LIMIT_WRITES": "10000000/minute",
        "RATE_LIMIT_UNAUTHENTICATED": "10000000/minute",
        "MGMT_PLAN": "enterprise", "MGMT_BUDGET_RATE": "10000", "MGMT_BUDGET_BURST": "100000",
        "METRICS_ENABLED": "true",
        "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{gateway_port}",
        "WEB_CONCURRENCY": str(runtime.workers), "GUNICORN_WORKER_CLASS": runtime.worker_class,
        "GUNICORN_THREADS": str(runtime.threads), "GUNICORN_KEEPALIVE": str(runtime.keepalive),
        "GUNICORN_LOG_LEVEL": "warning",
    })
    if upstream.ca_file is not None:
        env["AUTH0_CA_BUNDLE"] = str(upstream.ca_file)  # the gateway's one CA setting for Auth0
    for name, (client_id, scopes) in TIERS.items():
        env[f"MGMT_TIER_{name.upper()}_CLIENT_ID"] = client_id
        env[f"MGMT_TIER_{name.upper()}_CLIENT_SECRET"] = "bench-secret-" + uuid.uuid4().hex
        env[f"MGMT_TIER_{name.upper()}_SCOPES"] = scopes
    for override in overrides:
        name, sep, value = override.partition("=")
        if not sep:
            raise SystemExit(f"--gateway-env wants NAME=VALUE, got {override!r}")
        env[name] = value
    return env


def proxy_env(base: dict[str, str], upstream: Upstream) -> dict[str, str]:
    origin = upstream.origin
    env = {**base, "BENCH_UPSTREAM": origin, "BENCH_AUDIENCE": GATEWAY_AUDIENCE,
           "BENCH_ISSUER": origin + "/", "BENCH_CLIENT_ID": TIERS["read"][0],
           "BENCH_CLIENT_SECRET": "bench-secret-" + uuid.uuid4().hex, "LOG_LEVEL": "WARNING",
           "BENCH_USER_JSON": json.dumps(USER)}
    if upstream.ca_file is not None:
        env["BENCH_CA_BUNDLE"] = str(upstream.ca_file)  # verify=<ca file>
    return env


def redis_server_pid() -> int | None:
    """redis-server's pid when it runs on this machine (its CPU is part of the gateway's cost)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        pid = int(client.info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None
    finally:
        client.close()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def delete_redis_keys(prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        return int(client.delete(*keys)) if keys else 0
    except redis.RedisError as exc:
        print(f"warning: could not delete the benchmark's Redis keys ({type(exc).__name__})")
        return 0
    finally:
        client.close()


@contextmanager
def private_redis(tmp: Path) -> Iterator[tuple[str, int]]:
    """A redis-server of our own on a free port, no persistence: (URL, pid)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing (apt-get install -y redis-server), or pass "
                         "--redis URL")
    port = free_port()
    log = tmp / "redis.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start:\n"
                                     + log.read_text(errors="replace")[-2000:]) from None
                time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def count_redis_commands(url: str, tokens: list[str], requests_: int) -> tuple[float,
                                                                                dict[str, int]]:
    """(Redis commands per request, by command name) over `requests_` warm gateway reads,
    seen with MONITOR; commands run inside scripts (MONITOR's `lua` client) are left out,
    so the count is the gateway's round trips (one command = one round trip: it sends no
    pipelines on this path)."""
    import redis

    parsed = urllib.parse.urlsplit(url)
    marker = "bench-" + uuid.uuid4().hex
    seen: dict[str, int] = {}
    ready, done = threading.Event(), threading.Event()
    client = redis.Redis.from_url(REDIS_URL)

    def watch() -> None:
        counting = False
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            ready.set()
            for command in monitor.listen():
                text = command["command"]
                if marker in text:
                    if counting:
                        done.set()
                        return
                    counting = True
                    continue
                if counting and command["client_type"] != "lua":
                    name = text.split(" ", 1)[0].upper()
                    seen[name] = seen.get(name, 0) + 1

    def send(count: int) -> None:
        conn = (http.client.HTTPSConnection if parsed.scheme == "https"
                else http.client.HTTPConnection)(parsed.hostname or "127.0.0.1", parsed.port,
                                                 timeout=10)
        for i in range(count):
            conn.request("GET", parsed.path, headers={
                "Authorization": "Bearer " + tokens[i % len(tokens)]})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"gateway answered {response.status} while counting")
        conn.close()

    send(4 * len(tokens))  # warm: every caller's verified token and limit keys exist
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(10)
    time.sleep(0.2)
    client.echo(marker)
    send(requests_)
    client.echo(marker)
    done.wait(30)
    client.close()
    return sum(seen.values()) / requests_, dict(sorted(seen.items()))


def redis_calls(command: str = "evalsha") -> float | None:
    """Calls of one command so far (INFO commandstats), None when Redis will not say."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        stats = client.info("commandstats")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return float(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def gateway_counters(url: str) -> dict[str, float]:
    """Sums over every worker of the gateway's request, Management-call and coalesced-read
    counters, from its /metrics."""
    wanted = {"agw_requests_total": "requests", "agw_upstream_calls_total": "upstream",
              "agw_coalesced_reads_total": "coalesced"}
    totals = dict.fromkeys(wanted.values(), 0.0)
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in wanted:
                totals[wanted[name]] += float(line.rsplit(" ", 1)[1])
    return totals


def app_import_roots(log: Path) -> dict[str, int]:
    """Where the gateway's workers imported the `app` package from, read from the
    PYTHONVERBOSE=1 trace in its log: directory -> modules loaded from it."""
    roots: dict[str, int] = {}
    # "# code object from '<pyc>'", "# code object from <source>" (freshly compiled) and
    # "# <pyc> matches <source>" all name the file a module came from.
    for match in re.finditer(r"(?:code object from '?|matches )(/[^'\s]*?)/app/[^'\s]*\.pyc?",
                             log.read_text(errors="replace")):
        root = match.group(1).removesuffix("/__pycache__")
        if "/site-packages/" not in root + "/":  # gunicorn/app/..., not our package
            roots[root] = roots.get(root, 0) + 1
    return roots


# --- load ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    target: str
    concurrency: int
    requests: int
    rps: float
    avg_ms: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0  # CPU time of the target's processes per request (user + system)
    redis_cpu_ms: float = 0.0  # redis-server's CPU per request
    round: int = 1
    # The gateway's Management calls per request (its /metrics): below 1 when identical
    # reads in flight were coalesced into one call (every request here reads one user).
    upstream_per_request: float | None = None
    # The gateway's EVALSHA calls per request under this load (INFO commandstats of its
    # private Redis; the gateway sends no other command on this path, MONITOR shows).
    evalsha_per_request: float | None = None


WRK_SCRIPT = """
local tokens = {%s}
local distinct = %d
local n = 0
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
init = function(args)
  -- each wrk thread starts half a ring of user ids apart: no read in flight twice
  n = (id or 0) * math.floor(distinct / 2)
end
request = function()
  n = n + 1
  local path = nil
  if distinct > 0 then
    path = string.format("/api/v2/users/auth0%%%%7Cbench%%019d", n %% distinct)
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT %%d %%d %%.1f %%d %%d %%d\\n", summary.requests, summary.duration,
    latency.mean, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(url: str, tokens: list[str], concurrency: int, seconds: float, script: Path,
            target: str) -> Cell:
    threads = min(2, concurrency)
    argv = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "5s",
            "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH-RESULT")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    count, duration_us, mean_us, p50_us, p99_us, errors = line.split()[1:]
    return Cell(target, concurrency, int(count), int(count) / (int(duration_us) / 1e6),
                float(mean_us) / 1000, int(p50_us) / 1000, int(p99_us) / 1000, int(errors))


def run_python_load(url: str, tokens: list[str], concurrency: int, seconds: float,
                    target: str, distinct: int = 0) -> Cell:
    """Keep-alive HTTP/1.1 connections, one thread each (slower than wrk: fallback only)."""
    parsed = urllib.parse.urlsplit(url)

    def path(n: int) -> str:
        return (f"/api/v2/users/auth0%7Cbench{n % distinct:019d}" if distinct
                else parsed.path)

    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=5)
        mine, n = latencies[index], index * max(1, distinct // concurrency)
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            n += 1
            headers = {"Authorization": "Bearer " + tokens[n % len(tokens)]}
            began = time.perf_counter()
            try:
                conn.request("GET", path(n), headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port,
                                                  timeout=5)
                continue
            mine.append(time.perf_counter() - began)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for mine in latencies for x in mine)
    if not every:
        return Cell(target, concurrency, 0, 0.0, 0.0, 0.0, 0.0, sum(errors))

    def pct(p: float) -> float:
        return every[min(len(every) - 1, int(p * len(every)))] * 1000

    return Cell(target, concurrency, len(every), len(every) / elapsed,
                statistics.fmean(every) * 1000, pct(0.5), pct(0.99), sum(errors))


def check_answers(url: str, token: str, target: str) -> None:
    """The target must answer 200 with the user JSON before it is worth measuring."""
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{target} answered {exc.code}: {exc.read()[:500]!r}") from None
    if body != USER:
        raise SystemExit(f"{target} answered an unexpected body: {str(body)[:300]}")


# --- report -------------------------------------------------------------------


def table(cells: list[Cell]) -> str:
    lines = ["| round | target | concurrency | req/s | avg ms | p50 ms | p99 ms | CPU ms/req | "
             "Redis CPU ms/req | upstream calls/req | EVALSHA/req | requests | errors |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cells:
        upstream = "—" if c.upstream_per_request is None else f"{c.upstream_per_request:.3f}"
        evalsha = "—" if c.evalsha_per_request is None else f"{c.evalsha_per_request:.2f}"
        lines.append(f"| {c.round or 'median'} | {c.target} | {c.concurrency} | {c.rps:,.0f} | "
                     f"{c.avg_ms:.2f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} | {c.cpu_ms:.2f} | "
                     f"{c.redis_cpu_ms:.2f} | {upstream} | {evalsha} | {c.requests:,} | "
                     f"{c.errors} |")
    return "\n".join(lines)


def medians(cells: list[Cell]) -> list[Cell]:
    """One cell per (target, concurrency): the median of each figure over the rounds."""
    groups: dict[tuple[str, int], list[Cell]] = {}
    for c in cells:
        groups.setdefault((c.target, c.concurrency), []).append(c)
    out = []
    for (target, conc), group in groups.items():
        def med(attr: str, group: list[Cell] = group) -> float:
            return float(statistics.median(getattr(c, attr) for c in group))

        ups = [c.upstream_per_request for c in group if c.upstream_per_request is not None]
        evs = [c.evalsha_per_request for c in group if c.evalsha_per_request is not None]
        out.append(Cell(target, conc, sum(c.requests for c in group), med("rps"), med("avg_ms"),
                        med("p50_ms"), med("p99_ms"), sum(c.errors for c in group),
                        med("cpu_ms"), med("redis_cpu_ms"), round=0,
                        upstream_per_request=statistics.median(ups) if ups else None,
                        evalsha_per_request=statistics.median(evs) if evs else None))
    return out


def _pairs(cells: list[Cell]) -> dict[tuple[int, int], tuple[Cell, Cell]]:
    """(round, concurrency) -> (gateway, lean) of the same round."""
    by = {(c.round, c.target, c.concurrency): c for c in cells}
    return {(r, conc): (by[(r, "gateway", conc)], by[(r, "lean", conc)])
            for (r, target, conc) in by
            if target == "gateway" and (r, "lean", conc) in by}


def ratios(cells: list[Cell]) -> str:
    """Issue 17's targets, per round and as medians of the per-round ratios."""
    lines = ["| round | concurrency | gateway/lean req/s (target ≥ 1.1) | gateway/lean CPU "
             "per request (target ≤ 0.9) | (gateway + Redis)/lean CPU | gateway avg ms vs "
             "lean (target ≤ at c=4) |",
             "|---:|---:|---:|---:|---:|---:|"]
    pairs = _pairs(cells)
    by_conc: dict[int, list[tuple[float, float, float, float, float]]] = {}
    for (r, conc), (gateway, lean) in sorted(pairs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if not lean.rps or not lean.cpu_ms:
            continue
        row = (gateway.rps / lean.rps, gateway.cpu_ms / lean.cpu_ms,
               (gateway.cpu_ms + gateway.redis_cpu_ms) / lean.cpu_ms, gateway.avg_ms,
               lean.avg_ms)
        by_conc.setdefault(conc, []).append(row)
        lines.append(f"| {r} | {conc} | {row[0]:.2f}× | {row[1]:.2f}× | {row[2]:.2f}× | "
                     f"{row[3]:.2f} vs {row[4]:.2f} |")
    for conc, rows in sorted(by_conc.items()):
        rps, cpu, cpu_redis, g_avg, l_avg = (statistics.median(col) for col in zip(*rows,
                                                                                 strict=True))

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        latency = f"{g_avg:.2f} vs {l_avg:.2f}" + (f" {verdict(g_avg <= l_avg)}"
                                                   if conc == 4 else "")
        lines.append(f"| **median** | {conc} | {rps:.2f}× {verdict(rps >= TARGET_RPS_VS_LEAN)} | "
                     f"{cpu:.2f}× {verdict(cpu <= TARGET_CPU_VS_LEAN)} | {cpu_redis:.2f}× | "
                     f"{latency} |")
    return "\n".join(lines)


# --- in-process profile ---------------------------------------------------------


def profile_in_process(args: argparse.Namespace, tmp: Path, base_env: dict[str, str],
                       upstream: Upstream, prefix: str, tokens: list[str], path: str) -> int:
    """Per-request cost of each app without gunicorn, wrk or thread contention."""
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    cprofile = {name: os.environ.get(name, "") for name in
                ("BENCH_CPROFILE", "BENCH_CPROFILE_FILTER", "BENCH_CPROFILE_CALLERS")}
    # The same clean environment as the gunicorn runs: a shell's REQUESTS_CA_BUNDLE would
    # override the lean proxy's verify= (requests' trust_env), proxy variables would route.
    for name in list(os.environ):
        if name not in CLEAN_ENV:
            del os.environ[name]
    # As under gunicorn: prometheus_client reads this when first imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    runtime = Runtime(args.workers, args.worker_class, args.threads, args.keep_alive)
    env = gateway_env(base_env, upstream, 0, prefix, runtime, args.gateway_env)
    os.environ.update(proxy_env({}, upstream))
    from app import create_app
    from config.settings import load_settings

    apps = {"gateway": create_app(load_settings(env))}
    from bench.proxies import floor, lean

    apps["lean"], apps["floor"] = lean.app, floor.app
    clients = {name: app.test_client() for name, app in apps.items()}

    def run(name: str, count: int) -> None:
        client = clients[name]
        headers = [{"Authorization": "Bearer " + token} for token in tokens]
        for i in range(count):
            response = client.get(path, headers=headers[i % len(headers)])
            if response.status_code != 200:
                raise SystemExit(f"{name} answered {response.status_code}: "
                                 f"{response.data[:300]!r}")

    # CPU time of this thread, so other processes matter less than to wall time (not
    # at all only on an idle machine: steal time and shared caches still show). Short
    # rounds alternate between the apps, so drift hits all three alike; medians.
    names = ("floor", "lean", "gateway")
    rounds, per_round = 20, max(1, args.profile // 20)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        run(name, 200)
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            samples[name].append(_cpu_timed(partial(run, name, per_round)) / per_round)
    print(f"in-process, one thread, Flask test client, warm caches; median over {rounds} "
          f"alternating rounds of {per_round} requests of this thread's CPU time:")
    medians = {name: statistics.median(samples[name]) * 1e6 for name in names}
    for name in names:
        print(f"  {name:8} {medians[name]:8.0f} µs CPU/request"
              + (f"  ({medians[name] / medians['lean']:.2f}× lean)" if name != "lean" else ""),
              flush=True)
    if cprofile["BENCH_CPROFILE"]:
        import cProfile
        import pstats

        cpu_profile = cProfile.Profile(time.thread_time)
        cpu_profile.runcall(run, "gateway", args.profile)
        stats = pstats.Stats(cpu_profile)
        stats.sort_stats(cprofile["BENCH_CPROFILE"]).print_stats(
            cprofile["BENCH_CPROFILE_FILTER"], 60)
        if cprofile["BENCH_CPROFILE_CALLERS"]:
            stats.print_callers(cprofile["BENCH_CPROFILE_CALLERS"])
        return 0
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: .venv/bin/pip install pyinstrument")
        return 0
    profiler = Profiler(interval=0.0002)
    profiler.start()
    run("gateway", args.profile)
    profiler.stop()
    # Library frames stay collapsed except the ones that matter to the hot path.
    print(profiler.output_text(unicode=True, color=False, processor_options={
        "show_regex": r".*(limits/|app/|redis/client|requests/adapters"
                      r"|urllib3/connectionpool).*"}))
    return 0


def _cpu_timed(action: Callable[[], None]) -> float:
    began = time.thread_time()
    action()
    return time.thread_time() - began


# --- main ---------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    # Defaults: config/gunicorn.conf.py's production defaults, given to every target.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn -w for all targets")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--threads", type=int, default=16, help="gunicorn --threads")
    parser.add_argument("--keep-alive", type=int, default=5, help="gunicorn --keep-alive")
    parser.add_argument("--concurrency", default="4,16", help="comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each")
    parser.add_argument("--tokens", type=int, default=8, help="distinct caller tokens")
    parser.add_argument("--caller-role", metavar="ROLE",
                        help="also give callers this role (e.g. 'Support Reader' with "
                             "department 'support'): the gateway's delegated-scope rules then "
                             "apply (a second Management call per single-user read)")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help=f"subset of {','.join(TARGETS)}")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE",
                        help="override a gateway setting (repeatable), e.g. "
                             "RATE_LIMITS_ENABLED=false to see what a guardrail costs")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every cell this many times, alternating the order of "
                             "the targets each round; prints medians too")
    parser.add_argument("--distinct-reads", type=int, default=0, metavar="N",
                        help="read N different user ids in turn (nginx answers the same body "
                             "for each) instead of one: no two identical reads are in flight, "
                             "so the gateway's read coalescing never applies")
    parser.add_argument("--plain-upstream", action="store_true",
                        help="serve the upstream over loopback HTTP (the old setup) instead of "
                             "HTTPS with a CA made here")
    parser.add_argument("--redis", metavar="URL", default=REDIS_URL or None,
                        help="the gateway's Redis (default: BENCH_REDIS_URL, else a private "
                             "redis-server started here)")
    parser.add_argument("--redis-commands", type=int, default=0, metavar="REQUESTS",
                        help="before the load, count with MONITOR the Redis commands this many "
                             "warm gateway reads send (script-internal commands excluded)")
    parser.add_argument("--check-imports", action="store_true",
                        help="start the gateway with PYTHONVERBOSE=1, print where its workers "
                             "imported `app` from, and stop (no measurement)")
    parser.add_argument("--json", type=Path, help="also write the cells here")
    parser.add_argument("--profile", type=int, metavar="REQUESTS",
                        help="no gunicorn: time the gateway, lean and floor apps in-process "
                             "(Flask test client, one thread, warm caches) and profile the "
                             "gateway over this many requests with pyinstrument")
    parser.add_argument("--serve", type=float, metavar="SECONDS",
                        help="start everything, print URLs and a token, wait this long, stop "
                             "(for py-spy; no measurement)")
    return parser.parse_args()


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    # `timeout` and process managers send SIGTERM: unwind so that everything is stopped
    # and the Redis keys are deleted.
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    targets = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        raise SystemExit(f"unknown target(s): {', '.join(unknown)}")
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        raise SystemExit("nginx is missing: apt-get install -y nginx wrk")
    wrk = shutil.which("wrk")
    loadgen = args.loadgen if args.loadgen != "auto" else ("wrk" if wrk else "python")
    if loadgen == "wrk" and not wrk:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    runtime = Runtime(args.workers, args.worker_class, args.threads, args.keep_alive)

    key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"},
                              private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    prefix = f"agwbench-{uuid.uuid4().hex[:12]}:"
    # A clean environment, as in a container: nothing from this shell (gateway settings,
    # REQUESTS_CA_BUNDLE & co., which make requests stat files per call) leaks in.
    base_env = {k: v for k, v in os.environ.items() if k in CLEAN_ENV}
    gateway_port = free_port()
    proxy_ports = {name: free_port() for name in ("floor", "lean", "naive")}
    path = "/api/v2/users/" + urllib.parse.quote(USER_ID, safe="")
    global REDIS_URL

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agw-bench-")))
        tmp.chmod(0o755)  # nginx workers run as nobody when we are root
        if args.plain_upstream:
            upstream = Upstream(free_port(), free_port())
        else:
            ca_file, cert_file, key_file = make_tls(tmp)
            upstream = Upstream(free_port(), free_port(), ca_file, cert_file, key_file)
            trust_for_urllib(ca_file)
        tokens = user_tokens(key, upstream.origin + "/", args.tokens, args.caller_role)
        redis_pids: list[int] = []
        if args.redis:
            REDIS_URL = args.redis
            found = redis_server_pid()
            redis_pids = [found] if found else []
            redis_label = f"Redis {REDIS_URL} (shared: others' commands count in its CPU)"
        else:
            REDIS_URL, pid = stack.enter_context(private_redis(tmp))
            redis_pids = [pid]
            redis_label = "Redis: a private redis-server"
        stack.callback(lambda: print(f"deleted {delete_redis_keys(prefix)} Redis key(s) "
                                     f"under {prefix}"))
        (tmp / "nginx.conf").write_text(nginx_config(tmp, upstream, jwks))
        servers: dict[str, Server] = {}
        servers["direct"] = stack.enter_context(started(
            "nginx", [nginx, "-e", "stderr", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            dict(base_env), upstream.port, tmp, "/.well-known/jwks.json", upstream.scheme))
        overrides = list(args.gateway_env) + (["PYTHONVERBOSE=1"] if args.check_imports else [])
        if "gateway" in targets and args.profile is None:
            servers["gateway"] = stack.enter_context(started(
                "gateway", [gunicorn, "-c", "config/gunicorn.conf.py", "wsgi:app"],
                gateway_env(base_env, upstream, gateway_port, prefix, runtime, overrides),
                gateway_port, tmp, "/healthz"))
        if args.profile is not None:
            return profile_in_process(args, tmp, base_env, upstream, prefix, tokens, path)
        for name, port in proxy_ports.items():
            if name in targets:
                servers[name] = stack.enter_context(started(
                    name, [gunicorn, *runtime.gunicorn_args(), "-b", f"127.0.0.1:{port}",
                           "--log-level", "warning", f"bench.proxies.{name}:app"],
                    proxy_env(base_env, upstream), port, tmp, "/"))
        for name in targets:
            check_answers(servers[name].url + path, tokens[0], name)

        if args.check_imports:
            gateway = servers["gateway"]
            workers = server_pids(gateway)[1:]
            cwds = sorted({os.readlink(f"/proc/{pid}/cwd") for pid in workers})
            roots = app_import_roots(gateway.log)
            print(f"gateway workers {' '.join(map(str, workers))}: cwd {', '.join(cwds)}; "
                  f"`app` modules imported from: "
                  + ", ".join(f"{root} ({count} module loads)" for root, count in roots.items()))
            foreign = [root for root in roots if Path(root).resolve() != ROOT]
            if not roots:
                print("WARNING: no `app` import found in the gateway's PYTHONVERBOSE trace")
                return 1
            if foreign:
                print(f"WARNING: not this tree ({ROOT}): {', '.join(foreign)}")
                return 1
            limiter = "/flask_limiter/" in gateway.log.read_text(errors="replace")
            print(f"OK: every `app` module came from {ROOT}; flask_limiter "
                  f"{'imported' if limiter else 'not imported'}")
            return 0

        if args.serve is not None:
            print(f"upstream (nginx): {servers['direct'].url}"
                  + (f"  (CA: {upstream.ca_file})" if upstream.ca_file else ""))
            print(f"Redis: {REDIS_URL}")
            for name in targets:
                children = subprocess.run(["pgrep", "-P", str(servers[name].process.pid)],
                                          capture_output=True, text=True).stdout.split()
                print(f"{name}: {servers[name].url}{path}  (master {servers[name].process.pid}"
                      f", workers {' '.join(children) or '-'})")
            print(f"token: {tokens[0]}")
            print(f"serving for {args.serve:g} s (Ctrl-C stops)", flush=True)
            try:
                time.sleep(args.serve)
            except KeyboardInterrupt:
                pass
            return 0

        script = tmp / "tokens.lua"
        script.write_text(WRK_SCRIPT % (", ".join(f'"{t}"' for t in tokens),
                                        args.distinct_reads))
        transport = ("HTTPS (nginx TLS, RSA-2048 certificate from a CA made here; every proxy "
                     "verifies it: the gateway via AUTH0_CA_BUNDLE, lean/naive via verify=)"
                     if upstream.ca_file else "loopback HTTP")
        header = (f"{runtime.describe()} for gateway, lean, naive and floor (gateway: "
                  f"config/gunicorn.conf.py via WEB_CONCURRENCY/GUNICORN_*); upstream nginx "
                  f"1 worker over {transport}; {redis_label}; load: {loadgen}"
                  + (" -t2" if loadgen == "wrk" else "")
                  + f", {args.duration:g} s per cell after {args.warmup:g} s warm-up, "
                  f"{args.rounds} round(s), target order alternating; "
                  f"{len(tokens)} caller tokens round robin"
                  + (f", {args.distinct_reads:,} distinct user ids read in turn (no coalescing)"
                     if args.distinct_reads else ", every request reads the same user")
                  + (f" with role {args.caller_role!r}" if args.caller_role else "")
                  + "; LOG_LEVEL=WARNING everywhere; "
                  f"{os.cpu_count()} CPUs shared by all; Python {platform.python_version()}; "
                  f"app from {ROOT}"
                  + (f"; gateway overrides: {' '.join(args.gateway_env)}"
                     if args.gateway_env else ""))
        print(header, flush=True)
        commands: tuple[float, dict[str, int]] | None = None
        if args.redis_commands and "gateway" in servers:
            commands = count_redis_commands(servers["gateway"].url + path, tokens,
                                            args.redis_commands)
            print(f"Redis commands per warm gateway read (MONITOR, {args.redis_commands} reads, "
                  f"script-internal commands excluded): {commands[0]:.2f}  "
                  + " ".join(f"{name}={count}" for name, count in commands[1].items()),
                  flush=True)
        cells: list[Cell] = []
        for round_no in range(1, args.rounds + 1):
            order = targets if round_no % 2 else targets[::-1]
            for conc in concurrencies:
                for name in order:
                    url = servers[name].url + path

                    def measure(seconds: float, name: str = name, url: str = url,
                                conc: int = conc) -> Cell:
                        if loadgen == "wrk":
                            return run_wrk(url, tokens, conc, seconds, script, name)
                        return run_python_load(url, tokens, conc, seconds, name,
                                               args.distinct_reads)

                    if args.warmup > 0:
                        measure(args.warmup)
                    pids = server_pids(servers[name])
                    counters = (gateway_counters(servers[name].url) if name == "gateway"
                                else None)
                    evalsha_before = redis_calls() if name == "gateway" else None
                    cpu_before, redis_before = cpu_seconds(pids), cpu_seconds(redis_pids)
                    load_before = os.getloadavg()[0]
                    cell = measure(args.duration)
                    cpu = cpu_seconds(pids) - cpu_before
                    redis_cpu = cpu_seconds(redis_pids) - redis_before
                    per = 1000 / cell.requests if cell.requests else 0.0
                    calls: float | None = None
                    evalsha: float | None = None
                    evalsha_after = redis_calls() if evalsha_before is not None else None
                    if evalsha_before is not None and evalsha_after is not None:
                        evalsha = (evalsha_after - evalsha_before) / max(1, cell.requests)
                    if counters is not None:
                        after = gateway_counters(servers[name].url)
                        served = after["requests"] - counters["requests"]
                        if served:
                            calls = (after["upstream"] - counters["upstream"]) / served
                    cell = dataclasses.replace(cell, cpu_ms=cpu * per,
                                               redis_cpu_ms=redis_cpu * per, round=round_no,
                                               upstream_per_request=calls,
                                               evalsha_per_request=evalsha)
                    cells.append(cell)
                    print(f"  round {round_no} {name:8} c={conc:<3} {cell.rps:9,.0f} req/s  avg "
                          f"{cell.avg_ms:6.2f} ms  p99 {cell.p99_ms:6.2f} ms  CPU "
                          f"{cell.cpu_ms:5.2f} (Redis {cell.redis_cpu_ms:4.2f}) ms/req  errors "
                          f"{cell.errors}  load {load_before:.1f}"
                          + (f"  upstream calls/req {calls:.3f}" if calls is not None
                             else "")
                          + (f"  EVALSHA/req {evalsha:.2f}" if evalsha is not None else ""),
                          flush=True)
        print()
        print(header)
        print()
        print(table(cells))
        if args.rounds > 1:
            print()
            print("medians over the rounds:")
            print(table(medians(cells)))
        print()
        print(ratios(cells))
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if args.json:
            args.json.write_text(json.dumps({
                "header": header, "cells": [c.__dict__ for c in cells],
                "redis_commands_per_read": commands[0] if commands else None,
                "redis_commands": commands[1] if commands else None,
                "loadavg_end": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
