"""`admin-gateway demo`: the whole thing on loopback, ready for curl.

Starts the Auth0 tenant emulator, finds a Redis (REDIS_URL if set, else a
private `redis-server` on a free port, else an embedded fake Redis), builds the
gateway's settings from the emulator's tenant (ephemeral TOKEN_CACHE_KEY), runs
the gateway and prints curl lines with tokens for a read-only user (role A,
"Support Reader") and an editor (role B, "Support Editor"). Where Node.js is
installed it also builds (when stale) and serves the reference admin panel,
logged in through the emulator (devtools/panel_server.py, docs/panel.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from cryptography.fernet import Fernet

from config.settings import ConfigError, load_settings

from .gunicorn_gateway import GatewayStartError, PortUnavailable, gunicorn_gateway
from .panel_server import PanelConfig, PanelServer, ensure_built

DEMO_TIERS = {"read": "gateway-read", "write": "gateway-write", "admin": "gateway-admin"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(url: str, attempts: int = 50) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    for _ in range(attempts):
        try:
            if client.ping():
                return True
        except redis.RedisError:
            time.sleep(0.1)
    return False


@contextlib.contextmanager
def demo_redis() -> Iterator[tuple[str, str]]:
    """Yield (url, description) of a Redis the demo may use; clean up after."""
    url = os.environ.get("REDIS_URL")
    if url:
        if not _ping(url, attempts=5):
            raise SystemExit(f"admin-gateway demo: REDIS_URL is set but Redis does not answer at "
                             f"{url.split('@')[-1]}")
        yield url, "REDIS_URL from the environment"
        return
    server = shutil.which("redis-server")
    if server:
        port = free_port()
        with tempfile.TemporaryDirectory() as workdir:
            proc = subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", workdir],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                url = f"redis://127.0.0.1:{port}/0"
                if not _ping(url):
                    raise SystemExit("admin-gateway demo: redis-server did not start")
                yield url, f"a private redis-server on port {port}"
            finally:
                proc.terminate()
                proc.wait(timeout=5)
        return
    from fakeredis import TcpFakeServer

    port = free_port()
    fake = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{port}/0", "an embedded fake Redis (install redis-server for a real one)"
    finally:
        fake.shutdown()


def demo_environment(tenant: object, redis_url: str, cache_key: str) -> dict[str, str]:
    """The gateway's settings for a tenant of the emulator."""
    from emulator.tenant import Tenant

    assert isinstance(tenant, Tenant)
    env = {
        "AUTH0_DOMAIN": tenant.base_url.split("://", 1)[1],
        "AUTH0_SCHEME": "http",
        "AUTH0_AUDIENCE": tenant.gateway_audience,
        "ROLES_CLAIM": tenant.roles_claim,
        "DEPARTMENT_CLAIM": tenant.department_claim,
        "REDIS_URL": redis_url,
        "TOKEN_CACHE_KEY": cache_key,
        "MGMT_TIERS": ",".join(DEMO_TIERS),
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        # Every guardrail that needs a plan gets the emulator's generous one.
        "MGMT_PLAN": os.environ.get("MGMT_PLAN", "enterprise"),
    }
    for tier, client_id in DEMO_TIERS.items():
        client = tenant.clients[client_id]
        prefix = f"MGMT_TIER_{tier.upper()}_"
        env[prefix + "CLIENT_ID"] = client.client_id
        env[prefix + "CLIENT_SECRET"] = client.client_secret
        env[prefix + "SCOPES"] = " ".join(client.grant_scopes or [])
    return env


@dataclass(frozen=True)
class Provisioned:
    settings: dict[str, str]  # the gateway's tiers as `tenant apply` created them
    report: list[str]


def provision_demo_tenant(tenant: object, env: dict[str, str]) -> Provisioned:
    """The third path of the README ("Connect your Auth0 tenant") against the demo tenant:
    `admin-gateway tenant apply` with a bootstrap application, then `tenant check` with the
    read-only application apply created. The demo's gateway then runs with the applied
    least-privilege tiers; if provisioning fails, with the demo's own tiers, and says so."""
    from app.provisioning.cli import load_plan
    from app.provisioning.plan import BOOTSTRAP_SCOPES
    from app.provisioning.sync import apply, check
    from app.provisioning.tenant_api import Credential, ProvisioningError, TenantApi
    from config.settings import Secret
    from emulator.tenant import Tenant

    assert isinstance(tenant, Tenant)
    bootstrap = tenant.add_client("demoProvisioningBootstrap0000001", list(BOOTSTRAP_SCOPES),
                                  name="Provisioning bootstrap (demo)")
    loaded = load_plan(env)
    if loaded is None:
        return Provisioned({}, ["tenant apply: skipped (settings above)"])
    settings, plan = loaded
    try:
        outcome = apply(TenantApi(settings, Credential(
            client_id=bootstrap.client_id, client_secret=Secret(bootstrap.client_secret))), plan)
        drift = check(TenantApi(settings, Credential(
            client_id=outcome.client_ids["check"],
            client_secret=Secret(outcome.secrets["check"]))), plan)
    except (ProvisioningError, KeyError) as exc:
        return Provisioned({}, [f"tenant apply: failed ({type(exc).__name__}: {exc}); the "
                                "gateway runs with the demo's own tiers"])
    tiers = {"MGMT_TIERS": ",".join(t.name for t in plan.tiers.tiers)}
    for tier in plan.tiers.tiers:
        prefix = f"MGMT_TIER_{tier.name.upper()}_"
        tiers[prefix + "CLIENT_ID"] = outcome.client_ids[tier.name]
        tiers[prefix + "CLIENT_SECRET"] = outcome.secrets[tier.name]
        tiers[prefix + "SCOPES"] = " ".join(sorted(tier.scopes))
    return Provisioned(tiers, [
        f"tenant    `admin-gateway tenant apply` made {len(outcome.changes)} change(s) to the "
        f"demo tenant; the gateway runs with its {len(plan.tiers.tiers)} least-privilege tiers",
        "tenant    `admin-gateway tenant check`: " + (
            "no drift from the plan" if not drift else f"{len(drift)} drift(s): {drift}")])


def run_demo(gateway_port: int, emulator_port: int = 0) -> int:
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    _interrupt_on_termination()
    dist, panel_problem = ensure_built()
    panel = PanelServer(dist) if dist is not None else None
    with EmulatorServer(Tenant.demo(), port=emulator_port) as emulator, \
            demo_redis() as (redis_url, redis_what), panel or contextlib.nullcontext():
        cache_key = Fernet.generate_key().decode()
        env = {**os.environ, **demo_environment(emulator.tenant, redis_url, cache_key)}
        if panel is not None:
            # The panel's origin may log in at the tenant and call the gateway (CORS).
            emulator.tenant.allow_panel_origin(panel.url)
            env["CORS_ORIGINS"] = ",".join(filter(None, (os.environ.get("CORS_ORIGINS"),
                                                          panel.url)))
        provisioned = provision_demo_tenant(emulator.tenant, env)
        env.update(provisioned.settings)
        try:
            # Checked here to say at once what is wrong; each gunicorn worker loads them again.
            load_settings(env)
        except ConfigError as exc:
            print("admin-gateway demo: configuration problems:\n  - " + "\n  - ".join(exc.problems))
            return 2
        try:
            # The production runtime: gunicorn with config/gunicorn.conf.py, on loopback.
            with gunicorn_gateway(env, gateway_port) as (gateway, gunicorn):
                if panel is not None:
                    panel.start(PanelConfig(domain=emulator.url, clientId=emulator.tenant.panel_client_id,
                                            audience=emulator.tenant.gateway_audience,
                                            gatewayUrl=gateway, title="Admin panel (demo)"))
                    panel_line = f"{panel.url}   (React; log in as alice, bob, carol, dave or erin)"
                else:
                    panel_line = f"not served: {panel_problem}"
                reader = emulator.tenant.issue_user_token("alice", expires_in=8 * 3600)
                editor = emulator.tenant.issue_user_token("bob", expires_in=8 * 3600)
                print("\n".join(provisioned.report), flush=True)
                print(_banner(gateway, emulator.url, redis_what, reader, editor,
                              emulator.tenant.user_id("dave"), panel_line), flush=True)
                code = gunicorn.wait()
                print(f"admin-gateway demo: gunicorn exited with code {code}; stopping")
                return 1
        except PortUnavailable as exc:
            print(f"admin-gateway demo: {exc}; try `make demo DEMO_PORT=8081` or "
                  f"`admin-gateway demo --port 8081`")
            return 2
        except GatewayStartError as exc:
            print(f"admin-gateway demo: {exc}")
            return 2
        except KeyboardInterrupt:
            print("\nadmin-gateway demo: stopped", flush=True)
    return 0


def _interrupt_on_termination() -> None:
    """`kill <demo>` and a closed terminal stop the demo as Ctrl-C does, so gunicorn is
    stopped too (SIGTERM, then waited for) rather than left running."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.default_int_handler)


def _banner(gateway: str, emulator: str, redis_what: str, reader: str, editor: str,
            some_user: str, panel_line: str) -> str:
    quoted = some_user.replace("|", "%7C")
    return f"""
admin-gateway demo is running (Ctrl-C stops everything)
  panel     {panel_line}
  gateway   {gateway}   (OpenAPI: {gateway}/openapi.json, docs: {gateway}/docs)
  emulator  {emulator}   (a fake Auth0 tenant with a few hundred users)
  redis     {redis_what}
  TOKEN_CACHE_KEY is ephemeral: generated for this run, gone when it stops.

Role A, "Support Reader" (alice) may read users:
  export READER='{reader}'
  curl -s -H "Authorization: Bearer $READER" {gateway}/gateway/me
  curl -s -H "Authorization: Bearer $READER" '{gateway}/api/v2/users?q=app_metadata.department:support&per_page=5&include_totals=true'
  curl -s -H "Authorization: Bearer $READER" {gateway}/api/v2/users/{quoted}
  # a write is refused with 403 problem+json:
  curl -s -X PATCH -H "Authorization: Bearer $READER" -H 'Content-Type: application/json' -d '{{"name":"New Name"}}' {gateway}/api/v2/users/{quoted}

Role B, "Support Editor" (bob) may read and update users:
  export EDITOR='{editor}'
  curl -s -X PATCH -H "Authorization: Bearer $EDITOR" -H 'Content-Type: application/json' -d '{{"name":"New Name"}}' {gateway}/api/v2/users/{quoted}
  curl -s -X PATCH -H "Authorization: Bearer $EDITOR" -H 'Content-Type: application/json' -d '{{"blocked":true}}' {gateway}/api/v2/users/{quoted}

More tokens: admin-gateway emulator token --url {emulator} --user carol   (User Admin)
"""
