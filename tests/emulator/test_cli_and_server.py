"""The server's lifecycle and the ``emulator`` command line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from emulator import cli
from emulator.seed import READ_SCOPES
from emulator.server import EmulatorServer
from emulator.tenant import Tenant

REPO = Path(__file__).resolve().parents[2]


def test_starts_fast_and_stops_cleanly() -> None:
    tenant = Tenant.demo()
    started = time.monotonic()
    server = EmulatorServer(tenant).start()
    # Typically a few milliseconds; the margin is for loaded CI machines.
    assert time.monotonic() - started < 1.0
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.domain == f"127.0.0.1:{server.port}"
        assert tenant.base_url == server.url
        assert tenant.issuer == server.url + "/"
        assert tenant.management_audience == server.url + "/api/v2/"
        assert requests.get(server.url + "/.well-known/jwks.json", timeout=5).ok
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 1
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/.well-known/jwks.json", timeout=1)
    server.stop()  # idempotent


def test_several_servers_side_by_side() -> None:
    with EmulatorServer() as a, EmulatorServer() as b:
        assert a.port != b.port
        assert a.tenant is not b.tenant
        assert requests.get(a.url + "/.well-known/openid-configuration",
                            timeout=5).json()["issuer"] == a.url + "/"
        assert requests.get(b.url + "/.well-known/openid-configuration",
                            timeout=5).json()["issuer"] == b.url + "/"


def test_concurrent_requests(emu: EmulatorServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    t = emu.tenant
    token, _ = t.mint_management_token(t.clients["gateway-all"])
    headers = {"Authorization": f"Bearer {token}"}
    uid = t.user_id("dave").replace("|", "%7C")

    def call(i: int) -> int:
        return requests.patch(f"{emu.url}/api/v2/users/{uid}", headers=headers,
                              json={"user_metadata": {f"k{i}": i}}, timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(40))) == {200}
    metadata = t.users[t.user_id("dave")]["user_metadata"]
    assert all(metadata[f"k{i}"] == i for i in range(40))
    assert t.calls["PATCH /api/v2/users/{id}"] == 40


def test_token_command(emu: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["token", "--url", emu.url, "--user", "carol", "--profile", "rfc9068",
                     "--expires-in", "90"]) == 0
    token = capsys.readouterr().out.strip()
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == emu.tenant.user_id("carol")
    assert claims["exp"] - claims["iat"] == 90


def test_token_command_errors(emu: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["token", "--url", emu.url, "--user", "mallory"]) == 1
    assert "mallory" in capsys.readouterr().err
    assert cli.main(["token", "--url", "http://127.0.0.1:1", "--user", "alice"]) == 2


def test_serve_command() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--seed", "3"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as process:
        _check_serve_output(process)


def test_serve_on_another_plan() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--plan", "professional"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().rsplit(" ", 1)[1].strip()
            plan = requests.get(url + "/emulator/tenant/plan", timeout=5).json()
            assert plan == {"plan": "professional"}
        finally:
            process.terminate()
            assert process.wait(timeout=5) == 0


def test_serve_refuses_an_unknown_plan(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--plan", "platinum"])
    assert "invalid choice: 'platinum'" in capsys.readouterr().err


def _check_serve_output(process: subprocess.Popen[str]) -> None:
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Auth0 tenant emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        rest = [process.stdout.readline() for _ in range(7)]
        assert any("gateway-read" in line for line in rest)
        assert any("/emulator/clients" in line for line in rest)
        secrets = requests.get(url + "/emulator/clients", timeout=5).json()
        assert set(secrets) >= {"gateway-read", "gateway-write", "gateway-admin", "gateway-all",
                                "no-grant-app"}
        assert secrets["gateway-read"]["scopes"] == READ_SCOPES
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
