"""`tenant plan` -> `tenant apply` -> `tenant check` against the emulator, end to end.

- apply creates everything with a bootstrap application, every request valid per
  Auth0's official document; its settings file is 0600 and runs a gateway;
- a second apply sends no write; `tenant check` exits 0;
- a grant narrowed by hand makes `tenant check` (and `check-config --live`) exit 1
  naming it; apply puts it back;
- `check-config` on the applied settings reports no over-privileged operation.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

from app.cli import main
from app.management.tiers import describe_tiers
from app.provisioning.plan import BOOTSTRAP_SCOPES
from config.settings import load_settings
from emulator.extract_spec import SUPPORTED
from tests.support.official_spec import validate_official
from tests.support.secret_watch import SecretWatch

PATHS = tuple(sorted({path for _, path in SUPPORTED}))
PANEL = "http://127.0.0.1:5173"


@pytest.fixture
def tenant_server(secret_watch: SecretWatch) -> Iterator[Any]:
    from emulator.server import EmulatorServer
    from emulator.tenant import Tenant

    tenant = Tenant.demo()
    tenant.add_client("bootstrap", list(BOOTSTRAP_SCOPES), name="Bootstrap (delete me)")
    secret_watch.watch_tenant(tenant)
    with EmulatorServer(tenant) as server:
        yield server


@pytest.fixture
def env(tenant_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    t = tenant_server.tenant
    values = {"AUTH0_DOMAIN": tenant_server.domain, "AUTH0_SCHEME": "http",
              "AUTH0_AUDIENCE": t.gateway_audience, "ROLES_CLAIM": t.roles_claim,
              "DEPARTMENT_CLAIM": t.department_claim, "CORS_ORIGINS": PANEL,
              "MGMT_PLAN": "enterprise",
              "AUTH0_PROVISIONING_CLIENT_ID": "bootstrap",
              "AUTH0_PROVISIONING_CLIENT_SECRET": t.clients["bootstrap"].client_secret}
    for name in ("MGMT_TIERS", "TOKEN_CACHE_KEY", "TENANT_CHECK_CLIENT_ID",
                 "TENANT_CHECK_CLIENT_SECRET", "AUTH0_PROVISIONING_TOKEN", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _read_env_file(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name] = value
    return found


def _writes(tenant: Any, since: int) -> list[Any]:
    return [e for e in tenant.request_log[since:] if e.method != "GET"]


def test_plan_apply_check_end_to_end(
        tenant_server: Any, env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        make_gateway: Callable[..., Any], secret_watch: SecretWatch) -> None:
    t = tenant_server.tenant
    assert main(["tenant", "plan"]) == 0
    dry_start = len(t.request_log)
    assert main(["tenant", "apply", "--dry-run"]) == 0
    assert _writes(t, dry_start) == []  # a dry run sends nothing
    assert "POST /api/v2/clients" in capsys.readouterr().out

    output = tmp_path / "gateway.env"
    start = len(t.request_log)
    assert main(["tenant", "apply", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    written = _read_env_file(output)
    for key, value in written.items():
        if key.endswith("_SECRET"):
            secret_watch.add(key, value)
            assert value not in printed  # secrets only in the file
    sent = t.request_log[start:]
    assert len(_writes(t, start)) > 20
    for entry in sent:
        assert entry.status < 400, (entry.method, entry.raw_path, entry.response_json)
        validate_official(entry, PATHS)

    # A second apply changes nothing: not a single write call.
    again = len(t.request_log)
    assert main(["tenant", "apply"]) == 0
    assert _writes(t, again) == []
    assert "nothing to change" in capsys.readouterr().out

    # tenant check, with the read-only application apply created.
    monkeypatch.setenv("TENANT_CHECK_CLIENT_ID", written["TENANT_CHECK_CLIENT_ID"])
    monkeypatch.setenv("TENANT_CHECK_CLIENT_SECRET", written["TENANT_CHECK_CLIENT_SECRET"])
    monkeypatch.delenv("AUTH0_PROVISIONING_CLIENT_ID")
    assert main(["tenant", "check"]) == 0, capsys.readouterr().out
    capsys.readouterr()

    # The applied settings run a gateway; check-config finds nothing over-privileged.
    gateway_env = {**env, **written, "TOKEN_CACHE_KEY": Fernet.generate_key().decode()}
    settings = load_settings(gateway_env)
    ok, lines = describe_tiers(settings)
    assert ok and not any("WARNING" in line for line in lines), lines
    assert all(line.rstrip().endswith("-") for line in lines[1:]), lines  # no extra scopes
    for name, value in gateway_env.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config", "--live"]) == 0
    capsys.readouterr()
    gateway = make_gateway(settings=settings)
    answer = requests.get(gateway.url + "/api/v2/roles", timeout=10,
                          headers={"Authorization": f"Bearer {t.issue_user_token('bob')}"})
    assert answer.status_code == 200, answer.text

    # Narrow a tier's grant by hand: check names it and exits 1; apply puts it back.
    update_tier = written["MGMT_TIER_UPDATE_USERS_CLIENT_ID"]
    t.clients[update_tier].grant_scopes = []
    assert main(["tenant", "check"]) == 1
    report = capsys.readouterr().out
    assert "grant of 'Admin Gateway tier update_users' (tier update_users) is narrower than " \
           "the plan: lacks update:users" in report
    assert main(["check-config", "--live"]) == 1
    capsys.readouterr()
    monkeypatch.setenv("AUTH0_PROVISIONING_CLIENT_ID", "bootstrap")
    monkeypatch.delenv("TENANT_CHECK_CLIENT_ID")
    assert main(["tenant", "apply"]) == 0
    assert t.clients[update_tier].grant_scopes == ["update:users"]
    assert main(["tenant", "check"]) == 0


def test_apply_never_deletes_and_leaves_foreign_objects_alone(
        tenant_server: Any, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    t = tenant_server.tenant
    # A role the gateway did not create, with a permission the policy does not give it.
    reader = next(r for r in t.roles.values() if r.name == "Support Reader")
    reader.permissions.append("users:update")
    clients_before = set(t.clients)
    assert main(["tenant", "apply"]) == 0
    out = capsys.readouterr().out
    assert "users:update" in reader.permissions
    assert "was not created by admin-gateway" in out
    assert clients_before <= set(t.clients)
    assert not [e for e in t.request_log if e.method == "DELETE"]
    # ... and check reports that role as drift.
    assert main(["tenant", "check"]) == 1
    assert "role 'Support Reader' permissions differ" in capsys.readouterr().out


def test_apply_waits_out_429s_within_its_budget(
        tenant_server: Any, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    t = tenant_server.tenant
    t.faults.send_retry_after(True)
    t.faults.fail_next(1, 429, "/api/v2/roles")
    assert main(["tenant", "apply"]) == 0
    statuses = [e.status for e in t.request_log if e.raw_path.startswith("/api/v2/roles")]
    assert statuses[0] == 429 and 429 not in statuses[1:]
    # With no budget for the wait, the same 429 stops apply with a message, exit 2.
    t.faults.fail_next(1, 429, "/api/v2/roles")
    assert main(["tenant", "apply", "--wait-budget", "0"]) == 2
    assert "outlasts the wait budget" in capsys.readouterr().err


def test_the_pacer_keeps_under_the_plan_rate() -> None:
    from app.provisioning.tenant_api import Pacer

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(rate=2.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        pacer.take()
    # 2 at once (the burst), then one every half second: 8 more take 4 s.
    assert now[0] == pytest.approx(4.0)
