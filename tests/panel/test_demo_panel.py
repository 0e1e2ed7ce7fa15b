"""`admin-gateway demo` serves the panel wired to its emulator and gateway, and without
Node.js it says how to get the panel instead."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.panel_server import PANEL_DIR, ensure_built
from tests.support.demo import demo_banner as run_demo

ROOT = PANEL_DIR.parent


@pytest.fixture
def demo_banner(panel_dist: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    yield from run_demo(env)


def test_demo_serves_the_panel_wired_to_its_tenant_and_gateway(demo_banner: str) -> None:
    panel = re.search(r"^  panel     (http://127\.0\.0\.1:\d+) ", demo_banner, re.M)
    gateway = re.search(r"^  gateway   (http://127\.0\.0\.1:\d+) ", demo_banner, re.M)
    emulator = re.search(r"^  emulator  (http://127\.0\.0\.1:\d+) ", demo_banner, re.M)
    assert panel and gateway and emulator, demo_banner
    origin = panel.group(1)
    assert "<div id=\"root\">" in requests.get(origin + "/", timeout=5).text
    config = requests.get(origin + "/config.json", timeout=5).json()
    assert config["domain"] == emulator.group(1)
    assert config["gatewayUrl"] == gateway.group(1)
    assert config["clientId"] == "adminPanelSpaClient0000000000001"
    # The gateway and the tenant both accept the panel's origin.
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    me = requests.options(gateway.group(1) + "/gateway/me", headers=preflight, timeout=5)
    assert me.headers.get("Access-Control-Allow-Origin") == origin
    token = requests.options(emulator.group(1) + "/oauth/token", headers=preflight, timeout=5)
    assert token.headers.get("Access-Control-Allow-Origin") == origin
    login = requests.get(emulator.group(1) + "/authorize", allow_redirects=False, timeout=5,
                         params={"client_id": config["clientId"], "redirect_uri": origin,
                                 "response_type": "code", "code_challenge": "x" * 43,
                                 "code_challenge_method": "S256",
                                 "audience": config["audience"]})
    assert login.status_code == 200 and 'value="alice"' in login.text


def test_without_node_the_panel_is_skipped_with_a_hint(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    panel = tmp_path / "panel"
    shutil.copytree(PANEL_DIR, panel, ignore=shutil.ignore_patterns("node_modules", "dist"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    dist, problem = ensure_built(panel, log=lambda _: None)
    assert dist is None
    assert "Node.js is not installed" in problem and "apt-get install nodejs npm" in problem
